"""Scale: the demo job on the sample at 0.1, 1 and 3 GB of text: seconds per MB of each phase, peak memory of the
driver and the workers, and run-directory bytes per input byte.

    python benchmarks/scale.py [--gb 0.1,1,3 | --docs N,N,…] [--cpus 2] [--partition-docs 10000] [--work DIR]

Each size is `pileline sample`'s generator (seed 0, ~3,860 bytes of text per document: 0.1 GB = 25,900
documents, 3 GB = 777,000) run with `manifests/demo.yaml` (ftfy NFC, SlimPajama filter, threshold-true
dedup with the sample's val file as holdout, GPT-2 + EOD, 2049-token sequences in 1 GiB shards) on an
embedded Ray of `--cpus` CPUs by `pileline_job.py`, measured with every process it starts
(`process_tree.run_measured`). Corpora are kept under `--work` and reused by later invocations.

Per phase: wall seconds per MB of text (train and val documents; the dedup steps as one row). "after the
last phase" is the driver's work from the sequences' end to the return: output hashes not taken by the
writing tasks, manifest.json, removing the intermediates, Ray's stop. Memory: peak private memory (RSS
that is neither file-backed nor shared: a task's memory-mapped token files are page cache, not its own)
of the driver, of the largest other process (a Ray worker, named by the task it ran then, or the raylet)
and of all of them at once, and the peak of the machine's used memory above what was used before the
run (MemTotal − MemAvailable: Ray's shared object store counted once). Disk: the finished (lean) run
directory and everything in it but `tokens/`, per byte of compressed input (train files and holdout).
The Pile is not extrapolated from the largest run (a linear per-MB extrapolation is no estimate): the script
points to `benchmarks/pile_exchanges.py` and BENCHMARKS.md's estimate instead. The script exits 1 if a run fails.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

import orjson
from end_to_end import run_pileline
from process_tree import Measured
from scaling import PILE_POINTER, machine, manifest_for

from pipeline.sample.corpus import write_sample_corpus

BYTES_PER_DOC = 3_856
"""Text bytes per document of the generated sample (1,079.7 MB for 280,000 documents)."""
MANIFEST = Path(__file__).resolve().parents[1] / "manifests" / "demo.yaml"
TAIL = ("tokens: documents", "tokens: training order", "tokens: sequences", "after the last phase")
"""What runs after tokenizing: the serial tail that issue 16 bounds to 10 % of the run each."""


def phase_row(phase: str) -> str:
    """The table row a phase is counted in: the dedup steps as one, input listing with the prepare phase."""
    if phase.startswith("dedup"):
        return "dedup (all steps)"
    if phase == "inputs":
        return "prepare"
    return phase


def corpus_of(work: Path, docs: int) -> tuple[Path, int]:
    """The sample of `docs` documents under `work` and its bytes of text, written once (`summary.json`, written
    last, says it is complete)."""
    out = work / f"corpus-{docs}"
    done = out / "summary.json"
    if not done.exists():
        summary = write_sample_corpus(out, docs=docs, seed=0)
        print(f"sample corpus: {summary.describe()}", file=sys.stderr, flush=True)
        done.write_bytes(orjson.dumps({"text_bytes": summary.text_bytes, "describe": summary.describe()}))
    return out, orjson.loads(done.read_bytes())["text_bytes"]


def tree_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def measure(work: Path, docs: int, cpus: int, partition_docs: int) -> dict:
    """Run one size; its timings, memory and disk figures."""
    corpus, text_bytes = corpus_of(work, docs)
    side = work / f"run-{docs}"
    run = side / "run"
    side.mkdir(exist_ok=True)
    shutil.rmtree(run, ignore_errors=True)
    manifest = manifest_for(corpus, run, cpus, partition_docs, template=MANIFEST)
    measured, timings = run_pileline(manifest, side, dict(os.environ), memory=True)
    record = orjson.loads((run / "manifest.json").read_bytes())
    rows: Counter = Counter()
    for phase, seconds in timings["phases"].items():
        rows[phase_row(phase)] += seconds
    rows["after the last phase"] = timings["after_phases"]
    rows["before the first phase (Ray start)"] = timings["before_phases"]
    memory: dict[str, list[int]] = {}
    for phase, peaks in timings["memory_by_phase"].items():
        row = memory.setdefault(phase_row(phase), [0, 0])
        row[0], row[1] = max(row[0], peaks["used"]), max(row[1], peaks["shared"])
    inputs = sum(entry["bytes"] for entry in record["inputs"])
    return {
        "docs": record["totals"]["lines"],
        "kept": record["totals"]["kept"],
        "text_mb": text_bytes / 1e6,
        "input_bytes": inputs,
        "run_bytes": tree_bytes(run),
        "tokens_bytes": tree_bytes(run / "tokens"),
        "seconds": timings["run_seconds"],
        "rows": dict(rows),
        "memory": memory,
        "measured": measured,
    }


def report(results: list[dict], cpus: int) -> None:
    print(f"\nmachine: {machine()}; {cpus} CPUs; manifest {MANIFEST.name}\n")
    print("### Per size\n")
    print(
        "| text MB | documents | input MB (zstd) | run s | MB/s | driver peak | largest other process peak | "
        "all processes' peak | machine memory over idle | run dir / input | run dir − tokens/ / input |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        m: Measured = r["measured"]
        print(
            f"| {r['text_mb']:,.1f} | {r['docs']:,} | {r['input_bytes'] / 1e6:,.1f} | {r['seconds']:.1f} | "
            f"{r['text_mb'] / r['seconds']:.1f} | {m.root_peak_private / 2**20:,.0f} MiB | "
            f"{m.largest_child_peak_private / 2**20:,.0f} MiB (`{(m.largest_child or '?').split()[0]}`) | "
            f"{m.peak_private / 2**30:.2f} GiB | "
            f"{m.system_peak_growth / 2**30:.2f} GiB | "
            f"{r['run_bytes'] / r['input_bytes']:.2f} | {(r['run_bytes'] - r['tokens_bytes']) / r['input_bytes']:.2f} |"
        )
    phases = list(dict.fromkeys(p for r in results for p in r["rows"]))
    sizes = " | ".join(f"{r['text_mb']:,.0f} MB" for r in results)
    print("\n### Seconds per MB of text, per phase (ms/MB), and each phase's share of the run\n")
    print(f"| phase | {sizes} | share at {results[-1]['text_mb']:,.0f} MB |")
    print("|---|" + "---:|" * (len(results) + 1))
    for phase in phases:
        cells = " | ".join(f"{1e3 * r['rows'].get(phase, 0.0) / r['text_mb']:.2f}" for r in results)
        share = results[-1]["rows"].get(phase, 0.0) / results[-1]["seconds"]
        print(f"| {phase} | {cells} | {100 * share:.1f} % |")
    cells = " | ".join(f"**{1e3 * r['seconds'] / r['text_mb']:.2f}**" for r in results)
    print(f"| **run** | {cells} | 100 % |")

    print("\n### Peak machine memory over idle while each phase ran (GiB; of it Ray's object store, Shmem)\n")
    print(f"| phase | {sizes} |")
    print("|---|" + "---:|" * len(results))
    for phase in dict.fromkeys(p for r in results for p in r["memory"]):
        cells = " | ".join(
            f"{r['memory'].get(phase, [0, 0])[0] / 2**30:.2f} ({r['memory'].get(phase, [0, 0])[1] / 2**30:.2f})"
            for r in results
        )
        print(f"| {phase} | {cells} |")

    if len(results) >= 2:
        a, b = results[-2], results[-1]
        cost = (b["seconds"] / b["text_mb"]) / (a["seconds"] / a["text_mb"])
        memory = b["measured"].system_peak_growth / max(1, a["measured"].system_peak_growth)
        summed = b["measured"].peak_private / max(1, a["measured"].peak_private)
        driver = b["measured"].root_peak_private / max(1, a["measured"].root_peak_private)
        worker = b["measured"].largest_child_peak_private / max(1, a["measured"].largest_child_peak_private)
        print(
            f"\n{b['text_mb']:,.0f} MB against {a['text_mb']:,.0f} MB: cost per MB {cost:.2f}× (target ≤ 1.15×), "
            f"machine memory over idle {memory:.2f}× (target ≤ 1.20×), all processes' private memory {summed:.2f}×, "
            f"driver {driver:.2f}×, largest other process {worker:.2f}×"
        )
    largest = results[-1]
    tail = max(largest["rows"].get(phase, 0.0) / largest["seconds"] for phase in TAIL)
    print(f"largest share of a step after tokenize at {largest['text_mb']:,.0f} MB: {100 * tail:.1f} % (target ≤ 10 %)")

    print(f"\n{PILE_POINTER}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", default="0.1,1,3", help="sizes in GB of text, smallest first")
    parser.add_argument("--docs", help="sizes in documents instead of --gb (a smoke run: --docs 200,400)")
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--partition-docs", type=int, default=10_000)
    parser.add_argument("--work", type=Path, help="keep corpora and runs here (default: a temporary directory)")
    args = parser.parse_args()
    if args.docs:
        sizes = [int(n) for n in args.docs.split(",")]
    else:
        sizes = [round(float(gb) * 1e9 / BYTES_PER_DOC) for gb in args.gb.split(",")]

    with tempfile.TemporaryDirectory(prefix="scale-", dir="/tmp") as scratch:
        work = (args.work or Path(scratch)).resolve()
        work.mkdir(parents=True, exist_ok=True)
        results = []
        for docs in sizes:
            print(f"running {docs:,} documents …", file=sys.stderr, flush=True)
            results.append(measure(work, docs, args.cpus, args.partition_docs))
        report(results, args.cpus)


if __name__ == "__main__":
    main()
