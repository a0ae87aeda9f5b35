"""Scaling: the whole pipeline on 1 and 2 CPUs, per-core stage costs and the bytes each step writes.

    python benchmarks/scaling.py [--corpus DIR] [--docs 112000] [--partition-docs 2000] [--shard-mib 16] [--repeat 3]
                                 [--work DIR]

The manifest is `manifests/pile-deduped.yaml` (ftfy NFC, cerebras filters, Pythia's MinHash-LSH at
0.87 with the corpus's val file as holdout, GPT-2 + EOD, 2049-token sequences; one epoch instead of
its `train_iters`), run on an embedded Ray of 1 and then 2 CPUs (`pileline_job.py`, measured with all
its processes). Each run is pinned to as many cores as it has CPUs (the driver, Ray's processes and
the 0-CPU reader tasks included): unpinned, a 1-CPU run also uses the idle second core for them.
`shards.shard_bytes` is `--shard-mib` (default 16 MiB, a dozen documents and sequence files for the
default corpus) instead of the manifest's 1 GiB: the Pile has hundreds of each, so those phases run
one task per file in parallel there, while a 1 GiB file would make them one serial task here.
The 1- and 2-CPU runs alternate `--repeat` times (default 3; this machine's timings vary by ~10%
between runs) and each table shows the median run. Every run must write identical outputs (exit 1
otherwise); the speedup is the ratio of run times (from `run_manifest` call to return; the whole
command's is shown too), and "all phases" leaves out Ray's start and stop.

From the 1-CPU run: core-seconds per GB of text of each phase, and the bytes each step writes to the
run directory per GB of text (the dedup shuffles pass through files there). The Pile is not extrapolated
from this run: scaling its per-core costs linearly is no estimate, since the exchanges and the serial steps
do not grow with the bytes. `benchmarks/pile_exchanges.py` counts every exchange at the Pile's shape, and
BENCHMARKS.md ("The Pile, from these measurements") builds the estimate from measured per-step costs.
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
import yaml
from corpus import corpus_dir, read_documents, text_megabytes
from end_to_end import run_pileline

MANIFEST = Path(__file__).resolve().parents[1] / "manifests" / "pile-deduped.yaml"
PILE_POINTER = (
    "The Pile: not extrapolated from this run (a linear per-MB extrapolation is not an estimate); "
    "`python benchmarks/pile_exchanges.py` counts every exchange at the Pile's shape, and BENCHMARKS.md, "
    '"The Pile, from these measurements", builds the estimate from measured per-step costs.'
)


def manifest_for(
    corpus: Path,
    output: Path,
    cpus: int,
    partition_docs: int,
    shard_bytes: int | None = None,
    template: Path = MANIFEST,
) -> dict:
    """`template` (default `manifests/pile-deduped.yaml`) for one epoch of `corpus` (its val file as dedup
    holdout, as these measurements always ran: the template's `splits` name the Pile's files, so they are
    dropped), with `shard_bytes` if given."""
    data = yaml.safe_load(template.read_text())
    data.pop("splits", None)
    data.update(inputs=[str(corpus / "train" / "*.jsonl.zst")], output=str(output), partition_docs=partition_docs)
    data["ray"] = {"num_cpus": cpus}
    holdout = corpus / "val.jsonl.zst"
    data["dedup"]["holdout"] = [str(holdout)] if holdout.exists() else []
    data["shards"].pop("train_iters", None)
    if shard_bytes is not None:
        data["shards"]["shard_bytes"] = shard_bytes
    return data


def phase_group(phase: str) -> str:
    """Dedup's components rounds added up as one phase."""
    return "dedup: components" if phase.startswith("dedup: components") else phase


def grouped(phases: dict[str, float]) -> dict[str, float]:
    out: Counter = Counter()
    for phase, seconds in phases.items():
        out[phase_group(phase)] += seconds
    return dict(out)


def step_bytes(run: Path) -> dict[str, int]:
    """Bytes of the files under each stage step (`stages/dedup-*/cc-*` as one) and each output directory."""
    sizes: Counter = Counter()
    for path in run.rglob("*"):
        if not path.is_file():
            continue
        parts = path.relative_to(run).parts
        if parts[0] == "stages" and len(parts) > 3:
            kind = parts[1].split("-")[0]
            step = "cc" if parts[2].startswith("cc-") else parts[2]
            sizes[f"{kind}/{step}"] += path.stat().st_size
        elif parts[0] == "stages":
            sizes[f"{parts[1].split('-')[0]}/partitions"] += path.stat().st_size
        else:
            sizes[parts[0] if len(parts) > 1 else "manifest.json"] += path.stat().st_size
    return dict(sorted(sizes.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, help="a Pile-layout directory; default: a generated sample")
    parser.add_argument("--docs", type=int, default=112_000, help="documents of the generated sample (~420 MB of text)")
    parser.add_argument("--partition-docs", type=int, default=2000)
    parser.add_argument("--shard-mib", type=int, default=16, help="shards.shard_bytes in MiB")
    parser.add_argument("--repeat", type=int, default=3, help="runs per CPU count, alternating; medians are reported")
    parser.add_argument("--work", type=Path, help="keep everything here (default: a temporary directory)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="scaling-", dir="/tmp") as scratch:
        work = (args.work or Path(scratch)).resolve()
        work.mkdir(parents=True, exist_ok=True)
        corpus = corpus_dir(args.corpus, work, args.docs).resolve()
        documents = read_documents(corpus)
        megabytes = text_megabytes(documents.column("text"))
        docs = documents.num_rows
        del documents
        env = dict(os.environ)
        trials: dict[int, list] = {1: [], 2: []}
        for _ in range(args.repeat):
            for cpus in (1, 2):
                side = work / f"cpus-{cpus}"
                shutil.rmtree(side / "run", ignore_errors=True)
                side.mkdir(exist_ok=True)
                manifest = manifest_for(corpus, side / "run", cpus, args.partition_docs, args.shard_mib << 20)
                cores = set(sorted(os.sched_getaffinity(0))[:cpus])
                measured, timings = run_pileline(manifest, side, env, cores)
                outputs = orjson.loads((side / "run" / "manifest.json").read_bytes())["outputs"]
                trials[cpus].append((measured, timings, side / "run", outputs))
        outputs = {c: t[-1][3] for c, t in trials.items()}
        identical = outputs[1] == outputs[2] and all(t[3] == outputs[c] for c in trials for t in trials[c])
        report(args, trials, megabytes, docs, identical, machine())
        if not identical:
            differing = sorted(k for k in set(outputs[1]) | set(outputs[2]) if outputs[1].get(k) != outputs[2].get(k))
            sys.exit(f"outputs differ between 1 and 2 CPUs: {differing[:10]}")


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    memory = (
        int(
            next(
                line.split()[1]
                for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")
            )
        )
        / 2**20
    )
    load = Path("/proc/loadavg").read_text().split()[:3]
    return f"{os.cpu_count()} × {model}, {memory:.0f} GiB; load average before the report {' '.join(load)}"


def median_trial(trials: list) -> tuple:
    """The trial with the median run time (the lower middle one for an even count)."""
    ordered = sorted(trials, key=lambda trial: trial[1]["run_seconds"])
    return ordered[(len(ordered) - 1) // 2]


def report(args, trials: dict, megabytes: float, docs: int, identical: bool, host: str) -> None:
    runs = {cpus: median_trial(t)[:3] for cpus, t in trials.items()}
    (one, t1, run1), (_, t2, _) = runs[1], runs[2]
    print(f"\nmachine: {host}")
    print(
        f"corpus: {docs:,} documents, {megabytes:,.1f} MB of text; partition_docs {args.partition_docs}; shard_bytes "
        f"{args.shard_mib} MiB; "
        f"outputs identical in every run on 1 and 2 CPUs: {identical}"
    )
    ratios = [a[1]["run_seconds"] / b[1]["run_seconds"] for a, b in zip(trials[1], trials[2])]
    print(
        f"\n### Throughput on 1 and 2 CPUs (median of {args.repeat} runs each; speedup of the pairs run back to "
        f"back: {', '.join(f'{r:.2f}' for r in ratios)})\n"
    )
    print(
        "| CPUs | run s | command s | CPU s | MB/s | MB/s per core | docs/s per core | speedup (run) | speedup "
        "(command) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for cpus, (measured, timings, _) in runs.items():
        run_s = timings["run_seconds"]
        print(
            f"| {cpus} | {run_s:.1f} | {measured.wall:.1f} | {measured.cpu:.1f} | {megabytes / run_s:.2f} | "
            f"{megabytes / run_s / cpus:.2f} | "
            f"{docs / run_s / cpus:,.0f} | {t1['run_seconds'] / run_s:.2f} | {one.wall / measured.wall:.2f} |"
        )
    p1, p2 = grouped(t1["phases"]), grouped(t2["phases"])
    gigabytes = megabytes / 1e3
    print("\n### Per phase: wall seconds, speedup, and core-seconds per GB of text (1 CPU)\n")
    print("| phase | 1 CPU s | 2 CPUs s | speedup | core-s per GB | core-s per M docs |")
    print("|---|---:|---:|---:|---:|---:|")
    for phase, seconds in p1.items():
        other = p2.get(phase, 0.0)
        speedup = f"{seconds / other:.2f}" if other else "—"
        print(
            f"| {phase} | {seconds:.2f} | {other:.2f} | {speedup} | {seconds / gigabytes:,.0f} | "
            f"{seconds / docs * 1e6:,.0f} |"
        )
    work1, work2 = sum(p1.values()), sum(p2.values())
    print(
        f"| **all phases** | {work1:.2f} | {work2:.2f} | **{work1 / work2:.2f}** | {work1 / gigabytes:,.0f} | "
        f"{work1 / docs * 1e6:,.0f} |"
    )
    outside1 = t1["run_seconds"] - sum(p1.values())
    print(
        f"| (driver between phases, Ray start/stop) | {outside1:.2f} | {t2['run_seconds'] - sum(p2.values()):.2f} | "
        "— | — | — |"
    )

    volumes = step_bytes(run1)
    print("\n### Bytes written to the run directory per step (1-CPU run)\n")
    print("| step | MB | bytes per document | GB per GB of text |")
    print("|---|---:|---:|---:|")
    for step, size in volumes.items():
        print(f"| {step} | {size / 1e6:,.1f} | {size / docs:,.0f} | {size / 1e9 / gigabytes:.3f} |")

    print(f"\n{PILE_POINTER}")


if __name__ == "__main__":
    main()
