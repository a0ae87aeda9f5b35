"""Verification of candidate pairs at the dedup threshold: exact shingle Jaccard, fast.

A pair of identical texts passes without counting. For the others, each document's shingles are
hashed to 64 bits for the batch at once (`stages.minhash.shingle_hash_sets`, each distinct text
once) and the pair's shared shingles are counted on the sorted hash sets. Two distinct shingles
that collide in 64 bits shrink the union by one and move the shared count by at most one, so with at
most `COLLISION_SLACK` collisions among the pair's shingles the exact Jaccard lies within known
bounds of the counted one (`counted_decision`); when the bounds fall on both sides of the threshold,
`exact_jaccard` on the texts decides. So a decision differs from `exact_jaccard`'s only if more than `COLLISION_SLACK`
pairs of the two documents' distinct shingles collide: for m shingles in all, about
(m² / 2^65)^3 / 6, below 10^-28 for two documents of 60,000 words each (a random 64-bit hash).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from stages.minhash import ShingleKind, exact_jaccard, shingle_hash_sets

COLLISION_SLACK = 2
"""Hash collisions among a pair's shingles that the counted decision tolerates (see the module docstring)."""


def shared_count(a: np.ndarray, b: np.ndarray) -> int:
    """How many values two sorted arrays of distinct values share."""
    if a.size > b.size:
        a, b = b, a
    if a.size == 0:
        return 0
    where = np.minimum(np.searchsorted(b, a), b.size - 1)
    return int(np.count_nonzero(b[where] == a))


def set_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard of two sorted arrays of distinct values."""
    if a.size == 0 and b.size == 0:
        return 1.0
    common = shared_count(a, b)
    return common / (a.size + b.size - common)


def counted_decision(common: int, sizes: int, threshold: float, slack: int = COLLISION_SLACK) -> bool | None:
    """Whether Jaccard reaches `threshold` whatever up to `slack` hash collisions hid, from the hashed counts
    (`common` shared values, `sizes` the two sets' sizes summed), or None when it depends on them.

    Each collision merges two distinct shingles into one value: the union loses one, and the shared count moves by
    at most one either way. With j collisions the true union is the hashed one plus j and the true shared count is
    within j of `common`, so the exact Jaccard lies in [(common - slack) / (union + slack), (common + slack) /
    (union + slack)]."""
    union = sizes - common
    if (common - slack) / (union + slack) >= threshold:
        return True
    if (common + slack) / (union + slack) < threshold:
        return False
    return None


def exact_pairs_pass(
    texts: Sequence[str] | pa.Array | pa.ChunkedArray,
    first: np.ndarray,
    second: np.ndarray,
    threshold: float,
    shingle: ShingleKind,
    ngram: int,
) -> np.ndarray:
    """Mask of the pairs (`texts[first[i]]`, `texts[second[i]]`) whose exact shingle Jaccard reaches `threshold`.

    Arrow texts stay in Arrow: each document stands for the first of the pairs' documents with an equal text, so
    pairs of equal texts pass at once and each distinct text another pair needs is hashed once, from the array's
    own bytes."""
    first, second = np.asarray(first, dtype=np.int64), np.asarray(second, dtype=np.int64)
    column = texts if isinstance(texts, (pa.Array, pa.ChunkedArray)) else pa.array(texts, pa.large_string())
    docs = np.unique(np.concatenate([first, second]))
    lengths = pc.binary_length(column).to_numpy()
    original = _first_equal(column, docs, lengths[docs])
    first_text = original[np.searchsorted(docs, first)]
    second_text = original[np.searchsorted(docs, second)]
    passed = first_text == second_text
    counted = np.flatnonzero(~passed)
    if counted.size == 0:
        return passed
    distinct = np.unique(np.concatenate([first_text[counted], second_text[counted]]))
    sets = shingle_hash_sets(column.take(pa.array(distinct)), shingle, ngram)
    slot_a = np.searchsorted(distinct, first_text[counted]).tolist()
    slot_b = np.searchsorted(distinct, second_text[counted]).tolist()
    for i, a, b in zip(counted.tolist(), slot_a, slot_b):
        set_a, set_b = sets[a], sets[b]
        decision = counted_decision(shared_count(set_a, set_b), set_a.size + set_b.size, threshold)
        if decision is None:
            text_a, text_b = column[int(first[i])].as_py(), column[int(second[i])].as_py()
            decision = exact_jaccard(text_a, text_b, shingle, ngram) >= threshold
        passed[i] = decision
    return passed


def _first_equal(column: pa.Array | pa.ChunkedArray, rows: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """For each of `rows` (sorted), the first of `rows` with an equal text: only texts of a shared byte length
    are compared, by dictionary-encoding them."""
    original = rows.copy()
    _, inverse, counts = np.unique(lengths, return_inverse=True, return_counts=True)
    shared = np.flatnonzero(counts[inverse] > 1)
    if shared.size:
        texts = column.take(pa.array(rows[shared]))
        texts = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
        codes = texts.dictionary_encode().indices.to_numpy(zero_copy_only=False)
        _, first_of_code = np.unique(codes, return_index=True)
        original[shared] = rows[shared][first_of_code[codes]]
    return original
