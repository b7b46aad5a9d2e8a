"""Shared fixtures: seed articles, generated texts and corpora, CLI runners.

Everything here is generated from fixed seeds, so every test sees the same
data on every run; nothing is read from outside the repository.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO_DIR = TESTS_DIR.parent
SEEDS_JSONL = REPO_DIR / "seeds" / "seeds.jsonl"
ARTICLE_A = "000_d3a659f08dc455c3"
ARTICLE_B = "002_07df8ba35f6e2ac3"

_WORD = re.compile(r"[A-Za-z]{3,}")


# --------------------------------------------------------------------------- texts


def substitute_words(text: str, count: int, marker: str = "zqxsub") -> str:
    """``text`` with ``count`` alphabetic words replaced by new words, evenly spread.

    The new words (``marker0``, ``marker1``, ...) occur nowhere in the text, so
    each substitution really changes the word sequence.
    """
    matches = list(_WORD.finditer(text))
    assert len(matches) > 2 * count, "text too short for that many substitutions"
    step = len(matches) // (count + 1)
    chosen = [matches[step * (k + 1)] for k in range(count)]
    out, last = [], 0
    for k, m in enumerate(chosen):
        out.append(text[last : m.start()])
        out.append(f"{marker}{k}")
        last = m.end()
    out.append(text[last:])
    result = "".join(out)
    assert marker not in text
    return result


def vocabulary(size: int = 4000, seed: int = 1234) -> list[str]:
    """Distinct made-up lowercase words (unrelated documents share almost no 5-gram)."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(letters) for _ in range(rng.randint(4, 9))))
    return sorted(words)


def random_text(rng: random.Random, vocab: list[str], n: int) -> str:
    return " ".join(rng.choice(vocab) for _ in range(n))


def edit_text(rng: random.Random, text: str, edits: int, tag: str) -> str:
    """Replace ``edits`` distinct word positions by unique new words."""
    tokens = text.split(" ")
    for k, pos in enumerate(rng.sample(range(len(tokens)), edits)):
        tokens[pos] = f"{tag}x{k}"
    return " ".join(tokens)


# --------------------------------------------------------------------------- corpora


@dataclass
class Corpus:
    """A generated JSONL file and what was planted in it."""

    path: Path
    lines: list[bytes]  # every physical line, without its newline
    records: list[dict]  # the good records, in input order
    kinds: dict[str, str] = field(default_factory=dict)  # id -> base/exact/edited/empty/punct
    source_of: dict[str, str] = field(default_factory=dict)  # planted id -> id it was copied from
    bad_lines: list[int] = field(default_factory=list)  # 1-based line numbers of rejects
    blank_lines: int = 0


def generate_corpus(path: Path, seed: int = 11, bases: int = 120, exact: int = 50, edited: int = 60,
                    with_rejects: bool = True) -> Corpus:
    rng = random.Random(seed)
    vocab = vocabulary()
    lines: list[bytes] = []
    corpus = Corpus(path, lines, [])

    def emit_record(rec: dict, kind: str, spacing: bool = False) -> None:
        if spacing:
            line = json.dumps(rec, ensure_ascii=False)  # ", " and ": " separators
        else:
            line = json.dumps(rec, ensure_ascii=False, separators=(",", ":"))
        lines.append(line.encode("utf-8"))
        corpus.records.append(rec)
        corpus.kinds[rec["id"]] = kind

    base_recs: list[dict] = []
    plan: list[tuple[str, int]] = [("base", i) for i in range(bases)]
    plan += [("exact", i) for i in range(exact)]
    plan += [("edited", i) for i in range(edited)]
    plan += [("empty", i) for i in range(4)] + [("punct", i) for i in range(2)]
    if with_rejects:
        plan += [("reject", i) for i in range(6)] + [("blank", i) for i in range(3)]
    # The first ten bases lead; everything else is shuffled after them, and a
    # planted copy picks its source among the bases already written, so a
    # copy always comes after its source.
    head, tail = plan[:10], plan[10:]
    rng.shuffle(tail)
    ordered = head + tail
    bad_payloads = [b"{not json", b"[1, 2, 3]", b'{"id": "r", "body": "no text"}', b'{"id": [1], "text": "x"}',
                    b'{"id": "s", "text": 42}', b'{"id": "t", "text": "caf\xe9"}']
    counters = {"exact": 0, "edited": 0}
    for kind, i in ordered:
        if kind == "base":
            rec = {"id": f"base-{i:03d}", "text": random_text(rng, vocab, rng.randint(150, 220)), "lang": "xx"}
            base_recs.append(rec)
            emit_record(rec, kind, spacing=bool(i % 2))
        elif kind in ("exact", "edited"):
            src = rng.choice(base_recs)
            n = counters[kind]
            counters[kind] += 1
            text = src["text"] if kind == "exact" else edit_text(rng, src["text"], rng.randint(1, 3), f"e{n}")
            rec = {"id": f"{kind}-{n:03d}", "text": text, "n": n}
            corpus.source_of[rec["id"]] = src["id"]
            emit_record(rec, kind, spacing=bool(n % 2))
        elif kind == "empty":
            emit_record({"id": f"empty-{i}", "text": ""}, kind)
        elif kind == "punct":
            emit_record({"id": f"punct-{i}", "text": "!!! ... ???"}, kind)
        elif kind == "reject":
            lines.append(bad_payloads[i])
            corpus.bad_lines.append(len(lines))
        else:
            lines.append(b"")
            corpus.blank_lines += 1
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return corpus


@pytest.fixture
def corpus(tmp_path: Path) -> Corpus:
    """A few hundred records with planted exact and edited copies, empty texts, rejects, blank lines."""
    return generate_corpus(tmp_path / "corpus.jsonl")


@pytest.fixture
def clean_corpus(tmp_path: Path) -> Corpus:
    """Like ``corpus`` but without rejects and blank lines."""
    return generate_corpus(tmp_path / "clean.jsonl", seed=5, bases=60, exact=20, edited=25, with_rejects=False)


# --------------------------------------------------------------------------- seeds


@pytest.fixture(scope="session")
def seeds_path() -> Path:
    assert SEEDS_JSONL.is_file()
    return SEEDS_JSONL


@pytest.fixture(scope="session")
def articles(seeds_path: Path) -> dict[str, str]:
    """The two seed articles: id -> text."""
    out = {}
    for line in seeds_path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            obj = json.loads(line)
            out[obj["id"]] = obj["text"]
    assert set(out) == {ARTICLE_A, ARTICLE_B}
    return out


# --------------------------------------------------------------------------- transitive triple


@dataclass(frozen=True)
class Triple:
    a: str
    b: str
    c: str


@pytest.fixture(scope="session")
def triple() -> Triple:
    """A ~ B and B ~ C at threshold 0.8 but not A ~ C (word 5-grams, by hand).

    A has 100 distinct words, so 96 shingles. B replaces A's last 6 words:
    6 shingles change, J(A, B) = 90 / 102 = 0.882. C replaces B's first 6
    words: J(B, C) = 90 / 102 = 0.882 and J(A, C) = 84 / 108 = 0.778.
    """
    a = [f"alpha{i}" for i in range(100)]
    b = a[:94] + [f"beta{i}" for i in range(6)]
    c = [f"gamma{i}" for i in range(6)] + b[6:]
    return Triple(" ".join(a), " ".join(b), " ".join(c))


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def run_dedupe():
    """Run ``python -m dedupe ARGS`` in a real subprocess; returns CompletedProcess (bytes)."""

    def run(args: list[str], stdin: bytes | None = None, cwd: Path | None = None, timeout: float = 60):
        env = dict(os.environ)
        env.pop("PYTHONWARNINGS", None)
        return subprocess.run(
            [sys.executable, "-m", "dedupe", *map(str, args)],
            input=stdin if stdin is not None else b"",
            capture_output=True,
            cwd=cwd,
            env=env,
            timeout=timeout,
        )

    return run


@pytest.fixture
def cli():
    """Invoke ``dedupe.cli.app.app`` in-process through typer's CliRunner."""
    from typer.testing import CliRunner

    from dedupe.cli.app import app

    runner = CliRunner()

    def invoke(args: list[str], input: bytes | None = None):
        return runner.invoke(app, [str(a) for a in args], input=input)

    return invoke


@pytest.fixture(scope="session")
def substitute():
    """``substitute(text, count)``: see :func:`substitute_words`."""
    return substitute_words


# --------------------------------------------------------------------------- Redis (shared index)

import shutil  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

REDIS_INSTALL_HINT = (
    "the shared-index tests need the redis-server binary, which is not on PATH: run `make test` (it installs "
    "Debian's redis-server package) or `apt-get install -y redis-server` (with sudo when not root)"
)


@dataclass
class RedisServer:
    """A redis-server process started for the tests, on 127.0.0.1."""

    process: subprocess.Popen
    port: int
    directory: Path
    log: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis_answers(port: int) -> bool:
    """True once something on ``port`` answers PING with a Redis reply (+PONG, or -NOAUTH with a password)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            reply = s.recv(64)
    except OSError:
        return False
    return reply.startswith((b"+PONG", b"-NOAUTH"))


def start_redis_server(directory: Path, *extra: str, timeout: float = 10.0) -> RedisServer:
    """Start ``redis-server`` on a random free port in ``directory``; wait until PING answers.

    Fails the test (never skips) when the binary is missing or the server does not come up.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail(REDIS_INSTALL_HINT, pytrace=False)
    directory.mkdir(parents=True, exist_ok=True)
    problems = []
    for attempt in range(3):  # the free port may be taken between choosing it and binding it
        port = _free_port()
        log = directory / f"redis-{port}.log"
        args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--protected-mode", "yes", "--dir", str(directory), "--logfile", "", *extra]
        with open(log, "wb") as out:
            process = subprocess.Popen(args, cwd=directory, stdin=subprocess.DEVNULL, stdout=out,
                                       stderr=subprocess.STDOUT)
        server = RedisServer(process, port, directory, log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process.poll() is None:
            if _redis_answers(port):
                return server
            time.sleep(0.02)
        stop_redis_server(server)
        problems.append(f"port {port}: " + log.read_text(errors="replace")[-1500:].strip())
    pytest.fail("redis-server did not answer PING within %.0f s:\n%s" % (timeout, "\n".join(problems)),
                pytrace=False)


def stop_redis_server(server: RedisServer) -> None:
    process = server.process
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """URL ``redis://127.0.0.1:PORT/0`` of a throwaway redis-server for the whole session (no persistence)."""
    server = start_redis_server(tmp_path_factory.mktemp("redis"))
    try:
        yield server.url
    finally:
        stop_redis_server(server)


@pytest.fixture
def redis_url(redis_server: str, request):
    """``redis_server``'s URL with a prefix of this test's own; every key of that prefix is deleted afterwards."""
    from dedupe.index.redis import RedisIndex

    name = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name)[:40]
    url = f"{redis_server}?prefix=t-{name}-{uuid.uuid4().hex[:8]}"
    yield url
    index = RedisIndex(url)
    try:
        index.clear()
    finally:
        index.close()


@pytest.fixture
def start_redis(tmp_path: Path):
    """``start_redis(*args)`` starts another redis-server with extra arguments (e.g. ``--requirepass``)
    for this test only, and returns its :class:`RedisServer`; every one is stopped after the test."""
    started: list[RedisServer] = []

    def start(*extra: str) -> RedisServer:
        server = start_redis_server(tmp_path / f"redis-{len(started)}", *extra)
        started.append(server)
        return server

    yield start
    for server in started:
        stop_redis_server(server)


# --------------------------------------------------------------------------- headless Chromium (HTML report)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium (Playwright driving the system's binary) for the whole session; see tests/browser.py.

    Closed at the end of the session, also after a failure. Fails (never skips) without Chromium.
    """
    from browser import launch_chromium

    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory) -> Path:
    """Where browser tests save screenshots: ``$DEDUPE_SCREENSHOTS`` when set, else a pytest temporary directory."""
    configured = os.environ.get("DEDUPE_SCREENSHOTS")
    if configured:
        directory = Path(configured).resolve()
        directory.mkdir(parents=True, exist_ok=True)
        return directory
    return tmp_path_factory.mktemp("screenshots")


# --------------------------------------------------------------------------- markers of the tests that start a server

# A test that uses one of these fixtures (directly or through another fixture) gets the marker: `make test-fast`
# deselects them (-m "not redis and not ray and not browser"). tests/test_rayengine.py is marked `ray` as a whole
# (it imports ray, and some of its tests start a local Ray without the cluster fixture).
_SERVER_FIXTURES = {
    "redis_server": "redis",
    "redis_url": "redis",
    "start_redis": "redis",
    "ray_cluster": "ray",
    "browser": "browser",
}


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        for marker in sorted({_SERVER_FIXTURES[f] for f in getattr(item, "fixturenames", ()) if f in _SERVER_FIXTURES}):
            item.add_marker(marker)
