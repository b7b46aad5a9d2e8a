"""dedupe: streaming near-duplicate detection and clustering for JSONL corpora."""

from .clusters import UnionFind
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
from .lsh import BandIndex, DatasketchIndex, band_keys
from .minhash import MinHasher, estimate_jaccard
from .normalize import normalize
from .passages import PassageMatch, PassageMatcher, remove_spans
from .pipeline import Deduplicator, Match, Result, deduplicate
from .records import InputError, Record, Rejected, read_records
from .redis_index import RedisIndex, SharedIndexError
from .shingles import shingle_hashes, text_shingles
from .store import Checkpointer, IndexCorrupt, IndexMismatch, IndexStore, IndexStoreError
from .verify import containment, jaccard

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
