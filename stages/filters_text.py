"""Cheap text filters: empty documents, and SlimPajama's short-document filter.

`empty`: a document that is empty or whitespace only (`str.isspace` whitespace) is dropped.
`min_clean_chars`: SlimPajama (Cerebras modelzoo, `slimpajama/preprocessing/filter.py`) drops a
document when `len(slimpajama_clean(text)) < 200` (`stages.slimpajama_text`: lower-cased, punctuation
deleted, whitespace collapsed).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from stages.config import StageConfig
from stages.filters_units import WHITESPACE
from stages.slimpajama_text import PUNCTUATION, slimpajama_clean
from stages.utf8_buffers import utf8_buffers

_PREFIX_FACTOR = 4
"""A prefix of `min_chars × this` characters usually decides an undecided document without reading the rest."""


class MinCleanCharsParams(StageConfig):
    """`min_chars` (default 200, SlimPajama's): documents whose cleaned length is below it are dropped."""

    min_chars: int = Field(200, ge=0)


def empty(texts: pa.StringArray) -> np.ndarray:
    """1 where the text is empty or whitespace only, else 0. A text that starts with a printable ASCII character
    is neither; only the others are trimmed (Arrow's `utf8_trim_whitespace` copies every text it sees)."""
    data, offsets = utf8_buffers(texts)
    first = data[np.minimum(offsets[:-1], max(data.size - 1, 0))] if data.size else np.zeros(len(texts), np.uint8)
    undecided = np.flatnonzero((offsets[1:] == offsets[:-1]) | (first <= 0x20) | (first >= 0x7F))
    result = np.zeros(len(texts), dtype=np.uint8)
    if undecided.size:
        subset = pc.take(texts, pa.array(undecided))
        blank = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(subset)), 0)
        result[undecided] = blank.to_numpy(zero_copy_only=False)
    return result


def min_clean_chars(texts: pa.StringArray, params: MinCleanCharsParams) -> np.ndarray:
    """1 where `len(slimpajama_clean(text)) < min_chars`, else 0.

    Most documents are decided by `certain_clean_chars`, a lower bound counted on the first UTF-8 bytes
    of the whole batch at once. The rest are cleaned, a prefix first: the cleaned length never shrinks as
    text is appended (each character maps to a fixed number of characters, and whitespace runs only
    join), so a prefix that is long enough proves a document long enough.
    """
    limit = params.min_chars
    prefix_chars = max(limit * _PREFIX_FACTOR, 64)
    codes = np.zeros(len(texts), dtype=np.uint8)
    undecided = np.flatnonzero(certain_clean_chars(texts, prefix_chars) < limit)
    if undecided.size == 0:
        return codes
    undecided_texts = texts.take(pa.array(undecided))
    prefixes = pc.utf8_slice_codeunits(undecided_texts, 0, prefix_chars).to_pylist()
    lengths = pc.utf8_length(undecided_texts).to_numpy(zero_copy_only=False)
    for j, (i, prefix) in enumerate(zip(undecided, prefixes)):
        if len(slimpajama_clean(prefix)) >= limit:
            continue
        if lengths[j] > prefix_chars and len(slimpajama_clean(undecided_texts[j].as_py())) >= limit:
            continue
        codes[i] = 1
    return codes


def _counted_bytes() -> np.ndarray:
    """Which UTF-8 bytes `certain_clean_chars` counts: ASCII other than whitespace and punctuation, and
    lead bytes of longer characters except those that start some whitespace character."""
    counted = np.zeros(256, dtype=bool)
    for byte in range(128):
        counted[byte] = chr(byte) not in WHITESPACE and chr(byte) not in PUNCTUATION
    counted[0xC2:0xF5] = True
    for char in WHITESPACE:
        counted[char.encode()[0]] = False
    return counted


_COUNTED_BYTES = _counted_bytes()


def certain_clean_chars(texts: pa.StringArray | pa.ChunkedArray, prefix_bytes: int) -> np.ndarray:
    """Per text, a lower bound of `len(slimpajama_clean(text))`: among its first `prefix_bytes` UTF-8
    bytes, the characters that are neither whitespace nor punctuation, less the non-ASCII ones whose
    lead byte some whitespace character shares.

    It holds because `str.lower` maps every character that is neither whitespace nor punctuation to
    one or more characters of which at least one is neither (`tests/test_filter.py` checks every code
    point), and cleaning keeps those. Arrow cuts the prefixes (a cut may split a character; its lead
    byte is counted, its continuation bytes never are); each count is where the prefix's ends fall among
    the positions of counted bytes.
    """
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    as_bytes = pa.large_binary() if pa.types.is_large_string(texts.type) else pa.binary()
    prefixes = pc.binary_slice(texts.view(as_bytes), 0, prefix_bytes).view(texts.type)
    data, offsets = utf8_buffers(prefixes)
    return np.diff(np.searchsorted(np.flatnonzero(_COUNTED_BYTES[data]), offsets))
