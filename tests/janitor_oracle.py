"""lm-evaluation-harness's Janitor (pip `lm_eval==0.4.13`, installed with --no-deps) as the oracle, and eval sets
cut from real texts."""

from __future__ import annotations

import contextlib
import io
import random
from pathlib import Path

import orjson
import zstandard

with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    from lm_eval.decontamination.janitor import Janitor, word_ngrams, word_ngrams_indices  # noqa: F401  (prints that its C++ part is absent)


def oracle(eval_texts: list[str], **params) -> Janitor:
    """A Janitor with every eval text registered (the pure-Python path, as `clean` falls back to)."""
    janitor = Janitor(**params)
    for text in eval_texts:
        janitor.register_contaminant_python(text)
    return janitor


def janitor_finds_match(janitor: Janitor, text: str) -> bool:
    """True when `clean_python` would find at least one registered n-gram in `text`."""
    return any(
        janitor.normalize_string(ngram) in janitor.dirt_ngrams
        for ngram, _ in word_ngrams_indices(text, janitor.ngram_n)
    )


def corpus_texts(directory: Path) -> list[str]:
    """Every `text` of the `*.jsonl.zst` train files of a sample corpus, in file and line order."""
    texts = []
    for path in sorted((directory / "train").glob("*.jsonl.zst")):
        data = zstandard.ZstdDecompressor().stream_reader(path.open("rb")).read()
        texts.extend(orjson.loads(line)["text"] for line in data.splitlines() if line)
    return texts


def passages(texts: list[str], count: int, words: int, seed: int) -> list[str]:
    """`count` runs of `words` whitespace-separated words cut from random texts (eval documents that leaked)."""
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        split = texts[rng.randrange(len(texts))].split()
        if len(split) >= words:
            start = rng.randrange(len(split) - words + 1)
            out.append(" ".join(split[start : start + words]))
    return out
