"""Eval-set n-grams as lm-evaluation-harness's Janitor defines them, and a vectorised search for them.

The Janitor (`lm_eval/decontamination/janitor.py`) normalises text by ASCII lower-casing and deleting
`delete_chars` (by default `string.punctuation`), and compares whitespace-separated word n-grams.
On the eval side it normalises the whole text, then splits; on the training side it splits first and
normalises each n-gram. Normalisation is per character and never touches whitespace, so a training
n-gram matches exactly when each of its words, normalised, is non-empty and the words equal an eval
n-gram's. That is what `find_matches` computes, without Python per word.

lm-evaluation-harness's own overlap check (`decontaminate.get_train_overlap`, and its 13-gram files of the
training text) normalises the training text first and splits after, so a word that normalises to nothing
(`-`, `#`, `->`) vanishes and the words around it become neighbours. `find_matches(..., normalise_first=True)`
forms n-grams that way, over the non-empty normalised words, and maps each back to the characters of the
original text from its first word to its last (words in between that normalised to nothing included).
Every Janitor occurrence is also one of these, at the same characters (its 13 words are all non-empty and
adjacent); `Matches.janitor` says which of them the Janitor also finds.

| step | how |
|---|---|
| words | byte classes by `bytes.translate`; `str.isspace`'s whitespace (as `str.split` and `re`'s `\\S+`) |
| normalise | `bytes.translate`: ASCII lower case, `delete_chars` and whitespace deleted, at C speed |
| harness form | with `normalise_first`, words that normalise to nothing are left out here |
| word ids | `index_in` the eval vocabulary (absent or empty words can match nothing) |
| n-gram keys | a 64-bit polynomial hash of mixed word ids, rolled over each document's words |
| candidates | a bit table indexed by the key's top bits, then a binary search in the sorted eval keys |
| confirm | the candidate's word ids compared with the eval n-gram's: a hash collision never matches |

The index holds NumPy arrays only (the vocabulary as UTF-8 bytes and offsets), so Ray shares one
copy per node with every task without copying it.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
TABLE_BITS_PER_KEY = 64
"""Bits of the candidate table per eval n-gram key: about 1/64 of absent keys pass it."""
SPLIT_CHUNK_BYTES = 8 << 20
"""Texts are searched in chunks of about this many bytes, which bounds the arrays of one step."""


def janitor_translation(delete_chars: str) -> dict[int, int | None]:
    """The Janitor's `str.translate` table: ASCII upper to lower case, `delete_chars` deleted."""
    return str.maketrans(string.ascii_lowercase + string.ascii_uppercase, string.ascii_lowercase * 2, delete_chars)


def janitor_ngrams(text: str, n: int, translation: dict[int, int | None]) -> list[str]:
    """`word_ngrams(Janitor.normalize_string(text), n)`: normalise, split on whitespace, join each n words."""
    words = text.translate(translation).split()
    return [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]


def _mix(values: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: spreads small word ids over 64 bits before they are combined."""
    x = values.astype(np.uint64)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def _window_keys(mixed: np.ndarray, n: int) -> np.ndarray:
    """The hash of every window of `n` consecutive values (len(mixed) - n + 1 keys)."""
    count = len(mixed) - n + 1
    keys = np.zeros(max(count, 0), dtype=np.uint64)
    if count <= 0:
        return keys
    with np.errstate(over="ignore"):
        for offset in range(n):
            keys *= HASH_MULTIPLIER
            keys += mixed[offset : offset + count]
    return keys


@dataclass(frozen=True)
class EvalNgrams:
    """The distinct n-grams of named eval sets: word ids, sorted 64-bit keys, and which sets hold each.

    `starts[i]` is where n-gram i begins in `words` (eval word ids, documents back to back);
    `set_masks[i]` has bit s set when set `set_names[s]` contains it.
    """

    n: int
    delete_chars: str
    set_names: tuple[str, ...]
    vocab_bytes: np.ndarray
    vocab_offsets: np.ndarray
    words: np.ndarray
    keys: np.ndarray
    starts: np.ndarray
    set_masks: np.ndarray
    table: np.ndarray

    @property
    def vocab(self) -> pa.Array:
        """The eval vocabulary (sorted normalised words) as an Arrow array over the index's own bytes."""
        return pa.LargeStringArray.from_buffers(
            len(self.vocab_offsets) - 1, pa.py_buffer(self.vocab_offsets), pa.py_buffer(self.vocab_bytes)
        )

    def may_hold(self, keys: np.ndarray) -> np.ndarray:
        """False for keys certainly absent (a bit table of the keys' top bits); true for eval keys and a few others."""
        slots = keys >> np.uint64(64 - int(np.log2(len(self.table))) - 6)
        return (self.table[slots >> np.uint64(6)] >> (slots & np.uint64(63))) & np.uint64(1) != 0

    @property
    def nbytes(self) -> int:
        arrays = (self.vocab_bytes, self.vocab_offsets, self.words, self.keys, self.starts, self.set_masks, self.table)
        return sum(a.nbytes for a in arrays)

    def ngram_text(self, index: int, vocab: list[str] | None = None) -> str:
        """The normalised words of eval n-gram `index`, joined by spaces (as the Janitor stores it)."""
        vocab = vocab if vocab is not None else self.vocab.to_pylist()
        start = int(self.starts[index])
        return " ".join(vocab[i] for i in self.words[start : start + self.n])


def build_eval_ngrams(
    documents: Iterable[tuple[int, str]], set_names: Sequence[str], n: int = 13, delete_chars: str = string.punctuation
) -> EvalNgrams:
    """The index of every n-gram of `documents` ((set index, text) pairs), normalised as the Janitor registers them."""
    if len(set_names) > 64:
        raise ValueError(f"at most 64 eval sets, got {len(set_names)}")
    translation = janitor_translation(delete_chars)
    doc_words: list[list[str]] = []
    doc_sets: list[int] = []
    for set_index, text in documents:
        words = text.translate(translation).split()
        if len(words) >= n:
            doc_words.append(words)
            doc_sets.append(set_index)
    vocab_list = sorted({word for words in doc_words for word in words})
    vocab_ids = {word: i for i, word in enumerate(vocab_list)}
    lengths = np.array([len(words) for words in doc_words], dtype=np.int64)
    words = np.fromiter((vocab_ids[w] for ws in doc_words for w in ws), dtype=np.int32, count=int(lengths.sum()))
    doc_starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    all_keys = _window_keys(_mix(words), n)
    starts = (
        np.concatenate([np.arange(s, s + length - n + 1) for s, length in zip(doc_starts, lengths)])
        if len(lengths)
        else np.zeros(0, np.int64)
    )
    masks = (
        np.repeat(np.left_shift(np.uint64(1), np.array(doc_sets, dtype=np.uint64)), lengths - n + 1)
        if len(lengths)
        else np.zeros(0, np.uint64)
    )
    keys = all_keys[starts] if len(starts) else np.zeros(0, np.uint64)
    windows = np.lib.stride_tricks.sliding_window_view(words, n)[starts] if len(starts) else np.zeros((0, n), np.int32)
    order = np.lexsort([windows[:, i] for i in range(n - 1, -1, -1)] + [keys])
    keys, starts, masks, windows = keys[order], starts[order], masks[order], windows[order]
    first = np.ones(len(keys), dtype=bool)
    if len(keys) > 1:
        first[1:] = (keys[1:] != keys[:-1]) | np.any(windows[1:] != windows[:-1], axis=1)
    group_starts = np.flatnonzero(first)
    set_masks = np.bitwise_or.reduceat(masks, group_starts) if len(group_starts) else np.zeros(0, np.uint64)
    keys, starts = keys[group_starts], starts[group_starts]
    table_bits = max(16, int(np.ceil(np.log2(max(1, len(keys)) * TABLE_BITS_PER_KEY))))
    slots = keys >> np.uint64(64 - table_bits)
    table = np.zeros(1 << (table_bits - 6), dtype=np.uint64)
    np.bitwise_or.at(table, slots >> np.uint64(6), np.left_shift(np.uint64(1), slots & np.uint64(63)))
    encoded = [word.encode("utf-8") for word in vocab_list]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(b) for b in encoded])
    return EvalNgrams(
        n,
        delete_chars,
        tuple(set_names),
        np.frombuffer(b"".join(encoded), dtype=np.uint8).copy(),
        offsets,
        words,
        keys,
        starts,
        set_masks,
        table,
    )


@dataclass(frozen=True)
class Matches:
    """Matched n-grams of a list of texts, in text order: text index, first word's index in its text,
    the sets holding it, its characters in the text (first, last inclusive, as the Janitor's indices), and
    whether the Janitor's split-then-normalise rule finds it too (no word in it normalised to nothing)."""

    doc: np.ndarray
    word: np.ndarray
    set_mask: np.ndarray
    start: np.ndarray
    end: np.ndarray
    janitor: np.ndarray

    def by_doc(self) -> dict[int, slice]:
        """Each matched text's index → the slice of its matches."""
        docs, firsts = np.unique(self.doc, return_index=True)
        bounds = firsts.tolist() + [len(self.doc)]
        return {doc: slice(bounds[i], bounds[i + 1]) for i, doc in enumerate(docs.tolist())}


KEPT, SPACE, DELETED, SPACE_LEAD = 0, 1, 2, 3
"""A byte's class: part of a word and kept; ASCII whitespace; part of a word, deleted by the Janitor; first byte
of a possible longer UTF-8 whitespace character (U+0085, U+00A0, U+1680, U+2000-200A, U+2028, U+2029, U+202F,
U+205F, U+3000)."""
ASCII_SPACES = bytes([9, 10, 11, 12, 13, 28, 29, 30, 31, 32])
LOWER_TABLE = bytes.maketrans(string.ascii_uppercase.encode(), string.ascii_lowercase.encode())


def _class_table(delete_chars: str) -> bytes:
    """The `bytes.translate` table giving each byte value its class for `delete_chars` (ASCII characters only)."""
    classes = bytearray(256)
    for byte in (0xC2, 0xE1, 0xE2, 0xE3):
        classes[byte] = SPACE_LEAD
    for char in delete_chars:
        classes[ord(char)] = DELETED
    for byte in ASCII_SPACES:
        classes[byte] = SPACE
    return bytes(classes)


def _long_spaces(data: np.ndarray, leads: np.ndarray) -> np.ndarray:
    """Positions of every byte of the longer UTF-8 whitespace characters starting at the candidate `leads`."""
    padded = np.concatenate([data[leads.min() : leads.max() + 3], np.zeros(2, np.uint8)])
    at = leads - leads.min()
    lead, b1, b2 = padded[at], padded[at + 1], padded[at + 2]
    two = (lead == 0xC2) & ((b1 == 0x85) | (b1 == 0xA0))
    three = (lead == 0xE1) & (b1 == 0x9A) & (b2 == 0x80)
    three |= (
        (lead == 0xE2) & (b1 == 0x80) & (((b2 >= 0x80) & (b2 <= 0x8A)) | (b2 == 0xA8) | (b2 == 0xA9) | (b2 == 0xAF))
    )
    three |= (lead == 0xE2) & (b1 == 0x81) & (b2 == 0x9F)
    three |= (lead == 0xE3) & (b1 == 0x80) & (b2 == 0x80)
    return np.concatenate([leads[two], leads[two] + 1, leads[three], leads[three] + 1, leads[three] + 2])


@dataclass(frozen=True)
class ChunkWords:
    """The words of a list of texts: normalised (Arrow strings), byte spans in `data`, and each text's first word.

    `firsts` has one more entry than there are texts (the word count); `offsets` are the texts' byte
    offsets in `data` (their UTF-8 bytes back to back).
    """

    normalised: pa.Array
    starts: np.ndarray
    ends: np.ndarray
    firsts: np.ndarray
    data: np.ndarray
    offsets: np.ndarray

    def char_spans(self, doc: int, firsts: np.ndarray, lasts: np.ndarray) -> tuple[list[int], list[int]]:
        """Character spans (first, last inclusive) in text `doc` of the n-grams from its words `firsts` to `lasts`."""
        base = self.firsts[doc]
        byte_starts = self.starts[base + firsts] - self.offsets[doc]
        byte_ends = self.ends[base + lasts] - self.offsets[doc]
        text = self.data[self.offsets[doc] : self.offsets[doc + 1]].tobytes()
        starts, ends, done, chars = [], [], 0, 0
        for byte_start, byte_end in zip(byte_starts.tolist(), byte_ends.tolist()):
            chars += len(text[done:byte_start].decode("utf-8"))
            starts.append(chars)
            ends.append(chars + len(text[byte_start:byte_end].decode("utf-8")) - 1)
            done = byte_start
        return starts, ends


def normalised_words(texts: pa.Array, delete_chars: str) -> ChunkWords:
    """Every whitespace-separated word of `texts` (a string array without nulls), normalised as the Janitor does.

    Whitespace beyond ASCII is first overwritten by as many ASCII spaces (same byte positions), so that
    `bytes.translate` can classify every byte and build the normalised words (lower-cased, deleted
    characters and whitespace dropped) at C speed.
    """
    texts = texts.cast(pa.large_string())
    offsets = np.frombuffer(texts.buffers()[1], dtype=np.int64)[texts.offset : texts.offset + len(texts) + 1]
    base = int(offsets[0]) if len(offsets) else 0
    buffer = texts.buffers()[2]
    data = (
        np.frombuffer(buffer, dtype=np.uint8)[base : int(offsets[-1])]
        if buffer is not None and len(offsets)
        else np.zeros(0, np.uint8)
    )
    offsets = offsets - base
    table = _class_table(delete_chars)
    raw = data.tobytes()
    classes = np.frombuffer(raw.translate(table), dtype=np.uint8)
    leads = np.flatnonzero(classes == SPACE_LEAD)
    spaces = _long_spaces(data, leads) if len(leads) else leads
    if len(spaces):
        spaced = data.copy()
        spaced[spaces] = 32
        raw = spaced.tobytes()
        classes = np.frombuffer(raw.translate(table), dtype=np.uint8)
    word = classes != SPACE
    change = np.diff(word.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts, ends = np.flatnonzero(change == 1), np.flatnonzero(change == -1)
    inner = offsets[1:-1]
    inner = inner[(inner > 0) & (inner < len(data))]
    joined = np.unique(inner[word[inner - 1] & word[inner]])
    if len(joined):  # a text ending in a word followed by one starting with a word: split them
        starts = np.insert(starts, np.searchsorted(starts, joined), joined)
        ends = np.insert(ends, np.searchsorted(ends, joined), joined)
    kept = ends - starts
    deleted_at = np.flatnonzero(classes == DELETED)
    if len(deleted_at):
        kept -= np.bincount(np.searchsorted(starts, deleted_at, side="right") - 1, minlength=len(starts))
    word_offsets = np.zeros(len(starts) + 1, dtype=np.int64)
    np.cumsum(kept, out=word_offsets[1:])
    normalised = raw.translate(LOWER_TABLE, (delete_chars + string.whitespace).encode("ascii") + ASCII_SPACES)
    words = pa.LargeStringArray.from_buffers(len(starts), pa.py_buffer(word_offsets), pa.py_buffer(normalised))
    return ChunkWords(words, starts, ends, np.searchsorted(starts, offsets), data, offsets)


def _chunks(lengths: np.ndarray) -> list[tuple[int, int]]:
    """(first, end) text ranges of about SPLIT_CHUNK_BYTES each."""
    bounds, first, size = [], 0, 0
    for index, length in enumerate(lengths):
        size += int(length)
        if size >= SPLIT_CHUNK_BYTES:
            bounds.append((first, index + 1))
            first, size = index + 1, 0
    if first < len(lengths) or not bounds:
        bounds.append((first, len(lengths)))
    return bounds


def find_matches(
    texts: pa.Array | pa.ChunkedArray | list[str], index: EvalNgrams, normalise_first: bool = False
) -> Matches:
    """Every n-gram of every text that the Janitor's `clean_python` would find in `index`, with its sets and span;
    with `normalise_first`, every n-gram of the texts normalised then split (the harness's form) instead."""
    texts = pa.chunked_array([pa.array(texts, pa.large_string())]) if isinstance(texts, list) else texts
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks() if texts.num_chunks != 1 else texts.chunk(0)
    texts = texts.cast(pa.large_string())
    vocab = index.vocab
    lengths = pc.binary_length(texts).to_numpy(zero_copy_only=False) if len(texts) else np.zeros(0, np.int64)
    found = [
        _find_in_chunk(texts.slice(first, end - first), first, index, vocab, normalise_first)
        for first, end in _chunks(lengths)
    ]
    columns = [np.concatenate([f[i] for f in found]) if found else np.zeros(0, np.int64) for i in range(6)]
    return Matches(*columns[:5], columns[5].astype(bool))


def _find_in_chunk(
    texts: pa.Array, first_doc: int, index: EvalNgrams, vocab: pa.Array, normalise_first: bool
) -> tuple[np.ndarray, ...]:
    n = index.n
    empty = (
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        np.zeros(0, np.uint64),
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        np.zeros(0, bool),
    )
    chunk = normalised_words(texts, index.delete_chars)
    if len(chunk.normalised) < n or len(index.keys) == 0:
        return empty
    words = chunk.normalised
    doc_of_word = np.repeat(np.arange(len(texts), dtype=np.int64), np.diff(chunk.firsts))
    raw_index = None
    if normalise_first:  # the harness's form: words that normalise to nothing are not words
        nonempty = pc.greater(pc.binary_length(words), 0)
        raw_index = np.flatnonzero(nonempty.to_numpy(zero_copy_only=False))
        words, doc_of_word = words.filter(nonempty), doc_of_word[raw_index]
        if len(words) < n:
            return empty
    ids = pc.index_in(words, value_set=vocab)
    known = ids.is_valid().to_numpy(zero_copy_only=False)
    ids = ids.fill_null(0).to_numpy(zero_copy_only=False)
    count = len(ids) - n + 1
    unknown_before = np.concatenate([[0], np.cumsum(~known, dtype=np.int32)])
    valid = (unknown_before[n:] - unknown_before[:count]) == 0
    valid &= doc_of_word[:count] == doc_of_word[n - 1 :]
    keys = _window_keys(_mix(ids), n)
    candidates = np.flatnonzero(valid)
    candidates = candidates[index.may_hold(keys[candidates])]
    if len(candidates) == 0:
        return empty
    candidate_keys = keys[candidates]
    lo = np.searchsorted(index.keys, candidate_keys)
    hit = index.keys[np.minimum(lo, len(index.keys) - 1)] == candidate_keys
    positions, entries = candidates[hit], lo[hit]
    span = np.arange(n)
    same = np.all(index.words[index.starts[entries][:, None] + span] == ids[positions[:, None] + span], axis=1)
    for i in np.flatnonzero(~same).tolist():  # a 64-bit key shared with another n-gram: try the next entries with it
        entry = int(entries[i]) + 1
        while entry < len(index.keys) and index.keys[entry] == index.keys[entries[i]]:
            if np.array_equal(
                index.words[index.starts[entry] : index.starts[entry] + n], ids[positions[i] : positions[i] + n]
            ):
                entries[i], same[i] = entry, True
                break
            entry += 1
    positions, masks = positions[same], index.set_masks[entries[same]]
    docs = doc_of_word[positions]
    firsts, lasts = positions, positions + n - 1
    if raw_index is not None:
        firsts, lasts = raw_index[firsts], raw_index[lasts]
    firsts, lasts = firsts - chunk.firsts[docs], lasts - chunk.firsts[docs]
    char_starts, char_ends = [], []
    for doc in np.unique(docs).tolist():
        starts, ends = chunk.char_spans(doc, firsts[docs == doc], lasts[docs == doc])
        char_starts += starts
        char_ends += ends
    janitor = lasts - firsts == n - 1
    return docs + first_doc, firsts, masks, np.array(char_starts, np.int64), np.array(char_ends, np.int64), janitor
