"""The real-text benchmark corpus (`benchmarks/real_text.py`): seeded, in the Pile's layout, with planted copies whose
recorded Jaccard is the exact one."""

from __future__ import annotations

from pathlib import Path

import orjson
import zstandard

from stages.minhash import exact_jaccard


def _lines(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in zstandard.decompress(path.read_bytes(), 1 << 30).splitlines()]


def test_same_seed_writes_the_same_corpus(real_text_corpus, tmp_path):
    root, first, real_text = real_text_corpus
    second = real_text.write_real_text_corpus(tmp_path, megabytes=2, seed=0)
    assert first.sha256 == second.sha256 and len(first.sha256) == 64
    for name in ["ground_truth.jsonl", *first.files]:
        assert (root / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_documents_are_pile_layout_of_several_kinds(real_text_corpus):
    root, summary, _ = real_text_corpus
    documents = [doc for name in summary.files for doc in _lines(root / name)]
    assert len(documents) == summary.documents
    kinds = {doc["meta"]["pile_set_name"] for doc in documents}
    assert len(kinds) >= 5, kinds
    assert sum(len(doc["text"].encode()) for doc in documents) >= 2e6


def test_planted_copies_have_the_recorded_exact_jaccard(real_text_corpus):
    root, summary, _ = real_text_corpus
    texts = {(name, line): doc["text"] for name in summary.files for line, doc in enumerate(_lines(root / name), 1)}
    groups = [orjson.loads(line) for line in (root / "ground_truth.jsonl").read_bytes().splitlines()]
    assert len(groups) >= 5 and any(g["kind"] == "near" for g in groups)
    for group in groups:
        members = [texts[(m["file"], m["line"])] for m in group["members"]]
        references = members[:-1] if group["kind"] == "chain" else [members[0]] * (len(members) - 1)
        measured = [exact_jaccard(ref, copy, "word", 5) for ref, copy in zip(references, members[1:])]
        assert measured == group["jaccard"], group
        if group["kind"] == "exact":
            assert members[0] == members[1]
        else:
            assert all(0.5 <= j < 1.0 for j in measured), group
