"""`pileline export`: a run's training sequences, in training order, as a Hugging Face dataset or litdata chunks
(or, with `split`, an evaluation split's sequences in file order).

    step        reads                                   writes (under OUT)
    claim       RUN/tokens/sequences.json               .pileline/export.json (what this OUT holds; a
                                                        different export into it is refused)
    doc ids     RUN/tokens/documents*.parquet           .pileline/doc-ids.npy (doc_id per document, streamed)
    files       the sequence shards, the training       one task per output file: samples [k·R, (k+1)·R)
                order, doc-ids.npy                      in batches of BATCH_ROWS, then .pileline/files/NAME.json
    index       the files' summaries                    hf: dataset_info.json, then state.json;
                                                        litdata: index.json — written last, so a reader
                                                        never opens a half-written export

Every file is written under a temporary name and renamed; a re-run skips the files whose summary
exists, so a killed export resumes. Memory per task is one batch of rows, whatever the run's size.
OUT and RUN are local or mounted paths (the sequence shards are memory-mapped).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyarrow.parquet as pq
import ray
from pydantic import Field

from pipeline.errors import UserError
from pipeline.formats import hf_dataset_files as hf
from pipeline.formats import litdata_chunks as litdata
from pipeline.formats.filesystems import is_uri
from pipeline.formats.order_file import load_training_order
from pipeline.formats.run_directory import TMP_MARK, RunDirectory
from pipeline.formats.run_layout import order_file, sequences_meta, tokens_path
from pipeline.formats.token_reader import SequenceShards
from pipeline.runtime.progress import Progress
from pipeline.runtime.ray_session import InFlightLimit
from pipeline.runtime.task_map import map_items
from stages.config import StageConfig
from stages.training_order import first_documents

STATE_DIR = ".pileline"
CLAIM_FILE = f"{STATE_DIR}/export.json"
DOC_IDS_FILE = f"{STATE_DIR}/doc-ids.npy"
BATCH_ROWS = 1024
"""Rows a task reads and writes at once: its memory is about BATCH_ROWS × (seq_len + 1) × 2 bytes (4 MiB)."""
DEFAULT_FILE_BYTES = {"hf": 500_000_000, "litdata": 64 << 20}
"""`datasets`' default shard size for `save_to_disk` (500 MB); litdata's usual chunk size (64 MiB)."""


class ExportConfig(StageConfig):
    """What `pileline export` writes: the format and the size of each output file."""

    format: Literal["hf", "litdata"]
    file_bytes: int | None = Field(None, ge=1)
    split: Literal["valid", "test"] | None = None

    def target_bytes(self) -> int:
        """Bytes per output file: as configured, else the format's usual size."""
        return self.file_bytes or DEFAULT_FILE_BYTES[self.format]


@dataclass(frozen=True)
class ExportJob:
    """Everything an export task needs: where to read and write, and which samples each file holds."""

    run_dir: str
    out: RunDirectory
    config: ExportConfig
    meta: dict
    rows_per_file: int
    files: int

    @property
    def width(self) -> int:
        return int(self.meta["tokens_per_sample"])

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.meta["dtype"])

    def file_name(self, index: int) -> str:
        """Output file `index`'s name, as the format's own writer names it."""
        return hf.data_file_name(index, self.files) if self.config.format == "hf" else litdata.chunk_file_name(index)

    def samples(self, index: int) -> tuple[int, int]:
        """The samples [start, stop) of output file `index`."""
        return index * self.rows_per_file, min(int(self.meta["total_samples"]), (index + 1) * self.rows_per_file)

    def summary_path(self, index: int) -> str:
        """Where output file `index`'s summary goes once the file is complete (its reuse mark)."""
        return f"{STATE_DIR}/files/{self.file_name(index)}.json"


def _batches(job: ExportJob, start: int, stop: int):
    """(first sample, (rows, width) tokens, provenance columns) for samples [start, stop), BATCH_ROWS at a time."""
    split = job.config.split
    sequences = SequenceShards(job.run_dir, split)
    run = RunDirectory(job.run_dir)
    order, _ = load_training_order(run, job.meta["seq_len"], job.meta["seed"], job.meta, order_file(split))
    doc_ids = np.load(job.out.path(DOC_IDS_FILE), mmap_mode="r")
    for low in range(start, stop, BATCH_ROWS):
        high = min(stop, low + BATCH_ROWS)
        document, offset = first_documents(order, low, high)
        sample = np.arange(low, high, dtype=np.int64)
        provenance = {
            "sample": sample,
            "step": sample // int(job.meta["global_batch"]),
            "doc_id": doc_ids[document],
            "doc_offset": offset,
        }
        yield sequences.rows(low, high), provenance


@ray.remote(num_cpus=1, max_retries=3)
def _export_file_task(job: ExportJob, index: int) -> dict:
    """Write output file `index` (atomically), then its summary."""
    start, stop = job.samples(index)
    name = job.file_name(index)
    with job.out.open_atomic(name) as sink:
        if job.config.format == "hf":
            target = hf.schema(job.width, job.dtype)
            with hf.stream_writer(sink, target) as writer:
                for tokens, provenance in _batches(job, start, stop):
                    writer.write_batch(hf.record_batch(target, tokens, provenance))
        else:
            sink.write(litdata.header(stop - start, job.width * job.dtype.itemsize))
            for tokens, _ in _batches(job, start, stop):
                litdata.write_chunk_tokens(sink, tokens)
    summary = {
        "file": name,
        "first_sample": start,
        "samples": stop - start,
        "bytes": (stop - start) * job.width * job.dtype.itemsize,
    }
    job.out.write_json(job.summary_path(index), summary)
    return summary


def _claim(out: RunDirectory, claim: dict) -> None:
    """Record what OUT holds, or refuse if it already holds another export."""
    if out.exists(CLAIM_FILE):
        held = out.read_json(CLAIM_FILE)
        if held != claim:
            changed = sorted(key for key in claim if held.get(key) != claim[key])
            differs = ", ".join(changed)
            raise UserError(
                f"{out.location}: holds another export (differs in {differs}); remove it or choose another --out"
            )
        return
    if out.list_files(""):
        raise UserError(f"{out.location}: not empty and not a pileline export; choose an empty or new --out")
    out.write_json(CLAIM_FILE, claim)


def _write_doc_ids(run_dir: str, meta: dict, out: RunDirectory) -> None:
    """doc-ids.npy: the doc_id of every document of the documents files, in order, streamed by row group."""
    if out.exists(DOC_IDS_FILE):
        return
    tables = [pq.ParquetFile(os.path.join(run_dir, tokens_path(f"{d['file']}.parquet"))) for d in meta["documents"]]
    final = out.path(DOC_IDS_FILE)
    temporary = f"{final}{TMP_MARK}doc-ids.npy"
    array = np.lib.format.open_memmap(
        temporary, mode="w+", dtype=np.int64, shape=(sum(t.metadata.num_rows for t in tables),)
    )
    filled = 0
    for table in tables:
        for batch in table.iter_batches(columns=["doc_id"]):
            array[filled : filled + batch.num_rows] = batch.column(0).to_numpy()
            filled += batch.num_rows
    array.flush()
    del array
    os.replace(temporary, final)


def _write_index(job: ExportJob, summaries: list[dict], fingerprint: str) -> None:
    """The files that make OUT a dataset, written after every data file."""
    out = job.out
    if job.config.format == "hf":
        count = job.meta["total_samples"]
        what = "training sequences" if job.config.split is None else f"{job.config.split} sequences"
        order = "training order" if job.config.split is None else "file order"
        description = f"pileline export of {job.run_dir}: {count} {what} of {job.width} tokens in {order}"
        out.write_json("dataset_info.json", hf.dataset_info(job.width, job.dtype, description))
        out.write_json("state.json", hf.state([s["file"] for s in summaries], fingerprint))
        return
    chunks = [litdata.chunk_entry(s["file"], s["samples"], job.width, job.dtype.itemsize) for s in summaries]
    out.write_json(
        "index.json", litdata.index(chunks, job.dtype, job.rows_per_file, job.config.target_bytes(), fingerprint)
    )


def export_run(
    run_dir: str, out_location: str, config: ExportConfig, max_in_flight: int | None, progress: Progress
) -> dict:
    """Export the run's sequences to `out_location` with Ray tasks (Ray must be up); returns what was written."""
    for location in (run_dir, out_location):
        if is_uri(location):
            raise UserError(f"{location}: export reads and writes local or mounted paths only")
    run_dir = os.path.abspath(run_dir)
    sequences_json = os.path.join(run_dir, sequences_meta(config.split))
    meta = SequenceShards(run_dir, config.split).meta
    total = int(meta["total_samples"])
    if not meta.get("sequences", True):
        raise UserError(f"{sequences_json}: written with shards.sequences: false; export reads the sequence shards")
    if total == 0:
        raise UserError(f"{sequences_json}: the run has no sequences to export")
    row_bytes = int(meta["tokens_per_sample"]) * np.dtype(meta["dtype"]).itemsize
    rows_per_file = max(1, config.target_bytes() // row_bytes)
    with open(sequences_json, "rb") as stream:
        sequences_digest = hashlib.sha256(stream.read()).hexdigest()
    out = RunDirectory(out_location)
    claim = {
        "format": config.format,
        "rows_per_file": rows_per_file,
        "run": run_dir,
        "sequences_json_sha256": sequences_digest,
    }
    if config.split is not None:
        claim["split"] = config.split
    _claim(out, claim)
    out.remove_temporaries()
    _write_doc_ids(run_dir, meta, out)
    job = ExportJob(run_dir, out, config, meta, rows_per_file, -(-total // rows_per_file))
    summaries = map_items(
        out,
        _export_file_task,
        range(job.files),
        job.summary_path,
        lambda index: (job, index),
        InFlightLimit(max_in_flight),
        progress,
        f"export: {config.format}",
        "files",
    )
    fingerprint = hashlib.sha256(f"{sequences_digest}\0{config.format}\0{rows_per_file}".encode()).hexdigest()[:16]
    _write_index(job, summaries, fingerprint)
    return {
        "out": out_location,
        "format": config.format,
        "files": job.files,
        "samples": total,
        "rows_per_file": rows_per_file,
    }
