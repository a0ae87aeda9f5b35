"""Questions about duplicate clusters, answered from `dedup/clusters.parquet` one row group at a time.

The clusters table has one row per document in a component of two or more (doc_id, source, line,
pile_set_name, cluster_id, kept, contaminated), sorted by doc_id, in row groups of about a million
rows. On the full Pile it holds on the order of 10^8 rows, so no function here reads it whole:

- `rows_in_group` is the per-row-group map (rows of given clusters or documents); `cluster_rows`
  and `document_rows` run it over every row group. With a `limit`, each task and each merge keep
  only a cluster's first `limit` members by doc_id and its kept ones, so a cluster of a million
  members costs no more than one of ten.
- `bucket_largest` reads only the `cluster_id` column, keeps the clusters that hash to one bucket
  and counts their sizes; `largest_clusters` runs one such task per bucket, so no process holds
  more than a bucket's share of the cluster ids, and merges the buckets' top lists.
- `removed_in_range` is the per-partition map behind length statistics: which documents of a doc_id
  range dedup removed, read from the row groups that overlap the range.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.formats.run_directory import RunDirectory
from pipeline.formats.run_layout import CLUSTERS
from pipeline.inspection.run_files import RunFiles
from pipeline.runtime.ray_or_local_map import parallel_map
from stages.clustering import bucket_of

IDS_PER_BUCKET = 8_000_000
"""`largest_clusters` uses one bucket per this many rows of the clusters table (at least one)."""


def _file(run: RunDirectory) -> pq.ParquetFile:
    return pq.ParquetFile(run.path(CLUSTERS), filesystem=run.filesystem)


def row_groups(run: RunDirectory) -> int:
    """The number of row groups of the clusters table."""
    return _file(run).metadata.num_row_groups


def table_rows(run: RunDirectory) -> int:
    return _file(run).metadata.num_rows


def read_group(run: RunDirectory, group: int, columns: list[str] | None = None) -> pa.Table:
    """One row group of the clusters table."""
    return _file(run).read_row_group(group, columns=columns)


def group_range(run: RunDirectory, group: int) -> tuple[int, int]:
    """(first, last) doc_id of a row group (the table is sorted by doc_id)."""
    ids = read_group(run, group, ["doc_id"]).column("doc_id")
    return int(ids[0].as_py()), int(ids[-1].as_py())


def group_ranges(files: RunFiles) -> list[tuple[int, int]]:
    """(first, last) doc_id of every row group: the index that lets per-partition tasks read only what they need."""
    run = files.run
    return parallel_map(group_range, [(run, g) for g in range(row_groups(run))], lambda acc, r: acc + [r], [])


def rows_in_group(
    run: RunDirectory,
    group: int,
    cluster_ids: list[int] | None = None,
    doc_ids: list[int] | None = None,
    limit: int | None = None,
) -> pa.Table:
    """The rows of one row group whose cluster_id is in `cluster_ids` or whose doc_id is in `doc_ids`;
    with `limit`, only each cluster's first `limit` rows by doc_id and its kept rows."""
    table = read_group(run, group)
    mask = pa.array(np.zeros(table.num_rows, dtype=bool))
    if cluster_ids:
        mask = pc.or_(mask, pc.is_in(table.column("cluster_id"), value_set=pa.array(cluster_ids, pa.int64())))
    if doc_ids:
        mask = pc.or_(mask, pc.is_in(table.column("doc_id"), value_set=pa.array(doc_ids, pa.int64())))
    table = table.filter(mask)
    return table if limit is None else _first_members(table, limit)


def _first_members(table: pa.Table, limit: int) -> pa.Table:
    """Per cluster: its kept rows and its first `limit` rows by doc_id (the table is sorted by doc_id)."""
    if table.num_rows == 0:
        return table
    clusters = table.column("cluster_id").to_numpy()
    order = np.lexsort((table.column("doc_id").to_numpy(), clusters))
    sorted_clusters = clusters[order]
    starts = np.flatnonzero(np.r_[True, sorted_clusters[1:] != sorted_clusters[:-1]])
    rank = np.arange(order.size) - np.repeat(starts, np.diff(np.r_[starts, order.size]))
    keep = np.zeros(table.num_rows, dtype=bool)
    keep[order[rank < limit]] = True
    keep |= table.column("kept").to_numpy(zero_copy_only=False)
    return table.filter(pa.array(keep)).sort_by("doc_id")


def _scan(files: RunFiles, cluster_ids: list[int], doc_ids: list[int], limit: int | None) -> pa.Table:
    run = files.run

    def combine(acc: pa.Table | None, part: pa.Table) -> pa.Table:
        merged = part if acc is None else pa.concat_tables([acc, part])
        return merged if limit is None else _first_members(merged, limit)

    args = [(run, g, cluster_ids, doc_ids, limit) for g in range(row_groups(run))]
    result = parallel_map(rows_in_group, args, combine, None)
    return pa.table({}) if result is None else result.sort_by("doc_id")


def cluster_rows(files: RunFiles, cluster_ids: Iterable[int], limit: int | None = None) -> pa.Table:
    """Rows of the given clusters, by doc_id: each cluster's first `limit` members (all if None) and its kept ones."""
    ids = sorted(set(cluster_ids))
    if not ids or not files.has_clusters():
        return pa.table({})
    return _scan(files, ids, [], limit)


def document_rows(files: RunFiles, doc_ids: Iterable[int]) -> pa.Table:
    """The clusters-table rows of the given documents (documents in no cluster have none), by doc_id."""
    ids = sorted(set(doc_ids))
    if not ids or not files.has_clusters():
        return pa.table({})
    return _scan(files, [], ids, None)


def composition_in_group(run: RunDirectory, group: int, cluster_ids: list[int]) -> dict[int, dict[str, int]]:
    """Members per subset of each of `cluster_ids` within one row group (absent clusters are left out)."""
    table = read_group(run, group, ["cluster_id", "pile_set_name"])
    table = table.filter(pc.is_in(table.column("cluster_id"), value_set=pa.array(cluster_ids, pa.int64())))
    out: dict[int, dict[str, int]] = {}
    for row in table.group_by(["cluster_id", "pile_set_name"]).aggregate([([], "count_all")]).to_pylist():
        out.setdefault(row["cluster_id"], {})[row["pile_set_name"]] = row["count_all"]
    return out


def cluster_composition(files: RunFiles, cluster_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Members per subset of each given cluster (clusters that do not exist are left out)."""
    ids = sorted(set(cluster_ids))
    if not ids or not files.has_clusters():
        return {}

    def combine(acc: dict[int, dict[str, int]], part: dict[int, dict[str, int]]) -> dict[int, dict[str, int]]:
        for cluster_id, counts in part.items():
            entry = acc.setdefault(cluster_id, {})
            for name, n in counts.items():
                entry[name] = entry.get(name, 0) + n
        return acc

    return parallel_map(composition_in_group, [(files.run, g, ids) for g in range(row_groups(files.run))], combine, {})


def bucket_largest(run: RunDirectory, bucket: int, buckets: int, n: int) -> list[tuple[int, int]]:
    """The `n` largest clusters among those whose id hashes to `bucket`, as (size, cluster_id), largest first."""
    parts = []
    for group in range(row_groups(run)):
        ids = read_group(run, group, ["cluster_id"]).column("cluster_id").to_numpy()
        parts.append(ids[bucket_of(ids, buckets) == bucket])
    ids = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    unique, counts = np.unique(ids, return_counts=True)
    order = np.lexsort((unique, -counts))[:n]
    return [(int(counts[i]), int(unique[i])) for i in order]


def largest_clusters(files: RunFiles, n: int = 20) -> list[tuple[int, int]]:
    """The `n` largest clusters as (size, cluster_id): largest first, ties by smaller cluster_id."""
    run = files.run
    if not files.has_clusters() or row_groups(run) == 0:
        return []
    buckets = max(1, math.ceil(table_rows(run) / IDS_PER_BUCKET))
    merged = parallel_map(
        bucket_largest, [(run, k, buckets, n) for k in range(buckets)], lambda acc, top: acc + top, []
    )
    return sorted(merged, key=lambda item: (-item[0], item[1]))[:n]


def removed_in_range(run: RunDirectory, groups: list[int], first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
    """(doc_ids, contaminated) of the documents in [first, last] that dedup removed, sorted by doc_id."""
    ids, flags = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=bool)]
    for group in groups:
        table = read_group(run, group, ["doc_id", "kept", "contaminated"])
        doc_ids = table.column("doc_id").to_numpy()
        kept = table.column("kept").to_numpy(zero_copy_only=False)
        inside = (doc_ids >= first) & (doc_ids <= last) & ~kept
        ids.append(doc_ids[inside])
        flags.append(table.column("contaminated").to_numpy(zero_copy_only=False)[inside])
    return np.concatenate(ids), np.concatenate(flags)


def overlapping_groups(ranges: list[tuple[int, int]], first: int, last: int) -> list[int]:
    """Indexes of the row groups whose doc_id range meets [first, last]."""
    return [g for g, (lo, hi) in enumerate(ranges) if lo <= last and hi >= first]
