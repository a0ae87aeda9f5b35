"""A real multi-node Ray cluster on this machine, in its own process, for tests and benchmarks.

`ray.cluster_utils.Cluster` starts a head node and worker nodes (each its own raylet, object store
and workers) on loopback. It lives in a child process so it never meets the test session's own
`ray.init`; the test drives it over stdin (`kill N` removes worker N with SIGKILL, as a lost
machine would be) and points `pileline run --address` at it. Closing stops only its processes.

Run as a script: `python ray_cluster_for_tests.py --workers 2` prints one JSON line
`{"address": …, "workers": [[pid, …], …]}` and then obeys `kill N` lines until stdin closes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
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
            sys.executable, __file__, "--workers", str(self.workers), "--cpus", str(self.cpus),
            "--object-store-mb", str(self.object_store_mb),
        ]
        self._process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env={**os.environ, **(self.env or {})},
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
            "num_cpus": 0, "object_store_memory": store, "include_dashboard": False,
            "_system_config": FAST_FAILURE_DETECTION,
        },
    )
    nodes = [cluster.add_node(num_cpus=cpus, object_store_memory=store) for _ in range(workers)]
    cluster.wait_for_nodes()
    pids = [[process.process.pid for processes in node.all_processes.values() for process in processes] for node in nodes]
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
