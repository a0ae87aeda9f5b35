"""The PyTorch reader: at world sizes 1, 2 and 4 the ranks' micro-batches of step s are exactly
sequences [s·B, (s+1)·B) (compared with the shards parsed from their bytes), through a real
`torch.utils.data.DataLoader` with and without worker processes; a resumed sampler continues exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_export import _expected
from torch.utils.data import DataLoader

from pipeline.formats.torch_reader import StepSampler, TrainingSequences

GLOBAL_BATCH = 8


def _rank_batches(
    run, world_size: int, rank: int, micro: int, num_workers: int = 0, start_step: int = 0
) -> list[np.ndarray]:
    dataset = TrainingSequences(run)
    sampler = StepSampler(dataset, world_size=world_size, rank=rank, start_step=start_step)
    loader = DataLoader(dataset, batch_size=micro, sampler=sampler, num_workers=num_workers)
    return [batch.numpy() for batch in loader]


@pytest.mark.parametrize("world_size, micro, num_workers", [(1, 8, 0), (2, 2, 2), (4, 2, 0), (4, 1, 2)])
def test_the_ranks_micro_batches_of_each_step_are_that_steps_sequences(training_run, world_size, micro, num_workers):
    expected = _expected(training_run)
    steps = len(expected) // GLOBAL_BATCH
    per_rank = [_rank_batches(training_run, world_size, rank, micro, num_workers) for rank in range(world_size)]
    accumulation = GLOBAL_BATCH // world_size // micro
    assert all(len(batches) == steps * accumulation for batches in per_rank)
    for step in range(steps):
        together = [b for batches in per_rank for b in batches[step * accumulation : (step + 1) * accumulation]]
        assert all(b.dtype == np.int64 and b.shape == (micro, 64) for b in together)
        assert np.concatenate(together).tolist() == expected[step * GLOBAL_BATCH : (step + 1) * GLOBAL_BATCH].tolist()


def test_start_step_resumes_exactly_at_any_world_size(training_run):
    expected = _expected(training_run)
    resumed = [_rank_batches(training_run, 2, rank, 4, start_step=150) for rank in range(2)]
    assert len(resumed[0]) == len(expected) // GLOBAL_BATCH - 150
    assert np.concatenate([resumed[0][0], resumed[1][0]]).tolist() == expected[1200:1208].tolist()
    last = (len(expected) // GLOBAL_BATCH - 1) * GLOBAL_BATCH
    assert np.concatenate([resumed[0][-1], resumed[1][-1]]).tolist() == expected[last : last + GLOBAL_BATCH].tolist()


def test_a_sampler_restored_from_its_state_continues_where_it_stopped(training_run):
    dataset = TrainingSequences(training_run)
    sampler = StepSampler(dataset, world_size=2, rank=1)
    loader = DataLoader(dataset, batch_size=2, sampler=sampler)
    batches = iter(loader)
    seen = [next(batches) for _ in range(7)]
    state = sampler.state_dict()
    assert state == {"step": 3, "global_batch": 8}, "7 micro-batches of 2 are 3 whole steps of rank 1's 4"
    uninterrupted = [
        b.tolist() for b in DataLoader(dataset, batch_size=2, sampler=StepSampler(dataset, world_size=2, rank=1))
    ]
    assert [b.tolist() for b in seen] == uninterrupted[:7]
    restored = StepSampler(dataset, world_size=2, rank=1)
    restored.load_state_dict(state)
    continued = [b.tolist() for b in DataLoader(dataset, batch_size=2, sampler=restored)]
    assert continued == uninterrupted[6:]


def test_bad_sampler_settings_name_the_setting(training_run):
    dataset = TrainingSequences(training_run)
    with pytest.raises(ValueError, match="world_size: 3 does not divide the global batch 8"):
        StepSampler(dataset, world_size=3, rank=0)
    with pytest.raises(ValueError, match=r"rank: 2 outside \[0, 2\)"):
        StepSampler(dataset, world_size=2, rank=2)
    with pytest.raises(ValueError, match="start_step: 100000 outside"):
        StepSampler(dataset, start_step=100_000)
    sampler = StepSampler(dataset)
    with pytest.raises(ValueError, match="global_batch: the state counts steps of 16 sequences, this sampler 8"):
        sampler.load_state_dict({"step": 1, "global_batch": 16})
    assert torch.equal(dataset[3], torch.from_numpy(_expected(training_run)[3].astype(np.int64)))
