"""MinHash signatures: shingles, the default hash, and value-for-value equality with datasketch 2.0.0."""

from __future__ import annotations

import random
import re
import string
import sys

import datasketch
import numpy as np
import pyarrow as pa
import pytest
from datasketch.hashfunc import sha1_hash32
from hypothesis import given, settings
from hypothesis import strategies as st

from stages.dedup import DedupConfig
from stages.minhash import (
    estimated_jaccard,
    exact_jaccard,
    permutations,
    shingle_hash32,
    shingles,
    signatures,
)

WHITESPACE = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]

TRICKY = [
    "",
    "   \n\t ",
    "one",
    "Two words",
    "exactly five words right here",
    "The quick brown fox jumps over the lazy dog. The QUICK brown fox!",
    "  leading and trailing whitespace \n\n",
    "ΟΔΟΣ ΣΟΦΟΣ Σίσυφος — final sigma and İstanbul, ǅ titlecase, ß",
    "tabs\tand\nnewlines\r\nand\x0bvertical\x0cfeed\x1cfile\x1dgroup\x1erecord\x1funit",
    "nbsp\u00a0nel\u0085ogham\u1680en\u2002em\u2003hair\u200athin\u2009line\u2028para\u2029"
    "narrow\u202fmath\u205fideo\u3000end",
    "zero\u200bwidth\u200cnot\u200dspace\ufeffbom stay inside words",
    "日本語のテキストです。句読点、そして空白 ありますね",
    "emoji 🎉🎉 party 🦀 crab 👩‍👩‍👧 family",
    "combining e\u0301 vs precomposed é, NFC is not applied here",
    "punctuation!!! everywhere??? (yes) [really] {truly} <no> a-b a_b a/b a\\b 'q' \"qq\" `bt`",
    "NUL\x00inside and DEL\x7f and C1\x80control",
    "UPPER lower MiXeD 123 4.56 7,890",
]


ALPHABET = list("aAbB ,.!é\u00a0\u3000日🎉\n\x00Σς")


def oracle_shingles(text: str, shingle: str, ngram: int) -> list[str]:
    """Written from the spec, independently of stages.minhash: word or SlimPajama-style char n-grams."""
    if shingle == "word":
        words = text.lower().split()
        grams = [" ".join(words[i : i + ngram]) for i in range(len(words) - ngram + 1)]
        return grams or [" ".join(words)]
    s = text.lower()
    s = s.translate(str.maketrans("", "", string.punctuation))
    s = re.sub(r"\s+", " ", s.strip())
    grams = ["".join(g) for g in zip(*[s[i:] for i in range(ngram)])]
    return grams or [s]


def datasketch_signature(text: str, shingle: str, ngram: int, num_perm: int, seed: int, hashfunc) -> np.ndarray:
    m = datasketch.MinHash(num_perm=num_perm, seed=seed, hashfunc=hashfunc)
    m.update_batch([s.encode("utf-8") for s in oracle_shingles(text, shingle, ngram)])
    return m.digest()


def random_docs(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    words = ["alpha", "Beta", "GAMMA", "δέλτα", "ΣΟΦΟΣ", "日本", "x,y", "a.b", "🎉", "naïve", "Ünïcödé", "q", ""]
    gaps = [" ", "  ", "\n", "\t", "\u00a0", "\u3000", ", ", " - "]
    docs = []
    for _ in range(count):
        k = rng.choice([0, 1, 2, 4, 5, 6, 12, 40, 200])
        docs.append("".join(rng.choice(words) + rng.choice(gaps) for _ in range(k)))
    return docs


@pytest.mark.parametrize(("num_perm", "seed"), [(2, 0), (10, 1), (128, 1), (256, 42)])
def test_permutations_are_datasketch_affine32(num_perm, seed):
    a, b = permutations(num_perm, seed)
    expected_a, expected_b = datasketch.MinHash(num_perm=num_perm, seed=seed).permutations
    assert a.dtype == b.dtype == np.uint32
    assert np.array_equal(a, expected_a) and np.array_equal(b, expected_b)


@pytest.mark.parametrize(
    ("shingle", "ngram", "num_perm", "seed"),
    [("word", 5, 128, 1), ("word", 1, 16, 7), ("word", 3, 64, 0), ("char", 13, 128, 1), ("char", 3, 32, 5)],
)
@pytest.mark.parametrize("hash_name", ["sha1", "poly64"])
def test_signatures_equal_datasketch(shingle, ngram, num_perm, seed, hash_name):
    texts = TRICKY + random_docs(20, seed)
    config = DedupConfig(shingle=shingle, ngram=ngram, num_perm=num_perm, seed=seed, hash=hash_name)
    hashfunc = sha1_hash32 if hash_name == "sha1" else shingle_hash32
    got = signatures(texts, config)
    assert got.shape == (len(texts), num_perm) and got.dtype == np.uint32
    for text, row in zip(texts, got):
        assert np.array_equal(row, datasketch_signature(text, shingle, ngram, num_perm, seed, hashfunc)), text


def test_sha1_signature_is_a_plain_datasketch_minhash():
    text = "a plain datasketch MinHash with its default hash function and seed one"
    m = datasketch.MinHash(num_perm=128)
    m.update_batch([s.encode() for s in oracle_shingles(text, "word", 5)])
    assert np.array_equal(signatures([text], DedupConfig(hash="sha1"))[0], m.digest())


@pytest.mark.parametrize("shingle", ["word", "char"])
def test_many_documents_in_one_batch_equal_one_at_a_time(shingle):
    texts = random_docs(120, 3) + TRICKY
    config = DedupConfig(shingle=shingle, ngram=5 if shingle == "word" else 13, num_perm=32)
    whole = signatures(texts, config)
    one_by_one = np.stack([signatures([t], config)[0] for t in texts])
    assert np.array_equal(whole, one_by_one)
    # Tiny chunks and permutation blocks cut documents and shingle runs at every possible place.
    assert np.array_equal(signatures(texts, config, chunk_bytes=1, permute_bytes=4 * 32), whole)
    assert np.array_equal(signatures(texts, config, chunk_bytes=97, permute_bytes=4 * 32 * 5), whole)


def test_leading_columns_equal_the_full_signatures_leading_values():
    texts = random_docs(30, 4) + TRICKY
    config = DedupConfig(num_perm=128, seed=3)
    full = signatures(texts, config)
    assert np.array_equal(signatures(texts, config, columns=110), full[:, :110])
    assert np.array_equal(signatures(texts, config, columns=1), full[:, :1])
    with pytest.raises(ValueError, match="columns"):
        signatures(texts, config, columns=129)


def test_arrow_inputs_equal_python_strings():
    texts = TRICKY + random_docs(50, 9)
    config = DedupConfig(num_perm=16)
    expected = signatures(texts, config)
    assert np.array_equal(signatures(pa.array(texts, type=pa.string()), config), expected)
    assert np.array_equal(signatures(pa.array(texts, type=pa.large_string()), config), expected)
    assert np.array_equal(signatures(pa.array(["skip"] * 3 + texts, type=pa.string())[3:], config), expected)
    chunked = pa.chunked_array([texts[:7], texts[7:]], type=pa.string())
    assert np.array_equal(signatures(chunked, config), expected)
    assert signatures([], config).shape == (0, 16)


def test_null_text_is_an_error():
    with pytest.raises(ValueError, match="null"):
        signatures(pa.array(["a", None]), DedupConfig())


@pytest.mark.parametrize("shingle", ["word", "char"])
def test_empty_and_blank_documents_share_the_empty_shingle_signature(shingle):
    config = DedupConfig(shingle=shingle, num_perm=64, hash="sha1")
    got = signatures(["", " ", "\n\t\u3000", "!!! ..." if shingle == "char" else ""], config)
    m = datasketch.MinHash(num_perm=64)
    m.update_batch([b""])
    for row in got:
        assert np.array_equal(row, m.digest())
    assert not np.array_equal(got[0], datasketch.MinHash(num_perm=64).digest())  # not the "no shingles" state


def test_short_documents_are_one_shingle_of_their_whole_text():
    config = DedupConfig(shingle="word", ngram=5, num_perm=64, hash="sha1")
    m = datasketch.MinHash(num_perm=64)
    m.update_batch([b"four short words here"])
    assert np.array_equal(signatures(["Four  short\nWORDS here "], config)[0], m.digest())


def test_every_unicode_whitespace_separates_words():
    config = DedupConfig(num_perm=32)
    reference = signatures(["w0 w1 w2 w3 w4 w5 w6"], config)[0]
    for space in WHITESPACE:
        text = space + space.join(f"w{i}" for i in range(7)) + space * 2
        assert np.array_equal(signatures([text], config)[0], reference), hex(ord(space))


def test_every_cased_letter_is_lowered_as_str_lower_does():
    """One document per code point str.lower changes (İ becomes two code points, Σ depends on context)."""
    cased = [chr(c) for c in range(128, sys.maxunicode + 1) if not 0xD800 <= c < 0xE000 and chr(c).lower() != chr(c)]
    texts = [f"Ab{c} {c}x ™ “{c}” ΣΑΣ" for c in cased]
    got = signatures(texts, DedupConfig(shingle="word", ngram=1, num_perm=4, hash="sha1"))
    for text, row in zip(texts, got):
        assert np.array_equal(row, datasketch_signature(text, "word", 1, 4, 1, sha1_hash32)), ascii(text)


def test_shingles_by_hand():
    assert shingles("The  quick\nBrown fox", "word", 2) == ["the quick", "quick brown", "brown fox"]
    assert shingles("A b", "word", 5) == ["a b"]
    assert shingles("", "word", 5) == [""]
    assert shingles("Hi, there!", "char", 3) == ["hi ", "i t", " th", "the", "her", "ere"]
    assert shingles("Hi!", "char", 13) == ["hi"]
    assert shingles("日本語", "char", 2) == ["日本", "本語"]


def test_char_shingles_are_slimpajamas_features():
    """Cerebras modelzoo slimpajama/dedup/to_hash.py `get_features`, with nltk.ngrams written out."""

    def get_features(s, width):
        s = s.lower()
        s = s.translate(str.maketrans("", "", string.punctuation))
        s = re.sub(r"\s+", " ", s.strip())
        return ["".join(g) for g in zip(*[s[i:] for i in range(width)])]

    for text in TRICKY + random_docs(30, 11):
        features = get_features(text, 13)
        if features:
            assert shingles(text, "char", 13) == features


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.text(alphabet=st.sampled_from(ALPHABET), max_size=40), max_size=6),
    st.sampled_from(["word", "char"]),
    st.integers(min_value=1, max_value=6),
)
def test_any_text_matches_datasketch_with_the_default_hash(texts, shingle, ngram):
    config = DedupConfig(shingle=shingle, ngram=ngram, num_perm=8, seed=3)
    got = signatures(texts, config, chunk_bytes=16, permute_bytes=4 * 8 * 3)
    for text, row in zip(texts, got):
        assert np.array_equal(row, datasketch_signature(text, shingle, ngram, 8, 3, shingle_hash32))


def test_default_hash_known_values_and_length_sensitivity():
    assert shingle_hash32(b"") == 0  # fmix64(0) = 0
    values = {shingle_hash32(b) for b in [b"a", b"a\x00", b"\x00a", b"\x00", b"\x00\x00", b"b", b"ab", b"ba"]}
    assert len(values) == 8
    assert all(0 <= v < 1 << 32 for v in values)


def test_default_hash_has_few_collisions_and_uniform_buckets():
    rng = random.Random(5)
    inputs = {f"{rng.getrandbits(40):x} word {i} {'x' * (i % 7)}".encode() for i in range(60_000)}
    hashes = np.array([shingle_hash32(b) for b in inputs], dtype=np.uint64)
    collisions = len(inputs) - np.unique(hashes).size
    assert collisions <= 5  # birthday expectation ~0.4 for 60k values in 2^32
    counts = np.bincount((hashes >> np.uint64(28)).astype(np.int64), minlength=16)
    expected = len(inputs) / 16
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 45  # 15 degrees of freedom: p < 1e-4


def test_default_hash_avalanche():
    rng = random.Random(8)
    flips = []
    for _ in range(2000):
        data = bytearray(rng.getrandbits(8) for _ in range(rng.randint(1, 40)))
        before = shingle_hash32(bytes(data))
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        flips.append(bin(before ^ shingle_hash32(bytes(data))).count("1"))
    assert 15.5 < float(np.mean(flips)) < 16.5


def test_jaccard_exact_by_hand_and_estimate_close():
    a = "one two three four five six"
    b = "one two three four five seven"
    # word 2-grams: a has 5, b has 5, 4 shared -> 4 / 6
    assert exact_jaccard(a, b, "word", 2) == pytest.approx(4 / 6)
    assert exact_jaccard(a, a.upper(), "word", 5) == 1.0
    rng = random.Random(1)
    words = [f"w{rng.randrange(10_000)}" for _ in range(400)]
    near = list(words)
    for i in rng.sample(range(400), 20):
        near[i] = "changed"
    x, y = " ".join(words), " ".join(near)
    sig = signatures([x, y], DedupConfig(num_perm=512))
    assert abs(estimated_jaccard(sig[0], sig[1]) - exact_jaccard(x, y, "word", 5)) < 0.08
    assert estimated_jaccard(sig[0], sig[0]) == 1.0
    with pytest.raises(ValueError):
        estimated_jaccard(sig[0], sig[1][:10])


def test_ascii_lowering_and_whitespace_follow_python_on_every_byte():
    """The arithmetic byte tests of the batch path agree with `str.lower` and `str.isspace` on every ASCII byte
    (bytes 128-255 are never whitespace here: `_whitespace` decodes non-ASCII code points itself)."""
    from stages.minhash import _ASCII_WHITESPACE_RUNS, _ascii_lowered, _in_runs

    every = np.arange(256, dtype=np.uint8)
    lowered = _ascii_lowered(every)
    assert [int(b) for b in lowered[:128]] == [ord(chr(b).lower()) for b in range(128)]
    assert np.array_equal(lowered[128:], every[128:])
    assert _in_runs(every, _ASCII_WHITESPACE_RUNS).tolist() == [b < 128 and chr(b).isspace() for b in range(256)]
