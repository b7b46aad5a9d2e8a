# ruff: noqa: RUF001, RUF002 - CJK punctuation and Cyrillic letters are the point here
"""Detection quality in scripts other than Latin: Chinese, Japanese and Russian prose from Debian's packages.

    .venv/bin/python benchmarks/languages.py [--languages zh ja ru] [--originals 400] [--copies 150]
        [--documents 200] [--seed 1] [--english] [--out FILE]
    .venv/bin/python benchmarks/quality.py --languages [zh ja ru] [--out FILE]   (the same, from quality.py)
    .venv/bin/python benchmarks/languages.py --write-fixtures tests/fixtures/languages

The texts are read at run time from Debian's packages, which must be installed first (as root):

    apt-get update && apt-get install -y manpages-zh manpages-ja fortunes-ru

* zh: the prose paragraphs of the Simplified Chinese man pages (``/usr/share/man/zh_CN``, package manpages-zh;
  its ``zh_TW`` pages are the same translations converted to Traditional characters, so they are left out);
* ja: the prose paragraphs of the Japanese man pages (``/usr/share/man/ja``, package manpages-ja);
* ru: the Russian fortunes of 21 topic files (``/usr/share/games/fortunes/ru``, package fortunes-ru: art, book,
  citates, computer, education, ... work; see ``FORTUNE_TOPICS``), attribution lines dropped.

No Debian package found holds Thai prose small enough to install for this (Thai there is fonts, input methods,
dictionaries and UI translations), so there is no Thai row.

Paragraphs are taken from the groff source of each man page with the macros stripped (no groff needed): the text
of ``.PP``/``.LP``/``.P`` paragraphs and of section bodies; tagged paragraphs (``.TP``/``.IP``/``.HP``: option
lists), ``.nf``/``.EX``/``.TS`` blocks (code, examples, tables) and requests are dropped. A paragraph is prose
when it has 20 characters or more, most of them of the language's script, and ends sentences (``。``); one
found in two man pages or more (a translator's credit) is dropped, and one repeated within a page is kept once.
A man page's consecutive short paragraphs are joined (by newlines) into one text of up to 600 characters. Texts
are deduplicated exactly (on ``dedupe.normalize``) and then near: a text whose character 5-gram Jaccard with an
earlier kept text is 0.5 or more is dropped, so that the originals are distinct texts.

Per language (a fixed seed):

* documents: ``--originals`` texts of 150+ characters (``--max-chars`` at most) and ``--copies`` lightly edited
  copies of randomly chosen originals, each after all originals: 2 characters replaced, at random positions, by
  other characters of the same script (Han by Han, Hiragana by Hiragana, Katakana by Katakana; drawn from the
  characters of the language's texts) for zh and ja; 2 words replaced by other Cyrillic words of the texts for ru;
* ground truth: exact Jaccard of all pairs with ``dedupe.text_shingles`` (the default word 5-grams, whatever the
  installed dedupe's tokenizer makes of the script) and, for the char rows, ``ShingleConfig(unit="char",
  ngram=5)``: as ``benchmarks/quality.py`` computes it for Reuters;
* runs: ``Deduplicator(DedupeConfig())`` (all defaults) and ``Deduplicator(DedupeConfig(shingle=ShingleConfig(
  unit="char", ngram=5)))`` (``--unit char --ngram 5``), records in order;
* measures: copies found (the copy's ``duplicate_of`` is its own original; "in cluster": in its original's
  final cluster), copies whose exact J reaches the threshold, false clusters (final clusters holding two originals
  whose exact J is below the threshold), precision, recall, P@t, R@t and F1@t of pairs exactly as quality.py
  defines them, and detection by true-J bin next to the S-curve ``1-(1-s^r)^b``.

Passages: ``--documents`` documents of 3 to 6 consecutive real sentences each (CJK sentences end at ``。！？``
and are joined without spaces, as written; Russian ones at ``.!?`` and joined by a space); each document after
the first ``--documents``/5 carries, at a random sentence boundary, one sentence (20+ characters of the script
for zh and ja, 8+ words of two letters or more for ru) of an earlier document with one character replaced as
above (for ru: a letter, a typo), each such sentence planted once, none that occurs twice in the corpus.
``PassageMatcher(PassageConfig())`` (what ``dedupe scan --passages`` runs) takes the documents in order; a planted
sentence is found when a span of kind exact or near covers at least half of it and names the document it came
from; "covered" counts those covered by any span (boilerplate, or naming another document, included).

``--english`` adds a digest of the default shingles of every document of Reuters and BBC (``../shared/data``)
and of every passage span ``PassageMatcher()`` finds there: equal digests for two dedupes mean English is
unchanged between them.

To measure another dedupe (the committed one, say) run this script with ``PYTHONPATH`` pointing at a copy of its
package: ``git archive HEAD dedupe | tar -x -C /tmp/before; cd /tmp && PYTHONPATH=/tmp/before
/work/main/.venv/bin/python /work/main/benchmarks/languages.py``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import re
import subprocess
import sys
import time
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import command_line, machine_line, today

LANGUAGES = ("zh", "ja", "ru")
MAN_ZH = Path("/usr/share/man/zh_CN")
MAN_JA = Path("/usr/share/man/ja")
FORTUNES_RU = Path("/usr/share/games/fortunes/ru")
PACKAGES = {"zh": "manpages-zh", "ja": "manpages-ja", "ru": "fortunes-ru"}
INSTALL = "apt-get install -y manpages-zh manpages-ja fortunes-ru"
MIN_PARAGRAPH = 20  # shorter man page paragraphs are list items or headings
NEAR_ORIGINALS = 0.5  # originals this close (char 5-gram Jaccard) to an earlier kept one are dropped
BIN = 0.05

# --------------------------------------------------------------------------- scripts

_HAN = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x323AF))
_HIRAGANA = ((0x3040, 0x309F),)
_KATAKANA = ((0x30A0, 0x30FF), (0x31F0, 0x31FF))
_CYRILLIC = ((0x0400, 0x04FF),)
# Punctuation of CJK text (ideographic, full-width): no space is put next to it when lines are joined.
_CJK_PUNCT = ((0x3000, 0x303F), (0xFF00, 0xFFEF), (0x2018, 0x201D), (0x2026, 0x2026), (0x2014, 0x2014))


def _in(char: str, blocks: tuple[tuple[int, int], ...]) -> bool:
    point = ord(char)
    return any(first <= point <= last for first, last in blocks)


def script_of(char: str) -> str | None:
    """"han", "hiragana", "katakana", "cyrillic" or None: the script whose characters may replace ``char``."""
    if _in(char, _HAN):
        return "han"
    if _in(char, _HIRAGANA):
        return "hiragana" if unicodedata.category(char) == "Lo" else None
    if _in(char, _KATAKANA):
        return "katakana" if unicodedata.category(char) == "Lo" else None
    if _in(char, _CYRILLIC):
        return "cyrillic" if char.isalpha() else None
    return None


def _cjk(char: str) -> bool:
    return script_of(char) in ("han", "hiragana", "katakana") or _in(char, _CJK_PUNCT)


# --------------------------------------------------------------------------- man pages (groff source)

_NEW_PARAGRAPH = {"PP", "LP", "P", "SH", "SS", "TH"}  # a prose paragraph (or a section body) starts
_ITEM = {"TP", "IP", "HP", "TQ"}  # a tagged paragraph starts: an option list, skipped
_BREAK = {"br", "sp", "RS", "RE", "in", "ti", "bp", "ne", "ce", "so", "Sh", "Ss", "Pp"}
_VERBATIM = {"nf": "fi", "EX": "EE", "TS": "TE", "EQ": "EN", "Ds": "De", "(b": ")b"}
_FONT_ALTERNATING = {"BR", "RB", "IR", "RI", "BI", "IB"}
_FONT = {"B", "I", "SM", "SB", "R"}
_SPECIAL = {"em": "—", "en": "–", "hy": "-", "mi": "-", "lq": "“", "rq": "”", "oq": "‘", "cq": "’", "aq": "'",
            "dq": '"', "bu": "•", "co": "©", "ti": "~", "ha": "^", "rs": "\\", "sl": "/", "at": "@", "sh": "#",
            "Fo": "«", "Fc": "»", "fo": "‹", "fc": "›", "pl": "+", "eq": "=", "<=": "≤", ">=": "≥", "->": "→"}
_SINGLE = {"-": "-", "e": "\\", "\\": "\\", "&": "", "/": "", ",": "", "|": "", "^": "", " ": " ", "~": " ",
           "0": " ", "c": "", ".": ".", "'": "'", "`": "`", "t": " ", ":": "", "%": "", "!": "", "{": "", "}": "",
           "=": "=", "+": "+", "_": "_", "(": "", "[": ""}
_ESCAPE = re.compile(
    r"\\(?:"
    r"[fFn*gkmMV](?:\[[^\]]*\]|\(..|.)"  # fonts, registers, strings, colours: dropped
    r"|s[+-]?(?:\[[^\]]*\]|\(\d\d|\d)"  # point size
    r"|[hvwlLoxbDXSZHNAuR]'[^']*'"  # motions, widths and the like with a quoted argument
    r"|\((?P<two>..)|\[(?P<long>[^\]]*)\]"  # special characters
    r"|(?P<one>.)"
    r")"
)


def _unescape(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        if m.group("two") is not None:
            return _SPECIAL.get(m.group("two"), "")
        if m.group("long") is not None:
            return _SPECIAL.get(m.group("long"), "")
        if m.group("one") is not None:
            return _SINGLE.get(m.group("one"), "")
        return ""

    return _ESCAPE.sub(repl, text)


def _arguments(rest: str) -> list[str]:
    """A macro's arguments: blank-separated, double quotes group (``""`` inside quotes is a quote)."""
    args, current, quoted, k = [], [], False, 0
    while k < len(rest):
        c = rest[k]
        if quoted:
            if c == '"':
                if rest[k + 1 : k + 2] == '"':
                    current.append('"')
                    k += 1
                else:
                    quoted = False
            else:
                current.append(c)
        elif c == '"' and not current:
            quoted = True
        elif c in " \t":
            if current:
                args.append("".join(current))
                current = []
        else:
            current.append(c)
        k += 1
    if current:
        args.append("".join(current))
    return args


def _strip_comment(line: str) -> str:
    k = line.find('\\"')
    while k > 0 and line[k - 1] == "\\":  # an escaped backslash before the quote: not a comment
        k = line.find('\\"', k + 2)
    return line if k < 0 else line[:k]


def _join(lines: list[str]) -> str:
    """Join the text lines of a paragraph: with no space between CJK characters (the source breaks lines anywhere
    in CJK text), with one elsewhere."""
    out = ""
    for line in lines:
        line = line.strip()
        if not line:
            continue
        if out and not (_cjk(out[-1]) and _cjk(line[0])):
            out += " "
        out += line
    return re.sub(r"\s+", " ", out).strip()


def groff_paragraphs(source: str) -> list[str]:
    """The prose paragraphs of a man page's groff source: ``.PP``-like paragraphs and section bodies, macros and
    escapes stripped; tagged paragraphs (option lists) and no-fill blocks (code, examples) dropped."""
    paragraphs: list[str] = []
    current: list[str] = []
    keep = False  # whether the text lines now are of a prose paragraph
    verbatim_end: str | None = None

    def close() -> None:
        if current and keep:
            paragraphs.append(_join(current))
        current.clear()

    for raw in source.splitlines():
        if verbatim_end is not None:
            if raw[:1] in ".'" and raw[1:].strip().split()[:1] == [verbatim_end]:
                verbatim_end = None
            continue
        line = _strip_comment(raw)
        if not line.strip():
            if raw.strip():  # a comment line
                continue
            close()
            continue
        if line[0] in ".'":
            parts = line[1:].strip().split(None, 1)
            if not parts:
                continue
            name, rest = parts[0], parts[1] if len(parts) > 1 else ""
            if name in _VERBATIM:
                close()
                verbatim_end = _VERBATIM[name]
            elif name in _NEW_PARAGRAPH:
                close()
                keep = name != "TH"
            elif name in _ITEM:
                close()
                keep = False
            elif name in _BREAK:
                close()
            elif name in _FONT_ALTERNATING:
                current.append("".join(_unescape(a) for a in _arguments(rest)))
            elif name in _FONT:
                current.append(" ".join(_unescape(a) for a in _arguments(rest)))
            continue  # any other request: dropped
        current.append(_unescape(line))
    close()
    return [p for p in paragraphs if p]


def _man_pages(root: Path) -> Iterator[tuple[str, str]]:
    for path in sorted(root.glob("man*/*")):
        if not path.is_file():
            continue
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        yield f"{path.parent.name}/{path.name.removesuffix('.gz')}", text


def _cjk_prose(text: str, scripts: tuple[str, ...]) -> bool:
    """Most characters of the language's scripts, sentences ended by 。, no code or URL."""
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return False
    own = sum(script_of(c) in scripts for c in chars)
    ascii_letters = sum(c.isascii() for c in chars)
    return (own >= 0.6 * len(chars) and ascii_letters <= 0.25 * len(chars) and "。" in text
            and "http" not in text and "@" not in text and "{" not in text)


def man_texts(root: Path, scripts: tuple[str, ...]) -> list[tuple[str, str]]:
    """(source, paragraph) of the prose paragraphs of every man page under ``root``; a paragraph found in more
    than one page (a translator's credit, a licence line) is left out everywhere, and one repeated within a page
    (the same sentence before each of several tables) is kept the first time only."""
    found = []
    for name, source in _man_pages(root):
        for k, paragraph in enumerate(groff_paragraphs(source)):
            if len(paragraph) >= MIN_PARAGRAPH and _cjk_prose(paragraph, scripts):
                found.append((name, k, paragraph))
    pages: dict[str, set[str]] = {}
    for name, _, paragraph in found:
        pages.setdefault(" ".join(paragraph.split()), set()).add(name)
    out, seen = [], set()
    for name, k, paragraph in found:
        key = " ".join(paragraph.split())
        if len(pages[key]) == 1 and key not in seen:  # in one page only, and there only the first time
            seen.add(key)
            out.append((f"{name}#{k}", paragraph))
    return out


def merge_paragraphs(paragraphs: list[tuple[str, str]], min_chars: int, max_chars: int) -> list[tuple[str, str]]:
    """Consecutive prose paragraphs of one man page joined (by a newline) until a text has ``min_chars``
    characters, without passing ``max_chars``: a man page's short paragraphs make one text, as a document of
    several paragraphs would. A paragraph of ``min_chars`` or more stays alone."""
    out: list[tuple[str, str]] = []
    group: list[tuple[str, str]] = []

    def flush() -> None:
        if group:
            out.append((group[0][0] if len(group) == 1 else f"{group[0][0]}-{group[-1][0].rsplit('#', 1)[1]}",
                        "\n".join(text for _, text in group)))
        group.clear()

    for source, text in paragraphs:
        page = source.rsplit("#", 1)[0]
        size = sum(len(t) + 1 for _, t in group)
        if group and (group[0][0].rsplit("#", 1)[0] != page or size >= min_chars or size + len(text) > max_chars):
            flush()
        group.append((source, text))
    flush()
    return out


# --------------------------------------------------------------------------- fortunes

_ATTRIBUTION = re.compile(r"^\s*--|^\s+—")  # "\t\t-- Author"; a dialogue line starts "- " or "— "


# The topic files read: sayings and quotations about work, knowledge, art, computers... (the monthly collections,
# the jokes and the files on sex, politics, religion and the like are left out, to keep the fixtures fit to ship).
FORTUNE_TOPICS = ("art", "book", "citates", "computer", "education", "friendship", "future", "genious", "haiku",
                  "happy", "human_being", "knowledge", "life", "murphy", "programming", "success", "sympathy",
                  "time", "truth", "wealth", "work")


def fortune_texts(root: Path) -> list[tuple[str, str]]:
    """(source, text) of the Russian fortunes of :data:`FORTUNE_TOPICS`: lines joined by spaces, the attribution
    ("-- Author") dropped."""
    out = []
    for topic in FORTUNE_TOPICS:
        path = root / topic
        if not path.is_file():
            continue
        try:
            content = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for k, block in enumerate(re.split(r"^%\s*$", content, flags=re.M)):
            lines = [ln for ln in block.strip("\n").splitlines() if not _ATTRIBUTION.match(ln)]
            text = re.sub(r"\s+", " ", " ".join(ln.strip() for ln in lines)).strip()
            letters = [c for c in text if c.isalpha()]
            if not letters or sum(script_of(c) == "cyrillic" for c in letters) < 0.9 * len(letters):
                continue
            if "http" in text or "@" in text or "{" in text or sum(c.isdigit() for c in text) > 0.05 * len(text):
                continue
            out.append((f"{path.name}#{k}", text))
    return out


# --------------------------------------------------------------------------- the texts of a language


def source_texts(lang: str, min_chars: int = 150, max_chars: int = 600) -> list[tuple[str, str]]:
    """(source, text) of the prose texts of a language, in file order (not deduplicated): man page paragraphs
    merged up to ``min_chars`` (:func:`merge_paragraphs`), fortunes as they are."""
    if lang == "zh":
        root, texts = MAN_ZH, lambda: merge_paragraphs(man_texts(MAN_ZH, ("han",)), min_chars, max_chars)
    elif lang == "ja":
        root, texts = MAN_JA, lambda: merge_paragraphs(
            man_texts(MAN_JA, ("han", "hiragana", "katakana")), min_chars, max_chars)
    elif lang == "ru":
        root, texts = FORTUNES_RU, lambda: fortune_texts(FORTUNES_RU)
    else:
        raise ValueError(f"unknown language {lang!r}")
    if not root.is_dir():
        raise SystemExit(f"{root} is missing: install the packages first (as root): {INSTALL}")
    return texts()


def package_version(package: str) -> str:
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True,
                             check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "?"
    return out.strip() or "?"


# --------------------------------------------------------------------------- selection and edits

_SCRIPTS = {"zh": ("han",), "ja": ("han", "hiragana", "katakana"), "ru": ("cyrillic",)}
_CYRILLIC_WORD = re.compile(r"[А-Яа-яЁё]+(?:-[А-Яа-яЁё]+)*")


def char_grams(text: str, n: int = 5) -> set[str]:
    """Character n-grams of ``dedupe.normalize(text)``: the measure by which originals are kept apart (a pure
    function of the text, whatever dedupe's tokenizer does)."""
    from dedupe import normalize

    t = normalize(text)
    return {t[k : k + n] for k in range(max(1, len(t) - n + 1))} if t else set()


def _sparse(sets: list[set[str]]) -> sp.csr_matrix:
    vocab: dict[str, int] = {}
    cols = [[vocab.setdefault(g, len(vocab)) for g in s] for s in sets]
    indptr = np.cumsum([0] + [len(c) for c in cols])
    data = np.ones(int(indptr[-1]), dtype=np.int32)
    flat = np.fromiter((c for row in cols for c in row), dtype=np.int64, count=int(indptr[-1]))
    return sp.csr_matrix((data, flat, indptr), shape=(len(sets), max(1, len(vocab))))


def distinct_texts(texts: list[tuple[str, str]], near: float = NEAR_ORIGINALS) -> list[tuple[str, str]]:
    """``texts`` in order, without exact repeats (same ``dedupe.normalize``) and without any text whose
    character 5-gram Jaccard with an earlier kept text is ``near`` or more."""
    from dedupe import normalize

    seen: set[str] = set()
    unique = []
    for source, text in texts:
        key = normalize(text)
        if key and key not in seen:
            seen.add(key)
            unique.append((source, text))
    sets = [char_grams(t) for _, t in unique]
    m = _sparse(sets)
    sizes = np.array([len(s) for s in sets], dtype=np.float64)
    inter = (m @ m.T).tocoo()
    upper = inter.col > inter.row
    a, b, common = inter.row[upper], inter.col[upper], inter.data[upper].astype(np.float64)
    close = common / (sizes[a] + sizes[b] - common) >= near
    later_of: dict[int, list[int]] = {}
    for x, y in zip(a[close].tolist(), b[close].tolist()):
        later_of.setdefault(x, []).append(y)
    dropped: set[int] = set()
    for k in range(len(unique)):
        if k not in dropped:
            dropped.update(later_of.get(k, ()))
    return [t for k, t in enumerate(unique) if k not in dropped]


def language_texts(lang: str, min_chars: int = 150, max_chars: int = 600) -> list[tuple[str, str]]:
    """The distinct prose texts of a language with ``min_chars`` to ``max_chars`` characters, in file order."""
    texts = [(s, t) for s, t in source_texts(lang, min_chars, max_chars) if min_chars <= len(t) <= max_chars]
    return distinct_texts(texts)


class Editor:
    """Light edits of a language's texts: characters (zh, ja) or words (ru) replaced by others of the same
    script, drawn (by frequency) from the language's own texts."""

    def __init__(self, lang: str, texts: list[str]) -> None:
        self.lang = lang
        self.scripts = _SCRIPTS[lang]
        self.pool: dict[str, list[str]] = {}
        if lang == "ru":
            self.pool["cyrillic"] = [w.lower() for t in texts for w in _CYRILLIC_WORD.findall(t)]
        else:
            for t in texts:
                for c in t:
                    script = script_of(c)
                    if script in self.scripts:
                        self.pool.setdefault(script, []).append(c)

    def _other(self, rng: random.Random, script: str, old: str) -> str:
        pool = self.pool[script]
        while True:
            new = pool[rng.randrange(len(pool))]
            if new.lower() != old.lower():
                return new

    def chars(self, text: str, rng: random.Random, count: int = 2) -> str:
        """``count`` characters of the language's scripts, at distinct random positions, each replaced by another
        character of its own script."""
        positions = [k for k, c in enumerate(text) if script_of(c) in self.scripts]
        out = list(text)
        for k in rng.sample(positions, count):
            out[k] = self._other(rng, script_of(text[k]) or "", text[k])
        return "".join(out)

    def words(self, text: str, rng: random.Random, count: int = 2) -> str:
        """``count`` Cyrillic words, at distinct random places, each replaced by another word of the texts."""
        spans = [m.span() for m in _CYRILLIC_WORD.finditer(text)]
        out = text
        for start, end in sorted(rng.sample(spans, count), reverse=True):
            new = self._other(rng, "cyrillic", text[start:end])
            if text[start].isupper():
                new = new[:1].upper() + new[1:]
            out = out[:start] + new + out[end:]
        return out

    def light(self, text: str, rng: random.Random) -> str:
        """The benchmark's light edit: 2 characters (zh, ja) or 2 words (ru) replaced."""
        return self.words(text, rng) if self.lang == "ru" else self.chars(text, rng)


def write_fixtures(directory: Path, count: int = 80, seed: int = 1) -> None:
    """tests/fixtures/languages/{zh,ja,ru}.jsonl: ``count`` distinct texts of 150-600 characters each, chosen at
    random (``seed``) among the language's texts, in source order."""
    directory.mkdir(parents=True, exist_ok=True)
    for lang in LANGUAGES:
        texts = language_texts(lang)
        rng = random.Random(f"{seed}-{lang}")
        chosen = sorted(rng.sample(range(len(texts)), min(count, len(texts))))
        path = directory / f"{lang}.jsonl"
        with path.open("w", encoding="utf-8") as fh:
            for k in chosen:
                source, text = texts[k]
                fh.write(json.dumps({"id": f"{lang}:{source}", "text": text}, ensure_ascii=False) + "\n")
        print(f"{path}: {len(chosen)} texts of {len(texts)} ({PACKAGES[lang]} {package_version(PACKAGES[lang])})",
              file=sys.stderr)


# --------------------------------------------------------------------------- documents: the benchmark


@dataclass
class Corpus:
    lang: str
    texts: list[str]  # originals, then copies
    ids: list[str]
    originals: int
    source: np.ndarray  # for each copy (position originals + k), the position of its original


def build_corpus(lang: str, originals: int, copies: int, seed: int, max_chars: int) -> Corpus:
    pool = language_texts(lang, 150, max_chars)
    if len(pool) < originals:
        log(f"{lang}: only {len(pool)} distinct texts of 150-{max_chars} characters; taking them all")
        originals = len(pool)
    rng = random.Random(f"{seed}-{lang}-documents")
    chosen = sorted(rng.sample(range(len(pool)), originals))
    texts = [pool[k][1] for k in chosen]
    ids = [pool[k][0] for k in chosen]
    editor = Editor(lang, [t for _, t in pool])
    of = sorted(rng.sample(range(originals), min(copies, originals)))
    rng.shuffle(of)
    for k in of:
        texts.append(editor.light(texts[k], rng))
        ids.append(f"{ids[k]} (copy)")
    return Corpus(lang, texts, ids, originals, np.array(of, dtype=np.int64))


def _import_quality():  # type: ignore[no-untyped-def]
    import quality

    return quality


@dataclass
class Variant:
    name: str
    option: str
    shingle: object  # dedupe.ShingleConfig


def run_variant(corpus: Corpus, variant: Variant, t: float) -> list[str]:
    """One pipeline over one language's corpus: copies found, false clusters, pair quality, detection by bin."""
    from dedupe import DedupeConfig, Deduplicator, LSHConfig, Record, text_shingles

    q = _import_quality()
    config = DedupeConfig(shingle=variant.shingle, lsh=LSHConfig(threshold=t))  # type: ignore[arg-type]
    bands, rows = config.bands_rows
    n = len(corpus.texts)
    shingles = [text_shingles(text, variant.shingle) for text in corpus.texts]  # type: ignore[arg-type]
    start = time.perf_counter()
    i, j, jac, sharing = q._exact_pairs(shingles, q.GT_FLOOR)
    sizes = np.array([len(s) for s in shingles], dtype=np.int64)
    gt = q.GroundTruth(n, sizes, i, j, jac, q.GT_FLOOR, sharing, time.perf_counter() - start, Path("-"), False)

    dd = Deduplicator(config)
    dup, of = [], []
    duplicate_of: dict[int, int] = {}
    start = time.perf_counter()
    for result in dd.run(Record(str(k), text) for k, text in enumerate(corpus.texts)):
        if result.match.duplicate_of is not None:
            dup.append(int(result.record.id))
            of.append(int(result.match.duplicate_of))
            duplicate_of[dup[-1]] = of[-1]
    clusters = dd.clusters()
    seconds = time.perf_counter() - start
    label = np.arange(n)
    for cluster in clusters:
        members = np.array([int(x) for x in cluster["members"]])
        label[members] = members.min()
    outcome = q.Outcome("dedupe", bands, rows, np.array(dup, dtype=np.int64), np.array(of, dtype=np.int64),
                        label, seconds, None)

    # The copies: their exact J with their own original, found (duplicate_of) and in its cluster.
    copy_pos = np.arange(corpus.originals, n)
    copy_j = np.array([_jaccard(shingles[int(c)], shingles[int(o)]) for c, o in zip(copy_pos, corpus.source)])
    found = np.array([duplicate_of.get(int(c)) == int(o) for c, o in zip(copy_pos, corpus.source)])
    joined = label[copy_pos] == label[corpus.source]
    # False clusters: final clusters joining two originals whose exact J is below t.
    false_clusters = 0
    false_pairs = 0
    by_label: dict[int, list[int]] = {}
    for k in range(corpus.originals):
        by_label.setdefault(int(label[k]), []).append(k)
    for members in by_label.values():
        if len(members) < 2:
            continue
        a = np.array([x for x, _ in _pairs(members)])
        b = np.array([y for _, y in _pairs(members)])
        pj = gt.lookup(a, b)
        bad = int(np.sum(~(pj >= t)))
        false_pairs += bad
        false_clusters += bad > 0
    edges = q.bin_edges(q.GT_FLOOR)
    s = q.score(outcome, gt, t, edges)
    # What the S-curve expects: each copy at J >= t becomes a candidate with probability 1-(1-J^r)^b; copies below t
    # are rejected by verification whatever LSH does.
    expected = float(np.mean(q.s_curve_array(copy_j, bands, rows) * (copy_j >= t))) if len(copy_j) else math.nan
    row = [
        f"{variant.name}", f"{bands}×{rows}", f"{int(sizes[: corpus.originals].min())}–"
        f"{int(np.median(sizes[: corpus.originals]))}–{int(sizes[: corpus.originals].max())}",
        f"{np.min(copy_j):.2f} / {np.median(copy_j):.2f}", f"{int(np.sum(copy_j >= t))} / {len(copy_j)}",
        f"{int(found.sum())} / {len(found)} ({100 * found.mean():.1f}%)",
        f"{int(joined.sum())} ({100 * joined.mean():.1f}%)", f"{100 * expected:.1f}%",
        f"{false_clusters} ({false_pairs} pairs)", f"{s.reported:,}", q.fmt(s.precision), q.fmt(s.recall),
        q.fmt(s.precision_t), q.fmt(s.recall_t), q.fmt(s.f1_t), f"{s.true_t:,}", f"{seconds:.2f}",
    ]
    # Detection by true-J bin.
    true_by_bin = np.bincount(q.bin_index(gt.J, edges), minlength=len(edges) - 1)
    mids = (edges[:-1] + edges[1:]) / 2
    bins = []
    for k in range(len(edges) - 1):
        if true_by_bin[k]:
            bins.append([q.bin_label(edges, k), f"{true_by_bin[k]:,}",
                         q.fmt(q._ratio(int(s.detected_by_bin[k]), int(true_by_bin[k]))),
                         q.fmt(q.s_curve(float(mids[k]), bands, rows))])
    detail = [f"#### {corpus.lang}, {variant.name}: detection by true J bin (t = {t:.2f})", ""]
    detail += q.table(["true J bin", "true pairs", f"detected ({bands}×{rows})", "S-curve at mid"], bins) if bins \
        else [f"No pair of documents has J ≥ {q.GT_FLOOR:.2f}."]
    detail.append("")
    return ["|" + "|".join(f" {x} " for x in [corpus.lang, *row]) + "|", *detail]


def _pairs(members: list[int]) -> Iterator[tuple[int, int]]:
    for x in range(len(members)):
        for y in range(x + 1, len(members)):
            yield members[x], members[y]


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) == 0 and len(b) == 0:
        return 1.0
    common = len(np.intersect1d(a, b, assume_unique=True))
    return common / (len(a) + len(b) - common)


# --------------------------------------------------------------------------- passages: the benchmark

_CJK_END = re.compile(r"[^。！？!?]*[。！？!?]+[」』）)”]*|[^。！？!?]+$")
_RU_END = re.compile(r"\S.*?(?:[.!?…]+[\"»)]*(?=\s)|$)", re.S)


def sentences_of(lang: str, text: str) -> list[str]:
    """The sentences of a text: CJK ones end at 。！？, Russian ones at .!?… before a space."""
    text = " ".join(text.split())
    pattern = _RU_END if lang == "ru" else _CJK_END
    return [m.group(0).strip() for m in pattern.finditer(text) if m.group(0).strip()]


def _plantable(lang: str, sentence: str) -> bool:
    """A sentence long enough to be a passage of its own with one character changed: 8 Cyrillic words of two
    letters or more (ru; the passage rules want 6 plain words), 20 characters of the script (zh, ja; one changed
    character then leaves a character 5-gram Jaccard of about 0.6 or more)."""
    if lang == "ru":
        return sum(len(w) >= 2 for w in _CYRILLIC_WORD.findall(sentence)) >= 8
    return sum(script_of(c) in _SCRIPTS[lang] for c in sentence) >= 20


@dataclass
class Planted:
    doc: int  # the document carrying it
    start: int  # its span in that document's text
    end: int
    source: int  # the document it was taken from


def build_passage_documents(lang: str, count: int, seed: int) -> tuple[list[str], list[Planted]]:
    """``count`` documents of 3-6 consecutive real sentences; each after the first fifth carries one sentence of
    an earlier document (its own sentences only, each taken once, unique in the corpus) with one character
    replaced."""
    from dedupe import normalize

    pool = language_texts(lang, 20, 2000) if lang != "ru" else language_texts(lang, 60, 2000)
    rng = random.Random(f"{seed}-{lang}-passages")
    order = list(range(len(pool)))
    rng.shuffle(order)
    editor = Editor(lang, [t for _, t in pool])
    joiner = " " if lang == "ru" else ""
    stream = [s for k in order for s in sentences_of(lang, pool[k][1])]
    docs: list[list[str]] = []
    pos = 0
    while len(docs) < count and pos < len(stream):
        size = rng.randint(3, 6)
        docs.append(stream[pos : pos + size])
        pos += size
    counts: dict[str, int] = {}
    for sentence in stream[:pos]:
        key = normalize(sentence)
        counts[key] = counts.get(key, 0) + 1
    used: set[tuple[int, int]] = set()
    planted_at: dict[int, tuple[int, int, str]] = {}
    first = max(1, count // 5)
    for d in range(first, len(docs)):
        for _ in range(50):
            src = rng.randrange(d)
            k = rng.randrange(len(docs[src]))
            sentence = docs[src][k]
            if (src, k) in used or not _plantable(lang, sentence) or counts[normalize(sentence)] > 1:
                continue
            used.add((src, k))
            planted_at[d] = (src, rng.randint(0, len(docs[d])), editor.chars(sentence, rng, 1) if lang != "ru"
                             else _one_char(editor, sentence, rng))
            break
    texts: list[str] = []
    planted: list[Planted] = []
    for d, sents in enumerate(docs):
        if d in planted_at:
            src, at, sentence = planted_at[d]
            before = joiner.join(sents[:at])
            text = before + (joiner if before else "") + sentence
            start = len(text) - len(sentence)
            after = joiner.join(sents[at:])
            text += (joiner if after else "") + after
            planted.append(Planted(d, start, start + len(sentence), src))
        else:
            text = joiner.join(sents)
        texts.append(text)
    return texts, planted


def _one_char(editor: Editor, sentence: str, rng: random.Random) -> str:
    """One Cyrillic letter of a Russian sentence replaced by another (a typo)."""
    positions = [k for k, c in enumerate(sentence) if script_of(c) == "cyrillic"]
    k = rng.choice(positions)
    letters = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
    new = rng.choice([c for c in letters if c != sentence[k].lower()])
    return sentence[:k] + (new.upper() if sentence[k].isupper() else new) + sentence[k + 1 :]


def run_passages(lang: str, count: int, seed: int) -> list[str]:
    from dedupe import PassageConfig, PassageMatcher

    texts, planted = build_passage_documents(lang, count, seed)
    pm = PassageMatcher(PassageConfig())
    start = time.perf_counter()
    matches = [pm.add(str(d), text) for d, text in enumerate(texts)]
    seconds = time.perf_counter() - start
    found = {"exact": 0, "near": 0}
    units = {"passage": 0, "quote": 0}
    hit_spans: set[tuple[int, int]] = set()
    covered = 0  # planted sentences covered by any span (boilerplate, or naming another document, included)
    for p in planted:
        covered += any(min(m.end, p.end) - max(m.start, p.start) >= (p.end - p.start) / 2 for m in matches[p.doc])
        for m in matches[p.doc]:
            overlap = min(m.end, p.end) - max(m.start, p.start)
            if m.kind in found and m.match_id == str(p.source) and overlap >= (p.end - p.start) / 2:
                found[m.kind] += 1
                units[m.unit] = units.get(m.unit, 0) + 1
                hit_spans.add((p.doc, m.start))
                break
    other = sum(1 for d, ms in enumerate(matches) for m in ms if (d, m.start) not in hit_spans)
    total = len(planted)
    hits = found["exact"] + found["near"]
    chars = [len(texts[p.doc][p.start : p.end]) for p in planted]
    return ["|" + "|".join(f" {x} " for x in [
        lang, f"{len(texts)}", f"{int(np.median([len(t) for t in texts]))}", f"{total}",
        f"{int(np.median(chars)) if chars else 0}", f"{hits} / {total} ({100 * hits / max(total, 1):.1f}%)",
        f"{found['exact']} / {found['near']}", f"{units['passage']} / {units['quote']}",
        f"{covered} ({100 * covered / max(total, 1):.1f}%)", f"{other}",
        f"{seconds:.2f}"]) + "|"]


# --------------------------------------------------------------------------- English: unchanged?


def english_control() -> list[str]:
    """A digest of the default shingles of every document of the English corpora, and of every passage span
    found: equal digests of two dedupes mean identical shingle sets (hence identical document decisions) and
    identical passage output on these corpora."""
    import xxhash
    from _common import CORPORA, load_corpus

    from dedupe import PassageConfig, PassageMatcher, text_shingles

    rows = []
    for name in ("reuters", "bbc"):
        path = CORPORA.get(name)
        if path is None or not Path(path).exists():
            continue
        _, texts = load_corpus(Path(path))
        shingles = xxhash.xxh3_128()
        for text in texts:
            shingles.update(text_shingles(text).tobytes())
            shingles.update(b"|")
        pm = PassageMatcher(PassageConfig())
        spans = xxhash.xxh3_128()
        count = 0
        for k, text in enumerate(texts):
            for m in pm.add(str(k), text):
                count += 1
                spans.update(repr(m).encode())
        nonascii = sum(not t.isascii() for t in texts)
        rows.append(f"| {name} | {len(texts):,} | {nonascii:,} | `{shingles.hexdigest()[:16]}` | {count:,} | "
                    f"`{spans.hexdigest()[:16]}` |")
    if not rows:
        return ["No English corpus found (../shared/data/reuters21578.jsonl.gz, bbc.jsonl.gz)."]
    return ["| corpus | documents | documents with a non-ASCII character | digest of every document's default "
            "shingles | passage spans (`PassageMatcher()`) | digest of the spans |", "|---|---|---|---|---|---|",
            *rows]


# --------------------------------------------------------------------------- main


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--languages", nargs="+", choices=LANGUAGES, default=list(LANGUAGES))
    parser.add_argument("--originals", type=int, default=400, help="originals per language (default %(default)s)")
    parser.add_argument("--copies", type=int, default=150, help="edited copies per language (default %(default)s)")
    parser.add_argument("--max-chars", type=int, default=600, help="longest original (default %(default)s)")
    parser.add_argument("--documents", type=int, default=200,
                        help="documents of the passage benchmark per language (default %(default)s)")
    parser.add_argument("--threshold", type=float, default=0.8, help="document threshold (default %(default)s)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="also write the Markdown to this file")
    parser.add_argument("--english", action="store_true",
                        help="also digest the default shingles and the passage spans of Reuters and BBC "
                        "(../shared/data), to compare two dedupes on English")
    parser.add_argument("--write-fixtures", type=Path, metavar="DIR",
                        help="write the test fixtures (80 texts per language) to DIR and stop")
    args = parser.parse_args(argv)
    if args.write_fixtures:
        write_fixtures(args.write_fixtures, seed=args.seed)
        return
    import dedupe
    from dedupe import ShingleConfig

    started = time.perf_counter()
    versions = ", ".join(f"{PACKAGES[lang]} {package_version(PACKAGES[lang])}" for lang in args.languages)
    lines = [
        "# dedupe in other scripts: lightly edited copies and planted sentences",
        "",
        f"- machine: {machine_line()}",
        f"- date: {today()}",
        f"- command: `{command_line()}`",
        f"- dedupe: `{Path(dedupe.__file__).parent}`; texts: {versions}",
        f"- documents: {args.originals} originals of 150–{args.max_chars} characters per language, then "
        f"{args.copies} copies of distinct originals, each with 2 characters (zh, ja) or 2 words (ru) replaced; "
        f"threshold {args.threshold}; exact ground truth over all pairs with the variant's own shingles",
        "",
    ]
    variants = [Variant("default (word 5-grams)", "", ShingleConfig()),
                Variant("--unit char --ngram 5", "--unit char --ngram 5", ShingleConfig(unit="char", ngram=5))]
    head = ["language", "options", "b×r", "shingles per original (min–median–max)", "copy J (min / median)",
            "copies with J ≥ t", "copies found (duplicate_of = original)", "copies in original's cluster",
            "S-curve expects", "false clusters", "reported pairs", "precision (J ≥ t−0.05)", "recall (J ≥ t+0.05)",
            "P@t", "R@t", "F1@t", "true pairs (J ≥ t)", "seconds"]
    summary = ["## Documents", "", "| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    details: list[str] = []
    for lang in args.languages:
        log(f"{lang}: building the corpus ...")
        corpus = build_corpus(lang, args.originals, args.copies, args.seed, args.max_chars)
        for variant in variants:
            log(f"{lang}: {variant.name} ...")
            row, *detail = run_variant(corpus, variant, args.threshold)
            summary.append(row)
            details += detail
    lines += [*summary, "", *details]
    pass_head = ["language", "documents", "median characters", "planted sentences", "median sentence characters",
                 "found (exact or near, from its source)", "exact / near", "passage / quote spans",
                 "covered by any span", "other spans reported", "seconds"]
    lines += ["## Passages (`PassageMatcher(PassageConfig())`, what `dedupe scan --passages` runs)", "",
              "| " + " | ".join(pass_head) + " |", "|" + "|".join("---" for _ in pass_head) + "|"]
    for lang in args.languages:
        log(f"{lang}: passages ...")
        lines += run_passages(lang, args.documents, args.seed)
    if args.english:
        log("english control ...")
        lines += ["", "## English control (equal digests before and after: identical shingles and passages)", "",
                  *english_control()]
    lines += ["", f"Total run time: {time.perf_counter() - started:.0f} s."]
    text = "\n".join(lines) + "\n"
    print(text, end="", flush=True)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
