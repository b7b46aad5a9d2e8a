"""dedupe.features.normalize: NFKC, case folding, punctuation stripping, whitespace collapsing."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe import NormalizeConfig, normalize


def test_nfkc_folds_full_width_letters_and_digits():
    # U+FF21.. are FULLWIDTH LATIN CAPITAL LETTERs, U+FF11 FULLWIDTH DIGIT ONE.
    assert normalize("\uff28\uff45\uff4c\uff4c\uff4f \uff11\uff12") == "hello 12"


def test_nfkc_folds_ligatures():
    assert normalize("\ufb01nal o\ufb03ce") == "final office"  # "fi" and "ffi" ligatures


def test_casefold_is_stronger_than_lowercase():
    assert normalize("STRASSE Straße") == "strasse strasse"
    assert normalize("ΣΊΣΥΦΟΣ") == normalize("σίσυφος")


def test_punctuation_becomes_word_boundaries():
    assert normalize("[Pakistan]") == "pakistan"
    assert normalize("Azerbaijan’s people") == "azerbaijan s people"
    assert normalize("well-known,fact.") == "well known fact"
    assert normalize("«quoted» — dash") == "quoted dash"


def test_underscore_and_digits_are_word_characters():
    assert normalize("snake_case 42") == "snake_case 42"


def test_whitespace_runs_collapse_to_single_spaces_without_ends():
    assert normalize("  a\t\tb\n\n c\r\n\u00a0d\u2003 ") == "a b c d"


def test_empty_and_punctuation_only_texts_normalize_to_empty():
    assert normalize("") == ""
    assert normalize("   \n\t ") == ""
    assert normalize("!!! ... ???") == ""


def test_docstring_example_holds():
    assert normalize("  [Pakistan] stands\n with   AZERBAIJAN’s people ") == "pakistan stands with azerbaijan s people"


def test_each_step_can_be_turned_off():
    text = "\uff21b, C!"
    assert normalize(text, NormalizeConfig(unicode_form="")) == "\uff41b c"  # full-width a kept (casefolded)
    assert normalize(text, NormalizeConfig(casefold=False)) == "Ab C"
    assert normalize(text, NormalizeConfig(strip_punctuation=False)) == "ab, c!"


def test_nfc_form_keeps_compatibility_characters():
    assert normalize("\uff21", NormalizeConfig(unicode_form="NFC")) == "\uff41"
    # NFC composes e + combining acute into one word character.
    assert normalize("e\u0301te", NormalizeConfig(unicode_form="NFC")) == "\u00e9te"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalized_text_is_words_separated_by_single_spaces(text):
    out = normalize(text)
    assert out == " ".join(out.split())  # single spaces, none at the ends
    for char in out.replace(" ", ""):  # word characters or combining marks only
        assert re.fullmatch(r"\w", char) or unicodedata.category(char)[0] == "M", repr(char)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalize_is_idempotent(text):
    once = normalize(text)
    assert normalize(once) == once


@settings(max_examples=200, deadline=None)
@given(st.lists(st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True), min_size=1, max_size=10), st.data())
def test_plain_lowercase_words_survive_any_separators(words, data):
    separators = st.sampled_from([" ", "  ", "\t", "\n", ", ", " - ", "...", "!\n", "\u3000"])
    text = words[0]
    for w in words[1:]:
        text += data.draw(separators) + w
    assert normalize(text) == " ".join(words)


def test_combining_marks_stay_inside_their_words():
    # Devanagari vowel signs and virama (category Mn/Mc) are not punctuation.
    assert normalize("नमस्ते दुनिया") == "नमस्ते दुनिया"
    assert normalize("مَرْحَبًا!") == "مَرْحَبًا"


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_prepared_text_splits_into_exactly_the_normalized_words(text):
    from dedupe.features.normalize import prepare

    words = normalize(text).split(" ") if normalize(text) else []
    assert prepare(text).split() == words
    assert prepare(text).encode("utf-8").split() == [w.encode("utf-8") for w in words]


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(st.text(), st.text(alphabet=st.characters(max_codepoint=127))),
    st.booleans(),
    st.booleans(),
)
def test_prepare_utf8_equals_prepare_encoded(text, casefold, strip_punctuation):
    from dedupe.features.normalize import prepare, prepare_utf8

    config = NormalizeConfig(casefold=casefold, strip_punctuation=strip_punctuation)
    assert prepare_utf8(text, config) == prepare(text, config).encode("utf-8")


@settings(max_examples=300, deadline=None)
@given(
    texts=st.lists(st.text(max_size=60) | st.text(alphabet=st.characters(max_codepoint=127), max_size=30), max_size=8),
    casefold=st.booleans(),
    punctuation=st.booleans(),
    form=st.sampled_from(["NFKC", "NFC", ""]),
)
def test_the_batch_preparation_equals_prepare_utf8_text_by_text(texts, casefold, punctuation, form):
    from dedupe.features.normalize import prepare_batch_utf8, prepare_utf8

    config = NormalizeConfig(unicode_form=form, casefold=casefold, strip_punctuation=punctuation)
    texts = [t for t in texts if not any(0xD800 <= ord(c) <= 0xDFFF for c in t)]  # what a record can hold
    assert prepare_batch_utf8(texts, config) == [prepare_utf8(t, config) for t in texts]
