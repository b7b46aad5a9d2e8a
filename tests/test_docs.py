"""The documentation: the CLI reference matches the --help, the README stays short, every relative link (and
anchor) in README.md and docs/*.md leads somewhere, and the examples of docs/api.md print what they show."""

from __future__ import annotations

import doctest
import importlib.util
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
README = REPO / "README.md"
PAGES = [README, *sorted(DOCS.glob("*.md"))]

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_CODE_SPAN = re.compile(r"`+[^`]*?`+")
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def _load_generator():
    spec = importlib.util.spec_from_file_location("generate_cli", DOCS / "generate_cli.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _prose_lines(text: str) -> list[str]:
    """The lines of a Markdown text with fenced code blocks (and their fences) blanked, numbering kept."""
    out, fenced = [], False
    for line in text.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
            out.append("")
        else:
            out.append("" if fenced else line)
    return out


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: link syntax and punctuation dropped, lower case, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading anchor of a Markdown file, with GitHub's -1, -2, ... suffixes for repeated headings."""
    seen: dict[str, int] = {}
    out = set()
    for line in _prose_lines(path.read_text(encoding="utf-8")):
        m = _HEADING.match(line)
        if not m:
            continue
        slug = github_slug(m.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        out.add(slug if count == 0 else f"{slug}-{count}")
    return out


def relative_links(path: Path) -> list[tuple[int, str]]:
    """(line number, target) of every relative link and image of a Markdown file, outside code."""
    prose = "\n".join(_CODE_SPAN.sub("", line) for line in _prose_lines(path.read_text(encoding="utf-8")))
    return [(prose.count("\n", 0, m.start()) + 1, m.group(1)) for m in _LINK.finditer(prose)
            if not _SCHEME.match(m.group(1))]


def test_slugs_are_githubs():
    assert github_slug("HTML report (`--report FILE.html`, `dedupe report`)") == "html-report---report-filehtml-dedupe-report"
    assert github_slug("Choosing threshold, ngram, unit and num_perm") == "choosing-threshold-ngram-unit-and-num_perm"
    assert github_slug("`scan`") == "scan"


def test_cli_reference_is_up_to_date():
    generator = _load_generator()
    current = (DOCS / "cli.md").read_text(encoding="utf-8")
    assert current == generator.render(), "docs/cli.md is stale: run .venv/bin/python docs/generate_cli.py"


def test_readme_is_under_10_kb():
    size = len(README.read_bytes())
    assert size < 10 * 1024, f"README.md is {size:,} bytes: move detail to docs/ and link to it"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_lead_somewhere(page: Path):
    broken = []
    for line, target in relative_links(page):
        file_part, _, anchor = target.partition("#")
        dest = (page.parent / file_part).resolve() if file_part else page
        if not dest.exists():
            broken.append(f"{page.name}:{line}: {target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{page.name}:{line}: {target}: no heading #{anchor} in {dest.relative_to(REPO)}")
    assert not broken, "\n".join(broken)


def test_api_examples_print_what_they_show(monkeypatch):
    page = DOCS / "api.md"
    lines, in_python = [], False
    for line in page.read_text(encoding="utf-8").split("\n"):  # only the ```python blocks, line numbers kept
        if line.startswith("```"):
            in_python = line.strip() == "```python"
            lines.append("")
        else:
            lines.append(line if in_python else "")
    monkeypatch.chdir(REPO)  # the examples read seeds/ relative to the repository
    test = doctest.DocTestParser().get_doctest("\n".join(lines), {}, "docs/api.md", str(page), 0)
    assert len(test.examples) >= 10
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    result = runner.run(test, out=report.append)
    assert result.failed == 0, "".join(report)
