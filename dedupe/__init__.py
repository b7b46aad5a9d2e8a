"""dedupe: streaming near-duplicate detection and clustering for JSONL corpora."""

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
from .core.backend import IndexBackend, InMemory
from .core.clusters import UnionFind
from .core.lsh import BandIndex, DatasketchIndex, band_keys
from .core.matcher import Deduplicator, Match, Result, deduplicate
from .core.similarity import containment, jaccard
from .features.minhash import MinHasher, estimate_jaccard
from .features.normalize import normalize
from .features.shingles import shingle_hashes, text_shingles
from .index.errors import IndexCorrupt, IndexMismatch, IndexStoreError
from .index.redis import RedisIndex, SharedIndexError
from .index.shared import RedisBackend
from .index.store import Checkpointer, IndexStore
from .io.records import InputError, Record, Rejected, read_records
from .passages.matcher import PassageMatch, PassageMatcher, remove_spans

__all__ = [
    "BandIndex",
    "Checkpointer",
    "ConfigError",
    "DatasketchIndex",
    "DedupeConfig",
    "Deduplicator",
    "InMemory",
    "IndexBackend",
    "IndexCorrupt",
    "IndexMismatch",
    "IndexStore",
    "IndexStoreError",
    "InputError",
    "LSHConfig",
    "Match",
    "MinHashConfig",
    "MinHasher",
    "NormalizeConfig",
    "PassageConfig",
    "PassageMatch",
    "PassageMatcher",
    "Record",
    "RedisBackend",
    "RedisIndex",
    "Rejected",
    "Result",
    "SharedIndexError",
    "ShingleConfig",
    "UnionFind",
    "VerifyConfig",
    "band_keys",
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
