"""LSH banding of MinHash signatures: bands x rows as datasketch.MinHashLSH picks them, and band keys.

Two documents become candidates when all `rows` values of some band are equal. For Jaccard
similarity s that happens with probability 1 - (1 - s^rows)^bands. datasketch 2.0.0 picks (bands,
rows), bands * rows <= num_perm, minimising w_fp * FP + w_fn * FN where FP is the integral of that
probability over s in [0, threshold] and FN the integral of its complement over [threshold, 1];
`optimal_param` repeats that search with the same integrator (scipy's `quad`), so it returns the
same pair. Explicit `bands`/`rows` in the config bypass the search, as datasketch's `params` does.
The areas reported for the banding in use are exact instead (`gauss_legendre`: the integrands are
polynomials), which also spares a run with explicit bands scipy's ~0.45 s import.

In the `threshold` mode every candidate is verified before it can remove anything, so false positives
cost only verification time while a false negative is a missed duplicate: `recall_param` picks the
banding with the smallest false positive area among those whose candidate probability at the
threshold itself reaches `dedup.recall` (0.95 by default), so that pairs at or above it are caught.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from stages.dedup import DedupConfig
from stages.minhash import fmix64, splitmix64


@dataclass(frozen=True)
class LshParams:
    """The banding in use and its theoretical error at the threshold (datasketch's integrals, computed exactly)."""

    bands: int
    rows: int
    threshold: float
    false_positive: float
    """Integral over s in [0, threshold] of P(candidate | Jaccard s)."""
    false_negative: float
    """Integral over s in [threshold, 1] of P(not candidate | Jaccard s)."""
    source: Literal["optimal", "recall", "explicit"]

    @property
    def recall_at_threshold(self) -> float:
        """P(candidate) for a pair exactly at the threshold: the least recall over pairs at or above it."""
        return candidate_probability(self.threshold, self.bands, self.rows)

    @property
    def mean_recall_above(self) -> float:
        """P(candidate) averaged over Jaccard in [threshold, 1]: 1 - false_negative / (1 - threshold)."""
        span = 1.0 - self.threshold
        return 1.0 - self.false_negative / span if span > 0 else 1.0


def candidate_probability(similarity: float, bands: int, rows: int) -> float:
    """P(two documents with this Jaccard similarity share at least one band)."""
    return 1.0 - (1.0 - similarity ** float(rows)) ** float(bands)


Integrator = Callable[[Callable, float, float], float]
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(20)
_PANELS = 32


def gauss_legendre(function: Callable[[np.ndarray], np.ndarray], low: float, high: float) -> float:
    """The integral of `function` (vectorised) by 20-point Gauss-Legendre on 32 equal panels: exact for
    polynomials of degree < 40. For the banding integrands it is within 1e-15 of itself on 256 panels up
    to 1,024 permutations (scipy's `quad` at its default tolerance is off by up to 4e-8 there), 3e-13
    at 2,048, 7e-9 at 4,096 and 2e-6 at 9,000 against 2,048 panels; stats print 4 decimals."""
    edges = np.linspace(low, high, _PANELS + 1)
    half = (edges[1:] - edges[:-1]) / 2
    points = (edges[1:] + edges[:-1])[:, None] / 2 + half[:, None] * _NODES
    return float((function(points) * _WEIGHTS * half[:, None]).sum())


def datasketch_quad(function: Callable[[float], float], low: float, high: float) -> float:
    """scipy's `quad`, datasketch's integrator, for the two searches: `optimal_param` must pick datasketch's
    banding, and `recall_param` keeps the bandings it chose before the exact areas. Imported here, so a run
    with explicit bands never imports scipy."""
    from scipy.integrate import quad

    area, _ = quad(function, low, high)
    return area


QUAD_MARGIN = 1e-4
"""Bandings whose exact area lies this close to the best one's are compared by scipy's `quad`: it and the exact
areas differ by < 4e-8 up to 1,024 permutations and 2e-6 at 9,000 (`gauss_legendre`), far inside the margin."""


def _first_least(pairs: list[tuple[int, int]], exact: list[float], quad_value: Callable[[int, int], float]) -> tuple:
    """The first pair with the least `quad_value`, as a search over every pair with `quad` would return it, found
    from the exact values: only pairs within `QUAD_MARGIN` of the exact least can be it, and when one pair is,
    scipy (~0.3 s to import) is never needed."""
    least = min(exact)
    close = [pair for pair, value in zip(pairs, exact) if value <= least + QUAD_MARGIN]
    if len(close) == 1:
        return close[0]
    best, best_value = close[0], float("inf")
    for pair in close:
        value = quad_value(*pair)
        if value < best_value:
            best, best_value = pair, value
    return best


def false_positive_area(threshold: float, bands: int, rows: int, integrate: Integrator = gauss_legendre) -> float:
    """datasketch's false positive measure: the candidate probability integrated over [0, threshold]."""
    return integrate(lambda s: 1 - (1 - s ** float(rows)) ** float(bands), 0.0, threshold)


def false_negative_area(threshold: float, bands: int, rows: int, integrate: Integrator = gauss_legendre) -> float:
    """datasketch's false negative measure: the miss probability integrated over [threshold, 1]."""
    return integrate(lambda s: 1 - (1 - (1 - s ** float(rows)) ** float(bands)), threshold, 1.0)


def optimal_param(threshold: float, num_perm: int, weights: tuple[float, float]) -> tuple[int, int]:
    """(bands, rows) minimising the weighted false positive + false negative areas, as datasketch does.

    Ties keep the first pair in datasketch's order (bands ascending, then rows ascending).
    """
    fp_weight, fn_weight = weights

    def error(bands: int, rows: int, integrate: Integrator) -> float:
        return (
            false_positive_area(threshold, bands, rows, integrate) * fp_weight
            + false_negative_area(threshold, bands, rows, integrate) * fn_weight
        )

    pairs = [(bands, rows) for bands in range(1, num_perm + 1) for rows in range(1, num_perm // bands + 1)]
    exact = [error(bands, rows, gauss_legendre) for bands, rows in pairs]
    return _first_least(pairs, exact, lambda bands, rows: error(bands, rows, datasketch_quad))


def recall_param(threshold: float, num_perm: int, recall: float) -> tuple[int, int]:
    """(bands, rows) with P(candidate | Jaccard = threshold) >= recall and the least false positive area.

    Ties keep the first pair in datasketch's order (bands ascending, then rows ascending). When no
    banding reaches `recall`, the one with the highest candidate probability at the threshold.
    """
    pairs = [(bands, rows) for bands in range(1, num_perm + 1) for rows in range(1, num_perm // bands + 1)]
    probabilities = [candidate_probability(threshold, bands, rows) for bands, rows in pairs]
    reaching = [pair for pair, probability in zip(pairs, probabilities) if probability >= recall]
    if not reaching:
        return pairs[int(np.argmax(probabilities))]
    exact = [false_positive_area(threshold, bands, rows) for bands, rows in reaching]
    return _first_least(
        reaching, exact, lambda bands, rows: false_positive_area(threshold, bands, rows, datasketch_quad)
    )


def lsh_params(config: DedupConfig) -> LshParams:
    """The banding for this config: explicit `bands` x `rows`, else datasketch's optimum for the threshold
    (`components` mode) or the cheapest banding reaching `recall` at the threshold (`threshold` mode).

    Unlike datasketch.MinHashLSH, a single band (possible at thresholds near 1 with few permutations)
    is allowed: it is still a valid, if strict, banding.
    """
    fp_weight, fn_weight = config.weights
    if not (0.0 <= fp_weight <= 1.0 and 0.0 <= fn_weight <= 1.0) or fp_weight + fn_weight != 1.0:
        raise ValueError(f"dedup.weights must be two numbers in [0, 1] summing to 1, got {config.weights}")
    if config.bands is not None and config.rows is not None:
        bands, rows, source = config.bands, config.rows, "explicit"
    elif config.mode == "threshold":
        bands, rows = recall_param(config.threshold, config.num_perm, config.recall)
        source = "recall"
    else:
        bands, rows = optimal_param(config.threshold, config.num_perm, config.weights)
        source = "optimal"
    return LshParams(
        bands=bands,
        rows=rows,
        threshold=config.threshold,
        false_positive=false_positive_area(config.threshold, bands, rows),
        false_negative=false_negative_area(config.threshold, bands, rows),
        source=source,
    )


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(n, bands) uint64 keys: key[i, j] is a 64-bit hash of signatures[i, j*rows:(j+1)*rows].

    Equal band values give equal keys in any batch; each band's hash starts from its own seed, so
    equal values in different bands give unrelated keys. The hash folds the values two at a time
    (as one 64-bit word) into the state with MurmurHash3's 64-bit finaliser, a bijection, so two
    bands that differ only in their last word never collide.
    """
    if signatures.ndim != 2 or signatures.dtype != np.uint32:
        raise ValueError(f"signatures must be a 2-D uint32 array, got {signatures.dtype} {signatures.shape}")
    if bands * rows > signatures.shape[1]:
        raise ValueError(f"bands*rows = {bands * rows} exceeds the {signatures.shape[1]} values per signature")
    values = signatures[:, : bands * rows].reshape(signatures.shape[0], bands, rows).astype(np.uint64)
    keys = np.broadcast_to(_band_seeds(bands), values.shape[:2]).copy()
    for column in range(0, rows, 2):
        word = values[:, :, column].copy()
        if column + 1 < rows:
            word |= values[:, :, column + 1] << np.uint64(32)
        keys ^= word
        fmix64(keys)
    return keys


def _band_seeds(bands: int) -> np.ndarray:
    """A distinct 64-bit start state per band index: the SplitMix64 sequence."""
    seeds, state = [], 0x4C53_485F_4241_4E44  # "LSH_BAND"
    for _ in range(bands):
        state, seed = splitmix64(state)
        seeds.append(seed)
    return np.array(seeds, dtype=np.uint64)
