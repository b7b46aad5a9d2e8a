"""Configuration: one frozen dataclass per concern, validated when built.

Every error states the rule that was broken and how to fix it, and names the
setting as the command-line option a user typed (with the keyword argument
when it is spelled otherwise). Derived parameters (LSH bands and rows) are
computed from the threshold and the number of permutations, fit for every
allowed threshold, and can be overridden.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

Unit = Literal["word", "char"]
VerifyMode = Literal["exact", "estimate"]
UnicodeForm = Literal["", "NFC", "NFD", "NFKC", "NFKD"]


class ConfigError(ValueError):
    """An option value breaks a rule; the message says which and how to fix it."""


def _option(flag: str, keyword: str) -> str:
    """How a message names a setting: the command-line option as typed, followed by the keyword argument of the
    config class when that is spelled otherwise, so that CLI and library users both recognise it.

    Example:
        >>> _option("--num-perm", "num_perm"), _option("--passage-unit", "unit"), _option("--seed", "seed")
        ('--num-perm (num_perm)', '--passage-unit (unit)', '--seed')
    """
    return flag if flag.removeprefix("--") == keyword else f"{flag} ({keyword})"


# The range of --num-perm (MinHashConfig.num_perm and PassageConfig.num_perm).
MIN_NUM_PERM = 2
MAX_NUM_PERM = 1024
# Fewest LSH bands accepted. One band gives P(s) = s^r, a curve with no S-shape around the threshold; the bands a
# user gives are held to this, and so are the derived ones (for every threshold and number of permutations).
MIN_BANDS = 2


def _whole(value: object, low: int) -> bool:
    """``value`` is an int (not a bool, which is one in Python) of at least ``low``."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _raise_num_perm(needed: int) -> str:
    """The end of a banding message: raising --num-perm, when the permutations needed are within its range."""
    return f", or raise --num-perm to {needed} or more" if needed <= MAX_NUM_PERM else ""


# Earlier documents taken per LSH bucket as candidates (LSHConfig.bucket_cap); chosen from the measurements in
# benchmarks/RESULTS.md ("Bucket cap").
DEFAULT_BUCKET_CAP = 4

# The matcher keeps up to this many bytes of verification data (shingle hashes or signatures) in RAM, and the
# rest in a temporary file in TMPDIR (dedupe.core.spill): small runs never touch the disk, and a large run's
# memory does not grow with text length.
SPILL_AFTER_BYTES = 4 << 20

# A run saves its --index every this many input records (0: only at the end).
DEFAULT_CHECKPOINT_EVERY = 100_000
# Characters of each text used for matching (0: no limit); the record written out is never cut.
DEFAULT_MAX_CHARS = 1_000_000
# The record fields read by default: the text to match, and the id that names the record.
DEFAULT_TEXT_FIELD = "text"
DEFAULT_ID_FIELD = "id"
# Processes, the main one included (--workers; with 2 or more, workers - 1 compute features; the output does not
# depend on it), the --output format, the engine.
DEFAULT_WORKERS = 1
DEFAULT_OUTPUT_FORMAT = "jsonl"
DEFAULT_ENGINE = "stream"
# Records per feature batch, and characters of text at which a batch ends early (long texts do not make huge
# batches: two batches are in flight, with a few copies of their text each, so this bounds that memory). Larger
# batches spend less per record on numpy calls (1,024 against 256: about 10% of a Reuters run); a batch also ends
# when a pipe has nothing more to read yet. Decisions never depend on either.
BATCH_RECORDS = 1024
BATCH_CHARS = 500_000
# Which copy of a cluster a run keeps (--keep): the first seen (streaming); "longest" or "field:NAME[:max|min]"
# decide after every record's matches are known (two passes over the input; dedupe.core.keep).
DEFAULT_KEEP = "first"
# --engine ray: an uncompressed JSONL input is read as byte ranges of about this size cut at line starts, and a
# Parquet input as runs of row groups of about this size (--split-bytes); each range is one map task. 64 MiB is
# about 90k news articles: a task of a few seconds, a few thousand tasks for a terabyte.
DEFAULT_SPLIT_BYTES = 64 << 20
# --engine ray: rows per partition of a shuffle (band keys, pairs, edges); each partition is grouped in one task.
RAY_PARTITION_ROWS = 4_000_000

# Index parameters added after indexes were first saved, with the value an index saved before them was built with:
# a saved index that lacks one of these keys is compared as if it held this value.
LEGACY_INDEX_PARAMETERS: dict[str, object] = {"bucket_cap": 0, "words": "spaces"}

# How text is cut into words (documents and passages), saved with an index as its "words" parameter: runs between
# spaces, and every character of a script written without spaces (Chinese, Japanese, Thai...) a word of its own
# (dedupe.features.scripts). Indexes saved before say "spaces" (by LEGACY_INDEX_PARAMETERS): there a run of such
# characters was one word, so their shingles of those scripts cannot be compared with these.
WORD_TOKENS = "by-script"

# How shingle units are hashed, saved with an index as its "hash" parameter: words as 8-byte integers mixed by
# fmix64 (dedupe.features.shingles.word_hashes). Indexes saved while words were hashed with xxh3-64 say "xxh3_64";
# their hashes cannot be compared with these. Passage word windows use the same word hash (the passages'
# "word_hash"; indexes saved while passage words were hashed with xxh3 have none).
UNIT_HASH = "fmix64-words"
# Which pair rules decide near passages, saved with an index's passage parameters as "rules": plain words in each
# passage and in common, numbers shared both ways, names that agree (dedupe.passages.names). Indexes saved before
# have none: what they hold was decided by other rules (and lacks the names and plain words these need).
PASSAGE_RULES = "plain-numbers-names"


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

    unicode_form: UnicodeForm = "NFKC"
    casefold: bool = True
    strip_punctuation: bool = True

    def __post_init__(self) -> None:
        if self.unicode_form not in ("", "NFC", "NFD", "NFKC", "NFKD"):
            raise ConfigError(
                "NormalizeConfig.unicode_form must be one of NFC, NFD, NFKC, NFKD or '' (none); "
                f"got {self.unicode_form!r}"
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
            raise ConfigError(f"--unit must be 'word' or 'char'; got {self.unit!r}")
        if not _whole(self.ngram, 1) or self.ngram > 64:
            raise ConfigError(f"--ngram must be an integer from 1 to 64; got {self.ngram!r}")


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
        if not _whole(self.num_perm, MIN_NUM_PERM) or self.num_perm > MAX_NUM_PERM:
            raise ConfigError(
                f"{_option('--num-perm', 'num_perm')} must be an integer from {MIN_NUM_PERM} to "
                f"{MAX_NUM_PERM}; got {self.num_perm!r}"
            )
        if not _whole(self.seed, 0) or self.seed >= 2**32:
            raise ConfigError(f"--seed must be an integer from 0 to 2**32-1 ({2**32 - 1}); got {self.seed!r}")


@lru_cache(maxsize=64)
def optimal_bands_rows(threshold: float, num_perm: int, fn_weight: float) -> tuple[int, int]:
    """Bands and rows that minimise the weighted false positive and false negative areas, with at least 2 bands.

    This is datasketch's own optimisation (``MinHashLSH(weights=...)``, ``_optimal_param``): a grid search
    over (b, r) with b * r <= num_perm of the integrals of the S-curve P(s) = 1 - (1 - s^r)^b below and
    above the threshold, weighted (1 - fn_weight, fn_weight). Unlike datasketch's, the search starts at
    b = 2 (:data:`MIN_BANDS`): at high thresholds datasketch's optimum can be a single band (at 128
    permutations: 0.99 with equal weights, 0.999 and 1 with fn_weight 0.95), which this configuration
    refuses. Wherever datasketch's optimum has 2 bands or more, the result is the same pair (a test checks
    it): the search visits (b, r) in the same order and keeps the first smallest error.

    datasketch integrates with ``scipy.integrate.quad``; here P(s) is a polynomial of degree b * r <=
    num_perm, so Gauss-Legendre quadrature with num_perm // 2 + 1 nodes is exact (up to rounding), in numpy,
    without importing scipy (which costs a third of a second at start-up).

    Raises:
        ConfigError: ``num_perm`` is below 2 (no banding of 2 bands fits).

    Example:
        >>> optimal_bands_rows(0.8, 128, 0.5), optimal_bands_rows(0.8, 128, 0.95)
        ((9, 13), (16, 8))
        >>> optimal_bands_rows(1.0, 128, 0.95)
        (2, 64)
    """
    import numpy as np
    from numpy.polynomial.legendre import leggauss

    if num_perm < MIN_BANDS:
        raise ConfigError(
            f"{_option('--num-perm', 'num_perm')} must be at least {MIN_BANDS} for LSH banding "
            f"(one permutation per band at least); got {num_perm!r}"
        )
    pairs = [(b, r) for b in range(MIN_BANDS, num_perm + 1) for r in range(1, num_perm // b + 1)]
    bands = np.array([b for b, _ in pairs], dtype=np.float64)[:, None]
    rows = np.array([r for _, r in pairs], dtype=np.float64)[:, None]
    nodes, weights = leggauss(num_perm // 2 + 1)

    def area(lo: float, hi: float) -> np.ndarray:
        """The integral of P(s) from lo to hi, for every pair."""
        s = (hi - lo) / 2 * nodes + (hi + lo) / 2
        curve = 1.0 - (1.0 - s[None, :] ** rows) ** bands
        out: np.ndarray = (curve @ weights) * ((hi - lo) / 2)
        return out

    false_positive = area(0.0, threshold)
    false_negative = (1.0 - threshold) - area(threshold, 1.0)
    error = false_positive * (1.0 - fn_weight) + false_negative * fn_weight
    return pairs[int(np.argmin(error))]


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
        bands: Number of bands, 2 or more; derived when None.
        rows: Rows per band; derived when None. Derived bands and rows
            always fit (see :func:`optimal_bands_rows`); given ones are
            checked against the number of permutations by :meth:`bands_rows`.
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
            raise ConfigError(f"--threshold must be in (0, 1]; got {self.threshold!r}")
        if not 0.0 <= self.fn_weight <= 1.0:
            raise ConfigError(f"{_option('--fn-weight', 'fn_weight')} must be in [0, 1]; got {self.fn_weight!r}")
        if self.bands is not None and not _whole(self.bands, MIN_BANDS):
            raise ConfigError(
                f"--bands must be an integer, {MIN_BANDS} or more (omit it to derive the banding from "
                f"--threshold); got {self.bands!r}"
            )
        if self.rows is not None and not _whole(self.rows, 1):
            raise ConfigError(
                f"--rows must be a positive integer (omit it to derive the banding from --threshold); got {self.rows!r}"
            )
        cap = self.bucket_cap
        if not _whole(cap, 0):
            raise ConfigError(
                f"{_option('--bucket-cap', 'bucket_cap')} must be a whole number, 0 or more (the most earlier "
                f"documents taken from one LSH bucket; 0 = no cap); got {cap!r}. Give --bucket-cap N (default "
                f"{DEFAULT_BUCKET_CAP}), or 0 for no cap"
            )

    def bands_rows(self, num_perm: int) -> tuple[int, int]:
        """Return (bands, rows) for ``num_perm`` permutations, derived or as overridden.

        Derived (neither given): :func:`optimal_bands_rows`, which always fits. Only one given: the other is
        ``num_perm // given``.

        Raises:
            ConfigError: the given bands or rows do not fit in ``num_perm``: bands * rows exceeds it, or
                fewer than 2 bands result. The message names the options as given, never a derived 0.
        """
        b, r = self.bands, self.rows
        if b is None and r is None:
            return optimal_bands_rows(self.threshold, num_perm, self.fn_weight)
        if b is not None and r is not None:
            if b * r > num_perm:
                raise ConfigError(
                    f"--bands {b} x --rows {r} = {b * r} exceeds --num-perm {num_perm} (each band takes "
                    f"--rows permutations): lower --bands or --rows{_raise_num_perm(b * r)}"
                )
            return b, r
        if b is not None:
            if b > num_perm:
                raise ConfigError(
                    f"--bands {b} exceeds --num-perm {num_perm} (each band takes at least one "
                    f"permutation): give --bands {num_perm} or less{_raise_num_perm(b)}"
                )
            return b, num_perm // b
        assert r is not None
        if num_perm // r < MIN_BANDS:
            over = "exceeds" if r > num_perm else "fits only 1 band in"
            raise ConfigError(
                f"--rows {r} {over} --num-perm {num_perm}; at least {MIN_BANDS} bands of --rows "
                f"permutations each are needed: give --rows {num_perm // MIN_BANDS} or less"
                f"{_raise_num_perm(MIN_BANDS * r)}"
            )
        return num_perm // r, r


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
            raise ConfigError(f"{_option('--verify', 'mode')} must be 'exact' or 'estimate'; got {self.mode!r}")


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
            merged into one passage first. Near matching needs this many plain
            words (two characters or more, no digit, not a name) in each of
            the two passages and in common.
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
        names: Near repeats must agree on the names they state (a name of one
            has all its words in a name of the other, when both name
            something; see :mod:`dedupe.passages.names`): keeps templated
            sentences about other companies ("Lincoln Savings Bank said its
            board declared ..." against "Taunton Savings Bank said ...") from
            counting as repeats.
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
    names: bool = True
    index_below: float = 0.8

    def __post_init__(self) -> None:
        if self.unit not in ("sentence", "paragraph"):
            raise ConfigError(
                f"{_option('--passage-unit', 'unit')} must be 'sentence' or 'paragraph'; got {self.unit!r}"
            )
        # Fields without a command-line option are named as the keyword argument of PassageConfig.
        if self.shingle not in ("word", "char"):
            raise ConfigError(f"PassageConfig.shingle must be 'word' or 'char'; got {self.shingle!r}")
        for name, value, low, high in (
            (_option("--passage-min-words", "min_words"), self.min_words, 1, 10_000),
            ("PassageConfig.ngram", self.ngram, 1, 64),
            ("PassageConfig.num_perm", self.num_perm, MIN_NUM_PERM, MAX_NUM_PERM),
            (_option("--boilerplate-docs", "boilerplate_docs"), self.boilerplate_docs, 2, 1 << 31),
            (_option("--passage-max-candidates", "max_candidates"), self.max_candidates, 1, 1 << 20),
        ):
            if not _whole(value, low) or value > high:
                raise ConfigError(f"{name} must be an integer from {low} to {high}; got {value!r}")
        if not _whole(self.window, 0) or not (self.window == 0 or 2 <= self.window <= 64):
            raise ConfigError(
                f"{_option('--passage-window', 'window')} must be 0 (off) or an integer from 2 to 64; "
                f"got {self.window!r}"
            )
        if not 0.0 < self.threshold <= 1.0:
            raise ConfigError(
                f"{_option('--passage-threshold', 'threshold')} must be in (0, 1]; got {self.threshold!r}"
            )
        if not 0.0 <= self.fn_weight <= 1.0:
            raise ConfigError(f"PassageConfig.fn_weight must be in [0, 1]; got {self.fn_weight!r}")
        if not 0.0 <= self.index_below <= 1.01:
            raise ConfigError(f"PassageConfig.index_below must be in [0, 1.01]; got {self.index_below!r}")

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
            "names": self.names,
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
        # Passage windows hash words with the same kernel as documents (indexes saved before: xxh3 per word).
        passages = (
            self.passages.parameters() | {"word_hash": UNIT_HASH, "rules": PASSAGE_RULES, "words": WORD_TOKENS}
            if self.passages is not None
            else None
        )
        return {
            k: p[k]
            for k in (
                "unit",
                "ngram",
                "num_perm",
                "seed",
                "scheme",
                "bands",
                "rows",
                "bucket_cap",
                "verify",
                "normalize",
            )
        } | {"hash": UNIT_HASH, "words": WORD_TOKENS, "passages": passages}

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
