"""A small corpus whose filter drops, duplicate clusters and holdout copies can be counted by hand.

    train/00.jsonl.zst                    train/01.jsonl.zst                 train/02.jsonl.zst
     1 A        Pile-CC   kept            1 A       Github    duplicate       1 X0 ArXiv  kept
     2 B        Github    kept            2 B'      Github    duplicate       2 X1 ArXiv  duplicate
     3 A        Pile-CC   duplicate       3 F       Wikipedia kept            3 X2 ArXiv  duplicate
     4 tiny     Pile-CC   min_clean_chars 4 F       Wikipedia duplicate       4 X3 ArXiv  duplicate
     5 C        ArXiv     kept            5 F       Pile-CC   duplicate       val.jsonl.zst (holdout)
     6 ""       HackerNews empty          6 G       Pile-CC   kept            1 H  Books3
     7 H        Books3    contaminated    7 tiny    Github    min_clean_chars 2 V  Pile-CC
     8 D        Pile-CC   kept            8 A       Pile-CC   duplicate
     9 not JSON           rejected
    10 E        Github    kept

Distinct texts are 200 words drawn from 5,000. B' is B with one word changed (word 5-gram Jaccard
191/201 ≈ 0.95). Each X is the one before with 3 other words changed: 181/211 ≈ 0.86 to its
neighbour, X2 166/226 ≈ 0.73 to X0, X3 151/241 ≈ 0.63 to X0: below the 0.7 threshold, so X3's removal
is a chain. Clusters: A (4 members), X (4), F (3), B (2), H (2, with the holdout copy). Exact copies of
the normalised text: three of A and two of F (5); near-duplicates: B', X1, X2, X3 (4); H's train copy is
counted as a copy of holdout. A cluster is named by the doc_id kept for it: H's is val line 1.
"""

from __future__ import annotations

import random
from pathlib import Path

from input_files_for_tests import doc_line, write_lines

from pipeline.manifest import parse_manifest

VOCABULARY = [f"w{i}" for i in range(5000)]


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(VOCABULARY) for _ in range(200))


def _changed(words: list[str], positions: list[int]) -> list[str]:
    out = list(words)
    for position in positions:
        out[position] = f"changed{position}"
    return out


def write_corpus(root: Path) -> dict:
    """Write the corpus under `root`; return the texts by (file, line) and their subsets."""
    rng = random.Random(11)
    a, b, c, d, e, f, g, h, v = (_text(rng) for _ in range(9))
    words = b.split()
    words[100] = "changed"
    b_near = " ".join(words)
    tiny = "too short"
    train0 = [(a, "Pile-CC"), (b, "Github"), (a, "Pile-CC"), (tiny, "Pile-CC"), (c, "ArXiv"), ("", "HackerNews"),
              (h, "Books3"), (d, "Pile-CC"), None, (e, "Github")]
    train1 = [(a, "Github"), (b_near, "Github"), (f, "Wikipedia (en)"), (f, "Wikipedia (en)"), (f, "Pile-CC"),
              (g, "Pile-CC"), (tiny, "Github"), (a, "Pile-CC")]
    x0 = _text(rng).split()
    x1 = _changed(x0, [10, 70, 130])
    x2 = _changed(x1, [30, 90, 150])
    x3 = _changed(x2, [50, 110, 170])
    train2 = [(" ".join(words), "ArXiv") for words in (x0, x1, x2, x3)]
    holdout = [(h, "Books3"), (v, "Pile-CC")]
    docs = {}
    for name, rows in (("00", train0), ("01", train1), ("02", train2), ("val", holdout)):
        lines = []
        for number, row in enumerate(rows, 1):
            if row is None:
                lines.append(b'{"text": "unterminated')
                continue
            lines.append(doc_line(*row))
            docs[(name, number)] = row
        path = root / ("val.jsonl.zst" if name == "val" else f"train/{name}.jsonl.zst")
        write_lines(path, lines)
    return docs


FILE_INDEX = {"00": 0, "01": 1, "02": 2, "val": 3}
KEPT = {("00", 1), ("00", 2), ("00", 5), ("00", 8), ("00", 10), ("01", 3), ("01", 6), ("02", 1)}
DUPLICATES = {("00", 3), ("01", 1), ("01", 2), ("01", 4), ("01", 5), ("01", 8), ("02", 2), ("02", 3), ("02", 4)}
CHAINED = {("02", 4)}
CONTAMINATED = {("00", 7)}
FILTERED = {("00", 4): "min_clean_chars", ("01", 7): "min_clean_chars", ("00", 6): "empty"}
REJECTED = {("00", 9)}
CLUSTERS = {  # kept member → members
    ("00", 1): {("00", 1), ("00", 3), ("01", 1), ("01", 8)},
    ("01", 3): {("01", 3), ("01", 4), ("01", 5)},
    ("02", 1): {("02", 1), ("02", 2), ("02", 3), ("02", 4)},
    ("00", 2): {("00", 2), ("01", 2)},
    ("val", 1): {("val", 1), ("00", 7)},
}


def corpus_manifest(root: Path, out: Path, partition_docs: int = 4):
    """The run of the corpus: SlimPajama filters, word 5-gram MinHash at 0.7, val as holdout."""
    return parse_manifest(
        {
            "inputs": [str(root / "train" / "*.jsonl.zst")],
            "output": str(out),
            "seed": 99,
            "partition_docs": partition_docs,
            "filter": {"preset": "slimpajama"},
            "dedup": {
                "shingle": "word",
                "ngram": 5,
                "num_perm": 128,
                "threshold": 0.7,
                "holdout": [str(root / "val.jsonl.zst")],
            },
        }
    )


def finished_run(tmp_path_factory) -> tuple[Path, dict]:
    """The corpus and its run, made once per test session under pytest's base temporary directory and
    reused by every test module that asks (they read the run and never change it)."""
    from pipeline.phases.runner import run_manifest
    from pipeline.runtime.progress import Progress

    root = tmp_path_factory.getbasetemp() / "inspect-corpus"
    docs = write_corpus(root)
    if not (root / "run" / "manifest.json").exists():
        run_manifest(corpus_manifest(root, root / "run"), Progress(quiet=True))
    return root / "run", docs
