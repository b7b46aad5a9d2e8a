"""The HTML report in real headless Chromium: it loads with no console error and no request, shows the JSON
report's counts, its tables sort and filter, it is usable without scripts, and hostile text runs nothing.

Screenshots are saved (see the ``screenshot_dir`` fixture) so that the pages can be looked at.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from browser import open_page, render
from test_htmlreport import HOSTILE, hostile_corpus, planted, write_jsonl

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds" / "seeds.jsonl"
SITE = ROOT / "seeds" / "site.jsonl"


def scan(tmp_path: Path, name: str, inputs: list[Path], *options: str) -> tuple[Path, dict]:
    page, report = tmp_path / f"{name}.html", tmp_path / f"{name}.json"
    res = subprocess.run([sys.executable, "-m", "dedupe", "scan", *map(str, inputs), *options, "--report", str(page),
                          "--report", str(report)], capture_output=True, timeout=300)
    assert res.returncode == 0, res.stderr
    return page, orjson.loads(report.read_bytes())


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict]]:
    tmp = tmp_path_factory.mktemp("pages")
    generated = tmp / "generated.jsonl"
    subprocess.run([sys.executable, str(ROOT / "seeds" / "generate.py"), "--out", str(generated)], check=True,
                   capture_output=True)
    mixed = write_jsonl(tmp / "mixed.jsonl", planted(10))
    with open(mixed, "ab") as f:
        f.write(b'{"id": "broken", "text": \n')
    return {
        "seeds": scan(tmp, "seeds", [SEEDS, SITE], "--passages"),
        "generated": scan(tmp, "generated", [SEEDS, generated, SITE], "--passages"),
        "mixed": scan(tmp, "mixed", [mixed], "--rejects", str(tmp / "bad.jsonl")),
    }


def shown_counts(session) -> dict[str, int]:
    return {key: int(session.text(f'[data-count="{key}"]').replace(",", ""))
            for key in ("input", "kept", "duplicates", "rejected", "clusters")}


@pytest.mark.parametrize("name", ["seeds", "generated", "mixed"])
def test_page_loads_clean_and_shows_the_json_counts(browser, screenshot_dir: Path, pages, name: str) -> None:
    page, report = pages[name]
    with open_page(browser, page, screenshot=screenshot_dir / f"report-{name}.png") as s:
        s.assert_clean()  # no console error, no page error, no request of any kind
        assert shown_counts(s) == {k: report["counts"][k] for k in ("input", "kept", "duplicates", "rejected",
                                                                        "clusters")}
        # every plot rendered (an SVG that failed to decode has no natural width)
        widths = s.page.eval_on_selector_all("img.plot", "imgs => imgs.map(i => i.naturalWidth)")
        assert widths and all(w > 100 for w in widths)
        assert s.texts("table#parameters th")[:2] == ["shingles", "num_perm"]
        if report["counts"]["clusters"]:
            rows = s.texts("#clusters-table tbody tr")
            assert len(rows) == min(25, report["counts"]["clusters"])
        if report.get("passages"):
            marks = s.page.eval_on_selector_all("article.doc mark", "ms => ms.map(m => m.className)")
            assert marks and set(marks) <= {"k-exact", "k-near", "k-boilerplate", "k-quote"}
            # every span link goes somewhere on the page
            targets = s.page.eval_on_selector_all("a.span", "as => as.map(a => a.getAttribute('href').slice(1))")
            missing = [t for t in targets if s.page.query_selector(f'[id="{t}"]') is None]
            assert not missing
    assert (screenshot_dir / f"report-{name}.png").stat().st_size > 10_000


def test_seed_page_shows_the_comment_form_boilerplate_and_the_jabrayil_near_repeat(browser, pages) -> None:
    page, report = pages["seeds"]
    with open_page(browser, page) as s:
        boiler = s.texts("article.doc mark.k-boilerplate")
        assert any("Please enter your comment!" in b for b in boiler)
        near = " ".join(s.texts("article.doc mark.k-near"))
        assert "Jabrayil" in near


def test_tables_sort_on_click_and_filter_on_typing(browser, pages) -> None:
    page, report = pages["generated"]
    with open_page(browser, page) as s:
        size = lambda: [int(r) for r in s.texts("#clusters-table tbody tr td:nth-child(3)")]  # noqa: E731
        before = size()
        assert before == sorted(before, reverse=True)
        s.page.click("#clusters-table th:nth-child(3)")
        assert size() == sorted(before)
        s.page.click("#clusters-table th:nth-child(3)")
        assert size() == sorted(before, reverse=True)
        first = report["clusters"][0]["cluster"]
        box = s.page.locator('input.finder[data-table="clusters-table"]')
        assert box.is_visible()
        box.fill(first)
        visible = s.page.eval_on_selector_all("#clusters-table tbody tr", "rs => rs.filter(r => !r.hidden).length")
        assert visible == 1
        box.fill("")
        visible = s.page.eval_on_selector_all("#clusters-table tbody tr", "rs => rs.filter(r => !r.hidden).length")
        assert visible == len(before)
        s.assert_clean()


def test_page_is_usable_without_scripts(browser, pages, screenshot_dir: Path) -> None:
    page, report = pages["generated"]
    r = render(browser, page, javascript=False, screenshot=screenshot_dir / "report-no-script.png")
    assert not r.errors and not r.requests
    assert "Largest clusters" in r.body_text and report["clusters"][0]["cluster"] in r.body_text
    assert "Search this table" not in r.body_text  # the search box appears only with the script


def test_hostile_text_runs_nothing_in_the_browser(browser, tmp_path: Path, screenshot_dir: Path) -> None:
    src = write_jsonl(tmp_path / "hostile.jsonl", hostile_corpus())
    page, _ = scan(tmp_path, "hostile", [src], "--passages", "--passage-min-words", "4")
    with open_page(browser, page, screenshot=screenshot_dir / "report-hostile.png") as s:
        dialogs: list[str] = []
        s.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        # open every cluster and click every span, where an injected handler would fire
        s.page.eval_on_selector_all("details", "ds => ds.forEach(d => d.open = true)")
        for link in s.page.query_selector_all("a.span")[:20]:
            link.click()
        s.page.wait_for_timeout(200)
        assert not dialogs
        s.assert_clean()
        body = s.text("body")
        for bad in HOSTILE:
            assert bad in body  # shown as text
        assert s.page.eval_on_selector_all("img", "is => is.filter(i => !i.classList.contains('plot')).length") == 0
        assert s.title.startswith("dedupe report")


def test_chinese_text_and_its_repeated_spans_show_as_the_text_has_them(browser, tmp_path: Path, screenshot_dir: Path) -> None:
    """Real Chinese prose (tests/fixtures/languages): a later record repeats one sentence of an earlier one with one
    character changed; the page marks exactly that span of the text, in Chinese."""
    rows = [orjson.loads(line) for line in (ROOT / "tests" / "fixtures" / "languages" / "zh.jsonl").open("rb")][:12]
    source = rows[0]["text"]
    sentence = next(s for s in source.replace("\n", "").split("。") if len(s) >= 15) + "。"
    changed = sentence[:5] + ("的" if sentence[5] != "的" else "是") + sentence[6:]
    planted = "这是一个新的文档，它说了一些别的事情，与前面的内容无关。" + changed + "最后一句话也是新的内容，没有重复。"
    rows.append({"id": "planted", "text": planted})
    path = write_jsonl(tmp_path / "zh.jsonl", rows)
    page, report = scan(tmp_path, "zh", [path], "--passages")
    assert report["passages"]["found"]["near"] >= 1
    with open_page(browser, page, screenshot=screenshot_dir / "report-zh.png") as s:
        s.assert_clean()
        near = s.texts("article.doc mark.k-near")
        assert changed in near, (changed, near)
        assert all("\ufffd" not in m for m in s.texts("article.doc mark"))  # no broken characters
