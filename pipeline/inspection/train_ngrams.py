"""`pileline ngrams`: the kept training text's n-grams, in the files lm-evaluation-harness's `get_train_overlap` reads.

`lm_eval.decontamination.decontaminate.get_train_overlap(docs_by_task_set, OUT, limit)` reads
`OUT/info.json` (`ngram_size`) and every `OUT/*.sorted.zst`: zstd text, one line `"<n-gram> <doc_id>"`
per n-gram occurrence, sorted, so equal n-grams are adjacent. An n-gram is what that function builds
for eval documents: `word_ngrams(Janitor().normalize_string(text), n)` (normalise, then split).

| step | reads | writes |
|---|---|---|
| runs (a task per partition) | its documents, minus those dedup removed | `OUT/runs/<partition>-<k>-<bucket>.zst` |
| merge (a task per bucket) | the bucket's runs, streamed | `OUT/ngrams_<bucket>.bkt.txt.sorted.zst`, runs deleted |
| info | | `OUT/info.json`: `{"title", "ngram_size"}` |

A run is one bucket's sorted lines from at most `RUN_LINES` lines held at once; the documents are the
partition's prepared ones minus the rows of `dedup/clusters.parquet` not kept.

A line goes to bucket `crc32(n-gram) mod buckets`, so equal n-grams meet in one file. Memory per
task is bounded by `RUN_LINES` (runs) or one line per run (merge), whatever the corpus size; the
driver holds the sorted doc_ids dedup removed (8 bytes each, shared with the tasks through Ray).
Empty buckets get no file (lm-eval's reader cannot map an empty file).
"""

from __future__ import annotations

import heapq
import io
import string
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import zstandard

from pipeline.formats.run_directory import RunDirectory
from pipeline.formats.run_layout import CLUSTERS
from pipeline.inspection.run_files import RunFiles
from pipeline.runtime.ray_or_local_map import parallel_map
from stages.eval_ngrams import janitor_ngrams, janitor_translation

RUN_LINES = 1_000_000
DEFAULT_BUCKETS = 16
INFO = "info.json"
RUNS_DIR = "runs"
DELETE_CHARS = string.punctuation
"""`get_train_overlap` normalises eval documents with a default `Janitor()`."""


def bucket_file(bucket: int) -> str:
    """lm-evaluation-harness's name for a sorted bucket of 13-grams."""
    return f"ngrams_{bucket}.bkt.txt.sorted.zst"


@dataclass(frozen=True)
class NgramsJob:
    """What every task of one `pileline ngrams` call shares: the run, the output, n, buckets and the removed doc_ids."""

    files: RunFiles
    out: RunDirectory
    n: int
    buckets: int
    removed: np.ndarray


def _write_run(out: RunDirectory, path: str, lines: list[str]) -> None:
    lines.sort()
    with out.open_atomic(path) as stream:
        with zstandard.ZstdCompressor(level=3).stream_writer(stream, closefd=False) as writer:
            writer.write("".join(f"{line}\n" for line in lines).encode("utf-8"))


def kept_documents(files: RunFiles, partition: str, removed: np.ndarray) -> pa.Table:
    """`doc_id` and `text` of the partition's documents the run kept: prepared, minus the sorted doc_ids `removed`."""
    docs = files.run.read_parquet(files.docs_path(partition), columns=["doc_id", "text"])
    return docs.filter(pa.array(~np.isin(docs.column("doc_id").to_numpy(), removed)))


def kept_texts(run_dir: str) -> list[str]:
    """Every training text the run kept (after decontamination, filters and dedup), in doc_id order."""
    files = RunFiles(run_dir)
    removed = removed_doc_ids(files)
    return [
        text
        for partition in files.train_partitions()
        for text in kept_documents(files, partition.name, removed).column("text").to_pylist()
    ]


def partition_runs(job: NgramsJob, partition: str) -> dict:
    """Write one partition's kept n-gram lines as sorted runs per bucket; returns the runs' paths and line count."""
    docs = kept_documents(job.files, partition, job.removed)
    doc_ids = docs.column("doc_id").to_numpy()
    translation = janitor_translation(DELETE_CHARS)
    pending: dict[int, list[str]] = {}
    held = written = 0
    runs: list[tuple[int, str]] = []

    def flush() -> None:
        nonlocal held
        for bucket in sorted(pending):
            path = f"{RUNS_DIR}/{partition}-{len(runs):05d}-{bucket:05d}.zst"
            _write_run(job.out, path, pending[bucket])
            runs.append((bucket, path))
        pending.clear()
        held = 0

    texts = docs.column("text")
    for row, doc_id in enumerate(doc_ids.tolist()):
        for ngram in janitor_ngrams(texts[row].as_py(), job.n, translation):
            pending.setdefault(zlib.crc32(ngram.encode("utf-8")) % job.buckets, []).append(f"{ngram} {doc_id}")
            held += 1
        if held >= RUN_LINES:
            written += held
            flush()
    written += held
    flush()
    return {"partition": partition, "lines": written, "runs": runs}


def _run_lines(out: RunDirectory, path: str) -> Iterator[str]:
    with out.filesystem.open_input_stream(out.path(path), compression=None) as raw:
        text = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(raw), encoding="utf-8")
        for line in text:
            yield line.rstrip("\n")


def merge_bucket(out: RunDirectory, bucket: int, runs: list[str]) -> dict:
    """Merge a bucket's sorted runs into its `.sorted.zst` file, streaming; then delete the runs."""
    lines = 0
    with out.open_atomic(bucket_file(bucket)) as stream:
        with zstandard.ZstdCompressor(level=3).stream_writer(stream, closefd=False) as writer:
            block: list[str] = []
            for line in heapq.merge(*(_run_lines(out, path) for path in runs)):
                block.append(line)
                if len(block) >= 65536:
                    writer.write(("\n".join(block) + "\n").encode("utf-8"))
                    lines += len(block)
                    block = []
            if block:
                writer.write(("\n".join(block) + "\n").encode("utf-8"))
                lines += len(block)
    for path in runs:
        out.delete(path)
    return {"bucket": bucket, "lines": lines, "file": bucket_file(bucket)}


def removed_doc_ids(files: RunFiles) -> np.ndarray:
    """The sorted doc_ids dedup removed (rows of `dedup/clusters.parquet` not kept); empty without dedup."""
    if not files.has_clusters():
        return np.zeros(0, dtype=np.int64)
    table = files.run.read_parquet(CLUSTERS, columns=["doc_id", "kept"])
    return np.sort(table.filter(pc.invert(table.column("kept"))).column("doc_id").to_numpy())


def write_train_ngrams(
    run_dir: str, out_dir: str, n: int = 13, buckets: int = DEFAULT_BUCKETS, max_in_flight: int | None = None
) -> dict:
    """Write the n-gram buckets and `info.json` of the run's kept training documents to `out_dir`; returns counts."""
    files = RunFiles(run_dir)
    out = RunDirectory(out_dir)
    out.remove_temporaries()
    job = NgramsJob(files, out, n, buckets, removed_doc_ids(files))
    partitions = [p.name for p in files.train_partitions()]

    def collect(found: list, summary: dict) -> list:
        found.append(summary)
        return found

    summaries = parallel_map(partition_runs, [(job, name) for name in partitions], collect, [], max_in_flight)
    by_bucket: dict[int, list[str]] = {}
    for summary in summaries:
        for bucket, path in summary["runs"]:
            by_bucket.setdefault(bucket, []).append(path)
    merged = parallel_map(merge_bucket, [(out, b, by_bucket[b]) for b in sorted(by_bucket)], collect, [], max_in_flight)
    produced = {m["file"] for m in merged}
    for path in out.list_files(""):
        if path.endswith(".sorted.zst") and "/" not in path and path not in produced:
            out.delete(path)
    out.delete_dir(RUNS_DIR)
    out.write_json(INFO, {"title": f"pileline n-grams of {files.location}", "ngram_size": n})
    return {
        "partitions": len(partitions),
        "buckets": len(merged),
        "lines": sum(m["lines"] for m in merged),
        "out": out_dir,
    }
