"""Exact verification (`stages.verify.exact_pairs_pass`) decides pairs of real text as `exact_jaccard` does: the
candidate pairs the threshold-true banding proposes on a slice of the real-text corpus, its planted copies, and
each pair again at its own exact Jaccard (passes) and just above it (fails)."""

from __future__ import annotations

import numpy as np
import orjson
import zstandard

from pipeline.phases.dedup import VERIFY_ALL_PAIRS_UP_TO
from stages.clustering import star_edges
from stages.dedup import DedupConfig
from stages.lsh import band_keys, lsh_params
from stages.minhash import exact_jaccard, signatures
from stages.verify import exact_pairs_pass


def _corpus(root, summary) -> tuple[list[str], list[tuple[int, int]]]:
    """The texts in file order and the planted pairs (copy with original, chain link with previous) as indices."""
    texts, index = [], {}
    for name in summary.files:
        for line, raw in enumerate(zstandard.decompress((root / name).read_bytes(), 1 << 30).splitlines(), 1):
            index[(name, line)] = len(texts)
            texts.append(orjson.loads(raw)["text"])
    pairs = []
    for raw in (root / "ground_truth.jsonl").read_bytes().splitlines():
        group = orjson.loads(raw)
        members = [index[(m["file"], m["line"])] for m in group["members"]]
        for i in range(1, len(members)):
            pairs.append((members[i - 1] if group["kind"] == "chain" else members[0], members[i]))
    return texts, pairs


def test_exact_pairs_pass_decides_real_text_pairs_as_exact_jaccard(real_text_corpus):
    root, summary, _ = real_text_corpus
    texts, planted = _corpus(root, summary)
    config = DedupConfig(preset="threshold-true")
    params = lsh_params(config)
    keys = band_keys(signatures(texts, config), params.bands, params.rows)
    src, dst, _ = star_edges(keys.ravel(), np.repeat(np.arange(len(texts)), params.bands), VERIFY_ALL_PAIRS_UP_TO)
    neighbours = [(i, i + 1) for i in range(len(texts) - 1)]
    first = np.concatenate([src, [a for a, _ in planted + neighbours]]).astype(np.int64)
    second = np.concatenate([dst, [b for _, b in planted + neighbours]]).astype(np.int64)
    similarity = [exact_jaccard(texts[a], texts[b], "word", 5) for a, b in zip(first.tolist(), second.tolist())]

    passed = exact_pairs_pass(texts, first, second, config.threshold, "word", 5)
    assert passed.tolist() == [j >= config.threshold for j in similarity]
    assert 0 < passed.sum() < passed.size

    distinct = [i for i, (a, b) in enumerate(zip(first.tolist(), second.tolist())) if texts[a] != texts[b]]
    near = [i for i in distinct if 0.5 <= similarity[i] < 1.0]
    assert len(near) >= 10
    for i in near:
        pair = first[i : i + 1], second[i : i + 1]
        assert exact_pairs_pass(texts, *pair, similarity[i], "word", 5).tolist() == [True]
        assert exact_pairs_pass(texts, *pair, np.nextafter(similarity[i], 2.0), "word", 5).tolist() == [False]
