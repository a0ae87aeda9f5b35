"""Filter: named quality predicates grouped in presets (placeholder: drops empty documents)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

from stages.batch import StageResult, with_reasons
from stages.config import StageConfig

Encode = Callable[[list[str]], list[Sequence[int]]]


class FilterConfig(StageConfig):
    """Which preset, and per-filter overrides."""

    preset: Literal["none", "cerebras", "slimpajama", "gpt-neo", "gpt-j", "gopher"] = "cerebras"


def filter_batch(table: pa.Table, config: FilterConfig, encode: Encode | None = None) -> StageResult:
    """Split the batch into kept rows and dropped rows with reason `filter:<name>`."""
    empty = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(table.column("text"))), 0)
    dropped = table.filter(empty)
    return StageResult(table.filter(pc.invert(empty)), with_reasons(dropped, ["filter:empty"] * dropped.num_rows))
