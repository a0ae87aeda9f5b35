"""The process keeps memory it frees: a second array of the same size reuses the first one's pages."""

import resource
import sys

import numpy as np
import pytest

from pipeline.runtime.memory_reuse import keep_freed_memory


def _faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's")
def test_a_freed_block_is_reused_without_faulting_its_pages_again():
    assert keep_freed_memory()
    size = 24 << 20  # below the 32 MB threshold, far above glibc's default 128 KB
    first = np.ones(size, dtype=np.uint8)
    del first
    before = _faults()
    second = np.ones(size, dtype=np.uint8)
    faults = _faults() - before
    assert second.sum() == size
    assert faults < 100, f"{faults} page faults touching {size >> 20} MB that were just freed"
