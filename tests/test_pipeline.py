"""dedupe.core.matcher: decisions per record, clusters, seeds, exact copies, rejects in place."""

from __future__ import annotations


import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dedupe import (
    DedupeConfig,
    Deduplicator,
    LSHConfig,
    MinHasher,
    Record,
    Rejected,
    Result,
    ShingleConfig,
    VerifyConfig,
    deduplicate,
    estimate_jaccard,
    jaccard,
    normalize,
    read_records,
    text_shingles,
)

ARTICLE_A = "000_d3a659f08dc455c3"
ARTICLE_B = "002_07df8ba35f6e2ac3"

ESTIMATE = DedupeConfig(verify=VerifyConfig(mode="estimate"))


def decide(records, config=None, **kw) -> list[Result]:
    return list(Deduplicator(config).run(records, **kw))


def exact_j(a: str, b: str) -> float:
    return jaccard(text_shingles(a), text_shingles(b))


# --------------------------------------------------------------------------- seeds


def test_the_two_seed_articles_are_not_duplicates_at_the_default_threshold(seeds_path):
    results = decide(read_records([str(seeds_path)]))
    assert [r.record.id for r in results] == [ARTICLE_A, ARTICLE_B]
    assert all(isinstance(r, Result) for r in results)
    assert [r.match.duplicate_of for r in results] == [None, None]
    assert [r.match.cluster for r in results] == [ARTICLE_A, ARTICLE_B]


def test_seed_articles_are_far_below_the_threshold(articles):
    assert exact_j(articles[ARTICLE_A], articles[ARTICLE_B]) < 0.8


@pytest.mark.parametrize("article", [ARTICLE_A, ARTICLE_B])
def test_article_with_five_words_substituted_is_a_duplicate_of_it(articles, substitute, article):
    original = articles[article]
    edited = substitute(original, 5)
    assert len(original.split()) > 400
    j = exact_j(original, edited)
    assert 0.8 <= j < 1.0  # the premise: a real edit that stays above the threshold
    other = ARTICLE_B if article == ARTICLE_A else ARTICLE_A
    results = decide([Record(other, articles[other]), Record(article, original), Record("edited", edited)])
    last = results[-1].match
    assert last.duplicate_of == article
    assert last.similarity >= 0.8
    assert last.similarity == pytest.approx(j, abs=1e-6)
    assert last.cluster == article


def test_estimate_verify_mode_also_finds_the_edited_copy(articles, substitute):
    original = articles[ARTICLE_A]
    edited = substitute(original, 5)
    results = decide([Record("orig", original), Record("edited", edited)], ESTIMATE)
    match = results[1].match
    assert match.duplicate_of == "orig"
    assert match.similarity >= 0.8
    # The reported similarity is the MinHash estimate, computed here independently.
    mh = MinHasher()
    est = estimate_jaccard(mh.signature(text_shingles(original)), mh.signature(text_shingles(edited)))
    assert match.similarity == pytest.approx(est, abs=1e-6)


def test_an_article_heavily_rewritten_is_not_a_duplicate(articles, substitute):
    original = articles[ARTICLE_A]
    edited = substitute(original, 60)
    assert exact_j(original, edited) < 0.8
    results = decide([Record("orig", original), Record("edited", edited)])
    assert results[1].match.duplicate_of is None


# --------------------------------------------------------------------------- exact copies


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(st.text(min_size=1))
def test_exact_copy_is_always_a_duplicate(text):
    assume(normalize(text) != "")
    results = decide([Record("first", text), Record("second", text)])
    first, second = (r.match for r in results)
    assert first.duplicate_of is None
    assert second.duplicate_of == "first"
    assert second.similarity == 1.0
    assert first.cluster == second.cluster == "first"


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(st.text(min_size=1), st.lists(st.text(max_size=30), max_size=5))
def test_exact_copy_is_a_duplicate_after_unrelated_records(text, others):
    assume(normalize(text) != "")
    records = [Record(f"o{i}", t) for i, t in enumerate(others)]
    records += [Record("first", text), Record("second", text)]
    dd = Deduplicator()
    results = list(dd.run(records))
    second = results[-1].match
    # An earlier "other" can have the same shingle set; then it is the one named.
    shingles = text_shingles(text)
    earlier = [r.id for r in records[:-1] if np.array_equal(text_shingles(r.text), shingles)]
    assert second.duplicate_of == earlier[0]
    assert second.similarity == 1.0
    cluster = next(c for c in dd.clusters() if "second" in c["members"])
    assert "first" in cluster["members"]


def test_exact_copies_differing_only_in_case_and_punctuation_are_duplicates():
    a = "The quick brown fox jumps over the lazy dog near the river bank"
    b = "THE QUICK, BROWN FOX -- jumps over the lazy dog near the river bank!!!"
    results = decide([Record("a", a), Record("b", b)])
    assert results[1].match.duplicate_of == "a"
    assert results[1].match.similarity == 1.0


def test_short_exact_copy_of_a_single_word_is_a_duplicate():
    results = decide([Record("a", "hello"), Record("b", "hello")])
    assert results[1].match.duplicate_of == "a"


# --------------------------------------------------------------------------- empty texts, rejects


def test_empty_text_is_a_valid_record_and_never_a_duplicate():
    records = [Record("e1", ""), Record("e2", ""), Record("p", "?!"), Record("w", "   \n"), Record("t", "some text")]
    dd = Deduplicator()
    results = list(dd.run(records))
    assert [r.record.id for r in results] == ["e1", "e2", "p", "w", "t"]
    for r in results:
        assert r.match.duplicate_of is None
        assert r.match.similarity is None
        assert r.match.cluster == r.record.id
        assert not r.is_duplicate
    assert dd.clusters() == []


def test_rejected_items_pass_through_in_order():
    rej1 = Rejected(2, "src", "malformed_json", "bad", b"{")
    rej2 = Rejected(4, "src", "missing_text", "no text", b"{}")
    rej3 = Rejected(5, "src", "bad_id", "bad id", b"[]")
    items = [Record("a", "alpha beta gamma delta epsilon"), rej1, Record("b", "alpha beta gamma delta epsilon"),
             rej2, rej3, Record("c", "zeta eta theta")]
    out = decide(items, batch_size=2)
    assert len(out) == 6
    assert out[1] is rej1 and out[3] is rej2 and out[4] is rej3
    assert [o.record.id for o in out if isinstance(o, Result)] == ["a", "b", "c"]
    assert out[2].match.duplicate_of == "a"
    assert out[5].match.duplicate_of is None


def test_only_rejects_yield_only_rejects():
    rej = Rejected(1, "s", "malformed_json", "bad", b"{")
    assert decide([rej, rej]) == [rej, rej]


def test_nothing_in_nothing_out():
    dd = Deduplicator()
    assert list(dd.run([])) == []
    assert dd.clusters() == []


# --------------------------------------------------------------------------- API in code


def test_deduplicate_works_on_records_built_in_code():
    text = "Pakistan stands with Azerbaijan in its quest to resolve the issue"
    results = list(deduplicate([Record("1", text), Record("2", text + "!"), Record("3", "other words entirely")]))
    assert [(r.record.id, r.match.duplicate_of) for r in results] == [("1", None), ("2", "1"), ("3", None)]
    assert results[1].is_duplicate and not results[0].is_duplicate


def test_deduplicate_takes_a_config():
    a = "one two three four five six seven eight nine ten"
    b = "one two three four five six seven eight nine eleven"  # 5 of 7 five-grams shared: J = 5/7
    j = exact_j(a, b)
    assert j == pytest.approx(5 / 7)
    loose = DedupeConfig(lsh=LSHConfig(threshold=0.5))
    assert [r.match.duplicate_of for r in deduplicate([Record("a", a), Record("b", b)], loose)] == [None, "a"]
    assert [r.match.duplicate_of for r in deduplicate([Record("a", a), Record("b", b)])] == [None, None]


def test_char_shingles_find_near_duplicates_with_typos():
    a = "the committee approved the annual budget after a long debate on tuesday"
    b = "the comittee approved the anual budget after a long debate on tuesday"
    cfg = DedupeConfig(shingle=ShingleConfig(unit="char", ngram=3), lsh=LSHConfig(threshold=0.7))
    j = jaccard(text_shingles(a, cfg.shingle), text_shingles(b, cfg.shingle))
    assert j >= 0.75
    assert exact_j(a, b) < 0.7  # with word 5-grams two typos break most shingles
    results = decide([Record("a", a), Record("b", b)], cfg)
    assert results[1].match.duplicate_of == "a"


def test_similarity_is_the_exact_jaccard_rounded(triple):
    results = decide([Record("A", triple.a), Record("B", triple.b)])
    assert results[1].match.similarity == round(exact_j(triple.a, triple.b), 6)
    assert results[1].match.similarity == pytest.approx(90 / 102, abs=1e-6)


def test_duplicate_of_names_the_most_similar_kept_record():
    # 100 distinct words, 96 five-grams. "near" changes the last 3 words (3
    # shingles), "nearer" the last word (1 shingle), "probe" the first word
    # (1 shingle): J(probe, nearer) = 94/98, J(probe, near) = 92/100.
    words = [f"w{i}" for i in range(100)]
    near = words[:97] + ["x0", "x1", "x2"]
    nearer = words[:99] + ["y0"]
    probe = ["z0"] + words[1:]
    texts = {"near": " ".join(near), "nearer": " ".join(nearer), "probe": " ".join(probe)}
    order = ["near", "nearer"]
    sims = {k: exact_j(texts[k], texts["probe"]) for k in order}
    assert sims == pytest.approx({"near": 92 / 100, "nearer": 94 / 98})
    results = decide([Record(k, texts[k]) for k in order] + [Record("probe", texts["probe"])])
    # nearer is itself a duplicate of near: probe names near, the copy that is kept, not the more similar one.
    assert results[1].match.duplicate_of == "near"
    assert results[-1].match.duplicate_of == "near"
    assert results[-1].match.similarity == pytest.approx(sims["near"], abs=1e-6)


# --------------------------------------------------------------------------- clusters


def test_transitive_matches_end_in_one_cluster(triple):
    ab, bc, ac = exact_j(triple.a, triple.b), exact_j(triple.b, triple.c), exact_j(triple.a, triple.c)
    assert ab >= 0.8 and bc >= 0.8 and ac < 0.8  # the premise
    dd = Deduplicator()
    results = list(dd.run([Record("A", triple.a), Record("B", triple.b), Record("C", triple.c)]))
    # C matches only B, which is a duplicate: C is kept (nothing written is near it), in A's cluster.
    assert [r.match.duplicate_of for r in results] == [None, "A", None]
    assert [r.match.cluster for r in results] == ["A", "A", "A"]
    assert dd.clusters() == [{"cluster": "A", "size": 3, "members": ["A", "B", "C"]}]


def test_a_record_joining_two_clusters_merges_them(triple):
    # A and C are unrelated; B (last) matches both.
    dd = Deduplicator()
    results = list(dd.run([Record("A", triple.a), Record("C", triple.c), Record("B", triple.b)]))
    assert [r.match.duplicate_of for r in results[:2]] == [None, None]
    assert results[2].match.duplicate_of in ("A", "C")
    assert results[2].match.cluster == "A"
    (cluster,) = dd.clusters()
    assert cluster["cluster"] == "A"
    assert cluster["size"] == 3
    assert cluster["members"] == ["A", "C", "B"]
    # C was written with its own id as cluster before B arrived.
    assert cluster["output_labels"] == ["A", "C"]


def test_clusters_are_listed_largest_first_then_first_seen_first():
    def text(tag: str) -> str:
        return " ".join(f"{tag}{i}" for i in range(30))

    records = [
        Record("p", text("p")), Record("q", text("q")), Record("q2", text("q")),
        Record("r", text("r")), Record("r2", text("r")), Record("r3", text("r")),
        Record("p2", text("p")), Record("s", text("s")),
    ]
    dd = Deduplicator()
    list(dd.run(records))
    got = [(c["cluster"], c["size"], c["members"]) for c in dd.clusters()]
    assert got == [("r", 3, ["r", "r2", "r3"]), ("p", 2, ["p", "p2"]), ("q", 2, ["q", "q2"])]


def _corpus_results(corpus, **kw):
    dd = Deduplicator()
    results = [r for r in dd.run(read_records([str(corpus.path)]), **kw) if isinstance(r, Result)]
    return dd, results


def test_duplicate_of_always_names_an_earlier_record(corpus):
    dd, results = _corpus_results(corpus)
    position = {r.record.id: k for k, r in enumerate(results)}
    assert len(position) == len(results)  # ids are unique in the generated corpus
    dups = [r for r in results if r.is_duplicate]
    assert len(dups) >= 50  # every exact copy at least
    for r in dups:
        assert position[r.match.duplicate_of] < position[r.record.id]
        assert position[r.match.cluster] <= position[r.match.duplicate_of]
        assert r.match.similarity >= 0.8


def test_planted_copies_are_found_and_unrelated_documents_are_not(corpus):
    dd, results = _corpus_results(corpus)
    by_id = {r.record.id: r for r in results}
    text = {r.record.id: r.record.text for r in results}
    member_of = {m: c["cluster"] for c in dd.clusters() for m in c["members"]}
    for pid, src in corpus.source_of.items():
        j = exact_j(text[pid], text[src])
        if corpus.kinds[pid] == "exact":
            assert by_id[pid].match.similarity == 1.0
            assert member_of[pid] == member_of[src]
        elif j >= 0.9:  # P(LSH candidate) > 0.999 at 16 x 8
            assert member_of.get(pid) is not None and member_of[pid] == member_of[src], (pid, src, j)
    # Bases are random draws from a 4000-word vocabulary: none duplicates another.
    for rid, kind in corpus.kinds.items():
        if kind in ("base", "empty", "punct"):
            assert by_id[rid].match.duplicate_of is None


def test_verification_removes_every_false_positive(corpus):
    dd, results = _corpus_results(corpus)
    text = {r.record.id: r.record.text for r in results}
    for r in results:
        if r.is_duplicate:
            assert exact_j(r.record.text, text[r.match.duplicate_of]) >= 0.8


def test_workers_and_batch_size_do_not_change_decisions(clean_corpus):
    base = [r.match for r in _corpus_results(clean_corpus)[1]]
    assert [r.match for r in _corpus_results(clean_corpus, batch_size=7)[1]] == base
    assert [r.match for r in _corpus_results(clean_corpus, workers=2, batch_size=16)[1]] == base


def test_same_input_gives_same_decisions_in_a_new_deduplicator(clean_corpus):
    first = [r.match for r in _corpus_results(clean_corpus)[1]]
    second = [r.match for r in _corpus_results(clean_corpus)[1]]
    assert first == second


def test_timings_use_the_injected_clock(triple):
    ticks = iter(range(0, 1000, 2))
    dd = Deduplicator(clock=lambda: float(next(ticks)))
    list(dd.run([Record("A", triple.a), Record("B", triple.b)]))
    assert dd.counters.match_seconds == 2.0  # one batch: one start and one end reading
    assert dd.counters.feature_seconds >= 0.0
    assert len(dd) == 2


def test_every_record_with_shingles_is_indexed_exact_copies_too():
    text = " ".join(f"word{i}" for i in range(60))
    dd = Deduplicator()
    results = list(dd.run([Record(str(i), text) for i in range(5)] + [Record("other", text + " extra words here")]
                          + [Record("empty", "")]))
    assert len(dd.index) == 6  # every copy and the edited text; the empty text is never indexed
    assert [m["members"] for m in dd.clusters()] == [["0", "1", "2", "3", "4", "other"]]
    assert [r.match.duplicate_of for r in results] == [None, "0", "0", "0", "0", "0", None]


def test_packed_hashes_round_trip():
    from dedupe.features.batch import PackedHashes

    arrays = [np.array([3, 1], dtype=np.uint64), np.empty(0, dtype=np.uint64), np.array([9], dtype=np.uint64)]
    packed = PackedHashes(arrays)
    assert len(packed) == 3
    assert [packed[k].tolist() for k in range(3)] == [[3, 1], [], [9]]
    assert len(PackedHashes([])) == 0
