"""The embedded Ray session: started by `ray_session` without the autoscaler monitor, the log monitor and the
dashboard head, and stopped whole.

Runs in a child process, since the test session's own Ray is already up (and `ray_session` then
starts nothing).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import ray

from pipeline.runtime.ray_session import _wait_until_registered

CHILD = """
import ray
from pipeline.manifest import RayConfig
from pipeline.runtime.ray_session import ray_session

with ray_session(RayConfig(num_cpus=1)):
    node = ray._private.worker._global_node
    kinds = sorted(node.all_processes)
    processes = [info.process for infos in node.all_processes.values() for info in infos]
    answer = ray.get(ray.remote(lambda: 41 + 1).remote())
    try:
        ray.get(ray.remote(lambda: int("line 7 of x.jsonl")).options(max_retries=0).remote())
        error = "none"
    except ValueError as caught:
        error = "traceback" if "line 7 of x.jsonl" in str(caught) and "in <lambda>" in str(caught) else "bare"
params = ray._private.parameter.RayParams()
restored = (
    not params.no_monitor
    and ray._private.node.Node.start_api_server.__name__ == "start_api_server"
    and ray._private.services.get_node.__name__ == "get_node"
)
print(",".join(kinds), answer, error, sum(p.poll() is None for p in processes), restored)
"""


def test_the_embedded_session_runs_no_monitors_nor_dashboard_works_and_ends_whole():
    with tempfile.TemporaryDirectory(prefix="rs-", dir="/tmp") as ray_tmp:  # a short socket path
        env = {**os.environ, "RAY_TMPDIR": ray_tmp}
        child = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120, env=env)
    assert child.returncode == 0, child.stderr[-2000:]
    kinds, answer, error, alive, restored = child.stdout.split()
    assert "gcs_server" in kinds.split(",") and "raylet" in kinds.split(","), kinds
    assert "monitor" not in kinds.split(","), "no autoscaler monitor was started"
    assert "log_monitor" not in kinds.split(","), "no log monitor was started"
    assert "dashboard" not in kinds.split(","), "no dashboard head was started"
    assert answer == "42", "tasks run without the monitors"
    assert error == "traceback", "a task's error still reaches the driver, with its message and traceback"
    assert alive == "0", "no process of the session outlives it"
    assert restored == "True", "Ray's own RayParams, Node.start_api_server and get_node are back once it has started"
    assert "autoscaler" not in child.stderr


def test_waiting_for_registration_returns_for_a_live_node_and_gives_up_on_an_unknown_one(ray_instance):
    gcs_address = ray._private.worker._global_node.gcs_address
    started = time.monotonic()
    _wait_until_registered(gcs_address, ray.get_runtime_context().get_node_id(), timeout=20)
    assert time.monotonic() - started < 10, "the live node is found, not waited for until the timeout"
    started = time.monotonic()
    _wait_until_registered(gcs_address, "ab" * 28, timeout=0.3)
    assert 0.3 <= time.monotonic() - started < 10, "an unknown node is polled for until the timeout, then left to Ray"
