"""GPT-NeoX v1.0 training order over a documents file (placeholder config only)."""

from __future__ import annotations

from pydantic import Field

from stages.config import StageConfig


class ShardsConfig(StageConfig):
    """Pre-shuffled training sequences: `seq_len + 1` tokens each, `num_samples` or iters × batch × 1.005."""

    seq_len: int = Field(2048, ge=1)
    num_samples: int | None = Field(None, ge=1)
    train_iters: int | None = Field(None, ge=1)
    global_batch: int = Field(1024, ge=1)
    shard_bytes: int = Field(1 << 30, ge=1024)
