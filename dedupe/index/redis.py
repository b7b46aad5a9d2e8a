"""A shared LSH index in Redis, so that several ``dedupe`` processes dedup against one another.

The in-memory :class:`~dedupe.core.lsh.BandIndex` maps 64-bit band keys (from
:func:`~dedupe.core.lsh.band_keys`) to stream positions of one process. A
:class:`RedisIndex` keeps the same mapping on one Redis server, with global
document numbers handed out by the server, plus what a process needs to
verify and label a candidate found by another process: its id, its cluster
and an opaque payload (the bytes of a numpy array: shingle hashes or a
signature).

Redis URL: ``redis://[USER@]HOST[:PORT][/DB][?prefix=NAME]`` (port 6379, db 0,
prefix ``dedupe`` by default), ``rediss://`` for TLS. The password is never
part of the URL (a URL ends up in process lists, shell history and reports):
it is read from the environment variable ``DEDUPE_REDIS_PASSWORD``.

Key layout (``P`` is the prefix; every key starts with ``P:``):

==========================  ======  ===================================================
key                         type    content
==========================  ======  ===================================================
``P:params``                string  the matching parameters and ``redis_layout``, JSON
                                    with sorted keys, set once by the first process
                                    (SET NX)
``P:next``                  string  next document number to hand out (INCRBY)
``P:docs``                  string  bitmap: bit ``n`` set once document ``n`` is stored
                                    (``len`` is its BITCOUNT)
``P:lock``                  string  token of the process holding the lock, with a TTL
``P:b:{key:016x}``          zset    document numbers having band key ``key``: each a
                                    decimal integer scored by itself, so that the
                                    members run from the earliest document
``P:d:{number}``            hash    ``id``, ``cluster`` (UTF-8), ``payload`` (bytes)
                                    and ``kept`` (``1`` or ``0``) of document ``number``
==========================  ======  ===================================================

The band buckets are sorted sets so that a bucket cap costs the server
O(log n + cap) per band key, not O(n): ``ZRANGE key 0 cap-1`` walks the cap
entries of lowest score (rank order, the earliest documents) and no more, where
the plain sets of earlier versions had to be read and sorted whole
(``SORT key LIMIT 0 cap``) for every query of a giant bucket (one common
boilerplate text puts every record in the same buckets). ``redis_layout``
(``"sorted-sets"``) in ``P:params`` marks the layout: an index written by an
earlier version (no ``redis_layout``: plain sets) is refused by
:meth:`RedisIndex.check_parameters` with a message saying to build a new index
or clear that one, rather than read wrongly; and since the key is among the
parameters, an earlier version refuses an index of this layout as built with
other parameters.

Memory: each document costs one hash (its id, cluster and payload plus ~570
bytes: a payload over 64 bytes makes Redis keep the hash as a hash table
rather than a compact listpack) and, per band, one Redis key holding a small
sorted set (band keys of different documents rarely coincide; up to 128
members Redis keeps it as a compact listpack): about 110 bytes per band.
Measured with ``INFO memory`` (``used_memory`` before and after, Redis
7.0.15, jemalloc) for 10,000 fake documents with 20 random band keys, a
1,024-byte payload and 12-character ids and clusters: **about 3,800 bytes per
document**, ~1,600 for the document hash and ~2,200 for the band buckets (the
plain sets of the earlier layout: the same to 1%). So 1 GB of Redis holds
about 260,000 such documents. A 1,024-byte payload is 128 uint64 shingle hashes
(a text of ~130 words); the signature of ``--verify estimate`` (128 uint32
values) is half that. A bucket past 128 members is a skip list with a hash
table: about 95-105 bytes per member against 40-52 for a plain set of integers
(``benchmarks/redis_cap.py``), the price of reading its first members in
O(log n).

Writes (:meth:`RedisIndex.add`) run as one server-side Lua script per batch:
it allocates consecutive numbers (``INCRBY``) and writes every hash, bitmap bit
and band bucket (``ZADD``) atomically, so a document number that appears in a
band bucket always has its hash. Queries (:meth:`RedisIndex.query`) are one
script too (one ``ZRANGE key 0 cap-1`` per band key, on the server: the cap
smallest document numbers of each bucket, the same rule as the in-memory index;
``ZRANGE key 0 -1``, the whole bucket, without a cap; merged per row in the
script); fetches one pipelined round trip. The
scripts name keys computed from the prefix, which a single server (or primary)
allows and Redis Cluster does not. To decide a batch against every earlier
batch of every process, hold :meth:`RedisIndex.lock` around query,
verification and add of that batch.

A dropped connection or a timeout is retried 6 times over about 3 s (then it
is a :class:`SharedIndexError`). A retried add whose first attempt did reach
the server stores that batch twice under new numbers: later candidates then
find two identical copies, which changes no decision.

redis-py is an optional dependency (``pip install 'dedupe[redis]'``): it is
imported only when a :class:`RedisIndex` is built. It speaks RESP2, so any
Redis from 4.0 on works (UNLINK). One Redis server (or a primary) is
supported, not Redis Cluster (a transaction spans many keys).
"""

from __future__ import annotations

import importlib
import json
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import numpy as np

from .redis_scripts import ADD_LUA, QUERY_LUA, glob_escape, hex_keys, key_matrix
from .redis_url import PASSWORD_ENV, RedisTarget, SharedIndexError, parse_redis_url

__all__ = ["PASSWORD_ENV", "RedisIndex", "RedisTarget", "SharedIndexError", "parse_redis_url"]

# Strings are stored as UTF-8; surrogatepass lets any Python str round-trip.
_ENCODING, _ERRORS = "utf-8", "surrogatepass"

# The key layout, stored among the parameters: band buckets as sorted sets scored by the document number. Indexes
# written before have no such key; their buckets are plain sets ("sets"), which this module cannot read.
LAYOUT_KEY, LAYOUT, LEGACY_LAYOUT = "redis_layout", "sorted-sets", "sets"


# --------------------------------------------------------------------------- index


def _import_redis() -> ModuleType:
    try:
        module = importlib.import_module("redis")
    except ImportError:
        raise SharedIndexError(
            "the shared Redis index needs redis-py, which is not installed: pip install 'dedupe[redis]'"
        ) from None
    major = str(getattr(module, "__version__", "0")).split(".")[0]
    if not major.isdigit() or int(major) < 5:
        raise SharedIndexError(
            f"the shared Redis index needs redis-py 5 or later, found {getattr(module, '__version__', '?')}: "
            "pip install -U 'dedupe[redis]'"
        )
    return module


def _retry(times: int) -> Any:
    """redis-py's retry policy for connection errors and timeouts: ``times`` retries, 0.1 s doubling to 1 s apart."""
    retry = importlib.import_module("redis.retry").Retry
    if times == 0:
        return retry(importlib.import_module("redis.backoff").NoBackoff(), 0)
    return retry(importlib.import_module("redis.backoff").ExponentialBackoff(cap=1.0, base=0.05), times)


def _text(value: str) -> bytes:
    return value.encode(_ENCODING, _ERRORS)


class RedisIndex:
    """LSH index of band keys shared by every process that opens the same URL.

    Args:
        url: ``redis://HOST:PORT/DB?prefix=NAME`` (see :func:`parse_redis_url`).
        password_env: Environment variable read for the password (unset or
            empty: no password).
        client: A ready ``redis.Redis`` client to use instead of connecting
            (tests, custom TLS or socket options). It must not decode
            responses. The URL still gives the prefix and the names in messages.

    Raises:
        SharedIndexError: Bad URL, redis-py missing, server unreachable,
            authentication refused, database out of range.

    Example (needs a server):
        >>> import numpy as np
        >>> index = RedisIndex("redis://localhost:6379/0?prefix=example")  # doctest: +SKIP
        >>> index.check_parameters({"num_perm": 128, "bands": 2})  # doctest: +SKIP
        >>> keys = np.array([[11, 22], [33, 22]], dtype=np.uint64)
        >>> with index.lock():  # doctest: +SKIP
        ...     found = index.query(keys)
        ...     numbers = index.add([("a", "a", keys[0], b"x"), ("b", "a", keys[1], b"y")])
        >>> found, numbers, index.query(keys[1:])  # doctest: +SKIP
        ([[], []], [0, 1], [[0, 1]])
        >>> index.fetch([1])  # doctest: +SKIP
        {1: ('b', 'a', b'y')}
        >>> len(index)  # doctest: +SKIP
        2
        >>> index.clear(); index.close()  # doctest: +SKIP
    """

    def __init__(self, url: str, *, password_env: str = PASSWORD_ENV, client: Any = None) -> None:
        self.target = parse_redis_url(url)
        self.url = self.target.display()
        self._password_env = password_env
        password = os.environ.get(password_env) or None
        self._secrets = [password] if password else []
        self._redis = _import_redis()
        t = self.target
        options: dict[str, Any] = {
            "host": t.host,
            "port": t.port,
            "db": t.db,
            "username": t.username,
            "password": password,
            "ssl": t.tls,
            "socket_connect_timeout": 5,
            "protocol": 2,
        }
        if client is None:
            # The check runs on a client that does not retry, so that a closed
            # port or a refused password is reported at once.
            probe = self._redis.Redis(**options, retry=_retry(0))
            try:
                with self._talking("connecting"):
                    probe.ping()
            finally:
                probe.close()
            client = self._redis.Redis(**options, socket_timeout=60, retry=_retry(6))
        else:
            with self._talking("connecting"):
                client.ping()
        self._client = client
        self._query_script = client.register_script(QUERY_LUA)
        self._add_script = client.register_script(ADD_LUA)
        p = self.target.prefix
        self._params_key, self._next_key, self._docs_key, self._lock_key = (
            f"{p}:params",
            f"{p}:next",
            f"{p}:docs",
            f"{p}:lock",
        )

    def __repr__(self) -> str:
        return f"RedisIndex({self.url!r})"

    def __enter__(self) -> RedisIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections (the index itself stays on the server)."""
        self._client.close()

    # ------------------------------------------------------------- errors

    def _scrub(self, message: str) -> str:
        for secret in self._secrets:
            message = message.replace(secret, "***")
        return message

    @contextmanager
    def _talking(self, action: str) -> Iterator[None]:
        """Turn redis-py errors raised while doing ``action`` into SharedIndexError."""
        r = self._redis
        where = f"Redis at {self.target.address}"
        try:
            yield
        except SharedIndexError:
            raise
        except r.AuthenticationError as e:
            if not self._secrets:
                message = f"{where} requires a password: set the environment variable {self._password_env}"
            else:
                message = (
                    f"{where} refused the credentials (user {self.target.username or 'default'!r}, password "
                    f"from {self._password_env}): check the password and the user name in the URL"
                )
            raise SharedIndexError(self._scrub(f"{message} (server: {str(e).rstrip('.')})")) from None
        except (r.ConnectionError, r.TimeoutError) as e:
            what = (
                f"cannot connect to {where}"
                if action == "connecting"
                else f"lost the connection to {where} while {action}"
            )
            raise SharedIndexError(
                self._scrub(
                    f"{what} ({self.url}): {str(e).rstrip('.')}. Check that the server is running and reachable "
                    "and that the host and port in the URL are right"
                )
            ) from None
        except r.ResponseError as e:
            text = str(e)
            if "NOAUTH" in text or "WRONGPASS" in text:
                message = (
                    f"{where} requires a password: set the environment variable {self._password_env}"
                    if not self._secrets
                    else f"{where} refused the password from {self._password_env}"
                )
            elif "DB index is out of range" in text:
                message = (
                    f"{where} has no database {self.target.db}: use a lower /DB in the URL "
                    "(the server's 'databases' setting, 16 by default)"
                )
            elif "WRONGTYPE" in text:
                message = (
                    f"a key under the prefix {self.target.prefix!r} at {where} holds another kind of value "
                    "(the prefix is used by something else, or holds an index written by an earlier dedupe, whose "
                    "band buckets were plain sets): choose another ?prefix=NAME or clear it"
                )
            elif "OOM " in text:
                message = (
                    f"{where} is out of memory (its maxmemory) while {action}: give it more memory or use a new index"
                )
            else:
                message = f"{where} answered an error while {action}: {text}"
            raise SharedIndexError(self._scrub(message)) from None
        except r.RedisError as e:
            raise SharedIndexError(self._scrub(f"{where}: error while {action}: {e}")) from None

    def _corrupt(self, what: str) -> SharedIndexError:
        return SharedIndexError(
            f"the index at {self.url} is corrupt: {what}. Reset it (RedisIndex.clear()) or use another ?prefix=NAME"
        )

    # ------------------------------------------------------------- parameters

    def check_parameters(self, params: dict[str, Any]) -> None:
        """Store ``params`` if the index has none yet, else check that they are the same.

        The first process stores them (JSON with sorted keys, SET NX, so two
        first processes cannot both win) with the key layout
        (``redis_layout``); every later one compares.

        Raises:
            SharedIndexError: The index was built with other parameters (the
                message lists each differing key with both values), or in
                another key layout (an earlier dedupe's: build a new index or
                clear that one).
        """
        mine = json.loads(json.dumps(params | {LAYOUT_KEY: LAYOUT}, sort_keys=True))  # the JSON view: tuples are lists
        encoded = json.dumps(mine, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        with self._talking("checking the parameters"):
            if self._client.set(self._params_key, _text(encoded), nx=True):
                return
            raw = self._client.get(self._params_key)
        if raw is None:  # cleared between SET NX and GET
            return self.check_parameters(params)
        try:
            theirs = json.loads(raw.decode(_ENCODING, _ERRORS))
        except ValueError:
            theirs = None
        if not isinstance(theirs, dict):
            raise self._corrupt(f"{self._params_key} is not a JSON object")
        self._check_layout(theirs.get(LAYOUT_KEY, LEGACY_LAYOUT))
        # Imported here: the module itself imports nothing of the package.
        from ..config import LEGACY_INDEX_PARAMETERS
        from .errors import unit_hash_note

        # A key added after the index was made: it was built with the value that key's absence meant.
        theirs = {k: v for k, v in LEGACY_INDEX_PARAMETERS.items() if k in mine} | theirs
        if theirs == mine:
            return
        missing = object()
        differing = sorted(k for k in set(mine) | set(theirs) if theirs.get(k, missing) != mine.get(k, missing))

        def show(values: dict[str, Any]) -> str:
            return ", ".join(
                f"{k}={json.dumps(values[k], sort_keys=True, ensure_ascii=False)}" if k in values else f"{k} unset"
                for k in differing
            )

        raise SharedIndexError(
            f"the index at {self.url} was built with {show(theirs)}; this run has {show(mine)}. "
            "Run with the same parameters, or use another ?prefix=NAME (or clear that index)."
            + unit_hash_note(differing, theirs, mine)
        )

    def _check_layout(self, layout: object) -> None:
        """Refuse an index whose keys this module would read wrongly (its buckets of another type)."""
        if layout == LAYOUT:
            return
        clear = f"python -c \"import dedupe; dedupe.RedisIndex('{self.url}').clear()\""
        if layout == LEGACY_LAYOUT:
            what = (
                "was written by an earlier dedupe, which kept its band buckets as plain sets (this one keeps sorted "
                "sets, so that --bucket-cap reads only the capped entries), so it cannot be read"
            )
        else:
            what = f"has the key layout {json.dumps(layout)}, which this dedupe does not know (it reads {LAYOUT!r})"
        raise SharedIndexError(
            f"the index at {self.url} {what}: build a new index under another ?prefix=NAME, or clear that one "
            f"({clear}, with {self._password_env} set if the server needs a password) and run on all the input again"
        )

    # ------------------------------------------------------------- lock

    @contextmanager
    def lock(self, timeout: float = 60.0) -> Iterator[None]:
        """Hold the index-wide lock ``PREFIX:lock`` (blocking until it is free).

        The lock is redis-py's ``Lock``: a random token stored with SET NX PX
        and released by a Lua script only if the token is still ours. The key
        has a TTL of ``timeout`` seconds, renewed every ``timeout / 3`` seconds
        by a background thread while the block runs. So a holder that crashes
        or loses its connection frees the lock at most ``timeout`` seconds
        later, while a live holder is never cut off however long its block
        takes. Waiting has no limit: a live holder is assumed to make progress,
        so hold the lock only around the work on the index (query, verify,
        add of one batch), never around reading input.

        Raises:
            SharedIndexError: The server went away, or the lock was lost while
                held (it expired during a connection outage longer than
                ``timeout``, or someone deleted it): another process may then
                have written at the same time.
        """
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        lk = self._client.lock(
            self._lock_key, timeout=timeout, sleep=0.02, blocking=True, blocking_timeout=None, thread_local=False
        )
        with self._talking("waiting for the lock"):
            lk.acquire()
        stop = threading.Event()
        lost: list[str] = []

        def renew() -> None:
            while not stop.wait(timeout / 3):
                try:
                    lk.reacquire()
                except self._redis.exceptions.LockNotOwnedError:
                    lost.append("it expired or was deleted while held")
                    return
                except self._redis.RedisError:
                    continue  # a connection hiccup: try again before the TTL runs out

        renewer = threading.Thread(target=renew, name=f"dedupe-lock-{self.target.prefix}", daemon=True)
        renewer.start()
        failed = True
        try:
            yield
            failed = False
        finally:
            stop.set()
            renewer.join()
            try:
                with self._talking("releasing the lock"):
                    try:
                        lk.release()
                    except self._redis.exceptions.LockError:
                        lost.append("it expired or was deleted while held")
            except SharedIndexError as e:
                if not failed:
                    raise
                lost.append(str(e))
            if lost and not failed:
                raise SharedIndexError(
                    f"lost the lock {self._lock_key} of {self.url} ({'; '.join(lost)}): another process may have "
                    f"written at the same time. Check the server and the network; a longer lock timeout "
                    f"(now {timeout:g} s) rides out longer outages"
                )

    # ------------------------------------------------------------- data

    def _band_key(self, key: int) -> str:
        return f"{self.target.prefix}:b:{key:016x}"

    def _doc_key(self, ref: int) -> str:
        return f"{self.target.prefix}:d:{ref}"

    def query(self, keys: np.ndarray, cap: int = 0) -> list[list[int]]:
        """Document numbers sharing at least one band key with each row of ``keys``.

        Args:
            keys: uint64 array of shape (n, bands), as from :func:`~dedupe.core.lsh.band_keys`.
            cap: At most this many numbers per band key, the smallest (the
                earliest documents stored); 0 takes them all.

        Returns:
            For each row, the sorted unique document numbers: one ``ZRANGE key
            0 cap-1`` per band key (``ZRANGE key 0 -1`` without a cap), so a
            capped bucket costs the server O(log n + cap) whatever its size n,
            run by a server-side script called once for the whole batch.
        """
        keys = key_matrix(keys)
        if cap < 0:
            raise ValueError(f"cap must be 0 (no cap) or more; got {cap}")
        if keys.shape[0] == 0:
            return []
        if keys.shape[1] == 0:
            return [[] for _ in range(keys.shape[0])]
        with self._talking("querying"):
            replies = self._query_script(args=[self.target.prefix, keys.shape[1], hex_keys(keys), cap])
        try:
            return [sorted(int(m) for m in members) if isinstance(members, (set, list)) else [] for members in replies]
        except ValueError:
            raise self._corrupt("a band bucket holds something that is not a document number") from None

    def fetch(self, refs: list[int]) -> dict[int, tuple[str, str, bytes, bool]]:
        """(id, cluster, payload, kept) of each document number in ``refs``, in one pipelined round trip.

        A document stored without ``kept`` (by a version that kept no such flag, when a record was a duplicate
        exactly when it matched any earlier record) counts as kept when it named itself as its cluster.

        Raises:
            SharedIndexError: A number has no document (the index is corrupt,
                or was cleared while in use).
        """
        numbers = sorted({int(r) for r in refs})
        if not numbers:
            return {}
        pipe = self._client.pipeline(transaction=False)
        for ref in numbers:
            pipe.hmget(self._doc_key(ref), ["id", "cluster", "payload", "kept"])
        with self._talking("fetching documents"):
            replies = pipe.execute()
        out: dict[int, tuple[str, str, bytes, bool]] = {}
        for ref, (rid, cluster, payload, kept) in zip(numbers, replies):
            if rid is None or cluster is None or payload is None:
                raise self._corrupt(f"document {ref} is missing (was the index cleared while in use?)")
            doc_id, doc_cluster = rid.decode(_ENCODING, _ERRORS), cluster.decode(_ENCODING, _ERRORS)
            out[ref] = (doc_id, doc_cluster, payload, kept == b"1" if kept is not None else doc_cluster == doc_id)
        return out

    def add(self, docs: Sequence[tuple[Any, ...]]) -> list[int]:
        """Store documents; returns their global numbers (consecutive, the first document ever is 0).

        Args:
            docs: (id, cluster, band key row (uint64, shape (bands,)), payload bytes[, kept]) per document;
                ``kept`` (whether the document was kept, so that it can be a later record's ``duplicate_of``)
                is True when left out.

        One server-side script allocates the numbers (INCRBY) and writes every
        document hash, bitmap bit and band set: one round trip, atomic, so the
        documents become visible to queries all at once. (Sending one SADD per
        band key instead cost the client more than all the matching.)
        """
        if not docs:
            return []
        rows: list[np.ndarray] = []
        args: list[Any] = []
        for doc_id, doc_cluster, row, doc_payload, *kept in docs:
            if not isinstance(doc_id, str) or not isinstance(doc_cluster, str):
                raise TypeError("a document's id and cluster must be str")
            if not isinstance(doc_payload, (bytes, bytearray, memoryview)):
                raise TypeError(f"a document's payload must be bytes, not {type(doc_payload).__name__}")
            rows.append(key_matrix(row, ndim=1))
            args += [_text(doc_id), _text(doc_cluster), bytes(doc_payload), b"1" if not kept or kept[0] else b"0"]
        keys = np.stack(rows)
        with self._talking("adding documents"):
            first = int(self._add_script(args=[self.target.prefix, keys.shape[1], hex_keys(keys), len(docs), *args]))
        return list(range(first, first + len(docs)))

    def __len__(self) -> int:
        """Number of documents stored."""
        with self._talking("counting documents"):
            return int(self._client.bitcount(self._docs_key))

    def clear(self) -> None:
        """Delete the whole index: every key of this prefix (SCAN + UNLINK).

        Only keys of this index's layout are deleted, so clearing prefix ``a``
        leaves an index with prefix ``a:b`` alone. Do not clear an index other
        processes are using.
        """
        p = glob_escape(self.target.prefix)
        patterns = [f"{p}:b:" + "[0-9a-f]" * 16, f"{p}:d:[0-9]*"]
        fixed = [self._params_key, self._next_key, self._docs_key, self._lock_key]
        doc_prefix = _text(f"{self.target.prefix}:d:")
        with self._talking("clearing the index"):
            self._client.unlink(*fixed)
            for pattern in patterns:
                batch: list[bytes] = []
                for key in self._client.scan_iter(match=pattern, count=1000):
                    if key.startswith(doc_prefix) and not key[len(doc_prefix) :].isdigit():
                        continue  # e.g. "a:d:7:x" of an index with prefix "a:d:7"
                    batch.append(key)
                    if len(batch) >= 1000:
                        self._client.unlink(*batch)
                        batch = []
                if batch:
                    self._client.unlink(*batch)
