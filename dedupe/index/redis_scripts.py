"""The server-side Lua scripts of the shared Redis index, and how band keys are sent to them.

Both scripts name keys computed from the prefix (``P:b:{key:016x}`` band buckets, ``P:d:{number}`` document
hashes; see :mod:`dedupe.index.redis` for the layout), which a single server (or primary) allows and Redis
Cluster does not.
"""

from __future__ import annotations

import re

import numpy as np


def hex_keys(keys: np.ndarray) -> bytes:
    """Band keys as one blob of 16 hex digits each (``f"{key:016x}"``), for the scripts to slice."""
    return np.ascontiguousarray(keys, dtype=">u8").tobytes().hex().encode()


# ARGV: prefix, bands, hex blob of n*bands keys, cap. Returns, per row, the union of the cap smallest numbers of
# each of its band buckets (every number with cap 0), each number once. A bucket is a sorted set scored by the
# document number, so ZRANGE by rank 0..cap-1 walks only the cap entries it returns: O(log n + cap) per bucket,
# whatever its size (ZRANGE 0 -1 with cap 0: the whole bucket).
QUERY_LUA = """
local prefix, bands, hex, cap = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local n = #hex / (16 * bands)
local stop = cap - 1
local out = {}
for i = 0, n - 1 do
  local seen, members = {}, {}
  for b = 0, bands - 1 do
    local o = (i * bands + b) * 16
    local name = prefix .. ':b:' .. string.sub(hex, o + 1, o + 16)
    for _, m in ipairs(redis.call('ZRANGE', name, 0, stop)) do
      if not seen[m] then
        seen[m] = true
        members[#members + 1] = m
      end
    end
  end
  out[i + 1] = members
end
return out
"""

# ARGV: prefix, bands, hex blob of n*bands keys, n, then id, cluster, payload, kept per document.
# Returns the first document number allocated.
ADD_LUA = """
local prefix, bands, hex, n = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local first = redis.call('INCRBY', prefix .. ':next', n) - n
for i = 0, n - 1 do
  local ref = string.format('%d', first + i)
  local a = 5 + i * 4
  redis.call('HSET', prefix .. ':d:' .. ref, 'id', ARGV[a], 'cluster', ARGV[a + 1], 'payload', ARGV[a + 2],
             'kept', ARGV[a + 3])
  redis.call('SETBIT', prefix .. ':docs', first + i, 1)
  for b = 0, bands - 1 do
    local o = (i * bands + b) * 16
    redis.call('ZADD', prefix .. ':b:' .. string.sub(hex, o + 1, o + 16), ref, ref)
  end
end
return first
"""


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


def key_matrix(keys: np.ndarray, ndim: int = 2) -> np.ndarray:
    arr = np.asarray(keys)
    if arr.dtype != np.uint64:
        raise TypeError(f"band keys must be a uint64 array (from band_keys), got {arr.dtype}")
    if arr.ndim != ndim:
        shape = "(n, bands)" if ndim == 2 else "(bands,)"
        raise ValueError(f"band keys must have shape {shape}, got {arr.shape}")
    return arr
