"""Where the end-to-end time goes: each pure stage function on the same partitions, and a real run's phases.

    python benchmarks/profile_stages.py [--corpus DIR] [--docs N] [--cpus 1] [--partition-docs 2000] [--work DIR]

Part 1, one process, CPU seconds: every train file is cut into partitions of `--partition-docs`
lines as the prepare phase cuts them, and each partition goes through the functions a run calls,
each timed on its own: streaming decompression and line splitting (`iter_line_chunks`),
`stages.read.parse_lines`, `normalize_batch`, `filter_batch`, `minhash.signatures`,
`lsh.band_keys` and `tokenize_batch` (on every document the filter kept, as the tokens phase does
before dropping duplicates). The configuration is `end_to_end.py`'s manifest (ftfy NFC, SlimPajama
filter, word 5-grams with 14 × 8 banding, GPT-2 + EOD).

Part 2: that manifest run for real by `pipeline.phases.runner.run_manifest` on an embedded Ray of `--cpus`
CPUs (`pileline_job.py`), with the wall time of each phase and the CPU seconds of all its processes.
The difference between part 2's CPU and part 1's sum is what the run costs beyond the stage functions:
Ray, Parquet and token files, the global dedup steps, interpreter start-up. Without --corpus a seeded
sample (~100 MB, 28,000 documents, or --docs) is written.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

from corpus import corpus_dir, text_megabytes, train_files
from end_to_end import grouped_phases, pileline_manifest, print_phases, run_pileline

from pipeline.formats.input_files import LineChunk, iter_line_chunks
from pipeline.manifest import Manifest, parse_manifest
from stages.filter import filter_batch
from stages.lsh import band_keys, lsh_params
from stages.minhash import signatures
from stages.normalize import normalize_batch
from stages.read import parse_lines
from stages.tokenize import load_tokenizer, tokenize_batch

STAGES = (
    ("read: decompress + lines", "pipeline.formats.input_files.iter_line_chunks"),
    ("read: parse", "stages.read.parse_lines"),
    ("normalize", "stages.normalize.normalize_batch"),
    ("filter", "stages.filter.filter_batch"),
    ("minhash", "stages.minhash.signatures"),
    ("lsh band keys", "stages.lsh.band_keys"),
    ("tokenize", "stages.tokenize.tokenize_batch"),
)


def profile(files: list[Path], manifest: Manifest) -> tuple[Counter, float, int]:
    """CPU seconds per stage over every partition of `files`, the input's text MB, and its documents."""
    seconds: Counter = Counter()
    tokenizer = load_tokenizer(manifest.tokenize)
    lsh = lsh_params(manifest.dedup)
    megabytes, docs = 0.0, 0

    def timed(stage: str, function, *args):
        started = time.process_time()
        result = function(*args)
        seconds[stage] += time.process_time() - started
        return result

    for index, path in enumerate(files):
        chunks = iter_line_chunks(str(path), manifest.partition_docs, manifest.read.max_doc_bytes)
        while (chunk := timed("read: decompress + lines", next, chunks, None)) is not None:
            if not isinstance(chunk, LineChunk):
                break
            table, _ = timed("read: parse", parse_lines, chunk.lines, chunk.first_line, index, str(path), manifest.read)
            megabytes += text_megabytes(table.column("text"))
            docs += table.num_rows
            table = timed("normalize", normalize_batch, table, manifest.normalize)
            kept, _ = timed("filter", filter_batch, table, manifest.filter)
            sig = timed("minhash", signatures, kept.column("text"), manifest.dedup)
            timed("lsh band keys", band_keys, sig, lsh.bands, lsh.rows)
            timed("tokenize", tokenize_batch, kept.column("text"), tokenizer, manifest.tokenize.append_eod)
    return seconds, megabytes, docs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus", type=Path, help="a Pile-layout directory (train/*.jsonl.zst); default: a generated sample"
    )
    parser.add_argument("--docs", type=int, help="documents of the generated sample (default 28,000, ~100 MB)")
    parser.add_argument("--cpus", type=int, default=1, help="CPUs of the real run's embedded Ray (default 1)")
    parser.add_argument("--partition-docs", type=int, default=2000, help="partition_docs (default 2000)")
    parser.add_argument("--work", type=Path, help="keep the corpus and the run here (default: a temporary directory)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="profile-bench-", dir="/tmp") as scratch:
        work = (args.work or Path(scratch)).resolve()
        work.mkdir(parents=True, exist_ok=True)
        corpus = corpus_dir(args.corpus, work, args.docs).resolve()
        files = train_files(corpus)
        config = pileline_manifest(corpus, work / "pileline", args.cpus, args.partition_docs, "datatrove", 0.8)
        manifest = parse_manifest(config, "end_to_end manifest")
        seconds, megabytes, docs = profile(files, manifest)

        env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
        run, timings = run_pileline(config, work, env)

    total = sum(seconds.values())
    print(f"{docs:,} documents, {megabytes:.1f} MB of text, partitions of {args.partition_docs} lines\n")
    print("### Stage functions, one process (CPU seconds)\n")
    print("| stage | function | CPU s | share | MB/s (one core) |")
    print("|---|---|---:|---:|---:|")
    for stage, function in STAGES:
        print(
            f"| {stage} | `{function}` | {seconds[stage]:.2f} | {seconds[stage] / total:.1%} | "
            f"{megabytes / seconds[stage]:.1f} |"
        )
    print(f"| all stage functions | | {total:.2f} | 100% | {megabytes / total:.2f} |")
    print(
        f"\n### The real run ({args.cpus} CPU{'s' if args.cpus > 1 else ''}): {run.wall:.1f} s wall, "
        f"{run.cpu:.1f} CPU s of all its processes, peak RSS {run.peak_rss / 2**20:,.0f} MB"
    )
    print(
        f"\nCPU beyond the stage functions (Ray, Parquet and token files, global dedup, start-up): "
        f"{run.cpu - total:.1f} s ({(run.cpu - total) / run.cpu:.0%} of the run's CPU)"
    )
    print_phases(
        "pileline",
        grouped_phases(timings["phases"]),
        run.wall,
        timings["run_seconds"],
        "(Ray start and stop, driver work between phases)",
    )


if __name__ == "__main__":
    main()
