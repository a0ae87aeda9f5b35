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
from stages.slimpajama_text import slimpajama_clean

_PREFIX_FACTOR = 4
"""A prefix of `min_chars × this` characters usually decides `min_clean_chars` without reading the rest."""


class MinCleanCharsParams(StageConfig):
    """`min_chars` (default 200, SlimPajama's): documents whose cleaned length is below it are dropped."""

    min_chars: int = Field(200, ge=0)


def empty(texts: pa.StringArray) -> np.ndarray:
    """1 where the text is empty or whitespace only, else 0."""
    blank = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(texts)), 0)
    return blank.to_numpy(zero_copy_only=False).astype(np.uint8)


def min_clean_chars(texts: pa.StringArray, params: MinCleanCharsParams) -> np.ndarray:
    """1 where `len(slimpajama_clean(text)) < min_chars`, else 0.

    The cleaned length never shrinks as text is appended (each character maps to a fixed number of
    characters, and whitespace runs only join), so a prefix that is long enough proves a document
    long enough; only documents whose prefix falls short are cleaned in full.
    """
    limit = params.min_chars
    prefix_chars = max(limit * _PREFIX_FACTOR, 64)
    prefixes = pc.utf8_slice_codeunits(texts, 0, prefix_chars).to_pylist()
    lengths = pc.utf8_length(texts).to_numpy(zero_copy_only=False)
    codes = np.zeros(len(texts), dtype=np.uint8)
    for i, prefix in enumerate(prefixes):
        if len(slimpajama_clean(prefix)) >= limit:
            continue
        if lengths[i] > prefix_chars and len(slimpajama_clean(texts[i].as_py())) >= limit:
            continue
        codes[i] = 1
    return codes
