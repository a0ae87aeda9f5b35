"""Sequence shards written from an `s3://` run directory: requests to the object store and time per step.

    python benchmarks/s3_sequences.py [--docs 20000] [--shard-kib 1024] [--work DIR] [--smoke]

A seeded sample corpus on local disk, run by `pileline run --num-cpus 2` into a run directory on a
real S3 server (moto's, on 127.0.0.1; `tests/s3_server_for_tests.py`) with `shards.shard_bytes` of
`--shard-kib` so that there are dozens of documents and sequence files. Reported from the server's
request log: the GET requests that read the documents files, the pieces and the scatter files (the
tokens' way to the sequence shards), against the document pieces of every sample (what one range
request per piece would make); and the seconds of each sequence step, from the run's phase lines.
moto answers a request in about a millisecond on loopback; a real object store takes 10-50 ms
and caps requests per prefix, so the request counts are what carries over, not the seconds.
`--smoke` (CI) runs without dedup.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from pipeline.formats.order_file import load_training_order
from pipeline.formats.run_directory import RunDirectory
from pipeline.sample.corpus import write_sample_corpus
from stages.training_order import sample_pieces

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from s3_server_for_tests import s3_server

BUCKET = "pileline-bench"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
"""moto's request log colours the method."""
PHASE_LINE = re.compile(r"^(tokens: [^:]+): .* ([\d,.]+) s$")
READS = {
    "documents files (.bin)": re.compile(r"/tokens/documents-\d+\.bin"),
    "pieces": re.compile(r"/pieces/.*\.arrow"),
    "scatter": re.compile(r"/scatter/.*\.arrow"),
}


def _document_pieces(run: RunDirectory) -> int:
    """Pieces of documents over all samples: the range requests of reading each piece on its own."""
    meta = run.read_json("tokens/sequences.json")
    order, sizes = load_training_order(run, meta["seq_len"], meta["seed"], meta)
    return int(sample_pieces(order, sizes, 0, meta["total_samples"]).document.size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--shard-kib", type=int, default=1024, help="shards.shard_bytes in KiB")
    parser.add_argument("--work", type=Path, help="keep everything here (default: a temporary directory)")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="no dedup (its steps are a dozen slow rounds of requests to moto): a check, not a measurement",
    )
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="pileline-s3-"))
    work.mkdir(parents=True, exist_ok=True)
    write_sample_corpus(work / "sample", docs=args.docs, seed=5)
    log = work / "moto.log"
    with s3_server(BUCKET, log) as query:
        manifest = work / "s3.yaml"
        dedup = "{enabled: false}" if args.smoke else "{preset: pythia}"
        manifest.write_text(
            f"inputs: ['{work / 'sample' / 'train'}/*.jsonl.zst']\noutput: 's3://{BUCKET}/run{query}'\n"
            f"partition_docs: 1000\ndedup: {dedup}\nshards: {{shard_bytes: {args.shard_kib << 10}}}\n"
        )
        started = time.monotonic()
        finished = subprocess.run(
            [sys.executable, "-m", "pipeline.cli.main", "run", str(manifest), "--num-cpus", "2"],
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.monotonic() - started
        (work / "run.log").write_text(finished.stdout + finished.stderr)
        if finished.returncode != 0:
            sys.exit(f"the run failed:\n{finished.stderr[-3000:]}")
        run = RunDirectory(f"s3://{BUCKET}/run{query}")
        outputs = orjson.loads(run.read_bytes("manifest.json"))["outputs"]
        pieces = _document_pieces(run)
    files = {
        kind: sum(re.search(rf"tokens/{kind}-\d+\.bin$", path) is not None for path in outputs)
        for kind in ("documents", "sequences")
    }
    gets = [line for line in ANSI.sub("", log.read_text()).splitlines() if '"GET ' in line]
    reads = {name: sum(pattern.search(line) is not None for line in gets) for name, pattern in READS.items()}
    phases = {
        m.group(1): float(m.group(2).replace(",", ""))
        for m in map(PHASE_LINE.match, (finished.stdout + finished.stderr).splitlines())
        if m
    }

    print(
        f"{args.docs:,} docs, {files['documents']} documents files, {files['sequences']} sequence files; run "
        f"{seconds:.1f} s"
    )
    print(f"document pieces over all samples (one range request each, read piece by piece): {pieces:,}")
    print("\n| GET requests to | count |\n|---|---:|")
    for name, count in reads.items():
        print(f"| {name} | {count:,} |")
    print(f"| all three | {sum(reads.values()):,} |")
    print("\n| step | s |\n|---|---:|")
    for name, value in phases.items():
        if name.startswith("tokens: sequence"):
            print(f"| {name} | {value:.1f} |")
    print(f"\nwork directory: {work}")


if __name__ == "__main__":
    main()
