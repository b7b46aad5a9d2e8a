"""Scripts written without spaces between words: every character of them is a word of its own.

Chinese, Japanese, Thai, Lao, Khmer, Myanmar and Tibetan mark no word boundaries with spaces, so a whole run of
such text would be one "word" and one edited character would change every shingle around it. Word tokenization
(documents: :func:`dedupe.features.shingles.word_hashes`; passages: :func:`dedupe.passages.tokens.batch_words`)
therefore makes each character of these scripts its own token, and keeps whole words for every script that uses
spaces (Latin, Cyrillic, Greek, Arabic, Devanagari, Hangul...). A word 5-gram of Chinese text is then five
consecutive Han characters; of mixed text ("Python 3.12 的新特性"), Latin words and Han characters in order.

The blocks (Unicode code point ranges, both ends included): Thai, Lao, Tibetan, Myanmar (and its extensions),
Khmer (and its symbols), Hiragana, Katakana (and its phonetic extensions, and the half-width forms NFKC turns
into them), the CJK Unified Ideographs (and extensions A to H), the CJK Compatibility Ideographs. A dictionary
segmenter (jieba, MeCab) would find real words; characters need no dictionary and no language guess.
"""

from __future__ import annotations

import numpy as np

# (first, last) code point of each block, ascending.
SPACELESS_BLOCKS: tuple[tuple[int, int], ...] = (
    (0x0E00, 0x0E7F),  # Thai
    (0x0E80, 0x0EFF),  # Lao
    (0x0F00, 0x0FFF),  # Tibetan
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x19E0, 0x19FF),  # Khmer symbols
    (0x3040, 0x309F),  # Hiragana
    (0x30A0, 0x30FF),  # Katakana
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK Unified Ideographs extension A
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0xA9E0, 0xA9FF),  # Myanmar extended B
    (0xAA60, 0xAA7F),  # Myanmar extended A
    (0xF900, 0xFAFF),  # CJK Compatibility Ideographs
    (0xFF66, 0xFF9F),  # half-width Katakana
    (0x20000, 0x323AF),  # CJK Unified Ideographs extensions B to H, compatibility supplement
)
# Block edges for a search: a code point is spaceless when it falls in an odd interval.
_EDGES = np.array([edge for first, last in SPACELESS_BLOCKS for edge in (first, last + 1)], dtype=np.int64)
# The smallest code point of a block, and its first UTF-8 byte: text without such a byte has no spaceless character.
FIRST_SPACELESS = SPACELESS_BLOCKS[0][0]
FIRST_SPACELESS_LEAD_BYTE = 0xE0


def spaceless(points: np.ndarray) -> np.ndarray:
    """Whether each code point is of a script written without spaces.

    Example:
        >>> spaceless(np.array([ord(c) for c in "a的ไ한ア"])).tolist()
        [False, True, True, False, True]
    """
    out: np.ndarray = np.searchsorted(_EDGES, np.asarray(points, dtype=np.int64), side="right") % 2 == 1
    return out


def is_spaceless(char: str) -> bool:
    """:func:`spaceless` of one character.

    Example:
        >>> is_spaceless("中"), is_spaceless("z")
        (True, False)
    """
    return bool(spaceless(np.array([ord(char)]))[0])


def utf8_char_starts(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each spaceless character starts in UTF-8 bytes ``data`` (uint8), and where it ends.

    Only 3- and 4-byte sequences can be spaceless (every block is at U+0E00 or above); their code points are
    decoded from the lead byte and its continuation bytes in numpy.

    Example:
        >>> data = np.frombuffer("ab 中文 x".encode(), dtype=np.uint8)
        >>> [x.tolist() for x in utf8_char_starts(data)]
        [[3, 6], [6, 9]]
    """
    n = len(data)
    lead = np.flatnonzero(data >= FIRST_SPACELESS_LEAD_BYTE)
    if len(lead) == 0:
        return lead, lead
    wide = data.astype(np.int64)
    padded = np.concatenate([wide, np.zeros(3, dtype=np.int64)])
    four = wide[lead] >= 0xF0
    point = np.where(
        four,
        ((padded[lead] & 0x07) << 18)
        | ((padded[lead + 1] & 0x3F) << 12)
        | ((padded[lead + 2] & 0x3F) << 6)
        | (padded[lead + 3] & 0x3F),
        ((padded[lead] & 0x0F) << 12) | ((padded[lead + 1] & 0x3F) << 6) | (padded[lead + 2] & 0x3F),
    )
    # Only a well-formed sequence (continuation bytes 10xxxxxx) is a character: other bytes cut nothing.
    continued = ((padded[lead + 1] & 0xC0) == 0x80) & ((padded[lead + 2] & 0xC0) == 0x80)
    continued &= ~four | ((padded[lead + 3] & 0xC0) == 0x80)
    hit = spaceless(point) & continued & (lead + np.where(four, 4, 3) <= n)
    starts = lead[hit]
    return starts, starts + np.where(four[hit], 4, 3)


def split_words(normalized: str) -> list[str]:
    """The words of normalized text as the document path counts them (in Python: for display, not speed).

    Example:
        >>> split_words("python 3 12 的新特性")
        ['python', '3', '12', '的', '新', '特', '性']
    """
    out: list[str] = []
    for word in normalized.split():
        run = ""
        for char in word:
            if is_spaceless(char):
                if run:
                    out.append(run)
                    run = ""
                out.append(char)
            else:
                run += char
        if run:
            out.append(run)
    return out


def join_words(words: list[str]) -> str:
    """Words as text: a space between two words unless both are characters of a script without spaces.

    Example:
        >>> join_words(["python", "的", "新", "特", "性", "is", "new"])
        'python 的新特性 is new'
    """
    out = ""
    for k, word in enumerate(words):
        if k and not (is_spaceless(words[k - 1][-1]) and is_spaceless(word[0])):
            out += " "
        out += word
    return out
