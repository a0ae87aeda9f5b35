"""PyTorch access to a run's training sequences: a map-style dataset and a data-parallel step sampler.

The only module that imports torch (install the `train` extra). For global batch B and W ranks
(W divides B), rank r's share of training step s is the B/W sequences
[s·B + r·B/W, s·B + (r + 1)·B/W): together the ranks read exactly sequences [s·B, (s+1)·B), the
batch `pileline inspect --step s` shows, whatever W is.

    dataset = TrainingSequences("RUN_DIR")                       # dataset[i]: sample i, int64, seq_len + 1 ids
    sampler = StepSampler(dataset, global_batch=B, start_step=s) # world size and rank from torch.distributed
    loader = DataLoader(dataset, batch_size=B // W // accumulation, sampler=sampler, num_workers=2)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import Dataset, Sampler

from pipeline.formats.token_reader import SequenceShards


class TrainingSequences(Dataset):
    """The run's sequences in training order; each worker process opens its own memory maps."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = str(run_dir)
        self._shards: SequenceShards | None = SequenceShards(self.run_dir)
        self.global_batch = self._shards.global_batch
        self._length = len(self._shards)

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index: int) -> torch.Tensor:
        if self._shards is None:
            self._shards = SequenceShards(self.run_dir)
        return torch.from_numpy(self._shards[index].astype(np.int64))

    def __getstate__(self) -> dict:
        """Pickled for DataLoader workers without the memory maps (each worker maps the files itself)."""
        return {**self.__dict__, "_shards": None}


class StepSampler(Sampler[int]):
    """This rank's sequence indices, step after step from `start_step`: its contiguous B/W of each step's B.

    `state_dict()` gives the next step not yet handed out, and `load_state_dict` resumes from a step
    (at any world size dividing B: the order does not depend on W). A DataLoader with workers takes
    indices ahead of what the trainer has consumed (`prefetch_factor` × `num_workers` batches), so
    there resume from the trainer's own step count: `StepSampler(..., start_step=step)`.
    """

    def __init__(
        self,
        dataset: TrainingSequences | int,
        global_batch: int | None = None,
        world_size: int | None = None,
        rank: int | None = None,
        start_step: int = 0,
    ) -> None:
        if world_size is None:
            world_size = dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1
        if rank is None:
            rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
        if global_batch is None:
            if isinstance(dataset, int):
                raise ValueError("global_batch: required when the sampler is given a number of samples")
            global_batch = dataset.global_batch
        if global_batch < 1 or world_size < 1 or global_batch % world_size:
            raise ValueError(f"world_size: {world_size} does not divide the global batch {global_batch}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank: {rank} outside [0, {world_size})")
        self.global_batch = global_batch
        self.world_size = world_size
        self.rank = rank
        self.per_rank = global_batch // world_size
        self.steps = (dataset if isinstance(dataset, int) else len(dataset)) // global_batch
        self.start_step = self._checked_step(start_step)
        self._handed_out = 0

    def _checked_step(self, step: int) -> int:
        if not 0 <= step <= self.steps:
            raise ValueError(
                f"start_step: {step} outside [0, {self.steps}] (complete steps at global batch {self.global_batch})"
            )
        return step

    def __len__(self) -> int:
        return (self.steps - self.start_step) * self.per_rank

    def __iter__(self) -> Iterator[int]:
        self._handed_out = 0
        for step in range(self.start_step, self.steps):
            first = step * self.global_batch + self.rank * self.per_rank
            for index in range(first, first + self.per_rank):
                self._handed_out += 1
                yield index

    def state_dict(self) -> dict:
        """The next step whose indices were not all handed out, and the global batch it counts in."""
        return {"step": self.start_step + self._handed_out // self.per_rank, "global_batch": self.global_batch}

    def load_state_dict(self, state: dict) -> None:
        """Resume at `state["step"]`; the global batch must be the one the state was counted in."""
        if state["global_batch"] != self.global_batch:
            counted = state["global_batch"]
            raise ValueError(
                f"global_batch: the state counts steps of {counted} sequences, this sampler {self.global_batch}"
            )
        self.start_step = self._checked_step(int(state["step"]))
        self._handed_out = 0
