"""The UTF-8 bytes of a batch of texts as one NumPy byte array and offsets, for byte-wise vectorised stages."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa


def utf8_buffers(texts: Sequence[str] | pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """All texts' UTF-8 bytes concatenated (for Arrow input, its own buffer) and int64 offsets (n + 1)."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if isinstance(texts, pa.Array):
        return _arrow_utf8(texts)
    encoded = [t.encode() for t in texts]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded)), out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets


def _arrow_utf8(texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes and int64 offsets of an Arrow string array, without copying the bytes."""
    if texts.null_count:
        raise ValueError(f"texts contain {texts.null_count} nulls; every document needs a text")
    if not (pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type)):
        texts = texts.cast(pa.large_string())
    if len(texts) == 0:
        return np.zeros(0, dtype=np.uint8), np.zeros(1, dtype=np.int64)
    _, offset_buffer, data_buffer = texts.buffers()
    offset_type = np.int32 if pa.types.is_string(texts.type) else np.int64
    offsets = np.frombuffer(offset_buffer, dtype=offset_type)[texts.offset : texts.offset + len(texts) + 1]
    offsets = offsets.astype(np.int64)
    if data_buffer is None:
        return np.zeros(0, dtype=np.uint8), np.zeros(len(texts) + 1, dtype=np.int64)
    data = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]]
    return data, offsets - offsets[0]
