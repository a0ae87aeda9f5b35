"""The tokenizer a worker process uses, loaded once per configuration (loading GPT-2 takes ~0.4 s)."""

from __future__ import annotations

from functools import lru_cache

from stages.tokenize import TokenizeConfig, Tokenizer, load_tokenizer


@lru_cache(maxsize=4)
def cached_tokenizer(config: TokenizeConfig) -> Tokenizer:
    """`load_tokenizer(config)`, once per worker process and configuration."""
    return load_tokenizer(config)
