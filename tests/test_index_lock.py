"""One writer at a time on an index directory: the lock, its messages, stale locks, release on every exit."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import generate_corpus
from dedupe.core.matcher import Deduplicator
from dedupe.index.errors import IndexCorrupt, IndexLocked, IndexNotFound, IndexStoreError
from dedupe.index.lock import LOCK
from dedupe.index.store import MANIFEST, Checkpointer, IndexStore
from test_faults import _env, dedupe, error_line

try:
    import fcntl
except ImportError:  # pragma: no cover - POSIX only
    fcntl = None  # type: ignore[assignment]

HAS_PROC = os.path.exists("/proc/self/stat")
WAIT = 120  # seconds: generous, the machine may be loaded


# --------------------------------------------------------------------------- helpers


def _default_sigint() -> None:
    # A test run started in the background passes SIGINT on as ignored, and dedupe keeps an inherited
    # "ignore"; these runs stand for a terminal's foreground job.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_writer(index: Path, out_path: Path, *extra: str) -> subprocess.Popen:
    """``dedupe scan - --index INDEX`` reading a pipe the test keeps open: it holds the lock while it waits."""
    with open(out_path, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "dedupe", "scan", "-", "--index", str(index), *extra],
                                stdin=subprocess.PIPE, stdout=out, stderr=subprocess.PIPE, env=_env(),
                                preexec_fn=_default_sigint)


def _holder(index: Path) -> dict | None:
    try:
        return json.loads((index / LOCK).read_bytes())
    except (OSError, ValueError):
        return None


def _wait_for_lock(index: Path, proc: subprocess.Popen) -> dict:
    """Poll until ``proc`` holds the index's lock (the lock file names it) and the index exists (a new index's
    manifest is written just after its lock is taken)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        holder = _holder(index)
        if holder is not None and holder.get("pid") == proc.pid and (index / MANIFEST).exists():
            return holder
        assert proc.poll() is None, proc.communicate()[1].decode()
        time.sleep(0.05)
    raise AssertionError(f"run {proc.pid} did not take the lock of {index}")


def _wait_for_output(out_path: Path, proc: subprocess.Popen) -> None:
    """Poll until ``proc`` wrote a decided batch: it is then inside the run, its signal handlers in place."""
    deadline = time.monotonic() + WAIT
    while out_path.stat().st_size == 0:
        assert proc.poll() is None, proc.communicate()[1].decode()
        assert time.monotonic() < deadline, "no output"
        time.sleep(0.05)


def _documents(index: Path) -> int:
    return json.loads((index / MANIFEST).read_text())["documents"]


def _start_ticks(pid: int) -> int | None:
    """The process's start time (clock ticks since boot), as the lock records it."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    return int(raw[raw.rindex(b")") + 2 :].split()[19])


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def _sleeper() -> subprocess.Popen:
    """A live process that holds no lock: it waits for its stdin to close."""
    return subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)


def _dead_process() -> tuple[int, int | None]:
    """The pid (and start time) of a process that has exited and been reaped."""
    child = _sleeper()
    ticks = _start_ticks(child.pid)
    child.communicate(b"", timeout=WAIT)
    return child.pid, ticks


def _write_lock(index: Path, pid: int, host: str | None = None, ticks: int | None = None,
                boot_id: str | None = None) -> bytes:
    index.mkdir(exist_ok=True)
    body = json.dumps({"pid": pid, "host": host or socket.gethostname(), "boot_id": boot_id or _boot_id(),
                       "process_start": ticks, "started": "2020-01-02T03:04:05Z",
                       "command": "dedupe scan old.jsonl --index idx"}).encode()
    (index / LOCK).write_bytes(body)
    return body


@pytest.fixture
def small(tmp_path: Path):
    return generate_corpus(tmp_path / "small.jsonl", seed=5, bases=60, exact=20, edited=25, with_rejects=False)


@pytest.fixture
def other(tmp_path: Path):
    return generate_corpus(tmp_path / "other.jsonl", seed=6, bases=40, exact=5, edited=5, with_rejects=False)


# --------------------------------------------------------------------------- two runs at once


def test_a_second_writer_exits_5_naming_the_holder_and_the_first_keeps_all_its_documents(small, other, tmp_path):
    index, out_path = tmp_path / "idx", tmp_path / "first.jsonl"
    lines = small.path.read_bytes().splitlines(keepends=True)
    first = _start_writer(index, out_path)
    try:
        first.stdin.write(b"".join(lines[:40]))
        first.stdin.flush()
        holder = _wait_for_lock(index, first)
        manifest = (index / MANIFEST).read_bytes()
        second = dedupe(["scan", other.path, "--index", index])
        line = error_line(second.stderr, 5, second.returncode, f"pid {first.pid} on host {socket.gethostname()}",
                          f"started {holder['started']}", "Wait for it to finish",
                          f"remove the lock file {index / LOCK}")
        assert line.startswith("dedupe: error: ")
        assert second.stdout == b""
        assert (index / MANIFEST).read_bytes() == manifest  # the second run wrote nothing
        assert _holder(index) == holder  # nor touched the lock
        _, err = first.communicate(b"".join(lines[40:]), timeout=WAIT)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == 0, err.decode()
    assert _documents(index) == len(small.records)
    assert not (index / LOCK).exists()
    third = dedupe(["scan", other.path, "--index", index])  # the lock was released: the next run goes ahead
    assert third.returncode == 0, third.stderr.decode()
    assert _documents(index) == len(small.records) + len(other.records)


def test_of_two_runs_breaking_the_same_stale_lock_exactly_one_holds_the_index(small, tmp_path):
    index = tmp_path / "idx"
    pid, ticks = _dead_process()
    _write_lock(index, pid, ticks=ticks)
    runs = [_start_writer(index, tmp_path / f"out-{k}.jsonl") for k in range(3)]
    try:
        deadline = time.monotonic() + WAIT
        while sum(run.poll() is None for run in runs) > 1:  # the losers exit 5 at once
            assert time.monotonic() < deadline, "more than one run kept going"
            time.sleep(0.05)
        (winner,) = [run for run in runs if run.poll() is None]
        _wait_for_lock(index, winner)
        for loser in runs:
            if loser is not winner:
                error_line(loser.communicate(timeout=WAIT)[1], 5, loser.returncode, f"pid {winner.pid}")
        _, err = winner.communicate(small.path.read_bytes(), timeout=WAIT)
        assert winner.returncode == 0, err.decode()  # (which one broke the stale lock is not fixed: one may
        # remove it and another, just starting, create the next lock first)
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
                run.wait()
    assert _documents(index) == len(small.records) and not (index / LOCK).exists()


def test_a_breaker_whose_lock_file_was_replaced_meanwhile_leaves_the_new_lock(tmp_path, monkeypatch):
    """The race a breaker must lose: between its look at the stale file and its flock, another run broke
    it and took a new lock. The name no longer refers to the file it locked, so it removes nothing."""
    from dedupe.index import lock as store

    if fcntl is None:
        pytest.skip("needs flock")
    index = tmp_path / "idx"
    assert IndexStore.open(str(index), {}).documents == 0
    dead, ticks = _dead_process()
    _write_lock(index, dead, ticks=ticks)
    live = _sleeper()
    real_try_flock, held = store.try_flock, []

    def another_run_breaks_it_first(fd: int) -> str:
        if not held:  # once: the stale file goes, a live run's lock takes the name, flocked by that run
            (index / LOCK).unlink()
            new = _write_lock(index, live.pid, ticks=_start_ticks(live.pid))
            handle = open(index / LOCK, "rb+")
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held.append((handle, new))
        return real_try_flock(fd)

    monkeypatch.setattr(store, "try_flock", another_run_breaks_it_first)
    try:
        with pytest.raises(IndexLocked, match=f"pid {live.pid} on host") as caught:
            Checkpointer.open(str(index), Deduplicator())
        assert caught.value.holder["pid"] == live.pid
        assert (index / LOCK).read_bytes() == held[0][1]  # the live lock is still there
    finally:
        for handle, _ in held:
            handle.close()
        live.communicate(b"", timeout=WAIT)


# --------------------------------------------------------------------------- locks left behind


@pytest.mark.parametrize("existing", [False, True], ids=["fresh-directory", "existing-index"])
def test_a_stale_lock_of_a_dead_process_on_this_host_is_broken_with_a_note(small, other, tmp_path, existing):
    index = tmp_path / "idx"
    if existing:
        assert dedupe(["scan", other.path, "--index", index]).returncode == 0
    pid, ticks = _dead_process()
    _write_lock(index, pid, ticks=ticks)  # a fresh directory holds the lock file alone: not "files but no manifest"
    run = dedupe(["scan", small.path, "--index", index])
    err = run.stderr.decode()
    assert run.returncode == 0, err
    assert "Traceback" not in err
    assert f"dedupe: note: broke a stale lock on {index} left by pid {pid} on this host" in err
    assert not (index / LOCK).exists()
    assert _documents(index) == len(small.records) + (len(other.records) if existing else 0)


@pytest.mark.skipif(not HAS_PROC, reason="needs /proc (process start times)")
def test_a_stale_lock_whose_pid_now_names_another_process_is_broken(small, tmp_path):
    index = tmp_path / "idx"
    live = _sleeper()
    try:
        _write_lock(index, live.pid, ticks=_start_ticks(live.pid) - 1)  # that pid, reused by a later process
        run = dedupe(["scan", small.path, "--index", index])
    finally:
        live.communicate(b"", timeout=WAIT)
    assert run.returncode == 0, run.stderr.decode()
    assert f"left by pid {live.pid}" in run.stderr.decode()


def test_a_lock_naming_a_live_process_on_this_host_is_kept(small, tmp_path):
    index = tmp_path / "idx"
    live = _sleeper()
    try:
        body = _write_lock(index, live.pid, ticks=_start_ticks(live.pid))
        run = dedupe(["scan", small.path, "--index", index])
    finally:
        live.communicate(b"", timeout=WAIT)
    error_line(run.stderr, 5, run.returncode, f"pid {live.pid} on host {socket.gethostname()}",
               "started 2020-01-02T03:04:05Z", "(`dedupe scan old.jsonl --index idx`)")
    assert (index / LOCK).read_bytes() == body
    assert not (index / MANIFEST).exists()  # nothing created under someone else's lock


def test_a_lock_of_another_host_is_refused_saying_how_to_remove_it(small, tmp_path):
    index = tmp_path / "idx"
    assert dedupe(["scan", small.path, "--index", index]).returncode == 0
    manifest = (index / MANIFEST).read_bytes()
    body = _write_lock(index, 4242, host="build-7.example.invalid")
    run = dedupe(["scan", small.path, "--index", index])
    error_line(run.stderr, 5, run.returncode, "pid 4242 on host build-7.example.invalid",
               "started 2020-01-02T03:04:05Z", "another host cannot be checked",
               f"if you are sure no process uses the index, remove the lock file {index / LOCK}")
    assert (index / LOCK).read_bytes() == body and (index / MANIFEST).read_bytes() == manifest
    (index / LOCK).unlink()  # what the message says to do
    assert dedupe(["scan", small.path, "--index", index]).returncode == 0


@pytest.mark.skipif(_boot_id() is None, reason="needs /proc/sys/kernel/random/boot_id")
def test_a_lock_from_another_boot_of_this_host_is_refused_not_guessed_at(small, tmp_path):
    index = tmp_path / "idx"
    pid, _ = _dead_process()
    body = _write_lock(index, pid, boot_id="00000000-0000-0000-0000-000000000000")
    run = dedupe(["scan", small.path, "--index", index])
    error_line(run.stderr, 5, run.returncode, f"pid {pid}", "under an earlier boot of this host",
               f"remove the lock file {index / LOCK}")
    assert (index / LOCK).read_bytes() == body


@pytest.mark.skipif(fcntl is None, reason="needs flock")
def test_a_lock_of_a_dead_pid_whose_file_lock_is_still_held_is_not_broken(small, tmp_path):
    # What a breaker at work (or a process the holder started) looks like to another run: it waits for
    # the flock to come free, and gives up rather than break a lock another process has.
    index = tmp_path / "idx"
    pid, ticks = _dead_process()
    body = _write_lock(index, pid, ticks=ticks)
    with open(index / LOCK, "rb+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        run = dedupe(["scan", small.path, "--index", index])
    error_line(run.stderr, 5, run.returncode, f"pid {pid}", "no longer running", "still held",
               f"remove the lock file {index / LOCK}")
    assert (index / LOCK).read_bytes() == body


def test_an_unreadable_lock_file_is_refused_not_broken(small, tmp_path):
    index = tmp_path / "idx"
    index.mkdir()
    (index / LOCK).write_bytes(b"")
    run = dedupe(["scan", small.path, "--index", index])
    error_line(run.stderr, 5, run.returncode, "cannot be read", f"remove the lock file {index / LOCK}")
    assert (index / LOCK).read_bytes() == b""


# --------------------------------------------------------------------------- released on every way out


def _bad_input(tmp_path: Path, small) -> Path:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"".join(small.path.read_bytes().splitlines(keepends=True)[:30]) + b"{not json\n")
    return path


@pytest.mark.parametrize("case, code", [("bad-line", 3), ("nothing-to-resume", 2), ("other-parameters", 5)])
def test_the_lock_is_released_when_a_run_fails(small, other, tmp_path, case, code):
    index = tmp_path / "idx"
    assert dedupe(["scan", small.path, "--index", index]).returncode == 0
    args = {"bad-line": ["scan", _bad_input(tmp_path, small), "--index", index],
            "nothing-to-resume": ["scan", small.path, "--index", index, "--resume"],  # fails before the run's `with`
            "other-parameters": ["scan", small.path, "--index", index, "--ngram", "3"]}[case]
    run = dedupe(args)
    assert run.returncode == code, run.stderr.decode()
    assert not (index / LOCK).exists()
    again = dedupe(["scan", other.path, "--index", index])
    assert again.returncode == 0, again.stderr.decode()


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_the_lock_is_released_when_a_signal_ends_the_run(tmp_path, signum, code):
    corpus = generate_corpus(tmp_path / "c.jsonl", seed=4, bases=400, exact=10, edited=10, with_rejects=False)
    index, out_path = tmp_path / "idx", tmp_path / "out.jsonl"
    run = _start_writer(index, out_path)
    try:
        run.stdin.write(b"".join(corpus.path.read_bytes().splitlines(keepends=True)[:300]))
        run.stdin.flush()
        _wait_for_lock(index, run)
        _wait_for_output(out_path, run)  # a batch decided: the run waits for more input
        run.send_signal(signum)
        _, err = run.communicate(timeout=WAIT)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == code, err.decode()
    assert not (index / LOCK).exists()
    resumed = dedupe(["scan", "-", "--index", index, "--resume"], input=corpus.path.read_bytes(),
                     stdout=subprocess.DEVNULL)
    assert resumed.returncode == 0, resumed.stderr.decode()


def test_the_lock_is_released_when_opening_fails_after_taking_it(tmp_path):
    index = tmp_path / "idx"
    index.mkdir()
    (index / "notes.txt").write_text("mine")
    with pytest.raises(IndexCorrupt, match="no MANIFEST.json"):
        Checkpointer.open(str(index), Deduplicator())
    assert sorted(p.name for p in index.iterdir()) == ["notes.txt"]


# --------------------------------------------------------------------------- the library


def test_the_lock_is_held_from_open_to_close_and_checkpoints_keep_it(small, tmp_path):
    index = tmp_path / "idx"
    with Checkpointer.open(str(index), Deduplicator()) as checkpointer:
        holder = _holder(index)
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
        checkpointer.save({"complete": False})
        assert _holder(index) == holder  # not taken for a stray file by the save
    assert not (index / LOCK).exists()
    checkpointer.close()  # again: nothing happens
    with pytest.raises(IndexStoreError, match="closed"):
        checkpointer.save({"complete": True})


def test_a_later_opener_in_the_same_process_takes_over_writing(tmp_path):
    index = tmp_path / "idx"
    first = Checkpointer.open(str(index), Deduplicator())
    second = Checkpointer.open(str(index), Deduplicator())
    with pytest.raises(IndexLocked, match="opened again in this process"):
        first.save({"complete": True})
    first.close()  # it no longer holds the lock: releases nothing
    assert _holder(index)["pid"] == os.getpid()
    second.save({"complete": True})
    second.close()
    assert not (index / LOCK).exists()


def test_create_false_on_a_missing_path_raises_and_creates_nothing(tmp_path):
    for path in (tmp_path / "missing", tmp_path / "no" / "such" / "dir"):
        with pytest.raises(IndexNotFound, match=f"no index at {path}") as caught:
            Checkpointer.open(str(path), Deduplicator(), create=False)
        assert isinstance(caught.value, IndexStoreError)
        assert not path.exists() and not (tmp_path / "no").exists()


def test_create_false_on_an_empty_directory_raises_and_leaves_it_empty(tmp_path):
    index = tmp_path / "idx"
    index.mkdir()
    with pytest.raises(IndexNotFound, match="no index at"):
        Checkpointer.open(str(index), Deduplicator(), create=False)
    assert list(index.iterdir()) == []


def test_create_false_opens_an_existing_index(small, tmp_path):
    index = tmp_path / "idx"
    assert dedupe(["scan", small.path, "--index", index]).returncode == 0
    with Checkpointer.open(str(index), Deduplicator(), create=False) as checkpointer:
        assert len(checkpointer.dedup) == len(small.records)


def test_readers_neither_take_nor_need_the_lock(small, tmp_path):
    index, out_path = tmp_path / "idx", tmp_path / "out.jsonl"
    assert dedupe(["scan", small.path, "--index", index]).returncode == 0
    writer = _start_writer(index, out_path)
    try:
        holder = _wait_for_lock(index, writer)
        store = IndexStore.open(str(index), Deduplicator().config.index_parameters())
        assert store.documents == len(small.records) and len(store.load()) == 1
        assert _holder(index) == holder
        _, err = writer.communicate(b"", timeout=WAIT)
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
    assert writer.returncode == 0, err.decode()


@pytest.mark.skipif(not hasattr(os, "fork") or not os.path.isdir("/proc/self/fd"), reason="needs fork and /proc")
def test_a_forked_worker_does_not_keep_the_lock_file_open(tmp_path):
    # Otherwise a worker outliving its parent would hold the flock, and the index would stay locked.
    index = tmp_path / "idx"
    with Checkpointer.open(str(index), Deduplicator()):
        lock = str(index / LOCK)

        def holds_lock() -> bool:
            fds = os.listdir("/proc/self/fd")
            return any(os.path.realpath(f"/proc/self/fd/{fd}") == lock for fd in fds)

        assert holds_lock()
        child = os.fork()
        if child == 0:
            os._exit(1 if holds_lock() else 0)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert _holder(index)["pid"] == os.getpid()  # the parent still holds it
