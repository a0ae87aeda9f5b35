"""MinHash signatures of word or character n-gram shingles, vectorised over a batch of documents.

Shingles (the reference is `shingles`):
- `word`: the text lower-cased (`str.lower`) and split on whitespace (`str.split`); a shingle is `n`
  consecutive words joined by one space.
- `char`: SlimPajama's normalisation (`stages.slimpajama_text`, from Cerebras `slimpajama/dedup/to_hash.py`):
  lower-cased, ASCII punctuation (`string.punctuation`) removed, whitespace runs collapsed to one space
  and stripped; a shingle is `n` consecutive code points.
A document with fewer than `n` units gives one shingle, its whole normalised text; so an empty (or
blank) document has the single shingle `""` and every empty document has the same signature.
(SlimPajama gave short documents no shingles at all; it dropped them earlier by length.)
Lower-casing and whitespace are Python's (`str.lower`, `str.isspace`), so they follow the running
Python's Unicode tables; the batch path lowers ASCII bytewise and calls `str.lower` only for the
documents holding a non-ASCII code point it changes.

Signatures are datasketch 2.0.0's `affine32` scheme, value for value: with `H` the 32-bit hash of a
shingle's UTF-8 bytes, permutation k maps `fmix32(H)` to `a_k * fmix32(H) + b_k mod 2^32` with
`(a, b)` drawn from `numpy.random.RandomState(seed)` as datasketch draws them, and the signature is
the minimum over the document's shingles. So `signatures` equals
`datasketch.MinHash(num_perm, seed, hashfunc=H)` after `update_batch(shingle bytes)`.

`H` is `datasketch.hashfunc.sha1_hash32` for `hash: sha1` (plain datasketch values, one hashlib call
per shingle) or, by default, `shingle_hash32`: the polynomial hash of the bytes mod 2^64 with a
fixed odd base, plus the length times a fixed odd constant, through MurmurHash3's 64-bit finaliser,
top 32 bits. It is computed for a whole batch at once from one prefix sum over the concatenated
normalised bytes (hash of bytes [l, r) = (P[r] - P[l]) * BASE^-l), so no Python runs per shingle or
per word, and the permutation + minimum runs as NumPy block operations.

Memory: documents are processed in chunks of about `chunk_bytes` of text (a larger document is one
chunk by itself), using about 15 (word) or 40 (char) bytes of scratch per byte of the chunk, and the
permutation step works on blocks of shingles that fill `permute_bytes` (num_perm uint32 per shingle).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import cache, lru_cache
from typing import Literal

import numpy as np
import pyarrow as pa

from stages.dedup import DedupConfig
from stages.slimpajama_text import PUNCTUATION, slimpajama_clean
from stages.utf8_buffers import utf8_buffers

ShingleKind = Literal["word", "char"]

_U32_MAX = np.uint32(0xFFFFFFFF)
_M64 = (1 << 64) - 1


def splitmix64(state: int) -> tuple[int, int]:
    """One step of SplitMix64: (new state, output); derives fixed constants here and in stages.lsh."""
    state = (state + 0x9E3779B97F4A7C15) & _M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
    return state, z ^ (z >> 31)


def _hash_constants() -> tuple[int, int]:
    """The odd base and the odd length multiplier of the default hash: the first SplitMix64 outputs."""
    state, base = splitmix64(0x5049_4C45_4C49_4E45)  # "PILELINE"
    _, length_multiplier = splitmix64(state)
    return base | 1, length_multiplier | 1


_BASE, _LENGTH_MULTIPLIER = _hash_constants()
_BASE_INVERSE = pow(_BASE, -1, 1 << 64)

_ASCII_PUNCTUATION = np.zeros(256, dtype=bool)
_ASCII_PUNCTUATION[[ord(c) for c in PUNCTUATION]] = True
_ASCII_PUNCTUATION.flags.writeable = False


@cache
def _unicode_tables() -> tuple[np.ndarray, np.ndarray]:
    """Two read-only masks over all code points, from this Python's Unicode tables: `str.lower` changes it, and
    `str.isspace` (so `str.split`) accepts it. A text whose non-ASCII code points `str.lower` leaves
    alone lowers like ASCII: only A-Z change (the final-sigma rule needs a Σ, which changes). Built on the first
    non-ASCII text (~20 ms), not at import: a driver never needs them."""
    points = np.arange(0x110000, dtype=np.uint32)
    points[0xD800:0xE000] = ord("0")  # surrogates are not text
    text = points.tobytes().decode("utf-32-le")
    lower_changes = np.zeros(0x110000, dtype=bool)
    for start in range(0, 0x110000, 64):
        block = text[start : start + 64]
        if block.lower() != block:
            lower_changes[start : start + 64] = [c.lower() != c for c in block]
    is_space = np.zeros(0x110000, dtype=bool)
    is_space[[match.start() for match in re.finditer(r"\s", text)]] = True  # re's \s is str.isspace
    lower_changes.flags.writeable = is_space.flags.writeable = False
    return lower_changes, is_space


def _runs(mask: np.ndarray) -> tuple[tuple[int, int], ...]:
    """(start, length) of every run of True in `mask`."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return tuple((int(start), int(stop - start)) for start, stop in zip(edges[::2], edges[1::2]))


_ASCII_WHITESPACE_RUNS = _runs(np.array([chr(point).isspace() for point in range(128)]))
"""The ASCII code points `str.isspace` accepts, as runs (9-13 and 28-32): tested by arithmetic, several times faster
than a 256-entry table lookup per byte."""

_FMIX64 = (np.uint64(33), np.uint64(0xFF51AFD7ED558CCD), np.uint64(0xC4CEB9FE1A85EC53))
_FMIX32 = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35))


def shingles(text: str, shingle: ShingleKind, ngram: int) -> list[str]:
    """The shingles of one document, in order with repeats: the definition the vectorised path follows."""
    if shingle == "word":
        words = text.lower().split()
        if len(words) < ngram:
            return [" ".join(words)]
        return [" ".join(words[i : i + ngram]) for i in range(len(words) - ngram + 1)]
    chars = slimpajama_clean(text)
    if len(chars) < ngram:
        return [chars]
    return [chars[i : i + ngram] for i in range(len(chars) - ngram + 1)]


def exact_jaccard(text_a: str, text_b: str, shingle: ShingleKind, ngram: int) -> float:
    """Jaccard similarity of the two documents' shingle sets (each set has at least one shingle)."""
    a, b = set(shingles(text_a, shingle, ngram)), set(shingles(text_b, shingle, ngram))
    return len(a & b) / len(a | b)


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """The MinHash estimate of Jaccard similarity: the fraction of equal signature values."""
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"signatures must be 1-D of equal length, got {a.shape} and {b.shape}")
    return float(np.count_nonzero(a == b)) / a.size


def _fmix64_int(x: int) -> int:
    """MurmurHash3's 64-bit finaliser on a Python int."""
    x ^= x >> 33
    x = (x * 0xFF51AFD7ED558CCD) & _M64
    x ^= x >> 33
    x = (x * 0xC4CEB9FE1A85EC53) & _M64
    return x ^ (x >> 33)


def shingle_hash32(data: bytes) -> int:
    """The default 32-bit shingle hash, one shingle at a time (the scalar twin of the batch path).

    `fmix64(sum_j data[j] * BASE^j + len(data) * L mod 2^64) >> 32` with MurmurHash3's 64-bit
    finaliser; usable as datasketch's `hashfunc`.
    """
    poly = 0
    for byte in reversed(data):
        poly = (poly * _BASE + byte) & _M64
    return _fmix64_int((poly + len(data) * _LENGTH_MULTIPLIER) & _M64) >> 32


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch 2.0.0's affine32 parameters: odd `a` and any `b`, uint32, from `RandomState(seed)` (read-only
    arrays, drawn once per process: seeding a RandomState costs ~8 ms, more than hashing a small batch)."""
    generator = np.random.RandomState(seed)
    a = generator.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = generator.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    a.flags.writeable = b.flags.writeable = False
    return a, b


def signatures(
    texts: Sequence[str] | pa.Array | pa.ChunkedArray,
    config: DedupConfig,
    *,
    chunk_bytes: int = 1 << 20,
    permute_bytes: int = 4 << 20,
    columns: int | None = None,
) -> np.ndarray:
    """The (len(texts), num_perm) uint32 MinHash signatures of the documents, as datasketch computes them.

    `columns` keeps only the first so many values of each signature (LSH banding reads `bands * rows` of
    them), computed alone. `chunk_bytes` and `permute_bytes` bound scratch memory (see the module docstring);
    they do not change the values.
    """
    data, offsets = utf8_buffers(texts)
    a, b = permutations(config.num_perm, config.seed)
    if columns is not None:
        if not 0 < columns <= config.num_perm:
            raise ValueError(f"columns must be in 1..{config.num_perm}, got {columns}")
        a, b = a[:columns], b[:columns]
    result = np.empty((len(offsets) - 1, a.size), dtype=np.uint32)
    for first, last in _chunks(offsets, chunk_bytes):
        chunk = _lower_cased(data[offsets[first] : offsets[last]], offsets[first : last + 1] - offsets[first])
        canon, *units = _normalise(*chunk, config.shingle)
        del chunk
        left, right, counts = _shingle_spans(*units, config.ngram)
        del units
        if config.hash == "sha1":
            hashes = _sha1_hashes(canon, left, right)
        else:
            hashes = _poly_hashes(canon, left, right)
        result[first:last] = _min_permuted(hashes, counts, a, b, max(1, permute_bytes // (4 * a.size)))
    return result


def _lower_cased(data: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The texts with a non-ASCII code point that `str.lower` changes, replaced by their `str.lower`;
    the others lower like ASCII, which `_normalise` does bytewise."""
    leads = np.flatnonzero(data >= 0xC2)
    if leads.size == 0:
        return data, offsets
    cased = leads[_unicode_tables()[0][_code_points(data, leads)]]
    if cased.size == 0:
        return data, offsets
    pieces, lengths, done = [], np.diff(offsets), 0
    for doc in np.unique(np.searchsorted(offsets, cased, side="right") - 1).tolist():
        lowered = data[offsets[doc] : offsets[doc + 1]].tobytes().decode().lower().encode()
        pieces += [data[offsets[done] : offsets[doc]].tobytes(), lowered]
        lengths[doc] = len(lowered)
        done = doc + 1
    pieces.append(data[offsets[done] :].tobytes())
    offsets = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return np.frombuffer(b"".join(pieces), dtype=np.uint8), offsets


def _code_points(data: np.ndarray, leads: np.ndarray) -> np.ndarray:
    """The code points of the UTF-8 sequences starting at the lead bytes `leads` (valid UTF-8 assumed)."""
    last = data.size - 1
    lead = data[leads].astype(np.int32)
    c1, c2, c3 = (data[np.minimum(leads + k, last)].astype(np.int32) & 0x3F for k in (1, 2, 3))
    return np.where(
        lead < 0xE0,
        (lead & 0x1F) << 6 | c1,
        np.where(lead < 0xF0, (lead & 0x0F) << 12 | c1 << 6 | c2, (lead & 0x07) << 18 | c1 << 12 | c2 << 6 | c3),
    )


def _chunks(offsets: np.ndarray, chunk_bytes: int) -> list[tuple[int, int]]:
    """Consecutive document ranges [first, last) of about `chunk_bytes` bytes each (at least one document)."""
    ranges, first, n = [], 0, len(offsets) - 1
    while first < n:
        last = int(np.searchsorted(offsets, offsets[first] + chunk_bytes, side="right")) - 1
        last = min(max(last, first + 1), n)
        ranges.append((first, last))
        first = last
    return ranges


def _normalise(
    raw: np.ndarray, offsets: np.ndarray, shingle: ShingleKind
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Normalised bytes of the chunk's documents (see the module docstring), their offsets, and the
    start and end (exclusive) byte positions of every unit (word or code point), in order."""
    index = np.int32 if raw.size < 1 << 31 else np.int64
    offsets = offsets.astype(index)
    chars = _ascii_lowered(raw)
    if shingle == "char":
        keep = ~np.take(_ASCII_PUNCTUATION, chars)
        offsets = _kept_before(keep, index)[offsets]
        chars = chars[keep]
    word_byte = ~_whitespace(chars)
    word_starts, word_ends = _words(word_byte, offsets)
    lengths = word_ends - word_starts

    # One space before every word but the first of its document, then drop all other whitespace.
    first_words = np.searchsorted(word_starts, offsets)  # an empty document points at a later first word
    spaced = np.ones(word_starts.size, dtype=bool)
    spaced[first_words[first_words < word_starts.size]] = False
    separators = word_starts[spaced] - 1
    keep = word_byte
    keep[separators] = True
    chars[separators] = 0x20
    canon = chars[keep]
    del chars, keep
    # Positions in `canon`: each word adds its separator, if any, and its bytes.
    before = np.zeros(word_starts.size + 1, dtype=index)
    np.cumsum(lengths + spaced, out=before[1:])
    canon_offsets = before[first_words]
    if shingle == "word":
        unit_starts = before[:-1] + spaced
        return canon, canon_offsets, unit_starts, unit_starts + lengths
    del before, word_starts, word_ends, lengths
    unit_starts = np.flatnonzero((canon & 0xC0) != 0x80).astype(index)
    unit_ends = np.empty_like(unit_starts)
    unit_ends[:-1] = unit_starts[1:]
    unit_ends[-1:] = canon.size
    return canon, canon_offsets, unit_starts, unit_ends


def _words(word_byte: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) of every maximal run of word bytes that lies within one document, in order:
    the places where the mask changes, split where a run crosses a document boundary."""
    index = offsets.dtype
    n = word_byte.size
    if n == 0:
        return np.zeros(0, dtype=index), np.zeros(0, dtype=index)
    changes = np.flatnonzero(word_byte[1:] != word_byte[:-1]).astype(index) + 1
    bounds = np.concatenate([np.zeros(int(word_byte[0]), dtype=index), changes, np.full(int(word_byte[-1]), n, index)])
    starts, ends = bounds[0::2], bounds[1::2]
    inner = offsets[(offsets > 0) & (offsets < n)]
    crossing = np.unique(inner[word_byte[inner - 1] & word_byte[inner]])
    if crossing.size:
        starts = np.insert(starts, np.searchsorted(starts, crossing), crossing)
        ends = np.insert(ends, np.searchsorted(ends, crossing), crossing)
    return starts, ends


def _ascii_lowered(raw: np.ndarray) -> np.ndarray:
    """The bytes with A-Z lowered, as `str.lower` lowers ASCII (arithmetic: several times faster than a table)."""
    upper = (raw - np.uint8(ord("A"))) < np.uint8(26)
    return raw + (upper.view(np.uint8) << np.uint8(5))


def _in_runs(chars: np.ndarray, runs: tuple[tuple[int, int], ...]) -> np.ndarray:
    """Mask of the bytes inside any (start, length) run."""
    mask = np.zeros(chars.size, dtype=bool)
    for start, length in runs:
        mask |= (chars - np.uint8(start)) < np.uint8(length)
    return mask


def _kept_before(keep: np.ndarray, index: type) -> np.ndarray:
    """before[i] = number of kept bytes before position i (i <= size): positions in the compressed array."""
    before = np.zeros(keep.size + 1, dtype=index)
    np.cumsum(keep, out=before[1:])
    return before


def _whitespace(chars: np.ndarray) -> np.ndarray:
    """Mask of the bytes of every code point `str.isspace` accepts (valid UTF-8 assumed)."""
    mask = _in_runs(chars, _ASCII_WHITESPACE_RUNS)
    leads = np.flatnonzero(chars >= 0xC2)
    if leads.size == 0:
        return mask
    spaces = leads[_unicode_tables()[1][_code_points(chars, leads)]]
    widths = 2 + (chars[spaces] >= 0xE0) + (chars[spaces] >= 0xF0)
    for byte in range(4):
        mask[spaces[widths > byte] + byte] = True
    return mask


def _shingle_spans(
    doc_offsets: np.ndarray, unit_starts: np.ndarray, unit_ends: np.ndarray, ngram: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Byte spans [left, right) of every shingle, grouped by document in order, and the count per document.

    Window k covers units k .. k+ngram-1; it is a shingle unless it runs past its document's last
    unit. A document with fewer than `ngram` units starts no window and gets its whole span instead.
    """
    first_unit = np.searchsorted(unit_starts, doc_offsets)
    units = np.diff(first_unit)
    windows = max(unit_starts.size - ngram + 1, 0)
    valid = np.ones(windows, dtype=bool)
    for back in range(1, ngram):
        tail = first_unit[1:] - back
        valid[tail[(tail >= first_unit[:-1]) & (tail < windows)]] = False
    left = unit_starts[:windows][valid]
    right = unit_ends[ngram - 1 :][valid]
    short = np.flatnonzero(units < ngram)
    if short.size:
        windows_before = np.zeros(units.size, dtype=np.int64)
        np.cumsum(np.maximum(units - ngram + 1, 0)[:-1], out=windows_before[1:])
        left = np.insert(left, windows_before[short], doc_offsets[short])
        right = np.insert(right, windows_before[short], doc_offsets[short + 1])
    return left, right, np.maximum(units - ngram + 1, 1)


def _power_table(base: int, n: int) -> np.ndarray:
    """base^j mod 2^64 for j < n."""
    table = np.full(n, base, dtype=np.uint64)
    table[0] = 1
    return np.multiply.accumulate(table, out=table)


# BASE^j and BASE^-j for j < 2^16; larger powers are a fine power times a coarse power of BASE^(2^16).
_POWER_BITS = 16
_FINE_POWERS = _power_table(_BASE, 1 << _POWER_BITS)
_FINE_INVERSE_POWERS = _power_table(_BASE_INVERSE, 1 << _POWER_BITS)
_FINE_POWERS.flags.writeable = _FINE_INVERSE_POWERS.flags.writeable = False


def _prefix_sums(canon: np.ndarray) -> np.ndarray:
    """P[i] = sum over j < i of canon[j] * BASE^j mod 2^64, built 2^16 bytes at a time."""
    fine = 1 << _POWER_BITS
    prefix = np.zeros(canon.size + 1, dtype=np.uint64)
    scratch = np.empty(min(fine, canon.size), dtype=np.uint64)
    scale, step = 1, pow(_BASE, fine, 1 << 64)
    for start in range(0, canon.size, fine):
        stop = min(start + fine, canon.size)
        terms = scratch[: stop - start]
        np.multiply(canon[start:stop], _FINE_POWERS[: stop - start], out=terms)
        terms *= np.uint64(scale)
        terms[:1] += prefix[start : start + 1]
        np.cumsum(terms, out=prefix[start + 1 : stop + 1])
        scale = scale * step & _M64
    return prefix


def _poly_hashes(canon: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """`shingle_hash32` of canon[left:right] for every span: the top 32 bits of `_poly_hashes64`."""
    return (_poly_hashes64(canon, left, right) >> np.uint64(32)).astype(np.uint32)


def shingle_hash_sets(
    texts: Sequence[str] | pa.Array | pa.ChunkedArray, shingle: ShingleKind, ngram: int
) -> list[np.ndarray]:
    """Each document's set of shingles as sorted distinct 64-bit hashes (`_poly_hashes64`), computed for the
    batch at once: Jaccard of two documents' sets equals the exact one unless two distinct shingles collide."""
    data, offsets = utf8_buffers(texts)
    sets: list[np.ndarray] = []
    for first, last in _chunks(offsets, 1 << 20):
        chunk = _lower_cased(data[offsets[first] : offsets[last]], offsets[first : last + 1] - offsets[first])
        canon, *units = _normalise(*chunk, shingle)
        left, right, counts = _shingle_spans(*units, ngram)
        hashes = _poly_hashes64(canon, left, right)
        sets.extend(_distinct_sorted(piece) for piece in np.split(hashes, np.cumsum(counts)[:-1]))
    return sets


def _distinct_sorted(values: np.ndarray) -> np.ndarray:
    """The distinct values, sorted: `np.unique`'s result, by a plain sort (numpy 2.3+'s hash-based unique is
    several times slower on arrays of hashes)."""
    values = np.sort(values)
    if values.size < 2:
        return values
    keep = np.empty(values.size, dtype=bool)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def _poly_hashes64(canon: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """64-bit hash of canon[left:right] for every span: (P[r] - P[l]) * BASE^-l, plus length, finaliser."""
    prefix = _prefix_sums(canon)
    coarse_inverse = _power_table(pow(_BASE_INVERSE, 1 << _POWER_BITS, 1 << 64), (canon.size >> _POWER_BITS) + 1)
    poly = prefix[right]
    poly -= prefix[left]
    del prefix
    poly *= _FINE_INVERSE_POWERS[left & ((1 << _POWER_BITS) - 1)]
    poly *= coarse_inverse[left >> _POWER_BITS]
    poly += (right - left).astype(np.uint64) * np.uint64(_LENGTH_MULTIPLIER)
    return fmix64(poly)


def fmix64(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser (a bijection), in place on a uint64 array, which it returns."""
    shift, m1, m2 = _FMIX64
    values ^= values >> shift
    values *= m1
    values ^= values >> shift
    values *= m2
    values ^= values >> shift
    return values


def _sha1_hashes(canon: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """datasketch's `sha1_hash32` (first 4 digest bytes, little-endian) of every span."""
    data, sha1 = canon.tobytes(), hashlib.sha1
    digests = b"".join([sha1(data[lo:hi]).digest()[:4] for lo, hi in zip(left.tolist(), right.tolist())])
    return np.frombuffer(digests, dtype="<u4").astype(np.uint32)


def _min_permuted(hashes: np.ndarray, counts: np.ndarray, a: np.ndarray, b: np.ndarray, block: int) -> np.ndarray:
    """Per document (`counts` consecutive hashes each, all >= 1): min_k-wise of a_k * fmix32(h) + b_k mod 2^32."""
    mixed = _fmix32(hashes)
    docs, total = counts.size, mixed.size
    doc_starts = np.zeros(docs, dtype=np.int64)
    np.cumsum(counts[:-1], out=doc_starts[1:])
    result = np.full((docs, a.size), _U32_MAX, dtype=np.uint32)
    scratch = np.empty((a.size, min(block, total)), dtype=np.uint32)
    a_column, b_column = a[:, None], b[:, None]
    for start in range(0, total, block):
        stop = min(start + block, total)
        first = int(np.searchsorted(doc_starts, start, side="right")) - 1
        last = int(np.searchsorted(doc_starts, stop - 1, side="right"))
        segments = np.maximum(doc_starts[first:last], start) - start
        values = scratch[:, : stop - start]
        np.multiply(a_column, mixed[None, start:stop], out=values)
        values += b_column
        rows = result[first:last]
        np.minimum(rows, np.minimum.reduceat(values, segments, axis=1).T, out=rows)
    return result


def _fmix32(values: np.ndarray) -> np.ndarray:
    """datasketch's 32-bit MurmurHash3 finaliser, applied to every shingle hash before permuting."""
    s1, m1, s2, m2 = _FMIX32
    values = values ^ (values >> s1)
    values *= m1
    values ^= values >> s2
    values *= m2
    values ^= values >> s1
    return values
