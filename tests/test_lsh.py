"""LSH banding: datasketch's choice of bands x rows, band keys, and candidate pairs equal to MinHashLSH's."""

from __future__ import annotations

import itertools
import random
from collections import defaultdict

import datasketch
import numpy as np
import pytest
from datasketch.lsh import _false_negative_probability, _false_positive_probability, _optimal_param
from scipy.integrate import quad

from stages.dedup import DedupConfig
from stages.lsh import (
    band_keys,
    candidate_probability,
    false_negative_area,
    false_positive_area,
    lsh_params,
    optimal_param,
    recall_param,
)
from stages.minhash import signatures


@pytest.mark.parametrize("num_perm", [2, 10, 32, 64, 128])
def test_optimal_param_equals_datasketch(num_perm):
    for threshold in [0.1, 0.3, 0.5, 0.7, 0.8, 0.87, 0.9, 0.95]:
        for weights in [(0.5, 0.5), (0.3, 0.7), (0.9, 0.1)]:
            got = optimal_param(threshold, num_perm, weights)
            try:
                lsh = datasketch.MinHashLSH(threshold=threshold, num_perm=num_perm, weights=weights)
            except ValueError:  # datasketch refuses b < 2; its search is still the oracle
                assert got == _optimal_param(threshold, num_perm, *weights) and got[0] < 2
                continue
            assert got == (lsh.b, lsh.r), (threshold, num_perm, weights)


@pytest.mark.parametrize("num_perm", [16, 64, 128])
def test_recall_param_equals_a_search_by_quad(num_perm):
    """The search compares bandings by their exact areas and asks `quad` only between near ties: the pair is the one
    a search over every banding with scipy's `quad` (the integrator it used before) picks."""

    def by_quad(threshold: float, recall: float) -> tuple[int, int]:
        best, best_area, fallback, fallback_p = None, float("inf"), (1, 1), -1.0
        for bands in range(1, num_perm + 1):
            for rows in range(1, num_perm // bands + 1):
                p = candidate_probability(threshold, bands, rows)
                if p > fallback_p:
                    fallback, fallback_p = (bands, rows), p
                if p >= recall:
                    area = quad(lambda s, b=bands, r=rows: 1 - (1 - s ** float(r)) ** float(b), 0.0, threshold)[0]
                    if area < best_area:
                        best, best_area = (bands, rows), area
        return best or fallback

    for threshold in [0.5, 0.7, 0.8, 0.87, 0.95, 0.99]:
        for recall in [0.5, 0.95, 0.999]:
            assert recall_param(threshold, num_perm, recall) == by_quad(threshold, recall), (threshold, recall)


def test_presets_and_reported_errors():
    slimpajama = lsh_params(DedupConfig(preset="slimpajama"))
    assert (slimpajama.bands, slimpajama.rows, slimpajama.source) == (9, 13, "explicit")
    assert optimal_param(0.8, 128, (0.5, 0.5)) == (9, 13)  # the same pair datasketch derives
    pythia = lsh_params(DedupConfig(preset="pythia"))
    lsh = datasketch.MinHashLSH(threshold=0.87, num_perm=128)
    assert (pythia.bands, pythia.rows, pythia.source) == (lsh.b, lsh.r, "optimal")
    # datasketch's areas come from quad at its default tolerance (1.5e-8 absolute); ours are exact.
    assert pythia.false_positive == pytest.approx(_false_positive_probability(0.87, lsh.b, lsh.r), abs=1e-8)
    assert pythia.false_negative == pytest.approx(_false_negative_probability(0.87, lsh.b, lsh.r), abs=1e-8)
    owt2 = lsh_params(DedupConfig(preset="pile-owt2"))
    assert (owt2.bands, owt2.rows) == (datasketch.MinHashLSH(0.5, 10).b, datasketch.MinHashLSH(0.5, 10).r)
    assert candidate_probability(1.0, 9, 13) == 1.0 and candidate_probability(0.0, 9, 13) == 0.0
    assert candidate_probability(0.8, 9, 13) == pytest.approx(1 - (1 - 0.8**13) ** 9)


@pytest.mark.parametrize("num_perm", [16, 128, 512])
def test_reported_areas_are_those_of_a_tight_quad(num_perm):
    rng = random.Random(num_perm)
    for _ in range(40):
        bands = rng.randint(1, num_perm)
        rows = rng.randint(1, num_perm // bands)
        threshold = rng.uniform(0.01, 0.99)
        for area, integrand, low, high in [
            (false_positive_area, lambda s, b=bands, r=rows: 1 - (1 - s**r) ** b, 0.0, threshold),
            (false_negative_area, lambda s, b=bands, r=rows: (1 - s**r) ** b, threshold, 1.0),
        ]:
            expected, error = quad(integrand, low, high, epsabs=1e-15, epsrel=1e-13, limit=500)
            assert error < 1e-13
            assert area(threshold, bands, rows) == pytest.approx(expected, abs=1e-14), (bands, rows, threshold)


def test_bad_weights_are_refused():
    with pytest.raises(ValueError, match="weights"):
        lsh_params(DedupConfig(weights=(0.5, 0.6)))


def test_identical_bands_give_identical_keys_and_others_differ():
    rng = np.random.default_rng(0)
    sig = rng.integers(0, 1 << 32, size=(2, 128), dtype=np.uint32)
    sig[1, 13:26] = sig[0, 13:26]  # band 1 of 9 x 13 shared
    keys = band_keys(sig, 9, 13)
    assert keys.shape == (2, 9) and keys.dtype == np.uint64
    assert (keys[0] == keys[1]).tolist() == [j == 1 for j in range(9)]
    repeated = np.tile(sig[:1, :13], (1, 9))  # the same 13 values in every band
    assert np.unique(band_keys(repeated, 9, 13)).size == 9


@pytest.mark.parametrize(("bands", "rows"), [(9, 13), (7, 18), (3, 3), (128, 1), (1, 128), (2, 2)])
def test_random_signatures_give_distinct_keys_within_and_across_bands(bands, rows):
    rng = np.random.default_rng(bands * 1000 + rows)
    sig = rng.integers(0, 1 << 32, size=(3_000, 128), dtype=np.uint32)
    sig[2_500:] = sig[:500]  # some repeated signatures too
    keys = band_keys(sig, bands, rows)
    values = sig[:, : bands * rows].reshape(-1, bands, rows)
    band_index = np.broadcast_to(np.arange(bands, dtype=np.uint32)[None, :, None], values.shape[:2] + (1,))
    labelled = np.ascontiguousarray(np.concatenate([band_index, values], axis=2).reshape(-1, rows + 1))
    distinct_bands = np.unique(labelled.view(np.dtype((np.void, 4 * (rows + 1))))).size
    assert np.unique(keys).size == distinct_bands  # equal keys exactly where (band, values) are equal


def test_every_value_of_a_band_matters_and_the_rest_do_not():
    rng = np.random.default_rng(1)
    base = rng.integers(0, 1 << 32, size=(1, 128), dtype=np.uint32)
    variants = np.repeat(base, 128, axis=0)
    variants[np.arange(128), np.arange(128)] ^= np.uint32(1)  # one low bit flipped per row
    keys, base_keys = band_keys(variants, 9, 13), band_keys(base, 9, 13)[0]
    for column in range(128):
        changed = keys[column] != base_keys
        band = column // 13
        assert changed.tolist() == [j == band and column < 117 for j in range(9)], column


def test_keys_do_not_depend_on_the_batch():
    rng = np.random.default_rng(2)
    sig = rng.integers(0, 1 << 32, size=(50, 128), dtype=np.uint32)
    whole = band_keys(sig, 9, 13)
    assert np.array_equal(band_keys(sig[30:], 9, 13), whole[30:])
    assert np.array_equal(band_keys(sig[::-1].copy(), 9, 13), whole[::-1])


def test_shape_checks():
    with pytest.raises(ValueError):
        band_keys(np.zeros((2, 10), dtype=np.uint32), 4, 3)
    with pytest.raises(ValueError):
        band_keys(np.zeros((2, 10), dtype=np.uint64), 2, 3)


def planted_corpus(seed: int) -> list[str]:
    """Base documents and near-copies with 0 to 40 of their 150 words replaced."""
    rng = random.Random(seed)
    docs = []
    for _ in range(40):
        words = [f"w{rng.randrange(50_000)}" for _ in range(150)]
        docs.append(" ".join(words))
        for edits in rng.sample([0, 1, 2, 4, 8, 15, 25, 40], 3):
            copy = list(words)
            for i in rng.sample(range(150), edits):
                copy[i] = f"x{rng.randrange(50_000)}"
            docs.append(" ".join(copy))
    return docs


def pairs_from_keys(keys: np.ndarray) -> set[tuple[int, int]]:
    pairs = set()
    for band in range(keys.shape[1]):
        buckets = defaultdict(list)
        for doc, key in enumerate(keys[:, band].tolist()):
            buckets[key].append(doc)
        for members in buckets.values():
            pairs.update(itertools.combinations(members, 2))
    return pairs


@pytest.mark.parametrize(
    ("threshold", "num_perm", "hash_name"), [(0.8, 128, "poly64"), (0.5, 10, "sha1"), (0.87, 64, "poly64")]
)
def test_candidate_pairs_equal_datasketch_minhashlsh(threshold, num_perm, hash_name):
    config = DedupConfig(num_perm=num_perm, threshold=threshold, hash=hash_name)
    docs = planted_corpus(num_perm)
    sig = signatures(docs, config)
    params = lsh_params(config)
    ours = pairs_from_keys(band_keys(sig, params.bands, params.rows))

    lsh = datasketch.MinHashLSH(threshold=threshold, num_perm=num_perm)
    minhashes = [
        datasketch.MinHash(num_perm=num_perm, seed=config.seed, hashvalues=row, scheme="affine32") for row in sig
    ]
    for doc, m in enumerate(minhashes):
        lsh.insert(doc, m)
    theirs = {
        (min(doc, other), max(doc, other)) for doc, m in enumerate(minhashes) for other in lsh.query(m) if other != doc
    }

    assert ours == theirs
    planted = {(i, j) for i in range(0, len(docs), 4) for j in range(i + 1, i + 4)}
    assert 0 < len(ours & planted) < len(planted)  # some near-copies found, the far ones not
