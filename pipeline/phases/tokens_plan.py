"""What the tokens phase's steps share: where they read and write, and the run's training order."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.formats.run_directory import RunDirectory
from pipeline.manifest import Manifest


@dataclass(frozen=True)
class DedupClusters:
    """Where the dedup phase left each partition's cluster members (`<dir>/<partition>.parquet`)."""

    directory: str


@dataclass(frozen=True)
class TokensPlan:
    """Where the tokens phase reads and writes, for which partitions (train only, in doc_id order).

    Tokenized partitions live in `tokens_dir` (they depend on the tokenizer and dedup); documents,
    order and sequences in `layout_dir` (they also depend on `shards` and `seed`), so changing the
    seed re-lays out the tokens without tokenizing again. `split` names an evaluation split (its
    partitions, never removed by dedup, laid out in file order as `tokens/<split>-…`); None: training.
    """

    run: RunDirectory
    prepare_dir: str
    clusters: DedupClusters | None
    tokens_dir: str
    layout_dir: str
    partitions: tuple[str, ...]
    manifest: Manifest
    split: str | None = None

    def step_path(self, step: str, name: str, suffix: str) -> str:
        root = self.tokens_dir if step == "tokens" else self.layout_dir
        return f"{root}/{step}/{name}{suffix}"
