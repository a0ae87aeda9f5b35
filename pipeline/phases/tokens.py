"""The tokens phase on Ray: tokenize partitions, lay documents out in doc_id order, write sequences.

    tokens      per partition: GPT-2 (or any tokenizer.json) ids of the documents dedup kept, as raw
                tokens plus a table of (doc_id, source, line, pile_set_name, tokens)
    documents   per shard of consecutive partitions: Megatron/GPT-NeoX `MMIDIDX` documents file(s),
                each with a Parquet table of its items (doc_id, source, line, pile_set_name, tokens)
    order       one task: the repeats of one pass of `shards.mixture` (`stages.mixture`), then GPT-NeoX
                v1.0's doc_idx / sample_idx / shuffle_idx over that pass
    mixture     per documents file, when a mixture is set: `mixture-<file>`, its documents repeated as one
                pass holds them (what GPT-NeoX and Megatron read to train on the mixture)
    sequences   per sequence shard: `seq_len + 1`-token samples in training order, as `MMIDIDX`
                (`pipeline.phases.sequences`: from an object store, by a file shuffle)

An evaluation split (`TokensPlan.split`) runs the same steps on its own partitions (never removed by
dedup) into `tokens/<split>-…`, its order the file order (`stages.training_order.build_file_order`).

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

from pipeline.errors import UserError
from pipeline.formats.order_file import open_npz
from pipeline.formats.parquet_stream import StableParquetWriter
from pipeline.formats.run_layout import (
    ORDER_FILE,
    docs_path,
    documents_file,
    in_split,
    mixture_documents_file,
    order_file,
    sequences_file,
    sequences_meta,
    tokens_path,
)
from pipeline.formats.token_files import indexed_writer, open_indexed
from pipeline.manifest import Manifest
from pipeline.phases.sequences import SequencesInput, concatenated_ranges, write_sequence_shards
from pipeline.phases.tokenizer_cache import cached_tokenizer
from pipeline.phases.tokens_plan import TokensPlan
from pipeline.runtime.progress import Progress
from pipeline.runtime.ray_session import InFlightLimit
from pipeline.runtime.task_map import map_items
from pipeline.runtime.task_resources import phase_task
from pipeline.summaries import TokensSummary, merge_by_set, sorted_counts
from stages.mixture import mixture_repeats, mixture_weights
from stages.tokenize import token_dtype, tokenize_batch
from stages.training_order import ORDER_BLOCK, build_file_order, build_training_order, resolved_num_samples

MIXTURE_ITEMS_PER_WRITE = 4096
"""Documents a mixture documents task repeats and writes at a time (a few MiB of tokens for most subsets)."""
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
    keep = np.ones(docs.num_rows, dtype=bool)
    if plan.clusters is not None:
        clusters = run.read_parquet(f"{plan.clusters.directory}/{partition}.parquet", columns=["doc_id", "kept"])
        removed = clusters.filter(pc.invert(clusters.column("kept"))).column("doc_id").to_numpy()
        keep = ~np.isin(docs.column("doc_id").to_numpy(), removed)
    kept_tokens, sizes = tokenize_batch(docs.column("text"), tokenizer, plan.manifest.tokenize.append_eod, keep)
    with run.open_atomic(plan.step_path("tokens", partition, ".bin")) as stream:
        stream.write(kept_tokens)
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


def _document_names(run, documents: list[dict]) -> tuple[np.ndarray, list[str]]:
    """Each document's subset as a code into the sorted subset names (uint8 up to 256 names), read from the
    documents files' tables.

    The names are read dictionary-encoded, as Parquet stores them (per row group, a few names and a code per
    row), and each chunk's codes are mapped to the sorted names: no string per document is built.
    """
    tables = [
        run.read_parquet(tokens_path(f"{d['file']}.parquet"), columns=["pile_set_name"], dictionaries=["pile_set_name"])
        for d in documents
    ]
    chunks = [chunk for table in tables for chunk in table.column("pile_set_name").chunks]
    codes = [chunk.indices.to_numpy() for chunk in chunks]
    dictionaries = [chunk.dictionary.to_pylist() for chunk in chunks]
    used = [np.bincount(chunk_codes, minlength=len(names)) > 0 for chunk_codes, names in zip(codes, dictionaries)]
    present = {name for names, is_used in zip(dictionaries, used) for name, here in zip(names, is_used) if here}
    rank = {name: index for index, name in enumerate(sorted(present))}
    subset = np.empty(sum(c.size for c in codes), dtype=np.min_scalar_type(max(len(rank) - 1, 0)))
    start = 0
    for chunk_codes, names, is_used in zip(codes, dictionaries, used):
        ranks = np.array([rank[name] if here else 0 for name, here in zip(names, is_used)], dtype=subset.dtype)
        subset[start : start + chunk_codes.size] = ranks[chunk_codes]
        start += chunk_codes.size
    return subset, sorted(present)


def _mixture_summary(subset: np.ndarray, names: list[str], sizes: np.ndarray, repeats: np.ndarray, weights) -> dict:
    """Per subset: its weight, and its documents and tokens in one pass of the mixture (summed `ORDER_BLOCK`
    documents at a time: exact, since every partial sum is an integer below 2⁵³)."""
    documents = np.zeros(len(names))
    tokens = np.zeros(len(names))
    for low in range(0, sizes.size, ORDER_BLOCK):
        block = slice(low, low + ORDER_BLOCK)
        counts = repeats[block].astype(np.float64)
        documents += np.bincount(subset[block], weights=counts, minlength=len(names))
        tokens += np.bincount(subset[block], weights=counts * sizes[block], minlength=len(names))
    return {
        name: {"weight": weights[name], "documents": int(documents[code]), "tokens": int(tokens[code])}
        for code, name in enumerate(names)
    }


def _document_sizes(run, documents: list[dict]) -> np.ndarray:
    """Every document's tokens, from the documents files' indexes, in order (one file's read where it lies)."""
    sizes = [open_indexed(run, tokens_path(d["file"])).sizes for d in documents]
    return sizes[0] if len(sizes) == 1 else np.concatenate(sizes)


def write_order(plan: TokensPlan, documents: list[dict]) -> dict:
    """Build the order over the sizes of every document (in a task, `_order_task`, not the driver): GPT-NeoX's
    over one pass of the mixture for training, the file order for an evaluation split; written to `tokens/` as
    `np.savez` arrays. Returns the step's summary."""
    run = plan.run
    shards = plan.manifest.shards
    sizes = _document_sizes(run, documents)
    extra: dict[str, np.ndarray] = {}
    mixture = None
    if plan.split is not None:
        order = build_file_order(sizes, shards.seq_len)
    else:
        subset, names = _document_names(run, documents)
        weights = mixture_weights(shards.mixture, names)
        repeats = mixture_repeats(subset, names, sizes, weights, plan.manifest.seed)
        mixture = _mixture_summary(subset, names, sizes, repeats, weights)
        del subset
        epoch = None
        if shards.mixture != "none":
            epoch = np.repeat(np.arange(sizes.size, dtype=np.int32), repeats)
            extra["repeats"] = np.ascontiguousarray(repeats)
        del repeats
        tokens_per_pass = sum(subset_pass["tokens"] for subset_pass in mixture.values())
        if tokens_per_pass <= shards.seq_len:
            raise UserError(f"shards.mixture: one pass holds {tokens_per_pass} tokens, fewer than one sequence")
        num_samples = resolved_num_samples(shards, tokens_per_pass)
        order = build_training_order(sizes, shards.seq_len, num_samples, plan.manifest.seed, epoch)
    arrays = {"doc_idx": order.doc_idx, "sample_idx": order.sample_idx, "shuffle_idx": order.shuffle_idx}
    _write_order_file(run, order_file(plan.split), {**arrays, "sizes": sizes, **extra})
    summary = {
        "epochs": order.epochs,
        "tokens_per_epoch": order.tokens_per_epoch,
        "num_samples": order.num_samples,
        "total_samples": order.total_samples,
        "mixture": mixture,
    }
    run.write_json(plan.step_path("order", in_split(plan.split, "order"), ".json"), summary)
    return summary


_order_task = phase_task(write_order)


def _write_order_file(run, relative: str, arrays: dict[str, np.ndarray]) -> None:
    """`arrays` as one uncompressed `np.savez` file (`pipeline.formats.order_file` maps it back)."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    run.write_bytes(relative, buffer.getvalue())


@phase_task
def _mixture_documents_task(plan: TokensPlan, document: dict, first: int, dtype: str) -> dict:
    """Write `tokens/mixture-<documents file>`: the file's documents, each repeated as often as one pass of the
    mixture holds it, in order; GPT-NeoX reading it builds exactly the run's training order."""
    run = plan.run
    name = mixture_documents_file(document["file"])
    repeats = np.asarray(open_npz(run, ORDER_FILE)["repeats"][first : first + document["items"]])
    source = open_indexed(run, tokens_path(document["file"]))
    itemsize = np.dtype(dtype).itemsize
    offsets, sizes = source.pointers.astype(np.int64) // itemsize, source.sizes.astype(np.int64)
    flat = np.frombuffer(run.read_bytes(tokens_path(f"{document['file']}.bin")), dtype)
    digests: dict[str, str] = {}
    with indexed_writer(run, tokens_path(name), np.dtype(dtype), digests) as writer:
        for low in range(0, repeats.size, MIXTURE_ITEMS_PER_WRITE):
            high = min(low + MIXTURE_ITEMS_PER_WRITE, repeats.size)
            items = np.repeat(np.arange(low, high), repeats[low:high])
            writer.add_documents(flat[concatenated_ranges(offsets[items], sizes[items])], sizes[items])
    summary = {"file": name, "items": int(repeats.sum()), "tokens": int(sizes @ repeats), "sha256": digests}
    run.write_json(plan.step_path("mixture", name, ".json"), summary)
    return summary


def _document_shards(
    summaries: list[TokensSummary], shard_bytes: int, itemsize: int, split: str | None
) -> list[DocumentsShard]:
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
        name = documents_file(index, count, split)
        shards.append(DocumentsShard(name, low, high, members))
    return shards


@dataclass(frozen=True)
class TokensResult:
    """Token statistics (for `stats/tokens.json`), every output file the phase wrote, and the sha256 its
    tasks took of the token files and tables as they wrote them."""

    stats: dict
    outputs: list[str]
    digests: dict[str, str]


@dataclass(frozen=True)
class _Documents:
    """The documents files laid out (their step summaries, the non-empty ones), with what wrote them."""

    summaries: list[TokensSummary]
    files: list[dict]
    dtype: str
    tokenizer: object

    @property
    def tokens(self) -> int:
        return sum(d["tokens"] for d in self.files)

    def outputs(self) -> list[str]:
        return [tokens_path(f"{d['file']}{suffix}") for d in self.files for suffix in (".bin", ".idx", ".parquet")]

    def digests(self) -> dict[str, str]:
        return {path: digest for d in self.files for path, digest in d.get("sha256", {}).items()}


def _lay_out_documents(plan: TokensPlan, in_flight: InFlightLimit, progress: Progress) -> _Documents:
    """Tokenize the plan's partitions and write its documents files in doc_id order."""
    run = plan.run
    tokenizer = cached_tokenizer(plan.manifest.tokenize)
    dtype = token_dtype(tokenizer.vocab_size).str
    label = plan.split or "tokens"
    summaries = map_items(
        run,
        _tokenize_task,
        plan.partitions,
        lambda p: plan.step_path("tokens", p, ".json"),
        lambda p: (plan, p),
        in_flight,
        progress,
        f"{label}: tokenize",
    )
    summaries = [TokensSummary.from_json(summary) for summary in summaries]
    shards = _document_shards(summaries, plan.manifest.shards.shard_bytes, np.dtype(dtype).itemsize, plan.split)
    _restore_tokenized(plan, shards, in_flight, progress)
    documents = map_items(
        run,
        _documents_task,
        shards,
        lambda shard: plan.step_path("documents", shard.name, ".json"),
        lambda shard: (plan, shard, dtype),
        in_flight,
        progress,
        f"{label}: documents",
        "files",
    )
    return _Documents(summaries, [d for d in documents if d["items"]], dtype, tokenizer)


def _order(plan: TokensPlan, documents: _Documents, progress: Progress) -> dict:
    """The order's summary: built by one task, or an earlier run's when its file is still there."""
    run = plan.run
    order_path = plan.step_path("order", in_split(plan.split, "order"), ".json")
    if run.exists(order_path) and not run.exists(order_file(plan.split)):
        run.delete(order_path)
    progress.start_phase(f"{plan.split or 'tokens'}: {'file' if plan.split else 'training'} order", "steps")
    reused = run.exists(order_path)
    summary = run.read_json(order_path) if reused else ray.get(_order_task.remote(plan, documents.files))
    progress.advance(done=1, total=1, reused=int(reused))
    progress.finish_phase()
    return summary


def _write_sequences(
    plan: TokensPlan, documents: _Documents, order: dict, in_flight: InFlightLimit, progress: Progress
) -> tuple[list[str], dict[str, str]]:
    """Write the sequence shards of `order` and their `sequences.json`; return the outputs and their sha256."""
    run, shards_config = plan.run, plan.manifest.shards
    seq = shards_config.seq_len + 1
    dtype = documents.dtype
    per_shard = max(1, shards_config.shard_bytes // (seq * np.dtype(dtype).itemsize))
    total = order["total_samples"] if shards_config.sequences else 0
    ranges = [
        (sequences_file(i, plan.split), start, min(start + per_shard, total))
        for i, start in enumerate(range(0, total, per_shard))
    ]
    shards = write_sequence_shards(SequencesInput(plan, documents.files, order, dtype), ranges, in_flight, progress)
    tokenizer = documents.tokenizer
    meta = {
        "seq_len": shards_config.seq_len,
        "tokens_per_sample": seq,
        "seed": plan.manifest.seed,
        "num_samples": order["num_samples"],
        "total_samples": order["total_samples"],
        "sequences": shards_config.sequences,
        "epochs": order["epochs"],
        "tokens_per_epoch": order["tokens_per_epoch"],
        "global_batch": shards_config.global_batch,
        "dtype": np.dtype(dtype).name,
        "eod_id": tokenizer.eod_id if plan.manifest.tokenize.append_eod else None,
        "documents": [{"file": d["file"], "items": d["items"], "tokens": d["tokens"]} for d in documents.files],
        "shards": [{key: shard[key] for key in ("file", "first_sample", "samples")} for shard in shards],
    }
    if plan.split is not None:
        meta.update(split=plan.split, order="file")
    elif shards_config.mixture != "none":
        meta["mixture"] = shards_config.mixture
    run.write_json(sequences_meta(plan.split), meta)
    digests = {path: digest for shard in shards for path, digest in shard.get("sha256", {}).items()}
    outputs = [sequences_meta(plan.split), order_file(plan.split)]
    outputs += [tokens_path(f"{name}{suffix}") for name, _, _ in ranges for suffix in (".bin", ".idx")]
    return outputs, digests


def _write_mixture_documents(
    plan: TokensPlan, documents: _Documents, in_flight: InFlightLimit, progress: Progress
) -> tuple[list[str], dict[str, str]]:
    """One `mixture-<documents file>` per documents file: the documents of one pass of the mixture."""
    first = np.cumsum([0] + [d["items"] for d in documents.files]).tolist()
    written = map_items(
        plan.run,
        _mixture_documents_task,
        list(range(len(documents.files))),
        lambda i: plan.step_path("mixture", mixture_documents_file(documents.files[i]["file"]), ".json"),
        lambda i: (plan, documents.files[i], first[i], documents.dtype),
        in_flight,
        progress,
        "tokens: mixture documents",
        "files",
    )
    outputs = [tokens_path(f"{w['file']}{suffix}") for w in written for suffix in (".bin", ".idx")]
    return outputs, {path: digest for w in written for path, digest in w["sha256"].items()}


def run_tokens_phase(plan: TokensPlan, in_flight: InFlightLimit, progress: Progress) -> TokensResult:
    """Tokenize and write the documents files, then the order, sequence shards and `sequences.json`: the
    training data (GPT-NeoX's order over one pass of the mixture, plus the mixture's documents files when
    `shards.mixture` is set) or, for `plan.split`, an evaluation split in file order."""
    documents = _lay_out_documents(plan, in_flight, progress)
    outputs, digests = documents.outputs(), documents.digests()
    stats = _token_stats(documents.tokenizer.name, plan.manifest, documents.summaries)
    seq = plan.manifest.shards.seq_len + 1
    if documents.tokens < seq:
        progress.log(
            f"{plan.split or 'tokens'}: only {documents.tokens} tokens, fewer than one sequence of {seq}: "
            "no sequence shards written"
        )
        return TokensResult(stats, outputs, digests)
    order = _order(plan, documents, progress)
    if order.get("mixture") is not None:
        stats["mixture"] = {"preset": plan.manifest.shards.mixture, "by_set": order["mixture"]}
    if plan.split is None and plan.manifest.shards.mixture != "none":
        written, written_digests = _write_mixture_documents(plan, documents, in_flight, progress)
        outputs += written
        digests.update(written_digests)
    written, written_digests = _write_sequences(plan, documents, order, in_flight, progress)
    stats["sequences"] = order["total_samples"]
    return TokensResult(stats, outputs + written, {**digests, **written_digests})


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
