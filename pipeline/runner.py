"""Run a manifest: inputs → prepare partitions → global dedup → tokens → manifest.json.

Each phase writes its outputs under a directory named by the hash of the configuration it depends
on, so a re-run reuses exactly the work whose inputs and settings are unchanged and redoes the rest.
"""

from __future__ import annotations

import platform
import time
from dataclasses import dataclass
from importlib import metadata

import orjson
import hashlib

from pipeline import __version__
from pipeline.accounting import balances, input_record, totals
from pipeline.errors import UserError
from pipeline.filesystems import expand_inputs
from pipeline.manifest import Manifest
from pipeline.prepare import REJECTS_DIR
from pipeline.prepare_phase import run_prepare_phase
from pipeline.progress import Progress
from pipeline.ray_runtime import ray_session
from pipeline.run_directory import RunDirectory
from stages.filter import needs_tokenizer

STAGES_DIR = "stages"
OUTPUT_DIRS = (REJECTS_DIR, "dedup", "stats", "tokens")
VERSIONED_PACKAGES = ("ray", "pyarrow", "numpy", "ftfy", "datasketch", "tokenizers", "tiktoken", "zstandard", "pydantic")


@dataclass(frozen=True)
class RunResult:
    """What a finished run reports: where it is, the totals, and how much work was reused."""

    output: str
    totals: dict
    reused_partitions: int
    computed_partitions: int
    seconds: float


def _hash(payload: object) -> str:
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def prepare_hash(manifest: Manifest, files: list[str]) -> str:
    """The configuration the prepare phase's partitions depend on."""
    dedup = manifest.dedup
    payload = {
        "inputs": files,
        "partition_docs": manifest.partition_docs,
        "read": manifest.read.model_dump(mode="json"),
        "normalize": manifest.normalize.model_dump(mode="json"),
        "filter": manifest.filter.model_dump(mode="json"),
        "signature": dedup.enabled and {k: getattr(dedup, k) for k in ("shingle", "ngram", "num_perm", "seed", "hash")},
        "tokenize": needs_tokenizer(manifest.filter) and manifest.tokenize.model_dump(mode="json"),
    }
    return _hash(payload)


def package_versions() -> dict[str, str]:
    versions = {"pileline": __version__, "python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _discard_stale(run: RunDirectory, keep: set[str], progress: Progress) -> None:
    """Remove intermediate directories made with another configuration (their results are not reused)."""
    import pyarrow.fs as pafs

    selector = pafs.FileSelector(run.path(STAGES_DIR), recursive=False, allow_not_found=True)
    for info in run.filesystem.get_file_info(selector):
        if info.type == pafs.FileType.Directory and info.base_name not in keep:
            progress.log(f"discarding {STAGES_DIR}/{info.base_name}: made with another configuration")
            run.filesystem.delete_dir(info.path)


def run_manifest(manifest: Manifest, progress: Progress | None = None) -> RunResult:
    """Run every phase of `manifest` into `manifest.output`, reusing finished work."""
    progress = progress or Progress()
    started = time.monotonic()
    files = expand_inputs(manifest.inputs)
    run = RunDirectory(manifest.output)
    removed_temporaries = run.remove_temporaries()
    if removed_temporaries:
        progress.log(f"removed {removed_temporaries} unfinished temporary files left by an interrupted run")
    prepare_dir = f"{STAGES_DIR}/prepare-{prepare_hash(manifest, files)}"
    _discard_stale(run, {prepare_dir.split("/", 1)[1]}, progress)

    with ray_session(manifest.ray) as cpus:
        prepared = run_prepare_phase(run, prepare_dir, files, manifest, cpus, progress)
    summaries, file_info = prepared.summaries, prepared.file_info

    partitions = {pid for info in file_info.values() for pid in info["partitions"]}
    for path in run.list_files(REJECTS_DIR, ".parquet"):
        if path.rsplit("/", 1)[-1].removesuffix(".parquet") not in partitions:
            run.delete(path)
    records = []
    for index, location in enumerate(files):
        info = file_info[index]
        record = input_record(location, info, (summaries[pid] for pid in info["partitions"]))
        if not balances(record):
            raise RuntimeError(f"accounting does not balance for {location}: {record}")
        records.append(record)
    outputs = {path: run.sha256(path) for directory in OUTPUT_DIRS for path in run.list_files(directory)}
    total = totals(records)
    seconds = time.monotonic() - started
    run.write_json(
        "manifest.json",
        {
            "pileline": __version__,
            "manifest": manifest.model_dump(mode="json"),
            "versions": package_versions(),
            "inputs": records,
            "totals": total,
            "outputs": outputs,
        },
    )
    return RunResult(manifest.output, total, prepared.reused, prepared.computed, seconds)
