"""The base of every stage's typed configuration: frozen, unknown keys rejected, hashable for resume."""

from __future__ import annotations

import hashlib

import orjson
from pydantic import BaseModel, ConfigDict


def stable_hash(payload: object) -> str:
    """A short hash of a JSON-able value, independent of dict order: the key of reusable work."""
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


class StageConfig(BaseModel):
    """A small, frozen, validated configuration; `extra="forbid"` makes a misspelt key an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def config_hash(self) -> str:
        """A short stable hash of every field, used to refuse reuse of outputs made with another config."""
        return stable_hash(self.model_dump(mode="json"))
