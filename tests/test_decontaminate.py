"""Decontamination stage against lm-evaluation-harness's own Janitor (the oracle): pieces, edge cases, index, config.

Every expectation comes from `lm_eval.decontamination.janitor.Janitor.clean_python` (the `janitor` rule), from
the Janitor's `_split_chunks` over the n-grams its `word_ngrams` forms from normalised text (the `harness`
rule, `janitor_oracle.harness_parts`), or from Python's `str.isspace`, never from the code under test.
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
from janitor_oracle import (
    corpus_texts,
    harness_parts,
    harness_sees_match,
    janitor_finds_match,
    janitor_spans,
    oracle,
    passages,
    punctuated_texts,
    word_ngrams,
)

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
JANITOR = {"match": "janitor"}


def first_pass_pieces(texts: list[str], eval_texts: list[str], config: DecontaminateConfig) -> dict[int, list[str]]:
    """Our Janitor pieces of each text with a match (one round, before joining)."""
    index = build_eval_ngrams([(0, t) for t in eval_texts], ["eval"], config.ngram_n, config.delete_chars)
    matches = find_matches(texts, index, config.normalise_first)
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


WORDS = st.sampled_from(["the", "The", "cat", "CAT!", "sat", "on", "mat.", "--", "a-b", "ab", "Über", "x", "#", "->"])
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
    config = DecontaminateConfig(sets={"eval": ["unused"]}, **SMALL, **JANITOR)
    janitor = oracle(evals, **SMALL)
    ours = first_pass_pieces([text], evals, config)
    if 0 in ours:
        assert ours[0] == janitor.clean_python(text)
    else:
        assert not janitor_finds_match(janitor, text)
        # Without a match the Janitor keeps the text only from minimum_slice_length characters on; we keep it as is.
        assert janitor.clean_python(text) == ([text] if len(text) > SMALL["minimum_slice_length"] - 1 else [])


@settings(max_examples=300, deadline=None)
@given(texts_and_evals(), st.sampled_from(["harness", "both"]))
def test_harness_rule_pieces_equal_the_split_chunks_of_the_harness_ngrams(case, match):
    text, evals = case
    config = DecontaminateConfig(sets={"eval": ["unused"]}, **SMALL, match=match)
    janitor = oracle(evals, **SMALL)
    parts = harness_parts(janitor, text)
    normalised = janitor.normalize_string(text)
    assert len(parts) == sum(ngram in janitor.dirt_ngrams for ngram in word_ngrams(normalised, config.ngram_n))
    index = build_eval_ngrams([(0, t) for t in evals], ["eval"], config.ngram_n)
    matches = find_matches([text], index, normalise_first=True)
    assert list(zip(matches.start.tolist(), matches.end.tolist())) == [(start, end) for _, start, end in parts]
    spans = zip(matches.start.tolist(), matches.end.tolist())
    assert {span for span, found in zip(spans, matches.janitor) if found} == set(janitor_spans(janitor, text))
    ours = first_pass_pieces([text], evals, config)
    assert ours.get(0) == (janitor._split_chunks(text, parts) if parts else None)


@settings(max_examples=150, deadline=None)
@given(texts_and_evals(), st.sampled_from(["janitor", "harness", "both"]))
def test_no_kept_text_has_a_match_left(case, match):
    text, evals = case
    config = DecontaminateConfig(sets={"eval": ["unused"]}, **SMALL, match=match)
    index = build_eval_ngrams([(0, t) for t in evals], ["eval"], config.ngram_n)
    janitor = oracle(evals, **SMALL)
    for outcome in decontaminate_texts([text], index, config):
        if outcome.text is not None:
            assert not janitor_finds_match(janitor, outcome.text)
            assert match == "janitor" or not harness_sees_match(janitor, outcome.text)


def test_edge_cases_at_the_start_the_end_and_past_the_cutoff():
    filler = [f"w{i}" for i in range(400)]
    eval_text = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu"
    config = DecontaminateConfig(sets={"eval": ["unused"]}, **JANITOR)
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
    config = DecontaminateConfig(sets={"eval": ["unused"]}, **JANITOR)
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


def test_punctuated_corpus_matches_both_oracles_document_by_document():
    texts = punctuated_texts(300, seed=4)
    evals = passages(texts, 40, 40, seed=5) + texts[:10]
    janitor = oracle(evals)
    index = build_eval_ngrams([(0, t) for t in evals], ["eval"])
    found = {}
    for match in ("janitor", "harness", "both"):
        config = DecontaminateConfig(sets={"eval": ["unused"]}, match=match)
        ours = first_pass_pieces(texts, evals, config)
        found[match] = {o.row: o for o in decontaminate_texts(texts, index, config)}
        assert set(found[match]) == set(ours)
        for row, text in enumerate(texts):
            parts = harness_parts(janitor, text) if match != "janitor" else None
            expected = janitor.clean_python(text) if parts is None else janitor._split_chunks(text, parts)
            if row in ours:
                assert ours[row] == expected, (match, row)
            else:
                assert not (parts if parts is not None else janitor_finds_match(janitor, text)), (match, row)
            if row in found[match] and found[match][row].text is not None:
                assert not janitor_finds_match(janitor, found[match][row].text)
                assert match == "janitor" or not harness_sees_match(janitor, found[match][row].text)
    # The corpus hides most leaked passages from the Janitor's rule; `both` finds them and counts them apart.
    assert len(found["both"]) > 2 * len(found["janitor"])
    assert {r: o.text for r, o in found["both"].items()} == {r: o.text for r, o in found["harness"].items()}
    first_round = {row: len(janitor_spans(janitor, texts[row])) for row in found["both"]}
    assert all(found["both"][row].janitor_matches >= first_round[row] for row in found["both"])
    assert sum(o.matched_ngrams - o.janitor_matches for o in found["both"].values()) > 0


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
    assert [o.janitor_matches for o in outcomes] == [1, 1, 3]


def test_a_punctuation_word_hides_a_match_from_the_janitor_rule_only():
    eval_text = "one two three four five six seven eight nine ten eleven twelve thirteen"
    text = "x " * 300 + "One two three -> four five six seven # eight nine ten eleven twelve thirteen." + " y" * 300
    index = build_eval_ngrams([(0, eval_text)], ["a"])
    assert decontaminate_texts([text], index, DecontaminateConfig(match="janitor")) == []
    [outcome] = decontaminate_texts([text], index, DecontaminateConfig(match="both"))
    assert (outcome.matched_ngrams, outcome.janitor_matches) == (1, 0)
    start = text.index("One")
    end = text.index("thirteen.") + len("thirteen.")
    assert outcome.text == PIECE_SEPARATOR.join([text[: start - 200], text[end + 200 :]])


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
    with pytest.raises(UserError, match=r"decontaminate.match: Input should be 'janitor', 'harness' or 'both'"):
        parse_manifest({**base, "decontaminate": {"match": "exact"}})
    assert not parse_manifest(base).decontaminate.enabled
    assert parse_manifest(base).decontaminate.match == "both"


def test_a_set_may_be_one_path():
    base = {"inputs": ["x"], "output": "y"}
    config = parse_manifest({**base, "decontaminate": {"sets": {"lambada": "evals/l.jsonl", "arc": ["a", "b"]}}})
    assert config.decontaminate.sets == {"lambada": ["evals/l.jsonl"], "arc": ["a", "b"]}
    with pytest.raises(UserError, match=r"decontaminate.sets.lambada: Input should be a valid list"):
        parse_manifest({**base, "decontaminate": {"sets": {"lambada": 3}}})
