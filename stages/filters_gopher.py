"""Gopher quality and repetition filters (Rae et al. 2021, "Scaling Language Models", Appendix A).

Both are vectorised over a batch with NumPy over its UTF-8 bytes (Arrow only hashes strings and runs a
few string kernels): no per-word Python work, and nothing quadratic (duplicates are found by sorting,
n-grams are built level by level from the (n-1)-grams that repeat).
Words, lines and paragraphs are defined once in `stages.filters_units`: whitespace-separated words
(as `str.split()`; the paper names no tokenizer, datatrove uses an NLTK/spaCy word tokenizer that
splits punctuation off words — we don't, so "word," is one word of length 5), non-blank lines split on
newline, paragraphs separated by blank lines.

Each filter returns one code per document: 0 keeps it, k drops it for rule `RULES[k - 1]`, the first
rule in the fixed order below that fires. A rule whose threshold is `None` is off. A ratio whose
denominator is zero (no words, no lines) never fires: there is nothing to judge.
"""

from __future__ import annotations

import string
from typing import Annotated, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from stages.config import StageConfig
from stages.filters_units import (
    Spans,
    TextBytes,
    byte_range,
    char_counts,
    cumulative_count,
    ends_with,
    first_occurrences,
    lines,
    occurrences,
    paragraphs,
    repeats,
    span_strings,
    starts_with,
    text_bytes,
    whitespace_mask,
    words,
)

GOPHER_STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")
NonEmpty = Annotated[str, Field(min_length=1)]


class GopherQualityParams(StageConfig):
    """Gopher's quality rules; a document outside any bound is dropped. Defaults are the paper's.

    - `min_words` 50, `max_words` 100,000: kept when min ≤ words ≤ max.
    - `min_mean_word_length` 3, `max_mean_word_length` 10: mean characters per word, bounds kept.
    - `max_hash_word_ratio` 0.1: occurrences of "#" per word; exactly 0.1 is kept.
    - `max_ellipsis_word_ratio` 0.1: occurrences of "..." (non-overlapping) plus "…", per word.
    - `max_bullet_line_fraction` 0.9: lines whose first non-whitespace text is one of `bullets`.
    - `max_ellipsis_line_fraction` 0.3: lines ending (before trailing whitespace) in "..." or "…".
    - `min_alpha_word_fraction` 0.8: words containing a Unicode letter (RE2's \\p{L}; Python's
      `isalpha` agrees except on letters newer than its Unicode tables).
    - `min_stop_words` 2: occurrences (not distinct words, as datatrove) of `stop_words`, a word being
      compared lower-cased with leading and trailing ASCII punctuation removed ("The" and "the," count).
    - `bullets` ("•", "-"): datatrove's choice; the paper does not list its bullet characters.
    """

    min_words: int | None = Field(50, ge=0)
    max_words: int | None = Field(100_000, ge=0)
    min_mean_word_length: float | None = Field(3.0, ge=0)
    max_mean_word_length: float | None = Field(10.0, ge=0)
    max_hash_word_ratio: float | None = Field(0.1, ge=0)
    max_ellipsis_word_ratio: float | None = Field(0.1, ge=0)
    max_bullet_line_fraction: float | None = Field(0.9, ge=0, le=1)
    max_ellipsis_line_fraction: float | None = Field(0.3, ge=0, le=1)
    min_alpha_word_fraction: float | None = Field(0.8, ge=0, le=1)
    min_stop_words: int | None = Field(2, ge=0)
    stop_words: tuple[NonEmpty, ...] = GOPHER_STOP_WORDS
    bullets: tuple[NonEmpty, ...] = ("•", "-")


GOPHER_QUALITY_RULES = (
    "min_words",
    "max_words",
    "min_mean_word_length",
    "max_mean_word_length",
    "max_hash_word_ratio",
    "max_ellipsis_word_ratio",
    "max_bullet_line_fraction",
    "max_ellipsis_line_fraction",
    "min_alpha_word_fraction",
    "min_stop_words",
)
"""Evaluation order of the quality rules; a rule's name (its threshold's name) is its sub-reason."""


class GopherRepetitionParams(StageConfig):
    """Gopher's repetition rules (Table A1): a document above any maximum fraction is dropped.

    Defaults: duplicate lines 0.30 of lines and 0.20 of characters; duplicate paragraphs 0.30 and 0.20;
    most frequent 2/3/4-gram 0.20/0.18/0.16 of characters; duplicate 5…10-grams 0.15 … 0.10.

    Definitions (where the paper is silent, the choice is said):
    - a line or paragraph is a duplicate when equal to an earlier one of the document, compared after
      stripping surrounding whitespace; the first occurrence is not a duplicate (as datatrove);
      fractions are duplicates / all non-blank lines (paragraphs), and the duplicates' stripped
      characters / characters of the whole text.
    - n-gram character fractions are over word characters (whitespace not counted), numerator and
      denominator alike, so a fraction stays within [0, 1] whatever the spacing.
    - top n-gram (n = 2, 3, 4): count × characters of the most frequent n-gram that occurs at least
      twice (a unique n-gram is not repetition, so a short document is not dropped for being short);
      ties go to the one with more characters.
    - duplicate n-grams (n = 5 … 10): the words covered by any occurrence of an n-gram that repeats an
      earlier occurrence; each word's characters are counted once however many such n-grams cover it.
    """

    max_duplicate_line_fraction: float | None = Field(0.30, ge=0)
    max_duplicate_line_char_fraction: float | None = Field(0.20, ge=0)
    max_duplicate_paragraph_fraction: float | None = Field(0.30, ge=0)
    max_duplicate_paragraph_char_fraction: float | None = Field(0.20, ge=0)
    max_top_2gram_char_fraction: float | None = Field(0.20, ge=0)
    max_top_3gram_char_fraction: float | None = Field(0.18, ge=0)
    max_top_4gram_char_fraction: float | None = Field(0.16, ge=0)
    max_duplicate_5gram_char_fraction: float | None = Field(0.15, ge=0)
    max_duplicate_6gram_char_fraction: float | None = Field(0.14, ge=0)
    max_duplicate_7gram_char_fraction: float | None = Field(0.13, ge=0)
    max_duplicate_8gram_char_fraction: float | None = Field(0.12, ge=0)
    max_duplicate_9gram_char_fraction: float | None = Field(0.11, ge=0)
    max_duplicate_10gram_char_fraction: float | None = Field(0.10, ge=0)


TOP_NGRAMS = (2, 3, 4)
DUPLICATE_NGRAMS = (5, 6, 7, 8, 9, 10)
GOPHER_REPETITION_RULES = (
    "max_duplicate_line_fraction",
    "max_duplicate_line_char_fraction",
    "max_duplicate_paragraph_fraction",
    "max_duplicate_paragraph_char_fraction",
    *(f"max_top_{n}gram_char_fraction" for n in TOP_NGRAMS),
    *(f"max_duplicate_{n}gram_char_fraction" for n in DUPLICATE_NGRAMS),
)
"""Evaluation order of the repetition rules; a rule's name (its threshold's name) is its sub-reason."""




def _ascii_letter(data: np.ndarray) -> np.ndarray:
    return byte_range(data | 0x20, ord("a"), ord("z"))


def _ascii_punctuation(data: np.ndarray) -> np.ndarray:
    """`string.punctuation`: the printable ASCII bytes that are neither letters, digits nor space."""
    return byte_range(data, 0x21, 0x7E) & ~_ascii_letter(data) & ~byte_range(data, ord("0"), ord("9"))


class _Verdict:
    """Codes per document, filled rule by rule: a document keeps the first rule that fires."""

    def __init__(self, n_docs: int) -> None:
        self.codes = np.zeros(n_docs, dtype=np.uint8)

    def rule(self, code: int, fires: np.ndarray) -> None:
        self.codes[(self.codes == 0) & fires] = code


def _fraction(numerator: np.ndarray, denominator: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`numerator / denominator` where the denominator is positive, and that mask."""
    defined = denominator > 0
    out = np.zeros(len(denominator), dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=defined)
    return out, defined


def _per_doc(doc: np.ndarray, n_docs: int, weights: np.ndarray | None = None) -> np.ndarray:
    return np.bincount(doc, weights=weights, minlength=n_docs)


def _bytes_in_spans(mask: np.ndarray, spans: Spans) -> np.ndarray:
    """How many bytes of each span are set in the byte mask."""
    cumulative = cumulative_count(mask)
    return cumulative[spans.stop] - cumulative[spans.start]


def _alphabetic_words(text: TextBytes, word: Spans) -> np.ndarray:
    """Words with a Unicode letter: an ASCII letter decides most; the rest with non-ASCII bytes go to RE2."""
    alpha = _bytes_in_spans(_ascii_letter(text.data), word) > 0
    unsure = ~alpha & (_bytes_in_spans(byte_range(text.data, 0x80, 0xFF), word) > 0)
    if unsure.any():
        strings = span_strings(text, word.subset(unsure))
        alpha[unsure] = pc.match_substring_regex(strings, r"\pL").to_numpy(zero_copy_only=False)
    return alpha


def _stop_words(text: TextBytes, word: Spans, word_length: np.ndarray, stop_words: tuple[str, ...]) -> np.ndarray:
    """Words equal to a stop word once lower-cased (Arrow's `utf8_lower`, one code point to one) and
    stripped of ASCII punctuation at both ends.

    Only words whose non-punctuation characters are as many as some stop word's are examined.
    """
    found = np.zeros(len(word), dtype=bool)
    if not stop_words:
        return found
    core = word_length - _bytes_in_spans(_ascii_punctuation(text.data), word)
    maybe = np.isin(core, [len(w) for w in stop_words])
    if maybe.any():
        bare = pc.utf8_trim(pc.utf8_lower(span_strings(text, word.subset(maybe))), characters=string.punctuation)
        value_set = pa.array(sorted({w.lower() for w in stop_words}), pa.large_string())
        found[maybe] = pc.is_in(bare, value_set=value_set).to_numpy(zero_copy_only=False)
    return found


def gopher_quality(texts: pa.Array, params: GopherQualityParams) -> np.ndarray:
    """One code per document: 0 keep, k dropped by `GOPHER_QUALITY_RULES[k - 1]`."""
    p = params
    text = text_bytes(texts)
    n = text.n_docs
    verdict = _Verdict(n)
    code = {name: i + 1 for i, name in enumerate(GOPHER_QUALITY_RULES)}
    space = whitespace_mask(text.data)
    chars = char_counts(text.data)
    word = words(text, space)
    n_words = _per_doc(word.doc, n)

    if p.min_words is not None:
        verdict.rule(code["min_words"], n_words < p.min_words)
    if p.max_words is not None:
        verdict.rule(code["max_words"], n_words > p.max_words)
    word_length = chars[word.stop] - chars[word.start]
    mean_length, has_words = _fraction(_per_doc(word.doc, n, word_length), n_words)
    if p.min_mean_word_length is not None:
        verdict.rule(code["min_mean_word_length"], has_words & (mean_length < p.min_mean_word_length))
    if p.max_mean_word_length is not None:
        verdict.rule(code["max_mean_word_length"], has_words & (mean_length > p.max_mean_word_length))
    if p.max_hash_word_ratio is not None:
        ratio, defined = _fraction(occurrences(text, b"#"), n_words)
        verdict.rule(code["max_hash_word_ratio"], defined & (ratio > p.max_hash_word_ratio))
    if p.max_ellipsis_word_ratio is not None:
        ratio, defined = _fraction(occurrences(text, b"...") + occurrences(text, "\u2026".encode()), n_words)
        verdict.rule(code["max_ellipsis_word_ratio"], defined & (ratio > p.max_ellipsis_word_ratio))
    if p.max_bullet_line_fraction is not None or p.max_ellipsis_line_fraction is not None:
        all_lines, filled = lines(text, space)
        line = all_lines.subset(filled)
        n_lines = _per_doc(line.doc, n)
        if p.max_bullet_line_fraction is not None:
            bullet = np.zeros(len(line), dtype=bool)
            for mark in p.bullets:
                bullet |= starts_with(text, line.start, line.stop, mark.encode())
            fraction, defined = _fraction(_per_doc(line.doc[bullet], n), n_lines)
            verdict.rule(code["max_bullet_line_fraction"], defined & (fraction > p.max_bullet_line_fraction))
        if p.max_ellipsis_line_fraction is not None:
            ending = ends_with(text, line.stop, line.start, b"...")
            ending |= ends_with(text, line.stop, line.start, "\u2026".encode())
            fraction, defined = _fraction(_per_doc(line.doc[ending], n), n_lines)
            verdict.rule(code["max_ellipsis_line_fraction"], defined & (fraction > p.max_ellipsis_line_fraction))
    if p.min_alpha_word_fraction is not None:
        alpha = _alphabetic_words(text, word)
        fraction, defined = _fraction(_per_doc(word.doc[alpha], n), n_words)
        verdict.rule(code["min_alpha_word_fraction"], defined & (fraction < p.min_alpha_word_fraction))
    if p.min_stop_words is not None:
        stop = _stop_words(text, word, word_length, p.stop_words)
        verdict.rule(code["min_stop_words"], _per_doc(word.doc[stop], n) < p.min_stop_words)
    return verdict.codes


def _repeat_rules(verdict, text, spans, chars, text_chars, codes, limits) -> None:
    """Duplicate count and character fractions of lines or paragraphs (their stripped text)."""
    n = text.n_docs
    repeated = repeats(span_strings(text, spans), spans.doc)
    (count_code, chars_code), (count_limit, chars_limit) = codes, limits
    if count_limit is not None:
        fraction, defined = _fraction(_per_doc(spans.doc[repeated], n), _per_doc(spans.doc, n))
        verdict.rule(count_code, defined & (fraction > count_limit))
    if chars_limit is not None:
        length = (chars[spans.stop] - chars[spans.start])[repeated]
        fraction, defined = _fraction(_per_doc(spans.doc[repeated], n, length), text_chars)
        verdict.rule(chars_code, defined & (fraction > chars_limit))


class _NGramLevel(NamedTuple):
    """The n-grams of one n that may repeat: where each starts (ascending), its dense id, and per id
    its number of occurrences and the index (into `position`) of its first occurrence."""

    n: int
    position: np.ndarray
    ids: np.ndarray
    counts: np.ndarray
    first: np.ndarray


def _ngram_levels(word_ids: np.ndarray, word_doc: np.ndarray, n_docs: int, max_n: int):
    """Yield `_NGramLevel` for n = 2 … max_n over each document's words; no n-gram spans two documents.

    `word_ids` are batch-wide word ids. Only n-grams that can repeat within a document are tracked:
    an n-gram occurring twice has a prefix (n-1)-gram repeated in its document and a last word seen
    twice in the batch, so positions failing either test are unique and leave the later levels. Ids are exact: each
    level
    groups (previous id, next word) pairs by sorting, with no hashing.
    """
    n_words = len(word_ids)
    vocabulary = int(word_ids.max()) + 1 if n_words else 1
    repeated_word = (np.bincount(word_ids, minlength=vocabulary) >= 2)[word_ids]
    doc_end = np.cumsum(np.bincount(word_doc, minlength=n_docs))[word_doc]
    position = np.flatnonzero(repeated_word[:-1] & repeated_word[1:] & (np.arange(1, n_words) < doc_end[:-1]))
    if n_docs * vocabulary < 2**62 // max(vocabulary, 1):
        key = (word_doc[position] * vocabulary + word_ids[position]) * vocabulary + word_ids[position + 1]
    else:
        prefix, _, _ = first_occurrences(word_doc[position] * vocabulary + word_ids[position])
        key = prefix * vocabulary + word_ids[position + 1]
    level = _NGramLevel(2, position, *first_occurrences(key))
    yield level
    for n in range(3, max_n + 1):
        keep = level.counts[level.ids] >= 2
        position, prefix = level.position[keep], level.ids[keep]
        keep = position + n <= doc_end[position]
        position, prefix = position[keep], prefix[keep]
        keep = repeated_word[position + n - 1]
        position, prefix = position[keep], prefix[keep]
        level = _NGramLevel(n, position, *first_occurrences(prefix * vocabulary + word_ids[position + n - 1]))
        yield level


def _top_ngram_chars(level: _NGramLevel, word_doc: np.ndarray, cumulative_chars: np.ndarray, n_docs: int) -> np.ndarray:
    """Per document: count × characters of its most frequent repeated n-gram (ties: more characters)."""
    best = np.zeros(n_docs, dtype=np.int64)
    repeated = level.counts >= 2
    if not repeated.any():
        return best
    start = level.position[level.first[repeated]]
    chars = cumulative_chars[start + level.n] - cumulative_chars[start]
    scale = int(chars.max()) + 1
    np.maximum.at(best, word_doc[start], level.counts[repeated] * scale + chars)
    return (best // scale) * (best % scale)


def _duplicate_ngram_chars(
    level: _NGramLevel, word_length: np.ndarray, word_doc: np.ndarray, n_docs: int
) -> np.ndarray:
    """Per document: characters of the words covered by an n-gram occurrence repeating an earlier one."""
    later = np.ones(len(level.position), dtype=bool)
    later[level.first] = False
    starts = level.position[later]
    size = len(word_length) + 1
    depth = np.bincount(starts, minlength=size) - np.bincount(starts + level.n, minlength=size)
    covered = np.cumsum(depth[:-1]) > 0
    return _per_doc(word_doc[covered], n_docs, word_length[covered])


def gopher_repetition(texts: pa.Array, params: GopherRepetitionParams) -> np.ndarray:
    """One code per document: 0 keep, k dropped by `GOPHER_REPETITION_RULES[k - 1]`."""
    p = params.model_dump()
    text = text_bytes(texts)
    n = text.n_docs
    verdict = _Verdict(n)
    code = {name: i + 1 for i, name in enumerate(GOPHER_REPETITION_RULES)}
    space = whitespace_mask(text.data)
    chars = char_counts(text.data)
    text_chars = chars[text.offsets[1:]] - chars[text.offsets[:-1]]
    all_lines, filled = lines(text, space)
    for unit, spans in (
        ("line", lambda: all_lines.subset(filled)),
        ("paragraph", lambda: paragraphs(all_lines, filled)),
    ):
        names = (f"max_duplicate_{unit}_fraction", f"max_duplicate_{unit}_char_fraction")
        limits = (p[names[0]], p[names[1]])
        if limits != (None, None):
            _repeat_rules(verdict, text, spans(), chars, text_chars, (code[names[0]], code[names[1]]), limits)

    limits = {m: p[f"max_top_{m}gram_char_fraction"] for m in TOP_NGRAMS}
    limits |= {m: p[f"max_duplicate_{m}gram_char_fraction"] for m in DUPLICATE_NGRAMS}
    enabled = [m for m, limit in limits.items() if limit is not None]
    if not enabled:
        return verdict.codes
    word = words(text, space)
    word_ids = pc.dictionary_encode(span_strings(text, word)).indices.to_numpy().astype(np.int64)
    word_length = chars[word.stop] - chars[word.start]
    cumulative_chars = np.zeros(len(word) + 1, dtype=np.int64)
    np.cumsum(word_length, out=cumulative_chars[1:])
    word_chars = _per_doc(word.doc, n, word_length)
    for level in _ngram_levels(word_ids, word.doc, n, max(enabled)):
        limit = limits.get(level.n)
        if limit is None:
            continue
        if level.n in TOP_NGRAMS:
            repeated_chars = _top_ngram_chars(level, word.doc, cumulative_chars, n)
            name = f"max_top_{level.n}gram_char_fraction"
        else:
            repeated_chars = _duplicate_ngram_chars(level, word_length, word.doc, n)
            name = f"max_duplicate_{level.n}gram_char_fraction"
        fraction, defined = _fraction(repeated_chars, word_chars)
        verdict.rule(code[name], defined & (fraction > limit))
    return verdict.codes
