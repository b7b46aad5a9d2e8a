"""dedupe.passages.matcher: segmentation, the seed cases, properties, near and quote matching, the
candidate bound, and ``scan``/``filter --passages`` end to end.

Spans are always checked through the text they slice (``text[start:end]``), never as
hard-coded offsets. Hypothesis runs derandomized and without its example database, so
every run tests the same examples.
"""

from __future__ import annotations

import json
import random
import re
import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe import DedupeConfig, Record, deduplicate
from dedupe.config import PassageConfig
from dedupe.passages.matcher import PassageMatch, PassageMatcher, remove_spans
from dedupe.passages.segment import (
    ABBREVIATIONS,
    numbers_agree,
    paragraphs,
    passage_features,
    segment,
    sentences,
)
from dedupe.passages.segment import passage_numbers as _numbers

ARTICLE_A = "000_d3a659f08dc455c3"
ARTICLE_B = "002_07df8ba35f6e2ac3"
DEFAULT = PassageConfig()
PROPERTY = settings(max_examples=60, deadline=None, derandomize=True, database=None)

_WORD = re.compile(r"\w+")


# --------------------------------------------------------------------------- helpers


def texts_of(text: str, spans) -> list[str]:
    """The substrings a list of (start, end, ...) spans cut out of ``text``."""
    return [text[s[0] : s[1]] for s in spans]


def assert_clean_span(text: str, start: int, end: int) -> None:
    """A non-empty span inside ``text`` with no surrounding whitespace."""
    assert 0 <= start < end <= len(text), (start, end, len(text))
    piece = text[start:end]
    assert piece == piece.strip(), repr(piece)


def normalized_words(text: str) -> str:
    """The matcher's normalization, rewritten here: case-folded ``\\w+`` runs joined by single spaces."""
    return " ".join(m.group().casefold() for m in _WORD.finditer(text))


def char_grams(text: str, n: int = 5) -> set[str]:
    """Character n-grams of the normalized words (one gram for a shorter text)."""
    s = normalized_words(text)
    return {s[i : i + n] for i in range(len(s) - n + 1)} if len(s) >= n else {s}


def jaccard5(a: str, b: str) -> float:
    x, y = char_grams(a), char_grams(b)
    return len(x & y) / len(x | y)


def feed(docs: dict[str, str], config: PassageConfig | None = None) -> tuple[PassageMatcher, dict[str, list[PassageMatch]]]:
    """A fresh matcher fed ``docs`` in order: (matcher, id -> matches)."""
    pm = PassageMatcher(config)
    return pm, {rid: pm.add(rid, text) for rid, text in docs.items()}


def described(docs: dict[str, str], found: dict[str, list[PassageMatch]]) -> list[tuple[str, str, str, str, str]]:
    """Every match as (id, kind, unit, its text, the matched text)."""
    return [
        (rid, m.kind, m.unit, docs[rid][m.start : m.end], docs[m.match_id][m.match_start : m.match_end])
        for rid, matches in found.items()
        for m in matches
    ]


def the_match(matches: list[PassageMatch], text: str, contains: str) -> PassageMatch:
    """The one match whose span in ``text`` contains ``contains``."""
    hits = [m for m in matches if contains in text[m.start : m.end]]
    assert len(hits) == 1, [text[m.start : m.end] for m in matches]
    return hits[0]


def made_up_words(count: int, seed: int) -> list[str]:
    """Distinct lowercase made-up words of 4-9 letters, none an abbreviation the splitter knows."""
    rng = random.Random(seed)
    words: set[str] = set()
    while len(words) < count:
        word = "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 9)))
        if word not in ABBREVIATIONS:
            words.add(word)
    return sorted(words)


def sentence(words: list[str]) -> str:
    """Words as one sentence: capitalized, ending with a period."""
    return " ".join([words[0].capitalize(), *words[1:]]) + "."


VOCAB = made_up_words(900, seed=20)


# --------------------------------------------------------------------------- paragraphs


def test_paragraphs_are_separated_by_blank_lines_and_stripped():
    text = "  First paragraph here.  \n\nSecond one,\nstill second.\n\n\n\tThird.\n"
    assert texts_of(text, paragraphs(text)) == ["First paragraph here.", "Second one,\nstill second.", "Third."]


def test_paragraphs_one_per_line_when_a_line_is_longer_than_the_wrap_width(articles):
    long_line = "This line is long enough to show that the text is not hard-wrapped newswire, " * 2
    text = f"Short headline\n{long_line.strip()}\nAnother short line\nAnd a last one"
    assert texts_of(text, paragraphs(text)) == ["Short headline", long_line.strip(), "Another short line", "And a last one"]
    # Seed 002 is written one paragraph per line.
    b = articles[ARTICLE_B]
    assert texts_of(b, paragraphs(b)) == [line for line in b.splitlines() if line.strip()]


def test_paragraphs_of_hard_wrapped_text_join_lines_until_a_blank_or_indented_line():
    text = (
        "The quick brown fox jumps over\n"
        "the lazy dog and runs away.\n"
        "  An indented line starts a\n"
        "new paragraph here.\n"
        "\n"
        "After a blank line, the third\n"
        "paragraph ends here."
    )
    assert texts_of(text, paragraphs(text)) == [
        "The quick brown fox jumps over\nthe lazy dog and runs away.",
        "An indented line starts a\nnew paragraph here.",
        "After a blank line, the third\nparagraph ends here.",
    ]


@pytest.mark.parametrize("width, wrapped", [(100, True), (101, False)])
def test_text_is_hard_wrapped_when_no_line_is_longer_than_100_characters(width, wrapped):
    lines = ["Line one " + "x" * (width - 10) + ".", "Line two is short.", "Line three " + "y" * (width - 12) + "."]
    assert max(map(len, lines)) == width
    text = "\n".join(lines)
    assert texts_of(text, paragraphs(text)) == ([text] if wrapped else lines)


def test_two_short_lines_are_not_taken_for_wrapped_text():
    text = "Short line one\nShort line two"
    assert texts_of(text, paragraphs(text)) == ["Short line one", "Short line two"]


def test_paragraphs_of_crlf_text_are_those_of_lf_text():
    lf = "Wrapped text starts on\nthis line and goes on.\n\nSecond paragraph\nof the text.\n   Indented third.\n"
    crlf = lf.replace("\n", "\r\n")
    got = texts_of(crlf, paragraphs(crlf))
    assert got == [p.replace("\n", "\r\n") for p in texts_of(lf, paragraphs(lf))]
    assert len(got) == 3
    assert not any(p.endswith(("\r", "\n")) or p.startswith(("\r", "\n")) for p in got)


def test_paragraphs_of_blank_text_are_none():
    assert paragraphs("") == []
    assert paragraphs(" \n\r\n\t\n") == []


# --------------------------------------------------------------------------- sentences


@pytest.mark.parametrize(
    "text, expected",
    [
        ('He said: "We agree." Mr. Smith left the U.S. Army. Then?',
         ['He said: "We agree."', "Mr. Smith left the U.S. Army.", "Then?"]),
        ("It ended (finally.) Then came [the rest.] Done here.",
         ["It ended (finally.)", "Then came [the rest.]", "Done here."]),
        ("He shouted “Stop!” She stopped. ‘Why?’ he asked. It rained!",
         ["He shouted “Stop!”", "She stopped.", "‘Why?’ he asked.", "It rained!"]),
        ("Mrs. Jones met Dr. Brown and Prof. Green at St. Mary. They talked.",
         ["Mrs. Jones met Dr. Brown and Prof. Green at St. Mary.", "They talked."]),
        ("J. R. R. Tolkien wrote it. The U.S. economy grew, e.g. Exports rose.",
         ["J. R. R. Tolkien wrote it.", "The U.S. economy grew, e.g. Exports rose."]),
        ("Prices rose 5 percent. 2020 was hard. Is it over? Yes.",
         ["Prices rose 5 percent.", "2020 was hard.", "Is it over?", "Yes."]),
        ("It ended. “Next,” he said. (Then silence.) Wait... What?! Fine.",
         ["It ended.", "“Next,” he said.", "(Then silence.)", "Wait...", "What?!", "Fine."]),
        ("The value is 3.5 today. and a lowercase start does not split.",
         ["The value is 3.5 today. and a lowercase start does not split."]),
    ],
)
def test_sentences(text, expected):
    spans = sentences(text)
    assert texts_of(text, spans) == expected
    for s, e in spans:
        assert_clean_span(text, s, e)


def test_sentences_of_a_paragraph_are_offsets_into_the_whole_text():
    text = "Before. Ignored.\n\nFirst one here. Second one there.\n\nAfter."
    start, end = paragraphs(text)[1]
    spans = sentences(text, start, end)
    assert texts_of(text, spans) == ["First one here.", "Second one there."]
    assert all(start <= s < e <= end for s, e in spans)


def test_sentences_end_after_a_closing_guillemet():
    text = "Il a dit «Nous sommes bien d'accord.» Puis il est parti."
    assert texts_of(text, sentences(text)) == ["Il a dit «Nous sommes bien d'accord.»", "Puis il est parti."]


# --------------------------------------------------------------------------- segment


def test_segment_merges_runs_of_short_units_and_drops_short_leftovers():
    text = (
        "Hi there. Yo man. One two three four five six seven. Good day. Bye now.\n"
        "Ok then. Another full sentence with enough words here. The end."
    )
    passages, _, _ = segment(text)
    assert texts_of(text, passages) == [
        "One two three four five six seven.",  # "Hi there. Yo man." (4 words) is dropped
        "Good day. Bye now.\nOk then.",  # 6 words in a run of short sentences, across lines: one passage
        "Another full sentence with enough words here.",  # "The end." alone is dropped
    ]
    assert [u for _, _, u in passages] == [0, 1, 2]


def test_segment_min_words_decides_what_is_short():
    text = "Hi there. One two three four five six seven."
    assert texts_of(text, segment(text, PassageConfig(min_words=2))[0]) == ["Hi there.", "One two three four five six seven."]
    assert texts_of(text, segment(text, PassageConfig(min_words=8))[0]) == ["Hi there. One two three four five six seven."]
    assert segment(text, PassageConfig(min_words=10))[0] == []


def test_segment_by_paragraph():
    text = (
        "The first paragraph has two full sentences. Here is the second one of them.\n\n"
        "Tiny.\n\n"
        "The third paragraph is long enough to count."
    )
    by_sentence = texts_of(text, segment(text)[0])
    by_paragraph = texts_of(text, segment(text, PassageConfig(unit="paragraph"))[0])
    assert by_sentence == ["The first paragraph has two full sentences.", "Here is the second one of them.",
                           "The third paragraph is long enough to count."]
    assert by_paragraph == ["The first paragraph has two full sentences. Here is the second one of them.",
                            "The third paragraph is long enough to count."]


def test_segment_words_are_casefolded_with_spans_into_the_text():
    text = "ÄBC Straße, [Ωmega] x\u0301y 𝔘nicode."
    _, token_spans, tokens = segment(text)
    assert texts_of(text, token_spans) == ["ÄBC", "Straße", "Ωmega", "x", "y", "𝔘nicode"]
    assert tokens == [t.casefold() for t in texts_of(text, token_spans)]


def test_the_comment_form_footer_of_000_is_one_passage(articles):
    a = articles[ARTICLE_A]
    footer = a[a.index("NO COMMENTS") :].strip()
    assert texts_of(a, segment(a)[0])[-1] == footer


@pytest.mark.parametrize("config", [DEFAULT, PassageConfig(unit="paragraph"), PassageConfig(min_words=1)],
                         ids=["sentence", "paragraph", "min_words=1"])
def test_every_span_of_the_seeds_slices_a_stripped_passage(articles, config):
    for text in [*articles.values(), articles[ARTICLE_A].replace("\n", "\r\n")]:
        passages, token_spans, _ = segment(text, config)
        assert passages
        ends = [0]
        for s, e, _ in passages:
            assert_clean_span(text, s, e)
            assert s >= ends[-1]  # in order, never overlapping
            ends.append(e)
        for s, e in token_spans:
            assert _WORD.fullmatch(text[s:e])


# --------------------------------------------------------------------------- the seeds


@pytest.fixture(scope="module")
def seed_found(articles) -> dict[str, list[PassageMatch]]:
    """Matches of the two seed articles, 000 first, with the default configuration."""
    return feed({ARTICLE_A: articles[ARTICLE_A], ARTICLE_B: articles[ARTICLE_B]})[1]


def test_seed_000_headline_repeats_the_breadcrumb_line(articles, seed_found):
    a = articles[ARTICLE_A]
    headline = "PM Imran Khan extends support to Azerbaijan in resolving Nagorno-Karabakh issue"
    m = the_match(seed_found[ARTICLE_A], a, headline)
    assert a[m.start : m.end] == headline
    assert (m.kind, m.unit, m.match_id) == ("near", "passage", ARTICLE_A)
    assert a[m.match_start : m.match_end] == "Home National " + headline
    assert m.similarity >= 0.8
    assert m.similarity == pytest.approx(jaccard5(headline, "Home National " + headline), abs=1e-6)


def test_seed_000_reworded_statement_is_a_near_repeat_within_the_article(articles, seed_found):
    a = articles[ARTICLE_A]
    m = the_match(seed_found[ARTICLE_A], a, "According to a statement issued by Azarbaijan")
    passage, earlier = a[m.start : m.end], a[m.match_start : m.match_end]
    # Only the first sentence of its paragraph.
    assert passage.startswith("According to a statement issued by Azarbaijan")
    assert passage.endswith("within two minutes of the truce taking affect.")
    assert "Armenian spokespersons" not in passage
    assert earlier.startswith("Azerbaijan’s Ministry of Foreign Affairs said in a")
    assert earlier.endswith("throughout the morning.")
    assert (m.kind, m.unit, m.match_id) == ("near", "passage", ARTICLE_A)
    assert m.match_end <= m.start
    assert m.similarity == pytest.approx(jaccard5(passage, earlier), abs=1e-6)


def test_seed_002_quotes_the_pakistan_stands_with_azerbaijan_sentence_of_000(articles, seed_found):
    a, b = articles[ARTICLE_A], articles[ARTICLE_B]
    m = the_match(seed_found[ARTICLE_B], b, "Pakistan stands with Azerbaijan in its quest")
    assert (m.kind, m.match_id) == ("near", ARTICLE_A)
    assert "[Pakistan] stands with [Azerbaijan]" in a[m.match_start : m.match_end]
    assert m.similarity == pytest.approx(jaccard5(b[m.start : m.end], a[m.match_start : m.match_end]), abs=1e-6)


def test_seed_002_tribute_to_azeri_forces_repeats_000(articles, seed_found):
    a, b = articles[ARTICLE_A], articles[ARTICLE_B]
    quote = "Azeri forces valiantly defending their territorial integrity"
    m = the_match(seed_found[ARTICLE_B], b, quote)
    assert m.match_id == ARTICLE_A
    assert quote in a[m.match_start : m.match_end]


def test_the_seeds_have_exactly_these_four_repeats(articles, seed_found):
    docs = {ARTICLE_A: articles[ARTICLE_A], ARTICLE_B: articles[ARTICLE_B]}
    expected = [  # (id, the passage starts with, the earlier passage starts with)
        (ARTICLE_A, "PM Imran Khan extends support", "Home National PM Imran Khan"),
        (ARTICLE_A, "According to a statement issued by", "Azerbaijan’s Ministry of Foreign Affairs said"),
        (ARTICLE_B, "On Sunday, Prime Minister Imran Khan, on", "“We pay tribute to Azeri forces"),
        (ARTICLE_B, '"Pakistan stands with Azerbaijan', "“[Pakistan] stands with [Azerbaijan]"),
    ]
    got = described(docs, seed_found)
    assert len(got) == len(expected)
    for (rid, _, unit, passage, earlier), (want_id, want, want_earlier) in zip(got, expected):
        assert (rid, unit) == (want_id, "passage")
        assert passage.startswith(want) and earlier.startswith(want_earlier), (passage, earlier)


def test_unrelated_sentences_on_the_same_topic_are_not_repeats(articles, seed_found):
    a = articles[ARTICLE_A]
    meets = "Prime Minister Imran Khan meets President of Azerbaijan Ilham Aliyev in Davos, January 2020"
    tweeted = a[a.index("On Sunday, Prime Minister Imran Khan tweeted") :].split(".")[0] + "."
    assert jaccard5(meets, tweeted) < DEFAULT.threshold  # the closest unrelated pair, by the test's own count
    reported = [a[m.start : m.end] for m in seed_found[ARTICLE_A]]
    assert not any("Davos" in r or "tweeted" in r for r in reported)


def test_the_footer_becomes_boilerplate_on_the_third_page_that_carries_it(articles):
    # The two seeds alone carry the comment-form footer once (only 000 has it), so it
    # is never boilerplate there: boilerplate needs further pages of the same site.
    a, b = articles[ARTICLE_A], articles[ARTICLE_B]
    footer_start = a.index("NO COMMENTS")
    footer = a[footer_start:].strip()
    lines = b.splitlines()
    starts = ("The minister expressed these views", "Meanwhile, Bayramov appreciated", "The mountainous western region")
    paras = [next(line for line in lines if line.startswith(s)) for s in starts]
    pages = {f"page-{k}": f"{para}\n\n{footer}" for k, para in enumerate(paras, start=2)}
    docs = {ARTICLE_A: a, **pages}
    _, found = feed(docs)
    assert not any(footer in a[m.start : m.end] for m in found[ARTICLE_A])
    kinds = []
    for rid, page in pages.items():
        assert len(found[rid]) == 1, described(docs, {rid: found[rid]})
        m = found[rid][0]
        assert page[m.start : m.end] == footer
        assert (m.match_id, m.match_start, m.match_end, m.unit) == (ARTICLE_A, footer_start, len(a), "passage")
        assert m.similarity == 1.0
        kinds.append(m.kind)
    assert kinds == ["exact", "boilerplate", "boilerplate"]


# --------------------------------------------------------------------------- properties

PASSAGE_WORDS, FILLER_1, FILLER_2 = VOCAB[0::3], VOCAB[1::3], VOCAB[2::3]


def sentences_from(words: list[str], min_size: int = 1, max_size: int = 12):
    return st.lists(st.sampled_from(words), min_size=min_size, max_size=max_size).map(sentence)


SEPARATORS = st.sampled_from([" ", "  ", "\n", "\n\n", "\r\n"])


def join_with(parts: list[str], seps: list[str]) -> str:
    """``parts[0] + seps[0] + parts[1] + ...``."""
    return parts[0] + "".join(sep + part for sep, part in zip(seps, parts[1:]))


@st.composite
def document_around(draw, passage: str, fillers: list[str]) -> str:
    """Sentences of ``fillers`` words with ``passage`` somewhere among them."""
    parts = draw(st.lists(sentences_from(fillers), max_size=6))
    parts.insert(draw(st.integers(0, len(parts))), passage)
    seps = draw(st.lists(SEPARATORS, min_size=len(parts) - 1, max_size=len(parts) - 1))
    return join_with(parts, seps)


@PROPERTY
@given(data=st.data(), passage=sentences_from(PASSAGE_WORDS, min_size=DEFAULT.min_words, max_size=20))
def test_a_sentence_copied_verbatim_is_an_exact_repeat_of_its_first_occurrence(data, passage):
    first = data.draw(document_around(passage, FILLER_1), label="first")
    later = data.draw(document_around(passage, FILLER_2), label="later")
    _, found = feed({"first": first, "later": later})
    m = the_match(found["later"], later, passage)
    assert later[m.start : m.end] == passage
    assert first[m.match_start : m.match_end] == passage
    assert m.kind in ("exact", "boilerplate")
    assert (m.similarity, m.match_id, m.unit) == (1.0, "first", "passage")


_ODD = ["\u0301", "\u0308", "\u200d", "\U0001d518", "\U0001f600", "\U00010400", "\U00010428", "ß", "İ", "ﬁ", "Ǆ",
        "\u00a0", "\u2028", "\u3000", "«", "»", "“", "”", "’", "‘", "[", "]", "(", ")", '"', "'", "\x0c"]
_TOKENS = st.one_of(
    st.sampled_from(["Alpha", "beta", "Gamma", "delta", "Mr.", "U.S.", "J.", "Über", "naïve", "e\u0301clair",
                     "ÆSIR", "x", "2020", "𐐀bc", "😀x"]),
    st.text(st.sampled_from(list("ab.!?, \n\r\t") + _ODD), min_size=1, max_size=4),
    st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=3),
)
_GLUE = st.sampled_from([" ", " ", ". ", "! ", "? ", "\n", "\n\n", "\r\n", ".\n  ", '." ', ", "])
_CONFIGS = [DEFAULT, PassageConfig(min_words=1, window=2, unit="paragraph"),
            PassageConfig(min_words=2, window=3, threshold=0.5, boilerplate_docs=2)]


@st.composite
def corpora(draw) -> list[str]:
    """A few texts built from a shared pool of random snippets, so that repeats occur."""
    pool = ["".join(t + g for t, g in piece)
            for piece in draw(st.lists(st.lists(st.tuples(_TOKENS, _GLUE), min_size=1, max_size=25), min_size=1, max_size=5))]
    picks = draw(st.lists(st.lists(st.integers(0, len(pool) - 1), max_size=5), min_size=2, max_size=4))
    glue = draw(st.sampled_from(["", " ", "\n", "\n\n", "\r\n"]))
    return [glue.join(pool[i] for i in pick) for pick in picks]


@PROPERTY
@given(texts=corpora(), config=st.sampled_from(_CONFIGS))
def test_every_reported_span_is_inside_its_text_and_the_matched_text(texts, config):
    docs = {f"d{k}": t for k, t in enumerate(texts)}
    _, found = feed(docs, config)
    seen: list[str] = []
    for rid, matches in found.items():
        seen.append(rid)
        text = docs[rid]
        for m in matches:
            assert_clean_span(text, m.start, m.end)
            assert m.match_id in seen
            assert_clean_span(docs[m.match_id], m.match_start, m.match_end)
            assert m.kind in ("exact", "near", "boilerplate") and m.unit in ("passage", "quote")
            assert 0.0 < m.similarity <= 1.0
            if m.match_id == rid:
                assert m.unit == "passage" and m.match_end <= m.start  # an earlier passage of the same text


@PROPERTY
@given(parts=st.lists(sentences_from(VOCAB, max_size=10), min_size=1, max_size=10), data=st.data())
def test_remove_spans_cuts_the_removed_passages_and_keeps_everything_else(parts, data):
    seps = data.draw(st.lists(SEPARATORS, min_size=len(parts) - 1, max_size=len(parts) - 1))
    text = join_with(parts, seps)
    passages = segment(text, PassageConfig(min_words=1))[0]
    cut = data.draw(st.lists(st.booleans(), min_size=len(passages), max_size=len(passages)))
    removed = [(s, e) for (s, e, _), c in zip(passages, cut) if c]
    kept = [(s, e) for (s, e, _), c in zip(passages, cut) if not c]
    # Quotes over the kept passages must be ignored: cutting words out of a sentence would break it.
    matches = [PassageMatch(s, e, "exact", 1.0, "x", 0, 1) for s, e in removed]
    matches += [PassageMatch(s, e, "exact", 1.0, "x", 0, 1, unit="quote") for s, e in kept]
    out = remove_spans(text, data.draw(st.permutations(matches)))
    for s, e in removed:
        if text.count(text[s:e]) == 1:
            assert text[s:e] not in out
    outside, at = [], 0
    for s, e in removed:
        outside.append(text[at:s])
        at = e
    outside.append(text[at:])
    assert out.split() == " ".join(outside).split()
    if not removed:
        assert out == text


def test_remove_spans_takes_whole_lines_with_their_break():
    text = "Keep this line.\r\nDrop this line.\r\nKeep too. Drop in line.  Kept."
    drop1, drop2 = text.index("Drop this line."), text.index("Drop in line.")
    matches = [PassageMatch(drop2, drop2 + 13, "near", 0.5, "x", 0, 1), PassageMatch(drop1, drop1 + 15, "exact", 1.0, "x", 0, 1)]
    assert remove_spans(text, matches) == "Keep this line.\r\nKeep too. Kept."
    assert remove_spans(text, []) == text


# --------------------------------------------------------------------------- near repeats


BASE_WORDS = VOCAB[100:124]
EVERY_THIRD = frozenset(range(1, 24, 3))  # never more than 2 unchanged words in a row: no quote either


def near_pair(changed: set[int] | frozenset[int]) -> tuple[str, str]:
    """A 24-word sentence and a copy with the words at ``changed`` replaced (and case and punctuation changed)."""
    edited = [f"other{k}" if k in changed else w for k, w in enumerate(BASE_WORDS)]
    edited[2] = edited[2].upper() + ","
    return sentence(BASE_WORDS), sentence(edited)


def docs_with(first: str, later: str) -> dict[str, str]:
    """Two documents: ``first`` and ``later`` each among sentences of their own."""
    return {
        "first": f"{sentence(VOCAB[300:310])}\n{first} {sentence(VOCAB[310:318])}",
        "later": f"{sentence(VOCAB[400:409])} {later}\n\n{sentence(VOCAB[409:420])}",
    }


def test_a_reworded_sentence_is_near_with_its_exact_jaccard():
    first, later = near_pair({4, 12, 20})
    expected = jaccard5(first, later)
    assert 0.5 < expected < 0.9
    docs = docs_with(first, later)
    _, found = feed(docs)
    assert found["first"] == []
    assert len(found["later"]) == 1
    m = found["later"][0]
    assert (docs["later"][m.start : m.end], docs["first"][m.match_start : m.match_end]) == (later, first)
    assert (m.kind, m.unit, m.match_id) == ("near", "passage", "first")
    assert m.similarity == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    "changed, threshold, reported",
    [
        (EVERY_THIRD | {0}, 0.35, True),  # J = 0.354
        (EVERY_THIRD | {0, 23}, 0.35, False),  # J = 0.345
        (EVERY_THIRD | {0, 12}, 0.35, False),  # J = 0.315 ...
        (EVERY_THIRD | {0, 12}, 0.25, True),  # ... found once the threshold is below it
    ],
)
def test_the_threshold_decides_what_is_near(changed, threshold, reported):
    first, later = near_pair(changed)
    expected = jaccard5(first, later)
    assert (expected >= threshold) == reported and abs(expected - threshold) > 0.003
    docs = docs_with(first, later)
    _, found = feed(docs, PassageConfig(threshold=threshold))
    got = [(docs["later"][m.start : m.end], m.kind, m.similarity) for m in found["later"]]
    assert got == ([(later, "near", pytest.approx(expected, abs=1e-6))] if reported else [])


# --------------------------------------------------------------------------- quotes

QUOTE = VOCAB[200:210]  # 10 words


def quoting(quote: str, k: int) -> str:
    """A sentence of words of its own (block ``k``) with ``quote`` in the middle."""
    own = VOCAB[500 + 40 * k : 540 + 40 * k]
    return sentence([*own[:20], quote, *own[20:]])


def test_a_quote_inside_two_different_sentences_is_reported_across_documents():
    plain = " ".join(QUOTE)
    styled = f'“{QUOTE[0].upper()} {QUOTE[1]}, {" ".join(QUOTE[2:5])} - {QUOTE[5].capitalize()} {" ".join(QUOTE[6:])}”'
    docs = {"first": quoting(plain, 0), "later": quoting(styled, 1)}
    assert jaccard5(docs["first"], docs["later"]) < DEFAULT.threshold
    _, found = feed(docs)
    assert found["first"] == []
    assert len(found["later"]) == 1
    m = found["later"][0]
    assert (m.unit, m.kind, m.similarity, m.match_id) == ("quote", "exact", 1.0, "first")
    assert docs["later"][m.start : m.end] == styled.strip("“”")
    assert docs["first"][m.match_start : m.match_end] == plain


def test_quotes_are_not_reported_within_one_document():
    text = quoting(" ".join(QUOTE), 0) + " " + quoting(" ".join(QUOTE), 1)
    passages = segment(text)[0]
    assert len(passages) == 2 and jaccard5(*texts_of(text, passages)) < DEFAULT.threshold
    assert feed({"one": text})[1]["one"] == []


def test_window_zero_turns_quotes_off():
    docs = {"first": quoting(" ".join(QUOTE), 0), "later": quoting(" ".join(QUOTE), 1)}
    assert [m.unit for m in feed(docs)[1]["later"]] == ["quote"]
    assert feed(docs, PassageConfig(window=0))[1]["later"] == []


def test_a_quote_found_in_two_earlier_documents_is_one_quote():
    # d1 has the middle 8 words of the quote, d2 (and d3) all 10: d3's 3 matching windows
    # are consecutive, so they should be one quote, pointing at d2 where all of it is.
    docs = {"d1": quoting(" ".join(QUOTE[1:9]), 0), "d2": quoting(" ".join(QUOTE), 1), "d3": quoting(" ".join(QUOTE), 2)}
    _, found = feed(docs)
    assert [docs["d2"][m.start : m.end] for m in found["d2"]] == [" ".join(QUOTE[1:9])]
    got = [(docs["d3"][m.start : m.end], m.match_id) for m in found["d3"]]
    assert got == [(" ".join(QUOTE), "d2")]


# --------------------------------------------------------------------------- candidate bound


def template_variants(count: int, seed: int = 7) -> list[str]:
    """``count`` sentences each keeping ~60% of the words of one 24-word template (the rest unique)."""
    rng = random.Random(seed)
    template = rng.sample(VOCAB, 24)
    return [sentence([w if rng.random() < 0.6 else f"uniq{i}w{k}" for k, w in enumerate(template)]) for i in range(count)]


@pytest.mark.parametrize("max_candidates", [4, 1000])
def test_candidates_verified_per_passage_are_bounded(max_candidates):
    texts = template_variants(300)
    pm = PassageMatcher(PassageConfig(max_candidates=max_candidates))
    found = pm.add_batch([f"d{i}" for i in range(len(texts))], texts, passage_features(texts, pm.config))
    stats = pm.stats
    assert sum(map(len, found)) > 100  # most variants repeat an earlier one
    assert stats.candidates_max <= max_candidates
    if max_candidates == 4:
        assert stats.capped > 0 and stats.candidates_max == 4
    else:  # without the cap, some passage has many more candidates than 4
        assert stats.capped == 0 and stats.candidates_max > 4


# --------------------------------------------------------------------------- pipeline


def test_pipeline_results_carry_passages_for_kept_records_only(articles):
    a, b = articles[ARTICLE_A], articles[ARTICLE_B]
    records = [Record("one", a), Record("two", a), Record("three", b)]
    results = list(deduplicate(records, DedupeConfig(passages=PassageConfig())))
    assert [r.match.duplicate_of for r in results] == [None, "one", None]
    assert results[1].passages is None
    _, found = feed({"one": a, "three": b})
    assert [results[0].passages, results[2].passages] == [found["one"], found["three"]]
    assert [len(r.passages) for r in (results[0], results[2])] == [2, 2]
    assert list(deduplicate(records))[0].passages is None  # off unless configured


# --------------------------------------------------------------------------- CLI

PASSAGE_KEYS = {"start", "end", "kind", "similarity", "match", "unit"}


def write_jsonl(path: Path, records: list[dict], extra_lines: tuple[tuple[int, bytes], ...] = ()) -> Path:
    lines = [json.dumps(r, ensure_ascii=False).encode() for r in records]
    for at, raw in extra_lines:
        lines.insert(at, raw)
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def output_records(proc) -> list[dict]:
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"Traceback" not in proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def check_passages(text: str, passages: list[dict], texts: dict[str, str]) -> None:
    for p in passages:
        assert set(p) == PASSAGE_KEYS and set(p["match"]) == {"id", "start", "end"}
        assert p["kind"] in ("exact", "near", "boilerplate") and p["unit"] in ("passage", "quote")
        assert_clean_span(text, p["start"], p["end"])
        assert_clean_span(texts[p["match"]["id"]], p["match"]["start"], p["match"]["end"])


def test_scan_passages_annotates_both_seed_records(run_dedupe, seeds_path, articles):
    records = output_records(run_dedupe(["scan", "--passages", seeds_path]))
    assert [r["id"] for r in records] == [ARTICLE_A, ARTICLE_B]
    pm = PassageMatcher()
    for r in records:
        got = r["dedupe"]["passages"]
        check_passages(r["text"], got, articles)
        assert got == [m.as_dict() for m in pm.add(r["id"], articles[r["id"]])]  # as the library finds them
        assert [p["kind"] for p in got] == ["near", "near"]


def test_scan_passages_gives_duplicates_no_passages_key(run_dedupe, tmp_path, articles):
    a, b = articles[ARTICLE_A], articles[ARTICLE_B]
    path = write_jsonl(tmp_path / "dups.jsonl", [{"id": "one", "text": a}, {"id": "two", "text": a}, {"id": "three", "text": b}])
    one, two, three = output_records(run_dedupe(["scan", "--passages", path]))
    assert two["dedupe"]["duplicate_of"] == "one"
    assert "passages" not in two["dedupe"]
    assert len(one["dedupe"]["passages"]) == 2 and len(three["dedupe"]["passages"]) == 2
    # The duplicate is not remembered either: three's repeats point at one, not at two.
    assert {p["match"]["id"] for p in three["dedupe"]["passages"]} == {"one"}


SHARED = "The committee approved the new budget after a long debate. Its members voted late on Tuesday evening."


def sharing_a_paragraph() -> tuple[str, str, str]:
    """Texts A and B (not near-duplicates as wholes) with the paragraph SHARED in the middle, and B without it."""
    a = f"Opening words of the first document are here.\n{SHARED}\nThe first document closes with this line."
    b_head, b_tail = "Another opening for the second document starts here.", "The second document ends on its own closing line."
    return a, f"{b_head}\n{SHARED}\n{b_tail}", f"{b_head}\n{b_tail}"


def test_filter_passages_removes_a_repeated_paragraph_and_keeps_other_fields(run_dedupe, tmp_path):
    a, b, b_cleaned = sharing_a_paragraph()
    records = [{"id": "A", "text": a, "lang": "en"},
               {"id": "B", "text": b, "meta": {"k": [1, 2.5, None]}, "n": 123456789012345678901234567890}]
    path = write_jsonl(tmp_path / "ab.jsonl", records)
    report_path = tmp_path / "report.json"
    proc = run_dedupe(["filter", "--passages", path, "--report", report_path])
    out_a, out_b = output_records(proc)
    assert proc.stdout.splitlines()[0] == path.read_bytes().splitlines()[0]  # nothing removed: bytes unchanged
    assert out_b == {**records[1], "text": b_cleaned}
    assert b"123456789012345678901234567890" in proc.stdout.splitlines()[1]
    report = json.loads(report_path.read_text())["passages"]
    assert report["removed"]["exact"] == {"passages": 1, "chars": len(SHARED)}
    assert report["removed"]["near"] == {"passages": 0, "chars": 0}
    assert report["removed"]["boilerplate"] == {"passages": 0, "chars": 0}
    top = report["top"]
    assert len(top) == 2  # the paragraph's two sentences are two groups
    for group in top:
        assert (group["occurrences"], group["documents"], group["first"]["id"]) == (2, 2, "A")
        assert a[group["first"]["start"] : group["first"]["end"]] in SHARED


@pytest.mark.parametrize("big", [False, True], ids=["no-big-int", "big-int"])
def test_filter_passages_keeps_an_out_of_range_float_field(run_dedupe, tmp_path, big):
    a, b, b_cleaned = sharing_a_paragraph()
    extra = ',"n":123456789012345678901234567890' if big else ""
    lines = [f'{{"id":"A","text":{json.dumps(a)},"f":1e400}}', f'{{"id":"B","text":{json.dumps(b)},"f":1e400{extra}}}']
    path = tmp_path / "floats.jsonl"
    path.write_text("\n".join(lines) + "\n")
    out_a, out_b = run_dedupe(["filter", "--passages", path]).stdout.splitlines()
    assert out_a == lines[0].encode()  # nothing removed: the line as it was
    assert json.loads(out_b)["text"] == b_cleaned
    strict = json.loads(out_b, parse_constant=lambda token: pytest.fail(f"not JSON: {token}"))
    assert strict["f"] == float("inf")  # what 1e400 reads as, as in the input


def passage_corpus(docs: int = 320, seed: int = 3) -> tuple[list[dict], int]:
    """Records sharing sentences (exact), edited copies (near), a site footer (boilerplate) and
    exact duplicate records; returns (records, number of duplicate records)."""
    rng = random.Random(seed)
    pool = [sentence(rng.sample(VOCAB, rng.randint(8, 14))) for _ in range(40)]
    footer = "Share this article\nFollow us on social media\nAll rights reserved"
    records: list[dict] = []
    duplicates = 0
    for i in range(docs):
        if i % 40 == 39:  # a whole earlier record again
            records.append({**rng.choice(records), "id": f"dup-{i:03d}"})
            duplicates += 1
            continue
        parts = [sentence([f"own{i}x{k}", *rng.sample(VOCAB, rng.randint(6, 12))]) for k in range(rng.randint(2, 4))]
        parts += rng.sample(pool, 2)
        shared = rng.choice(pool).split(" ")
        shared[len(shared) // 2] = f"edit{i}"
        parts.append(" ".join(shared))
        rng.shuffle(parts)
        body = "\n".join(" ".join(parts[k : k + 2]) for k in range(0, len(parts), 2))
        records.append({"id": f"doc-{i:03d}", "text": f"{body}\n\n{footer}", "n": i})
    return records, duplicates


def test_scan_passages_output_does_not_depend_on_workers(run_dedupe, tmp_path):
    records, duplicates = passage_corpus()
    path = write_jsonl(tmp_path / "corpus.jsonl", records, extra_lines=((100, b'{"id": "bad", "text": '),))
    outputs = []
    for workers in ("1", "2"):
        run_dir = tmp_path / f"w{workers}"
        run_dir.mkdir()
        proc = run_dedupe(["scan", "--passages", path, "--workers", workers, "--rejects", "rejects.jsonl",
                           "--report", "report.json"], cwd=run_dir)
        assert proc.returncode == 0, proc.stderr.decode()
        report = json.loads((run_dir / "report.json").read_text())
        report.pop("timings")
        report["passages"].pop("seconds")
        outputs.append((proc.stdout, (run_dir / "rejects.jsonl").read_bytes(), report))
    assert outputs[0] == outputs[1]

    stdout, rejects, report = outputs[0]
    c = report["counts"]
    assert c["input"] == len(records) + 1 == c["kept"] + c["duplicates"] + c["rejected"]
    assert (c["rejected"], c["duplicates"]) == (1, duplicates)
    assert [json.loads(line)["line"] for line in rejects.splitlines()] == [101]
    found = report["passages"]["found"]
    assert min(found["exact"], found["near"], found["boilerplate"]) > 0
    texts = {r["id"]: r["text"] for r in records}
    out = [json.loads(line) for line in stdout.splitlines()]
    assert [r["id"] for r in out] == [r["id"] for r in records]
    for r in out:
        assert ("passages" in r["dedupe"]) == (r["dedupe"]["duplicate_of"] is None)
        check_passages(r["text"], r["dedupe"].get("passages", []), texts)


@pytest.mark.parametrize("args, word", [(["--passage-unit", "word"], "unit"),
                                        (["--boilerplate-docs", "1"], "boilerplate_docs"),
                                        (["--passage-window", "1"], "window")])
def test_bad_passage_options_exit_2_with_a_message(run_dedupe, seeds_path, args, word):
    proc = run_dedupe(["scan", "--passages", seeds_path, *args])
    stderr = proc.stderr.decode()
    assert proc.returncode == 2, stderr
    assert word in stderr and stderr.startswith("dedupe: error:")
    assert "Traceback" not in stderr
    assert proc.stdout == b""


# --------------------------------------------------------------------------- numbers rule


TEMPLATE = "{name} Corp said first quarter revenues rose to {a} mln dlrs from {b} mln dlrs a year earlier."


def test_templated_sentences_with_other_figures_are_not_near_repeats():
    docs = {
        "d1": TEMPLATE.format(name="Acme", a="62.9", b="41.5"),
        "d2": TEMPLATE.format(name="Bolt", a="31.5", b="22.9"),
    }
    assert jaccard5(docs["d1"], docs["d2"]) >= PassageConfig().threshold  # similar words ...
    _, found = feed(docs)
    assert found["d2"] == []  # ... but other facts
    _, found = feed(docs, PassageConfig(numbers=False))
    assert found["d2"] == []  # ... about another company (the names rule)
    _, found = feed(docs, PassageConfig(numbers=False, names=False))
    assert [(m.kind, m.match_id) for m in found["d2"]] == [("near", "d1")]


def test_a_reworded_sentence_keeping_its_figures_is_a_near_repeat():
    docs = {
        "d1": "In 1986 China had a trade deficit of 11.9 billion dlrs, down from a record 14 billion in 1985.",
        "d2": "Customs figures show China had a trade deficit of 11.9 billion dlrs in 1986, down from 14 billion in 1985.",
    }
    _, found = feed(docs)
    assert [(m.kind, m.match_id) for m in found["d2"]] == [("near", "d1")]


@pytest.mark.parametrize(
    ("a", "b", "agree"),
    [
        ("no figures here", "rose 9.8 pct", True),  # one side without numbers: no constraint
        ("rose 9.8 pct", "a 9.8 pct rise", True),
        ("up 4.0 pct after 9.8 pct", "after a 9.8 pct increase", False),  # only half of the first's numbers
        ("up 4.0 pct after 9.8 pct", "9.8 pct, then 4.0 pct in 1987", True),  # more than half of each's
        ("sales 18.4 mln vs 17.8 mln", "sales 18.4 mln vs 17.0 mln", False),  # half is not more than half
        ("1,306,000 shares", "1306000 shares", True),  # thousands separators do not count
        ("62.9 and 41.5", "31.5 and 22.9", False),
    ],
)
def test_numbers_agree(a, b, agree):
    assert numbers_agree(_numbers(a), _numbers(b)) is agree
