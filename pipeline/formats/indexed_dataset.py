"""Megatron / GPT-NeoX `MMIDIDX` indexed datasets: token items in `PREFIX.bin`, their index in `PREFIX.idx`.

Both files are little-endian. `.bin` is the items' tokens concatenated, no header. `.idx`:

    offset        field
    0             magic b"MMIDIDX\\x00\\x00" (9 bytes)
    9             version, uint64 = 1
    17            dtype code, uint8: 1 uint8, 2 int8, 3 int16, 4 int32, 5 int64, 8 uint16
    18            N = number of items, uint64
    26            D = number of doc_idx entries (documents + 1), uint64
    34            sizes, int32[N]: tokens per item
    34 + 4N       pointers, int64[N]: byte offset of each item in .bin (the first is 0)
    34 + 12N      doc_idx, int64[D]: 0, then the item count at the end of each document

An item is a document in a documents file, and a training sequence in a sequence shard; either way
each item ends one document, so doc_idx = 0, 1, …, N. (Float codes 6 and 7 mean different things in
GPT-NeoX and Megatron core; token files never use them, so they are not accepted.)

`IndexedDatasetWriter` streams tokens to disk and keeps sizes and document ends in temporary files,
so its memory does not grow with the dataset; `finalize` writes the `.idx` and renames `.bin`, then
`.idx` into place. `IndexedDataset` reads both through `np.memmap`.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from typing import BinaryIO

import numpy as np

MAGIC = b"MMIDIDX\x00\x00"
VERSION = 1
HEADER = struct.Struct("<9sQBQQ")
"""magic, version, dtype code, N items, D doc_idx entries: 34 bytes."""
DTYPE_CODES = {
    1: np.dtype(np.uint8),
    2: np.dtype(np.int8),
    3: np.dtype(np.int16),
    4: np.dtype(np.int32),
    5: np.dtype(np.int64),
    8: np.dtype(np.uint16),
}
CODE_OF_DTYPE = {dtype: code for code, dtype in DTYPE_CODES.items()}
SIZE_DTYPE = np.dtype("<i4")
POINTER_DTYPE = np.dtype("<i8")
DOC_IDX_DTYPE = np.dtype("<i8")
FINALIZE_CHUNK_ITEMS = 1 << 22
"""Items per read while `finalize` turns the temporary sizes file into sizes and pointers (32 MiB)."""


def data_path(prefix: str | os.PathLike) -> str:
    """`PREFIX.bin`."""
    return os.fspath(prefix) + ".bin"


def index_path(prefix: str | os.PathLike) -> str:
    """`PREFIX.idx`."""
    return os.fspath(prefix) + ".idx"


def _open(path: str, mode: str) -> BinaryIO:
    """The one place files are opened (local paths; swap for another filesystem)."""
    return open(path, mode)


def _commit(temporary: str, final: str) -> None:
    os.replace(temporary, final)


def _discard(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


class IndexedDatasetWriter:
    """Writes `PREFIX.bin` / `PREFIX.idx` item by item; nothing has the final names before `finalize`.

    Use as a context manager, or call `finalize()` (or `abort()` on failure) yourself.
    """

    def __init__(self, prefix: str | os.PathLike, dtype: np.dtype | type):
        self.dtype = np.dtype(dtype)
        if self.dtype not in CODE_OF_DTYPE:
            raise ValueError(f"MMIDIDX token dtype must be one of {sorted(map(str, CODE_OF_DTYPE))}, not {self.dtype}")
        self.prefix = os.fspath(prefix)
        self._paths = {name: f"{self.prefix}.{name}.tmp" for name in ("bin", "idx", "sizes", "doc_idx")}
        self._bin = _open(self._paths["bin"], "wb")
        self._sizes = _open(self._paths["sizes"], "wb")
        self._doc_idx = _open(self._paths["doc_idx"], "wb")
        self._items = 0
        self._documents = 0
        self._last_document_end = 0
        self._open = True

    @property
    def items(self) -> int:
        """Items added so far."""
        return self._items

    @property
    def documents(self) -> int:
        """Documents ended so far."""
        return self._documents

    def add_items(self, tokens_flat: np.ndarray, sizes: np.ndarray | Sequence[int]) -> None:
        """Append items: `tokens_flat` is their tokens concatenated, `sizes` their lengths (no document ends)."""
        self._check_open()
        sizes = np.asarray(sizes)
        if sizes.ndim != 1 or (sizes.size and (sizes.min() < 0 or sizes.max() > np.iinfo(np.int32).max)):
            raise ValueError("sizes must be a 1-D array of item lengths in [0, 2**31)")
        tokens = self._as_token_dtype(np.asarray(tokens_flat))
        if int(sizes.sum(dtype=np.int64)) != tokens.size:
            raise ValueError(f"sizes add up to {int(sizes.sum(dtype=np.int64))} tokens, but {tokens.size} were given")
        self._bin.write(np.ascontiguousarray(tokens, dtype=self.dtype.newbyteorder("<")).data)
        self._sizes.write(np.ascontiguousarray(sizes, dtype=SIZE_DTYPE).data)
        self._items += sizes.size

    def end_document(self) -> None:
        """Mark the end of a document after the items added so far."""
        self._check_open()
        self._doc_idx.write(np.array([self._items], dtype=DOC_IDX_DTYPE).tobytes())
        self._documents += 1
        self._last_document_end = self._items

    def add_document(self, tokens: np.ndarray | Sequence[int]) -> None:
        """Append one item that is a whole document."""
        tokens = np.asarray(tokens)
        self.add_items(tokens, [tokens.size])
        self.end_document()

    def add_documents(self, tokens_flat: np.ndarray, sizes: np.ndarray | Sequence[int]) -> None:
        """Append items that are each a whole document (a documents file, or sequences in a shard)."""
        first = self._items
        self.add_items(tokens_flat, sizes)
        ends = np.arange(first + 1, self._items + 1, dtype=DOC_IDX_DTYPE)
        self._doc_idx.write(ends.tobytes())
        self._documents += ends.size
        self._last_document_end = self._items

    def finalize(self) -> None:
        """Write the index, then rename `.bin` and finally `.idx` to their final names."""
        self._check_open()
        if self._last_document_end != self._items:
            raise ValueError(
                f"{self.prefix}: {self._items - self._last_document_end} items after the last end_document()"
            )
        for handle in (self._bin, self._sizes, self._doc_idx):
            handle.close()
        self._open = False
        with _open(self._paths["idx"], "wb") as index:
            index.write(HEADER.pack(MAGIC, VERSION, CODE_OF_DTYPE[self.dtype], self._items, self._documents + 1))
            self._copy_sizes_and_pointers(index)
            index.write(np.zeros(1, dtype=DOC_IDX_DTYPE).tobytes())
            with _open(self._paths["doc_idx"], "rb") as ends:
                while chunk := ends.read(FINALIZE_CHUNK_ITEMS * DOC_IDX_DTYPE.itemsize):
                    index.write(chunk)
        _commit(self._paths["bin"], data_path(self.prefix))
        _commit(self._paths["idx"], index_path(self.prefix))
        _discard(self._paths["sizes"])
        _discard(self._paths["doc_idx"])

    def abort(self) -> None:
        """Close and remove every temporary file; the final names are never created."""
        if self._open:
            for handle in (self._bin, self._sizes, self._doc_idx):
                with suppress(OSError):  # closing flushes, which fails again on a full disk; the file goes anyway
                    handle.close()
            self._open = False
        for path in self._paths.values():
            _discard(path)

    def __enter__(self) -> IndexedDatasetWriter:
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is None:
            self.finalize()
        else:
            self.abort()

    def _copy_sizes_and_pointers(self, index: BinaryIO) -> None:
        """Sizes as written, then pointers as their running byte offsets, in bounded chunks."""
        for pass_ in ("sizes", "pointers"):
            offset = 0
            with _open(self._paths["sizes"], "rb") as sizes_file:
                while chunk := sizes_file.read(FINALIZE_CHUNK_ITEMS * SIZE_DTYPE.itemsize):
                    if pass_ == "sizes":
                        index.write(chunk)
                        continue
                    nbytes = np.frombuffer(chunk, dtype=SIZE_DTYPE).astype(np.int64) * self.dtype.itemsize
                    ends = np.cumsum(nbytes) + offset
                    index.write((ends - nbytes).astype(POINTER_DTYPE).tobytes())
                    offset = int(ends[-1])

    def _as_token_dtype(self, tokens: np.ndarray) -> np.ndarray:
        if tokens.ndim != 1:
            raise ValueError("tokens must be a 1-D array")
        if tokens.dtype == self.dtype or tokens.size == 0:
            return tokens
        if tokens.dtype.kind not in "iu":
            raise ValueError(f"tokens must be integers, not {tokens.dtype}")
        limits = np.iinfo(self.dtype)
        if not np.can_cast(tokens.dtype, self.dtype) and (tokens.min() < limits.min or tokens.max() > limits.max):
            raise ValueError(f"token ids outside the range of {self.dtype}")
        return tokens.astype(self.dtype)

    def _check_open(self) -> None:
        if not self._open:
            raise ValueError(f"{self.prefix}: writer already finalized or aborted")


def parse_header(header: bytes, index_bytes: int, path: str) -> tuple[int, int, int]:
    """(dtype code, N items, D doc_idx entries) of an `.idx` whose first bytes are `header`; checks everything."""
    if len(header) < HEADER.size:
        raise ValueError(f"{path}: too short for an MMIDIDX header")
    magic, version, code, items, entries = HEADER.unpack(header[: HEADER.size])
    if magic != MAGIC:
        raise ValueError(f"{path}: not an MMIDIDX index (magic {magic!r})")
    if version != VERSION:
        raise ValueError(f"{path}: MMIDIDX version {version}, expected {VERSION}")
    if code not in DTYPE_CODES:
        raise ValueError(f"{path}: unsupported dtype code {code}")
    expected = HEADER.size + items * (SIZE_DTYPE.itemsize + POINTER_DTYPE.itemsize) + entries * DOC_IDX_DTYPE.itemsize
    if index_bytes != expected:
        raise ValueError(f"{path}: {index_bytes} bytes, but its header (N={items}, D={entries}) needs {expected}")
    return code, items, entries


class IndexedDataset:
    """A finished `PREFIX.bin` / `PREFIX.idx` pair, memory-mapped: `len`, `[i]` → item i's tokens."""

    def __init__(self, prefix: str | os.PathLike):
        self.prefix = os.fspath(prefix)
        path = index_path(self.prefix)
        with _open(path, "rb") as index:
            header = index.read(HEADER.size)
            index_bytes = index.seek(0, os.SEEK_END)
        code, items, entries = parse_header(header, index_bytes, path)
        self.dtype = DTYPE_CODES[code]
        self.sizes = _map(path, SIZE_DTYPE, HEADER.size, items)
        self.pointers = _map(path, POINTER_DTYPE, HEADER.size + items * SIZE_DTYPE.itemsize, items)
        self.doc_idx = _map(
            path, DOC_IDX_DTYPE, HEADER.size + items * (SIZE_DTYPE.itemsize + POINTER_DTYPE.itemsize), entries
        )
        bin_path = data_path(self.prefix)
        bin_bytes = Path(bin_path).stat().st_size
        needed = int(self.pointers[-1]) + int(self.sizes[-1]) * self.dtype.itemsize if items else 0
        if bin_bytes != needed:
            raise ValueError(f"{bin_path}: {bin_bytes} bytes, but its index points to {needed}")
        self._tokens = _map(bin_path, self.dtype.newbyteorder("<"), 0, bin_bytes // self.dtype.itemsize)

    def __len__(self) -> int:
        return self.sizes.shape[0]

    def __getitem__(self, i: int) -> np.ndarray:
        """Item `i`'s tokens (a read-only view of the memory map)."""
        i = _item_index(i, len(self))
        start = int(self.pointers[i]) // self.dtype.itemsize
        return self._tokens[start : start + int(self.sizes[i])]

    @property
    def flat(self) -> np.ndarray:
        """Every item's tokens back to back: the whole `.bin`, a read-only view of the memory map."""
        return self._tokens

    def tokens(self, start: int, end: int) -> np.ndarray:
        """Tokens [start, end) of the whole `.bin` (the items back to back), a read-only view of the memory map."""
        if not 0 <= start <= end <= self._tokens.shape[0]:
            raise IndexError(f"tokens [{start}, {end}) of {self._tokens.shape[0]} in {data_path(self.prefix)}")
        return self._tokens[start:end]

    def get(self, i: int, start: int, end: int) -> np.ndarray:
        """Tokens [start, end) of item `i` (as Megatron's `get(idx, offset, length)`)."""
        i, start, end = _piece(i, start, end, self.sizes)
        first = int(self.pointers[i]) // self.dtype.itemsize
        return self._tokens[first + start : first + end]


def _item_index(i: int, n: int) -> int:
    """`i` as an index into `n` items (negative counts from the end), or IndexError."""
    if not -n <= i < n:
        raise IndexError(f"item {i} of {n}")
    return i % n


def _piece(i: int, start: int, end: int, sizes: np.ndarray) -> tuple[int, int, int]:
    """(item index, start, end) checked against item i's size, or IndexError naming the bad range."""
    i = _item_index(i, sizes.shape[0])
    if not 0 <= start <= end <= int(sizes[i]):
        raise IndexError(f"tokens [{start}, {end}) of item {i}, which has {int(sizes[i])}")
    return i, int(start), int(end)


def _map(path: str, dtype: np.dtype, offset: int, count: int) -> np.ndarray:
    """`count` values of `dtype` at byte `offset` of `path`, memory-mapped read-only (empty without a map)."""
    if count == 0:
        return np.empty(0, dtype=dtype)
    return np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=(count,))


class RangeIndexedDataset:
    """A finished pair on any pyarrow filesystem (e.g. `s3://`): the index read whole, items by range reads."""

    def __init__(self, filesystem, prefix: str):
        self.prefix = prefix
        path = index_path(prefix)
        with filesystem.open_input_stream(path, compression=None) as stream:
            index = stream.read()
        code, items, entries = parse_header(index, len(index), path)
        self.dtype = DTYPE_CODES[code]
        sizes_end = HEADER.size + items * SIZE_DTYPE.itemsize
        pointers_end = sizes_end + items * POINTER_DTYPE.itemsize
        self.sizes = np.frombuffer(index, SIZE_DTYPE, items, HEADER.size)
        self.pointers = np.frombuffer(index, POINTER_DTYPE, items, sizes_end)
        self.doc_idx = np.frombuffer(index, DOC_IDX_DTYPE, entries, pointers_end)
        self._bin = filesystem.open_input_file(data_path(prefix))

    def __len__(self) -> int:
        return self.sizes.shape[0]

    def __getitem__(self, i: int) -> np.ndarray:
        return self.get(i, 0, int(self.sizes[_item_index(i, len(self))]))

    def get(self, i: int, start: int, end: int) -> np.ndarray:
        """Tokens [start, end) of item `i`, by one range read of just those tokens."""
        i, start, end = _piece(i, start, end, self.sizes)
        itemsize = self.dtype.itemsize
        data = self._bin.read_at((end - start) * itemsize, int(self.pointers[i]) + start * itemsize)
        return np.frombuffer(data, self.dtype.newbyteorder("<"))
