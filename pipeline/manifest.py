"""The run manifest: a YAML file validated on load into typed, frozen configuration.

Unknown keys and bad values are refused with one line naming the key, e.g.
`manifests/demo.yaml: dedup.threshold: Input should be less than or equal to 1 (got 1.5)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, field_validator

from pipeline.errors import UserError
from stages.config import StageConfig
from stages.decontaminate import DecontaminateConfig
from stages.dedup import DedupConfig
from stages.filter import FilterConfig
from stages.normalize import NormalizeConfig
from stages.read import ReadConfig
from stages.tokenize import TokenizeConfig
from stages.training_order import ShardsConfig

PARTITION_BYTES = 64 << 20
"""Default bound on a partition's raw line bytes (64 MiB): a task's memory is a small multiple of its partition's
bytes (README, "Identity and partitions"), so this bounds it whatever the documents' sizes."""


class RayConfig(StageConfig):
    """Where to run: `address` null starts an embedded local Ray; `num_cpus` caps the embedded one."""

    address: str | None = None
    num_cpus: int | None = Field(None, ge=1)
    max_in_flight: int | None = Field(
        None, ge=1, description="tasks in flight; default 2 × the cluster's CPUs, re-read as nodes join"
    )


class SplitsConfig(StageConfig):
    """Evaluation splits: files read, normalised and tokenized as the training inputs are, never filtered,
    decontaminated or removed by dedup (they join it as holdout), written as their own token files."""

    valid: list[str] = Field(default_factory=list, description="the validation files, e.g. the Pile's val.jsonl.zst")
    test: list[str] = Field(default_factory=list, description="the test files, e.g. the Pile's test.jsonl.zst")

    def named(self) -> dict[str, list[str]]:
        """The splits that name files, by name, in order (valid, then test)."""
        return {name: files for name in ("valid", "test") if (files := getattr(self, name))}


class Manifest(StageConfig):
    """A whole run: inputs, output directory, seed, partitioning, Ray, and each stage's configuration."""

    inputs: list[str] = Field(min_length=1)
    output: str
    seed: int = Field(1234, ge=0, lt=2**32)
    partition_docs: int = Field(10_000, ge=1)
    partition_bytes: int = Field(
        PARTITION_BYTES,
        ge=1,
        description="a partition also ends before the line that would take its raw line bytes past this",
    )
    ray: RayConfig = RayConfig()
    read: ReadConfig = ReadConfig()
    normalize: NormalizeConfig = NormalizeConfig()
    decontaminate: DecontaminateConfig = DecontaminateConfig()
    filter: FilterConfig = FilterConfig()
    dedup: DedupConfig = DedupConfig()
    tokenize: TokenizeConfig = TokenizeConfig()
    shards: ShardsConfig = ShardsConfig()
    splits: SplitsConfig = SplitsConfig()

    @field_validator("inputs")
    @classmethod
    def _no_blank_inputs(cls, value: list[str]) -> list[str]:
        if any(not item.strip() for item in value):
            raise ValueError("an input is blank")
        return value


def format_validation_error(origin: str, error: ValidationError) -> str:
    """One line: `origin: key.path: message (got value)` for the first problem, with a count of the rest."""
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "(top level)"
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown key"
    elif first["type"] != "missing" and "input" in first:
        got = first["input"]
        if not isinstance(got, (dict, list)):
            message = f"{message} (got {got!r})"
    more = len(error.errors()) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{origin}: {key}: {message}{suffix}"


def parse_manifest(data: Any, origin: str = "manifest") -> Manifest:
    """Validate a mapping (already loaded from YAML) into a `Manifest`, or raise `UserError`."""
    if not isinstance(data, dict):
        raise UserError(f"{origin}: the manifest must be a mapping of keys, got {type(data).__name__}")
    try:
        return Manifest.model_validate(data)
    except ValidationError as error:
        raise UserError(format_validation_error(origin, error)) from None


def load_manifest(path: str | Path, overrides: dict[str, Any] | None = None) -> Manifest:
    """Read a YAML manifest and apply command-line overrides (dotted keys, e.g. `ray.num_cpus`)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such manifest file") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise UserError(f"{path}{where}: not valid YAML ({getattr(error, 'problem', error)})") from None
    if isinstance(data, dict):
        for dotted, value in (overrides or {}).items():
            if value is None:
                continue
            node = data
            *parents, leaf = dotted.split(".")
            for parent in parents:
                if not isinstance(node.get(parent), dict):
                    node[parent] = {}
                node = node[parent]
            node[leaf] = value
    return parse_manifest(data, str(path))
