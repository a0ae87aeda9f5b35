"""The Pile-shape benchmark's corpus (`benchmarks/short_documents.py`): seeded, with the planted rates, read back."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import orjson
import pytest
import zstandard

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from short_documents import cached_short_documents, write_short_documents  # noqa: E402

from pipeline.sample.genres import PILE_SET_NAMES  # noqa: E402

DOCS = 20_000


def _documents(out: Path) -> list[dict]:
    lines = []
    for path in sorted((out / "train").glob("*.jsonl.zst")):
        with open(path, "rb") as raw:
            lines += zstandard.ZstdDecompressor().stream_reader(raw).read().splitlines()
    return [orjson.loads(line) for line in lines]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("short") / "corpus"
    write_short_documents(out, DOCS, files=3, seed=7)
    return out, _documents(out)


def test_every_line_is_a_pile_document_of_24_words_and_about_150_bytes(corpus):
    out, documents = corpus
    assert len(documents) == DOCS
    assert sorted(p.name for p in (out / "train").iterdir()) == ["00.jsonl.zst", "01.jsonl.zst", "02.jsonl.zst"]
    assert {len(d["text"].split(" ")) for d in documents} == {24}
    mean_bytes = sum(len(d["text"].encode()) for d in documents) / DOCS
    assert 140 <= mean_bytes <= 160
    summary = orjson.loads((out / "summary.json").read_bytes())
    assert summary["text_bytes"] == sum(len(d["text"].encode()) for d in documents)


def test_ten_subsets_in_about_equal_shares(corpus):
    _, documents = corpus
    counts = Counter(d["meta"]["pile_set_name"] for d in documents)
    assert set(counts) == set(PILE_SET_NAMES[:10])
    assert all(abs(n - DOCS / 10) < 4 * (DOCS * 0.1 * 0.9) ** 0.5 for n in counts.values()), counts


def test_about_1_percent_exact_copies_and_2_percent_one_word_variants(corpus):
    out, documents = corpus
    texts = [d["text"] for d in documents]
    # An exact copy repeats an earlier text; a one-word variant is a new text that shares all but one position
    # with an earlier one.
    seen: set[str] = set()
    gaps: set[tuple] = set()
    copies = variants = 0
    for text in texts:
        words = text.split(" ")
        keys = [(j, *words[:j], *words[j + 1 :]) for j in range(len(words))]
        if text in seen:
            copies += 1
        else:
            variants += any(key in gaps for key in keys)
        seen.add(text)
        gaps.update(keys)
    summary = orjson.loads((out / "summary.json").read_bytes())
    assert abs(copies - DOCS * 0.01) < 4 * (DOCS * 0.01) ** 0.5
    assert abs(variants - DOCS * 0.02) < 4 * (DOCS * 0.02) ** 0.5
    assert (copies, variants) == (summary["copies"], summary["variants"])


def test_the_same_seed_writes_the_same_bytes_and_another_seed_other_text(tmp_path, corpus):
    out, documents = corpus
    write_short_documents(tmp_path / "again", DOCS, files=3, seed=7)
    for name in ("00.jsonl.zst", "01.jsonl.zst", "02.jsonl.zst"):
        assert (tmp_path / "again" / "train" / name).read_bytes() == (out / "train" / name).read_bytes()
    write_short_documents(tmp_path / "other", 1000, files=1, seed=8)
    other = _documents(tmp_path / "other")
    assert sum(a["text"] == b["text"] for a, b in zip(other, documents)) == 0


def test_a_finished_corpus_is_reused_not_written_again(tmp_path):
    first, summary = cached_short_documents(tmp_path, 500, files=2, seed=1)
    written = {p: p.stat().st_mtime_ns for p in (first / "train").iterdir()}
    again, cached = cached_short_documents(tmp_path, 500, files=2, seed=1)
    assert again == first and cached == summary
    assert {p: p.stat().st_mtime_ns for p in (again / "train").iterdir()} == written
