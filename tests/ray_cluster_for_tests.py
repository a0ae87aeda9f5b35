"""A real multi-node Ray cluster on this machine, in its own process, for tests and benchmarks.

`ray.cluster_utils.Cluster` starts a head node and worker nodes (each its own raylet, object store
and workers) on loopback. It lives in a child process so it never meets the test session's own
`ray.init`; the test drives it over stdin (`kill N` removes worker N with SIGKILL, as a lost
machine would be) and points `pileline run --address` at it. Closing stops only its processes.

Run as a script: `python ray_cluster_for_tests.py --workers 2` prints one JSON line
`{"address": …, "workers": [[pid, …], …]}` and then obeys `kill N` lines until stdin closes.

`LocalAutoscalingCluster` is a head with Ray's autoscaler instead, which starts worker nodes (local
processes, Ray's fake multi-node provider) only while tasks wait for CPUs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

FAST_FAILURE_DETECTION = {
    "health_check_initial_delay_ms": 0,
    "health_check_period_ms": 500,
    "health_check_timeout_ms": 500,
    "health_check_failure_threshold": 3,
}
"""The head notices a lost node within ~2 s instead of Ray's default ~30 s."""


@dataclass
class LocalRayCluster:
    """A head (no CPUs: only the driver's bookkeeping runs there) and `workers` nodes of `cpus` CPUs each."""

    workers: int = 2
    cpus: int = 1
    object_store_mb: int = 100
    env: dict[str, str] | None = None
    address: str = ""
    worker_pids: list[list[int]] = field(default_factory=list)
    _process: subprocess.Popen | None = None

    def __enter__(self) -> LocalRayCluster:
        command = [
            sys.executable,
            __file__,
            "--workers",
            str(self.workers),
            "--cpus",
            str(self.cpus),
            "--object-store-mb",
            str(self.object_store_mb),
        ]
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, **(self.env or {})},
        )
        line = self._process.stdout.readline()
        if not line:
            self._process.wait(timeout=60)
            raise RuntimeError(f"the local Ray cluster did not start (exit {self._process.returncode})")
        started = json.loads(line)
        self.address = started["address"]
        self.worker_pids = started["workers"]
        return self

    def kill_worker(self, index: int) -> None:
        """SIGKILL every process of worker node `index` (raylet, object store, its workers)."""
        self._process.stdin.write(f"kill {index}\n")
        self._process.stdin.flush()
        reply = self._process.stdout.readline().strip()
        if reply != f"killed {index}":
            raise RuntimeError(f"the cluster process answered {reply!r} to `kill {index}`")

    def __exit__(self, *exc) -> None:
        self._process.stdin.close()
        try:
            self._process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def _serve(workers: int, cpus: int, object_store_mb: int) -> None:
    import logging

    from ray.cluster_utils import Cluster

    logging.disable(logging.WARNING)
    store = object_store_mb << 20
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 0,
            "object_store_memory": store,
            "include_dashboard": False,
            "_system_config": FAST_FAILURE_DETECTION,
        },
    )
    nodes = [cluster.add_node(num_cpus=cpus, object_store_memory=store) for _ in range(workers)]
    cluster.wait_for_nodes()
    pids = [
        [process.process.pid for processes in node.all_processes.values() for process in processes] for node in nodes
    ]
    print(json.dumps({"address": cluster.address, "workers": pids}), flush=True)
    try:
        for line in sys.stdin:
            verb, _, argument = line.strip().partition(" ")
            if verb == "kill":
                index = int(argument)
                cluster.remove_node(nodes[index], allow_graceful=False)
                print(f"killed {index}", flush=True)
    finally:
        cluster.shutdown()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cpus", type=int, default=1)
    parser.add_argument("--object-store-mb", type=int, default=100)
    options = parser.parse_args()
    _serve(options.workers, options.cpus, options.object_store_mb)


AUTOSCALING_CONFIG = {
    "cluster_name": "pileline-test",
    "max_workers": 2,
    "provider": {
        "type": "fake_multinode",
        "use_node_id_as_ip": True,
        "disable_node_updaters": True,
        "disable_launch_config_check": True,
    },
    "available_node_types": {
        "ray.head.default": {"resources": {"CPU": 0}, "node_config": {}, "max_workers": 0},
        "ray.worker.cpu": {"resources": {"CPU": 1}, "node_config": {}, "min_workers": 0, "max_workers": 2},
    },
    "head_node_type": "ray.head.default",
    "auth": {},
    "upscaling_speed": 1.0,
    "idle_timeout_minutes": 5,
    "docker": {},
    "initialization_commands": [],
    "setup_commands": [],
    "head_setup_commands": [],
    "worker_setup_commands": [],
    "head_start_ray_commands": [],
    "worker_start_ray_commands": [],
    "file_mounts": {},
    "cluster_synced_files": [],
    "file_mounts_sync_continuously": False,
    "rsync_exclude": [],
    "rsync_filter": [],
}
"""Ray's fake multi-node provider (nodes are local processes the autoscaler starts), like
`ray.cluster_utils.AutoscalingCluster`, whose example config the wheel lacks and which stops every
Ray on the machine: a head without CPUs, as in docker/cluster.yaml, and up to two 1-CPU workers."""


@dataclass
class LocalAutoscalingCluster:
    """A head (no CPUs) and Ray's autoscaler adding 1-CPU worker nodes while tasks wait, in its own temp dir.

    `worker_nodes()` counts the worker raylets running now. Closing kills (SIGKILL: Ray's processes
    drain for seconds on SIGTERM, and nothing here needs draining) only the processes whose command
    line names this cluster's temp dir: the head's, the autoscaler's, the nodes' and their workers.
    """

    address: str = ""
    _temp: str = ""

    def __enter__(self) -> LocalAutoscalingCluster:
        self._temp = tempfile.mkdtemp(prefix="plas-", dir="/tmp")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        config = json.loads(json.dumps(AUTOSCALING_CONFIG))
        config["provider"]["gcs_address"] = f"127.0.0.1:{port}"
        config_path = os.path.join(self._temp, "autoscaling.json")
        with open(config_path, "w") as out:
            json.dump(config, out)
        env = {**os.environ, "RAY_FAKE_CLUSTER": "1", "AUTOSCALER_UPDATE_INTERVAL_S": "1"}
        command = [
            os.path.join(os.path.dirname(sys.executable), "ray"),
            "start",
            "--head",
            "--node-ip-address=127.0.0.1",
            f"--port={port}",
            "--num-cpus=0",
            f"--temp-dir={self._temp}",
            f"--autoscaling-config={config_path}",
            "--include-dashboard=false",
            "--disable-usage-stats",
            f"--object-store-memory={100 << 20}",
        ]
        started = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        if started.returncode != 0:
            self.__exit__()
            raise RuntimeError(f"the autoscaling head did not start: {started.stderr[-2000:]}")
        self.address = f"127.0.0.1:{port}"
        return self

    def _processes(self) -> list[tuple[int, str]]:
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/cmdline", "rb") as handle:
                        line = handle.read().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                if self._temp and self._temp in line:
                    found.append((int(entry), line))
        return found

    def worker_nodes(self) -> int:
        """Worker raylets of this cluster running now (the head's raylet is not counted).

        A raylet's child between fork and exec still shows the raylet's command line; it is not a
        node, so processes whose parent is a raylet are left out.
        """
        raylets = {pid for pid, line in self._processes() if line.split(" ", 1)[0].endswith("/raylet")}
        nodes = [pid for pid in raylets if parent_pid(pid) not in raylets]
        return max(0, len(nodes) - 1)

    def __exit__(self, *exc) -> None:
        for pid, _ in self._processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while self._processes() and time.monotonic() < deadline:
            time.sleep(0.1)
        shutil.rmtree(self._temp, ignore_errors=True)


def parent_pid(pid: int) -> int | None:
    """The parent pid of a live process, None if it has gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None
