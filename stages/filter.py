"""Filter: named quality predicates over documents, grouped in presets that are plain data.

A filter answers, per document, "keep" or "drop, for this reason". The active filters are the
preset's plus `extra`, always run in the fixed order of `FILTER_ORDER` (cheapest first), each on the
documents the earlier ones kept, so a dropped document carries exactly one reason: the first filter
(and, for the Gopher filters, the first rule) that drops it — `filter:<name>` or `filter:<name>.<rule>`.

Presets (every one but `none` also drops empty or whitespace-only documents as `filter:empty`):

| preset       | filters                                  | source                                      |
|--------------|------------------------------------------|---------------------------------------------|
| `none`       | —                                        |                                             |
| `cerebras`   | empty                                    | Cerebras-GPT: ftfy only, no content filter  |
| `slimpajama` | empty, min_clean_chars                   | SlimPajama: < 200 cleaned characters        |
| `gpt-neo`    | empty, min_tokens                        | gpt-neo create_tfrecords: < 100 tokens      |
| `gpt-j`      | empty, min_unique_tokens                 | GPT-J: < 200 distinct tokens                |
| `gopher`     | empty, gopher_quality, gopher_repetition | Gopher (Rae et al. 2021), Appendix A        |

Manifest example: `filter: {preset: slimpajama, extra: [gopher_repetition],
params: {gopher_repetition: {max_duplicate_line_fraction: 0.25}}}`. Thresholds live in `params`, one
typed section per filter, so a misspelt key is reported by its path
(`filter.params.gopher_quality.min_wrds: unknown key`).
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import Literal, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import ValidationInfo, field_validator

from stages.batch import StageResult, with_reasons
from stages.config import StageConfig
from stages.filters_gopher import (
    GOPHER_QUALITY_RULES,
    GOPHER_REPETITION_RULES,
    GopherQualityParams,
    GopherRepetitionParams,
    gopher_quality,
    gopher_repetition,
)
from stages.filters_text import MinCleanCharsParams, empty, min_clean_chars
from stages.filters_tokens import Encode, MinTokensParams, MinUniqueTokensParams, min_tokens, min_unique_tokens

__all__ = [
    "FILTER_ORDER",
    "PRESETS",
    "Encode",
    "FilterConfig",
    "FilterParams",
    "filter_batch",
    "needs_tokenizer",
    "reasons",
]

FilterName = Literal[
    "empty", "min_clean_chars", "min_tokens", "min_unique_tokens", "gopher_quality", "gopher_repetition"
]
PresetName = Literal["none", "cerebras", "slimpajama", "gpt-neo", "gpt-j", "gopher"]

FILTER_ORDER: tuple[str, ...] = (
    "empty",
    "min_clean_chars",
    "gopher_quality",
    "gopher_repetition",
    "min_tokens",
    "min_unique_tokens",
)
"""The fixed evaluation order of all filters; a document's reason depends on it. Cheapest per byte
first, as `benchmarks/filter.py` measures them: empty and SlimPajama's length test run at hundreds and
tens of MB/s, the Gopher filters at ~10–20 MB/s, and the token filters pay for a full tokenization
(~10 MB/s with tiktoken), so they only see documents every other filter kept."""

PRESETS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        "none": (),
        "cerebras": ("empty",),
        "slimpajama": ("empty", "min_clean_chars"),
        "gpt-neo": ("empty", "min_tokens"),
        "gpt-j": ("empty", "min_unique_tokens"),
        "gopher": ("empty", "gopher_quality", "gopher_repetition"),
    }
)

CHUNK_BYTES = 8 << 20
"""Filters see the batch in slices of about this much text, bounding the memory of per-word arrays."""


class FilterParams(StageConfig):
    """Thresholds per filter (each section documents its defaults); set only for active filters."""

    min_clean_chars: MinCleanCharsParams = MinCleanCharsParams()
    min_tokens: MinTokensParams = MinTokensParams()
    min_unique_tokens: MinUniqueTokensParams = MinUniqueTokensParams()
    gopher_quality: GopherQualityParams = GopherQualityParams()
    gopher_repetition: GopherRepetitionParams = GopherRepetitionParams()


class FilterConfig(StageConfig):
    """`preset` (default `cerebras`), `extra` filters added to it, and `params` overriding thresholds."""

    preset: PresetName = "cerebras"
    extra: tuple[FilterName, ...] = ()
    params: FilterParams = FilterParams()

    @field_validator("params")
    @classmethod
    def _params_only_for_active_filters(cls, params: FilterParams, info: ValidationInfo) -> FilterParams:
        if "preset" not in info.data or "extra" not in info.data:
            return params
        active = set(PRESETS[info.data["preset"]]) | set(info.data["extra"])
        defaults = FilterParams()
        changed = {name for name in params.model_fields_set if getattr(params, name) != getattr(defaults, name)}
        idle = sorted(changed - active)
        if idle:
            raise ValueError(
                f"{idle[0]}: filter not active (preset {info.data['preset']!r}, extra {list(info.data['extra'])}); "
                "add it to filter.extra or remove its params"
            )
        return params

    def active_filters(self) -> tuple[str, ...]:
        """The filters this configuration runs, in evaluation order."""
        chosen = set(PRESETS[self.preset]) | set(self.extra)
        return tuple(name for name in FILTER_ORDER if name in chosen)


class _Filter(NamedTuple):
    """How to run one filter: its rules (sub-reasons; empty for a one-rule filter) and its evaluator."""

    rules: tuple[str, ...]
    needs_tokenizer: bool
    evaluate: Callable[[pa.StringArray, FilterParams, Encode | None], np.ndarray]


_FILTERS: MappingProxyType[str, _Filter] = MappingProxyType(
    {
        "empty": _Filter((), False, lambda texts, params, encode: empty(texts)),
        "min_clean_chars": _Filter(
            (), False, lambda texts, params, encode: min_clean_chars(texts, params.min_clean_chars)
        ),
        "gopher_quality": _Filter(
            GOPHER_QUALITY_RULES, False, lambda texts, params, encode: gopher_quality(texts, params.gopher_quality)
        ),
        "gopher_repetition": _Filter(
            GOPHER_REPETITION_RULES,
            False,
            lambda texts, params, encode: gopher_repetition(texts, params.gopher_repetition),
        ),
        "min_tokens": _Filter((), True, lambda texts, params, encode: min_tokens(texts, params.min_tokens, encode)),
        "min_unique_tokens": _Filter(
            (), True, lambda texts, params, encode: min_unique_tokens(texts, params.min_unique_tokens, encode)
        ),
    }
)


def reasons(name: str) -> tuple[str, ...]:
    """Every reason filter `name` can give, in evaluation order (`filter:<name>` or `filter:<name>.<rule>`)."""
    rules = _FILTERS[name].rules
    return tuple(f"filter:{name}.{rule}" for rule in rules) if rules else (f"filter:{name}",)


def needs_tokenizer(config: FilterConfig) -> bool:
    """True when an active filter counts tokens, so the runner must pass `encode` to `filter_batch`."""
    return any(_FILTERS[name].needs_tokenizer for name in config.active_filters())


def _chunks(byte_lengths: np.ndarray, limit: int) -> list[tuple[int, int]]:
    """Consecutive [start, stop) row ranges of about `limit` bytes each (a longer row stands alone)."""
    bounds = [0]
    total = 0
    for i, size in enumerate(byte_lengths.tolist()):
        if total and total + size > limit:
            bounds.append(i)
            total = 0
        total += size
    bounds.append(len(byte_lengths))
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def _evaluate(name: str, texts: pa.StringArray, config: FilterConfig, encode: Encode | None) -> np.ndarray:
    spec = _FILTERS[name]
    byte_lengths = pc.binary_length(texts).to_numpy(zero_copy_only=False)
    parts = [spec.evaluate(texts.slice(a, b - a), config.params, encode) for a, b in _chunks(byte_lengths, CHUNK_BYTES)]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint8)


def filter_batch(table: pa.Table, config: FilterConfig, encode: Encode | None = None) -> StageResult:
    """Split the batch into kept rows (order kept) and dropped rows with a `reason` column.

    `encode` (a batch tokenizer) is required when `needs_tokenizer(config)`; a missing one raises
    ValueError naming the filter.
    """
    active = config.active_filters()
    for name in active:
        if _FILTERS[name].needs_tokenizer and encode is None:
            raise ValueError(f"filter {name!r} counts tokens: filter_batch needs `encode` (see needs_tokenizer)")
    all_reasons: list[str] = [""]
    reason = np.zeros(table.num_rows, dtype=np.int32)
    alive = np.arange(table.num_rows)
    texts = table.column("text").combine_chunks() if table.num_rows else pa.array([], pa.string())
    for name in active:
        if alive.size == 0:
            break
        survivors = texts if alive.size == len(texts) else texts.take(pa.array(alive))
        codes = _evaluate(name, survivors, config, encode)
        hit = codes > 0
        reason[alive[hit]] = len(all_reasons) - 1 + codes[hit]
        all_reasons.extend(reasons(name))
        alive = alive[~hit]
    keep = reason == 0
    kept = table.filter(pa.array(keep))
    dropped = table.filter(pa.array(~keep))
    names = np.array(all_reasons, dtype=object)[reason[~keep]].tolist()
    return StageResult(kept, with_reasons(dropped, names))
