"""Exact copies of the normalised text, found by a 128-bit hash before MinHash and counted apart.

The released Pile train files repeat whole documents of upsampled components (the Pile paper's
epochs per component), so exact repeats are a statistic of their own, not near-duplicates. A copy
group is every document with the same hash; its representative is the first in keep order
(holdout documents first, then priority rank, then doc_id); every other train document of the group
is a copy of it. Holdout documents are never copies: they are never removed.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from stages.utf8_buffers import utf8_buffers

TEXT_HASH_BYTES = 16


class CopyPairs(NamedTuple):
    """Each copy's doc_id and the doc_id of its group's representative."""

    copy: np.ndarray
    representative: np.ndarray


def text_hashes(texts: pa.Array | pa.ChunkedArray) -> pa.FixedSizeBinaryArray:
    """The 128-bit BLAKE2b hash of each text's UTF-8 bytes (collisions: ~1e-21 over the Pile's 2e8 documents)."""
    data, offsets = utf8_buffers(texts)
    view, bounds = memoryview(data), offsets.tolist()
    digests = b"".join(
        hashlib.blake2b(view[start:end], digest_size=TEXT_HASH_BYTES).digest()
        for start, end in zip(bounds[:-1], bounds[1:])
    )
    hash_type = pa.binary(TEXT_HASH_BYTES)
    return pa.FixedSizeBinaryArray.from_buffers(hash_type, len(bounds) - 1, [None, pa.py_buffer(digests)])


def hash_words(hashes: pa.FixedSizeBinaryArray | pa.ChunkedArray) -> np.ndarray:
    """(n, 2) uint64 view of 128-bit hashes, for sorting, grouping and routing by the first word."""
    if isinstance(hashes, pa.ChunkedArray):
        hashes = hashes.combine_chunks()
    if len(hashes) == 0:
        return np.zeros((0, 2), dtype=np.uint64)
    data = np.frombuffer(hashes.buffers()[1], dtype=np.uint8)
    start = hashes.offset * TEXT_HASH_BYTES
    return data[start : start + len(hashes) * TEXT_HASH_BYTES].view(np.uint64).reshape(-1, 2)


def keep_order(ranks: np.ndarray, doc_ids: np.ndarray, holdout: np.ndarray) -> np.ndarray:
    """Row order in which documents are preferred as the one kept: holdout first, then rank, then doc_id."""
    return np.lexsort((np.asarray(doc_ids), np.asarray(ranks), ~np.asarray(holdout, dtype=bool)))


def copy_pairs(words: np.ndarray, doc_ids: np.ndarray, ranks: np.ndarray, holdout: np.ndarray) -> CopyPairs:
    """The copies among rows `(hash words, doc_id, rank, holdout)`, each with its group's representative.

    Depends only on the set of rows given (one row per document; any order), so any bucketing of
    rows by hash gives the same pairs.
    """
    doc_ids = np.asarray(doc_ids, dtype=np.int64)
    holdout = np.asarray(holdout, dtype=bool)
    if doc_ids.size == 0:
        return CopyPairs(np.zeros(0, np.int64), np.zeros(0, np.int64))
    preferred = keep_order(ranks, doc_ids, holdout)
    order = preferred[np.lexsort((words[preferred, 1], words[preferred, 0]))]
    sorted_words = words[order]
    first = np.ones(order.size, dtype=bool)
    first[1:] = np.any(sorted_words[1:] != sorted_words[:-1], axis=1)
    group = np.cumsum(first) - 1
    representative = doc_ids[order][np.flatnonzero(first)][group]
    is_copy = ~first & ~holdout[order]
    return CopyPairs(doc_ids[order][is_copy], representative[is_copy])
