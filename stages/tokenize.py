"""Tokenize: GPT-2 BPE from local files, or any tokenizer.json (placeholder config only)."""

from __future__ import annotations

from stages.config import StageConfig


class TokenizeConfig(StageConfig):
    """`tokenizer`: "gpt2" (the bundled original GPT-2 files) or a path to a `tokenizer.json`."""

    tokenizer: str = "gpt2"
    append_eod: bool = True
