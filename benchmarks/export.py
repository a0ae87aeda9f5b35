"""`pileline export` of a run: seconds and MB/s per format, the exported sequences checked against the run's.

    python benchmarks/export.py [--docs 280000] [--work DIR] [--num-cpus 2] [--smoke]

Writes the seeded sample of `--docs` documents (280,000: about 1 GB of text) and runs
`manifests/demo.yaml` on it, unless WORK already holds that run; then times `pileline export RUN
--format hf` and `--format litdata` (each a fresh command: Ray start-up included), and once more on
the finished output (everything reused: the cost of a resume that has nothing left to do). Every
exported sequence is then read back with `datasets.load_from_disk` and `litdata.StreamingDataset`
and compared with `SequenceShards`; the script exits non-zero on any difference. `--smoke` (CI) leaves
out the all-reused rerun.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

import numpy as np

from pipeline.formats.token_reader import SequenceShards

CHECK_ROWS = 4096


def _timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def _size(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file() and ".pileline" not in p.parts)


def _check_hf(out: Path, sequences: SequenceShards) -> bool:
    import datasets

    dataset = datasets.load_from_disk(str(out)).with_format("numpy")
    if dataset.num_rows != len(sequences):
        return False
    for start in range(0, len(sequences), CHECK_ROWS):
        stop = min(len(sequences), start + CHECK_ROWS)
        if not np.array_equal(dataset[start:stop]["input_ids"], sequences.rows(start, stop)):
            return False
    return True


def _check_litdata(out: Path, sequences: SequenceShards) -> bool:
    from litdata import StreamingDataset
    from litdata.streaming.item_loader import TokensLoader

    width = int(sequences.meta["tokens_per_sample"])
    dataset = StreamingDataset(str(out), item_loader=TokensLoader(block_size=width), shuffle=False)
    if len(dataset) != len(sequences):
        return False
    for start in range(0, len(sequences), CHECK_ROWS):
        stop = min(len(sequences), start + CHECK_ROWS)
        if not np.array_equal(np.stack([dataset[i] for i in range(start, stop)]), sequences.rows(start, stop)):
            return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=280_000)
    parser.add_argument("--work", type=Path, help="where the sample, run and exports go (default: a temporary one)")
    parser.add_argument("--num-cpus", type=int, default=2)
    parser.add_argument(
        "--smoke", action="store_true", help="export each format once (no all-reused rerun): a check, not a measurement"
    )
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="pileline-export-"))
    work.mkdir(parents=True, exist_ok=True)
    pileline = [sys.executable, "-m", "pipeline.cli.main"]
    run = work / "pileline-demo" / "run"
    if not (run / "tokens" / "sequences.json").exists():
        sample = work / "pileline-demo" / "sample"
        subprocess.run([*pileline, "sample", str(sample), "--docs", str(args.docs)], check=True)
        with resources.as_file(resources.files("manifests") / "demo.yaml") as manifest:
            run_seconds = _timed([*pileline, "run", str(manifest), "--num-cpus", str(args.num_cpus), "--quiet"], work)
        print(f"run of {args.docs:,} documents: {run_seconds:,.1f} s")
    sequences = SequenceShards(run)
    width = int(sequences.meta["tokens_per_sample"])
    tokens_bytes = len(sequences) * width * np.dtype(sequences.meta["dtype"]).itemsize
    print(f"{len(sequences):,} sequences of {width} tokens: {tokens_bytes / 1e6:,.1f} MB of tokens")
    print()
    print("| format | files | MB written | export s | MB/s | again (all reused) s | read back equal |")
    print("|---|---:|---:|---:|---:|---:|---|")
    checks = {"hf": _check_hf, "litdata": _check_litdata}
    failed = False
    for fmt, check in checks.items():
        out = work / f"export-{fmt}"
        shutil.rmtree(out, ignore_errors=True)
        export = [*pileline, "export", str(run), "--format", fmt, "--out", str(out), "--num-cpus", str(args.num_cpus)]
        seconds = _timed([*export, "--quiet"], work)
        again = float("nan") if args.smoke else _timed([*export, "--quiet"], work)
        files = len(list(out.glob("*.arrow" if fmt == "hf" else "chunk-*.bin")))
        equal = check(out, sequences)
        failed |= not equal
        size = _size(out) / 1e6
        verdict = "yes" if equal else "NO"
        print(f"| {fmt} | {files} | {size:,.1f} | {seconds:,.1f} | {size / seconds:,.1f} | {again:,.1f} | {verdict} |")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
