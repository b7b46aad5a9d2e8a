"""The rules that keep templated, listed and generic sentences from counting as near repeats, and formula quotes.

Each rule is shown on the case it is for and on the case it must leave alone; tests/test_passage_tokens.py holds
the batch name kernel to its word-by-word reference, tests/test_passage_bulk.py the batch path to the per-passage
one with these rules on.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from dedupe.config import PassageConfig
from dedupe.passages.matcher import PassageMatcher, remove_spans
from dedupe.passages.names import names_agree, reference_names
from dedupe.passages.segment import numbers_agree, passage_features, passage_numbers

FILLER = "Trading was quiet in the morning session today."


def near(a: str, b: str, config: PassageConfig = PassageConfig()) -> list:
    """The near (or boilerplate) matches of ``b`` after ``a``, each text followed by a sentence of filler."""
    pm = PassageMatcher(config)
    pm.add("a", a + " " + FILLER)
    return [m for m in pm.add("b", b + " Analysts expect more of the same next week.") if m.unit == "passage"
            and m.kind != "exact"], pm


def test_a_template_about_another_company_is_no_repeat() -> None:
    a = "Lincoln Savings Bank said its board declared an initial dividend of ten cts per share payable soon."
    b = "Taunton Savings Bank said its board declared an initial cash dividend of ten cts per share payable soon."
    found, pm = near(a, b)
    assert found == [] and pm.stats.name_mismatches == 1
    found, _ = near(a, b, replace(PassageConfig(), names=False))
    assert [m.kind for m in found] == ["near"]


def test_the_same_man_named_two_ways_is_a_repeat() -> None:
    a = "Chancellor Gordon Brown said the meeting of the richest nations would be remembered as a debt relief summit."
    b = "Mr Brown said the meeting of the world's richest nations would be remembered as the debt relief summit."
    found, pm = near(a, b)
    assert [m.kind for m in found] == ["near"] and pm.stats.name_mismatches == 0


@pytest.mark.parametrize(
    ("a", "b", "agree"),
    [
        ("Lincoln Savings Bank said so today.", "Taunton Savings Bank said so today.", False),
        ("The New York Federal Reserve Bank bought bills.", "The Federal Reserve bought bills here.", True),
        ("Acme Corp said it would buy more shares.", "Acme Inc said it would buy more shares.", True),
        ("Servotronics Inc said it paid on April 21.", "Getty Petroleum Corp said it paid on April 21.", False),
        ("Using an average price the sales would rise.", "The sales would rise, Fry added later.", True),
    ],
)
def test_names_agree(a: str, b: str, agree: bool) -> None:
    fa, fb = passage_features([a])[0], passage_features([b])[0]
    assert names_agree(fa.names[0], fb.names[0]) is agree


def test_names_are_found_by_case_in_their_own_text() -> None:
    # "The" is a name word only in a text that never writes "the"; "March" (a date) and "Inc" are in no name.
    text = "The board met. Acme Inc said the deal closed in March with Northern Trust Co of Chicago."
    assert [(" ".join(w), weak) for w, weak in reference_names(text, 0, len(text))] == [
        ("acme", False),
        ("northern trust", False),
        ("chicago", False),
    ]
    shouted = "ACME SAID THE DEAL CLOSED."  # no lower case word: case tells nothing, no names
    assert reference_names(shouted, 0, len(shouted)) == []


def test_a_list_is_matched_exactly_or_not_at_all() -> None:
    sheet = "Subs not used: Lehmann, Fabregas, Senderos, Hoyte, Clichy, Owusu-Abeyie."
    other = "Subs not used: Lehmann, Fabregas, Senderos, Hoyte, Cole, Owusu-Abeyie."
    f = passage_features([sheet])[0]
    assert f.wordy == [False]  # names and two short words: fewer than six plain words
    found, _ = near(sheet, other)
    assert found == []
    pm = PassageMatcher()
    pm.add("a", sheet)
    assert [m.kind for m in pm.add("b", sheet)] == ["exact"]


def test_a_near_repeat_shares_min_words_plain_words() -> None:
    a = "The company did not identify the officials."
    b = "The company did not identify the vessels."
    found, pm = near(a, b)
    assert found == [] and pm.stats.word_mismatches >= 1
    found, _ = near(a, b, replace(PassageConfig(), min_words=4))
    assert [m.kind for m in found] == ["near"]


def test_numbers_agree_both_ways() -> None:
    later = passage_numbers("The jobless rate fell to 6.6 pct in March from 6.7 pct in February.")
    earlier = passage_numbers("The jobless rate was unchanged in February at 6.7 pct.")
    assert not numbers_agree(later, earlier) and not numbers_agree(earlier, later)
    assert numbers_agree(passage_numbers("profits of 1.23 billion, from 777 mln, in 1986"),
                         passage_numbers("1986 profits were 1.23 billion against 777 mln in 1985"))


def test_a_phrase_in_boilerplate_docs_documents_is_a_formula_and_stays_in_the_text() -> None:
    phrase = "he told BBC Radio 4's Today programme on Monday morning"
    texts = [
        f"Prices of food and clothing will rise again next year as wages lag behind, {phrase}.",
        f"The minister defended the new tax on petrol and diesel against its many critics, {phrase}.",
        f"Schools across the north of England urgently need hundreds more science teachers, {phrase}.",
    ]
    pm = PassageMatcher()
    found = [pm.add(str(k), t) for k, t in enumerate(texts)]
    assert [[m.repeat_kind for m in f] for f in found] == [[], ["quote"], ["formula"]]
    formula = found[2][0]
    assert (formula.kind, formula.unit) == ("boilerplate", "quote")
    assert texts[2][formula.start : formula.end].startswith("he told BBC Radio")
    assert remove_spans(texts[2], found[2]) == texts[2]  # filter --passages keeps quotes and formulae
    assert pm.report()["found"]["formula"] == 1 and pm.report()["found"]["quote"] == 1
