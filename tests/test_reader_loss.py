"""A worker node running a prepare reader (the task streaming one input file, or reading and preparing a small
one whole) is lost mid-file, on a real multi-node Ray cluster on this machine: the reader is retried elsewhere
and the run ends with the bytes of a single-node run."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import orjson
import pytest
from ray_cluster_for_tests import LocalRayCluster, parent_pid
from run_commands import pileline_run

from pipeline.manifest import load_manifest
from pipeline.phases.runner import run_manifest
from pipeline.runtime.progress import Progress
from pipeline.sample.corpus import write_sample_corpus

READER_TITLES = ("ray::read_partitions", "ray::_read_and_prepare")
"""Ray names a worker process after the task it runs: a streaming reader, or a small input's whole-file task."""


def _outputs(run_dir: Path) -> dict[str, str]:
    return orjson.loads((run_dir / "manifest.json").read_bytes())["outputs"]


def _reader_parents() -> set[int]:
    """Parent pids (raylets) of the worker processes running a reader now."""
    parents = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                title = handle.read().split(b"\0")[0].decode(errors="replace")
        except OSError:
            continue
        if title.startswith(READER_TITLES) and (parent := parent_pid(int(entry))) is not None:
            parents.add(parent)
    return parents


@pytest.mark.slow
def test_losing_the_node_of_a_reader_mid_file_changes_nothing(tmp_path, ray_instance):
    write_sample_corpus(tmp_path / "sample", docs=3000, seed=31)
    manifest = tmp_path / "run.yaml"
    manifest.write_text(
        f"inputs: ['{tmp_path / 'sample' / 'train'}/*.jsonl.zst']\noutput: {tmp_path / 'single'}\npartition_docs: 25\n"
        "filter: {preset: cerebras}\ndedup: {enabled: false}\nshards: {seq_len: 127, shard_bytes: 65536}\n"
    )
    run_manifest(load_manifest(manifest), Progress(quiet=True))
    run_dir = tmp_path / "lost"
    with LocalRayCluster(workers=2, cpus=1) as cluster:
        command = pileline_run(manifest, "--out", str(run_dir), "--address", cluster.address, "--quiet")
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        victim = None
        deadline = time.monotonic() + 240
        while victim is None and time.monotonic() < deadline and process.poll() is None:
            finished = len(list(run_dir.glob("stages/prepare-*/0*.json")))
            if finished >= 2:
                parents = _reader_parents()
                victim = next((index for index, pids in enumerate(cluster.worker_pids) if parents & set(pids)), None)
            time.sleep(0.01)
        assert victim is not None, "no reader ran on a worker node while the prepare phase was under way"
        files_done = len(list(run_dir.glob("stages/prepare-*/file-*.json")))
        cluster.kill_worker(victim)
        _, stderr = process.communicate(timeout=600)
    assert files_done < 3, "every file had been read before the kill"
    assert process.returncode == 0, stderr[-3000:]
    assert _outputs(run_dir) == _outputs(tmp_path / "single")
    leftovers = [name for _, _, names in os.walk(run_dir) for name in names if ".tmp" in name]
    assert not leftovers, f"half-written files left behind: {leftovers}"
