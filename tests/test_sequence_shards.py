"""The index arithmetic of the sequence shuffle (its end-to-end bytes are checked on S3 in test_remote_storage)."""

from __future__ import annotations

import numpy as np

from pipeline.phases.sequences import _concatenated_ranges


def test_concatenated_ranges_are_the_slices_one_after_another():
    starts = np.array([7, 0, 3, 100], dtype=np.int64)
    lengths = np.array([2, 0, 4, 1], dtype=np.int64)
    expected = np.concatenate([np.arange(s, s + n) for s, n in zip(starts, lengths)])
    assert _concatenated_ranges(starts, lengths).tolist() == expected.tolist() == [7, 8, 3, 4, 5, 6, 100]


def test_concatenated_ranges_cut_and_fill_pieces_in_place():
    flat = np.arange(50, dtype=np.uint16) * 3
    starts, lengths = np.array([40, 5, 20]), np.array([3, 4, 2])
    cut = flat[_concatenated_ranges(starts, lengths)]
    assert cut.tolist() == [120, 123, 126, 15, 18, 21, 24, 60, 63]
    back = np.zeros_like(flat)
    back[_concatenated_ranges(starts, lengths)] = cut
    assert (back[40:43] == flat[40:43]).all() and (back[5:9] == flat[5:9]).all() and back[:5].sum() == 0


def test_no_ranges_give_no_indices():
    assert _concatenated_ranges(np.zeros(0, np.int64), np.zeros(0, np.int64)).size == 0
