"""gigatoken engine: the same ids as tiktoken's `gpt2` (and as `tokenizers` for a tokenizer.json), on every input.

The oracle is tiktoken's own `gpt2` definition (`gpt2_oracle`); the engine runs the real gigatoken
release pinned in pyproject.toml. The parity tests of `test_tokenize.py` run on both engines too.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import tokenizers
from gpt2_oracle import ENCODER_JSON, VOCAB_BPE, tiktoken_gpt2
from hypothesis import given, settings
from hypothesis import strategies as st
from input_files_for_tests import sample_corpus_texts
from pydantic import ValidationError

import stages.gigatoken_engine as engine_module
from stages.gigatoken_engine import TESTED_VERSION, GigatokenTokenizer
from stages.tokenize import TokenizeConfig, load_tokenizer, tokenize_batch


@pytest.fixture(scope="module")
def oracle():
    return tiktoken_gpt2()


@pytest.fixture(scope="module")
def giga() -> GigatokenTokenizer:
    tokenizer = load_tokenizer(TokenizeConfig(engine="gigatoken"))
    assert isinstance(tokenizer, GigatokenTokenizer) and tokenizer.engine_name == "gigatoken"
    return tokenizer


def ids(array: np.ndarray) -> list[int]:
    return [int(i) for i in array]


def assert_oracle_ids(tokenizer, oracle, texts: list[str]) -> None:
    flat, sizes = tokenizer.encode_flat(texts)
    expected = [oracle.encode_ordinary(text) for text in texts]
    assert ids(sizes) == [len(e) for e in expected]
    mismatches = [
        text[:60] for text, got, e in zip(texts, np.split(flat, np.cumsum(sizes)[:-1]), expected) if ids(got) != e
    ]
    assert mismatches == []
    if all(text.isascii() or not any(0xD800 <= ord(c) <= 0xDFFF for c in text) for text in texts):
        # The same texts as Arrow arrays (sliced, and in two chunks), read in place from their UTF-8 buffer.
        arrow = pa.array(["skipped"] + texts, pa.string()).slice(1)
        for batch in (arrow, pa.chunked_array([arrow[: len(texts) // 2], arrow[len(texts) // 2 :]])):
            got_flat, got_sizes = tokenizer.encode_arrow(batch)
            assert np.array_equal(got_flat, flat) and np.array_equal(got_sizes, sizes)


def test_the_pinned_version_is_installed():
    assert metadata.version("gigatoken") == TESTED_VERSION


def test_sample_corpus_equals_tiktoken(giga, oracle, tmp_path):
    texts = sample_corpus_texts(tmp_path, docs=1500)
    assert len(texts) > 1400 and sum(map(len, texts)) > 4_000_000
    assert_oracle_ids(giga, oracle, texts)


def code_point_texts(code_points: list[int]) -> list[str]:
    """The code points in runs of 64 between letters, digits, spaces and punctuation, so each meets every
    class boundary of the pattern."""
    chars = [chr(c) for c in code_points if not 0xD800 <= c <= 0xDFFF]
    texts = []
    for start in range(0, len(chars), 64):
        block = chars[start : start + 64]
        texts.append("x" + "".join(block) + " 7" + " ".join(block) + "'s" + "!".join(block))
    return texts


def test_every_byte_value(giga, oracle):
    texts = [chr(b) for b in range(256)] + [f"a{chr(b)}b {chr(b)}{chr(b)} 1{chr(b)}" for b in range(256)]
    texts += [bytes(range(256)).decode("latin-1"), bytes(range(256)).decode("latin-1")[::-1]]
    assert_oracle_ids(giga, oracle, texts)


def test_the_basic_plane_and_the_disputed_code_points(giga, oracle):
    """Every code point of the BMP, and the disputed ranges with their neighbours: gigatoken alone splits
    the disputed ones differently (so the list is not stale), the engine gives tiktoken's ids for all."""
    disputed = [c for low, high in engine_module.DISPUTED_RANGES for c in range(low - 3, high + 4)]
    assert_oracle_ids(giga, oracle, code_point_texts(list(range(0x10000)) + disputed))
    for low, high in engine_module.DISPUTED_RANGES:
        for c in (low, high):
            assert ids(giga._engine.encode(f"{chr(c)}'s")) != oracle.encode_ordinary(f"{chr(c)}'s")


@pytest.mark.slow
def test_every_code_point(giga, oracle):
    """All 1,112,064 Unicode scalar values (~15 s): any split gigatoken disputes must be in DISPUTED_RANGES."""
    assert_oracle_ids(giga, oracle, code_point_texts(list(range(0x110000))))


TRICKY = st.sampled_from(
    [
        " ",
        "  ",
        "\n",
        "\r\n",
        "\t",
        "\u00a0",
        "\u3000",
        "\u2028",
        "\x1c",
        "a",
        "Z",
        "é",
        "日",
        "😀",
        "1",
        "٣",
        "!",
        ".",
        "'",
        "'s",
        "'ll",
        "'VE",
        "’",
        "<|endoftext|>",
        "<|endoftext",
        "\u0301",
        "\x00",
        "word",
        " word",
        "12",
        "--",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(TRICKY, max_size=50).map("".join))
def test_random_texts_over_pattern_boundaries_equal_tiktoken(giga, oracle, text):
    assert_oracle_ids(giga, oracle, [text, text + "x", " " + text])


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80))
def test_random_unicode_equals_tiktoken(giga, oracle, text):
    assert_oracle_ids(giga, oracle, [text])


def test_long_whitespace_runs(giga, oracle):
    texts = [
        " " * 200_000,
        "a" + " \n" * 300_000 + "b",
        "x" + "\t" * 150_000 + "c " + " " * 120_000,
        "word " * 40_000 + " " * 5_000 + "end",
        "\n" * 30_000 + "x",
        "\u3000" * 50_000 + "y" + "\u00a0" * 70_000,
    ]
    assert_oracle_ids(giga, oracle, texts)


def test_whitespace_runs_too_long_for_tiktoken_equal_the_reference(giga):
    """Runs of a million characters defeat tiktoken's regex; the reference splits them (test_tokenize proves
    those ids), and gigatoken must give the same."""
    reference = load_tokenizer(TokenizeConfig(engine="tiktoken"))
    texts = [" " * 1_000_000 + "x", "y" + "\n" * 1_000_000 + "z"]
    assert [ids(a) for a in giga.encode_batch(texts)] == [ids(a) for a in reference.encode_batch(texts)]


def test_endoftext_inside_text_is_plain_text(giga, oracle):
    texts = ["<|endoftext|>", "before<|endoftext|>after <|endoftext|><|endoftext|>"]
    assert_oracle_ids(giga, oracle, texts)
    assert 50256 not in ids(giga.encode_flat(texts)[0])


def test_refused_documents_fall_back_one_by_one(giga, oracle):
    """gigatoken refuses a str with a lone surrogate (TypeError); that document alone goes to the reference,
    which repairs it as tiktoken's encode_ordinary does, and its neighbours keep gigatoken's ids."""
    import gigatoken  # noqa: F401  (the engine is loaded: the refusal below is gigatoken's own)

    with pytest.raises(TypeError):
        giga._engine.encode("a\ud800b")
    texts = ["hello world", "a\ud800b", "\udfff", "ok \ud83d\ude00 pair as surrogates", "", "last one"]
    assert_oracle_ids(giga, oracle, texts)
    flat, sizes = tokenize_batch(texts, giga, append_eod=True)
    expected = [oracle.encode_ordinary(t) + [50256] for t in texts]
    assert ids(flat) == [i for e in expected for i in e] and ids(sizes) == [len(e) for e in expected]


def test_engine_is_rebuilt_after_its_character_budget(oracle, monkeypatch, tmp_path):
    monkeypatch.setattr(engine_module, "REBUILD_CHARS", 100_000)
    tokenizer = load_tokenizer(TokenizeConfig(engine="gigatoken"))
    texts = sample_corpus_texts(tmp_path, docs=120)
    tokenizer.encode_flat(texts[:1])
    engines = [tokenizer._engine]
    for start in range(0, len(texts), 20):
        assert_oracle_ids(tokenizer, oracle, texts[start : start + 20])
        if tokenizer._engine is not engines[-1]:
            engines.append(tokenizer._engine)
    assert sum(map(len, texts)) > 400_000 and len(engines) >= 3


def test_auto_uses_gigatoken_and_falls_back_when_untested(monkeypatch, oracle):
    assert load_tokenizer(TokenizeConfig()).engine_name == "gigatoken"
    monkeypatch.setattr(engine_module, "TESTED_VERSION", "0.0.1")
    auto = load_tokenizer(TokenizeConfig())
    assert auto.engine_name == "tiktoken"
    assert_oracle_ids(auto, oracle, ["still the same ids"])
    with pytest.raises(ValueError, match=r"^tokenize\.engine: gigatoken cannot run gpt2: gigatoken \S+ is installed"):
        load_tokenizer(TokenizeConfig(engine="gigatoken")).encode_flat(["x"])


def test_engine_must_suit_the_tokenizer(tmp_path):
    with pytest.raises(ValueError, match=r"tokenize\.engine: 'tokenizers' cannot run 'gpt2'"):
        load_tokenizer(TokenizeConfig(engine="tokenizers"))
    with pytest.raises(ValidationError, match="engine"):
        TokenizeConfig(engine="fastest")
    assert "engine" not in TokenizeConfig(engine="tiktoken").ids_settings()
    assert TokenizeConfig(engine="tiktoken").ids_settings() == TokenizeConfig().ids_settings()


def gpt2_tokenizer_json(path: Path, normalizer=None) -> Path:
    tokenizer = tokenizers.Tokenizer(tokenizers.models.BPE.from_file(str(ENCODER_JSON), str(VOCAB_BPE)))
    tokenizer.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = tokenizers.decoders.ByteLevel()
    tokenizer.add_special_tokens(["<|padding|>"])
    if normalizer is not None:
        tokenizer.normalizer = normalizer
    tokenizer.save(str(path))
    return path


def test_tokenizer_json_on_gigatoken_equals_tokenizers(tmp_path):
    path = gpt2_tokenizer_json(tmp_path / "tokenizer.json")
    reference = tokenizers.Tokenizer.from_file(str(path))
    tokenizer = load_tokenizer(TokenizeConfig(tokenizer=str(path), engine="gigatoken"))
    assert tokenizer.engine_name == "gigatoken" and tokenizer.vocab_size == 50258
    texts = sample_corpus_texts(tmp_path / "corpus", docs=300) + ["a<|padding|>b <|endoftext|>"]
    got = tokenizer.encode_batch(texts)
    expected = [reference.encode(t, add_special_tokens=False).ids for t in texts]
    assert [ids(a) for a in got] == expected
    assert 50257 in expected[-1]


def test_tokenizer_json_gigatoken_cannot_read_stays_on_tokenizers(tmp_path):
    path = gpt2_tokenizer_json(tmp_path / "tokenizer.json", tokenizers.normalizers.Lowercase())
    auto = load_tokenizer(TokenizeConfig(tokenizer=str(path)))
    assert auto.engine_name == "tokenizers"
    reference = tokenizers.Tokenizer.from_file(str(path))
    assert ids(auto.encode_batch(["Hello World"])[0]) == reference.encode("Hello World", add_special_tokens=False).ids
    with pytest.raises(
        ValueError, match=r"^tokenize\.engine: gigatoken cannot run .*tokenizer\.json: Unsupported normalizer"
    ):
        load_tokenizer(TokenizeConfig(tokenizer=str(path), engine="gigatoken")).encode_flat(["x"])


def test_probe_mismatch_keeps_auto_on_the_reference(monkeypatch, oracle):
    """A probe text gigatoken splits differently (a disputed code point before "'s"): auto keeps tiktoken,
    engine gigatoken refuses to run, naming the text."""
    disputed = f"{chr(engine_module.DISPUTED_RANGES[0][0])}'s"
    monkeypatch.setattr(engine_module, "probe_texts", lambda specials: ["fine", disputed])
    auto = load_tokenizer(TokenizeConfig())
    assert auto.engine_name == "tiktoken"
    assert_oracle_ids(auto, oracle, ["fine", disputed])
    with pytest.raises(ValueError, match="differ from the reference's on"):
        load_tokenizer(TokenizeConfig(engine="gigatoken")).encode_flat(["x"])
