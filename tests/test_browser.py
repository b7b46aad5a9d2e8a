"""The headless-Chromium helper (tests/browser.py) sees what a page does and keeps it off the network."""

from __future__ import annotations

import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from browser import CHROMIUM_INSTALL_HINT, find_chromium, open_page, render

# A 1x1 GIF, inline.
GIF = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"


def page(tmp_path: Path, body: str, head: str = "", name: str = "page.html") -> Path:
    path = tmp_path / name
    path.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>Test page</title>{head}</head>"
                    f"<body>{body}</body></html>", encoding="utf-8")
    return path


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_console_error_of_an_inline_script_is_reported_with_its_location(browser, tmp_path):
    path = page(tmp_path, "<p>hi</p>\n<script>console.log('fine');\nconsole.error('x')</script>")
    r = render(browser, path)
    assert [(m.type, m.text) for m in r.console] == [("log", "fine"), ("error", "x")]
    assert [m.text for m in r.console_errors] == ["x"]
    assert r.console_errors[0].location == path.as_uri() + ":2:8"  # 0-based line and column of the call
    assert r.errors == [] and r.requests == []
    with pytest.raises(AssertionError, match="console.error: x"):
        r.assert_clean()


def test_uncaught_exception_and_unhandled_rejection_are_page_errors(browser, tmp_path):
    path = page(tmp_path, "<script>Promise.reject(new Error('later'))</script><script>throw new Error('boom')</script>")
    r = render(browser, path)
    assert sorted(e.message for e in r.errors) == ["boom", "later"]
    assert any("boom" in e.stack for e in r.errors)
    with pytest.raises(AssertionError, match="boom"):
        r.assert_clean()


def test_image_and_fetch_to_the_internet_are_recorded_and_blocked(browser, tmp_path):
    path = page(tmp_path, '<img src="http://example.com/a.png">'
                          "<script>fetch('https://x.invalid/').catch(e => console.log('fetch failed'))</script>")
    r = render(browser, path)
    assert {(q.url, q.kind, q.blocked) for q in r.requests} == {
        ("http://example.com/a.png", "image", True), ("https://x.invalid/", "fetch", True)}
    # Chromium says why each load failed: blocked by the helper, not a DNS or connection error.
    blocked = {m.location.rsplit(":", 2)[0] for m in r.console_errors if "ERR_BLOCKED_BY_CLIENT" in m.text}
    assert blocked == {"http://example.com/a.png", "https://x.invalid/"}
    assert ("log", "fetch failed") in [(m.type, m.text) for m in r.console]
    problems = r.problems()
    assert "image request to http://example.com/a.png (blocked)" in problems
    assert "fetch request to https://x.invalid/ (blocked)" in problems


@pytest.fixture
def http_server():
    """A local HTTP server that records every connection and request reaching it: the page's URLs are real."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_GET  # noqa: N815

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        def verify_request(self, request, client_address):  # every accepted connection, even with no request
            hits.append(f"connection from {client_address[0]}")
            return True

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_requests_to_a_reachable_server_never_arrive(browser, tmp_path, http_server):
    base, hits = http_server
    path = page(tmp_path,
                f'<img src="{base}/img.png"><iframe src="{base}/frame.html"></iframe>'
                f"<script>fetch('{base}/fetch').catch(() => {{}}); navigator.sendBeacon('{base}/beacon', 'x');"
                f"const x = new XMLHttpRequest(); x.open('GET', '{base}/xhr'); x.send();</script>",
                head=f'<link rel="stylesheet" href="{base}/style.css"><script src="{base}/script.js"></script>'
                     f'<link rel="preconnect" href="{base}"><link rel="prefetch" href="{base}/prefetch">')
    with open_page(browser, path) as p:
        p.page.wait_for_timeout(200)  # time for anything asynchronous to go out, if it could
        urls = {q.url for q in p.requests}
    assert hits == [], f"the page reached the server: {hits}"
    assert urls == {f"{base}/{name}" for name in
                    ("", "prefetch", "img.png", "frame.html", "fetch", "beacon", "xhr", "style.css", "script.js")}


def test_websocket_worker_preconnect_and_sibling_file_are_requests(browser, tmp_path):
    (tmp_path / "side.css").write_text("p { color: red }", encoding="utf-8")
    worker = "fetch('https://worker.invalid/').catch(() => {}).then(() => postMessage('done'))"
    path = page(tmp_path, "<p>x</p><script>new WebSocket('wss://ws.invalid/feed');"
                          f"const w = new Worker(URL.createObjectURL(new Blob([{worker!r}])));"
                          "w.onmessage = () => { document.title = 'worked' }</script>",
                head='<link rel="preconnect" href="https://fonts.invalid"><link rel="stylesheet" href="side.css">')
    with open_page(browser, path) as p:
        p.page.wait_for_function("document.title == 'worked'")
        kinds = {q.url: (q.kind, q.blocked) for q in p.requests}
        assert len(p.data_urls) == 1 and p.data_urls[0].startswith("blob:")  # the worker's script, inline
    assert kinds == {
        "wss://ws.invalid/feed": ("websocket", True),
        "https://worker.invalid/": ("fetch", True),
        "https://fonts.invalid/": ("preconnect", True),
        (tmp_path / "side.css").as_uri(): ("stylesheet", False),  # file:// loads go ahead, but are not inline
    }


def test_self_contained_page_is_clean(browser, tmp_path):
    path = page(
        tmp_path,
        f'<h1 id="t">Report</h1><img alt="dot" src="{GIF}"><div class="bg">bg</div>'
        '<svg width="40" height="20" xmlns="http://www.w3.org/2000/svg"><rect width="40" height="20" fill="teal"/>'
        '<text x="2" y="15">svg</text></svg>'
        '<ul><li>one</li><li>two</li></ul><p hidden>secret</p>'
        "<script>document.getElementById('t').textContent += ' ready'; console.log('loaded')</script>",
        head=f"<style>h1 {{ font: bold 20px sans-serif }} .bg {{ background: url('{GIF}') }}</style>",
    )
    r = render(browser, path)
    r.assert_clean()
    assert r.problems() == []
    assert r.errors == [] and r.requests == [] and r.console_errors == []
    assert r.data_urls and set(r.data_urls) == {GIF}  # the img and the CSS background, both inline
    assert r.title == "Test page"
    assert r.body_text.splitlines()[0] == "Report ready"
    assert "secret" not in r.body_text and "secret" in r.html
    with open_page(browser, path) as p:
        p.assert_clean()
        assert p.text("#t") == "Report ready"
        assert p.texts("li") == ["one", "two"]
        assert p.texts("table") == []
        with pytest.raises(AssertionError, match="matches 2 elements"):
            p.text("li")


def test_screenshot_is_a_png_of_the_whole_page(browser, tmp_path, screenshot_dir):
    path = page(tmp_path, '<div style="height: 2000px; background: linear-gradient(teal, navy)">tall</div>')
    shot = screenshot_dir / "test_browser-tall.png"
    shot.unlink(missing_ok=True)
    r = render(browser, path, screenshot=shot, width=640)
    assert r.screenshot == shot and shot.stat().st_size > 0
    width, height = png_size(shot)
    assert width == 640 and height >= 2000
    viewport_only = render(browser, path, screenshot=tmp_path / "top.png", width=640, full_page=False)
    assert png_size(viewport_only.screenshot) == (640, 800)


def test_javascript_disabled_runs_no_script(browser, tmp_path):
    path = page(tmp_path, "<p id='s'>static</p><noscript><p id='n'>no scripts</p></noscript>"
                          "<script>document.getElementById('s').textContent = 'scripted'; console.error('ran');"
                          "fetch('https://x.invalid/')</script>")
    with_js = render(browser, path)
    assert with_js.body_text.startswith("scripted") and with_js.console_errors and with_js.requests
    without = render(browser, path, javascript=False)
    assert [line for line in without.body_text.splitlines() if line] == ["static", "no scripts"]
    assert without.console == [] and without.errors == [] and without.requests == []
    with open_page(browser, path, javascript=False) as p:
        assert p.text("#s") == "static" and p.text("#n") == "no scripts"


def test_open_page_can_click_and_type(browser, tmp_path, screenshot_dir):
    path = page(tmp_path, "<input id='q'><button id='b'>Go</button><output id='o'></output>"
                          "<script>b.onclick = () => { o.textContent = 'searched ' + q.value }</script>")
    with open_page(browser, path, screenshot=screenshot_dir / "test_browser-typed.png") as p:
        p.page.fill("#q", "jabrayil")
        p.page.click("#b")
        assert p.text("#o") == "searched jabrayil"
        p.assert_clean()
    assert png_size(screenshot_dir / "test_browser-typed.png")[0] == 1280


def test_missing_chromium_fails_with_the_install_hint(monkeypatch, tmp_path):
    monkeypatch.delenv("DEDUPE_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.fail.Exception, match="make install-chromium") as failed:
        find_chromium()
    assert str(failed.value) == CHROMIUM_INSTALL_HINT
    monkeypatch.setenv("DEDUPE_CHROMIUM", str(tmp_path / "no-such-chromium"))
    with pytest.raises(pytest.fail.Exception, match="DEDUPE_CHROMIUM=.*make install-chromium"):
        find_chromium()
