"""Which similarity separates the seed's repeated passages from unrelated ones?

    .venv/bin/python benchmarks/passage_measures.py

The seeds hold four repeated passages (the headline twice, the two Jabrayil
sentences, the tweet quoted in both articles, the "Azeri forces" quote) among
45 sentences on one topic (same people, places and events). For each shingling
(character 3- to 6-grams, word 1- to 3-grams over the normalized words) and
each measure (Jaccard, and containment |A & B| / min(|A|, |B|)), this prints
the similarity of each of the four pairs and of the closest unrelated pair:
the measure whose weakest true pair stands furthest above the closest
unrelated pair is the one to threshold. Passages come from dedupe's own
segmentation with the default options; similarities are exact (Python sets).
"""

from __future__ import annotations

import itertools
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dedupe.passages.segment import segment  # noqa: E402

# The four repeated pairs, each as (document, how the passage starts) twice.
PAIRS = {
    "headline": ((0, "Home National PM Imran Khan"), (0, "PM Imran Khan extends support")),
    "Jabrayil": ((0, "Azerbaijan’s Ministry of Foreign Affairs said"), (0, "According to a statement issued by Azarb")),
    "tweet": ((0, "[Pakistan] stands with [Azerbaijan]"), (1, "Pakistan stands with Azerbaijan in its quest")),
    "Azeri forces": ((0, "We pay tribute to Azeri forces"), (1, "On Sunday, Prime Minister Imran Khan, on the")),
}


def shingles(text: str, kind: str) -> set:
    words = re.findall(r"\w+", text.casefold())
    n = int(kind[1:])
    if kind[0] == "w":
        return {tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}
    joined = " ".join(words)
    return {joined[i : i + n] for i in range(max(1, len(joined) - n + 1))}


def main() -> None:
    texts = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "seeds").glob("*.txt"))]
    passages = [(d, t[s:e]) for d, t in enumerate(texts) for s, e, _ in segment(t)[0]]

    def find(doc: int, start: str) -> int:
        return next(k for k, (d, p) in enumerate(passages) if d == doc and p.lstrip("\"“").startswith(start))

    true = {name: tuple(sorted((find(*a), find(*b)))) for name, (a, b) in PAIRS.items()}
    print(f"{len(passages)} passages in the seeds; {len(true)} repeated pairs\n")
    header = ["measure", *true, "closest unrelated", "margin (weakest true - closest unrelated)", "ratio"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for kind in ("c3", "c4", "c5", "c6", "w1", "w2", "w3"):
        sets = [shingles(p, kind) for _, p in passages]
        for measure in ("Jaccard", "containment"):
            def sim(i: int, j: int) -> float:
                a, b = sets[i], sets[j]
                inter = len(a & b)
                return inter / len(a | b) if measure == "Jaccard" else inter / min(len(a), len(b))

            pairs = [sim(*ij) for ij in true.values()]
            others = [sim(i, j) for i, j in itertools.combinations(range(len(passages)), 2)
                      if (i, j) not in true.values()]
            worst, closest = min(pairs), max(others)
            label = ("character" if kind[0] == "c" else "word") + f" {kind[1:]}-grams, {measure}"
            cells = [label, *(f"{v:.2f}" for v in pairs), f"{closest:.2f}", f"{worst - closest:+.2f}",
                     f"{worst / closest:.2f}"]
            print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
