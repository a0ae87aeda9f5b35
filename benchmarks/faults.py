"""Fault experiments: the driver killed with SIGKILL in each phase, and a worker node lost mid-run.

    python benchmarks/faults.py [--docs 3000] [--partition-docs 100] [--work DIR] [--smoke]

The manifest is `manifests/pile-deduped.yaml` on a seeded sample (as in `scaling.py`).

Driver kill: a local Ray (2 CPUs) is started here and `pileline run --address` drives it; for each
phase a fresh run is killed once `--kill-after` of the phase's tasks (counted in an undisturbed run)
have written their summaries, then the same command is run again. Reported: the phase's tasks finished at the kill, the
tasks the second run computed in
that phase (at most those in flight, plus the ones never started), and whether the outputs equal an
undisturbed run's byte for byte.

Node loss: a cluster of a head and two 1-CPU worker nodes (`tests/ray_cluster_for_tests.py`); one
undisturbed run, then runs in which worker node 1 is SIGKILLed once `--kill-after` of the named
phase's tasks are done. Reported: wall time against the undisturbed run, the tasks Ray retried,
temporary files left by killed tasks (removed at the end), identical outputs.

`--smoke` (CI) kills the driver in one phase only and loses no node (a cluster of three nodes takes long to start).

Exits 1 if any run fails or any output differs.
"""

from __future__ import annotations

import argparse
import logging
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
from scaling import machine, manifest_for

from pipeline.sample.corpus import write_sample_corpus

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from ray_cluster_for_tests import LocalRayCluster

PHASES = {
    "prepare": ("prepare", "stages/prepare-*/0*.json"),
    "dedup: band keys (shuffle map)": ("dedup: band keys", "stages/dedup-*/bands/*.json"),
    "dedup: candidate edges (shuffle reduce)": ("dedup: candidate edges", "stages/dedup-*/edges/*.json"),
    "dedup: components round 1": ("dedup: components round 1 (large-star)", "stages/dedup-*/cc-000-*/*.json"),
    "tokens: tokenize": ("tokens: tokenize", "stages/tokens-*/tokens/*.json"),
    "tokens: sequences": ("tokens: sequences", "stages/layout-*/sequences/*.json"),
}
"""Phase to kill in → (its name in the run's summary, the summary files its tasks write)."""
SMOKE_PHASE = "dedup: candidate edges (shuffle reduce)"
"""`--smoke`: the one phase the driver is killed in."""
SHARD_BYTES = 256 << 10
"""Small sequence shards, so that writing them is many tasks (a kill can land among them)."""


def _outputs(run: Path) -> dict[str, str]:
    return orjson.loads((run / "manifest.json").read_bytes())["outputs"]


def _command(manifest: Path, out: Path, address: str, quiet: bool = True) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pipeline.cli.main",
        "run",
        str(manifest),
        "--out",
        str(out),
        "--address",
        address,
    ] + (["--quiet"] if quiet else [])


def _run(command: list[str]) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    finished = subprocess.run(command, check=False, capture_output=True, text=True)
    if finished.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{finished.stderr[-3000:]}")
    return time.perf_counter() - started, finished


def _reused(stdout: str, phase: str) -> tuple[int, int]:
    """(reused, total) of `phase` from the summary's `reused:` line; (0, 0) if it reused nothing."""
    found = re.search(re.escape(phase) + r" (\d+)/(\d+) ", stdout)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def driver_kills(
    manifest: Path, work: Path, ray_dir: Path, kill_after: float, phases: dict[str, tuple[str, str]]
) -> list[tuple]:
    """One undisturbed run, then per phase a run killed in it and the same command again; Ray's files go to
    `ray_dir` (a short path: its socket paths must fit in 107 bytes)."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING, _temp_dir=str(ray_dir))
    try:
        address = ray.get_runtime_context().gcs_address
        clean_s, _ = _run(_command(manifest, work / "clean", address))
        expected = _outputs(work / "clean")
        rows = []
        for label, (phase, pattern) in phases.items():
            out = work / f"killed-{len(rows)}"
            threshold = max(1, int(kill_after * len(list((work / "clean").glob(pattern)))))
            process = subprocess.Popen(
                _command(manifest, out, address), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            while process.poll() is None and len(list(out.glob(pattern))) < threshold:
                time.sleep(0.002)
            process.send_signal(signal.SIGKILL)
            process.wait()
            time.sleep(0.5)
            finished_at_kill = len(list(out.glob(pattern)))
            resume_s, resumed = _run(_command(manifest, out, address))
            reused, total = _reused(resumed.stdout, phase)
            total = total or len(list(out.glob(pattern)))
            tasks = re.search(r"tasks: ([\d,]+) computed, ([\d,]+) reused", resumed.stdout)
            rows.append(
                (
                    label,
                    finished_at_kill,
                    total,
                    reused,
                    total - reused,
                    tasks.group(1),
                    tasks.group(2),
                    resume_s,
                    clean_s,
                    _outputs(out) == expected,
                )
            )
        return rows
    finally:
        ray.shutdown()


def node_losses(manifest: Path, work: Path, kill_after: float) -> list[tuple]:
    rows = []
    with LocalRayCluster(workers=2, cpus=1) as cluster:
        clean_s, _ = _run(_command(manifest, work / "cluster-clean", cluster.address))
    expected = _outputs(work / "cluster-clean")
    rows.append(("(undisturbed)", clean_s, clean_s, 0, 0, True))
    for label, pattern in (
        ("prepare", "stages/prepare-*/0*.json"),
        ("tokens: tokenize", "stages/tokens-*/tokens/*.json"),
    ):
        out = work / f"node-lost-{len(rows)}"
        threshold = max(1, int(kill_after * len(list((work / "cluster-clean").glob(pattern)))))
        with LocalRayCluster(workers=2, cpus=1) as cluster:
            started = time.perf_counter()
            process = subprocess.Popen(
                _command(manifest, out, cluster.address, quiet=False),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            while process.poll() is None and len(list(out.glob(pattern))) < threshold:
                time.sleep(0.01)
            cluster.kill_worker(1)
            stdout, stderr = process.communicate()
            seconds = time.perf_counter() - started
        if process.returncode != 0:
            sys.exit(f"the run that lost a node during {label} failed:\n{stderr[-3000:]}")
        output = stdout + stderr
        retried = len(re.findall(r"Task \w+ failed\. There are \d+ retries remaining", output))
        leftover = re.search(r"removed (\d+) temporary files left by tasks", output)
        rows.append(
            (label, seconds, clean_s, retried, int(leftover.group(1)) if leftover else 0, _outputs(out) == expected)
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=3000)
    parser.add_argument("--partition-docs", type=int, default=100)
    parser.add_argument(
        "--kill-after",
        type=float,
        default=0.5,
        help="share of a phase's tasks done when the driver or node is killed (default 0.5)",
    )
    parser.add_argument("--work", type=Path)
    parser.add_argument(
        "--smoke",
        action="store_true",
        help=f"kill the driver in one phase ({SMOKE_PHASE}) and lose no node: a check that it runs, not a measurement",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="faults-", dir="/tmp") as scratch:
        work = (args.work or Path(scratch)).resolve()
        summary = write_sample_corpus(work / "corpus", docs=args.docs, seed=0, files=4)
        print(f"sample corpus: {summary.describe()}", file=sys.stderr)
        manifest = work / "manifest.yaml"
        data = manifest_for(work / "corpus", work / "unused", 2, args.partition_docs)
        data["shards"]["shard_bytes"] = SHARD_BYTES
        manifest.write_bytes(orjson.dumps(data))
        phases = {SMOKE_PHASE: PHASES[SMOKE_PHASE]} if args.smoke else PHASES
        kills = driver_kills(manifest, work, Path(scratch) / "ray", args.kill_after, phases)
        losses = [] if args.smoke else node_losses(manifest, work, args.kill_after)

    print(f"\nmachine: {machine()}")
    print(
        f"corpus: {args.docs:,} sample documents, partition_docs {args.partition_docs}, manifests/pile-deduped.yaml "
        "(one epoch)"
    )
    print(
        f"\n### Driver SIGKILLed once {args.kill_after:.0%} of a phase's tasks were done, then the same command "
        "again (local Ray, 2 CPUs)\n"
    )
    print(
        "| killed in | phase tasks done at kill | phase tasks | reused by the rerun | redone by the rerun | rerun: "
        "tasks computed | rerun: tasks reused | rerun s | undisturbed run s | identical |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for row in kills:
        label, at_kill, total, reused, redone, computed, reused_all, resume_s, clean_s, same = row
        print(
            f"| {label} | {at_kill} | {total} | {reused} | {redone} | {computed} | {reused_all} | {resume_s:.1f} | "
            f"{clean_s:.1f} | {same} |"
        )
    print(
        f"\n### A worker node SIGKILLed once {args.kill_after:.0%} of a phase's tasks were done (head + 2 × 1-CPU "
        "nodes)\n"
    )
    print("| node lost during | run s | undisturbed s | tasks retried by Ray | temporary files removed | identical |")
    print("|---|---:|---:|---:|---:|---|")
    for label, seconds, clean_s, retried, leftover, same in losses:
        print(f"| {label} | {seconds:.1f} | {clean_s:.1f} | {retried} | {leftover} | {same} |")
    if not all(row[-1] for row in kills + losses):
        sys.exit(1)


if __name__ == "__main__":
    main()
