"""Clustering steps against slow, obviously-correct oracles written here.

Oracles: brute-force key grouping for star edges; union-find for components; set-based large-star
and small-star from the paper's definitions; SplitMix64 in Python integers; hand-computed keep rules.
The distributed loop below routes rows with `bucket_of` exactly as the Ray orchestration will.
"""

from __future__ import annotations

import numpy as np
import pytest

from stages.clustering import (
    _sort_order,
    _unique_pairs,
    bucket_of,
    choose_kept,
    cluster_size_histogram,
    component_labels,
    connected_components,
    large_star,
    large_star_rows,
    small_star,
    small_star_rows,
    star_edges,
)

BUCKET_COUNTS = (1, 2, 3, 7)
MASK64 = (1 << 64) - 1


# ---------------------------------------------------------------- oracles


def splitmix64(x: int) -> int:
    z = (x + 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def brute_star_edges(keys, docs, all_pairs_up_to=0):
    groups: dict[int, set[int]] = {}
    for key, doc in zip(keys.tolist(), docs.tolist()):
        groups.setdefault(key, set()).add(doc)
    edges = set()
    pairs = 0
    for members in groups.values():
        pairs += len(members) * (len(members) - 1) // 2
        if len(members) <= all_pairs_up_to:
            edges |= {(a, b) for a in members for b in members if a > b}
        else:
            edges |= {(doc, min(members)) for doc in members if doc != min(members)}
    return sorted(edges), pairs


def union_find_labels(a, b) -> dict[int, int]:
    parent: dict[int, int] = {}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for u, v in zip(a.tolist(), b.tolist()):
        if u == v:
            continue
        for x in (u, v):
            parent.setdefault(x, x)
        ru, rv = find(u), find(v)
        if ru != rv:
            parent[max(ru, rv)] = min(ru, rv)
    members: dict[int, list[int]] = {}
    for x in parent:
        members.setdefault(find(x), []).append(x)
    return {x: min(group) for group in members.values() for x in group}


def neighbourhoods(edges) -> dict[int, set[int]]:
    near: dict[int, set[int]] = {}
    for u, v in edges:
        if u != v:
            near.setdefault(u, set()).add(v)
            near.setdefault(v, set()).add(u)
    return near


def paper_large_star(edges) -> set[tuple[int, int]]:
    out = set()
    for u, near in neighbourhoods(edges).items():
        m = min(near | {u})
        out |= {(v, m) for v in near if v > u}
    return out


def paper_small_star(edges) -> set[tuple[int, int]]:
    out = set()
    for u, near in neighbourhoods(edges).items():
        smaller = {v for v in near if v < u}
        if smaller:
            m = min(smaller)
            out |= {(v, m) for v in smaller | {u} if v != m}
    return out


def routed(rows, buckets):
    keys, others = rows
    route = bucket_of(keys, buckets)
    return [(keys[route == i], others[route == i]) for i in range(buckets)]


def distributed_components(a, b, buckets):
    """The orchestration loop, with k buckets: returns (nodes, labels, steps)."""
    steps = 0
    while True:
        outs = [large_star(*rows) for rows in routed(large_star_rows(a, b), buckets)]
        steps += 1
        a, b = np.concatenate([o.a for o in outs]), np.concatenate([o.b for o in outs])
        if all(o.final for o in outs):
            labelled = [component_labels(o.a, o.b) for o in outs]
            nodes = np.concatenate([n for n, _ in labelled])
            labels = np.concatenate([lab for _, lab in labelled])
            order = np.argsort(nodes)
            return nodes[order], labels[order], steps
        outs = [small_star(*rows) for rows in routed(small_star_rows(a, b), buckets)]
        steps += 1
        a, b = np.concatenate([o[0] for o in outs]), np.concatenate([o[1] for o in outs])


# ---------------------------------------------------------------- graphs


def chain(ids):
    ids = np.asarray(ids, dtype=np.int64)
    return ids[1:], ids[:-1]


def mixed_graph(seed: int, wide_ids: bool):
    """Small components, a shuffled chain, a star centred mid-range, isolated edges, repeats, self-loops."""
    rng = np.random.default_rng(seed)
    ids = rng.choice(1 << 62, 3000, replace=False) if wide_ids else rng.permutation(3000) + 5
    parts = []
    for group in np.array_split(ids[:1000], 200):
        k = len(group)
        parts.append((rng.choice(group, 2 * k), rng.choice(group, 2 * k)))
    parts.append(chain(ids[1000:1400]))
    centre = np.sort(ids[1400:1700])[150]
    leaves = ids[1400:1700][ids[1400:1700] != centre]
    parts.append((leaves, np.full(leaves.size, centre)))
    parts.append((ids[1700:1800], ids[1800:1900]))
    a = np.concatenate([p[0] for p in parts])
    b = np.concatenate([p[1] for p in parts])
    a = np.concatenate([a, a[:50], ids[1900:1950]])
    b = np.concatenate([b, b[:50], ids[1900:1950]])
    swap = rng.random(a.size) < 0.5
    a, b = np.where(swap, b, a), np.where(swap, a, b)
    order = rng.permutation(a.size)
    return a[order], b[order]


def random_graph(seed: int, nodes: int, edges: int):
    rng = np.random.default_rng(seed)
    return rng.integers(0, nodes, edges), rng.integers(0, nodes, edges)


def assert_matches_union_find(a, b, nodes, labels):
    expected = union_find_labels(a, b)
    assert nodes.tolist() == sorted(expected)
    assert labels.tolist() == [expected[x] for x in sorted(expected)]


# ---------------------------------------------------------------- bucket_of


def test_bucket_of_is_splitmix64_modulo_buckets():
    nodes = np.array([0, 1, 2, 12345, (1 << 40) | 7, (1 << 63) - 1], dtype=np.int64)
    for buckets in (1, 7, 1000):
        expected = [splitmix64(int(x)) % buckets for x in nodes]
        assert bucket_of(nodes, buckets).tolist() == expected


def test_bucket_of_spreads_consecutive_ids():
    counts = np.bincount(bucket_of(np.arange(70_000), 7), minlength=7)
    assert counts.min() > 9_500 and counts.max() < 10_500


def test_bucket_of_hashes_the_64_bit_pattern_of_signed_and_unsigned_ids():
    keys = np.array([0, 5, 2**63, 2**64 - 1], dtype=np.uint64)
    expected = [splitmix64(int(x)) % 13 for x in keys]
    assert bucket_of(keys, 13).tolist() == expected
    assert bucket_of(keys.view(np.int64), 13).tolist() == expected


def test_bucket_of_rejects_zero_buckets_and_non_integers():
    with pytest.raises(ValueError, match="buckets"):
        bucket_of(np.arange(3), 0)
    with pytest.raises(TypeError, match="integer"):
        bucket_of(np.array([1.0, 2.0]), 3)


# ---------------------------------------------------------------- star_edges


@pytest.mark.parametrize("wide", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_star_edges_match_brute_force_grouping(seed, wide):
    rng = np.random.default_rng(seed)
    rows = 3000
    keys = rng.integers(0, 400, rows).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    docs = rng.integers(0, 1 << 62, 900)[rng.integers(0, 900, rows)] if wide else rng.integers(0, 900, rows)
    src, dst, pairs = star_edges(keys, docs)
    expected, expected_pairs = brute_star_edges(keys, docs)
    assert list(zip(src.tolist(), dst.tolist())) == expected
    assert pairs == expected_pairs
    assert np.all(src > dst)


@pytest.mark.parametrize("all_pairs_up_to", [1, 2, 3, 8])
def test_small_groups_give_all_their_pairs(all_pairs_up_to):
    rng = np.random.default_rng(all_pairs_up_to)
    keys = rng.integers(0, 700, 3000).astype(np.uint64)
    docs = rng.integers(0, 900, 3000)
    src, dst, pairs = star_edges(keys, docs, all_pairs_up_to)
    expected, expected_pairs = brute_star_edges(keys, docs, all_pairs_up_to)
    assert list(zip(src.tolist(), dst.tolist())) == expected
    assert pairs == expected_pairs


def test_all_pairs_hand_computed():
    keys = np.array([1, 1, 1, 2, 2, 3, 3, 3, 3, 1], dtype=np.uint64)
    docs = np.array([5, 3, 9, 3, 7, 1, 2, 4, 6, 5], dtype=np.int64)
    src, dst, pairs = star_edges(keys, docs, 3)
    # key 1 holds {3, 5, 9}: all three pairs; key 2 {3, 7}; key 3 holds four documents: a star to 1.
    assert list(zip(src.tolist(), dst.tolist())) == [(2, 1), (4, 1), (5, 3), (6, 1), (7, 3), (9, 3), (9, 5)]
    assert pairs == 3 + 1 + 6


def test_star_edges_hand_computed_with_repeats_and_order():
    keys = np.array([5, 9, 5, 5, 9, 7, 5, 2**64 - 1, 2**64 - 1], dtype=np.uint64)
    docs = np.array([30, 11, 10, 20, 40, 99, 10, 3, 3], dtype=np.int64)
    src, dst, pairs = star_edges(keys, docs)
    assert list(zip(src.tolist(), dst.tolist())) == [(20, 10), (30, 10), (40, 11)]
    assert pairs == 3 + 1


def test_star_edges_independent_of_row_order_and_bucketing():
    rng = np.random.default_rng(5)
    keys = rng.integers(0, 300, 2000).astype(np.uint64)
    docs = rng.integers(0, 1000, 2000)
    whole = star_edges(keys, docs)
    order = rng.permutation(keys.size)
    shuffled = star_edges(keys[order], docs[order])
    assert np.array_equal(whole[0], shuffled[0]) and np.array_equal(whole[1], shuffled[1])
    route = bucket_of(keys, 3)
    parts = [star_edges(keys[route == i], docs[route == i]) for i in range(3)]
    split = _unique_pairs(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    assert np.array_equal(split[0], whole[0]) and np.array_equal(split[1], whole[1])
    assert sum(p[2] for p in parts) == whole[2]


def test_star_edges_empty():
    src, dst, pairs = star_edges(np.zeros(0, np.uint64), np.zeros(0, np.int64))
    assert src.size == dst.size == pairs == 0


# ---------------------------------------------------------------- pair sorting


@pytest.mark.parametrize(
    "a_high, b_high",
    [(1 << 10, 1 << 10), (1 << 33, 1 << 30), (1 << 62, 1 << 3), (1 << 62, 1 << 62), (1, 1 << 62)],
)
def test_unique_pairs_fast_and_fallback_paths_sort_and_deduplicate(a_high, b_high):
    rng = np.random.default_rng(a_high % 97 + b_high % 89)
    a = rng.integers(0, a_high, 40)[rng.integers(0, 40, 500)]
    b = rng.integers(0, b_high, 40)[rng.integers(0, 40, 500)]
    a[:3] = [(1 << 40) | 5, (7 << 40) | 5, (1 << 40) | 9]
    b[:3] = [0, 1 << 50, 3]
    got_a, got_b = _unique_pairs(a, b)
    assert list(zip(got_a.tolist(), got_b.tolist())) == sorted(set(zip(a.tolist(), b.tolist())))


@pytest.mark.parametrize("a_bits, b_bits", [(33, 31), (33, 32), (64, 0), (0, 64), (1, 63)])
def test_unique_pairs_at_the_64_bit_packing_boundary(a_bits, b_bits):
    rng = np.random.default_rng(a_bits)

    def spanning(bits):
        """Values whose varying bits are exactly the low `bits` (all 64 gives negative int64 too)."""
        if bits == 0:
            return np.full(300, 1 << 45)
        values = rng.integers(0, 1 << 64, 300, dtype=np.uint64) & np.uint64((1 << bits) - 1)
        values[:2] = [0, (1 << bits) - 1]
        return values.view(np.int64)

    a, b = spanning(a_bits), spanning(b_bits)
    a, b = np.concatenate([a, a[:50]]), np.concatenate([b, b[:50]])
    got_a, got_b = _unique_pairs(a, b)
    assert list(zip(got_a.tolist(), got_b.tolist())) == sorted(set(zip(a.tolist(), b.tolist())))


@pytest.mark.parametrize("columns", [1, 3, 8])
def test_sort_order_is_lexicographic_on_packed_ranked_and_lexsort_paths(columns):
    rng = np.random.default_rng(columns)
    distinct = 12 if columns < 8 else 2000
    table = [rng.integers(-(1 << 62), 1 << 62, distinct)[rng.integers(0, distinct, 400)] for _ in range(columns)]
    for column in table:
        column[:30] = column[30:60]
    rows = list(zip(*(column.tolist() for column in table)))
    expected = sorted(range(len(rows)), key=lambda i: (rows[i], i))
    assert _sort_order(*table).tolist() == expected


# ---------------------------------------------------------------- steps against the paper


@pytest.mark.parametrize("seed", range(4))
def test_large_and_small_star_equal_set_based_definitions(seed):
    a, b = mixed_graph(seed, wide_ids=seed % 2 == 1)
    edges = set(zip(a.tolist(), b.tolist()))
    out = large_star(*large_star_rows(a, b))
    assert list(zip(out.a.tolist(), out.b.tolist())) == sorted(paper_large_star(edges))
    sa, sb = small_star(*small_star_rows(a, b))
    assert list(zip(sa.tolist(), sb.tolist())) == sorted(paper_small_star(edges))


def test_large_star_union_over_buckets_is_the_one_bucket_result():
    a, b = mixed_graph(11, wide_ids=False)
    whole = large_star(*large_star_rows(a, b))
    for buckets in BUCKET_COUNTS:
        outs = [large_star(*rows) for rows in routed(large_star_rows(a, b), buckets)]
        union = _unique_pairs(np.concatenate([o.a for o in outs]), np.concatenate([o.b for o in outs]))
        assert np.array_equal(union[0], whole.a) and np.array_equal(union[1], whole.b)
        assert not all(o.final for o in outs)


def test_large_star_final_only_on_stars_centred_on_minima():
    star = (np.array([5, 7, 9, 21]), np.array([2, 2, 2, 20]))
    out = large_star(*large_star_rows(*star))
    assert out.final
    assert list(zip(out.a.tolist(), out.b.tolist())) == [(5, 2), (7, 2), (9, 2), (21, 20)]
    off_centre = (np.array([5, 7, 9]), np.array([6, 6, 6]))
    assert not large_star(*large_star_rows(*off_centre)).final
    two_level = (np.array([5, 9]), np.array([2, 5]))
    assert not large_star(*large_star_rows(*two_level)).final
    assert large_star(np.zeros(0, np.int64), np.zeros(0, np.int64)).final


def test_small_star_refuses_rows_not_keyed_by_the_larger_node():
    with pytest.raises(ValueError, match="key >= other"):
        small_star(np.array([1]), np.array([2]))


# ---------------------------------------------------------------- connected components


@pytest.mark.parametrize("wide", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_components_equal_union_find_for_every_bucket_count(seed, wide):
    a, b = mixed_graph(seed, wide_ids=wide)
    nodes, labels = connected_components(a, b)
    assert_matches_union_find(a, b, nodes, labels)
    for buckets in BUCKET_COUNTS:
        got_nodes, got_labels, steps = distributed_components(a, b, buckets)
        assert np.array_equal(got_nodes, nodes) and np.array_equal(got_labels, labels)
        assert steps <= 25


@pytest.mark.parametrize("nodes, edges", [(2000, 1000), (2000, 2000), (2000, 10_000)])
def test_random_graphs_converge_quickly_for_every_bucket_count(nodes, edges):
    a, b = random_graph(nodes + edges, nodes, edges)
    expected = None
    for buckets in BUCKET_COUNTS:
        got_nodes, got_labels, steps = distributed_components(a, b, buckets)
        if expected is None:
            assert_matches_union_find(a, b, got_nodes, got_labels)
            expected = (got_nodes, got_labels, steps)
        assert np.array_equal(got_nodes, expected[0]) and np.array_equal(got_labels, expected[1])
        assert steps == expected[2] <= 15


@pytest.mark.parametrize("order", ["ascending", "descending", "shuffled"])
def test_long_chain_spread_over_buckets_converges_in_logarithmic_rounds(order):
    n = 100_000
    ids = {"ascending": np.arange(n), "descending": np.arange(n)[::-1].copy()}.get(order)
    if ids is None:
        ids = np.random.default_rng(3).permutation(n)
    a, b = chain(ids)
    nodes, labels, steps = distributed_components(a, b, 7)
    assert np.array_equal(nodes, np.arange(n))
    assert np.all(labels == 0)
    assert steps <= 2 * (int(np.log2(n)) + 3)


def test_big_star_with_centre_not_the_minimum():
    leaves = np.arange(1, 20_001)
    a, b = np.append(leaves, 0), np.append(np.full(leaves.size, 10_000), 10_000)
    nodes, labels, steps = distributed_components(a, b, 3)
    assert np.array_equal(nodes, np.arange(20_001)) and np.all(labels == 0)
    assert steps <= 5


def test_self_loops_only_and_empty_input_give_no_components():
    nodes, labels = connected_components(np.array([4, 4, 9]), np.array([4, 4, 9]))
    assert nodes.size == labels.size == 0
    nodes, labels = connected_components(np.zeros(0, np.int64), np.zeros(0, np.int64))
    assert nodes.size == 0


def test_component_labels_labels_the_minimum_and_refuses_unfinished_edges():
    nodes, labels = component_labels(np.array([9, 3, 4, 12]), np.array([1, 1, 1, 10]))
    assert nodes.tolist() == [1, 3, 4, 9, 10, 12]
    assert labels.tolist() == [1, 1, 1, 1, 10, 10]
    with pytest.raises(ValueError, match="not final"):
        component_labels(np.array([9, 3]), np.array([3, 1]))
    with pytest.raises(ValueError, match="not final"):
        component_labels(np.array([9, 9]), np.array([3, 1]))


# ---------------------------------------------------------------- keep rule


def keep(cluster, doc, rank, holdout):
    kept, contaminated, _ = choose_kept(np.array(cluster), np.array(doc), np.array(rank), np.array(holdout))
    return kept.tolist(), contaminated.tolist()


def test_keep_smallest_doc_id_by_default():
    kept, contaminated = keep([7, 7, 7, 3, 3], [50, 7, 90, 3, 4], [0, 0, 0, 0, 0], [False] * 5)
    assert kept == [False, True, False, True, False]
    assert contaminated == [False] * 5


def test_priority_overrides_doc_order_and_ties_go_to_smaller_doc_id():
    kept, _ = keep([1, 1, 1], [1, 5, 9], [2, 0, 2], [False] * 3)
    assert kept == [False, True, False]
    kept, _ = keep([1, 1, 1, 1], [9, 5, 4, 1], [0, 0, 1, 1], [False] * 4)
    assert kept == [False, True, False, False]


def test_holdout_component_keeps_holdout_and_contaminates_the_rest():
    cluster = [1, 1, 1, 1, 2, 2]
    doc = [10, 3, 11, 12, 20, 21]
    rank = [0, 0, 0, 2, 2, 0]
    holdout = [False, False, True, True, False, False]
    kept, contaminated = keep(cluster, doc, rank, holdout)
    assert kept == [False, False, True, True, False, True]
    assert contaminated == [True, True, False, False, False, False]


def test_holdout_beats_priority_and_singletons_are_kept():
    kept, contaminated = keep([4, 4, 8, 9], [1, 2, 8, 9], [0, 5, 3, 0], [False, True, False, True])
    assert kept == [False, True, True, True]
    assert contaminated == [True, False, False, False]


@pytest.mark.parametrize("wide", [False, True])
def test_keep_rule_matches_definition_in_any_row_order(wide):
    rng = np.random.default_rng(9)
    cluster = rng.integers(0, 50, 400) * (rng.integers(1 << 40, 1 << 41) if wide else 1)
    doc = rng.choice(1 << 62, 400, replace=False) if wide else rng.permutation(400)
    rank = rng.integers(0, 3, 400)
    holdout = rng.random(400) < 0.02
    kept, contaminated, keeper = choose_kept(cluster, doc, rank, holdout)
    order = rng.permutation(400)
    kept2, contaminated2, keeper2 = choose_kept(cluster[order], doc[order], rank[order], holdout[order])
    assert np.array_equal(keeper[order], keeper2)
    assert np.array_equal(kept[order], kept2) and np.array_equal(contaminated[order], contaminated2)
    for c in np.unique(cluster):
        members = cluster == c
        if holdout[members].any():
            assert np.array_equal(kept[members], holdout[members])
        else:
            best = min(zip(rank[members], doc[members]))
            assert doc[members & kept].tolist() == [best[1]]
            assert set(keeper[members].tolist()) == {best[1]}


# ---------------------------------------------------------------- statistics


def test_cluster_size_histogram_hand_computed():
    assert cluster_size_histogram(np.array([5, 1, 1, 5, 5, 9, 9, 2, 2])) == {2: 3, 3: 1}
    assert cluster_size_histogram(np.zeros(0, np.int64)) == {}


def test_pipeline_of_steps_on_one_example_end_to_end():
    keys = np.array([1, 1, 2, 2, 3, 3, 4], dtype=np.uint64)
    docs = np.array([40, 10, 40, 30, 50, 60, 70])
    src, dst, _ = star_edges(keys, docs)
    nodes, labels = connected_components(src, dst)
    assert dict(zip(nodes.tolist(), labels.tolist())) == {10: 10, 30: 10, 40: 10, 50: 50, 60: 50}
    kept = choose_kept(labels, nodes, np.array([1, 0, 1, 0, 0]), np.zeros(5, bool)).kept
    assert nodes[kept].tolist() == [30, 50]
    assert cluster_size_histogram(labels) == {2: 1, 3: 1}
