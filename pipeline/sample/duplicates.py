"""Near copies for the duplicate ground truth: word edits until word-5-gram Jaccard reaches a target."""

from __future__ import annotations

import random
import re

from pipeline.sample.vocabulary import EDIT_WORDS


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = text.split()
    return set(zip(words, words[1:], words[2:], words[3:], words[4:]))


def _jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


_WORD = re.compile(r"\S+")


def _edit_words(rng: random.Random, text: str, edits: int) -> str:
    """`text` with `edits` words substituted, inserted before, or deleted, at random places."""
    spans = [m.span() for m in _WORD.finditer(text)]
    out, prev = [], 0
    for i in sorted(rng.sample(range(len(spans)), min(edits, len(spans)))):
        start, end = spans[i]
        word = EDIT_WORDS[int(rng.random() * len(EDIT_WORDS))]
        op = rng.random()
        out.append(text[prev:start])
        if op < 0.6:
            out.append(word if word != text[start:end] else word + "s")
            prev = end
        elif op < 0.8:
            out.append(word + " ")
            prev = start
        else:
            prev = spans[i + 1][0] if i + 1 < len(spans) else end
    out.append(text[prev:])
    return "".join(out)


def near_copy(rng: random.Random, text: str, target: float) -> str:
    """An edited copy whose word-5-gram Jaccard with `text` is near `target`, always in [0.5, 1)."""
    base = _shingles(text)
    edits = max(1, round(len(base) * (1 - target) / (5 * (1 + target))))
    for _ in range(8):
        copy = _edit_words(rng, text, edits)
        similarity = _jaccard(base, _shingles(copy))
        if 0.5 <= similarity < 1:
            return copy
        edits = max(1, edits // 2) if similarity < 0.5 else edits + 1
    raise AssertionError("no near copy in range")  # unreachable for texts of NEAR_MIN_WORDS words
