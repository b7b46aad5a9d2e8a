"""The shared LSH index in Redis (dedupe.index.redis), against a real redis-server.

The ``redis_server`` fixture (conftest.py) starts one throwaway server for the
session; ``redis_url`` gives each test its own prefix and clears it afterwards.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dedupe.index.redis import RedisIndex, RedisTarget, SharedIndexError, parse_redis_url

SECRET = "s3cr3t-Pa55word"


@pytest.fixture
def index(redis_url: str):
    idx = RedisIndex(redis_url)
    yield idx
    idx.close()


def raw_client(url: str, password: str | None = None):
    import redis

    t = parse_redis_url(url)
    return redis.Redis(host=t.host, port=t.port, db=t.db, password=password)


# --------------------------------------------------------------------------- URL parsing


@pytest.mark.parametrize(
    "url, expected",
    [
        ("redis://localhost", RedisTarget("localhost", 6379, 0, "dedupe", None, False)),
        ("redis://10.1.2.3:7000/4?prefix=crawl", RedisTarget("10.1.2.3", 7000, 4, "crawl", None, False)),
        ("redis://h:1/", RedisTarget("h", 1, 0, "dedupe")),
        ("REDIS://h/15", RedisTarget("h", 6379, 15, "dedupe")),
        ("rediss://cache.example:6380/0?prefix=a", RedisTarget("cache.example", 6380, 0, "a", None, True)),
        ("redis://ingest@h/2", RedisTarget("h", 6379, 2, "dedupe", "ingest")),
        ("redis://us%40er@h", RedisTarget("h", 6379, 0, "dedupe", "us@er")),
        ("redis://[::1]:6390/1", RedisTarget("::1", 6390, 1, "dedupe")),
        ("redis://[::1]", RedisTarget("::1", 6379, 0, "dedupe")),
        ("redis://h?prefix=team:corpus-2024", RedisTarget("h", 6379, 0, "team:corpus-2024")),
        ("redis://h?prefix=caf%C3%A9%2Fx", RedisTarget("h", 6379, 0, "café/x")),
        ("redis://h/0?", RedisTarget("h")),
    ],
)
def test_parse_good_urls(url: str, expected: RedisTarget) -> None:
    target = parse_redis_url(url)
    assert target == expected
    assert parse_redis_url(target.display()) == target


def test_display_examples() -> None:
    assert parse_redis_url("redis://h").display() == "redis://h:6379/0?prefix=dedupe"
    assert parse_redis_url("rediss://u@[::1]:7/3?prefix=a:b").display() == "rediss://u@[::1]:7/3?prefix=a:b"
    assert parse_redis_url("redis://h?prefix=caf%C3%A9%2Fx").display() == "redis://h:6379/0?prefix=caf%C3%A9%2Fx"


@given(
    host=st.sampled_from(["localhost", "10.0.0.1", "::1", "redis.internal"]),
    port=st.integers(1, 65535),
    db=st.integers(0, 10_000),
    prefix=st.text(min_size=1, max_size=12).filter(
        lambda p: p.isprintable() and not any(c.isspace() for c in p) and p[0] != ":" and p[-1] != ":"),
    username=st.none() | st.text(min_size=1, max_size=8).filter(str.isprintable),
    tls=st.booleans(),
)
def test_display_round_trips(host, port, db, prefix, username, tls) -> None:
    target = RedisTarget(host, port, db, prefix, username, tls)
    assert parse_redis_url(target.display()) == target


@pytest.mark.parametrize(
    "url, fragment",
    [
        ("localhost:6379", "no '://'"),
        ("http://localhost", "unsupported scheme 'http'"),
        ("unix:///tmp/redis.sock", "unsupported scheme 'unix'"),
        ("redis://", "no host"),
        ("redis://:6379/0", "no host"),
        ("redis://h:abc/0", "port 'abc' is not a number"),
        ("redis://h:/0", "port '' is not a number"),
        ("redis://h:0", "port 0 is out of range"),
        ("redis://h:65536", "port 65536 is out of range"),
        ("redis://h/x", "database 'x' is not a number"),
        ("redis://h/-1", "database '-1' is not a number"),
        ("redis://h/0/1", "database '0/1' is not a number"),
        ("redis://h/0?db=1", "unknown query parameter 'db'"),
        ("redis://h/0?prefix=a&ssl=true", "unknown query parameter 'ssl'"),
        ("redis://h/0?prefix=a&prefix=b", "prefix is given twice"),
        ("redis://h/0?prefix=", "empty prefix"),
        ("redis://h/0?prefix", "empty prefix"),
        ("redis://h/0?prefix=a%20b", "contains whitespace"),
        ("redis://h/0?prefix=a+b", "contains whitespace"),
        ("redis://h/0?prefix=%09a", "contains whitespace"),
        ("redis://h/0?prefix=a%00b", "control characters"),
        ("redis://h/0?prefix=:a", "starts or ends with ':'"),
        ("redis://h/0?prefix=a:", "starts or ends with ':'"),
        ("redis://h/0#frag", "fragment"),
        ("redis://::1:6379/0", "IPv6 address in brackets"),
        ("redis://[::1/0", "no closing ']'"),
        ("redis://@h/0", "empty user name"),
    ],
)
def test_parse_bad_urls(url: str, fragment: str) -> None:
    with pytest.raises(SharedIndexError, match="bad Redis URL") as info:
        parse_redis_url(url)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        f"redis://:{SECRET}@h:6379/0",
        f"redis://bob:{SECRET}@h:6379/0?prefix=x",
        f"rediss://bob:{SECRET}@h",
        "redis://bob:@h",
        f"redis://bob:{SECRET}@h:notaport/zz?what=1",  # the password is reported before anything else
        "redis://bob:pa/ss" + SECRET + "@h/0",  # a '/' in the password splits the URL early
        "redis://bob:pa?ss" + SECRET + "@h/0",
        "redis://bob:pa#ss" + SECRET + "@h/0",
    ],
)
def test_password_in_url_is_refused_without_echoing_it(url: str) -> None:
    with pytest.raises(SharedIndexError) as info:
        parse_redis_url(url)
    message = str(info.value)
    assert "DEDUPE_REDIS_PASSWORD" in message
    assert SECRET not in message and "pa/ss" not in message and "ss" + SECRET[:4] not in message


def test_non_string_url() -> None:
    with pytest.raises(TypeError):
        parse_redis_url(b"redis://h")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- connecting


def test_unreachable_server_names_host_and_port() -> None:
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(SharedIndexError) as info:
        RedisIndex(f"redis://127.0.0.1:{port}/0?prefix=x")
    message = str(info.value)
    assert f"cannot connect to Redis at 127.0.0.1:{port}" in message
    assert "Check that the server is running" in message
    assert time.monotonic() - start < 3  # no retry loop on a refused connection


def test_missing_database(redis_server: str) -> None:
    with pytest.raises(SharedIndexError, match="has no database 999"):
        RedisIndex(redis_server.replace("/0", "/999"))


def test_password_from_env(start_redis, monkeypatch) -> None:
    server = start_redis("--requirepass", SECRET)
    url = f"{server.url}?prefix=pw"
    address = f"127.0.0.1:{server.port}"

    monkeypatch.delenv("DEDUPE_REDIS_PASSWORD", raising=False)
    with pytest.raises(SharedIndexError) as info:
        RedisIndex(url)
    assert f"Redis at {address} requires a password" in str(info.value)
    assert "DEDUPE_REDIS_PASSWORD" in str(info.value)

    monkeypatch.setenv("DEDUPE_REDIS_PASSWORD", "wrong-" + SECRET)
    with pytest.raises(SharedIndexError) as info:
        RedisIndex(url)
    message = str(info.value)
    assert f"Redis at {address} refused the credentials" in message and "DEDUPE_REDIS_PASSWORD" in message
    assert SECRET not in message

    monkeypatch.setenv("DEDUPE_REDIS_PASSWORD", SECRET)
    index = RedisIndex(url)
    try:
        index.check_parameters({"num_perm": 128})
        assert index.add([("a", "a", np.array([1, 2], dtype=np.uint64), b"p")]) == [0]
        assert len(index) == 1
        for text in (index.url, index.target.display(), repr(index), str(index.target), repr(index.target)):
            assert SECRET not in text
        with pytest.raises(SharedIndexError) as info:
            index.check_parameters({"num_perm": 64})
        assert SECRET not in str(info.value)
        index.clear()
    finally:
        index.close()

    # Another variable name, and the user name from the URL in the message.
    monkeypatch.delenv("DEDUPE_REDIS_PASSWORD")
    monkeypatch.setenv("MY_REDIS_PW", SECRET)
    index = RedisIndex(url, password_env="MY_REDIS_PW")
    index.close()
    with pytest.raises(SharedIndexError) as info:
        RedisIndex(url.replace("redis://", "redis://nobody@"), password_env="MY_REDIS_PW")
    assert "refused the credentials (user 'nobody'" in str(info.value) and SECRET not in str(info.value)


def test_redis_py_missing_is_a_clear_error() -> None:
    """Without redis-py, the module still imports (base install); RedisIndex says how to install it."""
    code = (
        "import sys; sys.modules['redis'] = None\n"  # import redis now raises ImportError
        "import dedupe, dedupe.index.redis as r\n"
        "print(r.parse_redis_url('redis://h').display())\n"
        "try:\n"
        "    r.RedisIndex('redis://127.0.0.1:1/0')\n"
        "except r.SharedIndexError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "redis://h:6379/0?prefix=dedupe",
        "the shared Redis index needs redis-py, which is not installed: pip install 'dedupe[redis]'",
    ]


def test_module_does_not_import_redis_by_itself() -> None:
    # dedupe/__init__ imports datasketch, which tries to import redis itself: load the module alone.
    # The module and its sibling redis_url.py are loaded as a package of their own, without dedupe/__init__.
    code = ("import importlib.util, os, sys, types\n"
            "package = types.ModuleType('probe')\n"
            "package.__path__ = [os.path.dirname(sys.argv[1])]\n"
            "sys.modules['probe'] = package\n"
            "spec = importlib.util.spec_from_file_location('probe.redis', sys.argv[1])\n"
            "module = importlib.util.module_from_spec(spec)\n"
            "sys.modules['probe.redis'] = module\n"
            "spec.loader.exec_module(module)\n"
            "module.parse_redis_url('redis://h')\n"
            "print('redis' in sys.modules)\n")
    path = Path(__file__).resolve().parent.parent / "dedupe" / "index" / "redis.py"
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- parameters


PARAMS = {"unit": "word", "ngram": 5, "num_perm": 128, "seed": 1, "bands": 16, "rows": 8,
          "normalize": {"casefold": True, "unicode_form": "NFKC"}}


def test_parameters_stored_then_checked(redis_url: str, index: RedisIndex) -> None:
    index.check_parameters(PARAMS)
    stored = raw_client(redis_url).get(f"{index.target.prefix}:params")
    assert stored == json.dumps(dict(PARAMS, redis_layout="sorted-sets"), sort_keys=True,
                                separators=(",", ":")).encode()
    index.check_parameters(dict(reversed(list(PARAMS.items()))))  # same values, other order
    other = RedisIndex(redis_url)
    try:
        other.check_parameters(dict(PARAMS))
        with pytest.raises(SharedIndexError) as info:
            other.check_parameters(dict(PARAMS, num_perm=64))
        assert str(info.value).startswith(
            f"the index at {index.url} was built with num_perm=128; this run has num_perm=64. ")
        with pytest.raises(SharedIndexError) as info:
            other.check_parameters(dict(PARAMS, bands=8, rows=16, unit="char", extra=[1, 2]))
        message = str(info.value)
        assert ('bands=16, extra unset, rows=8, unit="word"; '
                'this run has bands=8, extra=[1, 2], rows=16, unit="char"') in message
        assert "use another ?prefix=NAME" in message
    finally:
        other.close()


def test_an_index_of_words_hashed_with_xxh3_is_refused_with_the_reason(index: RedisIndex) -> None:
    index.check_parameters(dict(PARAMS, hash="xxh3_64"))  # as an index saved before words were hashed in numpy
    with pytest.raises(SharedIndexError) as info:
        index.check_parameters(dict(PARAMS, hash="fmix64-words"))
    message = str(info.value)
    assert 'hash="xxh3_64"' in message and "no option makes it comparable: build a new index" in message


def test_parameters_first_writer_wins(redis_url: str) -> None:
    indexes = [RedisIndex(redis_url) for _ in range(6)]
    barrier = threading.Barrier(len(indexes))
    outcomes: list[str] = [""] * len(indexes)

    def run(k: int) -> None:
        barrier.wait()
        try:
            indexes[k].check_parameters({"num_perm": 64 + k})
            outcomes[k] = "ok"
        except SharedIndexError:
            outcomes[k] = "mismatch"

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(indexes))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1
    for idx in indexes:
        idx.close()


def test_parameters_saved_before_the_bucket_cap_are_those_of_an_uncapped_index(redis_url: str,
                                                                               index: RedisIndex) -> None:
    index.check_parameters(PARAMS)  # no bucket_cap key: as stored before it existed
    other = RedisIndex(redis_url)
    try:
        other.check_parameters(dict(PARAMS, bucket_cap=0))
        with pytest.raises(SharedIndexError, match="was built with bucket_cap=0; this run has bucket_cap=64"):
            other.check_parameters(dict(PARAMS, bucket_cap=64))
    finally:
        other.close()


def write_earlier_layout(redis_url: str, prefix: str, params: dict) -> None:
    """An index as an earlier dedupe wrote it: the parameters without redis_layout, band buckets as plain sets."""
    r = raw_client(redis_url)
    r.set(f"{prefix}:params", json.dumps(params, sort_keys=True, separators=(",", ":")))
    r.set(f"{prefix}:next", 3)
    for ref in range(3):
        r.hset(f"{prefix}:d:{ref}", mapping={"id": f"old-{ref}", "cluster": "old-0", "payload": b"", "kept": b"1"})
        r.setbit(f"{prefix}:docs", ref, 1)
        r.sadd(f"{prefix}:b:{ref + 100:016x}", ref)
    r.sadd(f"{prefix}:b:{42:016x}", 0, 1, 2)


def test_an_index_of_the_earlier_layout_is_refused_not_read_wrongly(redis_url: str, index: RedisIndex) -> None:
    p, r = index.target.prefix, raw_client(redis_url)
    write_earlier_layout(redis_url, p, PARAMS)
    before = {key: r.dump(key) for key in r.scan_iter(match=f"{p}:*")}
    with pytest.raises(SharedIndexError) as info:
        index.check_parameters(PARAMS)
    message = str(info.value)
    assert message.startswith(f"the index at {index.url} was written by an earlier dedupe, which kept its band "
                              "buckets as plain sets"), message
    assert "build a new index under another ?prefix=NAME, or clear that one" in message
    assert {key: r.dump(key) for key in r.scan_iter(match=f"{p}:*")} == before  # nothing written
    # Read without the check (the library used directly): an error naming the cause, never a wrong answer.
    for cap in (0, 4):
        with pytest.raises(SharedIndexError, match="holds another kind of value .*earlier dedupe.*choose another"):
            index.query(np.array([[42, 7]], dtype=np.uint64), cap)
    # An unknown layout (a later dedupe's) is refused too.
    r.set(f"{p}:params", json.dumps(dict(PARAMS, redis_layout="something-else")))
    with pytest.raises(SharedIndexError, match='key layout "something-else", which this dedupe does not know'):
        index.check_parameters(PARAMS)
    # The command the message gives clears the index, which then takes this layout.
    command = message.split('python -c "', 1)[1].split('"', 1)[0]
    exec(command, {})
    assert list(r.scan_iter(match=f"{p}:*")) == []
    index.check_parameters(PARAMS)
    assert index.add([("new", "new", np.array([42], dtype=np.uint64), b"")]) == [0]
    assert index.query(np.array([[42]], dtype=np.uint64), 4) == [[0]]


def test_corrupt_parameters(redis_url: str, index: RedisIndex) -> None:
    raw_client(redis_url).set(f"{index.target.prefix}:params", b"not json")
    with pytest.raises(SharedIndexError, match="is corrupt: .*:params is not a JSON object.*clear"):
        index.check_parameters(PARAMS)


# --------------------------------------------------------------------------- data


def random_keys(rng: np.random.Generator, n: int, bands: int) -> np.ndarray:
    return rng.integers(0, 2**64, size=(n, bands), dtype=np.uint64, endpoint=False)


def test_add_query_fetch_round_trip(redis_url: str, index: RedisIndex) -> None:
    rng = np.random.default_rng(7)
    bands = 6
    keys = random_keys(rng, 120, bands)
    keys[0, 0], keys[0, 1] = 0, 2**64 - 1  # the extremes of the key space
    # Collisions: documents sharing one band with an earlier one, or several.
    for i in range(1, 120, 7):
        j = int(rng.integers(0, i))
        cols = rng.choice(bands, size=int(rng.integers(1, bands + 1)), replace=False)
        keys[i, cols] = keys[j, cols]
    keys[5] = keys[3]  # an exact copy: every band matches
    payloads = [rng.integers(0, 2**63, size=int(rng.integers(0, 40)), dtype=np.uint64) for _ in range(120)]
    docs = [(f"doc-{i}", f"cluster-{i % 9}", keys[i], payloads[i].tobytes()) for i in range(120)]

    assert len(index) == 0
    assert index.query(keys[:3]) == [[], [], []]
    numbers = index.add(docs[:50]) + index.add(docs[50:51]) + index.add(docs[51:])
    assert numbers == list(range(120))  # consecutive across calls, first is 0
    assert len(index) == 120

    # Reference: key -> documents, in Python.
    where: dict[int, set[int]] = {}
    for ref, row in enumerate(keys.tolist()):
        for k in row:
            where.setdefault(k, set()).add(ref)

    queries = np.concatenate([keys, random_keys(rng, 20, bands)])
    # Multi-band matches: each band of a query taken from a different document.
    mixed = np.stack([keys[rng.integers(0, 120), b] for b in range(bands)])
    queries = np.concatenate([queries, mixed[None, :]])
    found = index.query(queries)
    assert len(found) == len(queries)
    for row, result in zip(queries.tolist(), found):
        expected = sorted(set().union(*(where.get(k, set()) for k in row)))
        assert result == expected
        assert result == sorted(set(result))
    assert found[3] == found[5] and {3, 5} <= set(found[3])
    assert len(found[-1]) >= 2
    assert found[120:140] == [[]] * 20  # random keys match nothing
    assert index.query(np.zeros((0, bands), dtype=np.uint64)) == []

    fetched = index.fetch([7, 3, 3, 119, 0])
    assert sorted(fetched) == [0, 3, 7, 119]
    for ref in fetched:
        rid, cluster, payload, kept = fetched[ref]
        assert (rid, cluster, kept) == (f"doc-{ref}", f"cluster-{ref % 9}", True)  # kept when not given
        assert np.array_equal(np.frombuffer(payload, dtype=np.uint64), payloads[ref])
    assert index.fetch([]) == {}


def test_a_capped_query_gives_each_band_key_its_smallest_numbers(index: RedisIndex) -> None:
    rng = np.random.default_rng(11)
    n, bands = 700, 3
    keys = random_keys(rng, n, bands)
    keys[:, 0] = 42  # one bucket holds every document (past 512 members Redis keeps it as a hash table)
    keys[::5, 1] = 7  # another every fifth
    docs = [(f"d{i}", f"d{i}", keys[i], b"") for i in range(n)]
    for start in (0, 100, 350):
        index.add(docs[start:{0: 100, 100: 350, 350: n}[start]])
    where: dict[int, list[int]] = {}
    for ref, row in enumerate(keys.tolist()):
        for k in row:
            where.setdefault(k, []).append(ref)
    queries = np.concatenate([np.array([[42, 7, 1], [1, 2, 3], [7, 7, 7]], dtype=np.uint64), keys[[0, 650, 699]]])
    for cap in (1, 3, 10, 1000):
        found = index.query(queries, cap)
        for row, result in zip(queries.tolist(), found):
            assert result == sorted(set().union(*(where.get(k, [])[:cap] for k in row)))
    assert index.query(queries, 0) == index.query(queries) and len(index.query(queries)[0]) == n
    with pytest.raises(ValueError, match="cap"):
        index.query(queries, -1)


def test_a_capped_query_of_a_big_bucket_gives_its_earliest_documents_as_before(redis_url: str,
                                                                                 index: RedisIndex) -> None:
    """5,000 members written in random order: a capped query gives the cap smallest numbers, the start of the
    uncapped answer, and what the earlier layout's ``SORT key LIMIT 0 cap`` gave on a plain set of the same
    numbers."""
    p, r = index.target.prefix, raw_client(redis_url)
    n = 5000
    order = np.random.default_rng(5).permutation(n)
    for chunk in np.array_split(order, 10):
        r.zadd(f"{p}:b:{42:016x}", {str(m): int(m) for m in chunk})
    legacy = f"{p}:b:{43:016x}"  # a band key's name, so that the fixture's clear() removes it
    r.sadd(legacy, *(str(m) for m in order))
    queries = np.array([[42, 1], [2, 42]], dtype=np.uint64)
    whole = index.query(queries)
    assert whole == [list(range(n))] * 2
    for cap in (1, 4, 9, 11, 128, 129, 1000, 4999, 5000, 6000):
        expected = list(range(min(cap, n)))
        assert index.query(queries, cap) == [expected, expected] == [whole[0][:cap], whole[1][:cap]]
        assert sorted(int(m) for m in r.sort(legacy, start=0, num=cap)) == expected


def _commands_called(client) -> dict[str, dict[str, float]]:
    """INFO commandstats without the commands of the test and of connecting (CONFIG, INFO, CLIENT, HELLO)."""
    admin = ("cmdstat_config", "cmdstat_info", "cmdstat_client", "cmdstat_hello", "cmdstat_ping")
    return {name: stats for name, stats in client.info("commandstats").items() if not name.startswith(admin)}


def test_a_capped_query_reads_only_the_cap_first_entries_of_each_bucket(redis_url: str, index: RedisIndex) -> None:
    """The server's work for a capped query does not grow with the bucket: one bounded ZRANGE per band key.

    Three checks, each of which fails if a query reads a whole bucket: the commands the script runs, with their
    arguments (the script's own text, each redis.call traced); the commands the server counts for a real query
    (INFO commandstats); and the time the server spends in them against one read of the whole bucket."""
    from dedupe.index.redis_scripts import QUERY_LUA, hex_keys

    p, r = index.target.prefix, raw_client(redis_url)
    rng = np.random.default_rng(9)
    n, cap = 50_000, 4
    keys = random_keys(rng, n, 2)
    keys[:, 0] = 42  # one giant bucket; the other band of each document is a bucket of its own
    for start in range(0, n, 5000):
        index.add([(f"d{i}", f"d{i}", keys[i], b"") for i in range(start, start + 5000)])
    assert r.zcard(f"{p}:b:{42:016x}") == n
    queries = keys[rng.choice(n, size=30, replace=False)]

    # 1. Every command the script issues: ZRANGE name 0 cap-1 on each band key, nothing else.
    assert QUERY_LUA.count("redis.call(") == 1 and QUERY_LUA.rstrip().endswith("return out")
    traced = ("local calls = {}\n"
              "local function call(...) calls[#calls + 1] = {...}; return redis.call(...) end\n"
              + QUERY_LUA.replace("redis.call(", "call(").rstrip()[: -len("return out")] + "return calls\n")
    for c in (cap, 0):
        calls = r.eval(traced, 0, p, 2, hex_keys(queries), c)
        assert calls == [[b"ZRANGE", f"{p}:b:{key:016x}".encode(), 0, c - 1] for key in queries.ravel().tolist()]

    # 2. What the server ran for a real query: one EVALSHA, one ZRANGE per band key.
    index.query(queries[:1], cap)  # the script is loaded (a first EVALSHA may be answered NOSCRIPT)
    r.config_resetstat()
    found = index.query(queries, cap)
    called = _commands_called(r)
    assert sorted(called) == ["cmdstat_evalsha", "cmdstat_zrange"], called
    assert called["cmdstat_evalsha"]["calls"] == 1 and called["cmdstat_zrange"]["calls"] == queries.size
    ref_of = {int(row[1]): i for i, row in enumerate(keys)}
    assert found == [sorted({0, 1, 2, 3, ref_of[int(row[1])]}) for row in queries]

    # 3. Time in ZRANGE: a capped query of 30 rows (60 band keys, 30 of them the giant bucket) against one read of
    # the whole bucket (about 1,000 times longer); the least of 5 tries of each, so that a pause of the server
    # (another process on the machine) cannot decide.
    def zrange_usec(rows: np.ndarray, c: int) -> float:
        r.config_resetstat()
        index.query(rows, c)
        return float(_commands_called(r)["cmdstat_zrange"]["usec"])

    capped = min(zrange_usec(queries, cap) for _ in range(5))
    whole = min(zrange_usec(queries[:1, :1], 0) for _ in range(5))
    assert capped * 10 < whole, (capped, whole)


def test_key_layout(redis_url: str, index: RedisIndex) -> None:
    """The documented layout: PREFIX:b:{key:016x} sorted sets scored by the number, PREFIX:d:{n} hashes, PREFIX:next."""
    p = index.target.prefix
    keys = np.array([[0x1F, 0xABCDEF0123456789], [0x1F, 5]], dtype=np.uint64)
    assert index.add([("x", "x", keys[0], b"\x00\x01"), ("y", "x", keys[1], b"")]) == [0, 1]
    r = raw_client(redis_url)
    assert r.type(f"{p}:b:000000000000001f") == b"zset"
    assert r.zrange(f"{p}:b:000000000000001f", 0, -1, withscores=True) == [(b"0", 0.0), (b"1", 1.0)]
    assert r.zrange(f"{p}:b:abcdef0123456789", 0, -1, withscores=True) == [(b"0", 0.0)]
    assert r.hgetall(f"{p}:d:1") == {b"id": b"y", b"cluster": b"x", b"payload": b"", b"kept": b"1"}
    assert r.get(f"{p}:next") == b"2"
    assert r.object("encoding", f"{p}:b:000000000000001f") in (b"listpack", b"ziplist")  # compact while small


def test_unicode_ids_and_binary_payloads(index: RedisIndex) -> None:
    ids = ["日本語の記事", "🙂 emoji", "nul\x00inside", "line\nbreak", "", "lone \ud800 surrogate", "é" * 300]
    key_rows = np.arange(len(ids) * 2, dtype=np.uint64).reshape(len(ids), 2)
    payloads = [bytes(range(256)) * k for k in range(len(ids))]
    docs = [(rid, f"клáster-{rid}", key_rows[k], payloads[k]) for k, rid in enumerate(ids)]
    refs = index.add(docs)
    fetched = index.fetch(refs)
    assert [fetched[r] for r in refs] == [(rid, f"клáster-{rid}", payloads[k], True) for k, rid in enumerate(ids)]


def test_the_kept_flag_round_trips_and_an_older_document_is_kept_when_it_named_itself(
    redis_url: str, index: RedisIndex
) -> None:
    rows = np.arange(6, dtype=np.uint64).reshape(3, 2)
    refs = index.add([("a", "a", rows[0], b"", True), ("b", "a", rows[1], b"", False)])
    assert [index.fetch(refs)[r][3] for r in refs] == [True, False]
    # A document stored without the flag (by an earlier version): kept exactly when it is its own cluster.
    client = raw_client(redis_url)
    (ref,) = index.add([("c", "c", rows[2], b"")])
    client.hdel(f"{index.target.prefix}:d:{ref}", "kept")
    client.hdel(f"{index.target.prefix}:d:{refs[1]}", "kept")  # "b" named "a" as its cluster: a duplicate
    fetched = index.fetch([refs[1], ref])
    assert (fetched[refs[1]][3], fetched[ref][3]) == (False, True)


def test_add_checks_its_arguments(index: RedisIndex) -> None:
    row = np.array([1, 2], dtype=np.uint64)
    assert index.add([]) == []
    with pytest.raises(TypeError):
        index.add([(1, "c", row, b"")])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        index.add([("a", "c", row, "text")])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="uint64"):
        index.add([("a", "c", np.array([1, 2], dtype=np.int64), b"")])
    with pytest.raises(TypeError, match="uint64"):
        index.query(np.array([[1, 2]], dtype=np.int64))
    with pytest.raises(ValueError, match="shape"):
        index.query(row)
    assert len(index) == 0


def test_one_round_trip_per_call(index: RedisIndex, monkeypatch) -> None:
    import redis.client

    calls = {"direct": 0, "pipelines": 0}
    real_command, real_execute = redis.client.Redis.execute_command, redis.client.Pipeline.execute

    def command(self, *args, **kwargs):
        calls["direct"] += 1
        return real_command(self, *args, **kwargs)

    def execute(self, *args, **kwargs):
        calls["pipelines"] += 1
        return real_execute(self, *args, **kwargs)

    keys = random_keys(np.random.default_rng(1), 201, 16)
    index.add([("warm", "warm", keys[200], b"p")])  # the server learns both scripts (SCRIPT LOAD) once
    index.query(keys[200:])
    monkeypatch.setattr(redis.client.Redis, "execute_command", command)
    monkeypatch.setattr(redis.client.Pipeline, "execute", execute)
    index.add([(str(i), str(i), keys[i], b"p") for i in range(200)])
    assert calls == {"direct": 1, "pipelines": 0}  # one EVALSHA for the whole batch
    index.query(keys[:200])
    assert calls == {"direct": 2, "pipelines": 0}
    index.fetch(list(range(200)))
    assert calls == {"direct": 2, "pipelines": 1}


def test_fetch_missing_document(index: RedisIndex) -> None:
    with pytest.raises(SharedIndexError, match="document 42 is missing"):
        index.fetch([42])


def test_wrong_type_under_prefix(redis_url: str, index: RedisIndex) -> None:
    raw_client(redis_url).set(f"{index.target.prefix}:b:{7:016x}", b"not a set")
    with pytest.raises(SharedIndexError, match="holds another kind of value.*choose another"):
        index.query(np.array([[7]], dtype=np.uint64))


def test_len_and_clear(redis_server: str, redis_url: str, index: RedisIndex) -> None:
    p = index.target.prefix
    # Neighbours that a careless glob would catch: same start, glob characters, prefix + ":sub".
    neighbours = [RedisIndex(f"{redis_server}?prefix={name}") for name in (f"{p}-other", f"{p}:sub", f"{p}x")]
    starry = RedisIndex(f"{redis_server}?prefix={p}*")
    try:
        keys = random_keys(np.random.default_rng(3), 30, 4)
        for idx in [index, starry, *neighbours]:
            idx.check_parameters({"bands": 4})
            idx.add([(f"d{i}", "c", keys[i], b"x" * i) for i in range(30)])
            with idx.lock():
                pass
        assert len(index) == len(starry) == 30
        starry.clear()  # '*' in the prefix is literal: the other indexes stay
        assert len(starry) == 0
        assert [len(n) for n in neighbours] == [30, 30, 30] and len(index) == 30
        index.clear()
        assert len(index) == 0
        assert index.query(keys) == [[] for _ in range(30)]
        assert [len(n) for n in neighbours] == [30, 30, 30]
        assert all(n.query(keys[:1]) == [[0]] for n in neighbours)
        left = list(raw_client(redis_url).scan_iter(match=f"{p}:*"))
        assert left and all(k.startswith(f"{p}:sub:".encode()) for k in left)  # only the neighbour's keys
        index.check_parameters({"bands": 8})  # a cleared index takes new parameters
        assert index.add([("z", "z", keys[0], b"")]) == [0]  # and numbers from 0 again
    finally:
        for idx in [starry, *neighbours]:
            idx.clear()
            idx.close()


# --------------------------------------------------------------------------- lock


def test_lock_is_exclusive(redis_url: str) -> None:
    a, b = RedisIndex(redis_url), RedisIndex(redis_url)  # two connections, as two processes would have
    inside = threading.Event()
    times: dict[str, float] = {}

    def holder() -> None:
        with a.lock():
            inside.set()
            time.sleep(0.4)
            times["a_leaves"] = time.monotonic()

    t = threading.Thread(target=holder)
    t.start()
    assert inside.wait(5)
    times["b_asks"] = time.monotonic()
    with b.lock():
        times["b_enters"] = time.monotonic()
    t.join()
    assert times["b_enters"] >= times["a_leaves"]
    assert times["b_enters"] - times["b_asks"] > 0.2  # b waited
    a.close()
    b.close()


def test_lock_serializes_read_modify_write(redis_url: str) -> None:
    indexes = [RedisIndex(redis_url) for _ in range(4)]
    r = raw_client(redis_url)
    counter = f"{indexes[0].target.prefix}:test-counter"
    r.set(counter, 0)

    def work(idx: RedisIndex) -> None:
        for _ in range(5):
            with idx.lock():
                value = int(r.get(counter))
                time.sleep(0.005)
                r.set(counter, value + 1)

    threads = [threading.Thread(target=work, args=(idx,)) for idx in indexes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert int(r.get(counter)) == 20
    r.delete(counter)
    for idx in indexes:
        idx.close()


def test_crashed_holder_frees_the_lock(redis_url: str, index: RedisIndex) -> None:
    # A process that took the lock with a 0.8 s lease and died: nobody renews it.
    raw_client(redis_url).set(f"{index.target.prefix}:lock", b"dead-process-token", px=800)
    start = time.monotonic()
    with index.lock(timeout=5):
        waited = time.monotonic() - start
    assert 0.4 < waited < 5


def test_lock_is_renewed_while_held(redis_url: str, index: RedisIndex) -> None:
    r = raw_client(redis_url)
    key = f"{index.target.prefix}:lock"
    with index.lock(timeout=0.6):
        time.sleep(1.5)  # well past the lease: renewal keeps it
        assert r.exists(key) and 0 < r.pttl(key) <= 600
        other = r.lock(key, timeout=1)
        assert not other.acquire(blocking=False)
    assert not r.exists(key)


def test_lost_lock_is_reported(redis_url: str, index: RedisIndex) -> None:
    r = raw_client(redis_url)
    with pytest.raises(SharedIndexError, match="lost the lock .*another process may have written"), \
            index.lock(timeout=5):
        r.delete(f"{index.target.prefix}:lock")
    # An error inside the block wins over a lost lock, and the lock is released after an error.
    with pytest.raises(KeyError), index.lock(timeout=5):
        r.delete(f"{index.target.prefix}:lock")
        raise KeyError("boom")
    with pytest.raises(ZeroDivisionError), index.lock(timeout=5):
        _ = 1 / 0
    assert not r.exists(f"{index.target.prefix}:lock")
    with pytest.raises(ValueError), index.lock(timeout=0):
        pass


def test_server_gone_mid_run(start_redis) -> None:
    server = start_redis()
    index = RedisIndex(f"{server.url}?prefix=gone")
    keys = np.array([[1, 2]], dtype=np.uint64)
    index.add([("a", "a", keys[0], b"")])
    server.process.terminate()
    server.process.wait(5)
    with pytest.raises(SharedIndexError, match=f"Redis at 127.0.0.1:{server.port}.*Check that the server"):
        index.query(keys)
    index.close()
