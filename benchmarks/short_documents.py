"""A seeded Pile-layout corpus of many documents of N random words, with planted exact copies and one-word variants.

Written for the Pile's *shape* (`partitions.py`): tens of millions of short documents in a few minutes, so that
what grows with the number of documents and partitions shows, not text cost. Every value is a pure function of
(seed, stream, index) through the splitmix64 finaliser, computed with NumPy over whole blocks of documents:

- document d's role: an exact copy (probability `copy_rate`), a one-word variant (`variant_rate`), else an
  original (document 0 is always an original);
- a copy or variant names a source: a uniformly drawn earlier document, followed back while that one is not an
  original, so every copy equals an original's text and every variant differs from one in exactly one word;
- an original's words are drawn uniformly from the words of at most 7 bytes of
  `pipeline.sample.vocabulary.EDIT_WORDS` (353, 6.2 bytes each with the space: 24 words ≈ 148 bytes); a
  variant replaces the word at one drawn position by another word;
- its `pile_set_name` is one of the first `SUBSETS` of the sample's subsets, uniformly.

Lines are assembled as bytes without a JSON encoder (the words need no escaping) and written as
`train/NN.jsonl.zst`, documents split evenly over the files in order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import orjson
import zstandard

from pipeline.sample.genres import PILE_SET_NAMES
from pipeline.sample.vocabulary import EDIT_WORDS

SUBSETS = PILE_SET_NAMES[:10]
WORDS = tuple(dict.fromkeys(w for w in EDIT_WORDS if " " not in w and len(w.encode()) <= 7))
"""Distinct single words of at most 7 bytes (353, 6.2 bytes each with a space); none needs escaping in JSON."""
assert not any(ch in w for w in WORDS for ch in '"\\') and all(w.isprintable() for w in WORDS)
BLOCK_WORDS = 4_000_000
"""Words assembled at once: bounds the generator's memory (~150 MB of index arrays) whatever the document size."""
_ROLE, _SOURCE, _WORD, _POSITION, _REPLACEMENT, _SUBSET = range(6)
ORIGINAL, COPY, VARIANT = 0, 1, 2
_PREFIX = b'{"text": "'
_SUFFIXES = [b'", "meta": {"pile_set_name": "' + name.encode() + b'"}}\n' for name in SUBSETS]


@dataclass(frozen=True)
class CorpusSummary:
    """What was written: documents, files, words per document, bytes of text and of JSON, planted copies."""

    docs: int
    files: int
    words: int
    seed: int
    text_bytes: int
    json_bytes: int
    copies: int
    variants: int


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser over a uint64 array (wrapping arithmetic)."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _draw(seed: int, stream: int, index: np.ndarray) -> np.ndarray:
    """64 random bits per index, one independent stream per (seed, stream)."""
    key = _mix(np.array([seed * 16 + stream], dtype=np.uint64))[0]
    return _mix(index.astype(np.uint64) ^ key)


def roles(seed: int, docs: np.ndarray, copy_rate: float, variant_rate: float) -> np.ndarray:
    """ORIGINAL, COPY or VARIANT for each document index."""
    unit = (_draw(seed, _ROLE, docs) >> np.uint64(11)).astype(np.float64) / 2.0**53
    role = np.where(unit < copy_rate, COPY, np.where(unit < copy_rate + variant_rate, VARIANT, ORIGINAL))
    return np.where(docs == 0, ORIGINAL, role).astype(np.int8)


def sources(seed: int, docs: np.ndarray, copy_rate: float, variant_rate: float) -> np.ndarray:
    """The original each document's words come from: itself for an original, else an earlier original."""
    base = docs.astype(np.int64).copy()
    todo = roles(seed, base, copy_rate, variant_rate) != ORIGINAL
    while todo.any():
        base[todo] = (_draw(seed, _SOURCE, base[todo]) % base[todo].astype(np.uint64)).astype(np.int64)
        todo[todo] = roles(seed, base[todo], copy_rate, variant_rate) != ORIGINAL
    return base


def word_ids(seed: int, docs: np.ndarray, words: int, copy_rate: float, variant_rate: float) -> np.ndarray:
    """(documents × words) indices into `WORDS`: the source original's words, one replaced in a variant."""
    base = sources(seed, docs, copy_rate, variant_rate)
    slots = base[:, None] * words + np.arange(words)
    ids = (_draw(seed, _WORD, slots) % np.uint64(len(WORDS))).astype(np.int64)
    variant = np.flatnonzero(roles(seed, docs, copy_rate, variant_rate) == VARIANT)
    if variant.size:
        where = (_draw(seed, _POSITION, docs[variant]) % np.uint64(words)).astype(np.int64)
        shift = 1 + (_draw(seed, _REPLACEMENT, docs[variant]) % np.uint64(len(WORDS) - 1)).astype(np.int64)
        ids[variant, where] = (ids[variant, where] + shift) % len(WORDS)
    return ids


class _Pieces:
    """Every byte string a line is made of, as rows of a `WIDTH`-byte table with a mask of the bytes in use: words
    with a trailing space, words without, the JSON prefix, and per subset its suffix cut into `SUFFIX_PIECES` rows.
    A block of lines is one gather of rows and one boolean selection of their bytes."""

    WIDTH = 16
    SUFFIX_PIECES = 4

    def __init__(self) -> None:
        pieces = [w.encode() + b" " for w in WORDS] + [w.encode() for w in WORDS] + [_PREFIX]
        for suffix in _SUFFIXES:
            cut = [suffix[i : i + self.WIDTH] for i in range(0, len(suffix), self.WIDTH)]
            assert len(cut) <= self.SUFFIX_PIECES, suffix
            pieces += cut + [b""] * (self.SUFFIX_PIECES - len(cut))
        assert max(map(len, pieces)) <= self.WIDTH
        self.table = np.zeros((len(pieces), self.WIDTH), dtype=np.uint8)
        self.used = np.zeros((len(pieces), self.WIDTH), dtype=bool)
        for row, piece in enumerate(pieces):
            self.table[row, : len(piece)] = np.frombuffer(piece, dtype=np.uint8)
            self.used[row, : len(piece)] = True
        self.lengths = self.used.sum(axis=1)

    def lines(self, ids: np.ndarray, subsets: np.ndarray) -> bytes:
        """The JSON lines of documents with word ids `ids` (documents × words) and subset numbers `subsets`."""
        n, words = ids.shape
        vocabulary = len(WORDS)
        sequence = np.empty((n, words + 1 + self.SUFFIX_PIECES), dtype=np.int64)
        sequence[:, 0] = 2 * vocabulary
        sequence[:, 1:words] = ids[:, :-1]
        sequence[:, words] = ids[:, -1] + vocabulary
        first_suffix = 2 * vocabulary + 1 + subsets * self.SUFFIX_PIECES
        sequence[:, words + 1 :] = first_suffix[:, None] + np.arange(self.SUFFIX_PIECES)
        return self.table[sequence][self.used[sequence]].tobytes()


def write_short_documents(
    out: Path, docs: int, files: int, seed: int, words: int = 24, copy_rate: float = 0.01, variant_rate: float = 0.02
) -> CorpusSummary:
    """Write `docs` documents of `words` words as `out/train/NN.jsonl.zst` (`files` files) and `out/summary.json`
    (written last: its presence says the corpus is complete)."""
    if docs < 1 or not 1 <= files <= docs or words < 1:
        raise ValueError(f"need docs >= 1, 1 <= files <= docs, words >= 1 (got {docs}, {files}, {words})")
    pieces = _Pieces()
    block = max(1, BLOCK_WORDS // words)
    per_file = -(-docs // files)
    text_bytes = json_bytes = copies = variants = 0
    (out / "train").mkdir(parents=True, exist_ok=True)
    compressor = zstandard.ZstdCompressor(level=3)
    for file in range(files):
        first, last = file * per_file, min(docs, (file + 1) * per_file)
        with open(out / "train" / f"{file:02d}.jsonl.zst", "wb") as raw, compressor.stream_writer(raw) as writer:
            for start in range(first, last, block):
                index = np.arange(start, min(last, start + block), dtype=np.int64)
                ids = word_ids(seed, index, words, copy_rate, variant_rate)
                subsets = (_draw(seed, _SUBSET, index) % np.uint64(len(SUBSETS))).astype(np.int64)
                data = pieces.lines(ids, subsets)
                writer.write(data)
                role = roles(seed, index, copy_rate, variant_rate)
                copies += int((role == COPY).sum())
                variants += int((role == VARIANT).sum())
                json_bytes += len(data)
                text_bytes += int(pieces.lengths[ids].sum()) - len(index)
    summary = CorpusSummary(docs, files, words, seed, text_bytes, json_bytes, copies, variants)
    (out / "summary.json").write_bytes(orjson.dumps(asdict(summary)))
    return summary


def cached_short_documents(work: Path, docs: int, files: int, seed: int, words: int = 24) -> tuple[Path, CorpusSummary]:
    """The corpus of these arguments under `work`, written unless an earlier call completed it."""
    out = work / f"short-{docs}-f{files}-w{words}-s{seed}"
    done = out / "summary.json"
    if done.exists():
        return out, CorpusSummary(**orjson.loads(done.read_bytes()))
    return out, write_short_documents(out, docs, files, seed, words)
