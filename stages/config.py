"""The base of every stage's typed configuration: frozen, unknown keys rejected, hashable for resume."""

from __future__ import annotations

import hashlib

import orjson
from pydantic import BaseModel, ConfigDict


class StageConfig(BaseModel):
    """A small, frozen, validated configuration; `extra="forbid"` makes a misspelt key an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def config_hash(self) -> str:
        """A short stable hash of every field, used to refuse reuse of outputs made with another config."""
        payload = orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(payload).hexdigest()[:16]
