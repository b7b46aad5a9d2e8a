"""The textbook datasketch pipeline that the benchmarks compare dedupe against.

Shingles are the word n-gram STRINGS of ``dedupe.features.normalize(text)`` (a text of
fewer than n words is one shingle of all its words, as in dedupe). The
streaming loop queries datasketch's ``MinHashLSH``, accepts a candidate when
the MinHash estimate clears the threshold (no exact verification), joins
accepted pairs in a union-find whose root is the smallest position, takes the
best estimate (ties: earliest) as ``duplicate_of``, and inserts the sketch.
"""

from __future__ import annotations

from typing import Any

from dedupe import normalize


def word_shingles(text: str, ngram: int = 5) -> list[str]:
    """Distinct word n-gram strings of the normalized text ([] for an empty one)."""
    norm = normalize(text)
    if not norm:
        return []
    words = norm.split(" ")
    if len(words) < ngram:
        return [norm]
    return list({" ".join(words[k : k + ngram]) for k in range(len(words) - ngram + 1)})


class StreamingReference:
    """Query, verify by estimate, union, insert: one document at a time, in stream order.

    Args:
        lsh: A datasketch ``MinHashLSH``.
        threshold: Estimated Jaccard a candidate must reach.
    """

    def __init__(self, lsh: Any, threshold: float) -> None:
        self.lsh = lsh
        self.threshold = threshold
        self.parent: list[int] = []
        self.sketches: list[Any] = []  # position -> sketch compared against (None: not indexed)
        self.candidates = 0

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def add(self, sketch: Any, key: Any = None) -> tuple[int, float]:
        """Decide the next document (``sketch`` None: no shingles); returns (duplicate_of position or -1, estimate).

        ``key`` is what the LSH stores and queries (default: the sketch itself).
        """
        pos = len(self.parent)
        self.parent.append(pos)
        self.sketches.append(sketch)
        if sketch is None:
            return -1, -1.0
        key = sketch if key is None else key
        found = sorted(self.lsh.query(key))
        self.candidates += len(found)
        best, best_est = -1, -1.0
        for c in found:
            est = sketch.jaccard(self.sketches[c])
            if est >= self.threshold:
                a, b = self.find(pos), self.find(c)
                if a != b:
                    self.parent[max(a, b)] = min(a, b)
                if est > best_est:
                    best, best_est = c, est
        self.lsh.insert(pos, key, check_duplication=False)
        return best, best_est
