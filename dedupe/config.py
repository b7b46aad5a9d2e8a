"""Configuration: one frozen dataclass per concern, validated when built.

Every error states the rule that was broken and how to fix it. Derived
parameters (LSH bands and rows) are computed from the threshold and the
number of permutations, and can be overridden.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

Unit = Literal["word", "char"]
VerifyMode = Literal["exact", "estimate"]


class ConfigError(ValueError):
    """An option value breaks a rule; the message says which and how to fix it."""


# Earlier documents taken per LSH bucket as candidates (LSHConfig.bucket_cap); chosen from the measurements in
# benchmarks/RESULTS.md ("Bucket cap").
DEFAULT_BUCKET_CAP = 4

# Index parameters added after indexes were first saved, with the value an index saved before them was built with:
# a saved index that lacks one of these keys is compared as if it held this value.
LEGACY_INDEX_PARAMETERS: dict[str, object] = {"bucket_cap": 0}


@dataclass(frozen=True)
class NormalizeConfig:
    """How text is normalized before shingling.

    Args:
        unicode_form: Unicode normalization form applied first ("NFKC" folds
            compatibility characters such as full-width letters and ligatures);
            "" disables it.
        casefold: Case-fold the text (stronger than lower-casing).
        strip_punctuation: Replace every character that is neither a word
            character nor whitespace by a space, so "[Pakistan]" and "Pakistan"
            give the same tokens.
    """

    unicode_form: str = "NFKC"
    casefold: bool = True
    strip_punctuation: bool = True

    def __post_init__(self) -> None:
        if self.unicode_form not in ("", "NFC", "NFD", "NFKC", "NFKD"):
            raise ConfigError(
                f"unicode_form must be one of NFC, NFD, NFKC, NFKD or '' (none); got {self.unicode_form!r}"
            )


@dataclass(frozen=True)
class ShingleConfig:
    """How normalized text becomes a set of shingles.

    Args:
        unit: "word" for word n-grams, "char" for character n-grams.
        ngram: Number of units per shingle. A text with fewer units than
            ``ngram`` (but at least one) becomes a single shingle of all of them.
    """

    unit: Unit = "word"
    ngram: int = 5

    def __post_init__(self) -> None:
        if self.unit not in ("word", "char"):
            raise ConfigError(f"unit must be 'word' or 'char'; got {self.unit!r}")
        if not isinstance(self.ngram, int) or not 1 <= self.ngram <= 64:
            raise ConfigError(f"ngram must be an integer from 1 to 64; got {self.ngram!r}")


@dataclass(frozen=True)
class MinHashConfig:
    """MinHash signature parameters (datasketch's "affine32" scheme).

    Args:
        num_perm: Number of permutations, i.e. signature length.
        seed: Seed of the permutations; signatures are comparable only when
            ``num_perm`` and ``seed`` are equal.
    """

    num_perm: int = 128
    seed: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.num_perm, int) or not 2 <= self.num_perm <= 1024:
            raise ConfigError(f"num_perm must be an integer from 2 to 1024; got {self.num_perm!r}")
        if not isinstance(self.seed, int) or not 0 <= self.seed < 2**32:
            raise ConfigError(f"seed must be an integer from 0 to 2**32-1; got {self.seed!r}")


@lru_cache(maxsize=64)
def optimal_bands_rows(threshold: float, num_perm: int, fn_weight: float) -> tuple[int, int]:
    """Bands and rows that minimise the weighted false positive and false negative areas.

    This is datasketch's own optimisation (``MinHashLSH(weights=...)``): a grid
    search over (b, r) with b * r <= num_perm of the integrals of the S-curve
    P(s) = 1 - (1 - s^r)^b below and above the threshold.

    Example:
        >>> optimal_bands_rows(0.8, 128, 0.5)
        (9, 13)
    """
    from datasketch.lsh import _optimal_param

    return _optimal_param(threshold, num_perm, 1.0 - fn_weight, fn_weight)


@dataclass(frozen=True)
class LSHConfig:
    """LSH banding.

    Args:
        threshold: Jaccard similarity at or above which two documents are
            near-duplicates.
        fn_weight: Weight of false negatives against false positives when
            choosing bands and rows (datasketch's ``weights``). The default 0.95
            favours recall: verification removes every false positive, so a
            false positive costs only time. At threshold 0.8 and 128
            permutations it gives 16 bands of 8 rows: a pair at J = 0.85 becomes
            a candidate with probability 0.994 (0.69 with equal weights).
        bands: Number of bands; derived when None.
        rows: Rows per band; derived when None.
        bucket_cap: At most this many earlier documents are taken from each
            LSH bucket (band key) as candidates of a record: the earliest ones
            (smallest stream positions). It bounds the work of a record that
            falls into a huge bucket (thousands of near-empty pages sharing a
            key) at ``bands * bucket_cap`` candidates, where an unbounded
            bucket would make every pair of its members a candidate. 0 means
            no cap.
    """

    threshold: float = 0.8
    fn_weight: float = 0.95
    bands: int | None = None
    rows: int | None = None
    bucket_cap: int = DEFAULT_BUCKET_CAP

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ConfigError(f"threshold must be in (0, 1]; got {self.threshold!r}")
        if not 0.0 <= self.fn_weight <= 1.0:
            raise ConfigError(f"fn_weight must be in [0, 1]; got {self.fn_weight!r}")
        for name in ("bands", "rows"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ConfigError(f"{name} must be a positive integer; got {value!r}")
        cap = self.bucket_cap
        if not isinstance(cap, int) or isinstance(cap, bool) or cap < 0:
            raise ConfigError(
                f"bucket_cap must be a whole number, 0 or more (the most earlier documents taken from one LSH "
                f"bucket; 0 = no cap); got {cap!r}. Give --bucket-cap N (default {DEFAULT_BUCKET_CAP}), or 0 for no cap"
            )

    def bands_rows(self, num_perm: int) -> tuple[int, int]:
        """Return (bands, rows) for ``num_perm`` permutations, derived or as overridden.

        Raises:
            ConfigError: if bands * rows exceeds num_perm or fewer than 2 bands result.
        """
        b, r = self.bands, self.rows
        if b is None and r is None:
            b, r = optimal_bands_rows(self.threshold, num_perm, self.fn_weight)
        elif b is None:
            b = num_perm // r  # type: ignore[operator]
        elif r is None:
            r = num_perm // b
        assert b is not None and r is not None
        if b > num_perm or r > num_perm:
            raise ConfigError(
                f"bands ({b}) and rows ({r}) must each be at most num_perm ({num_perm}); "
                "lower --bands/--rows or raise --num-perm"
            )
        if b * r > num_perm:
            raise ConfigError(
                f"bands x rows = {b} x {r} = {b * r} exceeds num_perm {num_perm}; "
                "lower --bands/--rows or raise --num-perm"
            )
        if b < 2:
            raise ConfigError(f"at least 2 bands are needed; got {b} (lower --rows or raise --num-perm)")
        return b, r


@dataclass(frozen=True)
class VerifyConfig:
    """How LSH candidates are checked before they count.

    Args:
        mode: "exact" computes the Jaccard similarity of the stored shingle
            hashes of both documents (no false positives, exact similarity;
            costs 8 bytes per distinct shingle per document). "estimate" uses
            the MinHash signatures (512 bytes per document at 128 permutations;
            a pair slightly above the threshold can be missed, one slightly
            below can pass).
    """

    mode: VerifyMode = "exact"

    def __post_init__(self) -> None:
        if self.mode not in ("exact", "estimate"):
            raise ConfigError(f"verify mode must be 'exact' or 'estimate'; got {self.mode!r}")


PassageUnit = Literal["sentence", "paragraph"]


@dataclass(frozen=True)
class PassageConfig:
    """How repeated passages are found (``--passages``).

    Args:
        unit: What a passage is: "sentence" (default) or "paragraph" (a line,
            or a blank-line/indent separated block of hard-wrapped lines).
            Adjacent matched sentences that repeat adjacent sentences are
            reported as one span, so a repeated paragraph shows as one entry
            either way.
        min_words: Passages with fewer words are not matched on their own; a
            run of consecutive short units (menu lines, comment-form lines) is
            merged into one passage first.
        ngram: Character n-gram size of the near-duplicate shingles.
        num_perm: MinHash permutations of passage signatures.
        threshold: Exact Jaccard of character n-grams at or above which two
            passages are near repeats.
        fn_weight: LSH false-negative weight (see :class:`LSHConfig`).
        window: Word-window size for exact quotes inside otherwise different
            passages (matched across documents); 0 turns quotes off.
        boilerplate_docs: A passage (or its near repeats) seen in at least this
            many distinct documents is boilerplate.
        max_candidates: At most this many LSH candidates (those sharing the
            most bands first) are verified per passage: the bound on work per
            passage at low thresholds.
        numbers: Near repeats must agree on their numbers (more than half of
            the smaller set of numbers shared, when both have some): keeps
            templated lines with other figures ("Revs 62.9 mln vs 41.5 mln"
            against "Revs 31.5 mln vs 22.9 mln") from counting as repeats.
        index_below: Passages that matched nothing are always indexed; a near
            repeat is indexed too when its similarity to its match is below
            this (0 indexes no repeat), because passages close to it may be
            out of its match's reach. Closer repeats and exact repeats are
            represented by their match, which bounds the index and the
            candidates of boilerplate.
    """

    unit: PassageUnit = "sentence"
    min_words: int = 6
    shingle: Unit = "char"
    ngram: int = 5
    num_perm: int = 128
    threshold: float = 0.35
    fn_weight: float = 0.7
    window: int = 8
    boilerplate_docs: int = 3
    max_candidates: int = 32
    numbers: bool = True
    index_below: float = 0.8

    def __post_init__(self) -> None:
        if self.unit not in ("sentence", "paragraph"):
            raise ConfigError(f"passage unit must be 'sentence' or 'paragraph'; got {self.unit!r}")
        for name, low, high in (
            ("min_words", 1, 10_000),
            ("ngram", 1, 64),
            ("num_perm", 2, 1024),
            ("boilerplate_docs", 2, 1 << 31),
            ("max_candidates", 1, 1 << 20),
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or not low <= value <= high:
                raise ConfigError(f"passage {name} must be an integer from {low} to {high}; got {value!r}")
        if not isinstance(self.window, int) or not (self.window == 0 or 2 <= self.window <= 64):
            raise ConfigError(f"passage window must be 0 (off) or an integer from 2 to 64; got {self.window!r}")
        if not 0.0 < self.threshold <= 1.0:
            raise ConfigError(f"passage threshold must be in (0, 1]; got {self.threshold!r}")
        if not 0.0 <= self.fn_weight <= 1.0:
            raise ConfigError(f"passage fn_weight must be in [0, 1]; got {self.fn_weight!r}")
        if not 0.0 <= self.index_below <= 1.01:
            raise ConfigError(f"passage index_below must be in [0, 1.01]; got {self.index_below!r}")

    @property
    def bands_rows(self) -> tuple[int, int]:
        """(bands, rows) of the passage LSH index."""
        return optimal_bands_rows(self.threshold, self.num_perm, self.fn_weight)

    def parameters(self) -> dict[str, object]:
        """The passage parameters as a JSON-ready dict (for reports)."""
        b, r = self.bands_rows
        return {
            "unit": self.unit,
            "min_words": self.min_words,
            "shingle": f"{self.shingle} {self.ngram}-grams",
            "num_perm": self.num_perm,
            "threshold": self.threshold,
            "bands": b,
            "rows": r,
            "window": self.window,
            "boilerplate_docs": self.boilerplate_docs,
            "max_candidates": self.max_candidates,
            "numbers": self.numbers,
            "index_below": self.index_below,
        }


@dataclass(frozen=True)
class DedupeConfig:
    """Everything that decides which documents are near-duplicates.

    Example:
        >>> cfg = DedupeConfig(lsh=LSHConfig(threshold=0.7))
        >>> cfg.bands_rows
        (21, 6)
    """

    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)
    shingle: ShingleConfig = field(default_factory=ShingleConfig)
    minhash: MinHashConfig = field(default_factory=MinHashConfig)
    lsh: LSHConfig = field(default_factory=LSHConfig)
    verify: VerifyConfig = field(default_factory=VerifyConfig)
    passages: PassageConfig | None = None

    def __post_init__(self) -> None:
        self.lsh.bands_rows(self.minhash.num_perm)  # fail early on impossible banding

    @property
    def bands_rows(self) -> tuple[int, int]:
        """(bands, rows) actually used."""
        return self.lsh.bands_rows(self.minhash.num_perm)

    def index_parameters(self) -> dict[str, object]:
        """What makes saved signatures comparable with this run's: an index stores these and refuses others.

        The threshold is not among them: it only decides verification, so a run may
        use another one as long as the bands and rows (pass ``--bands/--rows``) stay.
        The passage parameters are (``None`` without passages): an index keeps the
        passage state of its runs, so all of them must match passages alike.
        """
        p = self.parameters()
        passages = self.passages.parameters() if self.passages is not None else None
        return {k: p[k] for k in ("unit", "ngram", "num_perm", "seed", "scheme", "bands", "rows", "bucket_cap",
                                  "verify", "normalize")} | {"hash": "xxh3_64", "passages": passages}

    def parameters(self) -> dict[str, object]:
        """The parameters as a flat JSON-ready dict (for reports)."""
        b, r = self.bands_rows
        return {
            "unit": self.shingle.unit,
            "ngram": self.shingle.ngram,
            "num_perm": self.minhash.num_perm,
            "seed": self.minhash.seed,
            "scheme": "affine32",
            "threshold": self.lsh.threshold,
            "fn_weight": self.lsh.fn_weight,
            "bands": b,
            "rows": r,
            "bucket_cap": self.lsh.bucket_cap,
            "verify": self.verify.mode,
            "normalize": {
                "unicode_form": self.normalize.unicode_form,
                "casefold": self.normalize.casefold,
                "strip_punctuation": self.normalize.strip_punctuation,
            },
        }
