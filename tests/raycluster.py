"""A real multi-node Ray cluster on this machine, for the tests of ``--engine ray``.

``ray start --head`` and a second ``ray start --address=...`` worker node run as separate process groups
(``--block`` keeps each in the foreground), each with one CPU and a small object store. Stopping sends
SIGTERM to both groups, then SIGKILL to whatever is left, so the cluster goes away even when a test fails.
Token authentication is off (``RAY_AUTH_MODE=disabled``): the cluster listens on this machine only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

RAY = Path(sys.executable).parent / "ray"
ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"ray start exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        with contextlib.suppress(OSError):
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        time.sleep(0.1)
    raise RuntimeError(f"the Ray head did not listen on port {port} within {timeout} s:\n{log.read_text()[-3000:]}")


def _stop(procs: list[subprocess.Popen], grace: float = 4) -> None:
    for proc in procs:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(max(0.1, deadline - time.monotonic()))
    for proc in procs:  # whatever is left of the group (raylet, workers, a ray start that did not exit)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)


@dataclass(frozen=True)
class Cluster:
    address: str  # host:port of the head's GCS (RAY_ADDRESS for a driver on this machine)
    client: str  # ray://host:port of the head's Ray Client server


@contextlib.contextmanager
def cluster(workdir: Path, nodes: int = 2, cpus: int = 1, object_store_mb: int = 200,
            env: dict[str, str] | None = None) -> Iterator[Cluster]:
    """Start a head plus ``nodes - 1`` worker nodes; yield their addresses; stop them all."""
    port, client_port = free_port(), free_port()
    full_env = dict(os.environ) | ENV | (env or {})
    full_env.pop("RAY_ADDRESS", None)
    common = ["--block", "--num-cpus", str(cpus), "--node-ip-address", "127.0.0.1", "--disable-usage-stats",
              "--object-store-memory", str(object_store_mb << 20)]
    procs: list[subprocess.Popen] = []
    try:
        for k in range(nodes):
            log = workdir / f"ray-node-{k}.log"
            if k == 0:
                args = ["start", "--head", "--port", str(port), "--ray-client-server-port", str(client_port),
                        "--include-dashboard=false", *common]
            else:
                args = ["start", f"--address=127.0.0.1:{port}", *common]
            procs.append(subprocess.Popen([str(RAY), *args], start_new_session=True, env=full_env,
                                          stdout=log.open("wb"), stderr=subprocess.STDOUT))
            if k == 0:
                _wait_port(port, procs[0], log)
        yield Cluster(f"127.0.0.1:{port}", f"ray://127.0.0.1:{client_port}")
    finally:
        _stop(procs[::-1])


def wait_for_nodes(ray, count: int, timeout: float = 60) -> None:  # noqa: ANN001
    """Wait until ``count`` nodes of the connected cluster are alive."""
    deadline = time.monotonic() + timeout
    while sum(1 for n in ray.nodes() if n["Alive"]) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"fewer than {count} Ray nodes alive after {timeout} s: {ray.nodes()}")
        time.sleep(0.2)
