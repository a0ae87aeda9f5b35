"""Dedup configuration: shingles, signatures, banding, verification, keep rule, holdout, presets."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from stages.config import StageConfig

DEDUP_PRESETS: dict[str, dict] = {
    "pythia": {"shingle": "word", "ngram": 5, "num_perm": 128, "threshold": 0.87},
    "slimpajama": {"shingle": "char", "ngram": 13, "num_perm": 128, "threshold": 0.8, "bands": 9, "rows": 13},
    "pile-owt2": {"shingle": "word", "ngram": 5, "num_perm": 10, "threshold": 0.5},
}


class DedupConfig(StageConfig):
    """MinHash-LSH near-duplicate removal; a `preset` fills every field the manifest leaves unset."""

    enabled: bool = True
    preset: Literal["pythia", "slimpajama", "pile-owt2"] | None = None
    shingle: Literal["word", "char"] = "word"
    ngram: int = Field(5, ge=1)
    num_perm: int = Field(128, ge=2, le=1024)
    seed: int = Field(1, ge=0)
    hash: Literal["poly64", "sha1"] = "poly64"
    threshold: float = Field(0.87, gt=0.0, le=1.0)
    weights: tuple[float, float] = (0.5, 0.5)
    bands: int | None = Field(None, ge=1)
    rows: int | None = Field(None, ge=1)
    verify: Literal["none", "signature", "exact"] = "none"
    priority: list[str] = []
    holdout: list[str] = []

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("preset") is not None:
            preset = DEDUP_PRESETS.get(data["preset"])
            if preset is not None:
                data = {**preset, **data}
        return data

    @field_validator("weights")
    @classmethod
    def _check_weights(cls, weights: tuple[float, float]) -> tuple[float, float]:
        if min(weights) < 0 or abs(sum(weights) - 1.0) > 1e-9:
            raise ValueError(f"weights (false positive, false negative) must be non-negative and sum to 1, got {list(weights)}")
        return weights

    @model_validator(mode="after")
    def _check_banding(self) -> "DedupConfig":
        if (self.bands is None) != (self.rows is None):
            raise ValueError("bands and rows must be given together")
        if self.bands is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands*rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        return self
