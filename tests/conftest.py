"""Shared fixtures: one real local Ray per test session (num_cpus=2), a finished small run, a real-text corpus."""

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


@pytest.fixture(scope="session")
def training_run(tmp_path_factory, ray_instance):
    """A finished small run (240 sample documents, 64-token samples, global batch 8, several sequence shards)."""
    from pipeline.manifest import parse_manifest
    from pipeline.phases.runner import run_manifest
    from pipeline.runtime.progress import Progress
    from pipeline.sample.corpus import write_sample_corpus

    root = tmp_path_factory.mktemp("training-run")
    write_sample_corpus(root / "sample", docs=240, seed=3)
    manifest = parse_manifest({
        "inputs": [str(root / "sample" / "train" / "*.jsonl.zst")],
        "output": str(root / "run"),
        "filter": {"preset": "cerebras"},
        "shards": {"seq_len": 63, "global_batch": 8, "shard_bytes": 40_000},
    })
    run_manifest(manifest, Progress(quiet=True))
    return root / "run"


@pytest.fixture(scope="session")
def real_text_corpus(tmp_path_factory):
    """A 2 MB slice of the real-text benchmark corpus (`benchmarks/real_text.py`, seed 0): its directory, summary
    and the `real_text` module."""
    import sys
    from pathlib import Path

    benchmarks = str(Path(__file__).resolve().parents[1] / "benchmarks")
    sys.path.insert(0, benchmarks)
    try:
        import real_text
    finally:
        sys.path.remove(benchmarks)
    root = tmp_path_factory.mktemp("real-text") / "corpus"
    return root, real_text.write_real_text_corpus(root, megabytes=2, seed=0), real_text
