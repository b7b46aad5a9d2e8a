"""The two numpy key tables behind a batched :class:`~dedupe.core.lsh.BandIndex`: the hash table of its recent
band keys (:class:`RecentTable`), and the filter in front of each of its sorted runs (:class:`KeyFilter`).

Band keys are fmix64 outputs, uniform in every bit, so both index them by their bits directly.
"""

from __future__ import annotations

import numpy as np

# A batched index's recent-key table starts with this many slots and grows 4x at a time (at most a quarter full), up
# to the size it needs before its first flush (2^21 slots of 16 bytes). Growing 2x at a time re-placed every key
# about six times, a third of the matching time of a Reuters run; allocating the largest size at once cost a small
# run 32 MB (random slots touch every page).
RECENT_SLOTS = 1 << 15
RECENT_GROWTH = 4


class KeyFilter:
    """Which keys a sorted run may hold: a Bloom filter with one hash, the key's top bits (band keys are fmix64
    outputs, uniform in every bit), 8 to 16 bits per key, so about 1 query in 10 to 20 that the run does not hold
    passes. Built in linear time from the sorted keys (their top bits are sorted too).

    Example:
        >>> import numpy as np
        >>> keys = np.sort(np.random.default_rng(1).integers(0, 2**63, 1000, dtype=np.uint64))
        >>> bool(KeyFilter(keys).may_hold(keys).all())
        True
    """

    def __init__(self, keys: np.ndarray) -> None:
        bits = max(6, (8 * len(keys) - 1).bit_length())  # 2^bits >= 8 bits per key
        self._shift = np.uint64(64 - bits)
        self._bytes = np.zeros(1 << (bits - 3), dtype=np.uint8)
        if len(keys):
            top = (keys >> self._shift).astype(np.int64)  # ascending, as the keys
            byte = top >> 3
            mark = np.left_shift(np.uint8(1), (top & 7).astype(np.uint8))
            first = np.flatnonzero(np.concatenate(([True], byte[1:] != byte[:-1])))
            self._bytes[byte[first]] = np.bitwise_or.reduceat(mark, first)

    @property
    def nbytes(self) -> int:
        return self._bytes.nbytes

    def may_hold(self, keys: np.ndarray) -> np.ndarray:
        """False for each key the run certainly does not hold."""
        top = (keys >> self._shift).astype(np.int64)
        out: np.ndarray = (np.right_shift(self._bytes[top >> 3], (top & 7).astype(np.uint8)) & 1).astype(bool)
        return out


class RecentTable:
    """The recent entries of a batched :class:`~dedupe.core.lsh.BandIndex`: band key -> its positions, in a numpy
    hash table.

    Open addressing with linear probing over ``uint64`` keys (band keys are fmix64 outputs, so their low bits
    are uniform and index the slots directly); each key's entries form a chain (positions ascending, as
    inserted). Lookups and inserts take a whole batch of keys in a few numpy calls (one per probe round); the
    chains of a batch's hits are walked together, a step per numpy call (:meth:`heads`, :meth:`successors`), and
    a capped walk stops after ``cap`` entries. The table grows
    :data:`RECENT_GROWTH` times past a quarter full, which keeps probe runs short.
    """

    def __init__(self, slots: int = 1 << 12) -> None:
        self._mask = slots - 1
        self._keys = np.zeros(slots, dtype=np.uint64)
        # int32: a table holds at most 4 * lsh.FLUSH_ENTRIES entries (plus a batch) before the index flushes it.
        self._head = np.full(slots, -1, dtype=np.int32)  # first entry of the key in the slot; -1: empty slot
        self._tail = np.zeros(slots, dtype=np.int32)
        self._pos = np.empty(1024, dtype=np.int64)  # entry -> position
        self._next = np.empty(1024, dtype=np.int32)  # entry -> next entry of the same key, -1 at the end
        self._entries = 0
        self._used = 0  # distinct keys

    def __len__(self) -> int:
        """Distinct keys held."""
        return self._used

    @property
    def entries(self) -> int:
        """Entries held (a key once per position under it)."""
        return self._entries

    def clear(self) -> None:
        """Forget every entry (the slots stay allocated)."""
        self._head.fill(-1)
        self._entries = self._used = 0

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """The slot of each key, -1 for keys not held."""
        out = np.full(len(keys), -1, dtype=np.int64)
        slot = (keys & np.uint64(self._mask)).astype(np.int64)
        todo = np.arange(len(keys))
        while len(todo):
            s = slot[todo]
            occupied = self._head[s] >= 0
            hit = occupied & (self._keys[s] == keys[todo])
            out[todo[hit]] = s[hit]
            todo = todo[occupied & ~hit]
            slot[todo] = (slot[todo] + 1) & self._mask
        return out

    def chain(self, slot: int, limit: int) -> list[int]:
        """The first ``limit`` positions under the key in ``slot`` (all of them when ``limit`` < 0)."""
        out: list[int] = []
        entry = int(self._head[slot])
        pos, nxt = self._pos, self._next
        while entry >= 0 and len(out) != limit:
            out.append(int(pos[entry]))
            entry = int(nxt[entry])
        return out

    def heads(self, slots: np.ndarray) -> np.ndarray:
        """The first entry of the key in each slot: with :meth:`positions` and :meth:`successors`, many chains
        are walked at once, a step per call."""
        out: np.ndarray = self._head[slots].astype(np.int64)
        return out

    def positions(self, entries: np.ndarray) -> np.ndarray:
        """The position of each entry."""
        out: np.ndarray = self._pos[entries]
        return out

    def successors(self, entries: np.ndarray) -> np.ndarray:
        """The next entry of each entry's key, -1 at the end of its chain."""
        out: np.ndarray = self._next[entries].astype(np.int64)
        return out

    def insert(
        self, keys: np.ndarray, positions: np.ndarray, order: np.ndarray | None = None, slots: np.ndarray | None = None
    ) -> None:
        """Append entries (``positions`` ascending, as the index inserts them) under their keys.

        ``order`` (a stable argsort of ``keys``) and ``slots`` (their :meth:`lookup`) may be passed when at hand.
        """
        m = len(keys)
        if m == 0:
            return
        if 4 * (self._used + m) > len(self._keys):
            self._grow(self._used + m)
            slots = None  # the slots have moved
        if self._entries + m > len(self._pos):
            size = max(2 * len(self._pos), self._entries + m)
            self._pos = np.resize(self._pos, size)
            self._next = np.resize(self._next, size)
        entry = np.arange(self._entries, self._entries + m, dtype=np.int64)
        self._pos[entry] = positions
        self._entries += m
        # Chain the batch's entries per key (stable: in insertion order), then hang each chain on its key.
        if order is None:
            order = np.argsort(keys, kind="stable")
        ordered = keys[order]
        last = np.ones(m, dtype=bool)
        last[:-1] = ordered[1:] != ordered[:-1]
        chained = entry[order]
        nxt = np.full(m, -1, dtype=np.int32)
        nxt[:-1] = chained[1:]
        nxt[last] = -1
        self._next[chained] = nxt
        first = np.concatenate(([True], last[:-1]))
        unique, heads, tails = ordered[first], chained[first], chained[last]
        slots = self.lookup(unique) if slots is None else slots[order[first]]
        held = slots >= 0
        old = slots[held]
        self._next[self._tail[old]] = heads[held]
        self._tail[old] = tails[held]
        self._place(unique[~held], heads[~held], tails[~held])

    def _place(self, keys: np.ndarray, heads: np.ndarray, tails: np.ndarray) -> None:
        """New keys into empty slots (linear probing; one claimant per slot per round)."""
        self._used += len(keys)
        slot = (keys & np.uint64(self._mask)).astype(np.int64)
        todo = np.arange(len(keys))
        while len(todo):
            s = slot[todo]
            free = self._head[s] < 0
            # Among the keys probing a free slot, one per slot takes it (the tail of a free slot is unused:
            # each claimant writes its number there, and the one that stays has won).
            candidates = todo[free]
            cs = s[free]
            self._tail[cs] = candidates
            winners = candidates[self._tail[cs] == candidates]
            ws = slot[winners]
            self._keys[ws] = keys[winners]
            self._head[ws] = heads[winners]
            self._tail[ws] = tails[winners]
            placed = np.zeros(len(keys), dtype=bool)
            placed[winners] = True
            todo = todo[~placed[todo]]
            moved = todo[self._head[slot[todo]] >= 0]  # slot now taken: probe on
            slot[moved] = (slot[moved] + 1) & self._mask

    def _grow(self, needed: int) -> None:
        slots = len(self._keys)
        while 4 * needed > slots:
            slots *= RECENT_GROWTH
        held = np.flatnonzero(self._head >= 0)
        keys, heads, tails = self._keys[held], self._head[held], self._tail[held]
        self._mask = slots - 1
        self._keys = np.zeros(slots, dtype=np.uint64)
        self._head = np.full(slots, -1, dtype=np.int32)
        self._tail = np.zeros(slots, dtype=np.int32)
        self._used = 0
        self._place(keys, heads, tails)
