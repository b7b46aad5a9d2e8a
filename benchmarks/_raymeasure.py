"""Measuring a Ray job on this machine: a two-node cluster, the driver's memory, the object store's use.

- :func:`nodes` starts a real multi-node Ray cluster with the tests' helper (``tests/raycluster.py``: one
  ``ray start --block`` process group per node), asking every raylet to write its ``debug_state.txt`` every
  second, and yields it with the session's log directory.
- :class:`StoreWatch` reads those files while a job runs (the raylets of one machine share the file and
  overwrite it in turn; each names its node): the peak, summed over the nodes, of the primary copies pinned in
  the object store ("pinned objects size") and of the bytes spilled to disk. Sampled, so a peak shorter than a
  second can be missed: a lower bound of the store's use.
- :func:`driver` is the command of a ``dedupe`` driver that also writes the wall-clock time of every stage's end
  to a file: this file's ``--driver`` mode runs dedupe's own command line in its process, with the Ray
  engine's clock (``time.perf_counter``, read once at the start and at the end of every stage) wrapped to note
  each reading; nothing else changes. :meth:`StoreWatch.by_stage` splits the store's samples by those times.
- :func:`probe` runs a driver of its own over one Ray Data pipeline shaped like the engine's first shuffles, to
  see what the driver's memory does with the number of input blocks, outside dedupe.
- :func:`measured` runs a command under this file's ``__main__`` as a small wrapper process, which samples the
  command's ``/proc/PID/status`` (RssAnon, RssShmem, RssFile) every 20 ms, keeping a timeline of RssAnon +
  RssShmem (what the process itself holds: RssFile is its mapped libraries), and reads ``ru_maxrss`` and the CPU
  time of its children (``getrusage(RUSAGE_CHILDREN)``) when it has exited. The wrapper is a fresh interpreter
  importing the standard library only, so the command's ``ru_maxrss`` is its own: a child inherits its
  parent's peak RSS as a floor (Linux keeps the high-water mark across ``exec``), and the benchmark process,
  which builds the corpora, is large.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent


@dataclass
class Usage:
    """One measured process: wall seconds, its peak RSS (ru_maxrss) and the peaks of its RSS kinds (sampled),
    its CPU seconds, all in MiB / seconds."""

    seconds: float
    peak_rss_mb: float
    peak_anon_mb: float
    peak_shmem_mb: float
    peak_file_mb: float
    cpu_seconds: float
    timeline: list[tuple[float, float]] = field(default_factory=list)  # (time.time(), RssAnon + RssShmem MiB)

    def peak_between(self, start: float, stop: float) -> float:
        """The peak of the sampled RssAnon + RssShmem from ``start`` to ``stop`` (times as time.time())."""
        return max((m for t, m in self.timeline if start <= t < stop), default=0.0)


def measured(cmd: list[str], env: dict[str, str], workdir: Path, cwd: Path) -> Usage:
    """Run ``cmd`` (env ``env``, stdout discarded) under the wrapper; stop the benchmark if it fails."""
    out, err = workdir / "usage.json", workdir / "stderr.txt"
    with open(err, "wb") as stderr:
        code = subprocess.call([sys.executable, str(Path(__file__).resolve()), str(out), "--", *cmd], env=env,
                               cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr)
    if code != 0:
        raise SystemExit(f"failed (exit {code}): {' '.join(cmd)}\n{err.read_text(errors='replace')[-3000:]}")
    return Usage(**json.loads(out.read_text()))


@dataclass
class Node:
    address: str  # host:port of the head (RAY_ADDRESS)
    logs: Path  # the session's log directory (debug_state.txt)


@contextmanager
def nodes(workdir: Path, count: int = 2, cpus: int = 1, object_store_mb: int = 2048) -> Iterator[Node]:
    """A cluster of ``count`` nodes with ``cpus`` CPUs and ``object_store_mb`` of object store each, started as
    the tests' helper starts one (its functions), each raylet dumping its state at its own period (1.0 s, 1.3 s,
    ...): the raylets of one machine share ``debug_state.txt``, and different periods let every node's dump be
    seen in turn."""
    sys.path.insert(0, str(HERE.parent / "tests"))
    from raycluster import ENV, RAY, _stop, _wait_port, free_port  # type: ignore[import-not-found]

    port = free_port()
    common = ["--block", "--num-cpus", str(cpus), "--node-ip-address", "127.0.0.1", "--disable-usage-stats",
              "--object-store-memory", str(object_store_mb << 20)]
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for k in range(count):
            env = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"} | ENV
            env["RAY_debug_dump_period_milliseconds"] = str(1000 + 300 * k)
            log = workdir / f"ray-node-{k}.log"
            if k == 0:
                args = ["start", "--head", "--port", str(port), "--ray-client-server-port", str(free_port()),
                        "--include-dashboard=false", *common]
            else:
                args = ["start", f"--address=127.0.0.1:{port}", *common]
            procs.append(subprocess.Popen([str(RAY), *args], start_new_session=True, env=env,
                                          stdout=log.open("wb"), stderr=subprocess.STDOUT))
            if k == 0:
                _wait_port(port, procs[0], log)
        logs = _session_logs(workdir / "ray-node-0.log")
        try:
            _wait_nodes(logs, count)
        except RuntimeError as exc:
            tails = "".join(f"\n{p.name}:\n{p.read_text(errors='replace')[-2000:]}"
                            for p in sorted(workdir.glob("ray-node-*.log")))
            raise RuntimeError(f"{exc}{tails}") from None
        yield Node(f"127.0.0.1:{port}", logs)
    finally:
        _stop(procs[::-1])


def _session_logs(head_log: Path, timeout: float = 60) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(r"(/\S+/session_[^/\s]+)/logs", head_log.read_text(errors="replace"))
        if found:
            return Path(found.group(1)) / "logs"
        time.sleep(0.2)
    raise RuntimeError(f"no Ray session directory in {head_log}")


def _wait_nodes(logs: Path, count: int, timeout: float = 120) -> None:
    """Until ``count`` raylets have written their state (the worker node has joined)."""
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(seen)} of {count} Ray nodes reported within {timeout} s")
        state = _read_state(logs)
        if state:
            seen.add(state[0])
        time.sleep(0.2)


_NODE = re.compile(r"Local id: (\S+)")
_PINNED = re.compile(r"- pinned objects size: (\d+)")
_SPILLED = re.compile(r"- num bytes currently spilled: (\d+)")


def _read_state(logs: Path) -> tuple[str, int, int] | None:
    try:
        text = (logs / "debug_state.txt").read_text(errors="replace")
    except OSError:
        return None
    node, pinned, spilled = _NODE.search(text), _PINNED.search(text), _SPILLED.search(text)
    if not (node and pinned and spilled):
        return None  # a file being rewritten
    return node.group(1), int(pinned.group(1)), int(spilled.group(1))


@dataclass
class StoreWatch:
    """The object store of every node while a job runs (see the module's docstring)."""

    logs: Path
    peak_pinned: int = 0
    peak_spilled: int = 0
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (time.time(), pinned, spilled)
    seen: dict[str, int] = field(default_factory=dict)  # turns each node's dump was read (should be many)
    _latest: dict[str, tuple[int, int]] = field(default_factory=dict)
    _last: str = ""
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> StoreWatch:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(1.2)  # the last dump of every node
        self._stop.set()
        assert self._thread is not None
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            state = _read_state(self.logs)
            if state is not None:
                node, pinned, spilled = state
                if node != self._last:  # another node's dump: count the turns each node was seen
                    self.seen[node] = self.seen.get(node, 0) + 1
                    self._last = node
                self._latest[node] = (pinned, spilled)
                total = sum(p for p, _ in self._latest.values()), sum(s for _, s in self._latest.values())
                self.samples.append((time.time(), *total))
                self.peak_pinned = max(self.peak_pinned, total[0])
                self.peak_spilled = max(self.peak_spilled, total[1])
            self._stop.wait(0.2)


    def by_stage(self, clock: Path, stages: tuple[str, ...]) -> dict[str, int]:
        """The peak of the pinned bytes during each stage, by the stage ends the driver noted in ``clock``
        (its readings: the run's start, the first stage's start, each stage's end, the run's end); a stage
        shorter than the raylets' one-second dumps may show the peak of its neighbour."""
        times = [float(x) for x in clock.read_text().split()]
        bounds = times[1 : 2 + len(stages)]
        peaks = {}
        for k, name in enumerate(stages):
            inside = [p for t, p, _ in self.samples if bounds[k] <= t < bounds[k + 1] + 1.0]
            peaks[name] = max(inside, default=0)
        return peaks


def driver(clock: Path, args: list[str]) -> list[str]:
    """The command of a ``dedupe ARGS`` driver that notes its stage ends in ``clock`` (see the docstring)."""
    return [sys.executable, str(Path(__file__).resolve()), "--driver", str(clock), *args]


def _drive(clock: str, args: list[str]) -> None:
    import types

    sys.path[0] = str(HERE.parent)  # dedupe, not this folder's scripts
    import dedupe.engines.ray as engine
    from dedupe.cli.app import main

    log = open(clock, "w")  # noqa: SIM115 (open until the process ends)

    def perf_counter() -> float:
        log.write(f"{time.time():.3f}\n")
        log.flush()
        return time.perf_counter()

    noted = types.SimpleNamespace(**{k: getattr(time, k) for k in dir(time) if not k.startswith("__")})
    noted.perf_counter = perf_counter
    engine.__dict__["time"] = noted
    sys.argv = ["dedupe", *args]
    main()


def probe(node: Node, blocks: int, rows: int, variant: str, env: dict[str, str]) -> dict[str, float]:
    """A driver of its own running one Ray Data pipeline over ``blocks`` tables of ``rows`` (key, number) rows
    made by tasks, as the Ray engine's id-hash and band-key shuffles do: ``groupby`` (``.groupby("part")
    .map_groups``), ``repartition`` (the same after ``.repartition(4)``) or ``map`` (``map_batches`` only),
    with the engine's shuffle settings. Returns the driver's RssAnon growth over the pipeline (MiB)."""
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--probe", str(blocks), str(rows), variant],
                         env=env | {"RAY_ADDRESS": node.address}, capture_output=True, text=True, check=True)
    found: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return found


def _probe(blocks: int, rows: int, variant: str) -> None:
    import logging

    import numpy as np
    import pyarrow as pa
    import ray
    import ray.data

    sys.path[0] = str(HERE.parent)
    from dedupe.engines.ray_cluster import quiet_data_context

    def rss() -> float:
        return _status(os.getpid())["RssAnon"] / 1024

    def table(k: int) -> pa.Table:
        rng = np.random.default_rng(k)
        return pa.table({"key": rng.integers(0, 2**63, rows, dtype=np.uint64),
                         "number": np.arange(rows, dtype=np.int64)})

    ray.init(address=os.environ["RAY_ADDRESS"], logging_level=logging.ERROR)
    quiet_data_context()
    refs = [ray.remote(table).remote(k) for k in range(blocks)]
    ray.wait(refs, num_returns=blocks)
    before = rss()
    ds = ray.data.from_arrow_refs(refs).map_batches(  # type: ignore[arg-type]
        lambda b: {**b, "part": (b["key"] % np.uint64(4)).astype(np.int64)}, batch_format="numpy")
    if variant == "map":
        ds.materialize()
    else:
        if variant == "repartition":
            ds = ds.repartition(4)
        groups = ds.groupby("part").map_groups(lambda b: {"n": np.array([len(b["key"])])}, batch_format="numpy")
        sum(int(b["n"].sum()) for b in groups.iter_batches(batch_format="numpy", batch_size=None))
    print(json.dumps({"grown_mb": rss() - before}))


def _status(pid: int) -> dict[str, int]:
    found = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("RssAnon", "RssShmem", "RssFile"):
                found[key] = int(value.split()[0])
    return found


def _wrap(out: str, cmd: list[str]) -> int:
    peaks = {"RssAnon": 0, "RssShmem": 0, "RssFile": 0}
    timeline: list[tuple[float, float]] = []
    start = time.perf_counter()
    proc = subprocess.Popen(cmd)
    while proc.poll() is None:
        try:
            status = _status(proc.pid)
        except (OSError, ValueError):
            status = {}
        for key, value in status.items():
            peaks[key] = max(peaks[key], value)
        if status:
            timeline.append((time.time(), (status.get("RssAnon", 0) + status.get("RssShmem", 0)) / 1024))
        time.sleep(0.02)
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(out, "w") as fh:
        json.dump({"seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024, "peak_anon_mb": peaks["RssAnon"] / 1024,
                   "peak_shmem_mb": peaks["RssShmem"] / 1024, "peak_file_mb": peaks["RssFile"] / 1024,
                   "cpu_seconds": usage.ru_utime + usage.ru_stime, "timeline": timeline}, fh)
    return proc.returncode


if __name__ == "__main__":
    if sys.argv[1] == "--driver":  # _raymeasure.py --driver CLOCK DEDUPE-ARGS...
        _drive(sys.argv[2], sys.argv[3:])
    elif sys.argv[1] == "--probe":  # _raymeasure.py --probe BLOCKS ROWS VARIANT
        _probe(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    else:  # the wrapper: _raymeasure.py OUT.json -- CMD...
        sys.exit(_wrap(sys.argv[1], sys.argv[sys.argv.index("--") + 1 :]))
