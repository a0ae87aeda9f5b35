"""A small corpus whose filter drops, duplicate clusters and holdout copies can be counted by hand.

    train/00.jsonl.zst                    train/01.jsonl.zst                 val.jsonl.zst (holdout)
     1 A        Pile-CC   kept            1 A       Github    duplicate       1 H  Books3
     2 B        Github    kept            2 B'      Github    duplicate       2 V  Pile-CC
     3 A        Pile-CC   duplicate       3 F       Wikipedia kept
     4 tiny     Pile-CC   min_clean_chars 4 F       Wikipedia duplicate
     5 C        ArXiv     kept            5 F       Pile-CC   duplicate
     6 ""       HackerNews empty          6 G       Pile-CC   kept
     7 H        Books3    contaminated    7 tiny    Github    min_clean_chars
     8 D        Pile-CC   kept            8 A       Pile-CC   duplicate
     9 not JSON           rejected
    10 E        Github    kept

B' is B with one of 200 words changed (word 5-gram Jaccard 191/201 ≈ 0.95). Clusters: A (4 members),
F (3), B (2), H (2, with the holdout copy). Distinct texts are 200 words drawn from 5,000.
"""

from __future__ import annotations

import random
from pathlib import Path

from input_files_for_tests import doc_line, write_lines
from pipeline.manifest import parse_manifest

VOCABULARY = [f"w{i}" for i in range(5000)]


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(VOCABULARY) for _ in range(200))


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
    holdout = [(h, "Books3"), (v, "Pile-CC")]
    docs = {}
    for name, rows in (("00", train0), ("01", train1), ("val", holdout)):
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


KEPT = {("00", 1), ("00", 2), ("00", 5), ("00", 8), ("00", 10), ("01", 3), ("01", 6)}
DUPLICATES = {("00", 3), ("01", 1), ("01", 2), ("01", 4), ("01", 5), ("01", 8)}
CONTAMINATED = {("00", 7)}
FILTERED = {("00", 4): "min_clean_chars", ("01", 7): "min_clean_chars", ("00", 6): "empty"}
REJECTED = {("00", 9)}
CLUSTERS = {  # kept member → members
    ("00", 1): {("00", 1), ("00", 3), ("01", 1), ("01", 8)},
    ("01", 3): {("01", 3), ("01", 4), ("01", 5)},
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
            "dedup": {"shingle": "word", "ngram": 5, "num_perm": 128, "threshold": 0.7, "holdout": [str(root / "val.jsonl.zst")]},
        }
    )
