"""Global MinHash-LSH deduplication on Ray, every step distributed and resumable.

Work is cut two ways, neither of them the prepared partitions: *groups* (consecutive partitions up to
GROUP_DOCS documents or GROUP_BYTES bytes) send the per-document rows, and *slot runs* (contiguous
runs of the exchanges' K slots, `pipeline.phases.exchange`) receive them. Ids route by `bucket_of`
into K slots; doc-range slots (`doc`) hold whole partitions spread evenly in doc_id order, so a slot
run's documents lie in consecutive partitions.

    bands      per group: MinHash signatures and band keys (`bands`, by key), the texts' 128-bit
               hashes (`exact-rows`, by hash) and each document's set and bytes (`meta`, by doc_id)
    exact      per slot run: exact copies with their group's representative (`stages.exact_copies`),
               as component edges (`exact`, by key) and as pairs (`copies`, by the copy)
    edges      per slot run: star edges to each band group's smallest doc_id (with `verify`: all pairs
               of groups of at most VERIFY_ALL_PAIRS_UP_TO documents; optionally verified), as component
               edges (`edges`, by key) and in `threshold` mode as `pairs` (by src); with `verify: exact`
               as `candidates` by the doc range of `dst`
    targets    verify: exact only; per doc-range run: distinct candidates with `dst`'s text (`targets`,
               by the doc range of `src`)
    verify     verify: exact only; per doc-range run: candidates whose exact shingle Jaccard reaches the
               threshold (`verify`, by key; `pairs`, by src)
    cc-NNN     per slot run, alternating large-star / small-star rounds until the edges are stars
    labels     per slot run: (doc, component minimum) for every node and every minimum (`labels`, by doc)
    members    per slot run: labels joined with `meta` and `copies` (and `pairs`, as `member-edges`),
               routed to the component's slot (`members`, `member-edges`)
    keep       per slot run: the keep rule over whole components (`stages.clustering.keep_with_copies`),
               routed to the doc range of each member (`keep`)
    clusters   per doc-range run: its members with `cluster_id` (the doc_id kept for it), `component_id`,
               `kept` and `exact`, one Parquet file and one summary per partition it holds

In `threshold` mode the verified edges (`pairs`) go with their component to the keep step, which
removes a member only for a kept document it shares a verified edge with. Every task writes its files,
then a JSON summary (with its exchange `io`), last; no process holds all signatures or all edges, and
the driver holds per-partition and per-task summaries only. A component's `cluster_id` is its smallest
doc_id. No output depends on the groups, K or the slot runs.

`verify: exact` checks each distinct candidate once: the doc-range run of `dst` attaches its text, the
run of `src` reads its own text and computes the exact shingle Jaccard; counts keep an edge's repeats.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import ray

from pipeline.formats.parquet_stream import StableParquetWriter
from pipeline.formats.run_directory import RunDirectory
from pipeline.formats.run_layout import CLUSTERS, DEDUP_STATS, dedup_work_dir, docs_path, parse_partition_id
from pipeline.formats.segment_files import ExchangeIO, IOLedger
from pipeline.manifest import Manifest
from pipeline.phases.exchange import (
    FAN_OUT,
    Exchange,
    Levels,
    plan_levels,
    receive,
    relay_items,
    relay_summary_path,
    relay_task,
    send,
)
from pipeline.runtime.progress import Progress
from pipeline.runtime.ray_session import InFlightLimit
from pipeline.runtime.task_map import map_items
from pipeline.runtime.task_resources import phase_task
from pipeline.summaries import ClustersSummary, merge_by_set, merge_counts, sorted_counts
from stages.batch import LINE_BITS
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
"""Band rows a receiving task takes at most (about): the slot runs are ⌈rows / this⌉, at least MIN_TASKS."""
MIN_TASKS = 2
"""Two, so that two cores share even a small corpus's steps: each receiving task costs a few hundredths of a
second even when it has nothing to do (eight of them cost a one-core run of 110 MB ~0.5 s of its ~3 s dedup)."""
GROUP_DOCS = 100_000
"""Documents a sending (band keys) task takes at most, in whole partitions; GROUP_BYTES bounds their bytes."""
GROUP_BYTES = 256_000_000
MAX_ROUNDS = 64
EXCHANGES_FILE = "exchanges.json"
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
META_SCHEMA = pa.schema(
    [("doc_id", pa.int64()), ("pile_set_name", pa.dictionary(pa.int32(), pa.string())), ("bytes", pa.int64())]
)
LABEL_SCHEMA = pa.schema([("doc_id", pa.int64()), ("cluster_id", pa.int64())])
MEMBER_EDGE_SCHEMA = pa.schema([("component_id", pa.int64()), ("src", pa.int64()), ("dst", pa.int64())])
TARGET_SCHEMA = pa.schema(
    [("src", pa.int64()), ("dst", pa.int64()), ("repeats", pa.int64()), ("dst_text", pa.large_string())]
)
MEMBER_SCHEMA = pa.schema(
    [
        ("doc_id", pa.int64()),
        ("component_id", pa.int64()),
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
CLUSTERS_SCHEMA = pa.schema(
    [
        ("doc_id", pa.int64()),
        ("source", pa.string()),
        ("line", pa.int64()),
        ("pile_set_name", pa.string()),
        ("cluster_id", pa.int64()),
        ("component_id", pa.int64()),
        ("kept", pa.bool_()),
        ("contaminated", pa.bool_()),
        ("exact", pa.bool_()),
    ]
)
"""`dedup/clusters.parquet`: one row per component member, in doc_id order."""
CLUSTER_COLUMNS = CLUSTERS_SCHEMA.names

BANDS = Exchange("bands", BAND_SCHEMA, "key")
EXACT_ROWS = Exchange("exact-rows", EXACT_ROW_SCHEMA, "hash_hi")
META = Exchange("meta", META_SCHEMA, "doc_id")
EXACT = Exchange("exact", EDGE_SCHEMA, "key")
COPIES = Exchange("copies", PAIR_SCHEMA, "src")
EDGES = Exchange("edges", EDGE_SCHEMA, "key")
CANDIDATES = Exchange("candidates", PAIR_SCHEMA, "dst", by="doc")
TARGETS = Exchange("targets", TARGET_SCHEMA, "src", by="doc")
VERIFIED = Exchange("verify", EDGE_SCHEMA, "key")
PAIRS = Exchange("pairs", PAIR_SCHEMA, "src")
LABELS = Exchange("labels", LABEL_SCHEMA, "doc_id")
MEMBERS = Exchange("members", MEMBER_SCHEMA, "component_id")
MEMBER_EDGES = Exchange("member-edges", MEMBER_EDGE_SCHEMA, "component_id")
KEEP = Exchange("keep", KEPT_SCHEMA, "doc_id", by="doc")


def round_exchange(label: str) -> Exchange:
    """The exchange a components round writes (`cc-NNN-kind`)."""
    return Exchange(label, EDGE_SCHEMA, "key")


@dataclass(frozen=True)
class PartitionRef:
    """What the dedup phase needs to know of a prepared partition: its first doc_id, documents and bytes
    (to form groups), whether it is holdout, and its input file's `source` (for the clusters table)."""

    partition: str
    first_doc_id: int
    holdout: bool
    docs: int
    bytes: int
    source: str


def group_partitions(partitions: list[PartitionRef], max_docs: int, max_bytes: int) -> tuple[tuple[int, int], ...]:
    """Consecutive partitions as [start, stop) groups of at most `max_docs` documents and `max_bytes` bytes
    (a partition over either bound is a group of its own); empty partitions join their neighbours."""
    groups = []
    start, docs, size = 0, 0, 0
    for index, part in enumerate(partitions):
        if index > start and (docs + part.docs > max_docs or size + part.bytes > max_bytes):
            groups.append((start, index))
            start, docs, size = index, 0, 0
        docs += part.docs
        size += part.bytes
    if partitions:
        groups.append((start, len(partitions)))
    return tuple(groups)


@dataclass(frozen=True)
class DedupPlan:
    """Where a dedup run writes, and its fixed parameters: the exchanges' levels (K slots in slot runs),
    the banding, the partitions and their groups."""

    run: RunDirectory
    prepare_dir: str
    work_dir: str
    levels: Levels
    lsh: LshParams
    partitions: tuple[PartitionRef, ...]
    groups: tuple[tuple[int, int], ...]
    manifest: Manifest

    @property
    def buckets(self) -> int:
        """K, the exchanges' slot count."""
        return self.levels.slots

    def partition_index(self, doc_ids: np.ndarray) -> np.ndarray:
        """The index in `partitions` of the partition holding each doc_id."""
        return np.searchsorted(self._partition_starts, doc_ids, side="right") - 1

    @cached_property
    def _partition_starts(self) -> np.ndarray:
        """Each partition's first doc_id, built once per plan object: `partition_index` runs for every table a
        task sends (20,000 partitions at the Pile's shape)."""
        return np.array([p.first_doc_id for p in self.partitions], dtype=np.int64)

    def __getstate__(self) -> dict:
        """What a task receives: the plan without the cache (each process builds its own on first use)."""
        return {key: value for key, value in self.__dict__.items() if key != "_partition_starts"}

    def doc_slot_of_partition(self, partitions: np.ndarray) -> np.ndarray:
        """Doc-range slot of each partition index: partitions spread over the K slots in doc_id order, so
        every slot holds whole partitions and, from K partitions on, every slot holds some."""
        return np.asarray(partitions, dtype=np.int64) * self.buckets // max(1, len(self.partitions))

    def slots(self, exchange: Exchange, table: pa.Table) -> np.ndarray:
        """The slot in [0, K) of each row of `table` in `exchange`."""
        values = table.column(exchange.column).to_numpy()
        if exchange.by == "hash":
            return bucket_of(values, self.buckets)
        return self.doc_slot_of_partition(self.partition_index(values))

    def partitions_in(self, first: int, stop: int) -> list[int]:
        """The partitions whose doc-range slot lies in [first, stop), in doc_id order."""
        slots = self.doc_slot_of_partition(np.arange(len(self.partitions)))
        return np.flatnonzero((slots >= first) & (slots < stop)).tolist()

    @property
    def exchanges_path(self) -> str:
        """Per exchange: senders, receivers, pieces, files, requests and bytes. Not an output: it depends on
        the partitions (their groups send), which no output may."""
        return f"{self.work_dir}/{EXCHANGES_FILE}"

    def docs_path(self, partition: str) -> str:
        return docs_path(self.prepare_dir, partition)

    def step_path(self, step: str, name: str, suffix: str) -> str:
        return f"{self.work_dir}/{step}/{name}{suffix}"


def task_count(total_docs: int, bands: int) -> int:
    """Slot runs of every receiving step: enough that each holds about `ROWS_PER_BUCKET` band rows, at
    least `MIN_TASKS`. From the data alone, never the CPU count; results do not depend on it in any case."""
    return max(MIN_TASKS, math.ceil(total_docs * bands / ROWS_PER_BUCKET))


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


def _finish(plan: DedupPlan, step: str, name: str, summary: dict, ledger: IOLedger) -> dict:
    """Write a task's summary (its exchange io included) last, and return it."""
    summary["io"] = ledger.to_json()
    plan.run.write_json(plan.step_path(step, name, ".json"), summary)
    return summary


def _name(index: int) -> str:
    return f"{index:05d}"


def _once_per_text(compute: Callable[[pa.ChunkedArray], np.ndarray], texts: pa.ChunkedArray, hashes) -> np.ndarray:
    """`compute(texts)` (band keys, or signatures: a row per document), computed once per distinct text of the
    partition: documents with equal 128-bit text hashes share a row (equal texts have equal signatures). Real
    text repeats whole documents, licences above all: 2-18% of each real-text partition's bytes (8% on
    average). One partition at a time: remembering a task's earlier partitions finds twice as many on real text,
    but keeping that memory sorted grew with the partitions of a group (+30% band keys at 2,000 partitions)."""
    words = np.ascontiguousarray(hash_words(hashes)).view([("high", "<u8"), ("low", "<u8")]).ravel()
    _, first, inverse = np.unique(words, return_index=True, return_inverse=True)
    if first.size == len(texts):
        return compute(texts)
    return compute(texts.take(pa.array(first)))[inverse]


@phase_task
def _bands_task(plan: DedupPlan, group: int) -> dict:
    """Band keys, exact-copy rows and per-document metadata of one group's documents, one partition at a time."""
    dedup = plan.manifest.dedup
    bands, exact_rows, meta = [], [], []
    docs_total = text_bytes = 0
    start, stop = plan.groups[group]
    b, r = plan.lsh.bands, plan.lsh.rows

    def compute(texts: pa.ChunkedArray) -> np.ndarray:
        if dedup.verify == "signature":
            return signatures(texts, dedup)
        return band_keys(signatures(texts, dedup, columns=b * r), b, r)  # the keys alone, from the values they read

    for part in plan.partitions[start:stop]:
        columns = ["doc_id", "text", "text_hash", "pile_set_name"]
        docs = plan.run.read_parquet(plan.docs_path(part.partition), columns=columns)
        n = docs.num_rows
        doc_ids = docs.column("doc_id").to_numpy()
        values = _once_per_text(compute, docs.column("text"), docs.column("text_hash"))
        keys = band_keys(values, b, r) if dedup.verify == "signature" else values
        rows = _table(key=keys.reshape(-1), doc_id=np.repeat(doc_ids, b))
        if dedup.verify == "signature":
            flat = pa.array(np.repeat(values, b, axis=0).reshape(-1))
            rows = rows.append_column("signature", pa.FixedSizeListArray.from_arrays(flat, dedup.num_perm))
        bands.append(rows)
        words = hash_words(docs.column("text_hash"))
        names = docs.column("pile_set_name")
        exact_rows.append(
            pa.table(
                {
                    "hash_hi": words[:, 0],
                    "hash_lo": words[:, 1],
                    "doc_id": doc_ids,
                    "rank": dedup.priority_ranks(names.to_pylist()),
                    "holdout": np.full(n, part.holdout),
                },
                schema=EXACT_ROW_SCHEMA,
            )
        )
        sizes = pc.binary_length(pc.cast(docs.column("text"), pa.binary())).cast(pa.int64())
        meta.append(
            pa.table(
                {"doc_id": doc_ids, "pile_set_name": pc.dictionary_encode(names.cast(pa.string())), "bytes": sizes},
                schema=META_SCHEMA,
            )
        )
        docs_total += n
        text_bytes += int(pc.sum(sizes).as_py() or 0)
    ledger = IOLedger()
    band_rows = pa.concat_tables(bands)
    send(plan, BANDS, group, band_rows, ledger)
    send(plan, EXACT_ROWS, group, pa.concat_tables(exact_rows), ledger)
    send(plan, META, group, pa.concat_tables(meta).unify_dictionaries(), ledger)
    summary = {"docs": docs_total, "bytes": text_bytes, "rows": band_rows.num_rows}
    return _finish(plan, "bands", _name(group), summary, ledger)


def _senders(plan: DedupPlan, step: str) -> int:
    """How many tasks send in the exchanges `step` writes: its groups (band keys) or slot runs (any other)."""
    return len(plan.groups) if step == "bands" else len(plan.levels.slot_tasks)


@phase_task
def _exact_task(plan: DedupPlan, task: int) -> dict:
    """Exact copies among the documents whose text hash falls in this slot run."""
    ledger = IOLedger()
    rows = receive(plan, [(EXACT_ROWS, _senders(plan, "bands"))], *plan.levels.slot_tasks[task], ledger)
    words = np.stack([rows.column("hash_hi").to_numpy(), rows.column("hash_lo").to_numpy()], axis=1)
    copies = copy_pairs(
        words, rows.column("doc_id").to_numpy(), rows.column("rank").to_numpy(), rows.column("holdout").to_numpy()
    )
    keys, others = large_star_rows(copies.copy, copies.representative)
    send(plan, EXACT, task, _table(key=keys, other=others), ledger)
    send(plan, COPIES, task, _table(src=copies.copy, dst=copies.representative), ledger)
    summary = {"documents": rows.num_rows, "copies": int(copies.copy.size)}
    return _finish(plan, "exact", _name(task), summary, ledger)


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
def _edges_task(plan: DedupPlan, task: int) -> dict:
    dedup = plan.manifest.dedup
    bands = BANDS
    if dedup.verify == "signature":
        schema = BAND_SCHEMA.append(pa.field("signature", pa.list_(pa.uint32(), dedup.num_perm)))
        bands = Exchange(BANDS.name, schema, BANDS.column)
    ledger = IOLedger()
    rows = receive(plan, [(bands, _senders(plan, "bands"))], *plan.levels.slot_tasks[task], ledger)
    all_pairs_up_to = VERIFY_ALL_PAIRS_UP_TO if dedup.verify != "none" else 0
    src, dst, candidate_pairs = star_edges(
        rows.column("key").to_numpy(), rows.column("doc_id").to_numpy(), all_pairs_up_to
    )
    star = int(src.size)
    if dedup.verify == "signature" and src.size:
        keep = _verified(plan, rows, src, dst)
        src, dst = src[keep], dst[keep]
    if dedup.verify == "exact":
        send(plan, CANDIDATES, task, _table(src=src, dst=dst), ledger)
    else:
        if dedup.mode == "threshold":
            send(plan, PAIRS, task, _table(src=src, dst=dst), ledger)
        keys, others = large_star_rows(src, dst)
        send(plan, EDGES, task, _table(key=keys, other=others), ledger)
    summary = {
        "band_rows": rows.num_rows,
        "candidate_pairs": candidate_pairs,
        "star_edges": star,
        "edges": int(src.size),
    }
    return _finish(plan, "edges", _name(task), summary, ledger)


def _texts(plan: DedupPlan, doc_ids: np.ndarray) -> pa.ChunkedArray:
    """The texts of `doc_ids` (sorted and distinct, as both callers have them), in that order; reads only their
    partitions (each is one row group: a filtered read would decode as much, and `pq.read_table`'s dataset layer
    costs a process ~0.15 s of imports). Partitions hold ascending doc_id ranges, so their pieces come in order."""
    parts = plan.partition_index(doc_ids)
    texts = []
    for index in np.unique(parts).tolist():
        ids = doc_ids[parts == index]
        partition = plan.partitions[index].partition
        docs = plan.run.read_parquet(plan.docs_path(partition), columns=["doc_id", "text"])
        stored = docs.column("doc_id").to_numpy()
        order = np.argsort(stored, kind="stable")
        rows = order[np.minimum(np.searchsorted(stored, ids, sorter=order), max(stored.size - 1, 0))]
        if stored.size == 0 or not np.array_equal(stored[rows], ids):
            raise RuntimeError(f"partition {partition} lacks documents that edges name")
        texts.extend(docs.column("text").take(pa.array(rows)).cast(pa.large_string()).chunks)
    return pa.chunked_array(texts, pa.large_string())


@phase_task
def _targets_task(plan: DedupPlan, task: int) -> dict:
    """Distinct candidate edges whose `dst` lies in this doc-range run, routed by `src`, with `dst`'s text on the
    first edge each receiving run gets of that `dst` (null on the others: a text candidate in many pairs would
    otherwise travel once per pair, 60 MB instead of 12 on the real-text corpus)."""
    ledger = IOLedger()
    edges = receive(plan, [(CANDIDATES, _senders(plan, "edges"))], *plan.levels.slot_tasks[task], ledger)
    pairs = np.stack([edges.column("src").to_numpy(), edges.column("dst").to_numpy()], axis=1)
    pairs, repeats = np.unique(pairs.reshape(-1, 2), axis=0, return_counts=True)
    src, dst = pairs[:, 0], pairs[:, 1]
    table = pa.table({"src": src, "dst": dst, "repeats": repeats.astype(np.int64)})
    starts = np.array([first for first, _ in plan.levels.slot_tasks])
    receivers = np.searchsorted(starts, plan.slots(TARGETS, table), side="right") - 1
    _, carriers = np.unique(np.stack([receivers, dst], axis=1), axis=0, return_index=True)
    texts_of = np.unique(dst)
    which = np.full(dst.size, -1, dtype=np.int64)
    which[carriers] = np.searchsorted(texts_of, dst[carriers])
    texts = _texts(plan, texts_of).take(pa.array(which, mask=which < 0))
    send(plan, TARGETS, task, table.append_column(TARGET_SCHEMA.field("dst_text"), texts), ledger)
    return _finish(plan, "targets", _name(task), {"pairs": int(src.size)}, ledger)


@phase_task
def _verify_task(plan: DedupPlan, task: int) -> dict:
    """Candidate edges whose `src` lies in this doc-range run and whose exact shingle Jaccard reaches the
    threshold, as large-star rows (the first components round's input) and, in `threshold` mode, pairs."""
    dedup = plan.manifest.dedup
    ledger = IOLedger()
    rows = receive(plan, [(TARGETS, _senders(plan, "targets"))], *plan.levels.slot_tasks[task], ledger)
    src, dst = rows.column("src").to_numpy(), rows.column("dst").to_numpy()
    repeats = rows.column("repeats").to_numpy()
    src_ids, src_index = np.unique(src, return_inverse=True)
    dst_ids, dst_index = np.unique(dst, return_inverse=True)
    carriers = np.flatnonzero(rows.column("dst_text").is_valid().to_numpy(zero_copy_only=False))
    carried, first = np.unique(dst[carriers], return_index=True)
    if not np.array_equal(carried, dst_ids):
        raise RuntimeError(f"verify {task}: the targets exchange lacks the texts of {np.setdiff1d(dst_ids, carried)}")
    src_texts, dst_texts = _texts(plan, src_ids), rows.column("dst_text").take(pa.array(carriers[first]))
    texts = pa.chunked_array(src_texts.chunks + dst_texts.chunks, pa.large_string())
    keep = exact_pairs_pass(texts, src_index, src_ids.size + dst_index, dedup.threshold, dedup.shingle, dedup.ngram)
    if dedup.mode == "threshold":
        send(plan, PAIRS, task, _table(src=src[keep], dst=dst[keep]), ledger)
    keys, others = large_star_rows(src[keep], dst[keep])
    send(plan, VERIFIED, task, _table(key=keys, other=others), ledger)
    summary = {
        "pairs": int(src.size),
        "pairs_kept": int(keep.sum()),
        "star_edges": int(repeats.sum()),
        "edges": int(repeats[keep].sum()),
    }
    return _finish(plan, "verify", _name(task), summary, ledger)


@phase_task
def _round_task(plan: DedupPlan, step: str, sources: list[tuple[Exchange, int]], kind: str, task: int) -> dict:
    ledger = IOLedger()
    rows = receive(plan, sources, *plan.levels.slot_tasks[task], ledger)
    keys, others = rows.column("key").to_numpy(), rows.column("other").to_numpy()
    if kind == "large":
        a, b, final = large_star(keys, others)
        next_keys, next_others = small_star_rows(a, b)
    else:
        a, b = small_star(keys, others)
        final = False
        next_keys, next_others = large_star_rows(a, b)
    send(plan, round_exchange(step), task, _table(key=next_keys, other=next_others), ledger)
    return _finish(plan, step, _name(task), {"final": final, "edges": int(a.size)}, ledger)


@phase_task
def _labels_task(plan: DedupPlan, sources: list[tuple[Exchange, int]], task: int) -> dict:
    """From the final large-star's output, (node, component minimum) routed by node: (doc, cluster) rows
    for every node and every minimum, routed by the document (minima may repeat)."""
    ledger = IOLedger()
    rows = receive(plan, sources, *plan.levels.slot_tasks[task], ledger)
    nodes, minima = rows.column("key").to_numpy(), rows.column("other").to_numpy()
    doc_ids, clusters = component_labels(nodes, minima)
    send(plan, LABELS, task, _table(doc_id=doc_ids, cluster_id=clusters), ledger)
    summary = {"nodes": int(nodes.size), "components": int(doc_ids.size - nodes.size)}
    return _finish(plan, "labels", _name(task), summary, ledger)


@phase_task
def _members_task(plan: DedupPlan, task: int) -> dict:
    """Component members whose doc_id falls in this slot run, with their set, bytes, rank, holdout and exact
    copy's representative, routed to their component's slot; in `threshold` mode their verified edges too."""
    dedup = plan.manifest.dedup
    run_slots = plan.levels.slot_tasks[task]
    ledger = IOLedger()
    runs = len(plan.levels.slot_tasks)
    labels = receive(plan, [(LABELS, runs)], *run_slots, ledger)
    doc_ids, first = _distinct(labels.column("doc_id").to_numpy())
    components = labels.column("cluster_id").to_numpy()[first]
    meta = receive(plan, [(META, len(plan.groups))], *run_slots, ledger)
    meta_ids = meta.column("doc_id").to_numpy()
    order = np.argsort(meta_ids)
    position = order[np.searchsorted(meta_ids[order], doc_ids)] if doc_ids.size else order[:0]
    names = meta.column("pile_set_name").take(pa.array(position, pa.int64())).cast(pa.string())
    copies = receive(plan, [(COPIES, runs)], *run_slots, ledger)
    copy_of = np.full(doc_ids.size, -1, dtype=np.int64)
    copy_of[np.searchsorted(doc_ids, copies.column("src").to_numpy())] = copies.column("dst").to_numpy()
    holdout = np.array([p.holdout for p in plan.partitions], dtype=bool)[plan.partition_index(doc_ids)]
    table = pa.table(
        {
            "doc_id": doc_ids,
            "component_id": components,
            "pile_set_name": names,
            "bytes": meta.column("bytes").take(pa.array(position, pa.int64())),
            "rank": dedup.priority_ranks(names.to_pylist()),
            "holdout": holdout,
            "copy_of": copy_of,
        },
        schema=MEMBER_SCHEMA,
    )
    send(plan, MEMBERS, task, table, ledger)
    summary = {"members": int(doc_ids.size)}
    if dedup.mode == "threshold":
        pairs = receive(plan, [(PAIRS, _senders(plan, "pairs"))], *run_slots, ledger)
        src = pairs.column("src").to_numpy()
        edge_components = components[np.searchsorted(doc_ids, src)] if src.size else src
        edges = pa.table(
            {"component_id": edge_components, "src": src, "dst": pairs.column("dst").to_numpy()},
            schema=MEMBER_EDGE_SCHEMA,
        )
        send(plan, MEMBER_EDGES, task, edges, ledger)
        summary["edges"] = int(src.size)
    return _finish(plan, "members", _name(task), summary, ledger)


def _largest_components(components: np.ndarray, kept: np.ndarray) -> list[dict]:
    """The LARGEST_COMPONENTS largest components as {component_id, size, kept}, largest first (ties: smaller id)."""
    if components.size == 0:
        return []
    ids, sizes = np.unique(components, return_counts=True)
    kept_counts = np.bincount(np.searchsorted(ids, components[kept]), minlength=ids.size)
    order = np.lexsort((ids, -sizes))[:LARGEST_COMPONENTS]
    return [{"component_id": int(ids[i]), "size": int(sizes[i]), "kept": int(kept_counts[i])} for i in order]


@phase_task
def _keep_task(plan: DedupPlan, task: int) -> dict:
    dedup = plan.manifest.dedup
    ledger = IOLedger()
    runs = len(plan.levels.slot_tasks)
    members = receive(plan, [(MEMBERS, runs)], *plan.levels.slot_tasks[task], ledger)
    components = members.column("component_id").to_numpy()
    doc_ids = members.column("doc_id").to_numpy()
    copy_of = members.column("copy_of").to_numpy()
    edges = MEMBER_EDGE_SCHEMA.empty_table()
    if dedup.mode == "threshold":
        edges = receive(plan, [(MEMBER_EDGES, runs)], *plan.levels.slot_tasks[task], ledger)
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
    send(plan, KEEP, task, table, ledger)
    summary = {
        "members": int(doc_ids.size),
        "kept": int(decision.kept.sum()),
        "cluster_sizes": {str(k): v for k, v in sorted(cluster_size_histogram(components).items())},
        "largest_components": _largest_components(components, decision.kept),
    }
    return _finish(plan, "keep", _name(task), summary, ledger)


def _clusters_summary(table: pa.Table) -> dict:
    """A partition's `ClustersSummary` from its members' rows (removed ones by set, exact or near, and kept set)."""
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
    return ClustersSummary(
        members=table.num_rows,
        duplicates=int(sum(c["duplicates"] for c in by_set.values())),
        contaminated=int(sum(c["contaminated"] for c in by_set.values())),
        by_set=sorted_counts(by_set),
        cross_set=dict(sorted(cross.items())),
    ).to_json()


@phase_task
def _clusters_task(plan: DedupPlan, task: int) -> dict:
    """The members of this doc-range run's partitions, one Parquet file (sorted by doc_id, with its input
    file's `source` and `line`) and one `ClustersSummary` per partition, empty partitions included."""
    ledger = IOLedger()
    runs = len(plan.levels.slot_tasks)
    table = receive(plan, [(KEEP, runs)], *plan.levels.slot_tasks[task], ledger).sort_by("doc_id")
    doc_ids = table.column("doc_id").to_numpy()
    parts = plan.partition_index(doc_ids)
    table = table.append_column("line", pa.array(doc_ids & ((1 << LINE_BITS) - 1), pa.int64()))
    summaries = {}
    for index in plan.partitions_in(*plan.levels.slot_tasks[task]):
        part = plan.partitions[index]
        rows = np.flatnonzero(parts == index)
        piece = table.slice(int(rows[0]), rows.size) if rows.size else table.slice(0, 0)
        piece = piece.append_column("source", pa.array([part.source] * piece.num_rows, pa.string()))
        plan.run.write_parquet(plan.step_path("clusters", part.partition, ".parquet"), piece)
        summaries[part.partition] = _clusters_summary(piece)
    return _finish(plan, "clusters", _name(task), {"partitions": summaries}, ledger)


@dataclass(frozen=True)
class DedupResult:
    """Per-partition cluster summaries (same order as the plan's partitions) and global statistics.

    `edges` are the edges step's summaries (per slot run); `verified` the exact verification's (empty
    unless `verify: exact`), whose `edges` are then the ones the components start from. `exchanges`
    counts, per exchange, its senders, receivers, pieces, files and bytes.
    """

    partitions: list[ClustersSummary]
    edges: list[dict]
    rounds: int
    keep: list[dict]
    verified: list[dict]
    exact: list[dict]
    exchanges: list[dict]

    @property
    def component_edges(self) -> int:
        """Edges the connected components started from (repeats across band buckets counted)."""
        return sum(e["edges"] for e in (self.verified if self.verified else self.edges))


def _exchange_table(summaries: list[dict], senders: dict[str, int], receivers: dict[str, int]) -> list[dict]:
    """Per exchange (in the order first written): senders, receivers, and the pieces, files, requests and
    bytes its tasks (senders, relays and receivers) wrote and read."""
    totals: dict[str, ExchangeIO] = {}
    for summary in summaries:
        for name, counts in summary.get("io", {}).items():
            totals.setdefault(name, ExchangeIO()).add(ExchangeIO(**counts))
    return [
        {"step": name, "mappers": senders.get(name, 0), "reducers": receivers.get(name, 0)}
        | io.to_json()
        | {"files": io.files_written + io.files_read, "bytes": io.bytes_written}
        for name, io in totals.items()
    ]


def run_dedup_phase(plan: DedupPlan, in_flight: InFlightLimit, progress: Progress) -> DedupResult:
    """Run every dedup step; finished steps of an interrupted run are reused."""
    run = plan.run
    dedup = plan.manifest.dedup
    groups = list(range(len(plan.groups)))
    tasks = list(range(len(plan.levels.slot_tasks)))
    summaries: list[dict] = []
    senders: dict[str, int] = {}
    receivers: dict[str, int] = {}

    def step(remote, items, summary, args, phase, unit):
        results = map_items(run, remote, items, summary, args, in_flight, progress, phase, unit)
        summaries.extend(results)
        return results

    def sent(exchanges: list[Exchange], count: int, phase: str) -> None:
        """Relay what `count` senders wrote to each exchange (levels ≥ 2 only); note senders and receivers."""
        for exchange in exchanges:
            senders[exchange.name] = count
            receivers[exchange.name] = len(tasks)
            for level in range(1, plan.levels.levels):
                items = relay_items(plan, exchange, count, level)
                step(
                    relay_task,
                    items,
                    lambda item, level=level, exchange=exchange: relay_summary_path(plan, exchange, level, item),
                    lambda item, level=level, exchange=exchange: (plan, exchange, count, level, *item),
                    f"{phase}, relay {level}",
                    "relays",
                )

    def per_task(remote, step_name: str, phase: str, extra: tuple = ()) -> list[dict]:
        return step(
            remote,
            tasks,
            lambda k: plan.step_path(step_name, _name(k), ".json"),
            lambda k: (plan, *extra, k),
            phase,
            "slot runs",
        )

    step(
        _bands_task,
        groups,
        lambda g: plan.step_path("bands", _name(g), ".json"),
        lambda g: (plan, g),
        "dedup: band keys",
        "groups",
    )
    sent([BANDS, EXACT_ROWS, META], len(groups), "dedup: band keys")
    exact = per_task(_exact_task, "exact", "dedup: exact copies")
    sent([EXACT, COPIES], len(tasks), "dedup: exact copies")
    edges = per_task(_edges_task, "edges", "dedup: candidate edges")
    verified: list[dict] = []
    if dedup.verify == "exact":
        sent([CANDIDATES], len(tasks), "dedup: candidate edges")
        per_task(_targets_task, "targets", "dedup: verify, edge targets")
        sent([TARGETS], len(tasks), "dedup: verify, edge targets")
        verified = per_task(_verify_task, "verify", "dedup: verify, exact Jaccard")
        sent([VERIFIED] + ([PAIRS] if dedup.mode == "threshold" else []), len(tasks), "dedup: verify")
        sources = [(VERIFIED, len(tasks))]
    else:
        sent([EDGES] + ([PAIRS] if dedup.mode == "threshold" else []), len(tasks), "dedup: candidate edges")
        sources = [(EDGES, len(tasks))]
    sources = sources + [(EXACT, len(tasks))]
    rounds = 0
    while True:
        if rounds >= MAX_ROUNDS:
            raise RuntimeError(f"connected components did not converge in {MAX_ROUNDS} rounds")
        kind = "large" if rounds % 2 == 0 else "small"
        label = f"cc-{rounds:03d}-{kind}"
        phase = f"dedup: components round {rounds + 1} ({kind}-star)"
        results = per_task(_round_task, label, phase, (label, sources, kind))
        sent([round_exchange(label)], len(tasks), phase)
        sources = [(round_exchange(label), len(tasks))]
        rounds += 1
        if kind == "large" and all(r["final"] for r in results):
            break
    per_task(_labels_task, "labels", "dedup: labels", (sources,))
    sent([LABELS], len(tasks), "dedup: labels")
    per_task(_members_task, "members", "dedup: members")
    sent([MEMBERS] + ([MEMBER_EDGES] if dedup.mode == "threshold" else []), len(tasks), "dedup: members")
    keep = per_task(_keep_task, "keep", "dedup: keep rule")
    sent([KEEP], len(tasks), "dedup: keep rule")
    clusters = per_task(_clusters_task, "clusters", "dedup: clusters")
    by_partition = {name: summary for result in clusters for name, summary in result["partitions"].items()}
    partitions = [ClustersSummary.from_json(by_partition[p.partition]) for p in plan.partitions]
    exchanges = _exchange_table(summaries, senders, receivers)
    return DedupResult(partitions, edges, rounds, keep, verified, exact, exchanges)


def make_plan(
    run: RunDirectory,
    prepare_dir: str,
    work_dir: str,
    partitions: list[PartitionRef],
    total_docs: int,
    manifest: Manifest,
    tasks: int | None = None,
    params: LshParams | None = None,
    fan_out: int = FAN_OUT,
    group_docs: int = GROUP_DOCS,
) -> DedupPlan:
    """Fix the slot runs (`task_count` unless given), K and its levels (`plan_levels`, F = `fan_out`), the groups
    (of at most `group_docs` documents) and the banding (`lsh_params` unless given); K is in `work_dir`'s name."""
    params = params or lsh_params(manifest.dedup)
    runs = tasks or task_count(total_docs, params.bands)
    levels = plan_levels(runs, runs, fan_out)
    groups = group_partitions(partitions, group_docs, GROUP_BYTES)
    work = dedup_work_dir(work_dir, levels.slots)
    return DedupPlan(run, prepare_dir, work, levels, params, tuple(partitions), groups, manifest)


@phase_task
def _write_clusters_file(plan: DedupPlan) -> None:
    """Write `dedup/clusters.parquet` from the clusters step's pieces, in partition order (= doc_id order). A task,
    not the driver: its row groups of a million rows are buffered whole (~150 MB at 20 M documents)."""
    run = plan.run
    with run.open_atomic(CLUSTERS) as stream:
        with StableParquetWriter(stream, CLUSTERS_SCHEMA) as writer:
            for part in plan.partitions:
                writer.write(
                    run.read_parquet(plan.step_path("clusters", part.partition, ".parquet"), columns=CLUSTER_COLUMNS)
                )


def write_dedup_outputs(plan: DedupPlan, result: DedupResult, docs_by_set: dict[str, int]) -> dict:
    """Write `dedup/clusters.parquet` (by a task) and `stats/dedup.json`; return the stats."""
    run = plan.run
    ray.get(_write_clusters_file.remote(plan))
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
    if not run.exists(plan.exchanges_path):  # a function of the step summaries, which a re-run reuses
        run.write_json(plan.exchanges_path, result.exchanges)
    return stats
