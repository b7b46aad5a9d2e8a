"""Start-up: the CLI imports no heavy package until a feature needs it (no timing asserted here; see
benchmarks/speed.py for the start-up time)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("scipy", "datasketch", "pyarrow", "ray", "matplotlib", "redis", "pydantic")


def loaded_after(code: str) -> set[str]:
    script = f"{code}\nimport sys\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL
    )
    return set(out.stdout.splitlines()[-1].split())


def test_the_cli_and_a_scan_import_no_heavy_package():
    modules = loaded_after(
        "import io, contextlib\n"
        "from dedupe.cli.app import app\n"
        "from dedupe import Deduplicator, Record\n"
        "text = 'the quick brown fox jumps over the lazy dog ' * 3\n"
        "list(Deduplicator().run([Record('a', text), Record('b', text)], workers=1))"
    )
    assert "dedupe" in modules and "numpy" in modules  # the probe works
    assert modules.isdisjoint(HEAVY), sorted(modules & set(HEAVY))


def test_a_command_line_run_imports_no_heavy_package():
    modules = loaded_after(
        "import contextlib, io, sys\n"
        "from dedupe.cli.app import main\n"
        "sys.argv = ['dedupe', 'scan', '-w', '1']\n"
        "with contextlib.redirect_stderr(io.StringIO()):\n"
        "    try:\n"
        "        main()\n"
        "    except SystemExit as stop:\n"
        "        assert stop.code in (0, None), stop.code\n"
    )
    assert "typer" in modules  # the command line was parsed
    assert modules.isdisjoint(HEAVY), sorted(modules & set(HEAVY))


def test_the_reference_index_still_imports_datasketch_when_asked():
    modules = loaded_after(
        "import numpy as np\n"
        "from dedupe.core.reference_index import DatasketchIndex\n"
        "DatasketchIndex(num_perm=8, bands=4, rows=2, seed=1).insert(0, np.arange(8, dtype=np.uint32))"
    )
    assert "datasketch" in modules


def _probe(code: str, env_value: str | None) -> str:
    import os

    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if env_value is not None:
        env["OPENBLAS_NUM_THREADS"] = env_value
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return out.stdout.strip()


def test_the_command_line_asks_for_one_blas_thread_before_numpy_is_loaded():
    code = (
        "import sys, os\n"
        "import dedupe\n"
        "assert 'numpy' not in sys.modules, 'import dedupe loads numpy'\n"
        "import dedupe.cli.app\n"
        "print(os.environ.get('OPENBLAS_NUM_THREADS'))"
    )
    assert _probe(code, None) == "1"
    assert _probe(code, "3") == "3"  # a value the user set is kept


def test_the_library_leaves_blas_alone():
    assert (
        _probe("import os\nfrom dedupe import Deduplicator\nprint(os.environ.get('OPENBLAS_NUM_THREADS'))", None)
        == "None"
    )


def test_a_command_line_run_freezes_start_up_and_collects_less_often(tmp_path):
    from dedupe.cli.collector import FIRST_GENERATION

    seen = tmp_path / "seen.txt"  # the run owns standard output
    code = (
        "import gc, sys\n"
        "import dedupe.cli.app\n"
        "app = sys.modules['dedupe.cli.app']  # the package's name `app` is the typer app\n"
        "real = app.run\n"
        "def spy(*a, **k):\n"
        f"    open({str(seen)!r}, 'w').write(f'{{gc.get_threshold()[0]}} {{gc.get_freeze_count()}}')\n"
        "    return real(*a, **k)\n"
        "app.run = spy\n"
        "app.main(['scan', '-w', '1'])\n"
    )
    subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, stdin=subprocess.DEVNULL)
    threshold, frozen = map(int, seen.read_text().split())
    assert threshold == FIRST_GENERATION and frozen > 1000  # start-up's objects: tens of thousands


def test_the_library_leaves_the_collector_alone():
    assert _probe("import gc\nfrom dedupe import Deduplicator\nprint(gc.get_threshold()[0], gc.get_freeze_count())",
                  None) == "700 0"
