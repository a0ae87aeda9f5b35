"""Dedup configuration: shingles, signatures, banding, verification, keep rule, holdout, presets.

Two keep rules (`mode`): `components` removes every member of a connected component of candidate
edges but one (Pythia's deduplicated Pile; chains A~B~C remove C even when C is far from A), and
`threshold` splits components so that every removed document is within `threshold` of the document
kept for it (the Jaccard of verified edges: estimated from signatures or exact). Exact copies of the
normalised text are found first in both modes and counted apart.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from stages.config import StageConfig

DEDUP_PRESETS: dict[str, dict] = {
    "pythia": {"shingle": "word", "ngram": 5, "num_perm": 128, "threshold": 0.87},
    "slimpajama": {"shingle": "char", "ngram": 13, "num_perm": 128, "threshold": 0.8, "bands": 9, "rows": 13},
    "pile-owt2": {"shingle": "word", "ngram": 5, "num_perm": 10, "threshold": 0.5},
    "threshold-true": {
        "shingle": "word",
        "ngram": 5,
        "num_perm": 128,
        "threshold": 0.87,
        "mode": "threshold",
        "verify": "exact",
    },
}
PRESET_NAMES = Literal["pythia", "slimpajama", "pile-owt2", "threshold-true"]


class DedupConfig(StageConfig):
    """MinHash-LSH near-duplicate removal; a `preset` fills every field the manifest leaves unset."""

    enabled: bool = True
    preset: PRESET_NAMES | None = None
    mode: Literal["components", "threshold"] = "components"
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
    recall: float = Field(0.95, gt=0.0, lt=1.0)
    """`threshold` mode, banding not given: the least P(candidate) at Jaccard = threshold the banding must reach."""
    warn_component_size: int = Field(10_000, ge=2)
    """A component (before splitting) larger than this is named in the run summary as a warning."""
    priority: list[str] = []
    holdout: list[str] = []

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("preset") is not None:
            preset = DEDUP_PRESETS.get(data["preset"])
            if preset is not None:
                data = {**preset, **data}
        if isinstance(data, dict) and data.get("mode") == "threshold" and "verify" not in data:
            data = {**data, "verify": "exact"}
        return data

    def priority_ranks(self, set_names: list[str]) -> np.ndarray:
        """Each document's place in `priority` (its subset's copy is kept first); unlisted subsets rank last."""
        if not self.priority:
            return np.zeros(len(set_names), dtype=np.int64)
        rank = {name: i for i, name in enumerate(self.priority)}
        return np.array([rank.get(name, len(self.priority)) for name in set_names], dtype=np.int64)

    @field_validator("weights")
    @classmethod
    def _check_weights(cls, weights: tuple[float, float]) -> tuple[float, float]:
        if min(weights) < 0 or abs(sum(weights) - 1.0) > 1e-9:
            raise ValueError(
                f"weights (false positive, false negative) must be non-negative and sum to 1, got {list(weights)}"
            )
        return weights

    @model_validator(mode="after")
    def _check_banding(self) -> DedupConfig:
        if (self.bands is None) != (self.rows is None):
            raise ValueError("bands and rows must be given together")
        if self.bands is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands*rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        if self.mode == "threshold" and self.verify == "none":
            raise ValueError("mode threshold needs verify: signature or exact (it keeps only verified removals)")
        return self
