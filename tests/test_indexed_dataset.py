"""MMIDIDX writer and reader: bytes checked by hand and by an independent parser written here.

The parser below follows the layout of Megatron / GPT-NeoX `MMapIndexedDataset.Index` with `struct`
and `np.frombuffer`; it shares no code with `pipeline.formats.indexed_dataset`.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pyarrow.fs as pafs
import pytest

import pipeline.formats.indexed_dataset as indexed_dataset
from pipeline.formats.indexed_dataset import IndexedDataset, IndexedDatasetWriter, RangeIndexedDataset

CODES = {1: np.uint8, 2: np.int8, 3: np.int16, 4: np.int32, 5: np.int64, 8: np.uint16}


def parse(prefix: Path) -> dict:
    """Megatron's reading of PREFIX.idx / PREFIX.bin, written out with struct and frombuffer."""
    idx = Path(f"{prefix}.idx").read_bytes()
    assert idx[:9] == b"MMIDIDX\x00\x00"
    (version,) = struct.unpack("<Q", idx[9:17])
    (code,) = struct.unpack("<B", idx[17:18])
    n, d = struct.unpack("<QQ", idx[18:34])
    sizes = np.frombuffer(idx, dtype="<i4", count=n, offset=34)
    pointers = np.frombuffer(idx, dtype="<i8", count=n, offset=34 + 4 * n)
    doc_idx = np.frombuffer(idx, dtype="<i8", count=d, offset=34 + 12 * n)
    assert len(idx) == 34 + 12 * n + 8 * d
    dtype = np.dtype(CODES[code]).newbyteorder("<")
    data = Path(f"{prefix}.bin").read_bytes()
    items = [np.frombuffer(data, dtype=dtype, count=int(s), offset=int(p)) for s, p in zip(sizes, pointers)]
    return {
        "version": version,
        "code": code,
        "sizes": sizes,
        "pointers": pointers,
        "doc_idx": doc_idx,
        "items": items,
        "bin": data,
    }


def test_hand_computed_bytes(tmp_path):
    prefix = tmp_path / "docs"
    with IndexedDatasetWriter(prefix, np.uint16) as writer:
        writer.add_document([1, 2, 3])
        writer.add_document([])
        writer.add_document(np.array([65535], dtype=np.uint32))
    expected_idx = (
        b"MMIDIDX\x00\x00"
        + struct.pack("<Q", 1)
        + struct.pack("<B", 8)
        + struct.pack("<QQ", 3, 4)
        + struct.pack("<3i", 3, 0, 1)
        + struct.pack("<3q", 0, 6, 6)
        + struct.pack("<4q", 0, 1, 2, 3)
    )
    assert Path(f"{prefix}.idx").read_bytes() == expected_idx
    assert Path(f"{prefix}.bin").read_bytes() == struct.pack("<4H", 1, 2, 3, 65535)


@pytest.mark.parametrize("dtype, code", [(np.uint16, 8), (np.int32, 4)])
def test_round_trip_with_empty_and_multi_item_documents(tmp_path, dtype, code):
    rng = np.random.default_rng(7)
    high = 50257 if dtype == np.uint16 else 2**31 - 1
    documents = [
        [rng.integers(0, high, size=int(n)) for n in rng.integers(0, 40, size=rng.integers(1, 4))] for _ in range(300)
    ]
    documents[5] = [np.array([], dtype=np.int64)]
    documents[6] = [np.array([], dtype=np.int64), np.array([4, 5])]
    prefix = tmp_path / "mixed"
    writer = IndexedDatasetWriter(prefix, dtype)
    for i, items in enumerate(documents):
        if i % 3 == 0:
            for item in items:
                writer.add_items(item, [item.size])
        else:
            writer.add_items(np.concatenate(items), [item.size for item in items])
        writer.end_document()
    writer.finalize()

    all_items = [item for items in documents for item in items]
    parsed = parse(prefix)
    assert parsed["version"] == 1 and parsed["code"] == code
    assert [list(map(int, a)) for a in parsed["items"]] == [list(map(int, a)) for a in all_items]
    item_sizes = np.array([item.size for item in all_items])
    assert parsed["sizes"].tolist() == item_sizes.tolist()
    assert (
        parsed["pointers"].tolist()
        == (np.concatenate([[0], np.cumsum(item_sizes)[:-1]]) * np.dtype(dtype).itemsize).tolist()
    )
    assert parsed["doc_idx"].tolist() == np.concatenate([[0], np.cumsum([len(items) for items in documents])]).tolist()
    assert len(parsed["bin"]) == item_sizes.sum() * np.dtype(dtype).itemsize

    reader = IndexedDataset(prefix)
    assert reader.dtype == np.dtype(dtype) and len(reader) == len(all_items)
    assert reader.sizes.tolist() == parsed["sizes"].tolist()
    assert reader.pointers.tolist() == parsed["pointers"].tolist()
    assert reader.doc_idx.tolist() == parsed["doc_idx"].tolist()
    assert all(np.array_equal(reader[i], parsed["items"][i]) for i in range(len(reader)))
    assert np.array_equal(reader[-1], parsed["items"][-1])
    with pytest.raises(IndexError):
        reader[len(reader)]


def test_sequences_are_one_document_each(tmp_path):
    rng = np.random.default_rng(1)
    tokens = rng.integers(0, 50257, size=5 * 2049).astype(np.uint16)
    with IndexedDatasetWriter(tmp_path / "seq", np.uint16) as writer:
        writer.add_documents(tokens[: 2 * 2049], [2049, 2049])
        writer.add_documents(tokens[2 * 2049 :], [2049] * 3)
    parsed = parse(tmp_path / "seq")
    assert parsed["doc_idx"].tolist() == [0, 1, 2, 3, 4, 5]
    assert parsed["sizes"].tolist() == [2049] * 5
    assert np.array_equal(np.concatenate(parsed["items"]), tokens)


def test_many_documents_across_finalize_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(indexed_dataset, "FINALIZE_CHUNK_ITEMS", 7)
    rng = np.random.default_rng(3)
    sizes = rng.integers(0, 30, size=10_000)
    tokens = rng.integers(0, 2**31 - 1, size=int(sizes.sum())).astype(np.int32)
    with IndexedDatasetWriter(tmp_path / "many", np.int32) as writer:
        for start in range(0, sizes.size, 999):
            chunk = sizes[start : start + 999]
            offset = int(sizes[:start].sum())
            writer.add_documents(tokens[offset : offset + int(chunk.sum())], chunk)
    parsed = parse(tmp_path / "many")
    assert parsed["sizes"].tolist() == sizes.tolist()
    assert parsed["pointers"].tolist() == (np.concatenate([[0], np.cumsum(sizes)[:-1]]) * 4).tolist()
    assert parsed["doc_idx"].tolist() == list(range(10_001))
    assert np.array_equal(np.frombuffer(parsed["bin"], dtype="<i4"), tokens)


def test_empty_dataset(tmp_path):
    with IndexedDatasetWriter(tmp_path / "empty", np.uint16):
        pass
    parsed = parse(tmp_path / "empty")
    assert parsed["sizes"].size == 0 and parsed["doc_idx"].tolist() == [0] and parsed["bin"] == b""
    reader = IndexedDataset(tmp_path / "empty")
    assert len(reader) == 0 and reader.doc_idx.tolist() == [0]


def test_nothing_has_a_final_name_before_finalize(tmp_path):
    prefix = tmp_path / "atomic"
    writer = IndexedDatasetWriter(prefix, np.uint16)
    writer.add_document([1, 2, 3])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["atomic.bin.tmp", "atomic.doc_idx.tmp", "atomic.sizes.tmp"]
    assert not Path(f"{prefix}.bin").exists() and not Path(f"{prefix}.idx").exists()
    writer.finalize()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["atomic.bin", "atomic.idx"]
    with pytest.raises(ValueError, match="already finalized"):
        writer.add_document([4])


def test_failure_inside_the_context_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with IndexedDatasetWriter(tmp_path / "broken", np.uint16) as writer:
            writer.add_document([1, 2])
            raise RuntimeError("worker died")
    assert list(tmp_path.iterdir()) == []


def test_writer_rejects_bad_input(tmp_path):
    writer = IndexedDatasetWriter(tmp_path / "bad", np.uint16)
    with pytest.raises(ValueError, match="add up to 3 tokens, but 2"):
        writer.add_items(np.array([1, 2]), [3])
    with pytest.raises(ValueError, match="outside the range of uint16"):
        writer.add_document(np.array([70_000], dtype=np.uint32))
    with pytest.raises(ValueError, match="outside the range of uint16"):
        writer.add_document(np.array([-1], dtype=np.int64))
    with pytest.raises(ValueError, match="item lengths"):
        writer.add_items(np.array([], dtype=np.uint16), [-1, 1])
    writer.add_items(np.array([1], dtype=np.uint16), [1])
    with pytest.raises(ValueError, match="1 items after the last end_document"):
        writer.finalize()
    writer.abort()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="token dtype"):
        IndexedDatasetWriter(tmp_path / "float", np.float32)


def test_reader_rejects_damaged_files(tmp_path):
    prefix = tmp_path / "ok"
    with IndexedDatasetWriter(prefix, np.uint16) as writer:
        writer.add_documents(np.arange(10, dtype=np.uint16), [4, 6])
    idx = Path(f"{prefix}.idx").read_bytes()
    data = Path(f"{prefix}.bin").read_bytes()

    def damaged(name: str, new_idx: bytes, new_bin: bytes = data) -> Path:
        Path(f"{tmp_path / name}.idx").write_bytes(new_idx)
        Path(f"{tmp_path / name}.bin").write_bytes(new_bin)
        return tmp_path / name

    with pytest.raises(ValueError, match="not an MMIDIDX"):
        IndexedDataset(damaged("magic", b"TNTIDX\x00\x00\x00" + idx[9:]))
    with pytest.raises(ValueError, match="version 2"):
        IndexedDataset(damaged("version", idx[:9] + struct.pack("<Q", 2) + idx[17:]))
    with pytest.raises(ValueError, match="dtype code 6"):
        IndexedDataset(damaged("float", idx[:17] + b"\x06" + idx[18:]))
    with pytest.raises(ValueError, match="needs"):
        IndexedDataset(damaged("short", idx[:-8]))
    with pytest.raises(ValueError, match="points to 20"):
        IndexedDataset(damaged("truncated_bin", idx, data[:-2]))
    with pytest.raises(ValueError, match="too short"):
        IndexedDataset(damaged("tiny", idx[:20]))


def test_finalize_renames_the_index_last(tmp_path, monkeypatch):
    renamed = []
    real_commit = indexed_dataset._commit

    def recording_commit(temporary, final):
        renamed.append((Path(final).name, Path(final).with_suffix(".idx").exists()))
        real_commit(temporary, final)

    monkeypatch.setattr(indexed_dataset, "_commit", recording_commit)
    with IndexedDatasetWriter(tmp_path / "order", np.uint16) as writer:
        writer.add_document([1])
    assert renamed == [("order.bin", False), ("order.idx", False)]


@pytest.mark.parametrize(
    "reader_of", [IndexedDataset, lambda prefix: RangeIndexedDataset(pafs.LocalFileSystem(), str(prefix))]
)
def test_pieces_of_an_item_read_alone(tmp_path, reader_of):
    rng = np.random.default_rng(11)
    items = [rng.integers(0, 50257, size=int(n)).astype(np.uint16) for n in (0, 1, 9, 300, 17)]
    with IndexedDatasetWriter(tmp_path / "pieces", np.uint16) as writer:
        writer.add_documents(np.concatenate(items), [item.size for item in items])
    reader = reader_of(tmp_path / "pieces")
    parsed = parse(tmp_path / "pieces")["items"]
    for i, item in enumerate(parsed):
        assert np.array_equal(reader[i], item)
        for start, end in ((0, item.size), (0, 0), (item.size // 3, item.size // 2), (item.size, item.size)):
            assert reader.get(i, start, end).tolist() == item[start:end].tolist(), (i, start, end)
    with pytest.raises(IndexError, match=r"tokens \[5, 10\) of item 2, which has 9"):
        reader.get(2, 5, 10)
    with pytest.raises(IndexError):
        reader.get(1, 1, 0)
