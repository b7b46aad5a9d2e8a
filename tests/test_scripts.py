"""Words by script: every character of a script written without spaces is a word of its own (dedupe.features.scripts),
in the document path's kernel (word_hashes) as in the plain statement here."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe import ShingleConfig, normalize, text_shingles
from dedupe.features.scripts import SPACELESS_BLOCKS, is_spaceless, join_words, spaceless, split_words
from dedupe.features.shingles import word_hashes

# Characters from both sides of every block edge, spaces, ASCII, Hangul, Cyrillic, a 4-byte Han character.
_EDGE_CHARS = [chr(c) for first, last in SPACELESS_BLOCKS for c in (first - 1, first, last, last + 1)]
ALPHABET = st.sampled_from([*_EDGE_CHARS, " ", " ", "a", "b", "7", "é", "한", "국", "ж", "中", "文", "ไ", "\U00020001"])


def _reference_words(text: str) -> list[str]:
    """The rule as it reads: split on whitespace, then cut every spaceless character out as its own word."""
    out: list[str] = []
    for word in text.split():
        run = ""
        for char in word:
            lo_hi = [(a, b) for a, b in SPACELESS_BLOCKS if a <= ord(char) <= b]
            if lo_hi:
                out += [run] if run else []
                out.append(char)
                run = ""
            else:
                run += char
        out += [run] if run else []
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(ALPHABET, max_size=30), min_size=1, max_size=5))
def test_the_kernel_cuts_words_as_the_rule_reads(texts):
    hashes, counts = word_hashes([t.encode("utf-8") for t in texts])
    words = [_reference_words(t) for t in texts]
    assert counts.tolist() == [len(w) for w in words]
    assert split_words(" ".join(texts)) == [w for ws in words for w in ws]
    # A word's hash depends on its bytes alone: hashed alone, it is the same.
    alone = [int(word_hashes([w.encode("utf-8")])[0][0]) for ws in words for w in ws]
    assert hashes.tolist() == alone


def test_the_blocks_are_the_scripts_written_without_spaces():
    for char in "中文日本語ひらがなカタカナไทยລາວខ្មែរမြန်မာབོད":
        assert is_spaceless(char), char
    for char in "aZé한국어жΩअعא0１":  # Latin, Hangul, Cyrillic, Greek, Devanagari, Arabic, Hebrew, digits
        assert not is_spaceless(char), char
    assert spaceless(np.array([0x4E00, 0x9FFF, 0x20000, 0x3400 - 1])).tolist() == [True, True, True, False]


def test_mixed_text_has_latin_words_and_han_characters():
    assert split_words(normalize("Python 3.12 的新特性")) == ["python", "3", "12", "的", "新", "特", "性"]
    assert len(text_shingles("Python 3.12 的新特性", ShingleConfig(ngram=1))) == 7
    assert join_words(split_words(normalize("Python 3.12 的新特性"))) == "python 3 12 的新特性"


def test_full_width_forms_fold_to_ascii():
    assert normalize("ＡＢＣ　１２３！") == "abc 123"
    assert np.array_equal(text_shingles("ＰＹＴＨＯＮ　３"), text_shingles("python 3"))


def test_one_edited_character_changes_only_the_shingles_around_it():
    text = "自然语言处理是计算机科学领域与人工智能领域中的一个重要方向它研究能实现人与计算机之间用自然语言进行有效通信的各种理论和方法"
    edited = text.replace("通", "沟", 1)
    a, b = text_shingles(text), text_shingles(edited)
    assert len(a) == len(text) - 4  # one 5-gram per character position
    assert len(np.setdiff1d(a, b)) == 5  # the five 5-grams that hold the character


def test_english_words_are_cut_as_before():
    text = "Pakistan stands with Azerbaijan; café naïve résumé — 1,306,000 dlrs"
    words = normalize(text).split()
    hashes, counts = word_hashes([normalize(text).encode()])
    assert counts.tolist() == [len(words)]
    assert hashes.tolist() == [int(word_hashes([w.encode()])[0][0]) for w in words]


# --------------------------------------------------------------------------- what explain and the page show

ZH_A = (
    "函数中的局部变量可以使用内建命令来声明。通常情况下，变量和它们的值在函数和它的调用者之间是共享的。"
    "如果函数中执行了内建命令，那么函数结束，执行从函数调用之后的下一个命令开始。"
)
# B repeats A's second sentence with one character changed, after a sentence of its own.
ZH_B = "函数可以是递归的，对于递归调用的次数没有硬性限制。通常情况下，变量和它们的值在函数和它的调用者之间是共用的。"


def test_explain_shows_chinese_shingles_and_passage_spans_as_the_text_has_them(cli, tmp_path):
    import json

    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(ZH_A, encoding="utf-8")
    b.write_text(ZH_B, encoding="utf-8")
    result = cli(["explain", a, b, "--passages", "--json"])
    assert result.exit_code == 0, result.stderr
    got = json.loads(result.stdout)
    for example in got["shingles"]["shared_examples"]:
        assert len(example["text"]) == 5 and example["text"] in normalize(ZH_A).replace(" ", "")  # 5 characters
    (passage,) = got["passages"]
    assert passage["kind"] == "near" and passage["text"] == ZH_B[passage["start"] : passage["end"]]
    assert passage["text"].startswith("通常情况下") and passage["text"].endswith("共用的。")
    match = passage["match"]
    assert match["text"] == ZH_A[match["start"] : match["end"]] and match["text"].endswith("共享的。")
    text = cli(["explain", a, b, "--passages"]).stdout
    assert passage["text"] in text and match["text"] in text
