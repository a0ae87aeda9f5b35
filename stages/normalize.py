"""Normalize: ftfy text repair with an explicit `TextFixerConfig`, byte-identical to `ftfy.fix_text`.

Every document's text becomes `ftfy.fix_text(text, config.fixer_config())`; the work goes through
`stages.ftfy_fast_path`, which skips the segments no enabled fix could change and so gives the same
output many times faster. Rows, their order and every other column are kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from stages.config import StageConfig

if TYPE_CHECKING:
    import ftfy


class NormalizeConfig(StageConfig):
    """`enabled` plus every field of `ftfy.TextFixerConfig` (ftfy 6.3.1), same names and defaults.

    `explain` is not a key: it is always off. ftfy 6.3.1's `fix_text` does not pass the configuration on
    to `fix_encoding` when it does not explain, so `restore_byte_a0`, `replace_lossy_sequences` and
    `decode_inconsistent_utf8` keep their defaults inside mojibake repair whatever they are set to here
    (`fix_c1_controls` still switches its own later step); they are kept for fidelity to ftfy's config.
    """

    enabled: bool = Field(True, description="false passes text through unchanged")
    unescape_html: Literal["auto"] | bool = Field(
        "auto", description='decode HTML entities; "auto": only until the first segment holding "<"'
    )
    remove_terminal_escapes: bool = Field(True, description="strip ANSI terminal escapes")
    fix_encoding: bool = Field(True, description="detect and repair mojibake")
    restore_byte_a0: bool = Field(True, description="(inside fix_encoding) a space may stand for byte A0")
    replace_lossy_sequences: bool = Field(True, description="(inside fix_encoding) lossy mojibake becomes U+FFFD")
    decode_inconsistent_utf8: bool = Field(True, description="(inside fix_encoding) fix mixed-in UTF-8 mojibake")
    fix_c1_controls: bool = Field(True, description="C1 controls become their Windows-1252 characters")
    fix_latin_ligatures: bool = Field(True, description="ﬁ-style Latin ligatures become letters")
    fix_character_width: bool = Field(True, description="full-width and half-width forms become standard width")
    uncurl_quotes: bool = Field(True, description="curly quotes become straight quotes")
    fix_line_breaks: bool = Field(True, description="\\r\\n, \\r, U+2028, U+2029, U+0085 become \\n")
    fix_surrogates: bool = Field(True, description="UTF-16 surrogates become the characters they encode, or U+FFFD")
    remove_control_chars: bool = Field(True, description="remove control characters with no visible effect")
    normalization: Literal["NFC", "NFKC", "NFD", "NFKD"] | None = Field(
        "NFC", description="Unicode normalization form, or null for none (NFC as Cerebras and SlimPajama)"
    )
    max_decode_length: int = Field(1_000_000, ge=1, description="longest segment ftfy fixes at once, in characters")

    def fixer_config(self) -> ftfy.TextFixerConfig:
        """The `ftfy.TextFixerConfig` with these settings (and `explain=False`). ftfy and the fast path's tables
        load on first use, not with the config: a driver that only validates manifests never needs them (~70 ms)."""
        import ftfy

        fields = {name: getattr(self, name) for name in ftfy.TextFixerConfig._fields if name != "explain"}
        return ftfy.TextFixerConfig(**fields, explain=False)


def fix_text(text: str, config: NormalizeConfig) -> str:
    """One document: exactly `ftfy.fix_text(text, config.fixer_config())`, or `text` when disabled."""
    if not config.enabled:
        return text
    from stages import ftfy_fast_path

    return ftfy_fast_path.fix_text(text, config.fixer_config())


def normalize_texts(texts: list[str], config: NormalizeConfig) -> list[str]:
    """Each text fixed (the same object when nothing changed), for texts not yet in Arrow: `read` fixes the
    texts it parses before building its table, instead of converting them to Arrow, back, and again."""
    if not config.enabled:
        return texts
    from stages import ftfy_fast_path

    fixer = config.fixer_config()
    return [ftfy_fast_path.fix_text(text, fixer) for text in texts]


def normalize_batch(table: pa.Table, config: NormalizeConfig) -> pa.Table:
    """The batch with `text` replaced by its fixed text; rows, their order and other columns unchanged."""
    if not config.enabled:
        return table
    column = table.column("text")
    texts = column.to_pylist()
    changed: list[int] = []
    replacements: list[str] = []
    for i, (text, new) in enumerate(zip(texts, normalize_texts(texts, config))):
        if new is not text:
            changed.append(i)
            replacements.append(new)
    if not changed:
        return table
    # Only the changed texts are encoded again; the others' bytes are copied as they are.
    mask = np.zeros(len(column), dtype=bool)
    mask[changed] = True
    index = table.schema.get_field_index("text")
    field = table.schema.field(index)
    fixed = pc.replace_with_mask(column, pa.array(mask), pa.array(replacements, type=field.type))
    return table.set_column(index, field, fixed)
