"""Read a run's token files from a trainer, with NumPy only (no torch).

    from pipeline.formats.token_reader import SequenceShards, DocumentShards
    sequences = SequenceShards("RUN_DIR")        # the pre-shuffled training sequences, in training order
    len(sequences), sequences[i]                 # sample i: seq_len + 1 token ids
    sequences.batch(step)                        # (global_batch, seq_len + 1): the batch of training step `step`
    documents = DocumentShards("RUN_DIR")        # the kept documents in doc_id order (Megatron's documents file)
    documents[i], documents.info(i)              # item i's tokens; its doc_id, source, line, pile_set_name
    SequenceShards("RUN_DIR", split="valid")     # an evaluation split's sequences, in file order (also documents)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pyarrow.parquet as pq

from pipeline.errors import UserError
from pipeline.formats.indexed_dataset import IndexedDataset
from pipeline.formats.run_layout import sequences_meta, tokens_path


def _sequences_json(run_dir: Path, split: str | None) -> dict:
    path = run_dir / sequences_meta(split)
    if not path.exists():
        what = "a finished pileline run directory" if split is None else f"a finished run with a {split!r} split"
        raise UserError(f"{path}: not found; is {run_dir} {what}?")
    return orjson.loads(path.read_bytes())


class SequenceShards:
    """The `sequences-NNNNN` shards of a run as one list of samples in training order (or, with `split`,
    the `<split>-sequences-NNNNN` shards of an evaluation split, in file order)."""

    def __init__(self, run_dir: str | Path, split: str | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.meta = _sequences_json(self.run_dir, split)
        self.shards = [IndexedDataset(self.run_dir / tokens_path(s["file"])) for s in self.meta["shards"]]
        self.first = np.array([s["first_sample"] for s in self.meta["shards"]], dtype=np.int64)
        self.global_batch = int(self.meta["global_batch"])

    def __len__(self) -> int:
        return int(self.meta["total_samples"])

    def __getitem__(self, i: int) -> np.ndarray:
        if not 0 <= i < len(self):
            raise IndexError(f"sample {i} outside [0, {len(self)})")
        if not self.shards:
            raise UserError(f"{self.run_dir}: no sequence shards (the run had shards.sequences: false)")
        shard = int(np.searchsorted(self.first, i, side="right") - 1)
        return self.shards[shard][i - int(self.first[shard])]

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Samples [start, stop) as one (stop - start, seq_len + 1) array, sliced from the shards they lie in."""
        if not 0 <= start <= stop <= len(self):
            raise IndexError(f"samples [{start}, {stop}) outside [0, {len(self)})")
        width = int(self.meta["tokens_per_sample"])
        parts = [np.zeros((0, width), dtype=np.dtype(self.meta["dtype"]))]
        while start < stop:
            shard = int(np.searchsorted(self.first, start, side="right") - 1)
            dataset, first = self.shards[shard], int(self.first[shard])
            end = min(stop, first + len(dataset))
            begin = int(dataset.pointers[start - first]) // dataset.dtype.itemsize
            parts.append(dataset.tokens(begin, begin + (end - start) * width).reshape(-1, width))
            start = end
        return np.concatenate(parts)

    def steps(self, batch_size: int | None = None) -> int:
        """Complete training steps available at `batch_size` (default: the manifest's global batch)."""
        return len(self) // (batch_size or self.global_batch)

    def batch(self, step: int, batch_size: int | None = None) -> np.ndarray:
        """The (batch_size, seq_len + 1) samples of training step `step`: samples [step·B, (step+1)·B)."""
        size = batch_size or self.global_batch
        if not 0 <= step < self.steps(size):
            raise IndexError(f"step {step} outside [0, {self.steps(size)}) at batch size {size}")
        return self.rows(step * size, (step + 1) * size)


class DocumentShards:
    """The documents file(s) of a run (or of evaluation split `split`) as one list of documents in doc_id order."""

    def __init__(self, run_dir: str | Path, split: str | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.meta = _sequences_json(self.run_dir, split)
        self.files = [IndexedDataset(self.run_dir / tokens_path(d["file"])) for d in self.meta["documents"]]
        self.first = np.cumsum([0] + [len(f) for f in self.files])
        self._tables = [
            pq.ParquetFile(self.run_dir / tokens_path(f"{d['file']}.parquet")) for d in self.meta["documents"]
        ]
        self._group_first = [
            np.cumsum([0] + [t.metadata.row_group(k).num_rows for k in range(t.num_row_groups)]) for t in self._tables
        ]

    def __len__(self) -> int:
        return int(self.first[-1])

    def locate(self, i: int) -> tuple[int, int]:
        """(file index, item within that file) of document i."""
        if not 0 <= i < len(self):
            raise IndexError(f"document {i} outside [0, {len(self)})")
        shard = int(np.searchsorted(self.first, i, side="right") - 1)
        return shard, i - int(self.first[shard])

    def __getitem__(self, i: int) -> np.ndarray:
        shard, item = self.locate(i)
        return self.files[shard][item]

    @property
    def sizes(self) -> np.ndarray:
        return np.concatenate([f.sizes for f in self.files])

    def info(self, i: int) -> dict:
        """doc_id, source, line, pile_set_name, tokens, file and item of document i (from its file's table)."""
        shard, item = self.locate(i)
        groups = self._group_first[shard]
        group = int(np.searchsorted(groups, item, side="right") - 1)
        return self._tables[shard].read_row_group(group).slice(item - int(groups[group]), 1).to_pylist()[0]
