"""Render a local HTML file in real headless Chromium and record what it did.

For tests of the self-contained HTML report: one ``.html`` file that must load no other resource (no
request of any kind leaves the page) and log no console error. The tests drive Debian's ``chromium``
(never a browser downloaded by ``playwright install``: CI has no network) through Playwright::

    from browser import open_page, render

    def test_report_page(browser, screenshot_dir, tmp_path):
        path = write_report(tmp_path)                      # whatever produces the page
        with open_page(browser, path, screenshot=screenshot_dir / "report.png") as p:
            p.assert_clean()                               # no console error, page error or request
            assert p.title == "dedupe report"
            assert len(p.texts("table.clusters tbody tr")) == 3
            p.page.get_by_role("button", name="Show all").click()   # Playwright's Page, to click and type
        assert render(browser, path, javascript=False).body_text   # usable without scripts

Fixtures (tests/conftest.py): ``browser`` launches one Chromium for the whole session (see
:func:`launch_chromium`) and closes it at the end, also after a failure; ``screenshot_dir`` is where screenshots
go: ``$DEDUPE_SCREENSHOTS`` when set (``DEDUPE_SCREENSHOTS=build/screenshots make test`` keeps them in the
repository's ignored ``build/``), else a directory of pytest's temporary tree (pytest keeps the last three runs,
``/tmp/pytest-of-$USER/pytest-current/screenshots0/``).

The browser: ``$DEDUPE_CHROMIUM`` when set, else ``chromium`` or ``chromium-browser`` on PATH. When none is
found the tests fail (never skip) and say to run ``make install-chromium``.

What is recorded, per page (:class:`PageRecord`):

- ``console``: every console message (type, text, ``url:line:column``). Chromium also logs a load that failed
  or was blocked here, as an error ``Failed to load resource: ...``.
- ``errors``: uncaught exceptions and unhandled promise rejections of the page's scripts.
- ``requests``: every URL the page, its frames and its workers asked for other than the page itself: http(s),
  other ``file://`` files, WebSockets, and ``<link rel=preconnect|dns-prefetch>`` hints left in the DOM (a
  connection without a request). Only ``file://`` loads go ahead; everything else is blocked before it leaves
  the browser (the request is aborted by ``route``, a WebSocket is never connected, and every host, an IP
  address too, resolves to nothing, so not even a DNS lookup or a preconnect happens) but is still recorded.
- ``data_urls``: ``data:`` and ``blob:`` URLs the page loaded (inline content: allowed, listed apart).

Known limit: Playwright's sync API keeps its asyncio loop current on the main thread while the session's
browser is open, so a later test in the same session cannot call ``asyncio.run()`` (playwright-pytest issue
#167). No code of dedupe uses asyncio; if a test ever does, give ``browser`` module scope.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import pytest

if TYPE_CHECKING:  # imported when a browser is launched: a missing package fails only the browser tests
    from playwright.sync_api import Browser, ConsoleMessage as PwConsoleMessage, Error, Page, Route, WebSocketRoute

CHROMIUM_INSTALL_HINT = (
    "the HTML report tests need a Chromium browser, and none was found: run `make install-chromium` (it installs "
    "Debian's chromium package), or set DEDUPE_CHROMIUM to the path of a Chromium or Chrome binary"
)
PLAYWRIGHT_INSTALL_HINT = (
    "the HTML report tests need the Python package playwright: run `make install` (or "
    "`.venv/bin/pip install -e '.[test]'`); never `playwright install`, the tests use the system's Chromium"
)

# Chromium's own switches. --no-sandbox: the sandbox needs user namespaces, which containers and root lack.
# --host-resolver-rules: every host (an IP address too) fails to resolve, so nothing that slips past the
# request routing (a preconnect, a DNS prefetch) can reach the network either.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND"]


def find_chromium() -> str:
    """Path of the Chromium binary: ``$DEDUPE_CHROMIUM``, else ``chromium``/``chromium-browser`` on PATH.

    Fails the test (never skips) with how to install it when there is none.
    """
    configured = os.environ.get("DEDUPE_CHROMIUM")
    if configured:
        found = shutil.which(configured)
        if found is None:
            pytest.fail(f"DEDUPE_CHROMIUM={configured!r} is not an executable file: {CHROMIUM_INSTALL_HINT}",
                        pytrace=False)
        return found
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found is not None:
            return found
    pytest.fail(CHROMIUM_INSTALL_HINT, pytrace=False)


@contextmanager
def launch_chromium(executable: str | None = None) -> Iterator[Browser]:
    """Start Playwright and a headless Chromium; stop both on exit, also when the body raised."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(PLAYWRIGHT_INSTALL_HINT, pytrace=False)
    executable = executable or find_chromium()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


# --------------------------------------------------------------------------- what a page did


@dataclass(frozen=True)
class ConsoleEntry:
    """One console message: ``type`` is ``log``, ``info``, ``warning``, ``error``, ``debug``, ..."""

    type: str
    text: str
    location: str  # "url:line:column" (0-based line and column, as Chromium reports them)

    def __str__(self) -> str:
        return f"console.{self.type}: {self.text} (at {self.location})"


@dataclass(frozen=True)
class PageError:
    """An uncaught exception (or unhandled rejection) of the page's scripts."""

    message: str
    stack: str

    def __str__(self) -> str:
        return f"uncaught {self.stack or self.message}"


@dataclass(frozen=True)
class Request:
    """A URL the page asked for. ``kind`` is Playwright's resource type (``image``, ``fetch``, ``stylesheet``,
    ``script``, ``document``, ``ping``, ...), ``websocket``, or ``preconnect``/``dns-prefetch`` for a DOM hint.
    ``blocked`` is False only for ``file://`` loads, which go ahead."""

    url: str
    kind: str
    blocked: bool

    def __str__(self) -> str:
        return f"{self.kind} request to {self.url}" + (" (blocked)" if self.blocked else "")


@dataclass
class PageRecord:
    """What happened while a page was open; the lists grow while it is."""

    url: str
    console: list[ConsoleEntry] = field(default_factory=list)
    errors: list[PageError] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    data_urls: list[str] = field(default_factory=list)

    @property
    def console_errors(self) -> list[ConsoleEntry]:
        return [m for m in self.console if m.type == "error"]

    def problems(self) -> list[str]:
        """Everything a self-contained page must not do: console errors, page errors, requests."""
        return [str(x) for x in (*self.errors, *self.console_errors, *self.requests)]

    def assert_clean(self) -> None:
        """Fail with the whole list unless the page logged no error, raised nothing and requested nothing."""
        problems = self.problems()
        assert not problems, f"{self.url}: {len(problems)} problem(s):\n  " + "\n  ".join(problems)


@dataclass
class PageSession(PageRecord):
    """An open page (inside :func:`open_page`): the records plus the live Playwright ``page``."""

    page: Page | None = None
    javascript: bool = True

    @property
    def title(self) -> str:
        return self.page.title()

    def text(self, selector: str) -> str:
        """Rendered text (``innerText``) of the one element matching the CSS ``selector``; fails unless exactly one."""
        locator = self.page.locator(selector)
        count = locator.count()
        assert count == 1, f"{selector!r} matches {count} elements, expected exactly one"
        return locator.inner_text()

    def texts(self, selector: str) -> list[str]:
        """Rendered text of every element matching ``selector``, in document order (empty when none)."""
        return self.page.locator(selector).all_inner_texts()

    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        """Save a PNG of the page (the whole scrollable page unless ``full_page`` is False) and return its path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def settle(self) -> None:
        """Wait until the page has painted twice, so work its scripts queued at load time has run.

        Does nothing with scripts disabled: animation frame callbacks never run then, and the wait would hang.
        """
        if self.javascript:
            self.page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


@dataclass(frozen=True)
class Rendered:
    """The result of :func:`render`: what the page did, and its title and text once loaded."""

    url: str
    console: list[ConsoleEntry]
    errors: list[PageError]
    requests: list[Request]
    data_urls: list[str]
    title: str
    body_text: str  # document.body.innerText: the text as rendered (hidden elements left out)
    html: str  # the DOM serialized after the scripts ran
    screenshot: Path | None

    console_errors = PageRecord.console_errors
    problems = PageRecord.problems
    assert_clean = PageRecord.assert_clean


# --------------------------------------------------------------------------- opening a page


_HINTS_JS = """() => Array.from(document.querySelectorAll('link[rel]'))
  .map(l => [['dns-prefetch', 'preconnect'].find(kind => l.relList.contains(kind)), l.href])
  .filter(([kind, href]) => kind && href)"""


@contextmanager
def open_page(browser: Browser, html_path: Path, *, width: int = 1280, height: int = 800,
              javascript: bool = True, screenshot: Path | None = None, full_page: bool = True,
              wait_until: Literal["load", "domcontentloaded", "networkidle"] = "load",
              timeout_ms: float = 10_000) -> Iterator[PageSession]:
    """Open ``html_path`` in a fresh browser context (no state shared with other pages) and yield the session.

    The page has loaded (``wait_until``) and painted when the body starts. ``javascript=False`` opens it with
    scripts disabled (Playwright's ``evaluate`` and locators still work: they run outside the page's world).
    ``screenshot``: a PNG saved when the body ends (also when it failed), so it shows the state the test left.
    ``<link rel=preconnect|dns-prefetch>`` hints are collected once, after the load.
    Rendering is fixed for comparable screenshots: light scheme, reduced motion, en-US, UTC, scale 1.
    """
    path = Path(html_path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no HTML file at {path}")
    url = path.as_uri()
    session = PageSession(url=url, javascript=javascript)
    context = browser.new_context(
        viewport={"width": width, "height": height}, device_scale_factor=1, java_script_enabled=javascript,
        service_workers="block", color_scheme="light", reduced_motion="reduce", locale="en-US",
        timezone_id="UTC",
    )
    try:
        context.set_default_timeout(timeout_ms)
        first_document = [True]

        def gate(route: Route) -> None:
            # Every request of the page, its frames and its workers comes through here (data: and blob: URLs
            # excepted, which need no network): recorded, then let through only when it is a local file.
            request = route.request
            if request.url == url and request.resource_type == "document" and first_document[0]:
                first_document[0] = False  # the page itself; a reload or a frame of it is recorded
            else:
                local = request.url.startswith("file:")
                session.requests.append(Request(request.url, request.resource_type, blocked=not local))
            if request.url.startswith("file:"):
                route.continue_()
            else:
                route.abort("blockedbyclient")

        def inline(event: dict) -> None:
            if event["request"]["url"].startswith(("data:", "blob:")):
                session.data_urls.append(event["request"]["url"])

        def websocket(ws: WebSocketRoute) -> None:
            # Not calling ws.connect_to_server() keeps the socket unconnected: the page's WebSocket opens
            # against nothing and no byte leaves the browser.
            session.requests.append(Request(ws.url, "websocket", True))

        def console(message: PwConsoleMessage) -> None:
            loc = message.location
            where = f"{loc.get('url', '')}:{loc.get('lineNumber', 0)}:{loc.get('columnNumber', 0)}"
            session.console.append(ConsoleEntry(message.type, message.text, where))

        def page_error(error: Error) -> None:
            session.errors.append(PageError(error.message, error.stack or ""))

        context.route("**/*", gate)
        context.route_web_socket("**/*", websocket)
        page = context.new_page()
        session.page = page
        page.on("console", console)
        page.on("pageerror", page_error)
        # Chromium's DevTools protocol sees the loads of data: and blob: URLs, which routes leave out.
        cdp = context.new_cdp_session(page)
        cdp.on("Network.requestWillBeSent", inline)
        cdp.send("Network.enable")
        page.goto(url, wait_until=wait_until)
        session.settle()
        for kind, href in page.evaluate(_HINTS_JS):
            session.requests.append(Request(href, kind, True))
        try:
            yield session
        except BaseException:
            if screenshot is not None:  # the state the test failed in, if the page can still be captured
                with suppress(Exception):
                    session.screenshot(screenshot, full_page=full_page)
            raise
        if screenshot is not None:
            session.screenshot(screenshot, full_page=full_page)
    finally:
        context.close()


def render(browser: Browser, html_path: Path, screenshot: Path | None = None, width: int = 1280,
           full_page: bool = True, javascript: bool = True) -> Rendered:
    """Load ``html_path``, optionally save a screenshot, close the page and return what it did.

    For clicking, typing or querying the DOM by selector, use :func:`open_page`.
    """
    with open_page(browser, html_path, width=width, javascript=javascript) as p:
        title = p.title
        body_text = p.page.evaluate("() => document.body ? document.body.innerText : ''")
        html = p.page.content()
        if screenshot is not None:
            p.screenshot(screenshot, full_page=full_page)
    return Rendered(url=p.url, console=list(p.console), errors=list(p.errors), requests=list(p.requests),
                    data_urls=list(p.data_urls), title=title, body_text=body_text, html=html,
                    screenshot=Path(screenshot) if screenshot is not None else None)
