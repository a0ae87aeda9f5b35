"""Write the sequence shards: `seq_len + 1`-token samples in training order, as `MMIDIDX` files.

A sample is a few pieces of documents (GPT-NeoX's `sample_idx`), and the pieces of one shard come
from every documents file. In a local or mounted run directory a shard's task reads its pieces from
memory-mapped documents files. From an object store (`s3://`, `gs://`) one request per piece would
be hundreds of millions of requests for the Pile, so there the tokens move by a file shuffle instead:

    pieces    per shard: its pieces (item, start, end, position in the shard), one Arrow IPC batch
              per documents file
    scatter   per documents file: the file read once, and one batch of tokens per shard, cut out
              in the order of that shard's pieces
    sequences per shard: batch `shard` of every scatter file, put back in position order

That is 2 × documents files × shards reads of whole batches. The pieces and scatter files are
deleted once every shard is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from pipeline.formats.filesystems import is_uri
from pipeline.formats.indexed_dataset import IndexedDataset
from pipeline.formats.order_file import load_training_order, remove_local_copy
from pipeline.formats.run_directory import RunDirectory
from pipeline.formats.run_layout import order_file, tokens_path
from pipeline.formats.token_files import indexed_writer, open_indexed
from pipeline.phases.tokens_plan import TokensPlan
from pipeline.runtime.progress import Progress
from pipeline.runtime.ray_session import InFlightLimit, on_every_node
from pipeline.runtime.task_map import map_items
from pipeline.runtime.task_resources import node_cleanup_task, phase_task
from stages.training_order import TrainingOrder, sample_pieces

SAMPLES_PER_WRITE = 2048
"""Samples a local shard's task gathers and writes at a time: ~8 MiB of 2049 uint16 tokens, plus index arrays."""

PIECES_SCHEMA = pa.schema([("item", pa.int64()), ("start", pa.int64()), ("end", pa.int64()), ("position", pa.int64())])
"""A piece: tokens [start, end) of item `item` of one documents file, at `position` among its shard's pieces."""


@dataclass(frozen=True)
class SequencesInput:
    """What every sequence shard is cut from: the documents files (their step summaries, in order),
    the training order's summary and the token dtype."""

    plan: TokensPlan
    documents: list[dict]
    order_summary: dict
    dtype: str

    def step_path(self, step: str, name: str) -> str:
        return self.plan.step_path(step, name, ".json")


@dataclass(frozen=True)
class Pieces:
    """The pieces of a range of samples in training order, each located in its documents file."""

    file: np.ndarray
    item: np.ndarray
    start: np.ndarray
    end: np.ndarray


def _training_order(job: SequencesInput) -> tuple[TrainingOrder, np.ndarray]:
    plan = job.plan
    return load_training_order(
        plan.run, plan.manifest.shards.seq_len, plan.manifest.seed, job.order_summary, order_file(plan.split)
    )


def _pieces(job: SequencesInput, order: tuple[TrainingOrder, np.ndarray], start: int, stop: int) -> Pieces:
    """The pieces of samples [start, stop) in `order` (the training order and the document sizes)."""
    pieces = sample_pieces(*order, start, stop)
    first_item = np.cumsum([0] + [d["items"] for d in job.documents])
    file = np.searchsorted(first_item, pieces.document, side="right") - 1
    return Pieces(file, pieces.document - first_item[file], pieces.start, pieces.end)


def concatenated_ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Indices start_0 … start_0 + length_0 - 1, start_1 …: many slices taken or filled in one step."""
    ends = np.cumsum(lengths)
    return np.repeat(starts - (ends - lengths), lengths) + np.arange(int(ends[-1]) if ends.size else 0)


def _write_shard(job: SequencesInput, name: str, start: int, stop: int, chunks: Iterable[np.ndarray]) -> dict:
    """Write shard `name` (samples [start, stop)) from its tokens, given as consecutive chunks of whole samples,
    and record it in its step summary."""
    run = job.plan.run
    seq = job.plan.manifest.shards.seq_len + 1
    count = stop - start
    written = 0
    digests: dict[str, str] = {}
    with indexed_writer(run, tokens_path(name), np.dtype(job.dtype), digests) as writer:
        for flat in chunks:
            if flat.size % seq or written + flat.size > count * seq:
                raise RuntimeError(f"{name}: {written + flat.size} tokens for {count} samples of {seq}")
            writer.add_documents(flat, np.full(flat.size // seq, seq, dtype=np.int32))
            written += flat.size
        if written != count * seq:
            raise RuntimeError(f"{name}: {written} tokens for {count} samples of {seq}")
    summary = {"file": name, "first_sample": start, "samples": count, "sha256": digests}
    run.write_json(job.step_path("sequences", name), summary)
    return summary


SLICE_TOKENS = 256
"""Pieces this long on average are copied slice by slice; shorter ones (the Pile's short documents: tens of tokens)
are taken token by token in one NumPy call per file, which beats a Python step per piece."""


def _gather(readers: list[IndexedDataset], pieces: Pieces, dtype: np.dtype) -> np.ndarray:
    """The tokens of `pieces`, back to back, from the documents files' memory maps: each piece copied as one slice
    (pieces of hundreds of tokens: slice copies beat a per-token take, and `get`'s per-call checks), or, when the
    pieces average fewer than `SLICE_TOKENS` tokens, every file's tokens taken at once."""
    lengths = pieces.end - pieces.start
    out = np.empty(int(lengths.sum()), dtype)
    out_start = np.cumsum(lengths) - lengths
    first = np.zeros(lengths.size, dtype=np.int64)
    members = [np.flatnonzero(pieces.file == f) for f in range(len(readers))]
    for reader, mine in zip(readers, members):
        item, start, end = pieces.item[mine], pieces.start[mine], pieces.end[mine]
        if (item >= len(reader)).any() or (end > reader.sizes[item]).any() or (start < 0).any():
            raise IndexError(f"{reader.prefix}: the training order names tokens beyond its items")
        first[mine] = reader.pointers[item].astype(np.int64) // dtype.itemsize + start
    flats = [reader.flat.view(np.ndarray) for reader in readers]  # slices of a plain view skip memmap's bookkeeping
    if lengths.size and out.size < SLICE_TOKENS * lengths.size:
        for flat, mine in zip(flats, members):
            taken = flat[concatenated_ranges(first[mine], lengths[mine])]
            if mine.size == lengths.size:
                out[:] = taken
            elif mine.size:
                out[concatenated_ranges(out_start[mine], lengths[mine])] = taken
        return out
    for f, a, n, o in zip(pieces.file.tolist(), first.tolist(), lengths.tolist(), out_start.tolist()):
        out[o : o + n] = flats[f][a : a + n]
    return out


@phase_task
def _read_pieces_task(job: SequencesInput, name: str, start: int, stop: int) -> dict:
    """A shard from a local or mounted run directory: its pieces taken from the memory-mapped documents files,
    `SAMPLES_PER_WRITE` samples at a time (the shard is never whole in memory)."""
    order = _training_order(job)
    readers = [IndexedDataset(job.plan.run.path(tokens_path(d["file"]))) for d in job.documents]
    dtype = np.dtype(job.dtype)
    chunks = (
        _gather(readers, _pieces(job, order, low, min(stop, low + SAMPLES_PER_WRITE)), dtype)
        for low in range(start, stop, SAMPLES_PER_WRITE)
    )
    return _write_shard(job, name, start, stop, chunks)


def _shuffle_path(job: SequencesInput, step: str, name: str) -> str:
    return job.plan.step_path(step, name, ".arrow")


@phase_task
def _route_task(job: SequencesInput, name: str, start: int, stop: int) -> dict:
    """Shard `name`'s pieces, grouped by documents file (one IPC batch each, in file order)."""
    run = job.plan.run
    pieces = _pieces(job, _training_order(job), start, stop)
    by_file = np.argsort(pieces.file, kind="stable")
    bounds = np.searchsorted(pieces.file[by_file], np.arange(len(job.documents) + 1))
    with (
        run.open_atomic(_shuffle_path(job, "pieces", name)) as stream,
        pa.ipc.new_file(stream, PIECES_SCHEMA) as writer,
    ):
        for low, high in zip(bounds[:-1], bounds[1:]):
            rows = by_file[low:high]
            writer.write_batch(
                pa.record_batch([pieces.item[rows], pieces.start[rows], pieces.end[rows], rows], schema=PIECES_SCHEMA)
            )
    summary = {"file": name, "pieces": int(pieces.file.size)}
    run.write_json(job.step_path("pieces", name), summary)
    return summary


def _read_batch(job: SequencesInput, step: str, name: str, index: int) -> pa.RecordBatch:
    run = job.plan.run
    with run.filesystem.open_input_file(run.path(_shuffle_path(job, step, name))) as source:
        return pa.ipc.open_file(source).get_batch(index)


@phase_task
def _scatter_task(job: SequencesInput, index: int, shards: list[str]) -> dict:
    """Read documents file `index` once; write batch s = the tokens of its pieces in shard s, in piece order."""
    run = job.plan.run
    name = job.documents[index]["file"]
    dtype = np.dtype(job.dtype)
    offsets = open_indexed(run, tokens_path(name)).pointers.astype(np.int64) // dtype.itemsize
    flat = np.frombuffer(run.read_bytes(tokens_path(f"{name}.bin")), dtype)
    schema = pa.schema([("tokens", pa.from_numpy_dtype(dtype.newbyteorder("=")))])
    tokens = 0
    with run.open_atomic(_shuffle_path(job, "scatter", name)) as stream, pa.ipc.new_file(stream, schema) as writer:
        for shard in shards:
            batch = _read_batch(job, "pieces", shard, index)
            item, start, end = (batch.column(key).to_numpy() for key in ("item", "start", "end"))
            cut = flat[concatenated_ranges(offsets[item] + start, end - start)]
            writer.write_batch(pa.record_batch([cut], schema=schema))
            tokens += cut.size
    summary = {"file": name, "tokens": tokens}
    run.write_json(job.step_path("scatter", name), summary)
    return summary


@phase_task
def _gather_task(job: SequencesInput, index: int, name: str, start: int, stop: int) -> dict:
    """Shard `index`: batch `index` of every scatter file, its pieces put back in position order."""
    run = job.plan.run
    with run.filesystem.open_input_file(run.path(_shuffle_path(job, "pieces", name))) as source:
        reader = pa.ipc.open_file(source)
        by_file = [reader.get_batch(f) for f in range(reader.num_record_batches)]
    position = np.concatenate([b.column("position").to_numpy() for b in by_file])
    lengths = np.concatenate([(b.column("end").to_numpy() - b.column("start").to_numpy()) for b in by_file])
    in_order = np.zeros(position.size, dtype=np.int64)
    in_order[position] = lengths
    out_start = np.cumsum(in_order) - in_order
    flat = np.zeros(int(in_order.sum()), dtype=job.dtype)
    low = 0
    for f, batch in enumerate(by_file):
        high = low + batch.num_rows
        if high > low:
            tokens = _read_batch(job, "scatter", job.documents[f]["file"], index).column("tokens").to_numpy()
            flat[concatenated_ranges(out_start[position[low:high]], lengths[low:high])] = tokens
        low = high
    return _write_shard(job, name, start, stop, [flat])


@node_cleanup_task
def _remove_order_copy(run: RunDirectory, relative: str) -> bool:
    """Free this node's copy of a remote run directory's training order once every sequence is written."""
    return remove_local_copy(run, relative)


def _label(job: SequencesInput) -> str:
    return job.plan.split or "tokens"


def write_sequence_shards(
    job: SequencesInput, ranges: list[tuple[str, int, int]], in_flight: InFlightLimit, progress: Progress
) -> list[dict]:
    """Write every shard (name, first sample, end sample) and return their step summaries, in order."""
    run = job.plan.run

    def summary(shard: tuple[str, int, int]) -> str:
        return job.step_path("sequences", shard[0])

    if not is_uri(run.location):
        return map_items(
            run,
            _read_pieces_task,
            ranges,
            summary,
            lambda r: (job, *r),
            in_flight,
            progress,
            f"{_label(job)}: sequences",
            "files",
        )
    if not all(run.exists(summary(r)) for r in ranges):
        map_items(
            run,
            _route_task,
            ranges,
            lambda r: job.step_path("pieces", r[0]),
            lambda r: (job, *r),
            in_flight,
            progress,
            f"{_label(job)}: sequence pieces",
            "files",
        )
        names = [r[0] for r in ranges]
        map_items(
            run,
            _scatter_task,
            range(len(job.documents)),
            lambda i: job.step_path("scatter", job.documents[i]["file"]),
            lambda i: (job, i, names),
            in_flight,
            progress,
            f"{_label(job)}: sequence scatter",
            "files",
        )
    shards = map_items(
        run,
        _gather_task,
        list(enumerate(ranges)),
        lambda e: summary(e[1]),
        lambda e: (job, e[0], *e[1]),
        in_flight,
        progress,
        f"{_label(job)}: sequences",
        "files",
    )
    on_every_node(_remove_order_copy, run, order_file(job.plan.split))
    for step in ("pieces", "scatter"):
        run.delete_dir(f"{job.plan.layout_dir}/{step}")
    return shards
