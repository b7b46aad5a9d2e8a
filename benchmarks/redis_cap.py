"""What a capped query of one big bucket of the Redis index costs: plain sets (SORT ... LIMIT) against sorted sets.

    .venv/bin/python benchmarks/redis_cap.py [--sizes 10000 100000 1000000] [--cap 4] [--runs 7]
                                             [--url redis://HOST:PORT/DB] [--e2e 5000 --before DIR [--after DIR]]

1. One bucket of each size, filled in random order twice on the same server: as a plain set (the layout before
   sorted sets) and as a sorted set scored by the document number (the layout of ``dedupe/index/redis.py``).
   Timed, ``--runs`` times each, interleaved: the earlier query, ``SORT key LIMIT 0 cap`` on the set (raw command,
   the baseline); ``ZRANGE key 0 cap-1`` on the sorted set (raw command); and ``RedisIndex.query`` of one row of 16
   band keys, one of them the big bucket (the query script the index runs). Each is one round trip: the client's
   wall time (median, min-max) and the server's time in the command (``INFO commandstats`` usec, reset before each
   run; for the script, its ZRANGE calls). Memory: ``MEMORY USAGE key SAMPLES 0`` per member. The answers are
   checked equal (the cap smallest numbers).
2. With ``--e2e N``: ``dedupe scan FIRST_N.jsonl --index redis://...?prefix=FRESH --bucket-cap CAP > out`` on the
   first N records of Reuters-21578, ``--runs`` times, each on a fresh prefix; with ``--before DIR`` (a checkout
   of the earlier code, e.g. ``git archive COMMIT | tar -x -C DIR``) the same command run from DIR, interleaved,
   and the outputs compared byte for byte (``--after DIR``: the code measured as "after", this checkout by
   default). Wall time of the subprocess.
3. With ``--before DIR``, the scripts alone: the add and query scripts of DIR's ``dedupe/index/redis_scripts.py``
   against those of ``--after``, on ``--docs`` fake documents of 16 random band keys (every third repeating the
   keys of the one before it), 1,000-byte payloads, in batches of 256 (each queried with the cap, then added), on
   an emptied prefix each time; ``--runs`` times, interleaved. Seconds in all the query calls, and in all the
   add calls.

Without ``--url`` a throwaway ``redis-server`` (on PATH) is started on a free port and stopped at the end.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import CORPORA, command_line, machine_line, today  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from dedupe.index.redis import RedisIndex, parse_redis_url  # noqa: E402

BANDS = 16


def start_server(directory: Path) -> tuple[subprocess.Popen, str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not on PATH: install it (apt-get install redis-server) or pass --url")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(directory), "--logfile", ""]
    process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return process, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    process.terminate()
    raise SystemExit("redis-server did not answer PING within 10 s")


def fill(client: Any, key: str, order: np.ndarray, sorted_set: bool) -> None:
    for chunk in np.array_split(order, max(1, len(order) // 10_000)):
        members = [str(m) for m in chunk.tolist()]
        if sorted_set:
            client.zadd(key, dict(zip(members, chunk.tolist())))
        else:
            client.sadd(key, *members)


def server_usec(client: Any, command: str) -> float:
    return float(client.info("commandstats").get(f"cmdstat_{command}", {}).get("usec", 0))


def timed(client: Any, command: str, call: Callable[[], Any]) -> tuple[float, float, Any]:
    """(client wall seconds, server usec in ``command``, answer) of one call."""
    client.config_resetstat()
    start = time.perf_counter()
    answer = call()
    seconds = time.perf_counter() - start
    return seconds, server_usec(client, command), answer


def spread(values: list[float], scale: float, fmt: str) -> str:
    v = [x * scale for x in values]
    return f"{statistics.median(v):{fmt}} ({min(v):{fmt}}-{max(v):{fmt}})"


def bucket_table(url: str, sizes: list[int], cap: int, runs: int) -> None:
    import redis

    t = parse_redis_url(url)
    client = redis.Redis(host=t.host, port=t.port, db=t.db)
    prefix = f"bench-cap-{os.getpid()}"
    index = RedisIndex(f"{url}?prefix={prefix}")
    rng = np.random.default_rng(2026)
    print(f"One bucket, capped query (cap {cap}), {runs} runs each, interleaved; wall: client round trip; "
          "server: time in the command (INFO commandstats):\n")
    print("| members | query | wall ms, median (min-max) | server µs, median (min-max) | bytes per member |")
    print("|---|---|---|---|---|")
    try:
        for n in sizes:
            band = int(rng.integers(0, 2**63))
            zkey, skey = f"{prefix}:b:{band:016x}", f"{prefix}:plain:{band:016x}"
            order = rng.permutation(n)
            fill(client, skey, order, sorted_set=False)
            fill(client, zkey, order, sorted_set=True)
            row = rng.integers(0, 2**64, size=(1, BANDS), dtype=np.uint64)
            row[0, 3] = band
            memory = {k: client.memory_usage(k, samples=0) / n for k in (skey, zkey)}
            expected = list(range(min(cap, n)))
            queries: dict[str, tuple[str, Callable[[], Any], str]] = {
                "before: `SORT set LIMIT 0 cap`": ("sort", lambda k=skey: client.sort(k, start=0, num=cap), skey),
                "`ZRANGE zset 0 cap-1`": ("zrange", lambda k=zkey: client.zrange(k, 0, cap - 1), zkey),
                f"`RedisIndex.query` (script, {BANDS} band keys)":
                    ("zrange", lambda q=row: index.query(q, cap)[0], zkey),
            }
            times: dict[str, list[float]] = {name: [] for name in queries}
            usecs: dict[str, list[float]] = {name: [] for name in queries}
            index.query(row, cap)  # the script is loaded once, outside the timed runs
            for _ in range(runs):
                for name, (command, call, _key) in queries.items():
                    seconds, usec, answer = timed(client, command, call)
                    if sorted(int(m) for m in answer) != expected:
                        raise SystemExit(f"{name} on {n:,} members answered {answer[:10]}, not {expected}")
                    times[name].append(seconds)
                    usecs[name].append(usec)
            for name, (_command, _call, key) in queries.items():
                print(f"| {n:,} | {name} | {spread(times[name], 1e3, '.3f')} | {spread(usecs[name], 1, ',.0f')} | "
                      f"{memory[key]:.1f} |", flush=True)
            client.unlink(skey, zkey)
    finally:
        index.clear()
        index.close()
        client.close()
    print()


def e2e_table(url: str, records: int, cap: int, runs: int, before: Path | None, after: Path, work: Path) -> None:
    path = work / f"reuters-{records}.jsonl"
    with gzip.open(CORPORA["reuters"], "rb") as src, open(path, "wb") as dst:
        for k, line in enumerate(src):
            if k >= records:
                break
            dst.write(line)
    trees = {"after (sorted sets)": after.resolve()} | ({"before (plain sets)": before.resolve()} if before else {})
    times: dict[str, list[float]] = {name: [] for name in trees}
    outputs: dict[str, set[bytes]] = {name: set() for name in trees}
    for run in range(runs):
        for name, tree in trees.items():
            index = f"{url}?prefix=bench-e2e-{os.getpid()}-{run}-{len(times[name])}-{name.split()[0]}"
            out = work / "out.jsonl"
            env = dict(os.environ, PYTHONPATH=str(tree))
            with open(out, "wb") as sink:
                start = time.perf_counter()
                proc = subprocess.run([sys.executable, "-m", "dedupe", "scan", str(path), "--index", index,
                                       "--bucket-cap", str(cap)], stdout=sink, stderr=subprocess.PIPE,
                                      stdin=subprocess.DEVNULL, cwd=tree, env=env, check=False)
                seconds = time.perf_counter() - start
            if proc.returncode != 0:
                raise SystemExit(f"{name}: exit {proc.returncode}\n{proc.stderr.decode()[-2000:]}")
            times[name].append(seconds)
            outputs[name].add(out.read_bytes())
            cleaner = RedisIndex(index)
            cleaner.clear()
            cleaner.close()
            print(f"run {run + 1}, {name}: {seconds:.2f} s", file=sys.stderr, flush=True)
    reference = next(iter(outputs["after (sorted sets)"]))
    print(f"`dedupe scan` of the first {records:,} Reuters-21578 records, `--index redis://... --bucket-cap {cap}`, "
          f"{runs} runs each, interleaved, each on a fresh prefix:\n")
    print("| code | wall seconds, median (min-max) | output |")
    print("|---|---|---|")
    for name in trees:
        same = outputs[name] == {reference}
        label = "reference" if name.startswith("after") else ("byte-identical" if same else "DIFFERS")
        print(f"| {name} | {spread(times[name], 1, '.2f')} | {label} |")
    print()


def scripts_table(url: str, docs: int, cap: int, runs: int, before: Path, after: Path) -> None:
    import redis

    def load(tree: Path, name: str) -> Any:
        spec = importlib.util.spec_from_file_location(name, tree / "dedupe" / "index" / "redis_scripts.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    t = parse_redis_url(url)
    client = redis.Redis(host=t.host, port=t.port, db=t.db)
    trees = {"after (sorted sets)": load(after, "after_scripts"), "before (plain sets)": load(before, "before_scripts")}
    keys = np.random.default_rng(7).integers(0, 2**64, size=(docs, BANDS), dtype=np.uint64)
    keys[1::3] = keys[0::3][: len(keys[1::3])]
    batch = 256
    fields: list[bytes] = []
    for i in range(batch):
        fields += [b"id-%d" % i, b"cluster", b"x" * 1000, b"1"]
    seconds: dict[str, dict[str, list[float]]] = {name: {"query": [], "add": []} for name in trees}
    prefix = f"bench-scripts-{os.getpid()}"
    cleaner = RedisIndex(f"{url}?prefix={prefix}")  # its clear() deletes every key the scripts write
    for _ in range(runs):
        for name, module in trees.items():
            cleaner.clear()
            query, add = client.register_script(module.QUERY_LUA), client.register_script(module.ADD_LUA)
            spent = {"query": 0.0, "add": 0.0}
            for start in range(0, docs, batch):
                blob = module.hex_keys(keys[start : start + batch])
                n = min(batch, docs - start)
                began = time.perf_counter()
                query(args=[prefix, BANDS, blob, cap])
                spent["query"] += time.perf_counter() - began
                began = time.perf_counter()
                add(args=[prefix, BANDS, blob, n, *fields[: 4 * n]])
                spent["add"] += time.perf_counter() - began
            for part, value in spent.items():
                seconds[name][part].append(value)
    cleaner.clear()
    cleaner.close()
    client.close()
    print(f"The scripts alone: {docs:,} fake documents of {BANDS} band keys, batches of {batch}, cap {cap}, "
          f"{runs} runs each, interleaved:\n")
    print("| code | query seconds, median (min-max) | add seconds, median (min-max) |")
    print("|---|---|---|")
    for name, parts in seconds.items():
        print(f"| {name} | {spread(parts['query'], 1, '.3f')} | {spread(parts['add'], 1, '.3f')} |")
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", type=int, default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--cap", type=int, default=4)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--url", default=None, help="redis://HOST:PORT/DB of a server to use (default: start one)")
    parser.add_argument("--e2e", type=int, default=0, help="records of Reuters for the end-to-end scan (0: skip)")
    parser.add_argument("--before", type=Path, default=None, help="a checkout of the earlier code, for --e2e")
    parser.add_argument("--after", type=Path, default=ROOT, help="the code measured as after, for --e2e")
    parser.add_argument("--docs", type=int, default=5120, help="fake documents for the scripts alone (--before)")
    args = parser.parse_args()
    if args.cap < 1:
        raise SystemExit("--cap must be 1 or more")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        process, url = start_server(work) if args.url is None else (None, args.url)
        try:
            import redis

            t = parse_redis_url(url)
            version = redis.Redis(host=t.host, port=t.port, db=t.db).info("server")["redis_version"]
            print(f"- machine: {machine_line()}\n- Redis {version} on {t.address} (loopback), "
                  f"redis-py {redis.__version__}\n- date: {today()}\n- command: `{command_line()}`\n", flush=True)
            bucket_table(url, args.sizes, args.cap, args.runs)
            if args.e2e:
                e2e_table(url, args.e2e, args.cap, args.runs, args.before, args.after, work)
            if args.before is not None and args.docs:
                scripts_table(url, args.docs, args.cap, args.runs, args.before, args.after)
        finally:
            if process is not None:
                process.terminate()
                process.wait(10)


if __name__ == "__main__":
    main()
