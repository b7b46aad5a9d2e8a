"""dedupe.core.spill: the matcher's verification data in a temporary file, read back as ArrayStore reads it."""

from __future__ import annotations

import gc
import os
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe import Deduplicator, Record
from dedupe.core.similarity import ArrayStore
from dedupe.core.spill import SpillStore


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(st.lists(st.integers(0, 2**64 - 1), max_size=6), max_size=5), max_size=6),
       st.sampled_from([np.uint64, np.uint32]), st.sampled_from([0, 8, 24, 1 << 20]), st.data())
def test_the_spill_store_holds_what_an_array_store_holds(blocks, dtype, ram_bytes, data):
    # Any RAM budget: all on disk, a split inside a block or between blocks, all in RAM.
    spill, memory = SpillStore(dtype, ram_bytes=ram_bytes), ArrayStore(dtype)
    for block in blocks:
        arrays = [np.array(a, dtype=np.uint64).astype(dtype) for a in block]
        offsets = np.concatenate(([0], np.cumsum([len(a) for a in arrays]))).astype(np.int64)
        values = np.concatenate(arrays) if arrays else np.empty(0, dtype=dtype)
        spill.extend(values, offsets)
        memory.extend(values, offsets)
    assert len(spill) == len(memory)
    for k in range(len(memory)):
        assert spill.get(k).dtype == np.dtype(dtype) and spill.get(k).tolist() == memory.get(k).tolist()
    wanted = sorted(data.draw(st.sets(st.integers(0, len(memory) - 1))) if len(memory) else [])
    gap = data.draw(st.sampled_from([0, 8, 1 << 16]))  # never, sometimes, always reading neighbours at once
    with mock.patch("dedupe.core.spill.READ_GAP_BYTES", gap):
        assert [a.tolist() for a in spill.get_many(wanted)] == [memory.get(k).tolist() for k in wanted]
    first = data.draw(st.integers(0, len(memory)))
    stop = data.draw(st.integers(first, len(memory) + 3))
    for got, expected in zip(spill.export(first, stop), memory.export(first, stop)):
        assert got.tolist() == expected.tolist()
    spill.close()


def test_a_position_out_of_range_is_a_key_error_and_bad_offsets_are_refused():
    store = SpillStore(np.uint64)
    store.extend(np.array([1, 2], dtype=np.uint64), np.array([0, 2]))
    with pytest.raises(KeyError):
        store.get(1)
    with pytest.raises(KeyError):
        store.get_many([0, 1])
    with pytest.raises(ValueError, match="inconsistent stored array offsets"):
        store.extend(np.array([1, 2], dtype=np.uint64), np.array([0, 3]))
    assert len(store) == 1


def test_the_file_is_gone_from_the_directory_and_its_descriptor_closed_with_the_store(tmp_path):
    store = SpillStore(np.uint64, directory=str(tmp_path), ram_bytes=800)
    store.extend(np.arange(1000, dtype=np.uint64), np.array([0, 1000]))
    assert os.listdir(tmp_path) == []  # unlinked at once: nothing is left behind, however the run ends
    assert store.disk_bytes() == 7200 and store.nbytes() == 800 + 16
    assert store.get(0).tolist() == list(range(1000))
    fd = store._fd
    os.fstat(fd)
    del store
    gc.collect()
    with pytest.raises(OSError):
        os.fstat(fd)


def test_the_matcher_keeps_verification_data_past_its_budget_out_of_ram(monkeypatch):
    monkeypatch.setattr("dedupe.core.spill.SPILL_AFTER_BYTES", 0)
    dd = Deduplicator()
    text = " ".join(f"word{k}" for k in range(400))
    results = list(dd.run([Record("a", text), Record("b", text + " more")], workers=1))
    assert results[1].match.duplicate_of == "a" and results[1].match.similarity == round(396 / 397, 6)
    assert isinstance(dd.docs.stored, SpillStore)
    assert dd.docs.stored.disk_bytes() == (396 + 397) * 8 and dd.docs.stored.nbytes() == 8 * 3


def test_a_spill_file_that_cannot_be_written_is_an_error_naming_the_directory(tmp_path):
    script = (
        "import resource, numpy as np\n"
        "from dedupe.core.spill import SpillStore\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))\n"
        f"store = SpillStore(np.uint64, directory={str(tmp_path)!r}, ram_bytes=0)\n"
        "try:\n"
        "    store.extend(np.arange(10000, dtype=np.uint64), np.array([0, 10000]))\n"
        "except OSError as exc:\n"
        "    print(exc)\n"
    )
    import signal
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGXFSZ, signal.SIG_IGN))
    assert f"cannot write verification data to {tmp_path} (TMPDIR): File too large" in out.stdout, out.stderr


def test_candidates_stored_side_by_side_are_read_with_one_system_call(monkeypatch):
    store = SpillStore(np.uint64, ram_bytes=0)  # everything in the file
    for k in range(50):
        store.extend(np.arange(k * 10, k * 10 + 10, dtype=np.uint64), np.array([0, 10]))
    reads = []
    real = os.pread
    monkeypatch.setattr(os, "pread", lambda fd, n, at: reads.append(n) or real(fd, n, at))
    got = store.get_many([3, 4, 5, 7, 40])
    assert [a[0] for a in got] == [30, 40, 50, 70, 400]
    assert len(reads) == 1  # 80-byte arrays: all within the read gap
    store.close()
