"""What the whole-pipeline tests share: a sample corpus with a run manifest over it, and the `pileline run`
command line they start in a child process."""

from __future__ import annotations

import sys
from pathlib import Path

from pipeline.sample.corpus import write_sample_corpus


def pileline_run(manifest: Path | str, *options: str) -> list[str]:
    """`pileline run MANIFEST OPTIONS…` with this interpreter (the console script need not be on PATH)."""
    return [sys.executable, "-m", "pipeline.cli.main", "run", str(manifest), *options]


def sample_run_manifest(
    root: Path, output: Path, *, docs: int, seed: int, partition_docs: int = 25, holdout: bool = True, extra: str = ""
) -> Path:
    """Write a sample corpus to `root/sample` and `root/run.yaml` over its train files into `output`:
    SlimPajama's filter, Pythia's dedup (against the sample's holdout unless `holdout=False`), small
    sequence shards, then the YAML lines `extra`. Returns the manifest's path."""
    write_sample_corpus(root / "sample", docs=docs, seed=seed)
    against = f", holdout: ['{root / 'sample' / 'val.jsonl.zst'}']" if holdout else ""
    path = root / "run.yaml"
    path.write_text(
        f"inputs: ['{root / 'sample' / 'train'}/*.jsonl.zst']\n"
        f"output: {output}\n"
        f"partition_docs: {partition_docs}\n"
        "filter: {preset: slimpajama}\n"
        f"dedup: {{preset: pythia{against}}}\n"
        "shards: {seq_len: 127, shard_bytes: 16384}\n" + extra
    )
    return path
