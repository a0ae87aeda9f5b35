"""The embedded Ray session: started by `ray_session` without the autoscaler monitor, the log monitor, the
dashboard head and Ray's agents, and stopped whole: by `ray.shutdown`, or with the process by `exit_now`.

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

from pipeline.runtime.ray_session import _AGENT_STAND_IN, _wait_until_registered, without_agents

CHILD = """
import os
import time

import ray
from pipeline.manifest import RayConfig
from pipeline.runtime.process_exit import descendants
from pipeline.runtime.ray_session import ray_session

with ray_session(RayConfig(num_cpus=1)):
    node = ray._private.worker._global_node
    kinds = sorted(node.all_processes)
    processes = [info.process for infos in node.all_processes.values() for info in infos]
    raylet = node.all_processes["raylet"][0].process.pid
    scripts = ("agent_stand_in.py", "dashboard/agent.py", "runtime_env/agent/main.py")  # a worker names agent ports
    commands = {pid: open(f"/proc/{pid}/cmdline").read() for pid in descendants(raylet)}
    agents = [pid for pid, command in commands.items() if any(script in command for script in scripts)]
    agent_commands = sorted(commands[pid].split("\\0")[-2] for pid in agents)
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
    and ray._private.services.start_ray_process.__name__ == "start_ray_process"
)
time.sleep(0.2)  # the raylet's children are reaped by init once the raylet has gone
agents_alive = sum(
    os.path.exists(f"/proc/{pid}") and open(f"/proc/{pid}/stat").read().split()[2] != "Z" for pid in agents
)
print(",".join(kinds), answer, error, sum(p.poll() is None for p in processes), restored, agents_alive)
print(*agent_commands)
"""


def test_the_embedded_session_runs_no_monitors_nor_dashboard_works_and_ends_whole():
    with tempfile.TemporaryDirectory(prefix="rs-", dir="/tmp") as ray_tmp:  # a short socket path
        env = {**os.environ, "RAY_TMPDIR": ray_tmp}
        child = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120, env=env)
    assert child.returncode == 0, child.stderr[-2000:]
    (kinds, answer, error, alive, restored, agents_alive), agent_commands = map(str.split, child.stdout.splitlines())
    assert "gcs_server" in kinds.split(",") and "raylet" in kinds.split(","), kinds
    assert "monitor" not in kinds.split(","), "no autoscaler monitor was started"
    assert "log_monitor" not in kinds.split(","), "no log monitor was started"
    assert "dashboard" not in kinds.split(","), "no dashboard head was started"
    assert answer == "42", "tasks run without the monitors"
    assert error == "traceback", "a task's error still reaches the driver, with its message and traceback"
    assert alive == "0", "no process of the session outlives it"
    assert restored == "True", "Ray's own functions and RayParams are back once it has started"
    assert "autoscaler" not in child.stderr
    assert agent_commands == [str(_AGENT_STAND_IN)] * 2, "both of Ray's agents are stand-ins, not Ray's agent.py"
    assert agents_alive == "0", "the stand-ins end with the raylet"


EXITING_CHILD = """
import os
import sys

import ray
from pipeline.manifest import RayConfig
from pipeline.runtime.process_exit import descendants, end_with_exit_now, exit_now
from pipeline.runtime.ray_session import ray_session

end_with_exit_now()
with ray_session(RayConfig(num_cpus=1)):
    answer = ray.get(ray.remote(lambda: 41 + 1).remote())
print(answer, ray.is_initialized(), *descendants(os.getpid()), flush=True)
print("last words", file=sys.stderr)
exit_now(3)
"""


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_process_that_ends_with_exit_now_leaves_the_embedded_ray_to_it_and_nothing_survives():
    with tempfile.TemporaryDirectory(prefix="rs-", dir="/tmp") as ray_tmp:
        env = {**os.environ, "RAY_TMPDIR": ray_tmp}
        child = subprocess.run(
            [sys.executable, "-c", EXITING_CHILD], capture_output=True, text=True, timeout=120, env=env
        )
    assert child.returncode == 3, child.stderr[-2000:]
    answer, initialized, *pids = child.stdout.split()
    assert answer == "42" and child.stderr.strip().endswith("last words")
    assert initialized == "True", "the session's end left the embedded Ray up for exit_now"
    assert len(pids) >= 4, "the GCS, the raylet and the two stand-ins at least"
    deadline = time.monotonic() + 5
    while any(_running(int(pid)) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in pids if _running(int(pid))], "exit_now killed every process the run started"


def test_without_agents_records_the_agents_ports_as_unused_and_starts_the_stand_in(tmp_path):
    node_id = "ab" * 28
    command = [
        "raylet",
        f"--session_dir={tmp_path}",
        f"--node_id={node_id}",
        "--dashboard_agent_command=python agent.py",
        "--runtime_env_agent_command=python main.py",
        "--gcs-address=x:1",
    ]
    rewritten = without_agents(command)
    stand_in = subprocess.list2cmdline([sys.executable, "-I", "-S", str(_AGENT_STAND_IN)])
    agents = [f"--dashboard_agent_command={stand_in}", f"--runtime_env_agent_command={stand_in}"]
    assert rewritten == [*command[:3], *agents, command[-1]]
    ports = {path.name.removesuffix(f"_{node_id}"): path.read_text() for path in tmp_path.iterdir()}
    assert ports == dict.fromkeys(
        ["metrics_agent_port", "metrics_export_port", "dashboard_agent_listen_port", "runtime_env_agent_port"], "-1"
    )
    older_ray = [argument for argument in command if not argument.startswith("--runtime_env_agent_command")]
    assert without_agents(older_ray) == older_ray, "a raylet command without both agents is left to Ray's agents"


def test_waiting_for_registration_returns_for_a_live_node_and_gives_up_on_an_unknown_one(ray_instance):
    gcs_address = ray._private.worker._global_node.gcs_address
    started = time.monotonic()
    _wait_until_registered(gcs_address, ray.get_runtime_context().get_node_id(), timeout=20)
    assert time.monotonic() - started < 10, "the live node is found, not waited for until the timeout"
    started = time.monotonic()
    _wait_until_registered(gcs_address, "ab" * 28, timeout=0.3)
    assert 0.3 <= time.monotonic() - started < 10, "an unknown node is polled for until the timeout, then left to Ray"
