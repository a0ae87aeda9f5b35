"""Shared fixtures: one real local Ray per test session (num_cpus=2)."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture(scope="session")
def ray_instance():
    """A real local Ray, started once for the whole session (never an existing cluster); runs inside tests reuse it."""
    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    yield ray
    ray.shutdown()
