"""The tokens phase's training-order step alone, at the Pile's shape: seconds per part at 2 M and 20 M documents.

    python benchmarks/training_order.py [--docs 2000000,20000000] [--repeat 3] [--seed 0] [--work DIR]

`partitions.py` times this step inside whole runs (`tokens: training order`); here only the step runs, on a
synthetic `tokens/` written once per size under `--work` (default: a temporary directory): documents files cut
as the documents step cuts them (a document goes to file ⌊first token's byte ÷ 1 GiB⌋), each with its table of
items, holding documents of the token counts the 24-word documents of `short_documents.py` get from GPT-2 with
EOD (25 + Poisson(0.36), 25.4 on average) in one of its 10 subsets each, seeded.

Each measurement is a fresh Python process, as a Ray worker meets the step (nothing of it in memory yet, but
the modules its earlier tasks imported), that runs `pipeline.phases.tokens.write_order` (what the step's one
task runs) with `manifests/demo.yaml`'s settings (seq_len 2048, seed 1234, one pass, mixture none) and times
the whole call, its peak resident memory, and each function it calls by name (a part the code does not have is
shown as "—"); then, in the same process, the shuffle at its heart alone: `RandomState.shuffle` of one uint64
per document (GPT-NeoX's doc_idx shuffle, a random permutation). Every figure is the median over `--repeat`
processes. Pin the command to one core (`taskset -c 1`).

The table gives seconds and nanoseconds per document for each size, and the larger size against the smaller per
document (issue 27's target for a step: ≤ 1.3×).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
from short_documents import SUBSETS

import pipeline.phases.tokens as tokens
from pipeline.formats.parquet_stream import StableParquetWriter
from pipeline.formats.run_directory import RunDirectory
from pipeline.formats.run_layout import documents_file, tokens_path
from pipeline.formats.token_files import indexed_writer
from pipeline.manifest import load_manifest
from pipeline.phases.tokens_plan import TokensPlan

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "manifests" / "demo.yaml"
PARTS = {
    "sizes": "_document_sizes",
    "subset names": "_document_names",
    "mixture repeats": "mixture_repeats",
    "mixture summary": "_mixture_summary",
    "order arrays": "build_training_order",
    "order file": "_write_order_file",
}
"""Row label → the name, in `pipeline.phases.tokens`, of a function the step calls (timed where it is called)."""
SHUFFLE = "shuffle alone (uint64 per document)"
PEAK = "peak resident growth"
WRITE_DOCUMENTS = 1 << 20
"""Documents generated and written at a time."""


def write_tokens(root: Path, docs: int, seed: int, shard_bytes: int) -> list[dict]:
    """A run directory at `root` whose `tokens/` holds `docs` synthetic documents as the documents step leaves
    them (MMIDIDX files of uint16 tokens, each with its Parquet table); returns the documents files' summaries."""
    run = RunDirectory(str(root))
    rng = np.random.default_rng(seed)
    sizes = (25 + rng.poisson(0.36, docs)).astype(np.int32)
    subsets = rng.integers(0, len(SUBSETS), docs)
    dtype = np.dtype(np.uint16)
    starts = (np.cumsum(sizes, dtype=np.int64) - sizes) * dtype.itemsize
    file_of = starts // shard_bytes
    count = int(file_of[-1]) + 1 if docs else 1
    names = np.array(SUBSETS, dtype=object)
    files = []
    for index in range(count):
        name = documents_file(index, count)
        first, last = np.searchsorted(file_of, [index, index + 1])
        digests: dict[str, str] = {}
        with (
            indexed_writer(run, tokens_path(name), dtype, digests) as writer,
            run.open_atomic(tokens_path(f"{name}.parquet")) as stream,
            StableParquetWriter(stream, tokens.DOCUMENTS_SCHEMA) as table_writer,
        ):
            for low in range(int(first), int(last), WRITE_DOCUMENTS):
                high = min(low + WRITE_DOCUMENTS, int(last))
                block = sizes[low:high]
                writer.add_documents(np.zeros(int(block.sum()), dtype), block)
                ids = np.arange(low, high, dtype=np.int64)
                table_writer.write(
                    pa.table(
                        {
                            "doc_id": ids,
                            "source": pa.array(["train/00.jsonl.zst"] * ids.size),
                            "line": ids,
                            "pile_set_name": pa.array(names[subsets[low:high]]),
                            "tokens": pa.array(block),
                            "file": pa.array([name] * ids.size),
                            "item": ids - int(first),
                        }
                    )
                )
        files.append({"file": name, "items": int(last - first), "tokens": int(sizes[first:last].sum())})
    return files


def prepared(work: Path, docs: int, seed: int) -> tuple[Path, list[dict]]:
    """The synthetic run directory for `docs` documents, written on first use."""
    root = work / f"order-{docs}-{seed}"
    done = root / "documents.json"
    if not done.exists():
        shard_bytes = load_manifest(DEMO).shards.shard_bytes
        files = write_tokens(root, docs, seed, shard_bytes)
        done.write_text(json.dumps(files))
    return root, json.loads(done.read_text())


def measure_in_this_process(root: Path, files: list[dict]) -> dict[str, float]:
    """Run the step once with its parts timed, then the shuffle alone; seconds by row label."""
    seconds: dict[str, float] = {}

    def timed(label, function):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                seconds[label] = seconds.get(label, 0.0) + time.perf_counter() - start

        return wrapper

    pa.array([0]).to_numpy()  # pyarrow imports pandas on a first to_numpy: a Ray worker's earlier tasks did
    for label, name in PARTS.items():
        if hasattr(tokens, name):
            setattr(tokens, name, timed(label, getattr(tokens, name)))
    manifest = load_manifest(DEMO, {"inputs": ["-"], "output": str(root)})
    plan = TokensPlan(RunDirectory(str(root)), "stages/prepare", None, "stages/tokens", "stages/layout", (), manifest)
    resident = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    summary = tokens.write_order(plan, files)
    seconds["whole step"] = time.perf_counter() - start
    seconds[PEAK] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - resident) * 1024
    seconds["samples"] = summary["total_samples"]
    docs = sum(f["items"] for f in files)
    packed = np.arange(docs, dtype=np.uint64)
    start = time.perf_counter()
    np.random.RandomState(manifest.seed).shuffle(packed)
    seconds[SHUFFLE] = time.perf_counter() - start
    return seconds


def measure(root: Path, files: list[dict], repeat: int) -> dict[str, float]:
    """The median of `repeat` fresh processes' timings."""
    runs = []
    for _ in range(repeat):
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(root), json.dumps(files)],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def report(docs: list[int], results: dict[int, dict[str, float]]) -> None:
    small, large = docs[0], docs[-1]
    scale = large / small
    rows = ["whole step", *PARTS, SHUFFLE]  # PEAK is shown below the table
    head = " | ".join(f"{d / 1e6:g} M docs: s | ns/doc" for d in docs)
    print(f"\n| part | {head} | {large / 1e6:g} M ÷ {small / 1e6:g} M per document |")
    print("|---|" + "---:|---:|" * len(docs) + "---:|")
    for row in rows:
        cells = []
        for d in docs:
            value = results[d].get(row)
            cells.append("— | —" if value is None else f"{value:.3f} | {value / d * 1e9:.0f}")
        first, last = results[small].get(row), results[large].get(row)
        ratio = "—" if first is None or last is None or len(docs) < 2 else f"{last / first / scale:.2f}×"
        label = f"**{row}**" if row == "whole step" else row
        print(f"| {label} | " + " | ".join(cells) + f" | {ratio} |")
    peaks = [f"{results[d][PEAK] / 2**20:,.0f} MiB ({results[d][PEAK] / d:.1f} bytes per document)" for d in docs]
    print(f"\nthe step's peak resident memory over the process's before it: {', '.join(peaks)}")
    print("samples: " + ", ".join(f"{int(results[d]['samples']):,} at {d:,} documents" for d in docs))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(measure_in_this_process(Path(sys.argv[2]), json.loads(sys.argv[3]))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", default="2000000,20000000", help="document counts, smallest first")
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per size (the median is shown)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic sizes and subsets")
    parser.add_argument("--work", type=Path, help="keep the synthetic tokens/ here (default: a temporary directory)")
    args = parser.parse_args()
    docs = [int(float(d)) for d in args.docs.split(",")]
    with tempfile.TemporaryDirectory(prefix="training-order-", dir="/tmp") as scratch:
        work = (args.work or Path(scratch)).resolve()
        work.mkdir(parents=True, exist_ok=True)
        results = {}
        for count in docs:
            root, files = prepared(work, count, args.seed)
            print(f"measuring {count:,} documents …", file=sys.stderr, flush=True)
            results[count] = measure(root, files, args.repeat)
        affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
        print(f"training-order step, {args.repeat} fresh processes per size (median); cores {affinity}")
        report(docs, results)


if __name__ == "__main__":
    main()
