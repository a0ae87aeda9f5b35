"""What each kind of Ray task asks for, declared once; phases decorate their tasks with these.

Every task writes its outputs atomically and reads back a finished summary, so a retry after a lost
worker or node is safe: phase tasks and readers are retried up to `TASK_RETRIES` times.
"""

from __future__ import annotations

from collections.abc import Callable

import ray

TASK_RETRIES = 3


def phase_task(fn: Callable) -> ray.remote_function.RemoteFunction:
    """A phase's per-item task (a partition, bucket or file): one CPU, retried when its node is lost."""
    return ray.remote(num_cpus=1, max_retries=TASK_RETRIES)(fn)


def reader_task(fn: Callable) -> ray.remote_function.RemoteFunction:
    """A streaming reader: no CPU slot of its own (it mostly waits on I/O and backpressure), retried."""
    return ray.remote(num_cpus=0, max_retries=TASK_RETRIES)(fn)


def node_cleanup_task(fn: Callable) -> ray.remote_function.RemoteFunction:
    """Housekeeping run once per node (`ray_session.on_every_node` places it); never retried."""
    return ray.remote(max_retries=0)(fn)
