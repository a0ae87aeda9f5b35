"""Decontamination stage against lm-evaluation-harness's own Janitor (the oracle): pieces, edge cases, index, config.

Every expectation comes from `lm_eval.decontamination.janitor.Janitor.clean_python` or from Python's
`str.isspace`, never from the code under test.
"""

from __future__ import annotations

import string
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from input_files_for_tests import doc_line, write_lines
from janitor_oracle import corpus_texts, janitor_finds_match, oracle, passages

from pipeline.errors import UserError
from pipeline.manifest import parse_manifest
from pipeline.phases.eval_sets import load_eval_sets
from pipeline.sample.corpus import write_sample_corpus
from stages.batch import DOC_SCHEMA
from stages.decontaminate import (
    PIECE_SEPARATOR,
    DecontaminateConfig,
    decontaminate_batch,
    decontaminate_texts,
    janitor_pieces,
)
from stages.eval_ngrams import build_eval_ngrams, find_matches, normalised_words

SMALL = {"ngram_n": 3, "window_to_remove": 6, "too_dirty_cutoff": 2, "minimum_slice_length": 5}
"""Janitor parameters small enough that short generated texts reach every branch of `_split_chunks`."""


def first_pass_pieces(texts: list[str], eval_texts: list[str], config: DecontaminateConfig) -> dict[int, list[str]]:
    """Our Janitor pieces of each text with a match (one round, before joining)."""
    index = build_eval_ngrams([(0, t) for t in eval_texts], ["eval"], config.ngram_n, config.delete_chars)
    matches = find_matches(texts, index)
    return {
        row: janitor_pieces(texts[row], matches.start[span].tolist(), matches.end[span].tolist(), config)
        for row, span in matches.by_doc().items()
    }


def test_words_split_on_exactly_pythons_whitespace():
    chars = [chr(c) for c in range(1, sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    words = normalised_words(pa.array([f"a{c}b" for c in chars], pa.large_string()), "")
    counts = np.diff(words.firsts)
    splits = {c for c, n in zip(chars, counts) if n == 2}
    assert splits == {c for c in chars if c.isspace()}
    assert set(counts.tolist()) == {1, 2}


def test_words_are_normalised_like_the_janitor():
    janitor = oracle([])
    texts = ["Hello, World!  ÀB-c  …x\u00a0Y's", "", "   ", "A.B\u3000--- z"]
    words = normalised_words(pa.array(texts), string.punctuation)
    expected = [janitor.normalize_string(word) for text in texts for word in text.split()]
    assert words.normalised.to_pylist() == expected
    assert np.diff(words.firsts).tolist() == [len(t.split()) for t in texts]


WORDS = st.sampled_from(["the", "The", "cat", "CAT!", "sat", "on", "mat.", "--", "a-b", "ab", "Über", "x"])
SPACES = st.sampled_from([" ", "  ", "\n", "\t", "\n\n", "\u00a0", " ,, "])


@st.composite
def texts_and_evals(draw):
    words = draw(st.lists(WORDS, min_size=0, max_size=60))
    gaps = draw(st.lists(SPACES, min_size=len(words) + 1, max_size=len(words) + 1))
    text = gaps[0] + "".join(w + g for w, g in zip(words, gaps[1:]))
    evals = []
    for _ in range(draw(st.integers(0, 3))):
        if words and draw(st.booleans()):
            start = draw(st.integers(0, len(words) - 1))
            evals.append(" ".join(words[start : start + draw(st.integers(1, 6))]))
        else:
            evals.append(" ".join(draw(st.lists(WORDS, min_size=1, max_size=6))))
    return text, evals


@settings(max_examples=300, deadline=None)
@given(texts_and_evals())
def test_pieces_equal_the_janitors_on_generated_texts(case):
    text, evals = case
    config = DecontaminateConfig(sets={"eval": ["unused"]}, **SMALL)
    janitor = oracle(evals, **SMALL)
    ours = first_pass_pieces([text], evals, config)
    if 0 in ours:
        assert ours[0] == janitor.clean_python(text)
    else:
        assert not janitor_finds_match(janitor, text)
        # Without a match the Janitor keeps the text only from minimum_slice_length characters on; we keep it as is.
        assert janitor.clean_python(text) == ([text] if len(text) > SMALL["minimum_slice_length"] - 1 else [])


@settings(max_examples=150, deadline=None)
@given(texts_and_evals())
def test_no_kept_text_has_a_match_left(case):
    text, evals = case
    config = DecontaminateConfig(sets={"eval": ["unused"]}, **SMALL)
    index = build_eval_ngrams([(0, t) for t in evals], ["eval"], config.ngram_n)
    janitor = oracle(evals, **SMALL)
    for outcome in decontaminate_texts([text], index, config):
        if outcome.text is not None:
            assert not janitor_finds_match(janitor, outcome.text)


def test_edge_cases_at_the_start_the_end_and_past_the_cutoff():
    filler = [f"w{i}" for i in range(400)]
    eval_text = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu"
    config = DecontaminateConfig(sets={"eval": ["unused"]})
    janitor = oracle([eval_text])
    cases = {
        "start": eval_text + " " + " ".join(filler),
        "end": " ".join(filler) + " " + eval_text,
        "middle": " ".join(filler[:200]) + " " + eval_text.upper() + "!" + " " + " ".join(filler[200:]),
        "exactly at the cutoff": " ".join([eval_text] * 10 + filler),
        "past the cutoff": " ".join([eval_text] * 11 + filler),
        "short": eval_text,
    }
    texts = list(cases.values())
    ours = first_pass_pieces(texts, [eval_text], config)
    assert sorted(ours) == list(range(len(texts)))
    for row, text in enumerate(texts):
        assert ours[row] == janitor.clean_python(text), list(cases)[row]
    assert ours[4] == [] and ours[3] != []


def test_sample_corpus_matches_the_janitor_document_by_document(tmp_path):
    write_sample_corpus(tmp_path, docs=800, seed=3)
    texts = corpus_texts(tmp_path)
    evals = passages(texts, 60, 30, seed=1) + passages(texts, 20, 8, seed=2)
    config = DecontaminateConfig(sets={"eval": ["unused"]})
    janitor = oracle(evals)
    ours = first_pass_pieces(texts, evals, config)
    assert len(ours) >= 60
    index = build_eval_ngrams([(0, t) for t in evals], ["eval"])
    outcomes = {o.row: o for o in decontaminate_texts(texts, index, config)}
    assert set(outcomes) == set(ours)
    for row, text in enumerate(texts):
        expected = janitor.clean_python(text)
        if row in ours:
            assert ours[row] == expected, row
            assert outcomes[row].text == (PIECE_SEPARATOR.join(expected) if expected else None)
        else:
            assert not janitor_finds_match(janitor, text)


def test_a_batch_keeps_one_row_per_document_and_names_the_set(tmp_path):
    eval_a = "one two three four five six seven eight nine ten eleven twelve thirteen"
    eval_b = "uno dos tres cuatro cinco seis siete ocho nueve diez once doce trece"
    texts = ["x " * 300 + eval_a + " y" * 300, eval_b, "clean text " * 50, eval_a + " " + eval_b + " " + eval_b]
    batch = pa.table(
        {
            "doc_id": list(range(4)),
            "source": ["f"] * 4,
            "line": list(range(1, 5)),
            "pile_set_name": ["A", "B", "A", "B"],
            "text": texts,
        },
        schema=DOC_SCHEMA,
    )
    config = DecontaminateConfig(sets={"a": ["x"], "b": ["y"]})
    index = build_eval_ngrams([(0, eval_a), (1, eval_b)], ["a", "b"])
    (kept, dropped), outcomes = decontaminate_batch(batch, index, config)
    assert kept.column("doc_id").to_pylist() == [0, 2]
    assert kept.column("text").to_pylist()[1] == texts[2]
    assert kept.column("text").to_pylist()[0] == PIECE_SEPARATOR.join(oracle([eval_a, eval_b]).clean_python(texts[0]))
    assert dropped.column("doc_id").to_pylist() == [1, 3]
    assert dropped.column("reason").to_pylist() == ["decontaminate:b", "decontaminate:b"]
    assert [o.matched_ngrams for o in outcomes] == [1, 1, 3]


def test_eval_files_of_every_format_and_their_errors(tmp_path):
    text = "a b c d e f g h i j k l m n"
    write_lines(tmp_path / "a.jsonl.zst", [doc_line(text)])
    pq.write_table(pa.table({"text": [text, text + " o"]}), tmp_path / "b.parquet")
    config = DecontaminateConfig(sets={"s": [str(tmp_path / "a.jsonl.zst"), str(tmp_path / "b.parquet")]})
    sets = load_eval_sets(config)
    assert [f["documents"] for f in sets.identity["s"]] == [1, 2]
    assert len(sets.index.keys) == 3  # a..m, b..n, c..o: the 13-grams of both files, each once
    write_lines(tmp_path / "bad.jsonl", [doc_line(text), b'{"text": 3}'])
    with pytest.raises(UserError, match=r"bad.jsonl:2: text_not_a_string"):
        load_eval_sets(DecontaminateConfig(sets={"s": [str(tmp_path / "bad.jsonl")]}))
    pq.write_table(pa.table({"body": [text]}), tmp_path / "c.parquet")
    with pytest.raises(UserError, match=r"c.parquet: no `text` column"):
        load_eval_sets(DecontaminateConfig(sets={"s": [str(tmp_path / "c.parquet")]}))
    with pytest.raises(UserError, match=r"decontaminate.sets.s: .*nothing.jsonl: no input file matches"):
        load_eval_sets(DecontaminateConfig(sets={"s": [str(tmp_path / "nothing.jsonl")]}))


def test_config_errors_name_the_key():
    base = {"inputs": ["x"], "output": "y"}
    with pytest.raises(UserError, match=r"decontaminate.window: unknown key"):
        parse_manifest({**base, "decontaminate": {"window": 3}})
    with pytest.raises(UserError, match=r"decontaminate.sets: .*set name 'a b'"):
        parse_manifest({**base, "decontaminate": {"sets": {"a b": ["x"]}}})
    with pytest.raises(UserError, match=r"decontaminate.ngram_n: Input should be greater than or equal to 1"):
        parse_manifest({**base, "decontaminate": {"ngram_n": 0}})
    assert not parse_manifest(base).decontaminate.enabled
