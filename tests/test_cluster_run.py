"""Runs on a real multi-node Ray cluster on this machine: a head and two worker nodes, each its own
raylet and object store, driven by `pileline run --address` like a cluster job. The outputs must be
byte for byte those of the embedded single-node run, also when a worker node is killed mid-run.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import orjson
import pytest
import ray
from ray_cluster_for_tests import LocalAutoscalingCluster, LocalRayCluster
from run_commands import pileline_run, sample_run_manifest

from pipeline.manifest import load_manifest
from pipeline.phases.runner import run_manifest
from pipeline.runtime.progress import Progress


def _outputs(run_dir: Path) -> dict[str, str]:
    return orjson.loads((run_dir / "manifest.json").read_bytes())["outputs"]


@pytest.fixture(scope="module")
def single_node_run(tmp_path_factory, ray_instance) -> Path:
    """A sample corpus, its manifest, and the embedded single-node run of it (the session's Ray)."""
    root = tmp_path_factory.mktemp("cluster")
    sample_run_manifest(root, root / "single", docs=300, seed=11)
    run_manifest(load_manifest(root / "run.yaml"), Progress(quiet=True))
    return root


def _command(root: Path, out: Path, address: str) -> list[str]:
    return pileline_run(root / "run.yaml", "--out", str(out), "--address", address, "--quiet")


def test_a_two_worker_cluster_writes_the_single_node_bytes(single_node_run):
    root = single_node_run
    with LocalRayCluster(workers=2, cpus=1) as cluster:
        finished = subprocess.run(
            _command(root, root / "multi", cluster.address), check=False, capture_output=True, text=True, timeout=300
        )
    assert finished.returncode == 0, finished.stderr[-3000:]
    expected = _outputs(root / "single")
    assert any(path.startswith("tokens/sequences-") for path in expected)
    assert _outputs(root / "multi") == expected


@pytest.mark.slow
def test_losing_a_worker_node_mid_run_changes_nothing(single_node_run):
    root = single_node_run
    run_dir = root / "node-lost"
    with LocalRayCluster(workers=2, cpus=1) as cluster:
        process = subprocess.Popen(
            _command(root, run_dir, cluster.address), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 240
        while (
            len(list(run_dir.glob("stages/prepare-*/0*.json"))) < 3
            and time.monotonic() < deadline
            and process.poll() is None
        ):
            time.sleep(0.01)
        assert process.poll() is None, "the run ended before the node could be killed"
        cluster.kill_worker(1)
        _, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr[-3000:]
    assert _outputs(run_dir) == _outputs(root / "single")
    leftovers = [name for _, _, names in os.walk(run_dir) for name in names if ".tmp" in name]
    assert not leftovers, f"half-written files left behind: {leftovers}"


def test_an_autoscaling_cluster_grows_from_no_workers_and_writes_the_single_node_bytes(single_node_run, tmp_path):
    """The head has no CPUs, as in docker/cluster.yaml: only the tasks pileline queues make Ray's
    autoscaler start worker nodes, up to the two it may."""
    root = single_node_run
    run_dir = root / "autoscaled"
    with LocalAutoscalingCluster() as cluster, open(tmp_path / "stderr", "w+") as stderr:
        assert cluster.worker_nodes() == 0
        process = subprocess.Popen(
            _command(root, run_dir, cluster.address), stdout=subprocess.DEVNULL, stderr=stderr, text=True
        )
        most = 0
        deadline = time.monotonic() + 300
        while process.poll() is None and time.monotonic() < deadline:
            most = max(most, cluster.worker_nodes())
            time.sleep(0.1)
        process.wait(timeout=60)
        stderr.seek(0)
        assert process.returncode == 0, stderr.read()[-3000:]
    assert most == 2, f"at most {most} worker nodes were started for the queued tasks"
    assert _outputs(run_dir) == _outputs(root / "single")


def test_a_cluster_that_wants_a_token_gets_a_one_line_hint(single_node_run, ray_instance):
    """The session's Ray, like `ray start --head` with ~/.ray/auth_token present, requires Ray's token;
    a driver given its address without RAY_AUTH_MODE=token is refused, and the error says what to set."""
    assert os.environ.get("RAY_AUTH_MODE") == "token", "ray.init turns token auth on by default (Ray 2.60)"
    env = {key: value for key, value in os.environ.items() if key != "RAY_AUTH_MODE"}
    env["RAY_gcs_server_port_wait_time_s"] = "1"
    address = ray.get_runtime_context().gcs_address
    finished = subprocess.run(
        _command(single_node_run, single_node_run / "refused", address),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 2
    error = finished.stderr.strip().splitlines()[-1]
    assert error.startswith(f"pileline: error: cannot connect to Ray at {address}: "), error
    assert "set RAY_AUTH_MODE=token" in error
