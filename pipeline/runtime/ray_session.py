"""Connect to Ray: an embedded local instance by default, an existing cluster with an address."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import ray
from ray._private import node, parameter, ray_constants, services
from ray._raylet import (
    DASHBOARD_AGENT_LISTEN_PORT_NAME,
    METRICS_AGENT_PORT_NAME,
    METRICS_EXPORT_PORT_NAME,
    RUNTIME_ENV_AGENT_PORT_NAME,
    GcsClient,
    NodeID,
    persist_port,
)
from ray.core.generated.gcs_pb2 import GcsNodeInfo
from ray.core.generated.gcs_service_pb2 import GetAllNodeInfoRequest
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from pipeline.errors import UserError
from pipeline.manifest import RayConfig
from pipeline.runtime.process_exit import before_exit_now, ends_with_exit_now, kill_descendants


@contextmanager
def ray_session(config: RayConfig) -> Iterator[None]:
    """Start and stop an embedded Ray (or connect to `config.address`) unless one is already up.

    Without an address the embedded instance is always a new local one (`address="local"`), never a
    cluster that happens to be running on this machine, and it runs no autoscaler monitor, log monitor,
    dashboard head or agents (`lean_head`). In a process that ends through `exit_now` (the `pileline`
    command) the embedded instance is stopped there, killed with the process (`stop_with_process`), not
    here: Ray's graceful stop waits ~0.5 s for its processes to unregister and exit.
    """
    if ray.is_initialized():
        yield
        return
    address = config.address or os.environ.get("RAY_ADDRESS")
    kwargs = {"include_dashboard": False, "logging_level": logging.WARNING}
    try:
        if address:
            ray.init(address=address, log_to_driver=True, **kwargs)
        else:
            with lean_head():
                ray.init(address="local", num_cpus=config.num_cpus or os.cpu_count(), log_to_driver=False, **kwargs)
    except ConnectionError as error:
        raise UserError(f"cannot connect to Ray at {address}: {error}{_token_hint(error)}") from None
    try:
        yield
    finally:
        if not address and ends_with_exit_now():
            before_exit_now(stop_with_process)
        else:
            ray.shutdown()


def stop_with_process() -> None:
    """Stop the embedded Ray as the process ends: what `ray.shutdown` deletes (spilled objects) is deleted, then the
    GCS, the raylet and everything the raylet started are SIGKILLed. Where /proc cannot list them, `ray.shutdown`.
    Only as the process's last step: the driver's Ray client is left connected to nothing."""
    head = ray._private.worker._global_node
    if head is not None:
        head.destroy_external_storage()
    if not kill_descendants():
        ray.shutdown()


@contextmanager
def lean_head() -> Iterator[None]:
    """While inside, a Ray head started by `ray.init` starts only what pileline's tasks use: no autoscaler
    monitor, no log monitor and no dashboard head (as `ray start --no-monitor --include-log-monitor=False`
    would, and with `include_dashboard=False` the head would host only Ray's usage-stats reporter), and it
    waits for its raylet by polling the GCS instead of Ray's one-second retry. On one core the three
    processes took ~1.7 CPU s to start, and the retry waited up to a second past the raylet's registration.

    Nor does it run Ray's two per-node agents (`without_agents`): the dashboard agent serves metrics, logs and
    jobs to the dashboard (with Ray's minimal install, as pileline's, it loads none of them), and the
    runtime-env agent builds `runtime_env`s, which pileline's tasks never ask for. The raylet still starts
    two processes in their place and waits for the ports they would report; the stand-ins
    (`agent_stand_in`) do nothing, and the ports are recorded as unused, as Ray's minimal agent records its
    metrics ports. The two agents cost ~1 CPU s to start, and the raylet registered only once the dashboard
    agent had imported all of its modules: ~1 s of wall time on one core.

    The embedded instance has nothing to scale, and every task pileline sends it (1 or 0 CPUs) fits its
    node, so there is no infeasible demand to report either. pileline's workers print nothing: a task's
    error reaches the driver with its traceback through the task's result, a crashed worker as Ray's
    error, and any other output of a worker stays in Ray's session logs
    (`/tmp/ray/session_latest/logs/worker-*`) instead of being copied to the console. `ray.init` takes
    none of these options, so Ray's own classes and functions are swapped while it runs (private API:
    `tests/test_ray_session.py` fails if a Ray upgrade starts any of these processes again).
    """
    original_params, original_api_server = parameter.RayParams, node.Node.start_api_server
    original_get_node = services.get_node
    original_start_process = services.start_ray_process

    class LeanHeadParams(original_params):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.no_monitor = True
            self.include_log_monitor = False

    def no_api_server(self: node.Node, *, include_dashboard: bool | None, raise_on_failure: bool) -> None:
        self._webui_url = ""

    def get_registered_node(gcs_address: str, node_id: str) -> dict:
        _wait_until_registered(gcs_address, node_id)
        return original_get_node(gcs_address, node_id)

    def start_process(command: list[str], process_type: str, *args, **kwargs):
        if process_type == ray_constants.PROCESS_TYPE_RAYLET:
            command = without_agents(command)
        return original_start_process(command, process_type, *args, **kwargs)

    parameter.RayParams, node.Node.start_api_server = LeanHeadParams, no_api_server
    services.get_node, services.start_ray_process = get_registered_node, start_process
    try:
        yield
    finally:
        parameter.RayParams, node.Node.start_api_server = original_params, original_api_server
        services.get_node, services.start_ray_process = original_get_node, original_start_process


_AGENT_STAND_IN = Path(__file__).with_name("agent_stand_in.py")
_AGENT_FLAGS = ("--dashboard_agent_command", "--runtime_env_agent_command")
_AGENT_PORTS = (
    METRICS_AGENT_PORT_NAME,
    METRICS_EXPORT_PORT_NAME,
    DASHBOARD_AGENT_LISTEN_PORT_NAME,
    RUNTIME_ENV_AGENT_PORT_NAME,
)


def without_agents(raylet_command: list[str]) -> list[str]:
    """The raylet's command with `agent_stand_in` for both agents, once the ports the raylet waits for are recorded
    as unused (-1) in the session directory. A command without both agent flags is returned as it is (Ray's agents
    then run)."""
    flags = dict(argument.split("=", 1) for argument in raylet_command if "=" in argument)
    if not all(flag in flags for flag in _AGENT_FLAGS):
        return raylet_command
    for port in _AGENT_PORTS:
        persist_port(flags["--session_dir"], flags["--node_id"], port, -1)
    stand_in = subprocess.list2cmdline([sys.executable, "-I", "-S", str(_AGENT_STAND_IN)])
    names = [argument.split("=", 1)[0] for argument in raylet_command]
    return [f"{name}={stand_in}" if name in _AGENT_FLAGS else argument for name, argument in zip(names, raylet_command)]


def _wait_until_registered(gcs_address: str, node_id: str, timeout: float = 30.0, interval: float = 0.02) -> None:
    """Return once the GCS lists `node_id` alive, or after `timeout` (Ray's own wait then reports it);
    Ray's lookup retries only once a second, and a raylet on one busy core registers in about one."""
    client = GcsClient(address=gcs_address)
    selector = [GetAllNodeInfoRequest.NodeSelector(node_id=NodeID.from_hex(node_id).binary())]
    alive = GcsNodeInfo.GcsNodeState.ALIVE
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get_all_node_info(timeout=timeout, node_selectors=selector, state_filter=alive):
            return
        time.sleep(interval)


def _token_hint(error: BaseException | None) -> str:
    """What to do when the cluster refused us for want of a token: Ray (2.60, as pinned) enables token
    auth on `ray start --head` when ~/.ray/auth_token exists, but a driver given an explicit address
    sends the token only with RAY_AUTH_MODE=token. Ray keeps the refusal only in a cause's text."""
    refused = False
    while error is not None and not refused:
        refused = isinstance(error, ray.exceptions.AuthenticationError) or "InvalidAuthToken" in str(error)
        error = error.__cause__ or error.__context__
    if not refused or os.environ.get("RAY_AUTH_MODE") == "token":
        return ""
    return (
        " (the cluster asks for a token: set RAY_AUTH_MODE=token; "
        "Ray reads the token from ~/.ray/auth_token or RAY_AUTH_TOKEN)"
    )


def _cluster_cpus() -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


class InFlightLimit:
    """How many tasks a phase keeps in flight: `ray.max_in_flight` if the manifest sets it, else 2 × the
    cluster's CPUs now. The count is re-read every `refresh_seconds`, so on an autoscaling cluster the
    queued tasks make the autoscaler add nodes and the bound grows as they join."""

    def __init__(
        self, configured: int | None, refresh_seconds: float = 5.0, cpus: Callable[[], int] = _cluster_cpus
    ) -> None:
        self.configured = configured
        self.refresh_seconds = refresh_seconds
        self._read_cpus = cpus
        self._cpus = 0
        self._read_at = float("-inf")

    def cpus(self) -> int:
        """The cluster's CPUs, at most `refresh_seconds` old."""
        now = time.monotonic()
        if now - self._read_at >= self.refresh_seconds:
            self._cpus = self._read_cpus()
            self._read_at = now
        return self._cpus

    def __call__(self) -> int:
        return self.configured or 2 * self.cpus()


def on_every_node(task: ray.remote_function.RemoteFunction, *args) -> None:
    """Run `task(*args)` once on each alive node (pinned there, no CPU asked) and wait for them all.
    For per-node housekeeping: a node lost meanwhile took its local files with it, so it is skipped."""
    refs = [
        task.options(num_cpus=0, scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)).remote(
            *args
        )
        for node in ray.nodes()
        if node["Alive"]
    ]
    for ref in refs:
        try:
            ray.get(ref)
        except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError, ray.exceptions.TaskUnschedulableError):
            continue
