"""The index arithmetic of the sequence shards: the shuffle's (its end-to-end bytes are checked on S3 in
test_remote_storage) and the local task's vectorised take."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.formats.indexed_dataset import IndexedDataset, IndexedDatasetWriter
from pipeline.phases import sequences
from pipeline.phases.sequences import Pieces, _gather, concatenated_ranges


def testconcatenated_ranges_are_the_slices_one_after_another():
    starts = np.array([7, 0, 3, 100], dtype=np.int64)
    lengths = np.array([2, 0, 4, 1], dtype=np.int64)
    expected = np.concatenate([np.arange(s, s + n) for s, n in zip(starts, lengths)])
    assert concatenated_ranges(starts, lengths).tolist() == expected.tolist() == [7, 8, 3, 4, 5, 6, 100]


def testconcatenated_ranges_cut_and_fill_pieces_in_place():
    flat = np.arange(50, dtype=np.uint16) * 3
    starts, lengths = np.array([40, 5, 20]), np.array([3, 4, 2])
    cut = flat[concatenated_ranges(starts, lengths)]
    assert cut.tolist() == [120, 123, 126, 15, 18, 21, 24, 60, 63]
    back = np.zeros_like(flat)
    back[concatenated_ranges(starts, lengths)] = cut
    assert (back[40:43] == flat[40:43]).all() and (back[5:9] == flat[5:9]).all() and back[:5].sum() == 0


def test_no_ranges_give_no_indices():
    assert concatenated_ranges(np.zeros(0, np.int64), np.zeros(0, np.int64)).size == 0


def _documents_file(path, seed: int, items: int) -> IndexedDataset:
    rng = np.random.default_rng(seed)
    with IndexedDatasetWriter(path, np.uint16) as writer:
        for _ in range(items):
            writer.add_document(rng.integers(0, 50257, int(rng.integers(0, 40)), dtype=np.uint16))
    return IndexedDataset(path)


@pytest.mark.parametrize("files", [1, 3])
@pytest.mark.parametrize("slice_tokens", [0, 1 << 20])
def test_gather_takes_every_piece_as_get_reads_it(tmp_path, monkeypatch, files, slice_tokens):
    """The local sequences task's gather equals reading each piece with `get` (Megatron's reads), whether it
    copies the pieces slice by slice (`SLICE_TOKENS` 0) or takes them token by token (short pieces)."""
    monkeypatch.setattr(sequences, "SLICE_TOKENS", slice_tokens)
    readers = [_documents_file(tmp_path / f"documents-{i}", i, 30 + i) for i in range(files)]
    rng = np.random.default_rng(7)
    file = rng.integers(0, files, 200)
    item = np.array([rng.integers(0, len(readers[f])) for f in file])
    size = np.array([readers[f].sizes[i] for f, i in zip(file, item)], dtype=np.int64)
    start = np.array([rng.integers(0, s + 1) for s in size])
    end = np.array([rng.integers(a, s + 1) for a, s in zip(start, size)])
    expected = np.concatenate([readers[f].get(int(i), int(a), int(b)) for f, i, a, b in zip(file, item, start, end)])
    assert expected.size > 500
    taken = _gather(readers, Pieces(file, item, start, end), np.dtype(np.uint16))
    assert taken.dtype == np.uint16 and taken.tolist() == expected.tolist()


def test_gather_refuses_a_piece_beyond_its_item(tmp_path):
    reader = _documents_file(tmp_path / "documents-0", 0, 5)
    item = np.array([2])
    too_far = np.array([int(reader.sizes[2]) + 1])
    with pytest.raises(IndexError, match="beyond its items"):
        _gather([reader], Pieces(np.zeros(1, np.int64), item, np.zeros(1, np.int64), too_far), np.dtype(np.uint16))
