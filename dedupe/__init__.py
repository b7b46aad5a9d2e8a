"""dedupe: streaming near-duplicate detection and clustering for JSONL corpora."""

from .core.clusters import UnionFind
from .config import (
    ConfigError,
    DedupeConfig,
    LSHConfig,
    MinHashConfig,
    NormalizeConfig,
    PassageConfig,
    ShingleConfig,
    VerifyConfig,
)
from .core.lsh import BandIndex, DatasketchIndex, band_keys
from .features.minhash import MinHasher, estimate_jaccard
from .features.normalize import normalize
from .passages.matcher import PassageMatch, PassageMatcher, remove_spans
from .core.matcher import Deduplicator, Match, Result, deduplicate
from .io.records import InputError, Record, Rejected, read_records
from .index.redis import RedisIndex, SharedIndexError
from .features.shingles import shingle_hashes, text_shingles
from .index.store import Checkpointer, IndexCorrupt, IndexMismatch, IndexStore, IndexStoreError
from .core.similarity import containment, jaccard

__all__ = [
    "Checkpointer",
    "ConfigError",
    "DedupeConfig",
    "Deduplicator",
    "IndexCorrupt",
    "IndexMismatch",
    "IndexStore",
    "IndexStoreError",
    "InputError",
    "LSHConfig",
    "BandIndex",
    "DatasketchIndex",
    "Match",
    "MinHashConfig",
    "MinHasher",
    "NormalizeConfig",
    "PassageConfig",
    "PassageMatch",
    "PassageMatcher",
    "Record",
    "RedisIndex",
    "Rejected",
    "Result",
    "ShingleConfig",
    "SharedIndexError",
    "UnionFind",
    "band_keys",
    "VerifyConfig",
    "containment",
    "deduplicate",
    "estimate_jaccard",
    "jaccard",
    "normalize",
    "read_records",
    "remove_spans",
    "shingle_hashes",
    "text_shingles",
]
__version__ = "0.1.0"
