# ruff: noqa: RUF001 - full-width forms and sentence marks of other scripts are the point here
"""Passages in every script: words of the scripts written without spaces, sentence ends of other scripts, numbers
in other digits, and English unchanged.

The Chinese text is real: paragraphs of the Chinese bash(1) manual page (tests/fixtures/passages_zh.txt, from the
Debian package manpages-zh, GFDL-1.2+); the Japanese sentences are from the Japanese bash(1) page of the Debian
package manpages-ja (JM Project; licensed as the original page, GNU GPL).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe import PassageMatcher
from dedupe.config import PassageConfig
from dedupe.passages.names import name_words
from dedupe.passages.quotes import long_enough
from dedupe.passages.segment import number_key, numbers_agree, passage_features, passage_numbers, segment, sentences
from dedupe.passages.tokens import WORD, batch_words

FIXTURE = Path(__file__).parent / "fixtures" / "passages_zh.txt"
ZH = [line for line in FIXTURE.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
JA = [
    "コマンドが制御演算子 & で終わっている場合、シェルはコマンドをサブシェル内で バックグラウンド (backgr"
    "ound) で実行します。シェルはコマンドが終了するのを待たずに、返却ステータス 0 を返します。 コマンドを"
    " ; で区切った場合には、これらは順番に実行されます。シェルはそれぞれのコマンドが終了するのを順番に待"
    "ちます。 返却ステータスは、最後に実行したコマンドの終了ステータスになります。",
    "ログインシェルでない対話的シェルとして起動されると、 ~/.bashrc ファイルがあれば、 bash はここからコ"
    "マンドを読み込み、実行します。 この動作は --norc オプションで行わないようにできます。",
    "単純なコマンド (simple command) とは、 変数の代入を並べたもの (これは省略可能です) の後に、ブランク"
    "区切りの単語とリダイレクションを記述し、 最後に制御演算子を置いたものです。 最初の単語は実行するコマ"
    "ンドを指定します。",
]


def words(text: str) -> list[str]:
    w = batch_words([text])
    return [w.joined[w.offsets[k] : w.offsets[k + 1] - 1] for k in range(len(w.spans))]


def edit(text: str, old: str, new: str) -> str:
    """``text`` with its one occurrence of ``old`` replaced by ``new``."""
    assert text.count(old) == 1
    return text.replace(old, new)


def near_matches(first: str, second: str, config: PassageConfig = PassageConfig()) -> list:
    pm = PassageMatcher(config)
    assert pm.add("a", first) == []
    return [m for m in pm.add("b", second) if m.unit == "passage"]


# -- words --------------------------------------------------------------------------------------------------------


def test_a_character_of_a_script_without_spaces_is_a_word_even_inside_a_word_run() -> None:
    text = "Python的新特性。日本語のテキスト・ok"
    assert words(text) == ["python", "的", "新", "特", "性", "日", "本", "語", "の", "テ", "キ", "ス", "ト", "ok"]
    got = batch_words([text])
    assert got.spans[:3].tolist() == [[0, 6], [6, 7], [7, 8]]
    assert got.spaceless.tolist() == [False] + [True] * 12 + [False]
    assert [m.span() for m in WORD.finditer(text)] == [tuple(s) for s in got.spans.tolist()]
    # Each character hashes as the document path hashes it.
    assert len(got.hashes) == len(got.spans)


def test_thai_characters_and_their_vowel_signs_are_words() -> None:
    # "หิน" (stone): a consonant, a vowel sign (a combining mark, which \w leaves out), a consonant.
    assert words("หิน กั้น") == ["ห", "\u0e34", "น", "ก", "\u0e31", "\u0e49", "น"]
    # Punctuation of those scripts is no word (Khmer khan, katakana middle dot).
    assert words("ក។ア・イ") == ["ក", "ア", "イ"]


def test_han_text_has_no_names_and_its_characters_neither_upper_nor_lower() -> None:
    got = batch_words([ZH[1]])
    han = got.spaceless
    assert han.sum() > 50
    assert not got.upper[han].any() and not got.lower[han].any()
    assert not name_words(got).any()
    features = passage_features([ZH[1]])[0]
    assert all(len(n) == 0 for n in features.names)
    # Every Han character is a plain word; "shell" too; no passage of this paragraph is too short.
    assert all(features.wordy)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(max_codepoint=127), max_size=80), max_size=6))
def test_ascii_words_are_the_regex_words(texts: list[str]) -> None:
    got = batch_words(texts)
    first = 0
    for text, count in zip(texts, got.counts.tolist()):
        spans = [m.span() for m in re.finditer(r"\w+", text)]
        assert got.spans[first : first + count].tolist() == [list(s) for s in spans]
        assert got.joined[got.offsets[first] : got.offsets[first + count]] == "".join(
            text[s:e].casefold() + " " for s, e in spans
        )
        first += count
    assert not got.spaceless.any()


# -- sentences ----------------------------------------------------------------------------------------------------


def split(text: str) -> list[str]:
    return [text[s:e] for s, e in sentences(text)]


def test_full_width_sentence_ends_split_with_or_without_a_space() -> None:
    text = "第一句话在这里。第二句话！「引用的话。」然后呢？ 值是３．５。最后一句．完"
    assert split(text) == [
        "第一句话在这里。",
        "第二句话！",
        "「引用的话。」",
        "然后呢？",
        "值是３．５。",
        "最后一句．",
        "完",
    ]
    # Spans are code point spans of the text itself, the space after an end left out.
    spans = sentences(text)
    assert spans[3] == (text.index("然后"), text.index("？") + 1) and spans[4][0] == text.index("值")
    assert split("半角の句点｡次の文（括弧）。終わり") == ["半角の句点｡", "次の文（括弧）。", "終わり"]


def test_real_chinese_paragraphs_split_into_their_sentences() -> None:
    assert split(ZH[0]) == [
        "向标准输出打印一个以 $ 为前导的，以双引号引用的字符串列表。",
        "这是在当前语言环境不是 C 或 POSIX 时，脚本中需要翻译的字符串。",
        "这个选项隐含了 -n 选项；不会执行命令。",
    ]
    assert split(ZH[1])[-1] == "shell 在返回退出状态值之前，等待管道中的所有命令返回。"


def test_danda_arabic_armenian_and_other_sentence_ends() -> None:
    assert split("यह पहला वाक्य है। यह दूसरा वाक्य है॥ तीसरा") == ["यह पहला वाक्य है।", "यह दूसरा वाक्य है॥", "तीसरा"]
    assert split("هل هذا سؤال؟ نعم هذا جواب.") == ["هل هذا سؤال؟", "نعم هذا جواب."]
    assert split("Սա առաջինն է։ Սա երկրորդն է։") == ["Սա առաջինն է։", "Սա երկրորդն է։"]
    assert split("Սա առաջինն է։ սա նույնն է") == ["Սա առաջինն է։ սա նույնն է"]  # lower case goes on, as after "."
    assert split("یہ پہلا جملہ ہے۔ یہ دوسرا ہے۔") == ["یہ پہلا جملہ ہے۔", "یہ دوسرا ہے۔"]  # Urdu
    assert split("ሰላም ነው። እንዴት ነህ።") == ["ሰላም ነው።", "እንዴት ነህ።"]  # Ethiopic
    assert split("សួស្តី។អរគុណ។") == ["សួស្តី។", "អរគុណ។"]  # Khmer, with or without a space
    assert split("မင်္ဂလာပါ။ ကျေးဇူးတင်ပါတယ်။") == ["မင်္ဂလာပါ။", "ကျေးဇူးတင်ပါတယ်။"]  # Myanmar
    # After "." a letter of a script without case starts a sentence as a capital does (one written with spaces:
    # "." before Chinese or Japanese is more often an ellipsis or a file name).
    assert split("첫 번째 문장입니다. 두 번째 문장입니다.") == ["첫 번째 문장입니다.", "두 번째 문장입니다."]
    # Written without a space after them, these ends do not split ("।" inside a word run is no end).
    assert split("एक।दो") == ["एक।दो"]
    assert split("当指定了 [NAME...] 参数的时候。引数として '.' を指定する。") == [
        "当指定了 [NAME...] 参数的时候。",
        "引数として '.' を指定する。",
    ]


def test_min_words_counts_characters_of_scripts_without_spaces() -> None:
    def passages(text: str) -> list[str]:
        return [text[s:e] for s, e, _ in segment(text, PassageConfig())[0]]

    # Five characters are fewer than min_words (6): not matched on their own, merged with a short neighbour.
    assert passages("这个句子有足够多的字。很短的句子。") == ["这个句子有足够多的字。"]
    assert passages("很短的句子。也很短的。") == ["很短的句子。也很短的。"]
    assert passages("六个字的句子。") == ["六个字的句子。"]


# -- numbers ------------------------------------------------------------------------------------------------------


def test_numbers_in_other_digits_are_the_ascii_numbers() -> None:
    assert number_key("１２") == number_key("12") == number_key("١٢") == number_key("१२") == "12"
    assert number_key("３．５") == "3.5" and number_key("１,２００") == "1200"
    assert passage_numbers("增长１２％，达到３．５亿").tolist() == passage_numbers("up 12 pct to 3.5 bln").tolist()
    assert numbers_agree(passage_numbers("收入为１２３亿"), passage_numbers("收入为123亿"))
    assert not numbers_agree(passage_numbers("收入为１２３亿"), passage_numbers("收入为124亿"))


# -- near repeats -------------------------------------------------------------------------------------------------


def test_a_chinese_sentence_with_one_character_changed_is_a_near_repeat() -> None:
    source = "这是在当前语言环境不是 C 或 POSIX 时，脚本中需要翻译的字符串。"
    planted = edit(source, "翻", "编")
    first = ZH[0] + "\n" + ZH[4]
    second = ZH[2] + planted + ZH[3]
    found = near_matches(first, second)
    assert [(m.kind, second[m.start : m.end], first[m.match_start : m.match_end]) for m in found] == [
        ("near", planted, source)
    ]
    assert 0.35 <= found[0].similarity < 1


def test_every_chinese_sentence_of_the_fixture_is_found_with_one_character_changed() -> None:
    han = re.compile(r"[\u4e00-\u9fff]")
    planted = 0
    for n, paragraph in enumerate(ZH):
        for s, e in sentences(paragraph):
            sentence = paragraph[s:e]
            chars = [m.start() for m in han.finditer(sentence)]
            if len(chars) < 10:
                continue
            at = chars[len(chars) // 2]
            replacement = "甲" if sentence[at] != "甲" else "乙"
            edited = sentence[:at] + replacement + sentence[at + 1 :]
            found = PassageMatcher()
            found.add("source", "\n".join(ZH))
            got = found.add("copy", "无关的开头句子在这里出现。" + edited)
            assert [(m.kind, m.match_start) for m in got if m.unit == "passage"] == [
                ("near", len("\n".join(ZH[:n])) + (1 if n else 0) + s)
            ], edited
            planted += 1
    assert planted >= 10


def test_a_japanese_sentence_with_one_character_changed_is_a_near_repeat() -> None:
    source = "シェルはそれぞれのコマンドが終了するのを順番に待ちます。"
    planted = edit(source, "番", "序")
    second = JA[1] + planted + JA[2]
    found = near_matches(JA[0], second)
    assert [(m.kind, second[m.start : m.end], JA[0][m.match_start : m.match_end]) for m in found] == [
        ("near", planted, source)
    ]


def test_a_thai_line_with_one_character_changed_is_a_near_repeat() -> None:
    # Thai writes no sentence punctuation: a line is a passage.
    line = "กรุงเทพมหานครเป็นเมืองหลวงและเมืองที่มีประชากรมากที่สุดของประเทศไทย"
    planted = edit(line, "มาก", "นาก")
    found = near_matches("ภาษาไทยเป็นภาษาราชการของประเทศไทย\n" + line, planted + "\nบรรทัดอื่นที่ไม่เกี่ยวข้องกันเลย")
    assert [(m.kind, m.start, m.end) for m in found] == [("near", 0, len(planted))]


def test_an_exact_chinese_repeat_is_exact() -> None:
    sentence = "变量赋值和影响 shell 环境变量的内建命令在命令结束后不会再起作用。"
    found = near_matches(ZH[2], ZH[4] + sentence)
    assert [(m.kind, m.similarity) for m in found] == [("exact", 1.0)]


# -- quotes -------------------------------------------------------------------------------------------------------


def test_a_long_chinese_quote_is_found_and_a_common_phrase_is_not() -> None:
    quote = "管道的退出状态将是最后一个命令的退出状态的逻辑非值"
    a = "向标准输出打印一个以双引号引用的字符串列表，" + quote + "，这个选项隐含了不会执行命令的选项。"
    b = "变量赋值和影响环境变量的内建命令，" + quote + "，否则返回序列中最后执行的命令的返回值并且退出。"
    pm = PassageMatcher()
    pm.add("a", a)
    got = pm.add("b", b)
    assert [(m.unit, b[m.start : m.end]) for m in got] == [("quote", quote)]
    # Ten characters shared ("最后一个命令的返回值") weigh fewer than 8 words: no quote.
    pm = PassageMatcher()
    pm.add("a", "如果没有执行命令就返回零，否则返回值是最后一个命令的返回值，这在脚本中很常见。")
    assert pm.add("b", "在子进程里面运行的序列，它的结果总是最后一个命令的返回值，除非出现错误退出了。") == []


def test_long_enough_counts_words_of_other_scripts_whole() -> None:
    spans = np.array([(0, 3), (4, 9), (10, 12)])  # three words apart
    assert long_enough(spans, 3) and not long_enough(spans, 4)
    mixed = np.array([(0, 6), (6, 7), (7, 8), (8, 9)])  # "python" and three touching characters: 1 + 3 / 2 words
    assert long_enough(mixed, 2) and not long_enough(mixed, 3)


# -- the command line ---------------------------------------------------------------------------------------------


def test_scan_passages_finds_a_chinese_repeat(run_dedupe, tmp_path: Path) -> None:
    source = "如果 in 之后的词扩展的结果是空列表，就不会执行任何命令，返回值是 0。"
    planted = edit(source, "扩", "展")
    records = [
        {"id": "one", "text": ZH[4] + "\n" + ZH[0]},
        {"id": "two", "text": ZH[2] + planted + ZH[3]},
    ]
    path = tmp_path / "zh.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    proc = run_dedupe(["scan", "--passages", path])
    assert proc.returncode == 0, proc.stderr.decode()
    one, two = (json.loads(line) for line in proc.stdout.splitlines())
    assert one["dedupe"]["passages"] == []
    (p,) = two["dedupe"]["passages"]
    assert p["kind"] == "near" and p["match"]["id"] == "one"
    assert two["text"][p["start"] : p["end"]] == planted
    assert one["text"][p["match"]["start"] : p["match"]["end"]] == source
