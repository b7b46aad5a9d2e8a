"""The incremental index (--index DIR): persistence, checkpoints, interruption and resume, damage detection."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import generate_corpus
from dedupe.config import DedupeConfig, LSHConfig
from dedupe.core.matcher import Deduplicator
from dedupe.index.snapshot import export_arrays, restore_arrays
from dedupe.io.records import Record, read_records
from dedupe.index.errors import IndexCorrupt, IndexMismatch
from dedupe.index.segments import read_segment
from dedupe.index.store import MANIFEST, Checkpointer, IndexStore


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def _write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def _decisions(results) -> list[tuple]:
    return [(r.record.id, r.match.cluster, r.match.duplicate_of, r.match.similarity) for r in results]


def _split_runs(records: list[Record], cuts: list[int], path: Path, config: DedupeConfig | None = None) -> list[tuple]:
    """Decide ``records`` in several runs cut at ``cuts``, each loading the index the one before saved."""
    out: list[tuple] = []
    bounds = [0, *cuts, len(records)]
    for a, b in zip(bounds, bounds[1:]):
        dedup = Deduplicator(config)
        index = Checkpointer.open(str(path), dedup)
        out += _decisions(dedup.run(records[a:b]))
        index.save({"complete": True})
    return out


# --------------------------------------------------------------------------- library


def test_runs_split_over_an_index_decide_exactly_as_one_run(corpus, tmp_path):
    records = [r for r in read_records([str(corpus.path)]) if isinstance(r, Record)]
    whole = _decisions(Deduplicator().run(records))
    assert sum(1 for d in whole if d[2] is not None) >= 100  # the planted copies are found
    assert _split_runs(records, [37, 150, 151], tmp_path / "idx") == whole


def test_a_record_joining_two_clusters_of_earlier_runs_merges_them_after_reload(tmp_path):
    words = [f"w{k}" for k in range(60)]
    left, right = " ".join(words[:40]), " ".join(words[20:])
    both = " ".join(words)  # shares most 5-grams with each half at threshold 0.5
    config = DedupeConfig(lsh=LSHConfig(threshold=0.5))
    records = [Record("L", left), Record("L2", left + " x"), Record("R", right), Record("B", both),
               Record("L3", left)]
    whole = Deduplicator(config)
    expected = _decisions(whole.run(records))
    assert _split_runs(records, [3, 4], tmp_path / "idx", config) == expected
    # The clusters reloaded from the index are the ones a single run has.
    dedup = Deduplicator(config)
    Checkpointer.open(str(tmp_path / "idx"), dedup)
    assert dedup.docs.clusters.groups() == whole.docs.clusters.groups()


def test_export_then_restore_keeps_ids_labels_and_stored_hashes(clean_corpus):
    records = [r for r in read_records([str(clean_corpus.path)]) if isinstance(r, Record)]
    dedup = Deduplicator()
    list(dedup.run(records))
    copy = Deduplicator()
    restore_arrays(copy, [export_arrays(dedup, 0, all_links=True)])
    assert copy.docs.ids == dedup.docs.ids
    assert list(copy.docs.labels) == list(dedup.docs.labels)
    stored = 0
    for position in range(len(dedup)):
        try:
            original = dedup.docs.stored.get(position)
        except KeyError:  # an empty text: nothing stored
            continue
        assert np.array_equal(copy.docs.stored.get(position), original)
        stored += 1
    assert stored > len(dedup) // 2
    assert copy.docs.clusters.groups() == dedup.docs.clusters.groups()
    assert copy.base == len(dedup)


def test_unicode_and_repeated_ids_survive_the_index(tmp_path):
    records = [Record("é🙂\u0000x", "alpha beta gamma delta epsilon zeta"), Record("same", "one two three four five six"),
               Record("same", "one two three four five six")]
    decided = _split_runs(records, [1, 2], tmp_path / "idx")
    assert decided[2][2] == "same"  # a repeated id with the same text is its duplicate
    dedup = Deduplicator()
    Checkpointer.open(str(tmp_path / "idx"), dedup)
    assert dedup.docs.ids == ["é🙂\u0000x", "same", "same"]


# --------------------------------------------------------------------------- store: damage is detected


@pytest.fixture
def saved_index(clean_corpus, tmp_path) -> Path:
    records = [r for r in read_records([str(clean_corpus.path)]) if isinstance(r, Record)]
    path = tmp_path / "idx"
    _split_runs(records, [40], path)
    return path


def _segment_files(path: Path) -> list[Path]:
    return sorted(path.glob("seg-*.dseg"))


def _open(path: Path) -> Deduplicator:
    dedup = Deduplicator()
    Checkpointer.open(str(path), dedup)
    return dedup


def test_a_flipped_byte_in_a_segment_fails_its_checksum(saved_index):
    seg = _segment_files(saved_index)[0]
    data = bytearray(seg.read_bytes())
    data[len(data) // 2] ^= 0x01
    seg.write_bytes(bytes(data))
    with pytest.raises(IndexCorrupt, match="checksum"):
        _open(saved_index)


def test_a_truncated_segment_is_reported_with_both_sizes(saved_index):
    seg = _segment_files(saved_index)[-1]
    size = seg.stat().st_size
    with open(seg, "r+b") as f:
        f.truncate(size - 100)
    with pytest.raises(IndexCorrupt, match=f"{size - 100:,} bytes, the manifest says {size:,}"):
        _open(saved_index)


def test_a_missing_segment_is_reported(saved_index):
    _segment_files(saved_index)[0].unlink()
    with pytest.raises(IndexCorrupt, match="cannot read index segment"):
        _open(saved_index)


@pytest.mark.parametrize("damage", ["truncate", "edit", "garbage"])
def test_a_damaged_manifest_is_reported_not_replaced(saved_index, damage):
    manifest = saved_index / MANIFEST
    raw = manifest.read_bytes()
    if damage == "truncate":
        manifest.write_bytes(raw[: len(raw) // 2])
    elif damage == "edit":
        manifest.write_bytes(raw.replace(b'"documents": ', b'"documents": 1', 1))
    else:
        manifest.write_bytes(b"\x00\xff" * 10)
    damaged = manifest.read_bytes()
    with pytest.raises(IndexCorrupt, match="manifest"):
        _open(saved_index)
    assert manifest.read_bytes() == damaged  # left as found, for inspection
    assert _segment_files(saved_index)  # nothing removed


def test_a_directory_with_files_but_no_manifest_is_not_taken_for_an_empty_index(tmp_path):
    path = tmp_path / "idx"
    path.mkdir()
    (path / "notes.txt").write_text("mine")
    with pytest.raises(IndexCorrupt, match="no MANIFEST.json"):
        _open(path)
    assert (path / "notes.txt").read_text() == "mine"


def test_a_plain_file_is_not_an_index(tmp_path):
    path = tmp_path / "idx"
    path.write_text("hello")
    with pytest.raises(IndexCorrupt, match="not a dedupe index"):
        _open(path)


def _rewrite_manifest(path: Path, change) -> None:
    """Edit the manifest and re-seal it with a valid checksum (what a crafted file would do)."""
    import orjson
    import xxhash

    manifest = json.loads((path / MANIFEST).read_text())
    manifest.pop("checksum")
    change(manifest)
    manifest["checksum"] = xxhash.xxh3_128_hexdigest(orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS))
    (path / MANIFEST).write_text(json.dumps(manifest))


def test_a_manifest_naming_a_file_outside_the_index_is_refused(saved_index):
    def escape(m):
        m["segments"][0]["file"] = "../../etc/passwd"

    _rewrite_manifest(saved_index, escape)
    with pytest.raises(IndexCorrupt, match="invalid segment file"):
        _open(saved_index)


def test_an_index_of_another_format_version_is_refused(saved_index):
    _rewrite_manifest(saved_index, lambda m: m.update(version=99))
    with pytest.raises(IndexCorrupt, match=r"version 99 is not supported \(this dedupe reads versions 1, 2\)"):
        _open(saved_index)


def _sets_only(path: Path) -> Deduplicator:
    """Make ``path`` a version 1 index: every document's stored shingle hashes as their sorted set."""
    dedup = _open(path)
    docs = dedup.docs
    values, offsets = docs.stored.export(0, len(docs))
    sets = [np.unique(values[a:b]) for a, b in zip(offsets[:-1], offsets[1:])]
    assert any(s.tolist() != values[a:b].tolist() for s, a, b in zip(sets, offsets[:-1], offsets[1:]))  # multisets
    docs.stored = type(docs.stored)(docs.stored.dtype)
    docs.stored.extend(np.concatenate(sets), np.concatenate(([0], np.cumsum([len(s) for s in sets]))))
    return dedup


def test_a_version_1_index_of_sets_decides_as_its_version_2_form_and_is_upgraded_on_save(saved_index, clean_corpus):
    from dedupe.index.store import VERSION

    records = [r for r in read_records([str(clean_corpus.path)]) if isinstance(r, Record)]
    later = records[40:]
    multisets = [r.match for r in _open(saved_index).run(later, workers=1)]
    # The same documents with their stored hashes as sets (what version 1 wrote), under a version 1 manifest.
    dedup = _sets_only(saved_index)
    assert [r.match for r in dedup.run(later, workers=1)] == multisets
    _rewrite_manifest(saved_index, lambda m: m.update(version=1))
    dedup = Deduplicator()
    index = Checkpointer.open(str(saved_index), dedup)
    assert [r.match for r in dedup.run(later, workers=1)] == multisets
    index.save({"complete": True})
    index.close()
    assert json.loads((saved_index / MANIFEST).read_text())["version"] == VERSION == 2


def _craft_segment(path: Path, header: dict, payload: bytes) -> tuple[int, str]:
    import orjson
    import xxhash

    raw = orjson.dumps(header)
    data = b"DDUPSEG1" + len(raw).to_bytes(8, "little") + raw
    data += b"\0" * (-len(data) % 64) + payload
    path.write_bytes(data)
    return len(data), xxhash.xxh3_128_hexdigest(data)


@pytest.mark.parametrize("entry, problem", [
    ({"name": "ids", "dtype": "|O", "shape": [1], "offset": 0, "nbytes": 8}, "bad array entry"),  # objects: pickle
    ({"name": "ids", "dtype": "<u8", "shape": [10**12], "offset": 0, "nbytes": 8 * 10**12}, "does not fit"),
    ({"name": "ids", "dtype": "<u8", "shape": [2], "offset": 0, "nbytes": 8}, "does not fit"),
    ({"name": "ids", "dtype": "<u8", "shape": [-1], "offset": 0, "nbytes": -8}, "does not fit"),
])
def test_a_crafted_segment_is_refused_before_anything_is_allocated_or_run(tmp_path, entry, problem):
    seg = tmp_path / "seg-000001.dseg"
    size, checksum = _craft_segment(seg, {"arrays": [entry]}, b"\0" * 64)
    with pytest.raises(IndexCorrupt, match=problem):
        read_segment(str(seg), size, checksum)


def test_segments_with_inconsistent_arrays_are_reported_as_corrupt(saved_index):
    store = IndexStore.open(str(saved_index), DedupeConfig().index_parameters())
    segments = store.load()
    segments[0]["band_positions"][0] = 10**9  # beyond the documents
    with pytest.raises(ValueError, match="inconsistent"):
        restore_arrays(Deduplicator(), segments)


def test_the_segment_format_reads_no_pickle():
    source = (Path(__file__).resolve().parents[1] / "dedupe" / "index" / "store.py").read_text()
    assert "pickle" not in source.replace("no pickle", "")
    assert "allow_pickle" not in source and "np.load" not in source


# --------------------------------------------------------------------------- parameters


def test_an_index_refuses_a_run_with_incomparable_parameters(saved_index):
    with pytest.raises(IndexMismatch, match=r"num_perm=128 \(this run: 64\)"):
        Checkpointer.open(str(saved_index), Deduplicator(DedupeConfig(minhash=__import__("dedupe").MinHashConfig(num_perm=64))))


def test_an_index_of_words_hashed_with_xxh3_is_refused_and_the_message_says_to_build_a_new_one(saved_index, clean_corpus, cli):
    _rewrite_manifest(saved_index, lambda m: m["parameters"].update(hash="xxh3_64"))  # as saved before fmix64 words
    with pytest.raises(IndexMismatch, match=r'hash="xxh3_64" \(this run: "fmix64-words"\).*build a new index'):
        Checkpointer.open(str(saved_index), Deduplicator())
    result = cli(["scan", clean_corpus.path, "--index", saved_index])
    assert result.exit_code != 0 and "Traceback" not in result.stderr
    assert "no option makes it comparable" in result.stderr


def test_a_passage_index_whose_words_were_hashed_with_xxh3_is_refused(clean_corpus, cli, tmp_path):
    # Passage word windows hash words with the document kernel; an index saved before says no word_hash.
    path = tmp_path / "pidx"
    assert cli(["scan", clean_corpus.path, "--passages", "--index", str(path)]).exit_code == 0
    _rewrite_manifest(path, lambda m: m["parameters"]["passages"].pop("word_hash"))
    result = cli(["scan", clean_corpus.path, "--passages", "--index", str(path)])
    assert result.exit_code != 0 and "Traceback" not in result.stderr
    assert "no option makes it comparable" in result.stderr
    # Without --passages the difference is the passages themselves, not a hash: no such note.
    result = cli(["scan", clean_corpus.path, "--index", str(path)])
    assert result.exit_code != 0 and "no option makes it comparable" not in result.stderr


def test_a_passage_index_decided_by_earlier_rules_is_refused(clean_corpus, cli, tmp_path):
    # An index saved before the pair rules (names, plain words, numbers both ways) has no "rules" and no names.
    path = tmp_path / "pidx"
    assert cli(["scan", clean_corpus.path, "--passages", "--index", str(path)]).exit_code == 0
    _rewrite_manifest(path, lambda m: (m["parameters"]["passages"].pop("rules"), m["parameters"]["passages"].pop("names")))
    for extra in ([], ["--no-passage-names"]):
        result = cli(["scan", clean_corpus.path, "--passages", "--index", str(path), *extra])
        assert result.exit_code != 0 and "Traceback" not in result.stderr
        assert "decided by the rules of an earlier dedupe" in result.stderr and "build a new index" in result.stderr
    assert cli(["scan", clean_corpus.path, "--passages", "--index", str(tmp_path / "new")]).exit_code == 0


def test_an_index_saved_before_words_were_cut_by_script_is_refused(saved_index, clean_corpus, cli, tmp_path):
    # Saved before every Han, kana, Thai... character was a word of its own: no "words" parameter.
    _rewrite_manifest(saved_index, lambda m: m["parameters"].pop("words"))
    with pytest.raises(IndexMismatch, match=r'words="spaces" \(this run: "by-script"\).*build a new index'):
        Checkpointer.open(str(saved_index), Deduplicator())
    result = cli(["scan", clean_corpus.path, "--index", saved_index])
    assert result.exit_code != 0 and "Traceback" not in result.stderr
    assert "Chinese, Japanese, Thai" in result.stderr and "no option makes it comparable" in result.stderr
    path = tmp_path / "pidx"  # the passages' words too
    assert cli(["scan", clean_corpus.path, "--passages", "--index", str(path)]).exit_code == 0
    _rewrite_manifest(path, lambda m: m["parameters"]["passages"].pop("words"))
    result = cli(["scan", clean_corpus.path, "--passages", "--index", str(path)])
    assert result.exit_code != 0 and "Chinese, Japanese, Thai" in result.stderr


def test_another_threshold_with_the_same_bands_and_rows_is_accepted(saved_index):
    b, r = DedupeConfig().bands_rows
    Checkpointer.open(str(saved_index), Deduplicator(DedupeConfig(lsh=LSHConfig(threshold=0.6, bands=b, rows=r))))


# --------------------------------------------------------------------------- CLI


def test_second_run_marks_duplicates_of_the_first_runs_documents(cli, corpus, tmp_path):
    lines = [line for line in corpus.lines if line.strip()]
    first, second = _write(tmp_path / "a.jsonl", lines[:150]), _write(tmp_path / "b.jsonl", lines[150:])
    both = _write(tmp_path / "ab.jsonl", lines)
    index, rejects = tmp_path / "idx", tmp_path / "rejects.jsonl"
    one = cli(["scan", both, "--rejects", rejects])
    run1 = cli(["scan", first, "--index", index, "--rejects", rejects])
    run2 = cli(["scan", second, "--index", index, "--rejects", rejects, "--report", tmp_path / "r.json"])
    assert one.exit_code == run1.exit_code == run2.exit_code == 0, run2.stderr
    assert run1.stdout_bytes + run2.stdout_bytes == one.stdout_bytes
    ids_first = {json.loads(line)["id"] for line in run1.stdout_bytes.splitlines()}
    across = [json.loads(line) for line in run2.stdout_bytes.splitlines()]
    across = [r for r in across if r["dedupe"]["duplicate_of"] in ids_first]
    assert across  # copies whose source was in the first run are found, naming it
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["index"]["documents_before"] == len(run1.stdout_bytes.splitlines())
    assert report["index"]["documents_after"] == len(one.stdout_bytes.splitlines())
    assert "index " in run2.stderr and "documents" in run2.stderr


def test_filter_with_an_index_keeps_only_documents_new_to_every_run(cli, clean_corpus, tmp_path):
    lines = clean_corpus.lines
    a, b = _write(tmp_path / "a.jsonl", lines[:50]), _write(tmp_path / "b.jsonl", lines[50:])
    both = _write(tmp_path / "ab.jsonl", lines)
    index = tmp_path / "idx"
    one = cli(["filter", both])
    runs = [cli(["filter", path, "--index", index]) for path in (a, b)]
    assert runs[0].stdout_bytes + runs[1].stdout_bytes == one.stdout_bytes


def test_the_same_file_twice_against_an_index_is_all_duplicates_of_itself(cli, clean_corpus, tmp_path):
    index = tmp_path / "idx"
    assert cli(["scan", clean_corpus.path, "--index", index]).exit_code == 0
    again = cli(["scan", clean_corpus.path, "--index", index, "--report", tmp_path / "r.json"])
    records = [json.loads(line) for line in again.stdout_bytes.splitlines()]
    texts = [r for r in records if len(r["text"].split()) >= 5]
    assert texts and all(r["dedupe"]["duplicate_of"] is not None for r in texts)
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["counts"]["repeated_ids"] == len(records)  # every id was seen in the first run


def test_incomparable_options_exit_5_naming_the_parameter(cli, clean_corpus, tmp_path):
    index = tmp_path / "idx"
    assert cli(["scan", clean_corpus.path, "--index", index]).exit_code == 0
    before = {p.name: p.read_bytes() for p in index.iterdir()}
    result = cli(["scan", clean_corpus.path, "--index", index, "--ngram", "3"])
    assert result.exit_code == 5
    assert "ngram=5 (this run: 3)" in result.stderr and "Traceback" not in result.stderr
    assert {p.name: p.read_bytes() for p in index.iterdir()} == before


def test_a_corrupt_index_exits_5_and_is_left_untouched(cli, clean_corpus, tmp_path):
    index = tmp_path / "idx"
    assert cli(["scan", clean_corpus.path, "--index", index]).exit_code == 0
    seg = _segment_files(index)[0]
    with open(seg, "r+b") as f:
        f.truncate(seg.stat().st_size - 1)
    before = {p.name: p.read_bytes() for p in index.iterdir()}
    result = cli(["scan", clean_corpus.path, "--index", index])
    assert result.exit_code == 5
    assert "truncated" in result.stderr and "Traceback" not in result.stderr
    assert {p.name: p.read_bytes() for p in index.iterdir()} == before


def test_checkpoints_append_one_segment_each(cli, tmp_path):
    corpus = generate_corpus(tmp_path / "c.jsonl", seed=12, bases=500, exact=50, edited=50, with_rejects=False)
    assert 512 < len(corpus.records) < 768  # three batches of 256
    index = tmp_path / "idx"
    options = ["--batch-size", "256", "--checkpoint-every", "50", "--report", tmp_path / "r.json"]
    result = cli(["scan", corpus.path, "--index", index, *options])
    assert result.exit_code == 0
    report = json.loads((tmp_path / "r.json").read_text())
    # Batches are the checkpoint grain: one checkpoint after each batch, then the final save, which has no new
    # document left to write (it only records the completed run in the manifest).
    assert report["index"]["checkpoints"] == 4
    assert len(_segment_files(index)) == report["index"]["segments"] == 3
    assert _open(index).docs.ids == [json.loads(line)["id"] for line in result.stdout_bytes.splitlines()]


def test_the_final_save_compacts_an_index_with_many_segments(cli, clean_corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(Checkpointer, "COMPACT_AT", 3)
    index = tmp_path / "idx"
    lines = clean_corpus.lines
    for k in range(4):
        assert cli(["scan", _write(tmp_path / f"p{k}.jsonl", lines[k * 25 : (k + 1) * 25]), "--index", index]).exit_code == 0
    assert len(_segment_files(index)) == 1  # 3 segments + 1 > COMPACT_AT: rewritten as one
    whole = cli(["scan", _write(tmp_path / "all.jsonl", lines[:100])])
    reloaded = _open(index)
    assert reloaded.docs.ids == [json.loads(line)["id"] for line in whole.stdout_bytes.splitlines()]
    again = cli(["scan", _write(tmp_path / "rest.jsonl", lines[100:]), "--index", index])
    one = cli(["scan", _write(tmp_path / "everything.jsonl", lines)])
    assert whole.stdout_bytes + again.stdout_bytes == one.stdout_bytes


def test_max_chars_bounds_the_text_matched_but_never_the_record_written(cli, tmp_path):
    head = " ".join(f"w{k}" for k in range(40))
    path = _write(tmp_path / "long.jsonl", [json.dumps({"id": "a", "text": head + " tail one two three four five"}).encode(),
                                            json.dumps({"id": "b", "text": head + " other six seven eight nine"}).encode()])
    full = cli(["scan", path, "--report", tmp_path / "r1.json"])
    cut = cli(["scan", path, "--max-chars", str(len(head)), "--report", tmp_path / "r2.json"])
    assert [json.loads(x)["dedupe"]["duplicate_of"] for x in full.stdout_bytes.splitlines()] == [None, None]
    out = [json.loads(x) for x in cut.stdout_bytes.splitlines()]
    assert [r["dedupe"]["duplicate_of"] for r in out] == [None, "a"]  # same first len(head) characters
    assert [r["text"] for r in out] == [json.loads(line)["text"] for line in _lines(path)]  # written whole
    report = json.loads((tmp_path / "r2.json").read_text())
    assert report["counts"]["truncated_for_matching"] == 2 and report["max_chars"] == len(head)
    assert "matched on their start only" in cut.stderr
    assert json.loads((tmp_path / "r1.json").read_text())["counts"]["truncated_for_matching"] == 0


@pytest.mark.parametrize("args, message", [
    (["--max-chars", "-1"], "--max-chars"),
    (["--checkpoint-every", "-5"], "--checkpoint-every"),
    (["--resume"], "--resume needs --index"),
])
def test_bad_index_options_exit_2(cli, clean_corpus, args, message):
    result = cli(["scan", clean_corpus.path, *args])
    assert result.exit_code == 2 and message in result.stderr


def test_resume_after_a_complete_run_or_with_other_inputs_exits_2(cli, clean_corpus, tmp_path):
    index = tmp_path / "idx"
    assert cli(["scan", clean_corpus.path, "--index", index]).exit_code == 0
    result = cli(["scan", clean_corpus.path, "--index", index, "--resume"])
    assert result.exit_code == 2 and "nothing to resume" in result.stderr


# --------------------------------------------------------------------------- signals, kills, full disks


def _default_sigint() -> None:
    # A test run started in the background (`cmd &`, nohup) passes SIGINT on as ignored, and dedupe keeps an
    # inherited "ignore"; these runs stand for a terminal's foreground job, where Ctrl-C is delivered.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _popen(args: list, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "dedupe", *map(str, args)], stdout=kwargs.pop("stdout", subprocess.PIPE),
                            stderr=subprocess.PIPE, preexec_fn=_default_sigint, **kwargs)


def _feed_then_signal(tmp_path: Path, data: bytes, cut: int, signum: int, extra: list) -> tuple[int, bytes, str]:
    """Feed ``data[:cut lines]`` on stdin, keep the pipe open (the run waits for input), then send ``signum``."""
    lines = data.splitlines(keepends=True)
    out_path = tmp_path / f"out-{signum}.jsonl"
    with open(out_path, "wb") as out:
        proc = _popen(["scan", "-", *extra], stdin=subprocess.PIPE, stdout=out)
        proc.stdin.write(b"".join(lines[:cut]))
        proc.stdin.flush()
        deadline = time.monotonic() + 60
        while out_path.stat().st_size == 0 and time.monotonic() < deadline:  # a batch was decided and written
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    return proc.returncode, out_path.read_bytes(), err.decode()


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_checkpoints_what_was_written_and_resume_completes_the_run(tmp_path, signum, code, run_dedupe):
    corpus = generate_corpus(tmp_path / "c.jsonl", seed=3, bases=500, exact=100, edited=100, with_rejects=False)
    data = corpus.path.read_bytes()
    index = tmp_path / "idx"
    rc, first, err = _feed_then_signal(tmp_path, data, 600, signum, ["--index", index])
    assert rc == code, err
    assert "Traceback" not in err and "--resume" in err
    written = first.splitlines()
    # What the input held when it paused was decided (as one batch or more) and written whole; the rest waits.
    assert 0 < len(written) <= 600
    manifest = json.loads((index / MANIFEST).read_text())
    assert manifest["last_run"]["complete"] is False and manifest["last_run"]["lines_done"] == len(written)
    assert manifest["documents"] == len(written)  # the index holds exactly what was written
    rest = run_dedupe(["scan", "-", "--index", index, "--resume"], stdin=data)
    assert rest.returncode == 0, rest.stderr
    whole = run_dedupe(["scan", "-"], stdin=data)
    assert first + rest.stdout == whole.stdout
    assert json.loads((index / MANIFEST).read_text())["last_run"]["complete"] is True


def test_a_signal_without_an_index_flushes_the_output_and_exits_130(tmp_path):
    corpus = generate_corpus(tmp_path / "c.jsonl", seed=4, bases=400, exact=10, edited=10, with_rejects=False)
    rc, out, err = _feed_then_signal(tmp_path, corpus.path.read_bytes(), 300, signal.SIGINT, [])
    assert rc == 130 and "Traceback" not in err
    decided = len(out.splitlines())  # complete lines only: what the paused input held, decided before it waited
    assert 0 < decided <= 300
    assert f"interrupted by SIGINT after input line {decided}" in err
    assert f"{decided} input records" in err  # the summary accounts for what was decided


def test_sigterm_with_workers_keeps_output_and_index_in_step_and_resume_completes_it(tmp_path, run_dedupe):
    import random

    from conftest import random_text, vocabulary

    rng, vocab = random.Random(21), vocabulary()
    texts = [random_text(rng, vocab, rng.randint(20, 60)) for _ in range(6000)]
    lines = [json.dumps({"id": k, "text": texts[k] if k % 7 else texts[k // 2]}).encode() for k in range(len(texts))]
    path = _write(tmp_path / "many.jsonl", lines * 3)  # 18,000 records, repeats across the copies
    index, out_path = tmp_path / "idx", tmp_path / "out.jsonl"
    with open(out_path, "wb") as out:
        proc = _popen(["scan", path, "--index", index, "-w", "2", "--checkpoint-every", "5000"], stdout=out)
        deadline = time.monotonic() + 60
        while out_path.stat().st_size == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    err = err.decode()
    assert proc.returncode == 143, err
    written = out_path.read_bytes()
    manifest = json.loads((index / MANIFEST).read_text())
    assert 0 < manifest["documents"] == len(written.splitlines()) == manifest["last_run"]["lines_done"] < 18_000
    rest = run_dedupe(["scan", path, "--index", index, "--resume", "-w", "2"], timeout=120)
    assert rest.returncode == 0, rest.stderr
    assert written + rest.stdout == run_dedupe(["scan", path], timeout=120).stdout


def test_an_inherited_ignore_of_sigint_is_kept(tmp_path):
    corpus = generate_corpus(tmp_path / "c.jsonl", seed=4, bases=400, exact=10, edited=10, with_rejects=False)
    out_path = tmp_path / "out.jsonl"
    with open(out_path, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "dedupe", "scan", "-"], stdin=subprocess.PIPE, stdout=out,
                                stderr=subprocess.PIPE,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))  # as under nohup
        proc.stdin.write(corpus.path.read_bytes())
        proc.stdin.flush()
        deadline = time.monotonic() + 60
        while out_path.stat().st_size == 0 and time.monotonic() < deadline:  # running, signals in place
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert len(out_path.read_bytes().splitlines()) == len(corpus.records)


def test_a_run_killed_at_any_moment_leaves_the_last_good_index(tmp_path, run_dedupe):
    corpus = generate_corpus(tmp_path / "c.jsonl", seed=6, bases=1500, exact=200, edited=200, with_rejects=False)
    index = tmp_path / "idx"
    for delay in (0.6, 1.0, 1.4, 1.8, 2.4):
        options = ["--checkpoint-every", "256", "--batch-size", "256"]
        proc = _popen(["scan", corpus.path, "--index", index, *options], stdout=subprocess.DEVNULL)
        time.sleep(delay)
        proc.kill()
        proc.wait()
        dedup = _open(index)  # never damaged: loads, checksums pass
        manifest = json.loads((index / MANIFEST).read_text())
        assert len(dedup) == manifest["documents"]
    resumed = run_dedupe(["scan", corpus.path, "--index", index])
    assert resumed.returncode == 0


def _limit_file_size(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    return apply


def test_a_full_disk_while_saving_keeps_the_previous_index_and_exits_5(tmp_path, run_dedupe):
    corpus = generate_corpus(tmp_path / "c.jsonl", seed=8, bases=300, exact=20, edited=20, with_rejects=False)
    index = tmp_path / "idx"
    small = _write(tmp_path / "small.jsonl", _lines(corpus.path)[:20])
    assert run_dedupe(["scan", small, "--index", index]).returncode == 0
    before = {p.name: p.read_bytes() for p in index.iterdir()}
    proc = subprocess.run([sys.executable, "-m", "dedupe", "scan", str(corpus.path), "--index", str(index)],
                          capture_output=True, preexec_fn=_limit_file_size(60_000), timeout=120)
    err = proc.stderr.decode()
    assert proc.returncode == 5, err
    assert "cannot write the index" in err and "keeps its last good checkpoint (20 documents)" in err
    assert "Traceback" not in err
    assert {p.name: p.read_bytes() for p in index.iterdir()} == before  # no stray temporary file either
    assert len(_open(index)) == 20


def test_a_closed_output_pipe_with_an_index_says_the_index_keeps_its_checkpoint(tmp_path):
    corpus = generate_corpus(tmp_path / "c.jsonl", seed=9, bases=1500, exact=10, edited=10, with_rejects=False)
    index = tmp_path / "idx"
    proc = _popen(["scan", corpus.path, "--index", index])
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    assert proc.returncode == 141, err
    assert "output closed by its reader" in err and "Traceback" not in err
    assert len(_open(index)) == 0  # nothing past the last checkpoint (none was written)


def test_a_bad_line_mid_batch_stops_with_the_index_holding_exactly_what_was_written(cli, clean_corpus, tmp_path):
    lines = list(clean_corpus.lines)
    good = lines[40]
    lines[40] = b'{"id": "broken", "text": '  # truncated line, inside the first batch
    path = _write(tmp_path / "c.jsonl", lines)
    index = tmp_path / "idx"
    first = cli(["scan", path, "--index", index])
    assert first.exit_code == 3 and f"{path}:41:" in first.stderr
    assert len(first.stdout_bytes.splitlines()) == 40
    manifest = json.loads((index / MANIFEST).read_text())
    assert manifest["documents"] == 40 and manifest["last_run"]["lines_done"] == 40  # not the records after it
    lines[40] = good  # the line is mended; the run goes on from it
    _write(path, lines)
    rest = cli(["scan", path, "--index", index, "--resume"])
    assert rest.exit_code == 0, rest.stderr
    assert first.stdout_bytes + rest.stdout_bytes == cli(["scan", path]).stdout_bytes


def test_an_empty_run_adds_no_segment(cli, tmp_path):
    empty = _write(tmp_path / "empty.jsonl", [])
    assert cli(["scan", empty, "--index", tmp_path / "idx"]).exit_code == 0
    assert _segment_files(tmp_path / "idx") == [] and len(_open(tmp_path / "idx")) == 0


def test_an_index_that_cannot_be_created_exits_5(cli, clean_corpus, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = cli(["scan", clean_corpus.path, "--index", blocker / "idx"])
    assert result.exit_code == 5 and "cannot create the index directory" in result.stderr


def _passage_corpus(path: Path, docs: int = 90, seed: int = 31) -> Path:
    """Documents built from a shared pool of sentences (exact repeats), some retyped (near repeats)."""
    import random

    from conftest import random_text, vocabulary

    rng, vocab = random.Random(seed), vocabulary()
    pool = [random_text(rng, vocab, rng.randint(8, 16)).capitalize() + "." for _ in range(60)]
    lines = []
    for k in range(docs):
        sentences = [rng.choice(pool) for _ in range(rng.randint(3, 7))]
        if k % 5 == 0:
            sentences[0] = sentences[0].replace(" ", "  ", 1)[:-4] + "zzz."
        lines.append(json.dumps({"id": f"d{k}", "text": " ".join(sentences)}).encode())
    return _write(path, lines)


@pytest.mark.parametrize("mode", ["scan", "filter"])
def test_passages_split_over_an_index_match_as_in_one_run(cli, tmp_path, mode):
    path = _passage_corpus(tmp_path / "p.jsonl")
    lines = _lines(path)
    parts = [_write(tmp_path / f"p{k}.jsonl", lines[a:b]) for k, (a, b) in enumerate([(0, 25), (25, 26), (26, 90)])]
    one = cli([mode, "--passages", path, "--report", tmp_path / "one.json"])
    runs = [cli([mode, "--passages", part, "--index", tmp_path / "idx", "--checkpoint-every", "7",
                 "--report", tmp_path / f"r{k}.json"]) for k, part in enumerate(parts)]
    assert all(r.exit_code == 0 for r in runs), runs[-1].stderr
    assert b"".join(r.stdout_bytes for r in runs) == one.stdout_bytes
    found = [json.loads(line) for line in runs[2].stdout_bytes.splitlines()]
    if mode == "scan":  # the last run finds repeats of passages first seen in the first run
        firsts = {json.loads(line)["id"] for line in runs[0].stdout_bytes.splitlines()}
        assert any(p["match"]["id"] in firsts for r in found for p in r["dedupe"].get("passages") or [])
    top = json.loads((tmp_path / "one.json").read_text())["passages"]["top"]
    assert top and json.loads((tmp_path / "r2.json").read_text())["passages"]["top"] == top


def test_an_index_built_without_passages_refuses_a_run_with_them(cli, clean_corpus, tmp_path):
    index = tmp_path / "idx"
    assert cli(["scan", clean_corpus.path, "--index", index]).exit_code == 0
    result = cli(["scan", "--passages", clean_corpus.path, "--index", index])
    assert result.exit_code == 5 and "passages=null (this run: {" in result.stderr


@pytest.mark.parametrize("name", ["pm_text_offsets", "pm_shingle_offsets", "pm_doc_offsets", "id_offsets", "stored_offsets"])
def test_inconsistent_offsets_in_a_segment_are_refused(tmp_path, name):
    path = _passage_corpus(tmp_path / "p.jsonl", docs=30)
    config = DedupeConfig(passages=__import__("dedupe").PassageConfig())
    records = [r for r in read_records([str(path)]) if isinstance(r, Record)]
    dedup = Deduplicator(config)
    list(dedup.run(records))
    seg = export_arrays(dedup, 0, all_links=True)
    assert len(seg[name]) > 1
    seg[name] = seg[name].copy()
    seg[name][-1] += 1  # points past the data
    with pytest.raises(ValueError, match="inconsistent"):
        restore_arrays(Deduplicator(config), [seg])
