"""Bounded memory: corpora several times larger than Ray's object store, peak RSS of driver and workers.

    python benchmarks/memory.py [--docs 28000,112000] [--object-store-mb 80] [--cpus 2] [--partition-docs 2000] [--work
    DIR]

For each corpus size a seeded sample is written, a local Ray is started here with an object store
of `--object-store-mb` (Ray's minimum is 75 MiB) and `--cpus` CPUs, and `pileline run --address`
runs `manifests/pile-deduped.yaml` (as in `scaling.py`) against it as a separate driver process.
Measured: the peak RSS of the driver and of each Ray worker (`VmHWM` of /proc/PID/status, polled
every 0.1 s while the process lives; not `ru_maxrss`, which Linux carries over from the forking
parent's memory), and the most bytes ever spilled from the object store to disk at once (the
session's `ray_spilled_objects_*` files, polled). RSS counts the object store pages a worker has
mapped, so worker peaks include shared memory.

Exits 1 when a run fails, or when the driver's peak grows by more than 25% between the smallest and
the largest corpus (it should hold per-partition summaries only, whatever the number of documents).
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
from scaling import machine, manifest_for

from pipeline.sample.corpus import write_sample_corpus

DRIVER_GROWTH_LIMIT = 1.25


@dataclass
class Peaks:
    """Peak memory of one run: driver and workers (bytes), workers seen, most bytes spilled at once."""

    seconds: float = 0.0
    driver: int = 0
    worker_max: int = 0
    workers_sum: int = 0
    workers: int = 0
    spilled: int = 0
    returncode: int = 0


def _status_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _is_driver(pid: int) -> bool:
    """True once `pid` runs the driver (not the forked copy of this process before its exec)."""
    try:
        return b"pipeline.cli.main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _ray_workers() -> list[int]:
    """Live Ray worker processes started by this process's Ray (their command line starts with `ray::`)."""
    mine = os.getpid()
    parents: dict[int, int] = {}
    names: dict[int, bytes] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(f"/proc/{entry.name}/stat").read_bytes()
                names[int(entry.name)] = Path(f"/proc/{entry.name}/cmdline").read_bytes()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat[stat.rindex(b")") + 2 :].split()[1])

    def descends(pid: int) -> bool:
        while pid > 1:
            pid = parents.get(pid, 0)
            if pid == mine:
                return True
        return False

    return [pid for pid, cmd in names.items() if cmd.startswith(b"ray::") and descends(pid)]


def _spilled_bytes(temp_dir: Path) -> int:
    return sum(
        f.stat().st_size for d in temp_dir.glob("session_*/ray_spilled_objects*") for f in d.iterdir() if f.is_file()
    )


def measure(manifest: Path, cpus: int, store_bytes: int, temp_dir: Path) -> Peaks:
    import ray

    ray.init(
        num_cpus=cpus,
        object_store_memory=store_bytes,
        include_dashboard=False,
        logging_level=logging.WARNING,
        _temp_dir=str(temp_dir),
    )
    peaks = Peaks()
    worker_peaks: dict[int, int] = {}
    done = threading.Event()

    driver: list[int] = []

    def poll() -> None:
        while not done.is_set():
            if driver and _is_driver(driver[0]):
                peaks.driver = max(peaks.driver, _status_kib(driver[0], "VmHWM:") << 10)
            workers = _ray_workers()
            for pid in workers:
                worker_peaks[pid] = max(worker_peaks.get(pid, 0), _status_kib(pid, "VmHWM:") << 10)
            peaks.workers_sum = max(peaks.workers_sum, sum(_status_kib(pid, "VmRSS:") << 10 for pid in workers))
            try:
                peaks.spilled = max(peaks.spilled, _spilled_bytes(temp_dir))
            except OSError:
                pass
            done.wait(0.1)

    try:
        address = ray.get_runtime_context().gcs_address
        command = [sys.executable, "-m", "pipeline.cli.main", "run", str(manifest), "--address", address, "--quiet"]
        watcher = threading.Thread(target=poll, daemon=True)
        watcher.start()
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        driver.append(process.pid)
        stderr_chunks = []
        reader = threading.Thread(target=lambda: stderr_chunks.append(process.stderr.read()), daemon=True)
        reader.start()
        peaks.returncode = process.wait()
        peaks.seconds = time.perf_counter() - started
        reader.join()
        done.set()
        watcher.join()
        if peaks.returncode != 0:
            print(b"".join(stderr_chunks).decode(errors="replace")[-3000:], file=sys.stderr)
    finally:
        done.set()
        ray.shutdown()
    peaks.worker_max = max(worker_peaks.values(), default=0)
    peaks.workers = len(worker_peaks)
    return peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--docs", default="28000,112000", help="corpus sizes in documents (about 3,600 bytes of text each)"
    )
    parser.add_argument("--object-store-mb", type=int, default=80)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--partition-docs", type=int, default=2000)
    parser.add_argument("--work", type=Path, help="keep everything here (default: a temporary directory)")
    args = parser.parse_args()
    store = args.object_store_mb << 20

    rows = []
    with tempfile.TemporaryDirectory(prefix="memory-", dir="/tmp") as scratch:
        work = (args.work or Path(scratch)).resolve()
        for docs in (int(n) for n in args.docs.split(",")):
            side = work / f"docs-{docs}"
            summary = write_sample_corpus(side / "corpus", docs=docs, seed=0, files=4)
            print(f"sample corpus: {summary.describe()}", file=sys.stderr)
            corpus_bytes = sum(p.stat().st_size for p in (side / "corpus").rglob("*.jsonl.zst"))
            manifest = side / "manifest.yaml"
            manifest.write_bytes(
                orjson.dumps(manifest_for(side / "corpus", side / "run", args.cpus, args.partition_docs))
            )
            temp_dir = Path(scratch) / f"ray-{docs}"  # short: Ray's socket paths must fit in 107 bytes
            temp_dir.mkdir(parents=True, exist_ok=True)
            print(f"running {docs:,} documents …", file=sys.stderr, flush=True)
            peaks = measure(manifest, args.cpus, store, temp_dir)
            if peaks.returncode != 0:
                sys.exit(f"the run of {docs:,} documents failed (exit {peaks.returncode})")
            record = orjson.loads((side / "run" / "manifest.json").read_bytes())
            json_bytes = sum(s["line_bytes"] for s in _prepare_summaries(side / "run"))
            rows.append((docs, record["totals"]["lines"], corpus_bytes, json_bytes, peaks))

    print(f"\nmachine: {machine()}")
    print(f"object store: {args.object_store_mb} MiB; {args.cpus} CPUs; partition_docs {args.partition_docs}")
    print("\n### Peak memory for two corpus sizes\n")
    print(
        "| documents | zstd MB | JSON MB | × object store | run s | driver peak RSS | largest worker peak RSS | "
        "workers | peak of summed worker RSS | most spilled at once |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for _docs, lines, zst, json_bytes, p in rows:
        print(
            f"| {lines:,} | {zst / 1e6:,.0f} | {json_bytes / 1e6:,.0f} | {json_bytes / store:.1f} | {p.seconds:.0f} | "
            f"{p.driver / 2**20:,.0f} MiB | {p.worker_max / 2**20:,.0f} MiB | {p.workers} | "
            f"{p.workers_sum / 2**20:,.0f} MiB | {p.spilled / 2**20:,.0f} MiB |"
        )
    growth = rows[-1][4].driver / rows[0][4].driver
    print(
        f"\ndriver peak grows {growth:.2f}× for {rows[-1][1] / rows[0][1]:.1f}× the documents (limit "
        f"{DRIVER_GROWTH_LIMIT}×)"
    )
    if growth > DRIVER_GROWTH_LIMIT:
        sys.exit(1)


def _prepare_summaries(run: Path) -> list[dict]:
    return [orjson.loads(p.read_bytes()) for p in run.glob("stages/prepare-*/0*.json")]


if __name__ == "__main__":
    main()
