"""Global near-duplicate clustering as pure NumPy steps: star edges, connected components, keep rule.

Every function takes and returns NumPy arrays and depends only on the *set* of rows it is given, so
the result is the same whatever order rows arrive in and however they were split into buckets.

Connected components use the alternating large-star / small-star algorithm of Kiveris et al.,
"Connected Components in MapReduce and Beyond" (SoCC 2014). Edges are pairs `(a, b)`; every step
returns them with `a > b`, sorted by `(a, b)` and without duplicates inside one call. A round is a
map (`large_star_rows` or `small_star_rows`, any partition of the edges), a shuffle of the rows to
bucket `bucket_of(key, buckets)`, and the step (`large_star` or `small_star`) on each bucket's rows:

    edges = star_edges(...)                       # per band-key bucket, concatenated (repeats are fine)
    loop:
        rows = large_star_rows(edges)             # both directions: each node sees its neighbourhood
        edges, final = large_star(bucket rows)    # per bucket; final = AND over buckets
        if final: break                           # edges are (node, component minimum)
        rows = small_star_rows(edges)             # oriented (larger, smaller)
        edges = small_star(bucket rows)           # per bucket
    labels = component_labels(each final large_star bucket's edges)

A row is `(key, other)`; `key` is the node whose bucket must hold the row. A step needs *all* rows
of each key in its bucket and may also see rows duplicated across the previous round's buckets.
When every bucket's `large_star` says `final`, its input was already a forest of stars centred on
component minima, its output equals that input, and each component's edges came out of the one
bucket that owns its minimum, so `component_labels` can run on each bucket's output alone.
Edge counts never grow: a step emits at most one edge per distinct input edge.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

_MIX_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_SIGN_BIT = np.uint64(1 << 63)
_EMPTY = np.zeros(0, dtype=np.int64)


class LargeStarResult(NamedTuple):
    """One bucket's large-star output: edges `(a, b)` with `a > b`, and whether its input was final."""

    a: np.ndarray
    b: np.ndarray
    final: bool


def bucket_of(nodes: np.ndarray, buckets: int) -> np.ndarray:
    """The bucket in `[0, buckets)` of each id: the SplitMix64 mix of its 64 bits, modulo `buckets`.

    Takes node ids (int64) or band keys (uint64); an int64 and its uint64 bit pattern share a bucket.
    """
    if buckets < 1:
        raise ValueError(f"buckets must be at least 1, got {buckets}")
    values = np.asarray(nodes)
    if values.dtype.kind not in "iu":
        raise TypeError(f"bucket_of needs integer ids, got {values.dtype}")
    z = values.astype(np.uint64) + _MIX_GAMMA
    z = (z ^ (z >> np.uint64(30))) * _MIX_1
    z = (z ^ (z >> np.uint64(27))) * _MIX_2
    z ^= z >> np.uint64(31)
    return (z % np.uint64(buckets)).astype(np.int64)


def star_edges(keys: np.ndarray, doc_ids: np.ndarray, all_pairs_up_to: int = 0) -> tuple[np.ndarray, np.ndarray, int]:
    """Candidate edges of one band-key bucket: each document to the smallest doc_id sharing a key with it.

    Rows `(key, doc_id)` may come in any order and repeat. Returns `(src, dst, candidate_pairs)`:
    edges with `src > dst`, unique and sorted by `(src, dst)`, and the sum over keys of C(n, 2) for
    the n distinct documents holding the key (the pairs LSH proposed, a pair once per shared key).
    A key held by at most `all_pairs_up_to` documents gives all its pairs instead of a star, so that
    verifying edges one by one cannot cut a group whose members pass only among themselves.
    """
    keys = np.asarray(keys, dtype=np.uint64)
    doc_ids = _as_ids(doc_ids)
    if keys.shape != doc_ids.shape:
        raise ValueError(f"keys and doc_ids differ in length: {keys.shape} vs {doc_ids.shape}")
    if keys.size == 0:
        return _EMPTY, _EMPTY, 0
    order = np.argsort(keys)
    sorted_keys = keys[order]
    key_starts = _run_starts(sorted_keys)
    key_sizes = np.diff(np.append(key_starts, keys.size))
    shared = np.repeat(key_sizes > 1, key_sizes)
    group = np.repeat(np.arange(key_starts.size, dtype=np.int64), key_sizes)[shared]
    group, docs = _unique_pairs(group, doc_ids[order][shared])
    if group.size == 0:
        return _EMPTY, _EMPTY, 0
    starts = _run_starts(group)
    sizes = np.diff(np.append(starts, group.size))
    candidate_pairs = int(np.sum(sizes * (sizes - 1) // 2))
    size_of = np.repeat(sizes, sizes)
    within = np.arange(group.size) - np.repeat(starts, sizes)
    star = size_of > all_pairs_up_to
    smallest = np.repeat(docs[starts], sizes)
    member = star & (docs != smallest)
    src, dst = [docs[member]], [smallest[member]]
    for step in range(1, max(1, min(all_pairs_up_to, int(sizes.max())))):
        # Docs are sorted within a group: pair each with the one `step` places after it.
        later = ~star & (within + step < size_of)
        src.append(docs[np.flatnonzero(later) + step])
        dst.append(docs[later])
    src, dst = _unique_pairs(np.concatenate(src), np.concatenate(dst))
    return src, dst, candidate_pairs


def large_star_rows(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map side of large-star: every edge in both directions, as `(key, other)`; shuffle on `key`."""
    a, b = _as_pair(a, b)
    return np.concatenate([a, b]), np.concatenate([b, a])


def small_star_rows(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map side of small-star: every edge as `(key, other)` = (larger, smaller); shuffle on `key`."""
    a, b = _as_pair(a, b)
    return np.maximum(a, b), np.minimum(a, b)


def large_star(keys: np.ndarray, others: np.ndarray) -> LargeStarResult:
    """Large-star on one bucket's `large_star_rows`: link each node's larger neighbours to its neighbourhood minimum.

    For each key u with neighbours N(u) (self-loops ignored), m = min(N(u) ∪ {u}); emit (v, m) for
    every v in N(u) with v > u. `final` is True when every key is either smaller than all its
    neighbours or has exactly one neighbour: over all buckets together, that means the edges already
    are stars centred on component minima (and the output equals the input).
    """
    keys, others = _as_pair(keys, others)
    loop = keys == others
    keys, others = _unique_pairs(keys[~loop], others[~loop])
    if keys.size == 0:
        return LargeStarResult(_EMPTY, _EMPTY, True)
    starts = _run_starts(keys)
    sizes = np.diff(np.append(starts, keys.size))
    node = keys[starts]
    lowest = others[starts]
    final = bool(np.all((lowest > node) | (sizes == 1)))
    minimum = np.repeat(np.minimum(node, lowest), sizes)
    larger = others > keys
    a, b = _unique_pairs(others[larger], minimum[larger])
    return LargeStarResult(a, b, final)


def small_star(keys: np.ndarray, others: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Small-star on one bucket's `small_star_rows`: link each node and its smaller neighbours to their minimum.

    For each key u with smaller neighbours N (self-loops ignored), m = min(N); emit (v, m) for every
    v in N ∪ {u} other than m. Rows must have `key >= other`, as `small_star_rows` makes them.
    """
    keys, others = _as_pair(keys, others)
    if np.any(others > keys):
        raise ValueError("small_star rows must have key >= other; build them with small_star_rows")
    loop = keys == others
    keys, others = _unique_pairs(keys[~loop], others[~loop])
    if keys.size == 0:
        return _EMPTY, _EMPTY
    starts = _run_starts(keys)
    sizes = np.diff(np.append(starts, keys.size))
    minimum = others[starts]
    not_minimum = np.ones(keys.size, dtype=bool)
    not_minimum[starts] = False
    a = np.concatenate([others[not_minimum], keys[starts]])
    b = np.concatenate([np.repeat(minimum, sizes)[not_minimum], minimum])
    return _unique_pairs(a, b)


def component_labels(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`(nodes, labels)` sorted by node, from final edges (node, component minimum) holding whole components.

    Each minimum is labelled with itself. Give it one bucket's output of the final `large_star`
    (or final edges shuffled on `bucket_of(b)`); edges that are not final raise ValueError.
    """
    a, b = _as_pair(a, b)
    nodes = np.sort(a)
    centres = np.sort(b)
    centres = centres[_starts_mask(centres)]
    if nodes.size and (np.any(nodes[1:] == nodes[:-1]) or np.any(_contains(nodes, centres))):
        raise ValueError("edges are not final: a node has two labels or a label has a label")
    all_nodes = np.concatenate([a, centres])
    all_labels = np.concatenate([b, centres])
    order = np.argsort(all_nodes)
    return all_nodes[order], all_labels[order]


def connected_components(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`(nodes, labels)` of every node with an edge to another node, labelled by its component minimum.

    Single-process: the same steps as the distributed rounds, with one bucket. Self-loops and
    repeated edges are ignored.
    """
    while True:
        a, b, final = large_star(*large_star_rows(a, b))
        if final:
            return component_labels(a, b)
        a, b = small_star(*small_star_rows(a, b))


class KeepDecision(NamedTuple):
    """Per member row: kept, contaminated (a train document removed for a holdout one), and the doc_id of
    the document kept for it (itself when kept)."""

    kept: np.ndarray
    contaminated: np.ndarray
    keeper: np.ndarray


def choose_kept(
    cluster_ids: np.ndarray, doc_ids: np.ndarray, priority_ranks: np.ndarray, is_holdout: np.ndarray
) -> KeepDecision:
    """The `components` keep rule over one row per document of whole components, in any order.

    A component holding a holdout document keeps its holdout documents and marks every other
    member contaminated, kept for the first holdout member by `(priority_rank, doc_id)`. Any other
    component keeps the member with the smallest `(priority_rank, doc_id)`; the rest are duplicates.
    """
    cluster_ids, doc_ids, priority_ranks, is_holdout = _member_columns(cluster_ids, doc_ids, priority_ranks, is_holdout)
    kept = np.zeros(cluster_ids.size, dtype=bool)
    contaminated = np.zeros(cluster_ids.size, dtype=bool)
    keeper = doc_ids.copy()
    if cluster_ids.size == 0:
        return KeepDecision(kept, contaminated, keeper)
    order = _sort_order(cluster_ids, (~is_holdout).astype(np.int64), priority_ranks, doc_ids)
    holdout = is_holdout[order]
    starts = _run_starts(cluster_ids[order])
    sizes = np.diff(np.append(starts, cluster_ids.size))
    in_holdout_cluster = np.repeat(np.logical_or.reduceat(holdout, starts), sizes)
    best = np.zeros(cluster_ids.size, dtype=bool)
    best[starts] = True
    kept[order] = np.where(in_holdout_cluster, holdout, best)
    contaminated[order] = in_holdout_cluster & ~holdout
    keeper[order] = np.where(kept[order], doc_ids[order], np.repeat(doc_ids[order][starts], sizes))
    return KeepDecision(kept, contaminated, keeper)


def split_at_threshold(
    cluster_ids: np.ndarray,
    doc_ids: np.ndarray,
    priority_ranks: np.ndarray,
    is_holdout: np.ndarray,
    edge_a: np.ndarray,
    edge_b: np.ndarray,
) -> KeepDecision:
    """The `threshold` keep rule: members removed only for a kept document they share a verified edge with.

    Within each component, members are taken in keep order (holdout first, then `(priority_rank,
    doc_id)`); a member with a verified edge to an already kept member is removed for the first such
    one, any other member is kept (holdout members always are). A component of chains and hubs thus
    splits deterministically, and every removal is backed by an edge that passed verification at
    the threshold. Edges `(a, b)` join members of the given rows (any order, repeats ignored); the
    result depends only on the sets of rows and edges.
    """
    cluster_ids, doc_ids, priority_ranks, is_holdout = _member_columns(cluster_ids, doc_ids, priority_ranks, is_holdout)
    n = doc_ids.size
    if n == 0:
        return KeepDecision(np.zeros(0, dtype=bool), np.zeros(0, dtype=bool), _EMPTY)
    order = _sort_order(cluster_ids, (~is_holdout).astype(np.int64), priority_ranks, doc_ids)
    position = np.empty(n, dtype=np.int64)
    position[order] = np.arange(n)
    by_id = np.argsort(doc_ids)
    edge_a, edge_b = _as_pair(edge_a, edge_b)
    rows_a = by_id[np.minimum(np.searchsorted(doc_ids[by_id], edge_a), n - 1)]
    rows_b = by_id[np.minimum(np.searchsorted(doc_ids[by_id], edge_b), n - 1)]
    if edge_a.size and not (np.array_equal(doc_ids[rows_a], edge_a) and np.array_equal(doc_ids[rows_b], edge_b)):
        raise ValueError("an edge names a document that is not a member row")
    pa_, pb_ = position[rows_a], position[rows_b]
    later, earlier = _unique_pairs(np.maximum(pa_, pb_), np.minimum(pa_, pb_))
    loop = later == earlier
    later, earlier = later[~loop], earlier[~loop]
    holdout = is_holdout[order]
    # The walk is sequential by nature; plain Python lists make each step a few list reads, not NumPy scalars.
    kept_flags = bytearray(b"\x01") * n
    keeper_at = np.arange(n, dtype=np.int64)
    starts = np.searchsorted(later, np.arange(n + 1)).tolist()
    earlier_list, holdout_list = earlier.tolist(), holdout.tolist()
    removed_rows, removed_for = [], []
    for i in np.unique(later).tolist():
        if holdout_list[i]:
            continue
        for j in earlier_list[starts[i] : starts[i + 1]]:
            if kept_flags[j]:
                kept_flags[i] = 0
                removed_rows.append(i)
                removed_for.append(j)
                break
    kept_at = np.frombuffer(bytes(kept_flags), dtype=np.uint8).astype(bool)
    keeper_at[np.array(removed_rows, dtype=np.int64)] = np.array(removed_for, dtype=np.int64)
    kept = np.empty(n, dtype=bool)
    kept[order] = kept_at
    keeper = np.empty(n, dtype=np.int64)
    keeper[order] = doc_ids[order][keeper_at]
    contaminated = np.empty(n, dtype=bool)
    contaminated[order] = ~kept_at & holdout[keeper_at]
    return KeepDecision(kept, contaminated, keeper)


def keep_with_copies(
    mode: str,
    cluster_ids: np.ndarray,
    doc_ids: np.ndarray,
    priority_ranks: np.ndarray,
    is_holdout: np.ndarray,
    copy_of: np.ndarray,
    edge_a: np.ndarray,
    edge_b: np.ndarray,
) -> KeepDecision:
    """The keep rule of `mode` ("components" or "threshold") with exact copies taken out first.

    Rows with `copy_of >= 0` are exact copies of that member (`stages.exact_copies`): they are removed
    for whatever document their representative is kept for, and only the other rows go through the
    rule. In `threshold` mode an edge touching a copy counts for its representative (same text, same
    Jaccard). Every kept row has `keeper` = itself; `contaminated` = removed for a holdout document.
    """
    cluster_ids, doc_ids, priority_ranks, is_holdout = _member_columns(cluster_ids, doc_ids, priority_ranks, is_holdout)
    copy_of = _as_ids(copy_of)
    copy = copy_of >= 0
    rest = np.flatnonzero(~copy)
    if mode == "threshold":
        copy_ids, copy_reps = doc_ids[copy], copy_of[copy]
        by_copy = np.argsort(copy_ids)
        copy_ids, copy_reps = copy_ids[by_copy], copy_reps[by_copy]
        edge_a, edge_b = (
            _through_copies(_as_ids(edge_a), copy_ids, copy_reps),
            _through_copies(_as_ids(edge_b), copy_ids, copy_reps),
        )
        decision = split_at_threshold(
            cluster_ids[rest], doc_ids[rest], priority_ranks[rest], is_holdout[rest], edge_a, edge_b
        )
    elif mode == "components":
        decision = choose_kept(cluster_ids[rest], doc_ids[rest], priority_ranks[rest], is_holdout[rest])
    else:
        raise ValueError(f"unknown keep mode {mode!r}")
    kept = np.zeros(doc_ids.size, dtype=bool)
    keeper = doc_ids.copy()
    kept[rest] = decision.kept
    keeper[rest] = decision.keeper
    if copy.any():
        rest_ids = doc_ids[rest]
        by_id = np.argsort(rest_ids)
        where = np.searchsorted(rest_ids[by_id], copy_of[copy])
        if np.any(where >= rest.size) or not np.array_equal(
            rest_ids[by_id][np.minimum(where, rest.size - 1)], copy_of[copy]
        ):
            raise ValueError("an exact copy's representative is not a member row (or is a copy itself)")
        keeper[copy] = decision.keeper[by_id[where]]
    holdout_ids = np.sort(doc_ids[is_holdout])
    contaminated = ~kept & _contains(holdout_ids, keeper) if holdout_ids.size else np.zeros(doc_ids.size, dtype=bool)
    return KeepDecision(kept, contaminated, keeper)


def _through_copies(ids: np.ndarray, copy_ids: np.ndarray, copy_reps: np.ndarray) -> np.ndarray:
    """`ids` with every exact copy (in sorted `copy_ids`) replaced by its representative."""
    if copy_ids.size == 0 or ids.size == 0:
        return ids
    where = np.minimum(np.searchsorted(copy_ids, ids), copy_ids.size - 1)
    return np.where(copy_ids[where] == ids, copy_reps[where], ids)


def _member_columns(
    cluster_ids: np.ndarray, doc_ids: np.ndarray, priority_ranks: np.ndarray, is_holdout: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    cluster_ids, doc_ids, priority_ranks = _as_ids(cluster_ids), _as_ids(doc_ids), _as_ids(priority_ranks)
    is_holdout = np.asarray(is_holdout, dtype=bool).reshape(-1)
    if not cluster_ids.shape == doc_ids.shape == priority_ranks.shape == is_holdout.shape:
        raise ValueError("cluster_ids, doc_ids, priority_ranks and is_holdout differ in length")
    return cluster_ids, doc_ids, priority_ranks, is_holdout


def cluster_size_histogram(labels: np.ndarray) -> dict[int, int]:
    """Component size → number of components, from one label per node (as `component_labels` gives)."""
    labels = np.sort(_as_ids(labels))
    if labels.size == 0:
        return {}
    sizes = np.sort(np.diff(np.append(_run_starts(labels), labels.size)))
    starts = _run_starts(sizes)
    counts = np.diff(np.append(starts, sizes.size))
    return {int(size): int(count) for size, count in zip(sizes[starts], counts)}


def _as_ids(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.int64).reshape(-1)


def _as_pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = _as_ids(a), _as_ids(b)
    if a.shape != b.shape:
        raise ValueError(f"edge endpoint arrays differ in length: {a.shape} vs {b.shape}")
    return a, b


def _starts_mask(sorted_values: np.ndarray) -> np.ndarray:
    """True where a run of equal values begins in a sorted array."""
    mask = np.ones(sorted_values.size, dtype=bool)
    np.not_equal(sorted_values[1:], sorted_values[:-1], out=mask[1:])
    return mask


def _run_starts(sorted_values: np.ndarray) -> np.ndarray:
    return np.flatnonzero(_starts_mask(sorted_values))


def _contains(sorted_haystack: np.ndarray, needles: np.ndarray) -> np.ndarray:
    where = np.minimum(np.searchsorted(sorted_haystack, needles), sorted_haystack.size - 1)
    return sorted_haystack[where] == needles


def _unique_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct pairs `(a, b)`, sorted by `(a, b)`, by one value sort of packed uint64 codes.

    Rank codes of two columns fit in 64 bits for any call under 2**32 rows.
    """
    if a.size == 0:
        return _EMPTY, _EMPTY
    packed = _pack_columns([a, b])
    if packed is None:
        raise ValueError(f"{a.size} rows in one call: two rank codes no longer fit in 64 bits; use more buckets")
    codes, (a_code, b_code) = packed
    codes.sort()
    codes = codes[_starts_mask(codes)]
    high = codes >> np.uint64(b_code.width) if b_code.width < 64 else np.zeros_like(codes)
    return a_code.decode(high), b_code.decode(codes & np.uint64((1 << b_code.width) - 1))


def _sort_order(*columns: np.ndarray) -> np.ndarray:
    """The stable order sorting rows by the first column, then the next, … (`np.lexsort(columns[::-1])`)."""
    packed = _pack_columns(list(columns))
    if packed is None:
        return np.lexsort(columns[::-1])
    return np.argsort(packed[0], kind="stable")


def _pack_columns(columns: list[np.ndarray]) -> tuple[np.ndarray, list] | None:
    """One uint64 code per row that sorts as the rows sort column by column, or None if none fits.

    Each column gets an order-preserving code: its varying bits (`_BitCode`, cheap), or, widest
    columns first while the total exceeds 64 bits, its rank among its distinct values (`_RankCode`,
    one argsort). Sorting codes as plain values is several times faster than `np.lexsort`.
    """
    codings: list = [_BitCode(column) for column in columns]
    for i in sorted(range(len(columns)), key=lambda i: -codings[i].width):
        if sum(coding.width for coding in codings) <= 64:
            break
        codings[i] = _RankCode(columns[i])
    if sum(coding.width for coding in codings) > 64:
        return None
    codes = np.zeros(columns[0].size, dtype=np.uint64)
    for coding in codings:
        if coding.width:
            codes = (codes << np.uint64(coding.width)) | coding.encode()
    return codes, codings


class _BitCode:
    """Order-preserving `width`-bit codes of int64 values: their bits with every bit no value changes dropped."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = values
        biased = values.view(np.uint64) ^ _SIGN_BIT
        varying = int(np.bitwise_or.reduce(biased ^ biased[0]))
        self.constant = biased[0] & ~np.uint64(varying)
        self.runs: list[tuple[int, int]] = []
        bit = 0
        while varying >> bit:
            length = 0
            while (varying >> (bit + length)) & 1:
                length += 1
            if length:
                self.runs.append((bit, length))
            bit += max(length, 1)
        self.width = sum(length for _, length in self.runs)

    def encode(self) -> np.ndarray:
        biased = self.values.view(np.uint64) ^ _SIGN_BIT
        codes = np.zeros(self.values.size, dtype=np.uint64)
        position = 0
        for start, length in self.runs:
            codes |= ((biased >> np.uint64(start)) & np.uint64((1 << length) - 1)) << np.uint64(position)
            position += length
        return codes

    def decode(self, codes: np.ndarray) -> np.ndarray:
        biased = np.full(codes.size, self.constant, dtype=np.uint64)
        position = 0
        for start, length in self.runs:
            biased |= ((codes >> np.uint64(position)) & np.uint64((1 << length) - 1)) << np.uint64(start)
            position += length
        return (biased ^ _SIGN_BIT).view(np.int64)


class _RankCode:
    """Order-preserving codes of int64 values: each value's rank among the distinct values."""

    def __init__(self, values: np.ndarray) -> None:
        order = np.argsort(values)
        ordered = values[order]
        first = _starts_mask(ordered)
        self.distinct = ordered[first]
        self.ranks = np.empty(values.size, dtype=np.uint64)
        self.ranks[order] = np.cumsum(first) - 1
        self.width = (self.distinct.size - 1).bit_length()

    def encode(self) -> np.ndarray:
        return self.ranks

    def decode(self, codes: np.ndarray) -> np.ndarray:
        return self.distinct[codes.astype(np.intp)]
