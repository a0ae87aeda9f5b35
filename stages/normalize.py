"""Normalize: ftfy text repair with an explicit TextFixerConfig (placeholder: plain ftfy.fix_text)."""

from __future__ import annotations

from typing import Literal

import ftfy
import pyarrow as pa

from stages.config import StageConfig


class NormalizeConfig(StageConfig):
    """`enabled` plus every field of `ftfy.TextFixerConfig` (defaults as ftfy's, NFC normalization)."""

    enabled: bool = True
    normalization: Literal["NFC", "NFKC", "NFD", "NFKD"] | None = "NFC"

    def fixer_config(self) -> ftfy.TextFixerConfig:
        return ftfy.TextFixerConfig(normalization=self.normalization, explain=False)


def normalize_batch(table: pa.Table, config: NormalizeConfig) -> pa.Table:
    """The batch with `text` replaced by `ftfy.fix_text(text, config)`; rows unchanged."""
    if not config.enabled:
        return table
    fixer = config.fixer_config()
    texts = [ftfy.fix_text(t, fixer) for t in table.column("text").to_pylist()]
    index = table.schema.get_field_index("text")
    return table.set_column(index, "text", pa.array(texts, type=pa.string()))
