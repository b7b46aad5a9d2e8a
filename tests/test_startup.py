"""Start-up: the CLI imports no heavy package until a feature needs it (no timing asserted here; see
benchmarks/speed.py for the start-up time)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("scipy", "datasketch", "pyarrow", "ray", "matplotlib", "redis")


def loaded_after(code: str) -> set[str]:
    script = f"{code}\nimport sys\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


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


def test_the_reference_index_still_imports_datasketch_when_asked():
    modules = loaded_after(
        "import numpy as np\n"
        "from dedupe.core.lsh import DatasketchIndex\n"
        "DatasketchIndex(num_perm=8, bands=4, rows=2, seed=1).insert(0, np.arange(8, dtype=np.uint32))"
    )
    assert "datasketch" in modules
