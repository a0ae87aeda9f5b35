"""Global MinHash-LSH deduplication on Ray, every step distributed and resumable.

    bands      per partition: MinHash signatures of its texts and their band keys, routed to K key buckets;
               its texts' 128-bit hashes, routed to K hash buckets (`exact-rows`)
    exact      per hash bucket: exact copies, each with its group's representative (`stages.exact_copies`),
               as component edges (`exact`) and as pairs routed to the copy's partition (`copies`)
    edges      per key bucket: star edges to each band group's smallest doc_id (with `verify`: all pairs
               of groups of at most VERIFY_ALL_PAIRS_UP_TO documents; optionally verified)
    targets    verify: exact only; per partition: texts of its edges' `dst` documents, routed to `src`'s partition
    verify     verify: exact only; per partition: edges whose exact shingle Jaccard reaches the threshold
    cc-NNN     per bucket, alternating large-star / small-star rounds until the edges are stars
    labels     per bucket: (doc, component minimum) routed to the document's partition
    members    per partition: join labels with the documents (and, in `threshold` mode, its verified edges),
               routed to the component's bucket
    keep       per bucket: the keep rule over whole components (`stages.clustering.keep_with_copies`),
               routed back to partitions
    clusters   per partition: the partition's members with `cluster_id` (the doc_id kept for it),
               `component_id`, `kept` and `exact`

In `threshold` mode the verified edges (`pairs`: from the edges step with `verify: signature`, from
the verify step with `verify: exact`) go with their component to the keep step, which removes a
member only for a kept document it shares a verified edge with.

Each step's tasks read one record batch from each of the previous step's files and write one file
(plus a JSON summary, last). No process ever holds all signatures or all edges; the driver holds
per-partition and per-bucket summaries only. A component's `cluster_id` is its smallest doc_id.

Verification drops candidate edges below `dedup.threshold` before the components: `signature` in the
edges step (the band rows carry signatures), `exact` in two steps keyed by partition, so each task
reads the texts of one prepared partition and no process holds more: candidate edges go to the partition
of `dst`, which attaches `dst`'s text and sends them to the partition of `src`, which computes the
exact shingle Jaccard. An edge found in several band buckets is checked once; counts keep its repeats.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.formats.parquet_stream import StableParquetWriter
from pipeline.formats.run_directory import RunDirectory
from pipeline.formats.run_layout import CLUSTERS, DEDUP_STATS, dedup_work_dir, docs_path, parse_partition_id
from pipeline.formats.shuffle_files import read_bucket, write_routed
from pipeline.manifest import Manifest
from pipeline.runtime.progress import Progress
from pipeline.runtime.ray_session import InFlightLimit
from pipeline.runtime.task_map import map_items
from pipeline.runtime.task_resources import phase_task
from pipeline.summaries import ClustersSummary, merge_by_set, merge_counts, sorted_counts
from stages.clustering import (
    bucket_of,
    cluster_size_histogram,
    component_labels,
    keep_with_copies,
    large_star,
    large_star_rows,
    small_star,
    small_star_rows,
    star_edges,
)
from stages.exact_copies import copy_pairs, hash_words
from stages.lsh import LshParams, band_keys, lsh_params
from stages.minhash import signatures
from stages.verify import exact_pairs_pass

ROWS_PER_BUCKET = 4_000_000
MIN_BUCKETS = 8
MAX_ROUNDS = 64
LARGEST_COMPONENTS = 20
"""Components (before splitting) listed in the statistics, largest first."""
VERIFY_ALL_PAIRS_UP_TO = 8
"""With `verify`, a band key shared by at most this many documents proposes all its pairs (≤ 28), not
a star to its smallest doc_id: checked one by one, a star loses members that pass only with each other."""

BAND_SCHEMA = pa.schema([("key", pa.uint64()), ("doc_id", pa.int64())])
EDGE_SCHEMA = pa.schema([("key", pa.int64()), ("other", pa.int64())])
PAIR_SCHEMA = pa.schema([("src", pa.int64()), ("dst", pa.int64())])
EXACT_ROW_SCHEMA = pa.schema(
    [
        ("hash_hi", pa.uint64()),
        ("hash_lo", pa.uint64()),
        ("doc_id", pa.int64()),
        ("rank", pa.int64()),
        ("holdout", pa.bool_()),
    ]
)
MEMBER_EDGE_SCHEMA = pa.schema([("component_id", pa.int64()), ("src", pa.int64()), ("dst", pa.int64())])
TARGET_SCHEMA = pa.schema(
    [("src", pa.int64()), ("dst", pa.int64()), ("repeats", pa.int64()), ("dst_text", pa.large_string())]
)
MEMBER_SCHEMA = pa.schema(
    [
        ("doc_id", pa.int64()),
        ("component_id", pa.int64()),
        ("source", pa.string()),
        ("line", pa.int64()),
        ("pile_set_name", pa.string()),
        ("bytes", pa.int64()),
        ("rank", pa.int64()),
        ("holdout", pa.bool_()),
        ("copy_of", pa.int64()),
    ]
)
KEPT_SCHEMA = pa.schema(
    list(MEMBER_SCHEMA)
    + [
        ("kept", pa.bool_()),
        ("contaminated", pa.bool_()),
        ("exact", pa.bool_()),
        ("cluster_id", pa.int64()),
        ("kept_pile_set_name", pa.string()),
    ]
)
CLUSTER_COLUMNS = [
    "doc_id",
    "source",
    "line",
    "pile_set_name",
    "cluster_id",
    "component_id",
    "kept",
    "contaminated",
    "exact",
]


@dataclass(frozen=True)
class PartitionRef:
    """What the dedup phase needs to know of a prepared partition."""

    partition: str
    first_doc_id: int
    holdout: bool


@dataclass(frozen=True)
class DedupPlan:
    """Where a dedup run writes, and its fixed parameters (bucket count K, banding, partitions)."""

    run: RunDirectory
    prepare_dir: str
    work_dir: str
    buckets: int
    lsh: LshParams
    partitions: tuple[PartitionRef, ...]
    manifest: Manifest

    def partition_index(self, doc_ids: np.ndarray) -> np.ndarray:
        """The index in `partitions` of the partition holding each doc_id."""
        starts = np.array([p.first_doc_id for p in self.partitions], dtype=np.int64)
        return np.searchsorted(starts, doc_ids, side="right") - 1

    def docs_path(self, partition: str) -> str:
        return docs_path(self.prepare_dir, partition)

    def step_path(self, step: str, name: str, suffix: str) -> str:
        return f"{self.work_dir}/{step}/{name}{suffix}"


def bucket_count(total_docs: int, bands: int) -> int:
    """K: enough buckets that each holds about `ROWS_PER_BUCKET` band rows, at least `MIN_BUCKETS`.

    K depends on the data alone, never on the CPU count, so every file dedup writes (its statistics
    included) is the same on a laptop and on a cluster; results do not depend on K in any case.
    """
    return max(MIN_BUCKETS, math.ceil(total_docs * bands / ROWS_PER_BUCKET))


def _distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct values, index of each one's first occurrence): `np.unique` by a stable sort,
    which NumPy 2.4 runs many times faster than `np.unique` itself on large integer arrays."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    first = np.ones(ordered.size, dtype=bool)
    first[1:] = ordered[1:] != ordered[:-1]
    return ordered[first], order[first]


def _table(**columns: np.ndarray) -> pa.Table:
    return pa.table({name: pa.array(values) for name, values in columns.items()})


@phase_task
def _bands_task(plan: DedupPlan, index: int) -> dict:
    part = plan.partitions[index]
    columns = ["doc_id", "text", "text_hash", "pile_set_name"]
    docs = plan.run.read_parquet(plan.docs_path(part.partition), columns=columns)
    n = docs.num_rows
    signature = signatures(docs.column("text"), plan.manifest.dedup)
    keys = band_keys(signature, plan.lsh.bands, plan.lsh.rows)
    doc_ids = np.repeat(docs.column("doc_id").to_numpy(), plan.lsh.bands)
    rows = _table(key=keys.reshape(-1), doc_id=doc_ids)
    if plan.manifest.dedup.verify == "signature":
        flat = pa.array(np.repeat(signature, plan.lsh.bands, axis=0).reshape(-1))
        rows = rows.append_column("signature", pa.FixedSizeListArray.from_arrays(flat, plan.manifest.dedup.num_perm))
    write_routed(
        plan.run,
        plan.step_path("bands", part.partition, ".arrow"),
        rows,
        bucket_of(rows.column("key").to_numpy(), plan.buckets),
        plan.buckets,
    )
    words = hash_words(docs.column("text_hash"))
    exact_rows = pa.table(
        {
            "hash_hi": words[:, 0],
            "hash_lo": words[:, 1],
            "doc_id": docs.column("doc_id").to_numpy(),
            "rank": plan.manifest.dedup.priority_ranks(docs.column("pile_set_name").to_pylist()),
            "holdout": np.full(n, part.holdout),
        },
        schema=EXACT_ROW_SCHEMA,
    )
    write_routed(
        plan.run,
        plan.step_path("exact-rows", part.partition, ".arrow"),
        exact_rows,
        bucket_of(words[:, 0], plan.buckets),
        plan.buckets,
    )
    summary = {"docs": n, "rows": rows.num_rows}
    plan.run.write_json(plan.step_path("bands", part.partition, ".json"), summary)
    return summary


@phase_task
def _exact_task(plan: DedupPlan, bucket: int) -> dict:
    """Exact copies among the documents whose text hash falls in this bucket."""
    inputs = [plan.step_path("exact-rows", p.partition, ".arrow") for p in plan.partitions]
    rows = read_bucket(plan.run, inputs, bucket, EXACT_ROW_SCHEMA)
    words = np.stack([rows.column("hash_hi").to_numpy(), rows.column("hash_lo").to_numpy()], axis=1)
    copies = copy_pairs(
        words, rows.column("doc_id").to_numpy(), rows.column("rank").to_numpy(), rows.column("holdout").to_numpy()
    )
    name = f"{bucket:05d}"
    keys, others = large_star_rows(copies.copy, copies.representative)
    write_routed(
        plan.run,
        plan.step_path("exact", name, ".arrow"),
        _table(key=keys, other=others),
        bucket_of(keys, plan.buckets),
        plan.buckets,
    )
    pairs = _table(src=copies.copy, dst=copies.representative)
    write_routed(
        plan.run,
        plan.step_path("copies", name, ".arrow"),
        pairs,
        plan.partition_index(copies.copy),
        len(plan.partitions),
    )
    summary = {"documents": rows.num_rows, "copies": int(copies.copy.size)}
    plan.run.write_json(plan.step_path("exact", name, ".json"), summary)
    return summary


def _verified(plan: DedupPlan, rows: pa.Table, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Mask of edges whose estimated Jaccard (share of equal signature values) reaches the threshold."""
    doc_ids = rows.column("doc_id").to_numpy()
    unique, first = _distinct(doc_ids)
    num_perm = plan.manifest.dedup.num_perm
    signature = rows.column("signature").combine_chunks().flatten().to_numpy().reshape(-1, num_perm)[first]
    a = signature[np.searchsorted(unique, src)]
    b = signature[np.searchsorted(unique, dst)]
    return (a == b).mean(axis=1) >= plan.manifest.dedup.threshold


@phase_task
def _edges_task(plan: DedupPlan, bucket: int) -> dict:
    inputs = [plan.step_path("bands", p.partition, ".arrow") for p in plan.partitions]
    schema = BAND_SCHEMA
    if plan.manifest.dedup.verify == "signature":
        schema = schema.append(pa.field("signature", pa.list_(pa.uint32(), plan.manifest.dedup.num_perm)))
    rows = read_bucket(plan.run, inputs, bucket, schema)
    all_pairs_up_to = VERIFY_ALL_PAIRS_UP_TO if plan.manifest.dedup.verify != "none" else 0
    src, dst, candidate_pairs = star_edges(
        rows.column("key").to_numpy(), rows.column("doc_id").to_numpy(), all_pairs_up_to
    )
    star = int(src.size)
    if plan.manifest.dedup.verify == "signature" and src.size:
        keep = _verified(plan, rows, src, dst)
        src, dst = src[keep], dst[keep]
    name = f"{bucket:05d}"
    path = plan.step_path("edges", name, ".arrow")
    if plan.manifest.dedup.verify == "exact":
        write_routed(plan.run, path, _table(src=src, dst=dst), plan.partition_index(dst), len(plan.partitions))
    else:
        if plan.manifest.dedup.mode == "threshold":
            pairs = _table(src=src, dst=dst)
            write_routed(
                plan.run,
                plan.step_path("pairs", name, ".arrow"),
                pairs,
                plan.partition_index(src),
                len(plan.partitions),
            )
        keys, others = large_star_rows(src, dst)
        write_routed(plan.run, path, _table(key=keys, other=others), bucket_of(keys, plan.buckets), plan.buckets)
    summary = {
        "band_rows": rows.num_rows,
        "candidate_pairs": candidate_pairs,
        "star_edges": star,
        "edges": int(src.size),
    }
    plan.run.write_json(plan.step_path("edges", name, ".json"), summary)
    return summary


def _texts(plan: DedupPlan, index: int, doc_ids: np.ndarray) -> pa.ChunkedArray:
    """The texts of `doc_ids` (all in partition `index`), in that order; reads only their rows' row groups."""
    wanted = np.unique(doc_ids)
    docs = pq.read_table(
        plan.run.path(plan.docs_path(plan.partitions[index].partition)),
        columns=["doc_id", "text"],
        filesystem=plan.run.filesystem,
        filters=pc.field("doc_id").isin(pa.array(wanted)),
    ).sort_by("doc_id")
    found = docs.column("doc_id").to_numpy()
    if not np.array_equal(found, wanted):
        raise RuntimeError(f"partition {plan.partitions[index].partition} lacks documents that edges name")
    return docs.column("text").cast(pa.large_string()).take(pa.array(np.searchsorted(found, doc_ids)))


@phase_task
def _targets_task(plan: DedupPlan, index: int) -> dict:
    """Distinct candidate edges whose `dst` is in this partition, with `dst`'s text, routed to `src`'s partition."""
    part = plan.partitions[index]
    inputs = [plan.step_path("edges", f"{k:05d}", ".arrow") for k in range(plan.buckets)]
    edges = read_bucket(plan.run, inputs, index, PAIR_SCHEMA)
    pairs = np.stack([edges.column("src").to_numpy(), edges.column("dst").to_numpy()], axis=1)
    pairs, repeats = np.unique(pairs, axis=0, return_counts=True)
    src, dst = pairs[:, 0], pairs[:, 1]
    table = pa.table(
        {"src": src, "dst": dst, "repeats": repeats.astype(np.int64), "dst_text": _texts(plan, index, dst)},
        schema=TARGET_SCHEMA,
    )
    write_routed(
        plan.run,
        plan.step_path("targets", part.partition, ".arrow"),
        table,
        plan.partition_index(src),
        len(plan.partitions),
    )
    summary = {"pairs": int(src.size)}
    plan.run.write_json(plan.step_path("targets", part.partition, ".json"), summary)
    return summary


@phase_task
def _verify_task(plan: DedupPlan, index: int) -> dict:
    """Candidate edges whose `src` is in this partition and whose exact shingle Jaccard reaches the threshold,
    as large-star rows routed to key buckets (the first components round's input)."""
    part = plan.partitions[index]
    dedup = plan.manifest.dedup
    inputs = [plan.step_path("targets", p.partition, ".arrow") for p in plan.partitions]
    rows = read_bucket(plan.run, inputs, index, TARGET_SCHEMA)
    src, dst = rows.column("src").to_numpy(), rows.column("dst").to_numpy()
    repeats = rows.column("repeats").to_numpy()
    src_ids, src_index = np.unique(src, return_inverse=True)
    _, dst_first, dst_index = np.unique(dst, return_index=True, return_inverse=True)
    texts = _texts(plan, index, src_ids).to_pylist() + rows.column("dst_text").take(dst_first).to_pylist()
    keep = exact_pairs_pass(texts, src_index, src_ids.size + dst_index, dedup.threshold, dedup.shingle, dedup.ngram)
    if dedup.mode == "threshold":
        pairs = _table(src=src[keep], dst=dst[keep])
        write_routed(
            plan.run, plan.step_path("pairs", part.partition, ".arrow"), pairs, np.zeros(pairs.num_rows, np.int64), 1
        )
    keys, others = large_star_rows(src[keep], dst[keep])
    write_routed(
        plan.run,
        plan.step_path("verify", part.partition, ".arrow"),
        _table(key=keys, other=others),
        bucket_of(keys, plan.buckets),
        plan.buckets,
    )
    summary = {
        "pairs": int(src.size),
        "pairs_kept": int(keep.sum()),
        "star_edges": int(repeats.sum()),
        "edges": int(repeats[keep].sum()),
    }
    plan.run.write_json(plan.step_path("verify", part.partition, ".json"), summary)
    return summary


@phase_task
def _round_task(plan: DedupPlan, step: str, inputs: list[str], kind: str, bucket: int) -> dict:
    rows = read_bucket(plan.run, inputs, bucket, EDGE_SCHEMA)
    keys, others = rows.column("key").to_numpy(), rows.column("other").to_numpy()
    name = f"{bucket:05d}"
    if kind == "large":
        a, b, final = large_star(keys, others)
        next_keys, next_others = small_star_rows(a, b)
    else:
        a, b = small_star(keys, others)
        final = False
        next_keys, next_others = large_star_rows(a, b)
    write_routed(
        plan.run,
        plan.step_path(step, name, ".arrow"),
        _table(key=next_keys, other=next_others),
        bucket_of(next_keys, plan.buckets),
        plan.buckets,
    )
    summary = {"final": final, "edges": int(a.size)}
    plan.run.write_json(plan.step_path(step, name, ".json"), summary)
    return summary


@phase_task
def _labels_task(plan: DedupPlan, inputs: list[str], bucket: int) -> dict:
    """From the final large-star's output, (node, component minimum) routed by node: (doc, cluster) rows
    for every node and every minimum, routed to the document's partition (minima may repeat)."""
    rows = read_bucket(plan.run, inputs, bucket, EDGE_SCHEMA)
    nodes, minima = rows.column("key").to_numpy(), rows.column("other").to_numpy()
    doc_ids, clusters = component_labels(nodes, minima)
    name = f"{bucket:05d}"
    write_routed(
        plan.run,
        plan.step_path("labels", name, ".arrow"),
        _table(doc_id=doc_ids, cluster_id=clusters),
        plan.partition_index(doc_ids),
        len(plan.partitions),
    )
    summary = {"nodes": int(nodes.size), "components": int(doc_ids.size - nodes.size)}
    plan.run.write_json(plan.step_path("labels", name, ".json"), summary)
    return summary


def _pair_files(plan: DedupPlan, index: int) -> list[str]:
    """The files holding, in batch `index`, the verified edges whose `src` is in partition `index` (threshold mode)."""
    if plan.manifest.dedup.verify == "exact":
        return [plan.step_path("pairs", plan.partitions[index].partition, ".arrow")]
    return [plan.step_path("pairs", f"{k:05d}", ".arrow") for k in range(plan.buckets)]


@phase_task
def _members_task(plan: DedupPlan, index: int) -> dict:
    part = plan.partitions[index]
    buckets = range(plan.buckets)
    label_files = [plan.step_path("labels", f"{k:05d}", ".arrow") for k in buckets]
    schema = pa.schema([("doc_id", pa.int64()), ("cluster_id", pa.int64())])
    labels = read_bucket(plan.run, label_files, index, schema)
    doc_ids, first = _distinct(labels.column("doc_id").to_numpy())
    components = labels.column("cluster_id").to_numpy()[first]
    copies = read_bucket(
        plan.run, [plan.step_path("copies", f"{k:05d}", ".arrow") for k in buckets], index, PAIR_SCHEMA
    )
    copy_of = np.full(doc_ids.size, -1, dtype=np.int64)
    copy_of[np.searchsorted(doc_ids, copies.column("src").to_numpy())] = copies.column("dst").to_numpy()
    docs = plan.run.read_parquet(
        plan.docs_path(part.partition), columns=["doc_id", "source", "line", "pile_set_name", "text"]
    )
    position = np.searchsorted(docs.column("doc_id").to_numpy(), doc_ids)
    members = docs.take(pa.array(position))
    table = pa.table(
        {
            "doc_id": doc_ids,
            "component_id": components,
            "source": members.column("source"),
            "line": members.column("line"),
            "pile_set_name": members.column("pile_set_name"),
            "bytes": pc.binary_length(pc.cast(members.column("text"), pa.binary())).cast(pa.int64()),
            "rank": plan.manifest.dedup.priority_ranks(members.column("pile_set_name").to_pylist()),
            "holdout": np.full(doc_ids.size, part.holdout),
            "copy_of": copy_of,
        },
        schema=MEMBER_SCHEMA,
    )
    routed = bucket_of(components, plan.buckets)
    write_routed(plan.run, plan.step_path("members", part.partition, ".arrow"), table, routed, plan.buckets)
    summary = {"members": int(doc_ids.size)}
    if plan.manifest.dedup.mode == "threshold":
        pairs = read_bucket(
            plan.run, _pair_files(plan, index), 0 if plan.manifest.dedup.verify == "exact" else index, PAIR_SCHEMA
        )
        src = pairs.column("src").to_numpy()
        edge_components = components[np.searchsorted(doc_ids, src)] if src.size else src
        edges = pa.table(
            {"component_id": edge_components, "src": src, "dst": pairs.column("dst").to_numpy()},
            schema=MEMBER_EDGE_SCHEMA,
        )
        write_routed(
            plan.run,
            plan.step_path("member-edges", part.partition, ".arrow"),
            edges,
            bucket_of(edge_components, plan.buckets),
            plan.buckets,
        )
        summary["edges"] = int(src.size)
    plan.run.write_json(plan.step_path("members", part.partition, ".json"), summary)
    return summary


def _largest_components(components: np.ndarray, kept: np.ndarray) -> list[dict]:
    """The LARGEST_COMPONENTS largest components as {component_id, size, kept}, largest first (ties: smaller id)."""
    if components.size == 0:
        return []
    ids, sizes = np.unique(components, return_counts=True)
    kept_counts = np.bincount(np.searchsorted(ids, components[kept]), minlength=ids.size)
    order = np.lexsort((ids, -sizes))[:LARGEST_COMPONENTS]
    return [{"component_id": int(ids[i]), "size": int(sizes[i]), "kept": int(kept_counts[i])} for i in order]


@phase_task
def _keep_task(plan: DedupPlan, bucket: int) -> dict:
    dedup = plan.manifest.dedup
    inputs = [plan.step_path("members", p.partition, ".arrow") for p in plan.partitions]
    members = read_bucket(plan.run, inputs, bucket, MEMBER_SCHEMA)
    components = members.column("component_id").to_numpy()
    doc_ids = members.column("doc_id").to_numpy()
    copy_of = members.column("copy_of").to_numpy()
    edges = MEMBER_EDGE_SCHEMA.empty_table()
    if dedup.mode == "threshold":
        edge_files = [plan.step_path("member-edges", p.partition, ".arrow") for p in plan.partitions]
        edges = read_bucket(plan.run, edge_files, bucket, MEMBER_EDGE_SCHEMA)
    decision = keep_with_copies(
        dedup.mode,
        components,
        doc_ids,
        members.column("rank").to_numpy(),
        members.column("holdout").to_numpy(),
        copy_of,
        edges.column("src").to_numpy(),
        edges.column("dst").to_numpy(),
    )
    by_id = np.argsort(doc_ids)
    keeper_rows = by_id[np.searchsorted(doc_ids[by_id], decision.keeper)] if doc_ids.size else by_id
    table = members.append_column("kept", pa.array(decision.kept)).append_column(
        "contaminated", pa.array(decision.contaminated)
    )
    table = table.append_column("exact", pa.array(copy_of >= 0))
    table = table.append_column("cluster_id", pa.array(decision.keeper, pa.int64()))
    table = table.append_column(
        "kept_pile_set_name", members.column("pile_set_name").take(pa.array(keeper_rows, pa.int64()))
    )
    name = f"{bucket:05d}"
    write_routed(
        plan.run, plan.step_path("keep", name, ".arrow"), table, plan.partition_index(doc_ids), len(plan.partitions)
    )
    summary = {
        "members": int(doc_ids.size),
        "kept": int(decision.kept.sum()),
        "cluster_sizes": {str(k): v for k, v in sorted(cluster_size_histogram(components).items())},
        "largest_components": _largest_components(components, decision.kept),
    }
    plan.run.write_json(plan.step_path("keep", name, ".json"), summary)
    return summary


@phase_task
def _clusters_task(plan: DedupPlan, index: int) -> dict:
    part = plan.partitions[index]
    inputs = [plan.step_path("keep", f"{k:05d}", ".arrow") for k in range(plan.buckets)]
    table = read_bucket(plan.run, inputs, index, KEPT_SCHEMA).sort_by("doc_id")
    plan.run.write_parquet(plan.step_path("clusters", part.partition, ".parquet"), table)
    removed = table.filter(pc.invert(table.column("kept")))
    by_set: dict[str, Counter] = {}
    cross: Counter = Counter()
    for name, kept_name, size, contaminated, exact in zip(
        removed.column("pile_set_name").to_pylist(),
        removed.column("kept_pile_set_name").to_pylist(),
        removed.column("bytes").to_pylist(),
        removed.column("contaminated").to_pylist(),
        removed.column("exact").to_pylist(),
    ):
        counts = by_set.setdefault(name, Counter())
        keys = ["contaminated"] if contaminated else ["duplicates", "exact" if exact else "near"]
        for key in keys:
            counts[key] += 1
            counts[f"{key}_bytes"] += size
        if not contaminated:
            cross[f"{name}\t{kept_name}"] += 1
    summary = ClustersSummary(
        members=table.num_rows,
        duplicates=int(sum(c["duplicates"] for c in by_set.values())),
        contaminated=int(sum(c["contaminated"] for c in by_set.values())),
        by_set=sorted_counts(by_set),
        cross_set=dict(sorted(cross.items())),
    ).to_json()
    plan.run.write_json(plan.step_path("clusters", part.partition, ".json"), summary)
    return summary


@dataclass(frozen=True)
class DedupResult:
    """Per-partition cluster summaries (same order as the plan's partitions) and global statistics.

    `edges` are the edges step's summaries (per bucket); `verified` the exact verification's (per
    partition, empty unless `verify: exact`), whose `edges` are then the ones the components start from.
    """

    partitions: list[ClustersSummary]
    edges: list[dict]
    rounds: int
    keep: list[dict]
    verified: list[dict]
    exact: list[dict]

    @property
    def component_edges(self) -> int:
        """Edges the connected components started from (repeats across band buckets counted)."""
        return sum(e["edges"] for e in (self.verified if self.verified else self.edges))


def run_dedup_phase(plan: DedupPlan, in_flight: InFlightLimit, progress: Progress) -> DedupResult:
    """Run every dedup step; finished steps of an interrupted run are reused."""
    run = plan.run
    parts = list(range(len(plan.partitions)))
    buckets = list(range(plan.buckets))

    def step(remote, items, summary, args, phase):
        unit = "partitions" if items is parts else "buckets"
        return map_items(run, remote, items, summary, args, in_flight, progress, phase, unit)

    def name(k: int) -> str:
        return f"{k:05d}"

    def part_name(i: int) -> str:
        return plan.partitions[i].partition

    def per_partition(remote, step_name: str, phase: str) -> list[dict]:
        return step(
            remote, parts, lambda i: plan.step_path(step_name, part_name(i), ".json"), lambda i: (plan, i), phase
        )

    def per_bucket(remote, step_name: str, phase: str) -> list[dict]:
        return step(remote, buckets, lambda k: plan.step_path(step_name, name(k), ".json"), lambda k: (plan, k), phase)

    per_partition(_bands_task, "bands", "dedup: band keys")
    exact = per_bucket(_exact_task, "exact", "dedup: exact copies")
    edges = per_bucket(_edges_task, "edges", "dedup: candidate edges")
    inputs = [plan.step_path("edges", name(k), ".arrow") for k in buckets]
    verified: list[dict] = []
    if plan.manifest.dedup.verify == "exact":
        per_partition(_targets_task, "targets", "dedup: verify, edge targets")
        verified = per_partition(_verify_task, "verify", "dedup: verify, exact Jaccard")
        inputs = [plan.step_path("verify", part_name(i), ".arrow") for i in parts]
    inputs += [plan.step_path("exact", name(k), ".arrow") for k in buckets]
    rounds = 0
    while True:
        if rounds >= MAX_ROUNDS:
            raise RuntimeError(f"connected components did not converge in {MAX_ROUNDS} rounds")
        kind = "large" if rounds % 2 == 0 else "small"
        label = f"cc-{rounds:03d}-{kind}"
        results = step(
            _round_task,
            buckets,
            lambda k, label=label: plan.step_path(label, name(k), ".json"),
            lambda k, label=label, inputs=inputs, kind=kind: (plan, label, inputs, kind, k),
            f"dedup: components round {rounds + 1} ({kind}-star)",
        )
        inputs = [plan.step_path(label, name(k), ".arrow") for k in buckets]
        rounds += 1
        if kind == "large" and all(r["final"] for r in results):
            break
    step(
        _labels_task,
        buckets,
        lambda k: plan.step_path("labels", name(k), ".json"),
        lambda k: (plan, inputs, k),
        "dedup: labels",
    )
    per_partition(_members_task, "members", "dedup: members")
    keep = per_bucket(_keep_task, "keep", "dedup: keep rule")
    clusters = per_partition(_clusters_task, "clusters", "dedup: clusters")
    return DedupResult([ClustersSummary.from_json(c) for c in clusters], edges, rounds, keep, verified, exact)


def make_plan(
    run: RunDirectory,
    prepare_dir: str,
    work_dir: str,
    partitions: list[PartitionRef],
    total_docs: int,
    manifest: Manifest,
    buckets: int | None = None,
    params: LshParams | None = None,
) -> DedupPlan:
    """Fix K (`bucket_count` unless given) and the banding (`lsh_params` unless given); K is in `work_dir`'s name."""
    params = params or lsh_params(manifest.dedup)
    buckets = buckets or bucket_count(total_docs, params.bands)
    return DedupPlan(run, prepare_dir, dedup_work_dir(work_dir, buckets), buckets, params, tuple(partitions), manifest)


def write_dedup_outputs(plan: DedupPlan, result: DedupResult, docs_by_set: dict[str, int]) -> dict:
    """Write `dedup/clusters.parquet` (partition order = doc_id order) and `stats/dedup.json`; return the stats."""
    run = plan.run
    with run.open_atomic(CLUSTERS) as stream:
        schema = KEPT_SCHEMA.remove(KEPT_SCHEMA.get_field_index("kept_pile_set_name"))
        schema = pa.schema([schema.field(name) for name in CLUSTER_COLUMNS])
        with StableParquetWriter(stream, schema) as writer:
            for part in plan.partitions:
                writer.write(
                    run.read_parquet(plan.step_path("clusters", part.partition, ".parquet"), columns=CLUSTER_COLUMNS)
                )
    by_set = merge_by_set(result.partitions)
    cross = merge_counts(summary.cross_set for summary in result.partitions)
    cluster_sizes: Counter = Counter()
    largest: list[dict] = []
    for summary in result.keep:
        cluster_sizes.update({int(size): count for size, count in summary["cluster_sizes"].items()})
        largest.extend(summary["largest_components"])
    largest = sorted(largest, key=lambda c: (-c["size"], c["component_id"]))[:LARGEST_COMPONENTS]
    exact_by_set = {
        name: {"documents": c["exact"], "bytes": c["exact_bytes"]} for name, c in sorted(by_set.items()) if c["exact"]
    }
    matrix: dict[str, dict[str, int]] = {}
    for pair, count in sorted(cross.items()):
        removed_set, kept_set = pair.split("\t")
        matrix.setdefault(removed_set, {})[kept_set] = count
    sets = sorted(set(docs_by_set) | set(by_set))
    stats = {
        "params": {
            **{k: v for k, v in plan.manifest.dedup.model_dump(mode="json").items() if k not in ("holdout", "enabled")},
            "bands": plan.lsh.bands,
            "rows": plan.lsh.rows,
            "banding": plan.lsh.source,
            "false_positive": plan.lsh.false_positive,
            "false_negative": plan.lsh.false_negative,
            "recall_at_threshold": plan.lsh.recall_at_threshold,
            "mean_recall_above": plan.lsh.mean_recall_above,
            "holdout_files": len({parse_partition_id(p.partition)[0] for p in plan.partitions if p.holdout}),
        },
        "buckets": plan.buckets,
        "components_rounds": result.rounds,
        "candidate_pairs": sum(e["candidate_pairs"] for e in result.edges),
        "star_edges": sum(e["star_edges"] for e in result.edges),
        "edges": result.component_edges,
        "components": sum(cluster_sizes.values()),
        "documents_in_components": sum(size * count for size, count in cluster_sizes.items()),
        "duplicates": sum(c["duplicates"] for c in by_set.values()),
        "duplicates_bytes": sum(c["duplicates_bytes"] for c in by_set.values()),
        "exact": {
            "documents": sum(c["exact"] for c in by_set.values()),
            "bytes": sum(c["exact_bytes"] for c in by_set.values()),
            "copies": sum(e["copies"] for e in result.exact),
            "by_set": exact_by_set,
        },
        "near": {
            "documents": sum(c["near"] for c in by_set.values()),
            "bytes": sum(c["near_bytes"] for c in by_set.values()),
        },
        "contaminated": sum(c["contaminated"] for c in by_set.values()),
        "contaminated_bytes": sum(c["contaminated_bytes"] for c in by_set.values()),
        "by_set": {
            name: {
                "documents": docs_by_set.get(name, 0),
                "duplicates": by_set.get(name, Counter())["duplicates"],
                "duplicates_bytes": by_set.get(name, Counter())["duplicates_bytes"],
                "exact": by_set.get(name, Counter())["exact"],
                "near": by_set.get(name, Counter())["near"],
                "contaminated": by_set.get(name, Counter())["contaminated"],
                "contaminated_bytes": by_set.get(name, Counter())["contaminated_bytes"],
            }
            for name in sets
        },
        "cross_set": matrix,
        "cluster_sizes": {str(size): count for size, count in sorted(cluster_sizes.items())},
        "largest_components": largest,
        "kept_in_components": sum(k["kept"] for k in result.keep),
    }
    run.write_json(DEDUP_STATS, stats)
    return stats
