"""Document length distributions (UTF-8 bytes) of kept and removed documents, computed per partition.

`partition_lengths` is the per-partition function (plain Python; a Ray task when Ray is up): it reads
the partition's document lengths, which of them dedup removed (from the row groups of
`dedup/clusters.parquet` that overlap the partition) and its filtered rejects, and returns
histograms only. `length_histograms` sums them over the train partitions, so the caller holds a few
hundred integers whatever the corpus size.

Bins are powers of two: bin 0 holds empty documents, bin i ≥ 1 holds lengths in [2^(i-1), 2^i).
Filtered documents are stored in `rejects/` cut to `REJECT_RAW_BYTES`, so a filtered document at
that length may be longer; `filtered_cut` counts them (they sit in the bin of the cut length).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.inspection.cluster_table import group_ranges, overlapping_groups, removed_in_range
from pipeline.inspection.run_files import PartitionInfo, RunFiles
from pipeline.runtime.ray_or_local_map import parallel_map
from stages.batch import REJECT_RAW_BYTES

LENGTH_BINS = 48
"""Bins 0..47: up to 2^47 bytes, far beyond the 64 MiB line limit of the reader."""
CATEGORIES = ("kept", "duplicate", "contaminated", "filtered")


def length_bins(lengths: np.ndarray) -> np.ndarray:
    """Counts of `lengths` (bytes) in the power-of-two bins described in the module docstring."""
    lengths = np.asarray(lengths, dtype=np.int64)
    bins = np.zeros(lengths.size, dtype=np.int64)
    positive = lengths > 0
    bins[positive] = np.floor(np.log2(lengths[positive])).astype(np.int64) + 1
    return np.bincount(np.minimum(bins, LENGTH_BINS - 1), minlength=LENGTH_BINS)


def bin_edges() -> list[int]:
    """The lower edge of each bin in bytes (bin 0, empty documents, has edge 0)."""
    return [0] + [1 << (i - 1) for i in range(1, LENGTH_BINS)]


def _empty() -> dict:
    return {
        "histograms": {c: [0] * LENGTH_BINS for c in CATEGORIES},
        "documents": {c: 0 for c in CATEGORIES},
        "bytes": {c: 0 for c in CATEGORIES},
        "filtered_cut": 0,
    }


def _utf8_lengths(column: pa.ChunkedArray) -> np.ndarray:
    return pc.binary_length(pc.cast(column, pa.binary())).to_numpy(zero_copy_only=False).astype(np.int64)


def partition_lengths(files: RunFiles, partition: PartitionInfo, groups: list[int]) -> dict:
    """Length histograms of one partition's documents by fate: kept, duplicate, contaminated, filtered.

    `groups` are the clusters-table row groups overlapping the partition (see `overlapping_groups`).
    """
    docs = files.run.read_parquet(files.docs_path(partition.name), columns=["doc_id", "text"])
    doc_ids = docs.column("doc_id").to_numpy()
    lengths = _utf8_lengths(docs.column("text"))
    fate = np.zeros(doc_ids.size, dtype=np.int64)
    if groups:
        removed, contaminated = removed_in_range(files.run, groups, partition.first_doc_id, partition.last_doc_id)
        position = np.searchsorted(doc_ids, removed)
        fate[position] = np.where(contaminated, 2, 1)
    by_category = {c: lengths[fate == i] for i, c in enumerate(CATEGORIES[:3])}
    rejects_path = files.rejects_path(partition.name)
    filtered = np.zeros(0, dtype=np.int64)
    if files.run.exists(rejects_path):
        rejects = files.run.read_parquet(rejects_path, columns=["reason", "raw"])
        is_filter = pc.starts_with(rejects.column("reason"), "filter:")
        filtered = _utf8_lengths(rejects.column("raw").filter(is_filter))
    by_category["filtered"] = filtered
    out = _empty()
    for category, values in by_category.items():
        out["histograms"][category] = length_bins(values).tolist()
        out["documents"][category] = int(values.size)
        out["bytes"][category] = int(values.sum())
    out["filtered_cut"] = int(np.count_nonzero(filtered >= REJECT_RAW_BYTES))
    return out


def add_lengths(total: dict, part: dict) -> dict:
    """`total` with one partition's histograms and counts added."""
    for category in CATEGORIES:
        total["histograms"][category] = [
            a + b for a, b in zip(total["histograms"][category], part["histograms"][category])
        ]
        total["documents"][category] += part["documents"][category]
        total["bytes"][category] += part["bytes"][category]
    total["filtered_cut"] += part["filtered_cut"]
    return total


def length_histograms(files: RunFiles) -> dict:
    """Length histograms summed over the train partitions (holdout documents are never removed or trained on)."""
    ranges = group_ranges(files) if files.has_clusters() else []
    args = [(files, p, overlapping_groups(ranges, p.first_doc_id, p.last_doc_id)) for p in files.train_partitions()]
    result = parallel_map(partition_lengths, args, add_lengths, _empty())
    result["bin_edges"] = bin_edges()
    result["filtered_cut_bytes"] = REJECT_RAW_BYTES
    return result
