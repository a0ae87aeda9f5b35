"""The threshold keep rule, exact copies first, and the recall banding (pure functions, no Ray)."""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
import pytest

from stages.clustering import choose_kept, connected_components, keep_with_copies, split_at_threshold
from stages.dedup import DedupConfig
from stages.exact_copies import copy_pairs, hash_words, text_hashes
from stages.lsh import candidate_probability, lsh_params, optimal_param, recall_param


def _split(members, edges, ranks=None, holdout=None):
    members = np.array(members)
    n = members.size
    a, b = (np.array(x) for x in zip(*edges)) if edges else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    nodes, labels = connected_components(a, b)
    label_of = dict(zip(nodes.tolist(), labels.tolist()))
    clusters = np.array([label_of.get(m, m) for m in members.tolist()])
    ranks = np.zeros(n, np.int64) if ranks is None else np.array(ranks)
    holdout = np.zeros(n, bool) if holdout is None else np.array(holdout)
    return split_at_threshold(clusters, members, ranks, holdout, a, b)


def test_a_chain_whose_ends_are_far_apart_keeps_every_other_link():
    # 1~2~3~4~5 verified link by link; 1 and 3 are not within the threshold: 3 must not go for 1.
    decision = _split([1, 2, 3, 4, 5], [(1, 2), (2, 3), (3, 4), (4, 5)])
    assert decision.kept.tolist() == [True, False, True, False, True]
    assert decision.keeper.tolist() == [1, 1, 3, 3, 5]
    # Connected components would keep only 1 and remove 3 and 5, which are far from it.
    assert choose_kept(np.ones(5, np.int64), np.arange(1, 6), np.zeros(5, np.int64), np.zeros(5, bool)).kept.sum() == 1


def test_a_hub_similar_to_many_distinct_documents_keeps_them_all_apart_from_the_hub():
    # Hub 50 is within the threshold of 10, 20, 30, 40, which are not within it of one another.
    decision = _split([10, 20, 30, 40, 50], [(50, 10), (50, 20), (50, 30), (50, 40)])
    assert decision.kept.tolist() == [True, True, True, True, False]
    assert decision.keeper.tolist() == [10, 20, 30, 40, 10]
    # A hub that comes first (smallest doc_id) removes its spokes: each is within the threshold of it.
    decision = _split([1, 20, 30], [(1, 20), (1, 30)])
    assert decision.kept.tolist() == [True, False, False] and decision.keeper.tolist() == [1, 1, 1]


def test_every_removal_is_backed_by_an_edge_to_a_kept_document_in_any_row_order():
    rng = np.random.default_rng(5)
    members = rng.choice(10_000, 300, replace=False)
    edges = {tuple(sorted(rng.choice(members, 2, replace=False).tolist())) for _ in range(500)}
    ranks = rng.integers(0, 3, members.size)
    holdout = rng.random(members.size) < 0.03
    decision = _split(members, sorted(edges), ranks, holdout)
    edge_set = edges | {(b, a) for a, b in edges}
    kept_ids = set(members[decision.kept].tolist())
    for doc, kept, keeper in zip(members.tolist(), decision.kept.tolist(), decision.keeper.tolist()):
        if kept:
            assert keeper == doc
        else:
            assert keeper in kept_ids and (doc, keeper) in edge_set
    assert members[holdout].tolist() == members[holdout & decision.kept].tolist()
    # No two kept train documents share an edge unless one is holdout-kept (greedy independence).
    for a, b in edges:
        ia, ib = np.flatnonzero(members == a)[0], np.flatnonzero(members == b)[0]
        if decision.kept[ia] and decision.kept[ib]:
            assert holdout[ia] or holdout[ib]
    order = rng.permutation(members.size)
    again = _split(members[order], sorted(edges, reverse=True), ranks[order], holdout[order])
    assert np.array_equal(again.kept, decision.kept[order]) and np.array_equal(again.keeper, decision.keeper[order])


def test_a_train_document_within_the_threshold_of_a_holdout_one_is_contaminated():
    decision = _split([1, 2, 3], [(1, 2), (2, 3)], holdout=[False, False, True])
    assert decision.kept.tolist() == [True, False, True]
    assert decision.contaminated.tolist() == [False, True, False]
    assert decision.keeper.tolist() == [1, 3, 3]


def test_exact_copies_follow_their_representative_and_lend_it_their_edges():
    # 5 is an exact copy of 1; the only verified edge of the group with 7 touches the copy.
    members = np.array([1, 5, 7, 9])
    component = np.ones(4, np.int64)
    copy_of = np.array([-1, 1, -1, -1])
    decision = keep_with_copies(
        "threshold",
        component,
        members,
        np.zeros(4, np.int64),
        np.zeros(4, bool),
        copy_of,
        np.array([7, 9]),
        np.array([5, 7]),
    )
    assert decision.kept.tolist() == [True, False, False, True]
    assert decision.keeper.tolist() == [1, 1, 1, 9]
    components = keep_with_copies(
        "components", component, members, np.zeros(4, np.int64), np.zeros(4, bool), copy_of, np.zeros(0), np.zeros(0)
    )
    assert components.kept.tolist() == [True, False, False, False] and set(components.keeper.tolist()) == {1}


def test_copy_pairs_pick_the_first_in_keep_order_across_any_bucketing():
    texts = ["a", "b", "a", "c", "a", "b"]
    words = hash_words(text_hashes(pa.array(texts)))
    doc_ids = np.array([30, 10, 20, 40, 50, 60])
    ranks = np.array([0, 0, 1, 0, 0, 0])
    holdout = np.array([False, False, False, False, True, False])
    pairs = copy_pairs(words, doc_ids, ranks, holdout)
    got = sorted(zip(pairs.copy.tolist(), pairs.representative.tolist()))
    # "a": holdout 50 first; "b": 10 before 60.
    assert got == [(20, 50), (30, 50), (60, 10)]
    halves = [
        copy_pairs(words[m], doc_ids[m], ranks[m], holdout[m]) for m in (words[:, 0] % 2 == 0, words[:, 0] % 2 == 1)
    ]
    split = sorted(itertools.chain.from_iterable(zip(h.copy.tolist(), h.representative.tolist()) for h in halves))
    assert split == got


def test_text_hashes_are_128_bit_blake2b_of_utf8():
    import hashlib

    hashes = text_hashes(pa.array(["é", "e\u0301"]))
    assert hashes[0].as_py() == hashlib.blake2b("é".encode(), digest_size=16).digest()
    assert hashes[0].as_py() != hashes[1].as_py()
    assert hash_words(hashes).shape == (2, 2)
    texts = ["", "abc", "é" * 5, "x" * 3000]
    expected = [hashlib.blake2b(t.encode(), digest_size=16).digest() for t in texts]
    assert text_hashes(pa.array(texts)).to_pylist() == expected, "hashed from the Arrow bytes, empty text included"
    sliced = pa.chunked_array([pa.array(texts).slice(1, 2), pa.array(texts[3:])])
    assert text_hashes(sliced).to_pylist() == expected[1:], "a sliced, chunked column"
    assert len(text_hashes(pa.array([], pa.string()))) == 0


def test_recall_banding_reaches_the_asked_recall_at_the_threshold_with_the_least_false_positive_area():
    bands, rows = recall_param(0.87, 128, 0.95)
    assert bands * rows <= 128
    assert candidate_probability(0.87, bands, rows) >= 0.95
    # datasketch's choice for Pythia catches under half of the pairs exactly at the threshold.
    assert candidate_probability(0.87, *optimal_param(0.87, 128, (0.5, 0.5))) < 0.5
    params = lsh_params(DedupConfig(preset="threshold-true"))
    assert (params.bands, params.rows, params.source) == (bands, rows, "recall")
    assert params.recall_at_threshold >= 0.95 and params.mean_recall_above > params.recall_at_threshold


def test_threshold_mode_needs_verification_and_defaults_to_exact():
    assert DedupConfig(mode="threshold").verify == "exact"
    with pytest.raises(ValueError, match="needs verify"):
        DedupConfig(mode="threshold", verify="none")
    assert DedupConfig(preset="pythia").mode == "components"


def test_an_empty_bucket_and_an_edge_to_a_stranger_are_handled():
    empty = np.zeros(0, np.int64)
    decision = keep_with_copies("threshold", empty, empty, empty, np.zeros(0, bool), empty, empty, empty)
    assert decision.kept.size == 0 and decision.keeper.size == 0
    with pytest.raises(ValueError, match="not a member row"):
        split_at_threshold(
            np.ones(2, np.int64),
            np.array([1, 2]),
            np.zeros(2, np.int64),
            np.zeros(2, bool),
            np.array([2]),
            np.array([99]),
        )


def test_fast_exact_verification_decides_as_exact_jaccard_does():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from stages.minhash import exact_jaccard, shingle_hash_sets, shingles
    from stages.verify import exact_pairs_pass, set_jaccard

    words = st.lists(st.sampled_from(["a", "b", "c", "Dé", "ÉTÉ", "x\u00a0y", "z"]), min_size=0, max_size=40)

    @settings(max_examples=200, deadline=None)
    @given(st.lists(words, min_size=2, max_size=6), st.sampled_from(["word", "char"]), st.integers(1, 5))
    def check(docs, shingle, ngram):
        texts = [" ".join(d) for d in docs]
        first, second = np.array([0, 0, 1, len(texts) - 1]), np.array([1, len(texts) - 1, len(texts) - 1, 0])
        sets = shingle_hash_sets(texts, shingle, ngram)
        for i, text in enumerate(texts):
            assert sets[i].size == len(set(shingles(text, shingle, ngram)))
        for a, b in zip(first, second):
            assert set_jaccard(sets[a], sets[b]) == pytest.approx(exact_jaccard(texts[a], texts[b], shingle, ngram))
        for threshold in (0.3, 0.5, 0.87):
            got = exact_pairs_pass(texts, first, second, threshold, shingle, ngram)
            want = [exact_jaccard(texts[a], texts[b], shingle, ngram) >= threshold for a, b in zip(first, second)]
            assert got.tolist() == want

    check()
