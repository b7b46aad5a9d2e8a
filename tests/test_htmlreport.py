"""The HTML report: one model for the JSON and the page, escaping, caps, and `dedupe report` from a scan output."""

from __future__ import annotations

import gzip
import html
import random
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe.config import DedupeConfig, PassageConfig
from dedupe.report.copies import AnnotationClusters, Examples, result_of
from dedupe.report.htmlparts import word_diff
from dedupe.core.matcher import Deduplicator
from dedupe.io.records import Record, read_records

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds" / "seeds.jsonl"
SITE = ROOT / "seeds" / "site.jsonl"

HOSTILE = [
    "<script>alert('id')</script>",
    "</textarea><script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(document.cookie)",
    "</title><svg onload=alert(2)>",
    "<!-- --><style>body{display:none}</style>",
]


def dedupe(*args: str, stdin: bytes | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "dedupe", *args], input=stdin, capture_output=True, cwd=cwd,
                          timeout=300)


def words(seed: int, n: int = 80) -> str:
    vocab = ["truce", "Jabrayil", "forces", "region", "Azerbaijan", "minutes", "after", "fired", "ceasefire",
             "Armenian", "said", "ministry", "statement", "violated", "humanitarian", "Karabakh", "talks", "Moscow"]
    rng = random.Random(seed)
    return " ".join(rng.choice(vocab) + str(rng.randrange(10)) for _ in range(n))


def hostile_corpus() -> list[dict[str, object]]:
    """Every hostile string as an id and inside a text, as kept records, as duplicates (so they appear in the
    largest clusters) and as repeated passages (so they appear in the document view)."""
    rows: list[dict[str, object]] = []
    for k, bad in enumerate(HOSTILE):
        base = f"{bad} " + words(k)
        rows.append({"id": bad, "text": base})
        rows.append({"id": f"{bad}-copy", "text": base + f" {bad}"})
        sentence = f"The statement said {bad} was repeated by every one of the officials present today."
        rows.append({"id": f"p{k}", "text": f"{words(100 + k, 20)}.\n\n{sentence}"})
        rows.append({"id": f"q{k}", "text": f"{words(200 + k, 20)}.\n\n{sentence}"})
    return rows


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text inside script elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def parse(page: str) -> Tags:
    p = Tags()
    p.feed(page)
    return p


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


# -- word diff ------------------------------------------------------------------------------------------------


def strip_tags(fragment: str) -> str:
    return html.unescape(re.sub(r"</?(del|ins)>", "", fragment))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c", "<x>", "&", "\n", "  ", "d"]), max_size=30),
       st.lists(st.sampled_from(["a", "b", "c", "<x>", "&", "\n", "  ", "e"]), max_size=30))
def test_word_diff_keeps_both_texts_and_marks_only_differing_words(left: list[str], right: list[str]) -> None:
    a, b = " ".join(left), " ".join(right)
    da, db = word_diff(a, b)
    assert strip_tags(da) == a and strip_tags(db) == b
    assert "<ins>" not in da and "<del>" not in db
    kept_a = re.sub(r"<del>.*?</del>", "", da, flags=re.S)
    kept_b = re.sub(r"<ins>.*?</ins>", "", db, flags=re.S)
    # what is not marked is the same sequence of words on both sides
    assert strip_tags(kept_a).split() == strip_tags(kept_b).split()


def test_word_diff_marks_the_reworded_words_of_the_seed_paragraphs() -> None:
    a = "Azerbaijan said Armenian forces fired at Jabrayil minutes after the truce took effect."
    b = "Azarbaijan said Armenian forces fired at Jabrayil minutes after the truce taking affect."
    da, db = word_diff(a, b)
    assert re.findall(r"<del>(.*?)</del>", da) == ["Azerbaijan", "took effect."]
    assert re.findall(r"<ins>(.*?)</ins>", db) == ["Azarbaijan", "taking affect."]


# -- the report model -------------------------------------------------------------------------------------------


def run(rows: list[dict[str, object]], config: DedupeConfig) -> tuple[Deduplicator, list, Examples]:
    dd = Deduplicator(config)
    ex = Examples()
    results = list(ex.watch(dd.run(Record(str(r["id"]), str(r["text"])) for r in rows)))
    return dd, results, ex


def planted(n_groups: int = 12) -> list[dict[str, object]]:
    rows = []
    for g in range(n_groups):
        base = words(g, 120).split()
        for m in range(1 + g % 4):
            edited = list(base)
            for k in range(m):  # one word changed per member: similarity stays high
                edited[(k * 37 + g) % len(edited)] = f"edit{m}{k}"
            rows.append({"id": f"g{g}-m{m}", "text": " ".join(edited)})
        rows.append({"id": f"lone{g}", "text": words(1000 + g, 60)})
    return rows


def test_clusters_rebuilt_from_annotations_equal_the_detectors() -> None:
    dd, results, ex = run(planted(), DedupeConfig())
    ac = AnnotationClusters()
    for r in results:
        ac.add(r)
    groups, position = ac.groups()
    from_annotations = [[ac.id_of(m) for m in members] for _, members in groups]
    assert from_annotations == [c["members"] for c in dd.clusters()]
    assert all(p >= 0 for p in position)
    ex.close()


def test_examples_read_back_exactly_what_was_decided() -> None:
    dd, results, ex = run(planted(), DedupeConfig())
    shown = ex.read(range(len(results)))
    for k, r in enumerate(results):
        s = shown[k]
        assert (s.id, s.text, s.cluster, s.duplicate_of, s.similarity) == (
            r.record.id, r.record.text, r.match.cluster, r.match.duplicate_of, r.match.similarity)
    ex.close()


def test_examples_keep_the_documents_with_most_repeated_text_and_of_each_kind() -> None:
    config = DedupeConfig(passages=PassageConfig())
    rows = [orjson.loads(line) for path in (SEEDS, SITE) for line in path.read_bytes().splitlines()]
    rows += hostile_corpus()
    # copies of one long text, each with its own opening: the most repeated documents, all exact or boilerplate
    long_text = " ".join(f"{words(400 + k, 12)}." for k in range(60))
    rows += [{"id": f"copy{k}", "text": f"{words(300 + k, 600)}.\n\n{long_text}"} for k in range(6)]
    dd, results, ex = run(rows, config)
    total = {k: sum(m.end - m.start for m in r.passages or []) for k, r in enumerate(results)}
    kinds = {k: {"quote" if m.unit == "quote" else m.kind for m in r.passages or []} for k, r in enumerate(results)}
    everything = sorted((k for k in total if total[k]), key=lambda k: (-total[k], k))
    assert ex.passage_documents() == everything  # fewer than the limit: all of them, most repeated first
    ex.close()
    present = set().union(*kinds.values())
    assert present >= {"exact", "near", "boilerplate"}
    small = Examples(passage_documents=len(present), per_kind=1)
    for r in results:
        small.add(r)
    shown = small.passage_documents()
    assert len(shown) == len(present) and shown == sorted(shown, key=lambda k: (-total[k], k))
    # each kind of the run has a document that shows it, though the largest ones alone would miss some
    assert set().union(*(kinds[k] for k in shown)) == present
    assert set().union(*(kinds[k] for k in everything[: len(present)])) != present
    small.close()


def test_display_copies_are_bounded_and_passage_documents_keep_more() -> None:
    config = DedupeConfig(passages=PassageConfig())
    long_text = " ".join(f"{words(400 + k, 12)}." for k in range(60))  # about 5,000 characters
    rows = [{"id": f"copy{k}", "text": f"{words(300 + k, 600)}.\n\n{long_text}"} for k in range(12)]
    rows += [{"id": f"other{k}", "text": words(500 + k, 900)} for k in range(4)]
    dd, results, _ = run(rows, config)
    ex = Examples(copy_limit=1_000, text_limit=8_000, passage_documents=2, per_kind=1)
    for r in results:
        ex.add(r)
    ex._file.seek(0)
    rows_on_disk = [orjson.loads(ex._file.read(b - a)) for a, b in zip(ex._offsets, ex._offsets[1:])]
    assert len(rows_on_disk) == len(results) and max(len(row[1]) for row in rows_on_disk) == 1_000
    shown = ex.passage_documents()
    read = ex.read(range(len(results)))
    longer = set(ex._longer)
    for k, r in enumerate(results):
        limit = 8_000 if k in longer else 1_000
        assert read[k].text == r.record.text[:limit] and read[k].length == len(r.record.text)
    assert shown and set(shown) <= longer and all(len(read[k].text) > 1_000 for k in shown)
    # documents pushed out of every heap gave their longer text back: at most the heaps' room is held
    with_passages = sum(1 for r in results if r.passages and len(r.record.text) > 1_000)
    assert len(longer) <= 2 + 4 * 1 < with_passages
    ex.close()


# -- the page ---------------------------------------------------------------------------------------------------


def counts_shown(page: str) -> dict[str, str]:
    return {k: v for k, v in re.findall(r'data-count="(\w+)">([^<]*)<', page)}


def test_page_counts_are_the_json_reports(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", planted())
    with open(src, "ab") as f:
        f.write(b'{"id": "broken", "text": \n')
    res = dedupe("scan", str(src), "--rejects", str(tmp_path / "bad.jsonl"), "--report", str(tmp_path / "r.json"),
                 "--report", str(tmp_path / "r.html"))
    assert res.returncode == 0, res.stderr
    report = orjson.loads((tmp_path / "r.json").read_bytes())
    shown = counts_shown((tmp_path / "r.html").read_text())
    c = report["counts"]
    assert {k: int(shown[k].replace(",", "")) for k in ("input", "kept", "duplicates", "rejected", "clusters")} == {
        k: c[k] for k in ("input", "kept", "duplicates", "rejected", "clusters")}
    assert c["duplicates"] > 5 and c["rejected"] == 1
    # the new numbers of the model are consistent with the old ones
    assert sum(report["similarity_histogram"]["duplicates"]) == c["duplicates"]
    assert sum(int(k) * v for k, v in report["cluster_sizes"].items()) == sum(x["size"] for x in report["clusters"])
    assert report["removed_by_filter"]["documents"] == c["duplicates"]
    assert sum(report["similarity_histogram"]["candidates"]) == c["lsh_candidates"]


def test_filter_removes_what_the_report_says(tmp_path: Path) -> None:
    rows = [orjson.loads(line) for path in (SEEDS, SITE) for line in path.read_bytes().splitlines()]
    rows += planted(4)
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    res = dedupe("filter", "--passages", str(src), "--report", str(tmp_path / "r.json"))
    assert res.returncode == 0, res.stderr
    report = orjson.loads((tmp_path / "r.json").read_bytes())
    size = lambda texts: sum(len(t.encode("utf-8")) for t in texts)  # noqa: E731
    before = size(r["text"] for r in rows)
    after = size(orjson.loads(line)["text"] for line in res.stdout.splitlines())
    removed = report["removed_by_filter"]
    assert removed["bytes"] == before - after and removed["passage_bytes"] > 0 and removed["document_bytes"] > 0


def test_every_hostile_string_is_shown_as_text_and_runs_nothing(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in<script>.jsonl", hostile_corpus())
    with open(src, "ab") as f:  # a rejected line whose reason quotes the hostile bytes
        f.write(b'{"id": "<script>alert(9)</script>", "text": 5}\n')
    res = dedupe("scan", "--passages", "--passage-min-words", "4", str(src), "--rejects", str(tmp_path / "bad.jsonl"),
                 "--report", str(tmp_path / "r.html"), "--report", str(tmp_path / "r.json"))
    assert res.returncode == 0, res.stderr
    page = (tmp_path / "r.html").read_text()
    report = orjson.loads((tmp_path / "r.json").read_bytes())
    assert report["counts"]["duplicates"] >= len(HOSTILE) and sum(report["passages"]["found"].values()) >= len(HOSTILE)
    tags = parse(page)
    # only the page's own tags: no script, img, svg, style or iframe came from the data
    names = [t for t, _ in tags.tags]
    assert names.count("script") == 1 and names.count("style") == 1
    assert not {"iframe", "svg", "object", "embed", "textarea", "form", "base"} & set(names)
    for tag, attrs in tags.tags:
        assert not [a for a in attrs if a.startswith("on")], (tag, attrs)
        for key in ("href", "src"):
            value = attrs.get(key) or ""
            assert value.startswith(("#", "data:image/svg+xml;base64,")) or not value, (tag, key, value)
    # the one script is the page's own, and the CSP allows only it
    assert "alert" not in "".join(tags.scripts)
    assert "script-src 'sha256-" in page and "default-src 'none'" in page
    # each hostile string is on the page, escaped, in the clusters and in the document view
    for bad in HOSTILE:
        assert html.escape(bad, quote=True) in page
    clusters = page[page.index('id="clusters"'):page.index('id="passages"')]
    documents = page[page.index('id="documents"'):]
    for bad in HOSTILE:
        assert html.escape(bad, quote=True) in clusters
    assert sum(html.escape(bad, quote=True) in documents for bad in HOSTILE) == len(HOSTILE)


def test_largest_clusters_are_capped_and_say_so(tmp_path: Path) -> None:
    base = words(7, 200)
    rows = [{"id": f"m{k}", "text": base + f" tail{k}"} for k in range(40)]
    rows += [{"id": f"g{g}-{m}", "text": words(50 + g, 100) + f" x{m}"} for g in range(30) for m in range(2)]
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    res = dedupe("scan", str(src), "--report", str(tmp_path / "r.html"), "--report", str(tmp_path / "r.json"))
    assert res.returncode == 0, res.stderr
    page = (tmp_path / "r.html").read_text()
    report = orjson.loads((tmp_path / "r.json").read_bytes())
    assert report["counts"]["clusters"] == 31 and report["clusters"][0]["size"] == 40
    assert page.count('class="cluster"') == 25
    assert "The 25 largest of 31 clusters" in page
    first = page[page.index('id="cluster-1"'):page.index('id="cluster-2"')]
    assert first.count('class="pair"') == 8 and "and 31 more members" in first


def test_a_run_stopped_by_a_bad_line_still_writes_its_page(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"id": "a", "text": "one two three four five six"}\nnot json\n')
    res = dedupe("scan", str(src), "--report", str(tmp_path / "r.html"))
    assert res.returncode == 3
    page = (tmp_path / "r.html").read_text()
    assert "This run did not complete" in page and "malformed JSON" in page


def test_without_matplotlib_an_html_report_says_how_to_get_it(tmp_path: Path) -> None:
    code = ("import sys; sys.modules['matplotlib'] = None; from dedupe.cli.app import main; "
            f"sys.argv = ['dedupe', 'scan', {str(SEEDS)!r}, '--report', {str(tmp_path / 'r.html')!r}]; main()")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert res.returncode == 2 and b"pip install 'dedupe[report]'" in res.stderr and not res.stdout
    assert not (tmp_path / "r.html").exists()


def test_report_option_refuses_two_pages(tmp_path: Path) -> None:
    res = dedupe("scan", str(SEEDS), "--report", str(tmp_path / "a.html"), "--report", str(tmp_path / "b.html"))
    assert res.returncode == 2 and b"at most one JSON and one HTML" in res.stderr


# -- dedupe report ------------------------------------------------------------------------------------------------


def body_of(page: str) -> str:
    """The page without its plots and footer (what depends on the run rather than on how it was built)."""
    page = re.sub(r'<img class="plot"[^>]*>', "", page)
    return page[page.index('<h2 id="glance">'):page.index("<footer>")]


def test_report_command_rebuilds_the_runs_page(tmp_path: Path) -> None:
    rows = [orjson.loads(line) for path in (SEEDS, SITE) for line in path.read_bytes().splitlines()] + planted()
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    res = dedupe("scan", "--passages", str(src), "--report", str(tmp_path / "run.json"),
                 "--report", str(tmp_path / "run.html"))
    assert res.returncode == 0, res.stderr
    annotated = tmp_path / "out.jsonl.gz"
    annotated.write_bytes(gzip.compress(res.stdout))
    again = dedupe("report", str(annotated), "--run-report", str(tmp_path / "run.json"), "-o", str(tmp_path / "later.html"))
    assert again.returncode == 0, again.stderr
    assert b"wrote" in again.stderr
    run_page = (tmp_path / "run.html").read_text()
    later = (tmp_path / "later.html").read_text()
    assert body_of(later) == body_of(run_page)
    # without the run report: the same clusters and passages, and a note on what is missing
    bare = dedupe("report", str(annotated), "-o", str(tmp_path / "bare.html"))
    assert bare.returncode == 0, bare.stderr
    page = (tmp_path / "bare.html").read_text()
    assert "--run-report" in page
    cut = lambda p: p[p.index('<h2 id="clusters">'):p.index('<h2 id="passages">')]  # noqa: E731
    assert cut(page) == cut(run_page)
    assert counts_shown(page)["duplicates"] == counts_shown(run_page)["duplicates"]


def test_report_command_refuses_what_is_not_a_scan_output(tmp_path: Path) -> None:
    res = dedupe("report", str(SEEDS), "-o", str(tmp_path / "r.html"))
    assert res.returncode == 3 and b'seeds.jsonl:1: no "dedupe" key' in res.stderr
    assert not (tmp_path / "r.html").exists()
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"id": "a", "text": "t", "dedupe": {"cluster": "a"}}\n')
    res = dedupe("report", str(bad), "-o", str(tmp_path / "r.html"))
    assert res.returncode == 3 and b"bad.jsonl:1" in res.stderr and b"Traceback" not in res.stderr
    res = dedupe("report", str(tmp_path / "missing.jsonl"))
    assert res.returncode == 3 and b"no such file" in res.stderr
    res = dedupe("report", str(SEEDS), "--run-report", str(bad), "-o", str(tmp_path / "r.html"))
    assert res.returncode == 3 and b"not a dedupe JSON report" in res.stderr


def test_annotation_results_round_trip(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", planted(5))
    res = dedupe("scan", "--passages", str(src))
    out = write_jsonl(tmp_path / "out.jsonl", [orjson.loads(x) for x in res.stdout.splitlines()])
    _, results, ex = run(planted(5), DedupeConfig(passages=PassageConfig()))
    again = [result_of(r) for r in read_records([str(out)], "text", "id")]
    assert [(r.match, r.passages) for r in again] == [(r.match, r.passages) for r in results]
    ex.close()


def test_filter_writes_a_page_too(tmp_path: Path) -> None:
    rows = [orjson.loads(line) for path in (SEEDS, SITE) for line in path.read_bytes().splitlines()] + planted(6)
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    res = dedupe("filter", "--passages", str(src), "--report", str(tmp_path / "r.html"), "--report",
                 str(tmp_path / "r.json"))
    assert res.returncode == 0, res.stderr
    page = (tmp_path / "r.html").read_text()
    report = orjson.loads((tmp_path / "r.json").read_bytes())
    assert "dedupe filter report" in page
    assert counts_shown(page)["duplicates"] == f"{report['counts']['duplicates']:,}"
    assert page.count('class="cluster"') == report["counts"]["clusters"] > 0
    assert '<article class="doc"' in page


def test_members_from_an_earlier_run_are_named_without_text(tmp_path: Path) -> None:
    rows = planted(6)
    first = write_jsonl(tmp_path / "first.jsonl", [r for r in rows if str(r["id"]).endswith("m0")])
    second = write_jsonl(tmp_path / "second.jsonl", [r for r in rows if not str(r["id"]).endswith("m0")])
    index = tmp_path / "idx"
    assert dedupe("scan", str(first), "--index", str(index)).returncode == 0
    res = dedupe("scan", str(second), "--index", str(index), "--report", str(tmp_path / "r.html"), "--report",
                 str(tmp_path / "r.json"))
    assert res.returncode == 0, res.stderr
    page = (tmp_path / "r.html").read_text()
    report = orjson.loads((tmp_path / "r.json").read_bytes())
    earlier = [c for c in report["clusters"] if c.get("from_index")]
    assert earlier
    assert "is from an earlier run" in page
    # the same page from the scan output: the earlier run's ids are members without text there too
    annotated = tmp_path / "out.jsonl"
    annotated.write_bytes(res.stdout)
    again = dedupe("report", str(annotated), "--run-report", str(tmp_path / "r.json"), "-o", str(tmp_path / "l.html"))
    assert again.returncode == 0, again.stderr
    assert body_of((tmp_path / "l.html").read_text()) == body_of(page)


def edited(text: str, *positions: int) -> str:
    tokens = text.split()
    for k in positions:
        tokens[k] = f"edit{k}"
    return " ".join(tokens)


def cluster_rows(page: str) -> list[tuple[str, str, str]]:
    """(first member, size, representative cell) of each row of the largest clusters table."""
    table = page[page.index('id="clusters-table"'):page.index("</table>", page.index('id="clusters-table"'))]
    return re.findall(r'<tr><td[^>]*><a[^>]*>\d+</a></td><td data-sort="([^"]*)">[^<]*</td>'
                      r'<td data-sort="(\d+)">.*?</td><td[^>]*>[^<]*</td><td[^>]*>[^<]*</td><td[^>]*>(.*?)</td></tr>',
                      table)


def test_report_command_orders_earlier_runs_clusters_as_the_run_did(tmp_path: Path) -> None:
    """Clusters whose first members come from an earlier run, named by this run's records in another order than
    the index numbers them: the rebuilt page shows the same clusters, in the same order, with the same first
    members and representatives as the page of the run."""
    bases = {f"a{g}": words(g, 120) for g in range(6)}
    first = [{"id": k, "text": t} for k, t in bases.items()]
    first.append({"id": "a0-near", "text": edited(bases["a0"], 40)})  # a0's cluster has two earlier members
    # Copies in reverse order; c0 is nearest to a0-near, a duplicate of a0: c0 joins a0's cluster, and names a0
    # (the kept copy) when near enough to it, else it is kept.
    second = [{"id": f"c{g}", "text": edited(bases[f"a{g}"], 80)} for g in range(5, 0, -1)]
    second.append({"id": "c0", "text": edited(bases["a0"], 40, 80)})
    index = tmp_path / "idx"
    assert dedupe("scan", str(write_jsonl(tmp_path / "first.jsonl", first)), "--index", str(index)).returncode == 0
    res = dedupe("scan", str(write_jsonl(tmp_path / "second.jsonl", second)), "--index", str(index),
                 "--report", str(tmp_path / "run.json"), "--report", str(tmp_path / "run.html"))
    assert res.returncode == 0, res.stderr
    out = [orjson.loads(line) for line in res.stdout.splitlines()]
    assert out[-1]["dedupe"]["cluster"] == "a0" and out[-1]["dedupe"]["duplicate_of"] in ("a0", None)
    (tmp_path / "out.jsonl").write_bytes(res.stdout)
    again = dedupe("report", str(tmp_path / "out.jsonl"), "--run-report", str(tmp_path / "run.json"),
                   "-o", str(tmp_path / "page.html"))
    assert again.returncode == 0, again.stderr
    run_page = (tmp_path / "run.html").read_text()
    page = (tmp_path / "page.html").read_text()
    rows = cluster_rows(run_page)
    assert [(first_id, size) for first_id, size, _ in rows] == [("a0", "3")] + [(f"a{g}", "2") for g in range(1, 6)]
    # the representative's text is a later member's: the table says whose, and that the first is an earlier run's
    assert all(f"{first_id}: earlier run</em>" in cell for first_id, _, cell in rows)
    assert "c0: " in rows[0][2]
    assert cluster_rows(page) == rows
    assert body_of(page) == body_of(run_page)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 11), min_size=3, max_size=9), min_size=2, max_size=25),
       st.sampled_from([0.3, 0.5, 0.7]))
def test_clusters_from_annotations_equal_the_detectors_on_random_corpora(docs: list[list[int]], threshold: float) -> None:
    """Small vocabularies and low thresholds make chains and bridges: records that join two clusters after their
    members were written with other labels. The annotations alone give clusters as written (each inside a final
    one); with the run report's clusters joined, the final clusters."""
    from dedupe.config import LSHConfig, ShingleConfig

    config = DedupeConfig(shingle=ShingleConfig(unit="word", ngram=1), lsh=LSHConfig(threshold=threshold))
    rows = [{"id": f"d{k}", "text": " ".join(f"w{x}" for x in doc)} for k, doc in enumerate(docs)]
    dd, results, ex = run(rows, config)
    ac = AnnotationClusters()
    for r in results:
        ac.add(r)
    final = [c["members"] for c in dd.clusters()]
    groups, _ = ac.groups()
    for _, members in groups:
        assert any({ac.id_of(m) for m in members} <= set(f) for f in final)
    for f in final:
        ac.join(f)
    groups, _ = ac.groups()
    assert [[ac.id_of(m) for m in members] for _, members in groups] == final
    ex.close()


def test_report_command_reads_stdin_and_names_a_missing_run_report(tmp_path: Path) -> None:
    res = dedupe("scan", str(SEEDS))
    assert res.returncode == 0
    piped = dedupe("report", "-", "-o", str(tmp_path / "r.html"), stdin=res.stdout)
    assert piped.returncode == 0, piped.stderr
    assert counts_shown((tmp_path / "r.html").read_text())["kept"] == "2"
    missing = dedupe("report", "-", "--run-report", str(tmp_path / "nope.json"), "-o", str(tmp_path / "x.html"),
                     stdin=res.stdout)
    assert missing.returncode == 3 and b"cannot read the run report" in missing.stderr
    assert b"Traceback" not in missing.stderr and not (tmp_path / "x.html").exists()
