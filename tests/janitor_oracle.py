"""lm-evaluation-harness's Janitor (pip `lm_eval==0.4.13`, installed with --no-deps) as the oracle, eval sets
cut from real texts, and a generated corpus of code, command references and licences."""

from __future__ import annotations

import contextlib
import io
import random
from pathlib import Path

import orjson
import zstandard

with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    from lm_eval.decontamination.janitor import (  # noqa: F401  (prints that its C++ part is absent)
        Janitor,
        form_ngrams,
        split_indices,
        word_ngrams,
        word_ngrams_indices,
    )


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


def janitor_spans(janitor: Janitor, text: str) -> list[tuple[int, int]]:
    """The (first, last character) of every registered n-gram `clean_python` finds in `text`."""
    return [
        span
        for ngram, span in word_ngrams_indices(text, janitor.ngram_n)
        if janitor.normalize_string(ngram) in janitor.dirt_ngrams
    ]


def harness_parts(janitor: Janitor, text: str) -> list[tuple[None, int, int]]:
    """The registered n-grams of `text` as lm-evaluation-harness's overlap check forms them (normalised, then split:
    a word normalising to nothing is gone), each as (None, first character, last character) of `text`."""
    words = [(word, span) for word, span in split_indices(text) if janitor.normalize_string(word)]
    grams = form_ngrams(iter(words), janitor.ngram_n)
    return [
        (None, gram[0][1][0], gram[-1][1][1])
        for gram in grams
        if " ".join(janitor.normalize_string(word) for word, _ in gram) in janitor.dirt_ngrams
    ]


def harness_sees_match(janitor: Janitor, text: str) -> bool:
    """True when one of `text`'s n-grams, as `get_train_overlap` forms them, is registered."""
    return any(ngram in janitor.dirt_ngrams for ngram in word_ngrams(janitor.normalize_string(text), janitor.ngram_n))


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


SYLLABLES = "ka lo mi nu pe ra si to vu xe zo qua bri dre fli gro".split()
FLAGS = "abcdefghijklmnopqrstuvwxyz"


def punctuated_texts(count: int, seed: int) -> list[str]:
    """`count` documents of code, command reference pages and licence text: every few words a word made only of
    punctuation (`#`, `->`, `-`, `=`, `'`), which the Janitor's split-then-normalise rule cannot see across."""
    rng = random.Random(seed)

    def word() -> str:
        return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))

    def code_line() -> str:
        a, b, c, d = (word() for _ in range(4))
        return rng.choice(
            [
                f"def {a}_{b}({c}, {d}) -> {a}:",
                f"    # {a} {b} {c} {d} {word()}",
                f"    {a} = {b} + {c} - {d}",
                f"    if {a} == {b} : return {c}",
                f"    {a}.{b}({c}, {d}) # {word()} {word()}",
                f"    return {a} * {b} - {c}",
            ]
        )

    def reference_line() -> str:
        a, b, c = (word() for _ in range(3))
        return rng.choice(
            [
                f"{a} {b} - {c} {word()} {word()} {word()}",
                f"  -{rng.choice(FLAGS)}, --{a}  {b} {c} {word()} {word()}",
                f"to all commands help run {a} help for details {b} is one of",
                f"  {a} -> {b} {c} ' {word()} '",
                f"# {a} {b} {c}",
            ]
        )

    def licence_line() -> str:
        words = [word() for _ in range(rng.randint(6, 12))]
        for _ in range(2):
            words.insert(rng.randrange(len(words) + 1), rng.choice(["-", "'", '"', "--", "(c)", "*"]))
        return " ".join(words)

    makers = [code_line, reference_line, licence_line]
    texts = []
    for _ in range(count):
        make = rng.choice(makers)
        texts.append("\n".join(make() for _ in range(rng.randint(15, 45))))
    return texts
