"""Words, lines and paragraphs of a batch of texts, found with NumPy over the UTF-8 bytes.

One definition shared by every filter that counts these units, so that "a word" or "a blank line"
means the same thing everywhere:

- **whitespace** is what Python's `str.isspace` accepts (`WHITESPACE`);
- a **word** is a maximal run of non-whitespace characters (`str.split()` with no argument);
- a **line** is a piece of the text split on `"\\n"`; it is **blank** when empty or whitespace only;
- a **paragraph** is a maximal run of consecutive non-blank lines of one document.

Lines and paragraphs are compared and measured *stripped* of surrounding whitespace. Lengths are in
Unicode code points, like Python's `len`. The work is a fixed number of vectorised passes over the
bytes, never a Python loop over words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
"""Every character for which `str.isspace()` is true (checked by the tests against all code points)."""

_MULTIBYTE_WHITESPACE = tuple(c.encode() for c in WHITESPACE if ord(c) >= 0x80)
_MULTIBYTE_LEADS = (min(w[0] for w in _MULTIBYTE_WHITESPACE), max(w[0] for w in _MULTIBYTE_WHITESPACE))


def byte_range(data: np.ndarray, low: int, high: int) -> np.ndarray:
    """True where `low <= byte <= high` (one subtraction and comparison, faster than a table lookup)."""
    return np.subtract(data, low, dtype=np.uint8) <= high - low


def cumulative_count(mask: np.ndarray) -> np.ndarray:
    """`out[j] - out[i]` is how many of mask[i:j] are set."""
    out = np.zeros(len(mask) + 1, dtype=np.int32 if len(mask) < 2**31 else np.int64)
    np.cumsum(mask, out=out[1:])
    return out


class TextBytes(NamedTuple):
    """A batch's UTF-8 bytes and each document's [start, stop) byte offsets into them."""

    data: np.ndarray
    offsets: np.ndarray

    @property
    def n_docs(self) -> int:
        return len(self.offsets) - 1

    def doc_of(self, positions: np.ndarray) -> np.ndarray:
        """The document holding each byte position."""
        return np.searchsorted(self.offsets, positions, side="right") - 1


@dataclass(frozen=True)
class Spans:
    """Byte spans `[start, stop)` of items (words, lines, paragraphs), in order, with their documents."""

    start: np.ndarray
    stop: np.ndarray
    doc: np.ndarray

    def __len__(self) -> int:
        return len(self.start)

    def subset(self, mask: np.ndarray) -> Spans:
        return Spans(self.start[mask], self.stop[mask], self.doc[mask])


def text_bytes(texts: pa.Array) -> TextBytes:
    """The bytes and rebased offsets of a string or large_string array (nulls read as empty)."""
    if texts.null_count:
        texts = pc.fill_null(texts, "")
    offset_type = np.int64 if pa.types.is_large_string(texts.type) else np.int32
    buffers = texts.buffers()
    offsets = np.frombuffer(buffers[1], dtype=offset_type)[texts.offset : texts.offset + len(texts) + 1].astype(
        np.int64
    )
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.zeros(0, np.uint8)
    return TextBytes(data[offsets[0] : offsets[-1]], offsets - offsets[0])


def whitespace_mask(data: np.ndarray) -> np.ndarray:
    """True on every byte of every whitespace character."""
    mask = byte_range(data, 0x09, 0x0D) | byte_range(data, 0x1C, 0x20)
    leads = np.flatnonzero(byte_range(data, *_MULTIBYTE_LEADS))
    for pattern in _MULTIBYTE_WHITESPACE:
        lead = leads[(leads <= len(data) - len(pattern))]
        lead = lead[data[lead] == pattern[0]]
        for k in range(1, len(pattern)):
            lead = lead[data[lead + k] == pattern[k]]
        for k in range(len(pattern)):
            mask[lead + k] = True
    return mask


def char_counts(data: np.ndarray) -> np.ndarray:
    """Cumulative code points: `counts[j] - counts[i]` is the length of bytes [i, j) in characters."""
    return cumulative_count(~byte_range(data, 0x80, 0xBF))


def words(text: TextBytes, space: np.ndarray) -> Spans:
    """Maximal runs of non-whitespace bytes, never crossing a document boundary."""
    n = len(text.data)
    word = ~space
    boundary_before = np.ones(n, dtype=bool)
    boundary_before[1:] = space[:-1]
    boundary_after = np.ones(n, dtype=bool)
    boundary_after[:-1] = space[1:]
    inner = text.offsets[1:-1]
    inner = inner[(inner > 0) & (inner < n)]
    boundary_before[inner] = True
    boundary_after[inner - 1] = True
    start = np.flatnonzero(word & boundary_before)
    stop = np.flatnonzero(word & boundary_after) + 1
    return Spans(start, stop, text.doc_of(start))


def lines(text: TextBytes, space: np.ndarray) -> tuple[Spans, np.ndarray]:
    """Every line's stripped span (empty, at the line's start, when blank) and a mask of the non-blank ones."""
    newline = np.flatnonzero(text.data == 0x0A)
    newline_doc = text.doc_of(newline)
    every_doc = np.arange(text.n_docs)
    doc = np.concatenate([every_doc, newline_doc])
    start = np.concatenate([text.offsets[:-1], newline + 1])
    stop = np.concatenate([text.offsets[1:], newline])
    by_start = np.lexsort((start, doc))
    start, stop, doc = start[by_start], np.sort(stop), doc[by_start]
    nonspace = np.flatnonzero(~space)
    if len(nonspace) == 0:
        return Spans(start, start.copy(), doc), np.zeros(len(start), dtype=bool)
    first = np.searchsorted(nonspace, start)
    first_pos = nonspace[np.minimum(first, len(nonspace) - 1)]
    filled = (first < len(nonspace)) & (first_pos < stop)
    last_pos = nonspace[np.maximum(np.searchsorted(nonspace, stop) - 1, 0)] + 1
    return Spans(np.where(filled, first_pos, start), np.where(filled, last_pos, start), doc), filled


def paragraphs(line_spans: Spans, filled: np.ndarray) -> Spans:
    """Maximal runs of consecutive non-blank lines within a document, as stripped spans."""
    previous_filled = np.zeros(len(filled), dtype=bool)
    previous_filled[1:] = filled[:-1] & (line_spans.doc[1:] == line_spans.doc[:-1])
    opens = filled & ~previous_filled
    next_filled = np.zeros(len(filled), dtype=bool)
    next_filled[:-1] = filled[1:] & (line_spans.doc[1:] == line_spans.doc[:-1])
    closes = filled & ~next_filled
    return Spans(line_spans.start[opens], line_spans.stop[closes], line_spans.doc[opens])


def span_strings(text: TextBytes, spans: Spans) -> pa.LargeStringArray:
    """The spans' text as one string array (work proportional to the spans' bytes, not the batch's)."""
    lengths = spans.stop - spans.start
    offsets = np.zeros(len(spans) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    index = np.repeat(spans.start - offsets[:-1], lengths) + np.arange(offsets[-1])
    return pa.LargeStringArray.from_buffers(len(spans), pa.py_buffer(offsets), pa.py_buffer(text.data[index]))


def starts_with(text: TextBytes, positions: np.ndarray, limit: np.ndarray, prefix: bytes) -> np.ndarray:
    """Whether the bytes at each position (not reaching `limit`) begin with `prefix`."""
    fits = positions + len(prefix) <= limit
    hit = fits.copy()
    idx = np.flatnonzero(fits)
    for k, byte in enumerate(prefix):
        hit[idx] &= text.data[positions[idx] + k] == byte
    return hit


def ends_with(text: TextBytes, stops: np.ndarray, floor: np.ndarray, suffix: bytes) -> np.ndarray:
    """Whether the bytes before each stop (not going below `floor`) end with `suffix`."""
    fits = stops - len(suffix) >= floor
    hit = fits.copy()
    idx = np.flatnonzero(fits)
    for k, byte in enumerate(suffix):
        hit[idx] &= text.data[stops[idx] - len(suffix) + k] == byte
    return hit


def occurrences(text: TextBytes, pattern: bytes) -> np.ndarray:
    """Per document, how many non-overlapping occurrences of `pattern` (as `str.count`) it holds.

    For a pattern of one repeated byte (".", "...") occurrences are counted per run of that byte
    (`run // len(pattern)`); otherwise the pattern must not overlap itself (e.g. "#", "…").
    """
    n = text.n_docs
    position = np.flatnonzero(text.data == pattern[0])
    if len(set(pattern)) == 1:
        doc = text.doc_of(position)
        breaks = np.ones(len(position), dtype=bool)
        breaks[1:] = (position[1:] != position[:-1] + 1) | (doc[1:] != doc[:-1])
        run_start = np.flatnonzero(breaks)
        run_length = np.diff(np.append(run_start, len(position)))
        return np.bincount(doc[run_start], weights=run_length // len(pattern), minlength=n).astype(np.int64)
    position = position[position <= len(text.data) - len(pattern)]
    for k in range(1, len(pattern)):
        position = position[text.data[position + k] == pattern[k]]
    return np.bincount(text.doc_of(position), minlength=n)


def first_occurrences(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group equal keys: (dense id per key, count per id, index of each id's first occurrence)."""
    if len(keys) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    order = np.argsort(keys)
    ordered = keys[order]
    new_group = np.ones(len(keys), dtype=bool)
    new_group[1:] = ordered[1:] != ordered[:-1]
    group_start = np.flatnonzero(new_group)
    ids = np.empty(len(keys), dtype=np.int64)
    ids[order] = np.cumsum(new_group) - 1
    counts = np.diff(np.append(group_start, len(keys)))
    first = np.minimum.reduceat(order, group_start)
    return ids, counts, first


def repeats(strings: pa.Array, doc: np.ndarray) -> np.ndarray:
    """Mask of the strings equal to an earlier string of the same document (all occurrences but the first)."""
    if len(strings) == 0:
        return np.zeros(0, dtype=bool)
    encoded = pc.dictionary_encode(strings)
    key = doc * len(encoded.dictionary) + encoded.indices.to_numpy()
    _, _, first = first_occurrences(key)
    repeated = np.ones(len(key), dtype=bool)
    repeated[first] = False
    return repeated
