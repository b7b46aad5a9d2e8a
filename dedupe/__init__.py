"""dedupe: streaming near-duplicate detection and clustering for JSONL corpora.

The names below are imported when first used (PEP 562), so that ``import dedupe.cli`` runs code of its own
before numpy is loaded (see :mod:`dedupe.cli.app`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from .core.keep import KeepPolicy
    from .core.lsh import BandIndex, band_keys
    from .core.matcher import Deduplicator, Match, Result, deduplicate
    from .core.reference_index import DatasketchIndex
    from .core.similarity import containment, jaccard
    from .engines.launch import run
    from .engines.spec import RunSpec
    from .features.minhash import MinHasher, estimate_jaccard
    from .features.normalize import normalize
    from .features.shingles import shingle_hashes, text_shingles
    from .index.errors import IndexCorrupt, IndexMismatch, IndexStoreError
    from .index.redis import RedisIndex, SharedIndexError
    from .index.shared import RedisBackend
    from .index.store import Checkpointer, IndexStore
    from .io.records import InputError, Record, Rejected, read_records
    from .passages.matcher import PassageMatch, PassageMatcher, remove_spans

# Where each public name lives.
_HOMES: dict[str, str] = {
    "ConfigError": ".config",
    "DedupeConfig": ".config",
    "LSHConfig": ".config",
    "MinHashConfig": ".config",
    "NormalizeConfig": ".config",
    "PassageConfig": ".config",
    "ShingleConfig": ".config",
    "VerifyConfig": ".config",
    "IndexBackend": ".core.backend",
    "InMemory": ".core.backend",
    "UnionFind": ".core.clusters",
    "KeepPolicy": ".core.keep",
    "BandIndex": ".core.lsh",
    "DatasketchIndex": ".core.reference_index",
    "band_keys": ".core.lsh",
    "Deduplicator": ".core.matcher",
    "Match": ".core.matcher",
    "Result": ".core.matcher",
    "deduplicate": ".core.matcher",
    "containment": ".core.similarity",
    "jaccard": ".core.similarity",
    "run": ".engines.launch",
    "RunSpec": ".engines.spec",
    "MinHasher": ".features.minhash",
    "estimate_jaccard": ".features.minhash",
    "normalize": ".features.normalize",
    "shingle_hashes": ".features.shingles",
    "text_shingles": ".features.shingles",
    "IndexCorrupt": ".index.errors",
    "IndexMismatch": ".index.errors",
    "IndexStoreError": ".index.errors",
    "RedisIndex": ".index.redis",
    "SharedIndexError": ".index.redis",
    "RedisBackend": ".index.shared",
    "Checkpointer": ".index.store",
    "IndexStore": ".index.store",
    "InputError": ".io.records",
    "Record": ".io.records",
    "Rejected": ".io.records",
    "read_records": ".io.records",
    "PassageMatch": ".passages.matcher",
    "PassageMatcher": ".passages.matcher",
    "remove_spans": ".passages.matcher",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


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
    "KeepPolicy",
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
    "RunSpec",
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
    "run",
    "shingle_hashes",
    "text_shingles",
]
__version__ = "0.1.0"
