"""Token-count filters of the EleutherAI lineage, over the ids of the configured tokenizer.

`min_tokens` (gpt-neo `data/create_tfrecords.py`, `--minimum_size` 100): a document encoding to fewer
than `min_tokens` tokens is dropped. (gpt-neo also drops a document whose ids are all 0; with GPT-2 that
is a run of "!" only, and it is not reproduced.)
`min_unique_tokens` (GPT-J `create_finetune_tfrecords.py`, `--min-unique-tokens`, 200 suggested): a
document with fewer than `min_unique_tokens` distinct ids is dropped. GPT-J applied the test to each
packed 2049-token sequence; pileline applies it to each document, before packing, so the order of
documents cannot change what is dropped. The end-of-document token is not counted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa
from pydantic import Field

from stages.config import StageConfig

Encode = Callable[[list[str]], list[Sequence[int]]]


class MinTokensParams(StageConfig):
    """`min_tokens` (default 100, gpt-neo's `--minimum_size`): fewer tokens than this drops a document."""

    min_tokens: int = Field(100, ge=0)


class MinUniqueTokensParams(StageConfig):
    """`min_unique_tokens` (default 200, GPT-J's suggestion): fewer distinct ids than this drops a document."""

    min_unique_tokens: int = Field(200, ge=0)


def min_tokens(texts: pa.StringArray, params: MinTokensParams, encode: Encode) -> np.ndarray:
    """1 where the text has fewer than `min_tokens` tokens, else 0."""
    ids = encode(texts.to_pylist())
    return np.fromiter((len(seq) < params.min_tokens for seq in ids), dtype=np.uint8, count=len(ids))


def min_unique_tokens(texts: pa.StringArray, params: MinUniqueTokensParams, encode: Encode) -> np.ndarray:
    """1 where the text has fewer than `min_unique_tokens` distinct token ids, else 0."""
    limit = params.min_unique_tokens
    ids = encode(texts.to_pylist())
    return np.fromiter(
        (len(seq) < limit or np.unique(np.asarray(seq)).size < limit for seq in ids), dtype=np.uint8, count=len(ids)
    )
