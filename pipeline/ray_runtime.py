"""Connect to Ray: an embedded local instance by default, an existing cluster with an address."""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from collections.abc import Iterator

import ray

from pipeline.errors import UserError
from pipeline.manifest import RayConfig


@contextmanager
def ray_session(config: RayConfig) -> Iterator[int]:
    """Yield the number of CPUs available; start and stop an embedded Ray unless one is already up.

    Without an address the embedded instance is always a new local one (`address="local"`), never a
    cluster that happens to be running on this machine.
    """
    if ray.is_initialized():
        yield _cluster_cpus()
        return
    address = config.address or os.environ.get("RAY_ADDRESS")
    kwargs = {"include_dashboard": False, "logging_level": logging.WARNING, "log_to_driver": True}
    try:
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(address="local", num_cpus=config.num_cpus or os.cpu_count(), **kwargs)
    except ConnectionError as error:
        raise UserError(f"cannot connect to Ray at {address}: {error}") from None
    try:
        yield _cluster_cpus()
    finally:
        ray.shutdown()


def _cluster_cpus() -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))
