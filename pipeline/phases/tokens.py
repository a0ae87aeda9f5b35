"""The tokens phase on Ray: tokenize partitions, lay documents out in doc_id order, write sequences.

    tokens      per partition: GPT-2 (or any tokenizer.json) ids of the documents dedup kept, as raw
                tokens plus a table of (doc_id, source, line, pile_set_name, tokens)
    documents   per shard of consecutive partitions: Megatron/GPT-NeoX `MMIDIDX` documents file(s),
                each with a Parquet table of its items (doc_id, source, line, pile_set_name, tokens)
    order       one task: GPT-NeoX v1.0's doc_idx / sample_idx / shuffle_idx over all document sizes
    sequences   per sequence shard: `seq_len + 1`-token samples in training order, as `MMIDIDX`
                (`pipeline.phases.sequences`: from an object store, by a file shuffle)

Documents appear in canonical doc_id order (partition order), so every file here depends only on
the kept documents, the tokenizer, `shards` and `seed`: not on partitioning or CPU count.
"""

from __future__ import annotations

import io
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import ray

from pipeline.formats.parquet_stream import StableParquetWriter
from pipeline.formats.run_layout import (
    ORDER_FILE,
    SEQUENCES_META,
    TOKEN_STATS,
    docs_path,
    documents_file,
    sequences_file,
    tokens_path,
)
from pipeline.formats.token_files import indexed_writer, open_indexed
from pipeline.manifest import Manifest
from pipeline.phases.sequences import SequencesInput, write_sequence_shards
from pipeline.phases.tokenizer_cache import cached_tokenizer
from pipeline.phases.tokens_plan import TokensPlan
from pipeline.runtime.progress import Progress
from pipeline.runtime.ray_session import InFlightLimit
from pipeline.runtime.task_map import map_items
from pipeline.runtime.task_resources import phase_task
from pipeline.summaries import TokensSummary, merge_by_set, sorted_counts
from stages.tokenize import token_dtype, tokenize_batch
from stages.training_order import build_training_order, resolved_num_samples

END_OF_STREAM = 1 << 62
"""The last documents shard ends here, so a zero-token document at the very end still has a shard."""
DOCUMENT_COLUMNS = ["doc_id", "source", "line", "pile_set_name", "tokens"]
DOCUMENTS_SCHEMA = pa.schema(
    [
        ("doc_id", pa.int64()),
        ("source", pa.string()),
        ("line", pa.int64()),
        ("pile_set_name", pa.string()),
        ("tokens", pa.int32()),
        ("file", pa.string()),
        ("item", pa.int64()),
    ]
)


@phase_task
def _tokenize_task(plan: TokensPlan, partition: str) -> dict:
    run = plan.run
    docs = run.read_parquet(
        docs_path(plan.prepare_dir, partition), columns=["doc_id", "source", "line", "pile_set_name", "text"]
    )
    tokenizer = cached_tokenizer(plan.manifest.tokenize)
    flat, sizes = tokenize_batch(docs.column("text"), tokenizer, plan.manifest.tokenize.append_eod)
    keep = np.ones(docs.num_rows, dtype=bool)
    if plan.clusters is not None:
        clusters = run.read_parquet(f"{plan.clusters.directory}/{partition}.parquet", columns=["doc_id", "kept"])
        removed = clusters.filter(pc.invert(clusters.column("kept"))).column("doc_id").to_numpy()
        keep = ~np.isin(docs.column("doc_id").to_numpy(), removed)
    ends = np.cumsum(sizes, dtype=np.int64)
    starts = ends - sizes
    kept_tokens = np.concatenate([flat[s:e] for s, e in zip(starts[keep], ends[keep])]) if keep.any() else flat[:0]
    with run.open_atomic(plan.step_path("tokens", partition, ".bin")) as stream:
        stream.write(np.ascontiguousarray(kept_tokens).tobytes())
    table = docs.select(["doc_id", "source", "line", "pile_set_name"]).filter(pa.array(keep))
    table = table.append_column("tokens", pa.array(sizes[keep], type=pa.int32()))
    run.write_parquet(plan.step_path("tokens", partition, ".parquet"), table)
    by_set: dict[str, Counter] = {}
    for name, size, kept in zip(docs.column("pile_set_name").to_pylist(), sizes.tolist(), keep.tolist()):
        counts = by_set.setdefault(name, Counter())
        counts["documents_before"] += 1
        counts["tokens_before"] += size
        if kept:
            counts["documents"] += 1
            counts["tokens"] += size
    summary = TokensSummary(
        partition=partition,
        docs=int(keep.sum()),
        tokens=int(sizes[keep].sum()),
        bytes=int(pc.sum(pc.binary_length(pc.cast(docs.column("text"), pa.binary()))).as_py() or 0),
        by_set=sorted_counts(by_set),
    ).to_json()
    run.write_json(plan.step_path("tokens", partition, ".json"), summary)
    return summary


@dataclass(frozen=True)
class DocumentsShard:
    """Documents file `name`: the documents whose first token lies in bytes [first_byte, end_byte) of the
    whole token stream, drawn from `partitions` (each given with its first token's byte offset)."""

    name: str
    first_byte: int
    end_byte: int
    partitions: tuple[tuple[str, int], ...]


def _shard_rows(sizes: np.ndarray, partition_offset: int, itemsize: int, shard: DocumentsShard) -> np.ndarray:
    """Mask of a partition's documents whose first token falls in `shard`."""
    starts = partition_offset + (np.cumsum(sizes, dtype=np.int64) - sizes) * itemsize
    return (starts >= shard.first_byte) & (starts < shard.end_byte)


@phase_task
def _documents_task(plan: TokensPlan, shard: DocumentsShard, dtype: str) -> dict:
    """Write documents file `shard.name` (`.bin`/`.idx`) and its table (`.parquet`: one row per item)."""
    run = plan.run
    itemsize = np.dtype(dtype).itemsize
    items = tokens = 0
    table_path = tokens_path(f"{shard.name}.parquet")
    digests: dict[str, str] = {}
    with (
        indexed_writer(run, tokens_path(shard.name), np.dtype(dtype), digests) as writer,
        run.open_atomic(table_path) as stream,
        StableParquetWriter(stream, DOCUMENTS_SCHEMA) as rows_writer,
    ):
        for partition, offset in shard.partitions:
            table = run.read_parquet(plan.step_path("tokens", partition, ".parquet"), columns=DOCUMENT_COLUMNS)
            sizes = table.column("tokens").to_numpy()
            rows = _shard_rows(sizes, offset, itemsize, shard)
            if not rows.any():
                continue
            flat = np.frombuffer(run.read_bytes(plan.step_path("tokens", partition, ".bin")), dtype=dtype)
            ends = np.cumsum(sizes, dtype=np.int64)
            first, last = np.flatnonzero(rows)[[0, -1]]
            writer.add_documents(flat[ends[first] - sizes[first] : ends[last]], sizes[first : last + 1])
            count = int(last - first + 1)
            table = table.slice(int(first), count)
            table = table.append_column("file", pa.array([shard.name] * count, pa.string()))
            table = table.append_column("item", pa.array(np.arange(items, items + count, dtype=np.int64)))
            rows_writer.write(table)
            items += count
            tokens += int(ends[last] - ends[first] + sizes[first])
    digests[table_path] = run.sha256(table_path)
    summary = {"file": shard.name, "items": items, "tokens": tokens, "sha256": digests}
    run.write_json(plan.step_path("documents", shard.name, ".json"), summary)
    return summary


@phase_task
def _order_task(plan: TokensPlan, documents: list[dict], num_samples: int) -> dict:
    """Build GPT-NeoX's index arrays over the sizes of every document (in a task, not the driver)."""
    run = plan.run
    sizes = np.concatenate([open_indexed(run, tokens_path(d['file'])).sizes for d in documents])
    order = build_training_order(sizes, plan.manifest.shards.seq_len, num_samples, plan.manifest.seed)
    buffer = io.BytesIO()
    np.savez(buffer, doc_idx=order.doc_idx, sample_idx=order.sample_idx, shuffle_idx=order.shuffle_idx, sizes=sizes)
    run.write_bytes(ORDER_FILE, buffer.getvalue())
    summary = {
        "epochs": order.epochs,
        "tokens_per_epoch": order.tokens_per_epoch,
        "num_samples": num_samples,
        "total_samples": order.total_samples,
    }
    run.write_json(plan.step_path("order", "order", ".json"), summary)
    return summary


def _document_shards(summaries: list[TokensSummary], shard_bytes: int, itemsize: int) -> list[DocumentsShard]:
    """Documents files of about `shard_bytes`: a document goes to shard `first token's byte offset // shard_bytes`,
    so the split depends on the documents alone, never on how they were partitioned."""
    offsets = np.cumsum([0] + [s.tokens * itemsize for s in summaries], dtype=np.int64)
    total = int(offsets[-1])
    count = max(1, -(-total // shard_bytes))
    shards = []
    for index in range(count):
        low = index * shard_bytes
        high = (index + 1) * shard_bytes if index + 1 < count else END_OF_STREAM
        first = int(np.searchsorted(offsets[1:], low, side="right"))
        last = int(np.searchsorted(offsets[:-1], high, side="left"))
        members = tuple((summaries[p].partition, int(offsets[p])) for p in range(first, last))
        name = documents_file(index, count)
        shards.append(DocumentsShard(name, low, high, members))
    return shards


@dataclass(frozen=True)
class TokensResult:
    """Token statistics (`stats/tokens.json`), every output file the phase wrote, and the sha256 its
    tasks took of the token files and tables as they wrote them."""

    stats: dict
    outputs: list[str]
    digests: dict[str, str]


def run_tokens_phase(plan: TokensPlan, in_flight: InFlightLimit, progress: Progress) -> TokensResult:
    """Tokenize, write documents and sequence shards and `sequences.json`."""
    run = plan.run
    manifest = plan.manifest
    tokenizer = cached_tokenizer(manifest.tokenize)
    dtype = token_dtype(tokenizer.vocab_size).str

    summaries = map_items(
        run,
        _tokenize_task,
        plan.partitions,
        lambda p: plan.step_path("tokens", p, ".json"),
        lambda p: (plan, p),
        in_flight,
        progress,
        "tokens: tokenize",
    )
    summaries = [TokensSummary.from_json(summary) for summary in summaries]
    shards = _document_shards(summaries, manifest.shards.shard_bytes, np.dtype(dtype).itemsize)
    _restore_tokenized(plan, shards, in_flight, progress)
    documents = map_items(
        run,
        _documents_task,
        shards,
        lambda shard: plan.step_path("documents", shard.name, ".json"),
        lambda shard: (plan, shard, dtype),
        in_flight,
        progress,
        "tokens: documents",
        "files",
    )
    documents = [d for d in documents if d["items"]]
    digests = {path: digest for d in documents for path, digest in d.get("sha256", {}).items()}

    total_tokens = sum(d["tokens"] for d in documents)
    stats = _token_stats(tokenizer.name, manifest, summaries)
    run.write_json(TOKEN_STATS, stats)
    outputs = [TOKEN_STATS]
    outputs += [tokens_path(f"{d['file']}{suffix}") for d in documents for suffix in (".bin", ".idx", ".parquet")]
    seq = manifest.shards.seq_len + 1
    if total_tokens < seq:
        progress.log(
            f"tokens: only {total_tokens} tokens, fewer than one sequence of {seq}: no sequence shards written"
        )
        return TokensResult(stats, outputs, digests)
    num_samples = resolved_num_samples(manifest.shards, total_tokens)
    order_path = plan.step_path("order", "order", ".json")
    if run.exists(order_path) and not run.exists(ORDER_FILE):
        run.delete(order_path)
    progress.start_phase("tokens: training order", "steps")
    reused = run.exists(order_path)
    order_summary = run.read_json(order_path) if reused else ray.get(_order_task.remote(plan, documents, num_samples))
    progress.advance(done=1, total=1, reused=int(reused))
    progress.finish_phase()
    per_shard = max(1, manifest.shards.shard_bytes // (seq * np.dtype(dtype).itemsize))
    total = order_summary["total_samples"] if manifest.shards.sequences else 0
    ranges = [
        (sequences_file(i), start, min(start + per_shard, total))
        for i, start in enumerate(range(0, total, per_shard))
    ]
    shards = write_sequence_shards(SequencesInput(plan, documents, order_summary, dtype), ranges, in_flight, progress)
    run.write_json(
        SEQUENCES_META,
        {
            "seq_len": manifest.shards.seq_len,
            "tokens_per_sample": seq,
            "seed": manifest.seed,
            "num_samples": num_samples,
            "total_samples": order_summary["total_samples"],
            "sequences": manifest.shards.sequences,
            "epochs": order_summary["epochs"],
            "tokens_per_epoch": order_summary["tokens_per_epoch"],
            "global_batch": manifest.shards.global_batch,
            "dtype": np.dtype(dtype).name,
            "eod_id": tokenizer.eod_id if manifest.tokenize.append_eod else None,
            "documents": [{"file": d["file"], "items": d["items"], "tokens": d["tokens"]} for d in documents],
            "shards": [{key: shard[key] for key in ("file", "first_sample", "samples")} for shard in shards],
        },
    )
    digests.update((path, digest) for shard in shards for path, digest in shard.get("sha256", {}).items())
    outputs += [SEQUENCES_META, ORDER_FILE]
    outputs += [tokens_path(f"{name}{suffix}") for name, _, _ in ranges for suffix in (".bin", ".idx")]
    return TokensResult(stats, outputs, digests)


def _restore_tokenized(
    plan: TokensPlan, shards: list[DocumentsShard], in_flight: InFlightLimit, progress: Progress
) -> None:
    """Tokenize again the partitions a documents file still to be written needs, if a finished run removed
    their ids and table (`pipeline.phases.intermediates`) and kept only their summary."""
    run = plan.run
    pending = [shard for shard in shards if not run.exists(plan.step_path("documents", shard.name, ".json"))]
    missing = sorted(
        {
            partition
            for shard in pending
            for partition, _ in shard.partitions
            if not all(run.exists(plan.step_path("tokens", partition, suffix)) for suffix in (".bin", ".parquet"))
        }
    )
    for partition in missing:
        run.delete(plan.step_path("tokens", partition, ".json"))
    if missing:
        map_items(
            run,
            _tokenize_task,
            missing,
            lambda p: plan.step_path("tokens", p, ".json"),
            lambda p: (plan, p),
            in_flight,
            progress,
            "tokens: tokenize again (removed after the last run)",
        )


def _token_stats(tokenizer: str, manifest: Manifest, summaries: list[TokensSummary]) -> dict:
    by_set = merge_by_set(summaries)
    keys = ("documents_before", "tokens_before", "documents", "tokens")
    return {
        "tokenizer": tokenizer,
        "append_eod": manifest.tokenize.append_eod,
        "documents": sum(s.docs for s in summaries),
        "tokens": sum(s.tokens for s in summaries),
        "by_set": {name: {k: c.get(k, 0) for k in keys} for name, c in sorted(by_set.items())},
    }
