"""The embedded Ray session: started and stopped by `ray_session`, its autoscaler monitor stopped first.

Runs in a child process, since the test session's own Ray is already up (and `ray_session` then
starts nothing).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

CHILD = """
import ray
from pipeline.manifest import RayConfig
from pipeline.runtime.ray_session import ray_session, stop_autoscaler_monitor

with ray_session(RayConfig(num_cpus=1)):
    node = ray._private.worker._global_node
    processes = [info.process for infos in node.all_processes.values() for info in infos]
    monitor = node.all_processes["monitor"][0].process
    stopped = stop_autoscaler_monitor()
    answer = ray.get(ray.remote(lambda: 41 + 1).remote())
print(stopped, monitor.returncode, answer, sum(p.poll() is None for p in processes))
"""


def test_the_monitor_is_killed_first_and_the_session_still_works_and_ends_whole():
    with tempfile.TemporaryDirectory(prefix="rs-", dir="/tmp") as ray_tmp:  # a short socket path
        env = {**os.environ, "RAY_TMPDIR": ray_tmp}
        child = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120, env=env)
    assert child.returncode == 0, child.stderr[-2000:]
    stopped, returncode, answer, alive = child.stdout.split()
    assert (stopped, returncode) == ("1", "-9"), "one monitor, killed by SIGKILL"
    assert answer == "42", "tasks still run once the monitor is gone"
    assert alive == "0", "no process of the session outlives it"
    assert "autoscaler failed" not in child.stderr
