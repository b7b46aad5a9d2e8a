"""dedupe.explain and `dedupe explain`: one decision explained, by the code scan decides with."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import numpy as np
import pytest

import dedupe.explain as explain_module
from dedupe import (
    DedupeConfig,
    Deduplicator,
    LSHConfig,
    MinHashConfig,
    PassageConfig,
    Record,
    ShingleConfig,
    VerifyConfig,
    deduplicate,
    jaccard,
    normalize,
    shingle_hashes,
    text_shingles,
)
from dedupe.config import ConfigError
from dedupe.core.keep import KeepPolicy
from dedupe.explain import Document, Explanation, candidate_probability, explain, find_records, render

from conftest import ARTICLE_A, ARTICLE_B, edit_text, random_text, substitute_words, vocabulary

SEED_A = Path(__file__).resolve().parent.parent / "seeds" / f"{ARTICLE_A}.txt"
SEED_B = Path(__file__).resolve().parent.parent / "seeds" / f"{ARTICLE_B}.txt"
JSON_KEYS = {"documents", "shingles", "jaccard", "minhash_estimate", "standard_error", "num_perm", "bands", "rows",
             "colliding_bands", "candidate_probability", "candidate", "verify", "similarity", "threshold",
             "duplicate", "reason", "passages", "keep", "in_run"}


def pipeline_decision(a: str, b: str, config: DedupeConfig | None = None, max_chars: int | None = None):
    """What scan decides for B after A: B's Result from the pipeline."""
    results = list(Deduplicator(config, max_chars=max_chars).run([Record("a", a), Record("b", b)]))
    return results[1]


def check_shingle_examples(e: Explanation, a: str, b: str, config: DedupeConfig) -> None:
    """Every displayed shingle hashes (by shingles.py) to its own hash, which is in the set it is shown for."""
    ha = shingle_hashes(normalize(a[: e.documents[0].characters_used]), config.shingle)
    hb = shingle_hashes(normalize(b[: e.documents[1].characters_used]), config.shingle)
    groups = ((e.shared_examples, lambda h: h in ha and h in hb), (e.only_a_examples, lambda h: h in ha and h not in hb),
              (e.only_b_examples, lambda h: h in hb and h not in ha))
    for examples, belongs in groups:
        assert len({s.hash for s in examples}) == len(examples)  # distinct
        for s in examples:
            assert shingle_hashes(s.text, config.shingle).tolist() == [s.hash], s.text
            assert belongs(np.uint64(s.hash)), s.text


# --------------------------------------------------------------------------- decisions on the seeds and planted pairs


def test_the_two_seed_articles_are_explained_as_not_duplicates(articles):
    a, b = articles[ARTICLE_A], articles[ARTICLE_B]
    e = explain(Document(ARTICLE_A, a), Document(ARTICLE_B, b))
    assert not e.duplicate and not e.candidate and e.colliding_bands == []
    assert e.jaccard == jaccard(text_shingles(a), text_shingles(b))
    assert e.shared == 20 and e.documents[0].shingles == 554 and e.documents[1].shingles == 461
    assert e.shared + e.only_a == len(text_shingles(a)) and e.shared + e.only_b == len(text_shingles(b))
    assert (e.bands, e.rows) == (16, 8)
    assert e.reason.startswith("not a candidate: no band collides")
    assert "< threshold 0.8 anyway" in e.reason
    check_shingle_examples(e, a, b, DedupeConfig())
    assert pipeline_decision(a, b).match.duplicate_of is None


def test_a_planted_near_duplicate_is_explained_as_a_duplicate_with_colliding_bands(articles):
    a = articles[ARTICLE_A]
    b = substitute_words(a, 5)
    e = explain(Document("a", a), Document("b", b))
    assert e.duplicate and e.candidate and e.colliding_bands
    assert 0.8 <= e.jaccard < 1.0
    assert e.reason == (f"duplicate: candidate ({len(e.colliding_bands)} of 16 bands collide) and exact Jaccard "
                        f"{e.jaccard:.4f} >= threshold 0.8")
    assert all("zqxsub" in s.text for s in e.only_b_examples)  # B's own shingles hold the substituted words
    assert not any("zqxsub" in s.text for s in e.shared_examples + e.only_a_examples)
    assert pipeline_decision(a, b).match.similarity == round(e.jaccard, 6)
    check_shingle_examples(e, a, b, DedupeConfig())


def test_an_unrelated_pair_shares_no_shingle_and_no_band():
    rng, vocab = random.Random(3), vocabulary()
    a, b = random_text(rng, vocab, 200), random_text(rng, vocab, 200)
    e = explain(Document("a", a), Document("b", b))
    assert e.shared == 0 and e.jaccard == 0.0 and e.shared_examples == []
    assert not e.candidate and not e.duplicate and e.colliding_bands == []
    assert e.candidate_probability == 0.0 and e.standard_error == 0.0
    assert len(e.only_a_examples) == len(e.only_b_examples) == explain_module.ONLY_EXAMPLES


def test_a_similar_pair_below_the_threshold_is_a_candidate_but_not_a_duplicate():
    rng, vocab = random.Random(5), vocabulary()
    a = random_text(rng, vocab, 300)
    b = edit_text(rng, a, 12, "low")  # about 60 of 296 shingles change: J ~ 0.66
    config = DedupeConfig(lsh=LSHConfig(bands=64, rows=2))  # short bands: such a pair always collides
    e = explain(Document("a", a), Document("b", b), config)
    assert 0.5 < e.jaccard < 0.8
    assert e.candidate and not e.duplicate and len(e.colliding_bands) > 10
    assert e.reason == f"candidate but exact Jaccard {e.jaccard:.4f} < threshold 0.8"
    assert pipeline_decision(a, b, config).match.duplicate_of is None


def test_a_similarity_just_below_the_threshold_never_reads_as_equal_to_it():
    words = [f"w{i}" for i in range(60)]
    a, b = " ".join(words), " ".join(words[:-1] + ["changed"])  # J = 55/57 = 0.964912...
    config = DedupeConfig(lsh=LSHConfig(threshold=0.96492, bands=64, rows=2))
    e = explain(Document("a", a), Document("b", b), config)
    assert e.jaccard == 55 / 57 and e.candidate and not e.duplicate
    assert e.reason == "candidate but exact Jaccard 0.96491 < threshold 0.96492"


def test_a_pair_above_the_threshold_that_no_band_catches_is_called_an_lsh_miss():
    rng, vocab = random.Random(8), vocabulary()
    a = random_text(rng, vocab, 300)
    b = edit_text(rng, a, 6, "miss")
    config = DedupeConfig(lsh=LSHConfig(threshold=0.5, bands=2, rows=64))  # P(candidate) ~ 1e-10 at J ~ 0.8
    e = explain(Document("a", a), Document("b", b), config)
    assert e.jaccard >= 0.5 and not e.candidate and not e.duplicate and e.colliding_bands == []
    assert e.candidate_probability == pytest.approx(candidate_probability(e.jaccard, 2, 64)) and e.candidate_probability < 1e-4
    assert "LSH misses this pair although exact Jaccard" in e.reason
    assert pipeline_decision(a, b, config).match.duplicate_of is None


def test_with_verify_estimate_the_estimate_decides(articles):
    a = articles[ARTICLE_A]
    b = substitute_words(a, 5)
    config = DedupeConfig(verify=VerifyConfig(mode="estimate"))
    e = explain(Document("a", a), Document("b", b), config)
    assert e.similarity == e.minhash_estimate and e.verify == "estimate"
    assert "MinHash estimate" in e.reason
    assert pipeline_decision(a, b, config).match.similarity == (round(e.similarity, 6) if e.duplicate else None)


def test_char_shingles_are_shown_as_character_ngrams_of_the_normalized_text():
    a = "The Quick brown fox, jumps over the lazy dog!"
    b = "The quick brown cat jumps over the lazy dog"
    config = DedupeConfig(shingle=ShingleConfig(unit="char", ngram=4), lsh=LSHConfig(threshold=0.5))
    e = explain(Document("a", a), Document("b", b), config)
    assert (e.unit, e.ngram) == ("char", 4)
    assert [s.text for s in e.shared_examples] == ["the ", "he q", "e qu", " qui", "quic"]  # B's text order
    assert all(len(s.text) == 4 for s in e.shared_examples + e.only_a_examples + e.only_b_examples)
    assert [s.text for s in e.only_b_examples] == ["wn c", "n ca", " cat"]
    assert e.jaccard == jaccard(text_shingles(a, config.shingle), text_shingles(b, config.shingle))
    check_shingle_examples(e, a, b, config)
    assert e.duplicate == (pipeline_decision(a, b, config).match.duplicate_of is not None)


@pytest.mark.parametrize("unit, ngram", [("word", 1), ("word", 3), ("word", 5), ("word", 9), ("char", 1), ("char", 5)])
def test_every_shingle_can_be_shown_and_each_shown_hash_is_in_its_set(monkeypatch, articles, unit, ngram):
    # With no limit on examples, the displayed shingles are exactly the sets: the text windows re-derived
    # from the normalized text hash to the pipeline's shingle hashes, one for one.
    for name in ("SHARED_EXAMPLES", "ONLY_EXAMPLES"):
        monkeypatch.setattr(explain_module, name, 10**9)
    a = articles[ARTICLE_A]
    b = substitute_words(a, 9) + " Ünïcode ＦＵＬＬ-width Straße text"
    config = DedupeConfig(shingle=ShingleConfig(unit=unit, ngram=ngram))  # type: ignore[arg-type]
    e = explain(Document("a", a), Document("b", b), config)
    assert (len(e.shared_examples), len(e.only_a_examples), len(e.only_b_examples)) == (e.shared, e.only_a, e.only_b)
    check_shingle_examples(e, a, b, config)
    pad = " " if unit == "word" else ""  # a word n-gram starts and ends at word boundaries
    positions = [(pad + normalize(b) + pad).find(pad + s.text + pad) for s in e.shared_examples[:50]]
    assert positions == sorted(positions) and -1 not in positions  # first occurrences in B's text order


def test_a_text_shorter_than_n_units_is_one_shingle_of_all_its_words():
    e = explain(Document("a", "Hello, big world"), Document("b", "hello BIG world!"))
    assert [s.text for s in e.shared_examples] == ["hello big world"] and e.documents[0].shingles == 1
    assert e.duplicate and e.jaccard == 1.0


@pytest.mark.parametrize("a, b", [("", "some words here and there"), ("some words here and there", ""),
                                  ("!!! ... ???", "!!! ... ???"), ("", "")])
def test_empty_texts_never_match_as_in_the_pipeline(a, b):
    e = explain(Document("a", a), Document("b", b))
    assert not e.duplicate and not e.candidate and e.colliding_bands == []
    assert "no shingles" in e.reason and "nothing to compare" in e.reason and "never matches" in e.reason
    assert "not consulted" in render(e)
    assert pipeline_decision(a, b).match.duplicate_of is None


@pytest.mark.parametrize("verify", ["exact", "estimate"])
@pytest.mark.parametrize("a, b", [("", ""), ("!!! ... ???", ""), ("", "some words here and there")])
def test_a_document_without_shingles_has_no_similarity_by_either_measure(a, b, verify):
    # Two empty signatures are equal value for value; that is no evidence of similarity, and scan never compares
    # such a document, so the estimate must not read 1 next to a Jaccard of 0.
    config = DedupeConfig(verify=VerifyConfig(mode=verify))  # type: ignore[arg-type]
    e = explain(Document("a", a), Document("b", b), config)
    assert e.jaccard == e.minhash_estimate == e.similarity == e.standard_error == 0.0
    assert not e.duplicate
    assert pipeline_decision(a, b, config).match.similarity is None  # scan computed no similarity either
    text = render(e)
    assert "Similarity: nothing to compare (" in text
    assert "MinHash estimate  0 " in text and "not computed" in text
    assert "MinHash estimate  1" not in text


def test_max_chars_cuts_both_texts_before_matching_as_scan_does():
    rng, vocab = random.Random(2), vocabulary()
    head = random_text(rng, vocab, 200)
    a, b = head + " " + random_text(rng, vocab, 300), head + " " + random_text(rng, vocab, 300)
    limit = len(head)
    assert not explain(Document("a", a), Document("b", b)).duplicate
    e = explain(Document("a", a), Document("b", b), max_chars=limit)
    assert e.duplicate and e.jaccard == 1.0
    assert [d.characters_used for d in e.documents] == [limit, limit]
    assert [d.characters for d in e.documents] == [len(a), len(b)]
    assert "--max-chars" in render(e)
    assert pipeline_decision(a, b, max_chars=limit).match.duplicate_of == "a"
    assert explain(Document("a", a), Document("b", b), max_chars=0).documents[0].characters_used == len(a)


# --------------------------------------------------------------------------- the verdict is the pipeline's


def test_the_verdict_equals_what_deduplicate_decides_for_many_random_pairs():
    rng, vocab = random.Random(20240601), vocabulary()
    configs = [
        DedupeConfig(),
        DedupeConfig(lsh=LSHConfig(threshold=0.5)),
        DedupeConfig(lsh=LSHConfig(threshold=0.7, fn_weight=0.5)),
        DedupeConfig(verify=VerifyConfig(mode="estimate")),
        DedupeConfig(shingle=ShingleConfig(unit="char", ngram=5), lsh=LSHConfig(threshold=0.6)),
        DedupeConfig(shingle=ShingleConfig(ngram=3), minhash=MinHashConfig(num_perm=64, seed=7)),
        DedupeConfig(lsh=LSHConfig(threshold=0.8, bands=4, rows=16)),  # LSH misses pairs above the threshold
    ]
    seen = {"duplicate": 0, "candidate only": 0, "no candidate": 0}
    for k in range(210):
        config = configs[k % len(configs)]
        a = random_text(rng, vocab, rng.randint(0 if k % 23 == 0 else 3, 120))
        choice = rng.random()
        if choice < 0.15:
            b = random_text(rng, vocab, rng.randint(3, 120))
        elif choice < 0.2:
            b = a.upper() + " !"
        else:
            words = a.split(" ")
            b = edit_text(rng, a, rng.randint(1, max(1, len(words) // 4)), f"t{k}") if a else ""
        e = explain(Document("a", a), Document("b", b), config)
        got = list(deduplicate([Record("a", a), Record("b", b)], config))[1]
        assert e.duplicate == (got.match.duplicate_of is not None), (k, a, b)
        if e.duplicate:
            assert got.match.similarity == round(e.similarity, 6)
            assert e.similarity >= config.lsh.threshold
        if e.documents[0].shingles and e.documents[1].shingles:
            assert e.candidate == bool(e.colliding_bands), k
        seen["duplicate" if e.duplicate else "candidate only" if e.candidate else "no candidate"] += 1
    assert min(seen.values()) >= 10, seen  # every branch of the decision was exercised


def test_passages_of_b_are_the_pipelines_and_point_at_the_spans_of_a(articles):
    a, b = articles[ARTICLE_A], articles[ARTICLE_B]
    config = DedupeConfig(passages=PassageConfig())
    e = explain(Document(ARTICLE_A, a), Document(ARTICLE_B, b), config)
    assert e.passages is not None
    got = pipeline_decision(a, b, config).passages
    assert [(p.start, p.end, p.kind, p.similarity, p.match_start, p.match_end) for p in e.passages] == \
        [(m.start, m.end, m.kind, m.similarity, m.match_start, m.match_end) for m in got]
    assert [(p.kind, round(p.similarity, 2)) for p in e.passages] == [("near", 0.36), ("near", 0.70)]
    for p in e.passages:
        assert p.text == b[p.start : p.end] and p.match_text == a[p.match_start : p.match_end]
        assert (p.match_document, p.match_id) == ("A", ARTICLE_A)
    assert "Pakistan" in e.passages[1].text and "[Pakistan]" in e.passages[1].match_text
    assert explain(Document("a", a), Document("b", b)).passages is None


def test_passages_repeated_within_b_point_at_b_even_when_both_ids_are_equal():
    sentence = "The committee approved the new budget for the coming fiscal year."
    a = "Nothing in common here at all, nothing whatsoever today."
    b = sentence + " Other words come between these two sentences now. " + sentence
    e = explain(Document("same", a), Document("same", b), DedupeConfig(passages=PassageConfig()))
    assert e.passages is not None and len(e.passages) == 1
    p = e.passages[0]
    assert (p.kind, p.match_document, p.match_start) == ("exact", "B", 0)
    assert p.text == p.match_text == sentence
    assert "B, earlier [0," in render(e)


def test_a_quote_shared_by_boilerplate_docs_documents_is_explained_as_a_formula():
    phrase = "he told BBC Radio 4's Today programme on Monday morning"
    a = f"Prices of food and clothing will rise again next year as wages lag behind, {phrase}."
    b = f"The minister defended the new tax on petrol and diesel against its many critics, {phrase}."
    for docs, shown in ((2, "formula quote"), (3, "exact quote")):
        e = explain(Document("a", a), Document("b", b), DedupeConfig(passages=PassageConfig(boilerplate_docs=docs)))
        assert e.passages is not None and [(p.unit, p.text.startswith("he told")) for p in e.passages] == [
            ("quote", True)
        ]
        assert f"1. {shown}, similarity 1" in render(e)


def test_find_records_takes_the_first_of_a_repeated_id_and_says_so(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"id": "x", "text": "first"}\n\n{"id": "y", "text": "why"}\n{"id": "x", "text": "second"}\n')
    docs, notes = find_records(str(path), ["x", "y"])
    assert [(d.id, d.text, d.source) for d in docs] == [("x", "first", f"{path}:1"), ("y", "why", f"{path}:3")]
    assert notes == [f"id 'x' occurs 2 times in {path} (lines 1, 4); using the first (line 1)"]


# --------------------------------------------------------------------------- the command


def _jsonl(path: Path, records: list[dict], compress: bool = False) -> Path:
    data = b"".join(json.dumps(r).encode() + b"\n" for r in records)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def test_explain_command_on_the_seed_files_prints_the_sections_and_exits_0(cli):
    result = cli(["explain", SEED_A, SEED_B])
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for heading in ("Documents (word 5-grams", "Shingles: 20 shared, 534 only in A, 441 only in B", "Similarity",
                    "LSH: 16 bands x 8 rows", "0 of 16 bands collide: none -> candidate: no",
                    "Verdict: NOT A DUPLICATE"):
        assert heading in out, heading
    assert f"A  {SEED_A}: 3,738 characters, 554 shingles" in out
    assert "Repeated passages" not in out
    assert result.stderr == ""


def test_explain_json_has_every_key_and_the_same_numbers_as_the_library(cli, articles):
    result = cli(["explain", SEED_A, SEED_B, "--json", "--passages"])
    assert result.exit_code == 0, result.stderr
    got = json.loads(result.stdout)
    assert set(got) == JSON_KEYS
    want = explain(Document(str(SEED_A), articles[ARTICLE_A], str(SEED_A)),
                   Document(str(SEED_B), articles[ARTICLE_B], str(SEED_B)),
                   DedupeConfig(passages=PassageConfig()), max_chars=1_000_000).as_dict()
    assert got == json.loads(json.dumps(want))
    assert got["shingles"]["shared"] == 20 and len(got["shingles"]["shared_examples"]) == 5
    assert [d["shingles"] for d in got["documents"]] == [554, 461]
    assert got["duplicate"] is False and got["candidate"] is False and got["colliding_bands"] == []
    assert [p["kind"] for p in got["passages"]] == ["near", "near"]
    assert got["passages"][0]["match"]["document"] == "A"
    for s in got["shingles"]["shared_examples"]:
        assert int(s["hash"], 16) in set(text_shingles(articles[ARTICLE_A]).tolist())


def test_explain_reads_one_document_from_stdin(cli, articles):
    edited = substitute_words(articles[ARTICLE_A], 5)
    result = cli(["explain", SEED_A, "-", "--json"], input=edited.encode())
    assert result.exit_code == 0, result.stderr
    got = json.loads(result.stdout)
    assert got["documents"][1]["id"] == "<stdin>" and got["duplicate"] is True
    assert got["reason"].startswith("duplicate: candidate")


@pytest.mark.parametrize("compress", [False, True])
def test_explain_input_looks_records_up_by_id_and_agrees_with_scan(cli, tmp_path, articles, compress):
    a = articles[ARTICLE_A]
    records = [{"id": "other", "text": articles[ARTICLE_B]}, {"id": "orig", "text": a},
               {"id": 42, "text": substitute_words(a, 12)}, {"id": "far", "text": substitute_words(a, 40)}]
    path = _jsonl(tmp_path / ("in.jsonl.gz" if compress else "in.jsonl"), records, compress)
    for b_id, options in (("42", []), ("far", []), ("42", ["-t", "0.95"]), ("far", ["--threshold", "0.5"]),
                          ("42", ["--unit", "char", "-n", "7"]), ("far", ["--verify", "estimate", "--num-perm", "64"])):
        result = cli(["explain", "--input", path, "orig", b_id, "--json", *options])
        assert result.exit_code == 0, result.stderr
        got = json.loads(result.stdout)
        assert [d["source"] for d in got["documents"]] == [f"{path}:2", f"{path}:{3 if b_id == '42' else 4}"]
        pair = _jsonl(tmp_path / "pair.jsonl", [records[1], next(r for r in records if str(r["id"]) == b_id)])
        scan = cli(["scan", pair, *options])
        assert scan.exit_code == 0, scan.stderr
        decided = json.loads(scan.stdout_bytes.splitlines()[1])["dedupe"]
        assert got["duplicate"] == (decided["duplicate_of"] == "orig"), (b_id, options)
        if got["duplicate"]:
            assert decided["similarity"] == round(got["similarity"], 6)


def test_explain_input_with_other_field_names_and_line_number_ids(cli, tmp_path):
    path = _jsonl(tmp_path / "f.jsonl", [{"body": "alpha beta gamma delta epsilon zeta"},
                                         {"body": "alpha beta gamma delta epsilon zeta eta", "key": "k"}])
    result = cli(["explain", "--input", path, "--text-field", "body", "--id-field", "key", "1", "k"])
    assert result.exit_code == 0, result.stderr
    assert "Shingles: 2 shared, 0 only in A, 1 only in B" in result.stdout


def test_explain_input_notes_a_repeated_id_on_stderr_and_uses_its_first_record(cli, tmp_path):
    path = _jsonl(tmp_path / "d.jsonl", [{"id": "x", "text": "one two three four five six"},
                                         {"id": "y", "text": "one two three four five six"},
                                         {"id": "x", "text": "entirely different words in this record"}])
    result = cli(["explain", "--input", path, "x", "y"])
    assert result.exit_code == 0, result.stderr
    assert "Verdict: DUPLICATE" in result.stdout
    assert result.stderr == f"dedupe: note: id 'x' occurs 2 times in {path} (lines 1, 3); using the first (line 1)\n"


def _assert_error(result, code: int, *words: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.stderr)
    assert result.stderr.startswith("dedupe: "), result.stderr
    for word in words:
        assert word in result.stderr, (word, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stdout_bytes == b""
    assert isinstance(result.exception, SystemExit)


def test_explain_input_unknown_id_names_it_and_the_records_read(cli, tmp_path):
    path = _jsonl(tmp_path / "u.jsonl", [{"id": "a", "text": "x"}, {"id": "b", "text": "y"}, {"id": "c", "text": "z"}])
    _assert_error(cli(["explain", "--input", path, "a", "nope"]), 3, "'nope' not found", str(path), "3 records read")
    _assert_error(cli(["explain", "--input", path, "n1", "n2"]), 3, "ids 'n1' and 'n2' not found")


def test_explain_input_stops_at_a_bad_line_as_scan_does(cli, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"id": "a", "text": "x"}\n{not json\n{"id": "b", "text": "y"}\n')
    _assert_error(cli(["explain", "--input", path, "a", "b"]), 3, f"{path}:2:", "malformed JSON")


@pytest.mark.parametrize("args, code, words", [
    (["explain", "missing.txt", str(SEED_B)], 3, ("missing.txt", "cannot open")),
    (["explain", "--input", "missing.jsonl", "a", "b"], 3, ("missing.jsonl", "cannot open")),
    (["explain", str(SEED_A.parent), str(SEED_B)], 3, ("directory",)),
    (["explain", "-", "-"], 2, ("only one of A and B can be '-'",)),
    (["explain"], 2, ("two files", "got 0 arguments")),
    (["explain", str(SEED_A)], 2, ("got 1 argument",)),
    (["explain", str(SEED_A), str(SEED_B), str(SEED_B)], 2, ("got 3 arguments",)),
    (["explain", "--input", "x.jsonl", "only-one"], 2, ("two record ids",)),
    (["explain", "--threshold", "1.5", str(SEED_A), str(SEED_B)], 2, ("threshold",)),
    (["explain", "--unit", "syllable", str(SEED_A), str(SEED_B)], 2, ("unit",)),
    (["explain", "--bands", "20", "--rows", "8", str(SEED_A), str(SEED_B)], 2, ("num-perm",)),
    (["explain", "--passage-threshold", "0", str(SEED_A), str(SEED_B)], 2, ("--passage-threshold",)),
    (["explain", "--max-chars", "-1", str(SEED_A), str(SEED_B)], 2, ("--max-chars",)),
    (["explain", "--no-such-option", str(SEED_A), str(SEED_B)], 2, ("no-such-option",)),
])
def test_explain_errors_give_a_message_and_the_exit_code(cli, args, code, words):
    result = cli(args)
    assert result.exit_code == code, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr and result.stdout_bytes == b""
    for word in words:
        assert word in result.stderr, (word, result.stderr)
    if "--no-such-option" not in args:  # click words its own usage errors
        assert result.stderr.startswith("dedupe: error: ")


def test_explain_of_two_empty_files_agrees_with_scan_in_text_and_json(cli, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    text = cli(["explain", empty, empty])
    assert text.exit_code == 0, text.stderr
    assert "Similarity: nothing to compare (A and B have no shingles)" in text.stdout
    assert "exact Jaccard     0 " in text.stdout and "MinHash estimate  0 " in text.stdout
    assert "Verdict: NOT A DUPLICATE" in text.stdout
    for options in ([], ["--verify", "estimate"]):
        result = cli(["explain", empty, empty, "--json", *options])
        assert result.exit_code == 0, result.stderr
        got = json.loads(result.stdout)
        assert (got["jaccard"], got["minhash_estimate"], got["similarity"]) == (0.0, 0.0, 0.0), options
        assert got["duplicate"] is False and got["candidate"] is False and got["colliding_bands"] == []
        assert "A and B have no shingles" in got["reason"] and "nothing to compare" in got["reason"]
        pair = _jsonl(tmp_path / "pair.jsonl", [{"id": 1, "text": ""}, {"id": 2, "text": ""}])
        scan = cli(["scan", pair, *options])
        assert scan.exit_code == 0, scan.stderr
        decided = [json.loads(line)["dedupe"] for line in scan.stdout_bytes.splitlines()]
        assert decided == [{"cluster": "1", "duplicate_of": None, "similarity": None},
                           {"cluster": "2", "duplicate_of": None, "similarity": None}]


@pytest.mark.parametrize("threshold", ["1", "0.999"])
def test_explain_at_threshold_near_1_derives_two_bands_or_more(cli, threshold):
    result = cli(["explain", "-t", threshold, SEED_A, SEED_A, "--json"])
    assert result.exit_code == 0, result.stderr
    got = json.loads(result.stdout)
    assert got["bands"] >= 2 and got["bands"] * got["rows"] <= 128
    assert got["duplicate"] is True and got["jaccard"] == 1.0
    assert got["colliding_bands"] == list(range(got["bands"]))  # identical texts collide in every band
    edited = cli(["explain", "-t", threshold, SEED_A, SEED_B])
    assert edited.exit_code == 0 and "Verdict: NOT A DUPLICATE" in edited.stdout


def test_explain_text_that_is_not_utf8_is_bad_input(cli, tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("café crème".encode("latin-1"))
    _assert_error(cli(["explain", path, SEED_A]), 3, "invalid UTF-8")


def test_explain_help_has_examples_and_the_json_keys(cli):
    result = cli(["explain", "--help"])
    assert result.exit_code == 0
    assert "dedupe explain a.txt b.txt" in result.stdout and "--input" in result.stdout
    assert "colliding_bands" in result.stdout and "candidate_probability" in result.stdout
    assert "dedupe explain a.txt b.txt" in cli(["--help"]).stdout


def test_explain_runs_as_a_real_process_without_a_traceback(run_dedupe, tmp_path):
    ok = run_dedupe(["explain", SEED_A, SEED_B, "--passages"])
    assert ok.returncode == 0, ok.stderr
    assert b"Repeated passages of B (sentence units, threshold 0.35): 2" in ok.stdout
    bad = run_dedupe(["explain", tmp_path / "nope.txt", SEED_B])
    assert bad.returncode == 3 and bad.stderr.startswith(b"dedupe: error: cannot open") and b"Traceback" not in bad.stderr


def test_the_documented_example_is_the_real_output(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(SEED_A.parent.parent)  # docs/report.md runs it from the repository
    page = Path("docs/report.md").read_text(encoding="utf-8")
    section = page.split("## Explain one decision (`dedupe explain`)", 1)[1]
    shown = section.split("```text\n", 1)[1].split("```", 1)[0]
    edited = tmp_path / "edited.txt"
    lines = SEED_A.read_text(encoding="utf-8").split("\n")  # as the documented sed: first match per line
    edited.write_text("\n".join(line.replace("On Sunday", "On Monday", 1)
                                .replace("warmest felicitations", "warm congratulations", 1) for line in lines),
                      encoding="utf-8")
    result = cli(["explain", "seeds/000_d3a659f08dc455c3.txt", edited])
    assert result.exit_code == 0, result.stderr

    def squeeze(text: str) -> list[str]:  # the file name's length moves the column padding
        return [" ".join(line.split()) for line in text.replace(str(edited), "/tmp/edited.txt").splitlines()]

    assert squeeze(result.stdout) == squeeze(shown)


# --------------------------------------------------------------------------- --keep: which of the two a run keeps

KEEP_TEXT = "the quick brown fox jumps over the lazy dog and runs far away into the green hills of the north " * 3
KEEP_RECORDS = [
    {"id": "short", "text": KEEP_TEXT, "score": 5, "published": "2024-05-01"},
    {"id": "long", "text": KEEP_TEXT + "and back again", "score": 7, "published": "2023-12-31T23:00:00Z"},
    {"id": "other", "text": "something else entirely, in words that share nothing with the rest", "score": 9},
    {"id": "bare", "text": KEEP_TEXT + "and back"},
    {"id": "bad", "text": KEEP_TEXT, "score": "high"},
]


@pytest.fixture
def keep_input(tmp_path):
    return _jsonl(tmp_path / "keep.jsonl", KEEP_RECORDS)


def _keep(cli, *args) -> dict:
    result = cli(["explain", *args, "--json"])
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)["keep"]


def test_explain_default_keep_first_adds_one_line_saying_a_is_kept_first(cli, keep_input):
    text = cli(["explain", "--input", keep_input, "long", "short"])
    assert text.exit_code == 0, text.stderr
    verdict = text.stdout.split("Verdict: DUPLICATE\n", 1)[1].splitlines()
    assert len(verdict) == 2 and verdict[0].startswith("  duplicate: candidate")
    assert verdict[1] == ("  --keep first: A, the first seen, is preferred; B is dropped as a duplicate of A when A is "
                          "kept in the run; A may itself be dropped as a duplicate of a third record seen before it")
    assert "Keep (--keep" not in text.stdout
    assert _keep(cli, "--input", keep_input, "long", "short") == {
        "policy": "first", "values": {"A": None, "B": None}, "preferred": "A", "why": "the first seen",
        "dropped": "B", "reason": verdict[1].split("; ", 1)[1]}
    assert text.stdout == cli(["explain", "--input", keep_input, "long", "short", "--keep", "first"]).stdout


@pytest.mark.parametrize("a, b", [("short", "long"), ("long", "short")])
def test_explain_keep_longest_prefers_the_longer_text_and_drops_the_other(cli, keep_input, a, b):
    result = cli(["explain", "--input", keep_input, a, b, "--keep", "longest"])
    assert result.exit_code == 0, result.stderr
    longer, shorter = ("B", "A") if b == "long" else ("A", "B")
    chars = {"short": len(KEEP_TEXT), "long": len(KEEP_TEXT) + len("and back again")}
    lines = result.stdout.split("\n\nKeep (--keep longest): ", 1)[1].splitlines()
    assert lines[0] == (f"{longer} is preferred, the longer (A {chars[a]:,} characters, B {chars[b]:,})")
    assert lines[1].startswith(f"  {shorter} is dropped as a duplicate of {longer} when {longer} is kept in the run; "
                               f"{longer} may itself be dropped as a duplicate of a third record the policy prefers")
    assert "  --keep first" not in result.stdout
    keep = _keep(cli, "--input", keep_input, a, b, "--keep", "longest")
    assert keep["values"] == {"A": chars[a], "B": chars[b]}
    assert (keep["policy"], keep["preferred"], keep["dropped"]) == ("longest", longer, shorter)


def test_explain_keep_longest_works_on_raw_text_files_and_ties_go_to_a(cli, tmp_path):
    one, two = tmp_path / "one.txt", tmp_path / "two.txt"
    one.write_text(KEEP_TEXT)
    two.write_text(KEEP_TEXT)
    keep = _keep(cli, two, one, "--keep", "longest")
    assert keep["values"] == {"A": len(KEEP_TEXT), "B": len(KEEP_TEXT)}
    assert keep["preferred"] == "A" and keep["dropped"] == "B" and "first seen" in keep["why"]


@pytest.mark.parametrize("policy, preferred, word", [
    ("field:score", "B", "larger"), ("field:score:max", "B", "larger"), ("field:score:min", "A", "smaller"),
    ("field:published", "A", "later"), ("field:published:min", "B", "earlier"),
])
def test_explain_keep_field_max_and_min_prefer_the_larger_or_smaller_value(cli, keep_input, policy, preferred, word):
    keep = _keep(cli, "--input", keep_input, "short", "long", "--keep", policy)
    name = policy.split(":")[1]
    want = {"score": {"A": 5, "B": 7}, "published": {"A": "2024-05-01", "B": "2023-12-31T23:00:00Z"}}[name]
    other = "B" if preferred == "A" else "A"
    assert keep["policy"] == (policy if policy.count(":") == 2 else policy + ":max")
    assert keep["values"] == want and keep["preferred"] == preferred and keep["dropped"] == other
    assert keep["why"].startswith(f"the {word} {name} (")
    assert keep["reason"].startswith(f"{other} is dropped as a duplicate of {preferred} when {preferred} is kept")
    text = cli(["explain", "--input", keep_input, "short", "long", "--keep", policy]).stdout
    assert f"Keep (--keep {keep['policy']}): {preferred} is preferred, the {word} {name}" in text


@pytest.mark.parametrize("policy", ["field:score", "field:score:min"])
def test_explain_keep_field_a_missing_field_ranks_last(cli, keep_input, policy):
    keep = _keep(cli, "--input", keep_input, "bare", "long", "--keep", policy)
    assert keep["values"] == {"A": "missing", "B": 7}
    assert keep["preferred"] == "B" and keep["dropped"] == "A" and "ranks last" in keep["why"]
    neither = _keep(cli, "--input", keep_input, "bare", "bare", "--keep", "field:nothing:min")
    assert neither["values"] == {"A": "missing", "B": "missing"} and neither["preferred"] == "A"


def test_explain_keep_pair_that_is_not_near_duplicates_keeps_both(cli, keep_input):
    result = cli(["explain", "--input", keep_input, "short", "other", "--keep", "field:score"])
    assert result.exit_code == 0, result.stderr
    assert "Verdict: NOT A DUPLICATE" in result.stdout
    assert "Keep (--keep field:score:max): B is preferred, the larger score (A 5, B 9)" in result.stdout
    assert "  neither is a duplicate of the other, so both are kept as far as this pair goes" in result.stdout
    keep = _keep(cli, "--input", keep_input, "short", "other", "--keep", "field:score")
    assert keep["preferred"] == "B" and keep["dropped"] is None


def test_explain_keep_field_without_input_is_a_usage_error(cli, tmp_path):
    for args in ([SEED_A, SEED_B], [tmp_path / "not-even-read.txt", SEED_B]):
        _assert_error(cli(["explain", *args, "--keep", "field:score"]), 2, "--keep field:score:max",
                      "raw text files have none", "--input")
    with pytest.raises(ConfigError, match="raw text files have none"):
        explain(Document("a", KEEP_TEXT), Document("b", KEEP_TEXT), keep=KeepPolicy.parse("field:score"))


def test_explain_keep_bad_field_value_names_the_document(cli, keep_input):
    _assert_error(cli(["explain", "--input", keep_input, "short", "bad", "--keep", "field:score"]), 3,
                  f"{keep_input}:5: document B (id 'bad')", "field 'score'", "'high' is not an ISO 8601 date")
    _assert_error(cli(["explain", "--input", keep_input, "bad", "short", "--keep", "field:score:min"]), 3,
                  f"{keep_input}:5: document A (id 'bad')")


def test_explain_bad_keep_option_is_a_usage_error(cli):
    _assert_error(cli(["explain", SEED_A, SEED_B, "--keep", "largest"]), 2, "--keep must be first, longest or field")


def test_explain_keep_agrees_with_a_scan_of_the_pair(cli, tmp_path, keep_input):
    """The one dropped is the one scan --keep drops, when the pair is all there is."""
    for a, b, policy in (("short", "long", "longest"), ("long", "short", "longest"), ("short", "long", "field:score"),
                         ("short", "long", "field:score:min"), ("bare", "long", "field:score:min"),
                         ("short", "long", "first"), ("short", "other", "longest")):
        keep = _keep(cli, "--input", keep_input, a, b, "--keep", policy)
        pair = _jsonl(tmp_path / "pair.jsonl", [next(r for r in KEEP_RECORDS if r["id"] == i) for i in (a, b)])
        scan = cli(["scan", pair, "--keep", policy])
        assert scan.exit_code == 0, scan.stderr
        decided = [json.loads(line)["dedupe"]["duplicate_of"] for line in scan.stdout_bytes.splitlines()]
        want = {"A": [b, None], "B": [None, a], None: [None, None]}[keep["dropped"]]
        assert decided == want, (a, b, policy, keep)


# --------------------------------------------------------------------------- --in-run: what the whole scan decided


def _chain_file(tmp_path: Path, triple) -> Path:
    rows = [{"id": "A", "text": triple.a}, {"id": "B", "text": triple.b + " " + "x" * 30}, {"id": "C", "text": triple.c}]
    path = tmp_path / "chain.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.mark.parametrize("keep", ["first", "longest", "field:absent"])
def test_in_run_gives_what_a_scan_of_the_input_decides_for_both(cli, tmp_path, triple, keep):
    path = _chain_file(tmp_path, triple)
    result = cli(["explain", "--input", path, "A", "C", "--in-run", "--keep", keep, "--json"])
    assert result.exit_code == 0, result.stderr
    in_run = json.loads(result.stdout)["in_run"]
    scan = cli(["scan", path, "--keep", keep])
    decided = {json.loads(line)["id"]: json.loads(line)["dedupe"] for line in scan.stdout_bytes.splitlines()}
    for label, rid in (("A", "A"), ("B", "C")):
        assert in_run[label]["id"] == rid
        assert {k: in_run[label][k] for k in ("duplicate_of", "similarity", "cluster")} == decided[rid]
        assert in_run[label]["kept"] == (decided[rid]["duplicate_of"] is None)
    assert in_run["source"] == str(path)


def test_in_run_says_in_words_why_each_was_kept_or_dropped(cli, tmp_path, triple):
    path = _chain_file(tmp_path, triple)
    result = cli(["explain", "--input", path, "A", "C", "--in-run", "--keep", "longest"])
    assert result.exit_code == 0, result.stderr
    assert f"In a scan of {path} (--keep longest, the same options):" in result.stdout
    assert "A  A: dropped as the duplicate of B (similarity 0.8738), the kept record it matches best" in result.stdout
    chain = cli(["explain", "--input", path, "A", "C", "--in-run"])
    assert "B  C: kept (cluster A)" in chain.stdout  # C matches only B, a duplicate: the end of a chain is kept
    assert json.loads(cli(["explain", "--input", path, "A", "C", "--json"]).stdout)["in_run"] is None


def test_in_run_needs_a_file_to_scan(cli, tmp_path, triple):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(triple.a)
    b.write_text(triple.b)
    result = cli(["explain", a, b, "--in-run"])
    assert result.exit_code == 2 and "--in-run scans the --input file" in result.stderr
    lines = _chain_file(tmp_path, triple).read_bytes()
    result = cli(["explain", "--input", "-", "A", "C", "--in-run"], input=lines)
    assert result.exit_code == 2 and "standard input" in result.stderr
