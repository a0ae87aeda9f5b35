"""litdata's chunk layout for `TokensLoader`, written without litdata (as `litdata.optimize` writes it).

`litdata.StreamingDataset(DIR, item_loader=TokensLoader(block_size), shuffle=False)` reads:

    DIR/index.json    {"chunks": [{"chunk_bytes", "chunk_size", "dim", "filename"}, …],
                       "config": {"data_format": ["no_header_numpy:<dtype index>"], "item_loader":
                       "TokensLoader", "chunk_size", "chunk_bytes", "compression": null, …},
                       "updated_at": str}
    DIR/chunk-0-K.bin little-endian: uint32 N items, uint32 offsets[N + 1] (byte offsets from the file's
                      start; the first is 4·(N + 2)), then the items' tokens back to back

`TokensLoader` ignores item boundaries: it skips the header and cuts each chunk's `dim` tokens into
blocks of `block_size`, chunk after chunk. With every item one sequence of `seq_len + 1` tokens and
`block_size = seq_len + 1`, block i is training sample i. `chunk_size` counts items, `dim` tokens.
"""

from __future__ import annotations

from typing import BinaryIO

import numpy as np

NUMPY_DTYPE_INDEX = {"int8": 0, "int16": 1, "int32": 2, "int64": 3, "uint8": 4, "uint16": 5, "uint32": 6, "uint64": 7}
"""litdata's index of a NumPy dtype (`litdata.constants._NUMPY_DTYPES_MAPPING`), named in `data_format`."""
DATA_SPEC = '[1, {"type": null, "context": null, "children_spec": []}]'
"""The pytree spec of an item that is one array (a leaf), as litdata serialises it."""
HEADER_DTYPE = np.dtype("<u4")


def chunk_file_name(index: int) -> str:
    """The name `litdata.optimize`'s single writer gives its chunk `index`."""
    return f"chunk-0-{index}.bin"


def header(items: int, item_bytes: int) -> bytes:
    """The chunk header for `items` items of `item_bytes` bytes each."""
    start = HEADER_DTYPE.itemsize * (items + 2)
    offsets = start + np.arange(items + 1, dtype=np.int64) * item_bytes
    if offsets[-1] > np.iinfo(HEADER_DTYPE).max:
        raise ValueError(f"a litdata chunk of {items} items of {item_bytes} bytes passes its 4 GiB offset limit")
    return np.concatenate([[items], offsets]).astype(HEADER_DTYPE).tobytes()


def write_chunk_tokens(sink: BinaryIO, tokens: np.ndarray) -> None:
    """Append a (rows, width) block of items' tokens to a chunk whose header is written."""
    sink.write(np.ascontiguousarray(tokens, dtype=tokens.dtype.newbyteorder("<")).tobytes())


def chunk_entry(name: str, items: int, width: int, itemsize: int) -> dict:
    """The chunk's entry in index.json."""
    return {
        "chunk_bytes": len(header(items, width * itemsize)) + items * width * itemsize,
        "chunk_size": items,
        "dim": items * width,
        "filename": name,
    }


def index(chunks: list[dict], dtype: np.dtype, items_per_chunk: int, chunk_bytes: int, updated_at: str) -> dict:
    """index.json's content; `updated_at` is litdata's cache key of the dataset's version."""
    config = {
        "chunk_bytes": chunk_bytes,
        "chunk_size": items_per_chunk,
        "compression": None,
        "data_format": [f"no_header_numpy:{NUMPY_DTYPE_INDEX[np.dtype(dtype).name]}"],
        "data_spec": DATA_SPEC,
        "encryption": None,
        "item_loader": "TokensLoader",
    }
    return {"chunks": chunks, "config": config, "updated_at": updated_at}
