"""Verification of candidate pairs at the dedup threshold: exact shingle Jaccard, fast.

Each document's shingles are hashed to 64 bits for the whole batch at once
(`stages.minhash.shingle_hash_sets`) and a pair's Jaccard is counted on the sorted hash sets. Two
distinct shingles that collide in 64 bits can move that count by one shingle; so a pair whose hashed
Jaccard lies within `CONFIRM_MARGIN` of the threshold is decided by `exact_jaccard` on the texts,
and every decision equals the exact one unless collisions move a Jaccard by more than the margin.
Identical texts pass without counting.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from stages.minhash import ShingleKind, exact_jaccard, shingle_hash_sets

CONFIRM_MARGIN = 0.02


def set_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard of two sorted arrays of distinct values."""
    if a.size > b.size:
        a, b = b, a
    if a.size == 0:
        return 1.0 if b.size == 0 else 0.0
    where = np.minimum(np.searchsorted(b, a), b.size - 1)
    common = int(np.count_nonzero(b[where] == a))
    return common / (a.size + b.size - common)


def exact_pairs_pass(
    texts: Sequence[str], first: np.ndarray, second: np.ndarray, threshold: float, shingle: ShingleKind, ngram: int
) -> np.ndarray:
    """Mask of the pairs (`texts[first[i]]`, `texts[second[i]]`) whose exact shingle Jaccard reaches `threshold`."""
    sets = shingle_hash_sets(list(texts), shingle, ngram)
    passed = np.zeros(len(first), dtype=bool)
    for i, (a, b) in enumerate(zip(np.asarray(first).tolist(), np.asarray(second).tolist())):
        if texts[a] == texts[b]:
            passed[i] = True
            continue
        similarity = set_jaccard(sets[a], sets[b])
        if abs(similarity - threshold) < CONFIRM_MARGIN:
            similarity = exact_jaccard(texts[a], texts[b], shingle, ngram)
        passed[i] = similarity >= threshold
    return passed
