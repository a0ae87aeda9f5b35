"""Normalize: the fast path equals `ftfy.fix_text` itself, for edge cases, generated text and every config."""

from __future__ import annotations

import functools
import re
import unicodedata

import ftfy
import pyarrow as pa
import pytest
from ftfy import fixes
from ftfy.badness import is_bad
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from stages import ftfy_fast_path
from stages.batch import DOC_SCHEMA
from stages.normalize import NormalizeConfig, fix_text, normalize_batch

BOOLEAN_FIELDS = [
    name
    for name, default in ftfy.TextFixerConfig._field_defaults.items()
    if isinstance(default, bool) and name != "explain"
]


def _mojibake(text: str, encoding: str) -> str:
    return text.encode("utf-8").decode(encoding)


CLEAN = (
    "Caf\u00e9 \u201cquoted\u201d \u2014 na\u00efve fa\u00e7ade, it\u2019s 25\u00b0C \u00bd \u2122 "
    "\u00a0\u00e0 la cr\u00e8me \U0001F600"
)

EDGE_CASES = [
    "",
    "\n",
    "plain ascii text\nwith lines\n",
    CLEAN,
    _mojibake(CLEAN, "sloppy-windows-1252"),
    _mojibake(CLEAN, "latin-1"),
    _mojibake(_mojibake(CLEAN, "sloppy-windows-1252"), "sloppy-windows-1252"),
    "voil\u00c3 le travail, \u00c3\u00a0 la mode, \u00c3 quelques",
    "\u00e2\u0080\u009c like this \u00e2\u0080\ufffd",
    "fix &amp; &lt;tag&gt; &eacute; &EACUTE; &#x2019; &#8217; &hellip; &nosuch; &amp",
    "before &amp;\nnow a < sign\nafter &amp; &lt;\n",
    "&amp; first line\nsecond &eacute;<\nthird &amp;",
    "a < b &amp; c",
    "windows\r\nline\r\nbreaks\r\n",
    "old mac\rline\rbreaks",
    "mixed\r\n\r\r\n\n\u2028sep\u2029para\x85nel",
    "\x1b[36;44mcolour\x1b[0m and a lone \x1b escape \x1b[",
    "C0 \x00\x01\x07\x08\x0b\x0e\x1f\x7f kept \t\f",
    "C1 \x80\x85\x8d\x91\x92\x93\x94\x9d\x9f controls",
    "deprecated \u206a\u206f bom \ufeff annotation \ufff9\ufffb object \ufffc",
    "pair \ud83d\udca9 lone high \ud83d lone low \udca9 reversed \udca9\ud83d",
    "\ud800",
    "ligatures \ufb01\ufb02\ufb03\ufb04\ufb05\ufb06 \u0132\u0133 \u0149 \u01c4\u01c5\u01c6 \u01f1",
    "full width \uff2c\uff2f\uff35\uff24\u3000\uff2e\uff2f\uff29\uff33\uff25\uff33 "
    "half \uff80\uff70\uff9d \uffe0\uffe1",
    "quotes \u201c\u201d\u2018\u2019\u201a\u201b\u201e\u201f\u02bc \u00ab\u00bb",
    "combining e\u0301 a\u0308 \u1100\u1161\u11a8 \u0b47\u0b3e \u00c5\u212b \u2126 \ufb01 \u00b2 \u2460",
    "nfd only: \u0041\u030a \u0063\u0327",
    "\u00c2\u00a0nbsp mojibake\u00c2\u00a0here",
    "Greek mojibake \u00ce\u00b1\u00ce\u00b2\u00ce\u00b3 Cyrillic \u00d0\u00bf\u00d1\u0080\u00d0\u00b8",
    "\u0432\u0402\u0459 \u0413\u045e\u0412\u0402\u0412\u0459a",
    "\u00e2\u20ac\u2122 \u00e2\u20ac\u0153 \u00e2\u20ac\u009d",
    "x" * 40 + "\u00c3\u00a9" + "y" * 40 + "\n" + "\u201c" * 30,
]

CONFIGS = (
    [NormalizeConfig()]
    + [NormalizeConfig(**{name: False}) for name in BOOLEAN_FIELDS]
    + [NormalizeConfig(unescape_html=value) for value in (True, False)]
    + [NormalizeConfig(normalization=form) for form in ("NFKC", "NFD", "NFKD", None)]
    + [NormalizeConfig(max_decode_length=n) for n in (1, 2, 5, 13)]
    + [NormalizeConfig(normalization="NFKC", uncurl_quotes=False, max_decode_length=7)]
)


def _expected(text: str, config: NormalizeConfig) -> str:
    return ftfy.fix_text(text, config.fixer_config())


def _label(config: NormalizeConfig) -> str:
    changed = config.model_dump(exclude_defaults=True)
    return ",".join(f"{key}={value}" for key, value in changed.items()) or "defaults"


@pytest.mark.parametrize("config", CONFIGS, ids=_label)
def test_edge_cases_equal_ftfy(config):
    for text in EDGE_CASES:
        assert fix_text(text, config) == _expected(text, config), repr(text)


def test_edge_cases_are_not_all_unchanged():
    """The oracle comparison means something only if ftfy changes most of these cases."""
    changed = sum(_expected(text, NormalizeConfig()) != text for text in EDGE_CASES)
    assert changed >= len(EDGE_CASES) - 6


@pytest.mark.parametrize("config", CONFIGS[:1] + CONFIGS[-5:], ids=_label)
def test_long_lines_and_cut_segments_equal_ftfy(config):
    small = config.model_copy(update={"max_decode_length": 97})
    body = ("word " * 60 + "\u00c3\u00a9 &amp; \u201cq\u201d ") * 8
    texts = [
        body,
        body + "\n" + body.replace("&amp;", "&lt;") + "\n<\n" + body,
        "a" * 96 + "\u00c3\u00a9" + "b" * 500,
        "a" * 95 + "\r\n" + "c" * 300 + "\x1b[1m" + "d" * 96 + "\u201c",
        "<" + body,
    ]
    for text in texts:
        assert len(text) > small.max_decode_length
        assert fix_text(text, small) == _expected(text, small)
        assert fix_text(text, config) == _expected(text, config)


@pytest.mark.parametrize("max_decode_length", [1_000_000, 7_000])
def test_a_very_long_line_equals_ftfy(max_decode_length):
    config = NormalizeConfig(max_decode_length=max_decode_length)
    line = "x" * 20_000
    text = "\u201cq\u201d " + line + "\u00c3\u00a9 &amp; \ufb01" + line + " \u2019s\x1b[1m" + line[:6_999] + "\n"
    assert fix_text(text, config) == _expected(text, config)
    assert fix_text(line + text, config) == _expected(line + text, config)


FRAGMENTS = [
    "\u201c", "\u201d", "\u2018", "\u2019", "\u02bc", "\u00c3", "\u00c3\u00a9", "\u00c3\u00a0", "\u00c3 ",
    "\u00c2", "\u00c2\u00a0", "\u00e2\u20ac", "\u00e2\u20ac\u2122", "\u00e2\u20ac\u0153", "\u00e2\u20ac\x9d",
    "\x1b", "\x1b[31m", "\x1b[0;1m", "&", "&amp;", "&lt;", "&EACUTE;", "&#x41;", "&#128169;", "&#", "<", ">",
    "\r", "\r\n", "\n", "\n\n", "\x85", "\u2028", "\x80", "\x81", "\x8d", "\x9d", "\x9f", "\x00", "\x0b",
    "\x7f", "\ufeff", "\u00a0", "\u0301", "\u0308", "\u0327", "e\u0301", "\u1100\u1161", "\u11a8", "\ufb01",
    "\u0149", "\uff21", "\u3000", "\uff76", "\ud83d\ude00", "\ud83d", "\ude00", "\u00d0\u00bf", "\u00ce\u00b1",
    "\u00b0", "\u00bd", "\u00b2", "\u2122", "\u00ae", "\u00a9", "\u20ac", "\u00e0", "\u00e9", "\u00ff",
    "\u00d8\u00b3", "\u0432\u0402", "\u00ef\u00bb\u00bf", "\u00f0\u0178\u02dc\u20ac", "\ufffd", "?", " ",
]

texts = st.lists(
    st.one_of(
        st.sampled_from(FRAGMENTS),
        st.text(alphabet="abcdefxyz ABC.,!?'\"", max_size=6),
        st.characters(max_codepoint=0x3000),
        st.characters(),
    ),
    max_size=40,
).map("".join)

configs = st.builds(
    NormalizeConfig,
    **{name: st.booleans() for name in BOOLEAN_FIELDS},
    unescape_html=st.sampled_from(["auto", True, False]),
    normalization=st.sampled_from(["NFC", "NFKC", "NFD", "NFKD", None]),
    max_decode_length=st.sampled_from([1, 3, 8, 1_000_000]),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts)
def test_generated_text_equals_ftfy_with_defaults(text):
    config = NormalizeConfig()
    assert fix_text(text, config) == _expected(text, config)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts, config=configs)
def test_generated_text_equals_ftfy_with_any_config(text, config):
    assert fix_text(text, config) == _expected(text, config)


def _lines(text: str) -> list[str]:
    return re.findall("[^\n]*\n|[^\n]+", text)


PLANS = [
    ftfy_fast_path.fix_plan(NormalizeConfig().fixer_config()),
    ftfy_fast_path.fix_plan(NormalizeConfig(unescape_html=False, uncurl_quotes=False).fixer_config()),
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts)
def test_shortcuts_agree_with_ftfy_functions(text):
    """Each shortcut of the fast path against the ftfy function or definition it stands for."""
    assert ftfy_fast_path.looks_like_mojibake(text) == is_bad(text)
    present = ftfy_fast_path.BADNESS_TRIGGERS.intersection(text)
    assert ftfy_fast_path.some_line_looks_like_mojibake(text, present) == any(map(is_bad, _lines(text)))
    assert ftfy_fast_path.fix_encoding(text) == ftfy.fix_encoding(text)
    for plan in PLANS:
        assert ftfy_fast_path.trigger_chars(text, plan) == plan.all_triggers.intersection(text)
    for name in ftfy_fast_path.PER_CHARACTER_FIXES:
        fixer = ftfy.FIXERS[name]
        assert fixer(text) == "".join(map(fixer, text)), name


@functools.cache
def _all_code_points() -> str:
    return "".join(map(chr, range(0x110000)))


def _all_code_points_but(excluded: frozenset[str], size: int = 1 << 16):
    """Every code point outside `excluded`, in chunks."""
    chars = ftfy_fast_path.char_class(excluded).sub("", _all_code_points())
    return [chars[start : start + size] for start in range(0, len(chars), size)]


def test_line_break_triggers_are_exactly_what_fix_line_breaks_changes():
    for chunk in _all_code_points_but(ftfy_fast_path.LINE_BREAK_CHARS):
        assert fixes.fix_line_breaks(chunk) == chunk
    for char in ftfy_fast_path.LINE_BREAK_CHARS:
        assert fixes.fix_line_breaks(char) != char


@pytest.mark.parametrize("name", ["fix_c1_controls", "uncurl_quotes", "fix_surrogates"])
def test_regex_class_fixes_change_nothing_outside_their_triggers(name):
    """Trigger sets read off a regex's parse tree (translate tables need no check: their keys are the triggers)."""
    fixer = ftfy.FIXERS[name]
    for chunk in _all_code_points_but(ftfy_fast_path.FIX_TRIGGERS[name]):
        assert fixer(chunk) == chunk
    unassigned_in_windows_1252 = {"\x81", "\x8d", "\x8f", "\x90", "\x9d"}  # fix_c1_controls keeps them
    assert all(fixer(char) != char for char in ftfy_fast_path.FIX_TRIGGERS[name] - unassigned_in_windows_1252)


def test_trigger_sets_hold_the_characters_ftfy_documents():
    triggers = ftfy_fast_path.FIX_TRIGGERS
    assert {"\u201c", "\u201d", "\u2018", "\u2019", "\u02bc"} <= triggers["uncurl_quotes"]
    assert "\ufb01" in triggers["fix_latin_ligatures"] and "\uff21" in triggers["fix_character_width"]
    assert "\x1b" in triggers["remove_terminal_escapes"] and "\x80" in triggers["fix_c1_controls"]
    assert {"\x00", "\x7f", "\ufeff"} <= triggers["remove_control_chars"]
    assert not {"\t", "\n", "\x0c", "\r"} & triggers["remove_control_chars"]
    assert ftfy_fast_path.ENTITY_TRIGGERS == {"&"}
    assert "\x80" in ftfy_fast_path.BADNESS_TRIGGERS and "a" not in ftfy_fast_path.BADNESS_TRIGGERS


def test_required_chars_of_small_patterns():
    required = ftfy_fast_path.required_chars
    assert required(re.compile("x[\u00e9\u00e8]y")) == {"\u00e9", "\u00e8"}
    assert required(re.compile("\u00e9|\u00e8z")) == {"\u00e9", "\u00e8"}
    assert required(re.compile("a?(?:\u00ff)+")) == {"\u00ff"}
    with pytest.raises(ValueError):
        required(re.compile("a?b*"))
    with pytest.raises(ValueError):
        ftfy_fast_path.window_searches(re.compile("\u00e9(?=x)"))


@settings(max_examples=300, deadline=None)
@given(
    text=texts,
    form=st.sampled_from(["NFC", "NFKC", "NFD", "NFKD"]),
    max_length=st.sampled_from([1, 2, 3, 8, 1_000_000]),
)
def test_unnormalized_segments_are_the_segments_that_are_not_normalized(text, form, max_length):
    expected, position = [], 0
    while position < len(text):
        start, end = ftfy_fast_path.segment_bounds(text, position, max_length)
        if not unicodedata.is_normalized(form, text[start:end]):
            expected.append(start)
        position = end
    assert ftfy_fast_path.unnormalized_segments(text, form, max_length) == expected


@settings(max_examples=200, deadline=None)
@given(text=texts, form=st.sampled_from(["NFC", "NFKC", "NFD", "NFKD"]))
def test_pieces_of_normalized_text_are_normalized(text, form):
    """What the fast path assumes of the segments of a normalized document."""
    text = unicodedata.normalize(form, text)
    for cut in range(len(text) + 1):
        assert unicodedata.is_normalized(form, text[:cut]) and unicodedata.is_normalized(form, text[cut:])


def test_unnormalized_segments_of_lines():
    text = "plain\ne\u0301\nalso plain\n\u212b and \u00e9\n" + "e" * 8 + "\u0301"
    assert ftfy_fast_path.unnormalized_segments(text, "NFC", 1_000) == [6, 20, 28]
    assert ftfy_fast_path.unnormalized_segments(text, "NFD", 1_000) == [20]
    # Segments of 4 characters: the last line's mark stands alone in its last segment, which is normalized.
    assert ftfy_fast_path.unnormalized_segments(text, "NFC", 4) == [6, 20]


def test_segment_bounds_follow_fix_text_cutting():
    text = "ab\n" + "c" * 10 + "\n\nxyz"
    # fix_text's segments with max_decode_length 4: "ab\n", "cccc", "cccc", "cc\n", "\n", "xyz"
    cuts = [(0, 3), (3, 7), (7, 11), (11, 14), (14, 15), (15, 18)]
    for start, end in cuts:
        for position in range(start, end):
            assert ftfy_fast_path.segment_bounds(text, position, 4) == (start, end)


def test_disabled_passes_text_through():
    config = NormalizeConfig(enabled=False)
    broken = _mojibake(CLEAN, "sloppy-windows-1252") + "\r\n&amp;"
    assert fix_text(broken, config) == broken
    table = pa.Table.from_pylist([_doc(0, broken)], schema=DOC_SCHEMA)
    assert normalize_batch(table, config).equals(table)


def _doc(index: int, text: str) -> dict:
    return {"doc_id": 100 + index, "source": "f.jsonl", "line": index + 1, "pile_set_name": f"s{index % 3}",
            "text": text}


def test_batch_replaces_text_and_keeps_rows_and_columns():
    docs = [text for text in EDGE_CASES if not re.search("[\ud800-\udfff]", text)]
    table = pa.Table.from_pylist([_doc(i, text) for i, text in enumerate(docs)], schema=DOC_SCHEMA)
    table = table.append_column("extra", pa.array([float(i) for i in range(len(docs))]))
    out = normalize_batch(table, NormalizeConfig())
    assert out.schema == table.schema
    assert out.column("text").to_pylist() == [_expected(text, NormalizeConfig()) for text in docs]
    for name in ("doc_id", "source", "line", "pile_set_name", "extra"):
        assert out.column(name).equals(table.column(name))
    assert out.column("text").to_pylist() != docs


def test_config_has_every_ftfy_field_with_its_default():
    defaults = NormalizeConfig()
    for name, default in ftfy.TextFixerConfig._field_defaults.items():
        if name != "explain":
            assert getattr(defaults, name) == default, name
    assert defaults.normalization == "NFC"
    fixer = NormalizeConfig(uncurl_quotes=False, normalization="NFKC", max_decode_length=9).fixer_config()
    assert fixer.explain is False
    assert (fixer.uncurl_quotes, fixer.normalization, fixer.max_decode_length) == (False, "NFKC", 9)


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"uncurl_quote": False}, "uncurl_quote"),
        ({"explain": True}, "explain"),
        ({"normalization": "NFX"}, "normalization"),
        ({"unescape_html": "sometimes"}, "unescape_html"),
        ({"max_decode_length": 0}, "max_decode_length"),
    ],
)
def test_bad_config_names_the_key(section, key):
    with pytest.raises(ValidationError) as error:
        NormalizeConfig.model_validate(section)
    assert error.value.errors()[0]["loc"][0] == key
    from pipeline.errors import UserError
    from pipeline.manifest import parse_manifest

    with pytest.raises(UserError, match=f"normalize\\.{key}"):
        parse_manifest({"inputs": ["x.jsonl.zst"], "output": "out", "normalize": section})


def test_config_accepts_each_documented_value():
    for form in ("NFC", "NFKC", "NFD", "NFKD", None):
        assert NormalizeConfig(normalization=form).fixer_config().normalization == form
    for value in ("auto", True, False):
        assert NormalizeConfig(unescape_html=value).fixer_config().unescape_html == value


def test_sample_corpus_documents_equal_ftfy(tmp_path):
    sample_corpus = pytest.importorskip("pipeline.sample.corpus")
    import orjson
    import zstandard

    sample_corpus.write_sample_corpus(tmp_path, docs=300, seed=7)
    texts = [
        orjson.loads(line)["text"]
        for path in sorted(tmp_path.rglob("*.jsonl.zst"))
        for line in zstandard.ZstdDecompressor().decompress(path.read_bytes()).splitlines()
    ]
    assert len(texts) >= 300
    config = NormalizeConfig()
    expected = [_expected(text, config) for text in texts]
    assert [fix_text(text, config) for text in texts] == expected
    assert sum(a != b for a, b in zip(texts, expected)) >= 10  # the sample does carry repairs
