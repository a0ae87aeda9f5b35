"""The Pile's shape: many short documents in many partitions. Seconds per step, driver memory, every exchange.

    python benchmarks/partitions.py [--docs 2000000] [--partition-docs 10000,1000,100] [--preset threshold-true,pythia]
                                    [--partition-bytes N,…] [--words 24] [--files 10] [--seed 0] [--cpus 2] [--work DIR]

The corpus is `short_documents.py`'s (seeded; 24 words ≈ 150 bytes of text per document, 10 subsets, 1 % exact
copies, 2 % one-word variants, `--files` train files), written once per size under `--work` and reused by later
invocations. Each combination of `--docs`, `--preset`, `--partition-docs` and `--partition-bytes` (default: the
manifest's) runs `manifests/demo.yaml` with `filter: {preset: cerebras}` and that `dedup.preset` (no holdout; one
epoch) on an embedded Ray of `--cpus` CPUs through `pileline_job.py`, measured with every process it starts
(`process_tree.run_measured`); the run directory is removed afterwards.

Per run: wall seconds of every step (the components rounds as one row), the driver's peak private memory, the
peak of the machine's used memory over idle and of the largest other process (a Ray worker), the partitions
and their largest line bytes, and per exchange of the dedup phase its entry in `stats/dedup.json`'s
`exchanges` or else the dedup work directory's `exchanges.json` (step, mappers, reducers, pieces written and
read, files written and read, bytes, and requests where given), "—" when the run reports none. With
`--memory`, the machine's peak per step too (`pileline_job.py --memory`).

Then the ratios the Pile's shape asks for (issue 27's targets): per preset and size, the dedup phase at each
partition count against the fewest (≤ 2× at 10× the partitions); per preset and partition size, the larger
size against the smaller per document, for the whole run (≤ 1.2×) and each step of ≥ 5 s (≤ 1.3×), the driver's
bytes per added document (≤ 10) and each exchange's pieces against its bytes (pieces must not grow faster).
With documents of ~500 KB (`--words 80000 --docs 2000 --files 1`) and several `--partition-bytes`, the last line
gives a task's memory as a line over its partition's bytes: the largest worker's private peak against the largest
partition's line bytes, fitted over the runs.
The script exits 1 if a run fails. Timings on a machine shared with other work vary by tens of percent.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import orjson
from end_to_end import run_pileline
from process_tree import Measured
from scaling import grouped, machine, manifest_for, phase_group
from short_documents import cached_short_documents

DEMO = Path(__file__).resolve().parents[1] / "manifests" / "demo.yaml"
EXCHANGE_FIELDS = ("mappers", "reducers", "pieces_written", "pieces_read", "files_written", "files_read", "bytes")
STEP_FLOOR_SECONDS = 5.0
"""Steps shorter than this are left out of the per-document comparison: their ratios are mostly noise."""
FIT_FLOOR_BYTES = 8 << 20
TARGETS = {"partitions": 2.0, "run": 1.2, "step": 1.3, "driver_bytes": 10.0}


def integers(text: str) -> list[int]:
    return [int(float(item)) for item in text.split(",")]


def run_manifest_of(
    corpus: Path, run: Path, cpus: int, preset: str, partition_docs: int, partition_bytes: int | None
) -> dict:
    """The demo manifest for `corpus` with the cerebras filter and `preset` dedup, no holdout."""
    data = manifest_for(corpus, run, cpus, partition_docs, template=DEMO)
    data["filter"] = {"preset": "cerebras"}
    data["dedup"] = {"enabled": True, "preset": preset, "holdout": []}
    if partition_bytes is not None:
        data["partition_bytes"] = partition_bytes
    return data


def exchanges_of(run: Path) -> list[dict] | None:
    """The dedup phase's exchanges: `stats/dedup.json`'s `exchanges`, else the dedup work directory's
    `exchanges.json` (not an output, since it depends on the partitions); None when the run reports neither."""
    dedup = orjson.loads((run / "stats" / "dedup.json").read_bytes())
    if "exchanges" in dedup:
        return dedup["exchanges"]
    found = sorted(run.glob("stages/dedup-*/exchanges.json"))
    return orjson.loads(found[0].read_bytes()) if found else None


def partitions_of(run: Path) -> tuple[int, int]:
    """(partitions, largest line bytes of one) from the prepare phase's partition summaries."""
    sizes = [orjson.loads(p.read_bytes())["line_bytes"] for p in run.glob("stages/prepare-*/0*.json")]
    return len(sizes), max(sizes, default=0)


def measure(
    work: Path, docs: int, args: argparse.Namespace, preset: str, partition_docs: int, partition_bytes: int | None
) -> dict:
    """One run: its steps' seconds, memory, partitions and exchanges."""
    corpus, summary = cached_short_documents(work, docs, args.files, args.seed, args.words)
    side = work / f"run-{docs}-{preset}-{partition_docs}-{partition_bytes}"
    run = side / "run"
    shutil.rmtree(side, ignore_errors=True)
    side.mkdir(parents=True)
    manifest = run_manifest_of(corpus, run, args.cpus, preset, partition_docs, partition_bytes)
    print(f"running {docs:,} documents, {preset}, {partition_docs:,} per partition …", file=sys.stderr, flush=True)
    measured, timings = run_pileline(manifest, side, dict(os.environ), memory=args.memory)
    exchanges = exchanges_of(run)
    partitions, largest = partitions_of(run)
    shutil.rmtree(side, ignore_errors=True)
    steps = grouped(timings["phases"])
    return {
        "docs": docs,
        "text_bytes": summary.text_bytes,
        "preset": preset,
        "partition_docs": partition_docs,
        "partition_bytes": partition_bytes,
        "partitions": partitions,
        "largest_partition": largest,
        "seconds": timings["run_seconds"],
        "steps": steps,
        "outside": {
            "before the first phase (Ray start)": timings["before_phases"],
            "after the last phase": timings["after_phases"],
        },
        "dedup_seconds": sum(s for step, s in steps.items() if step.startswith("dedup")),
        "memory_by_step": grouped_memory(timings.get("memory_by_phase", {})),
        "measured": measured,
        "exchanges": exchanges,
    }


def grouped_memory(by_phase: dict) -> dict[str, int]:
    """The machine's peak used memory over idle per step, the components rounds as one."""
    out: dict[str, int] = {}
    for phase, peaks in by_phase.items():
        step = phase_group(phase)
        out[step] = max(out.get(step, 0), peaks["used"])
    return out


def title(r: dict) -> str:
    bound = "" if r["partition_bytes"] is None else f", partition_bytes {r['partition_bytes']:,}"
    return (
        f"{r['docs']:,} documents ({r['text_bytes'] / 1e6:,.1f} MB of text) · {r['preset']} · "
        f"{r['partition_docs']:,} per partition{bound} "
        f"({r['partitions']:,} partitions)"
    )


def report_run(r: dict) -> None:
    m: Measured = r["measured"]
    print(f"\n### {title(r)}\n")
    print(
        f"run {r['seconds']:.1f} s ({r['seconds'] / r['docs'] * 1e6:.1f} µs per document); driver peak private "
        f"{m.root_peak_private / 2**20:,.0f} MiB; largest other process {m.largest_child_peak_private / 2**20:,.0f} "
        f"MiB (`{(m.largest_child or '?').split()[0]}`); machine memory over idle {m.system_peak_growth / 2**30:.2f} "
        f"GiB; largest partition {r['largest_partition'] / 1e6:,.2f} MB of lines, largest other process / it "
        f"{m.largest_child_peak_private / max(1, r['largest_partition']):.1f}×\n"
    )
    memory = r["memory_by_step"]
    print("| step | s | µs per document |" + (" machine memory over idle, GiB |" if memory else ""))
    print("|---|---:|---:|" + ("---:|" if memory else ""))
    for step, seconds in {**r["steps"], **r["outside"]}.items():
        cell = f" {memory[step] / 2**30:.2f} |" if step in memory else (" — |" if memory else "")
        print(f"| {step} | {seconds:.2f} | {seconds / r['docs'] * 1e6:.2f} |{cell}")
    print(f"| **dedup phase** | **{r['dedup_seconds']:.2f}** | {r['dedup_seconds'] / r['docs'] * 1e6:.2f} |")
    print(
        "\n| exchange | mappers | reducers | pieces written | pieces read | files written | files read | MB | "
        "requests |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    if not r["exchanges"]:
        print("| — | — | — | — | — | — | — | — | — |")
    for exchange in r["exchanges"] or []:
        cells = [f"{exchange[field]:,}" for field in EXCHANGE_FIELDS[:-1]] + [f"{exchange['bytes'] / 1e6:,.1f}"]
        cells.append(f"{exchange['requests']:,}" if "requests" in exchange else "—")
        print(f"| {exchange['step']} | " + " | ".join(cells) + " |")


def _verdict(value: float, target: float) -> str:
    return f"{value:.2f}× ({'meets' if value <= target else 'misses'} ≤ {target}×)"


def report_ratios(results: list[dict]) -> None:
    print("\n### Ratios against the targets\n")
    if len(results) < 2:
        print("- one run: nothing to compare")
    by_size: dict[tuple, list[dict]] = {}
    by_partition: dict[tuple, list[dict]] = {}
    for r in results:
        by_size.setdefault((r["docs"], r["preset"], r["partition_bytes"]), []).append(r)
        by_partition.setdefault((r["preset"], r["partition_docs"], r["partition_bytes"]), []).append(r)
    for (docs, preset, _), runs in by_size.items():
        runs = sorted(runs, key=lambda r: r["partitions"])
        base = runs[0]
        for r in runs[1:]:
            ratio = r["dedup_seconds"] / max(base["dedup_seconds"], 1e-9)
            print(
                f"- {docs:,} documents, {preset}: dedup phase at {r['partitions']:,} partitions "
                f"{r['dedup_seconds']:.1f} s against {base['dedup_seconds']:.1f} s at {base['partitions']:,}: "
                f"{_verdict(ratio, TARGETS['partitions'])} for {r['partitions'] / base['partitions']:.1f}× the "
                "partitions"
            )
    for (preset, partition_docs, _), runs in by_partition.items():
        runs = sorted(runs, key=lambda r: r["docs"])
        if len(runs) < 2:
            continue
        small, large = runs[0], runs[-1]
        scale = large["docs"] / small["docs"]
        run_ratio = large["seconds"] / small["seconds"] / scale
        print(
            f"- {preset}, {partition_docs:,} per partition, {large['docs']:,} against {small['docs']:,} documents: "
            f"run per document {_verdict(run_ratio, TARGETS['run'])}"
        )
        for step, seconds in large["steps"].items():
            if seconds >= STEP_FLOOR_SECONDS and small["steps"].get(step):
                ratio = seconds / small["steps"][step] / scale
                print(
                    f"  - {step}: {seconds:.1f} s against {small['steps'][step]:.1f} s, per document "
                    f"{_verdict(ratio, TARGETS['step'])}"
                )
        added = large["measured"].root_peak_private - small["measured"].root_peak_private
        per_doc = added / (large["docs"] - small["docs"])
        verdict = "meets" if per_doc <= TARGETS["driver_bytes"] else "misses"
        print(f"  - driver peak private memory: {per_doc:.1f} bytes per added document ({verdict} ≤ 10)")
        small_exchanges = {e["step"]: e for e in small["exchanges"] or []}
        for exchange in large["exchanges"] or []:
            before = small_exchanges.get(exchange["step"])
            if before is None:
                continue
            pieces = (exchange["pieces_written"] + exchange["pieces_read"]) / max(
                1, before["pieces_written"] + before["pieces_read"]
            )
            size = exchange["bytes"] / max(1, before["bytes"])
            verdict = "meets" if pieces <= size * 1.05 else "misses"
            print(f"  - exchange {exchange['step']}: pieces {pieces:.2f}×, bytes {size:.2f}× ({verdict})")
        if not large["exchanges"]:
            print("  - exchanges: — (the runs report none)")


def report_task_memory(results: list[dict]) -> None:
    """A task's memory as a line over its partition's bytes: the largest worker's private peak against the
    largest partition, least squares over the runs (shown when their partitions differ in size and reach
    `FIT_FLOOR_BYTES`: below that a worker's fixed memory hides the slope)."""
    sizes = np.array([r["largest_partition"] for r in results], dtype=np.float64)
    peaks = np.array([r["measured"].largest_child_peak_private for r in results], dtype=np.float64)
    if len(set(sizes)) < 2 or sizes.max() < FIT_FLOOR_BYTES:
        return
    slope, intercept = np.polyfit(sizes, peaks, 1)
    print(
        f"- a task's memory: the largest worker's private peak ≈ {intercept / 2**20:,.0f} MiB + {slope:.1f} × the "
        f"largest partition's line bytes (least squares over {len(results)} runs, partitions of "
        f"{sizes.min() / 1e6:,.2f}–{sizes.max() / 1e6:,.2f} MB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", default="2000000", help="corpus sizes in documents, smallest first")
    parser.add_argument("--partition-docs", default="10000,1000,100")
    parser.add_argument("--preset", default="threshold-true,pythia", help="dedup presets")
    parser.add_argument("--partition-bytes", help="partition_bytes values (default: the manifest's)")
    parser.add_argument("--words", type=int, default=24, help="words per document (80000: ~500 KB documents)")
    parser.add_argument("--files", type=int, default=10, help="train files of the corpus")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--memory", action="store_true", help="also the machine's peak memory per step")
    parser.add_argument("--work", type=Path, help="keep corpora here (default: a temporary directory)")
    args = parser.parse_args()
    bounds = integers(args.partition_bytes) if args.partition_bytes else [None]

    with tempfile.TemporaryDirectory(prefix="partitions-", dir="/tmp") as scratch:
        work = (args.work or Path(scratch)).resolve()
        work.mkdir(parents=True, exist_ok=True)
        results = []
        for docs in integers(args.docs):
            for preset in args.preset.split(","):
                for partition_docs in integers(args.partition_docs):
                    for partition_bytes in bounds:
                        results.append(measure(work, docs, args, preset, partition_docs, partition_bytes))
        print(f"\nmachine: {machine()}; {args.cpus} CPUs; manifest {DEMO.name} with the cerebras filter")
        for r in results:
            report_run(r)
        report_ratios(results)
        report_task_memory(results)


if __name__ == "__main__":
    main()
