"""What the tokens phase's steps share: where they read and write, and the run's training order."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.formats.order_file import open_npz
from pipeline.formats.run_directory import RunDirectory
from pipeline.manifest import Manifest
from stages.training_order import TrainingOrder

TOKENS_DIR = "tokens"
LAYOUT_FORMAT = 2
"""Version of what the documents, order and sequences steps write (2: a table per documents file, sha256
in the step summaries); part of the layout directory's key, so a run laid out by another version of
pileline is laid out again instead of reused with files missing."""
ORDER_FILE = f"{TOKENS_DIR}/training-order.npz"
"""GPT-NeoX's doc_idx, sample_idx, shuffle_idx and the document sizes, as `np.savez` arrays."""


@dataclass(frozen=True)
class DedupClusters:
    """Where the dedup phase left each partition's cluster members (`<dir>/<partition>.parquet`)."""

    directory: str


@dataclass(frozen=True)
class TokensPlan:
    """Where the tokens phase reads and writes, for which partitions (train only, in doc_id order).

    Tokenized partitions live in `tokens_dir` (they depend on the tokenizer and dedup); documents,
    order and sequences in `layout_dir` (they also depend on `shards` and `seed`), so changing the
    seed re-lays out the tokens without tokenizing again.
    """

    run: RunDirectory
    prepare_dir: str
    clusters: DedupClusters | None
    tokens_dir: str
    layout_dir: str
    partitions: tuple[str, ...]
    manifest: Manifest

    def step_path(self, step: str, name: str, suffix: str) -> str:
        root = self.tokens_dir if step == "tokens" else self.layout_dir
        return f"{root}/{step}/{name}{suffix}"


def load_training_order(run: RunDirectory, seq_len: int, seed: int, summary: dict) -> tuple[TrainingOrder, np.ndarray]:
    """The run's GPT-NeoX order (from `tokens/training-order.npz`, memory-mapped) and the documents' sizes."""
    arrays = open_npz(run, ORDER_FILE)
    order = TrainingOrder(
        seq_len, seed, summary["num_samples"], summary["epochs"], summary["tokens_per_epoch"],
        arrays["doc_idx"], arrays["sample_idx"], arrays["shuffle_idx"],
    )
    return order, arrays["sizes"]
