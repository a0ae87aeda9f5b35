"""Benchmark the decontaminate step against lm-evaluation-harness's Janitor on one core, and check they agree.

    python benchmarks/decontaminate.py [--corpus DIR] [--docs N] [--eval-docs E] [--leaked L]
                                       [--others shuffled|sample] [--chunk-docs B]

Training documents: a Pile-layout corpus, or the seeded sample (seed 0). The eval set has E documents (default
10,000): L passages of 30 words cut from the training documents (contamination to find) and E - L documents of
a second sample (seed 1), each cut to its first 150 words. With `--others shuffled` (the default) those words
are shuffled within each document: the vocabulary stays the corpus's, so every word is looked up as in real
use, but they share no 13-gram with the training text by chance, as real eval sets mostly do not; `--others
sample` keeps them as generated, and the sample generator's templates then put an eval 13-gram in about one
training document in eight. Both engines get the same eval set: `Janitor.register_contaminant_python` and
`stages.eval_ngrams.build_eval_ngrams`. Then `Janitor.clean_python` and
`stages.decontaminate.decontaminate_texts` run on the same chunks of B documents, alternating chunk by chunk
in this one process (CPU time, one core). A document agrees when our kept text is the Janitor's pieces joined
by a blank line (None when it keeps none) or, without a match, the text itself; the script exits 1 unless
every document agrees. Prints MB, CPU seconds and MB/s of both, the ratio, and the peak RSS.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from corpus import corpus_dir, read_documents

from pipeline.sample.corpus import write_sample_corpus
from stages.decontaminate import PIECE_SEPARATOR, DecontaminateConfig, decontaminate_texts
from stages.eval_ngrams import build_eval_ngrams

with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    from lm_eval.decontamination.janitor import Janitor

DEFAULT_DOCS = 6000


def eval_set(train: list[str], scratch: Path, size: int, leaked: int, shuffled: bool) -> list[str]:
    rng = random.Random(0)
    out = []
    while len(out) < leaked:
        words = train[rng.randrange(len(train))].split()
        if len(words) >= 30:
            start = rng.randrange(len(words) - 29)
            out.append(" ".join(words[start : start + 30]))
    write_sample_corpus(scratch / "eval", docs=size - leaked, seed=1, files=1, holdout_docs=0)
    other = read_documents(scratch / "eval").column("text").to_pylist()
    others = [text.split()[:150] for text in other]
    for words in others if shuffled else []:
        rng.shuffle(words)
    return out + [" ".join(words) for words in others]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, help="a directory of Pile-layout files (default: generate a sample)")
    parser.add_argument("--docs", type=int, default=DEFAULT_DOCS, help=f"training documents (default {DEFAULT_DOCS})")
    parser.add_argument("--eval-docs", type=int, default=10_000, help="eval documents (default 10,000)")
    parser.add_argument(
        "--leaked", type=int, default=100, help="eval documents cut from the training documents (default 100)"
    )
    parser.add_argument(
        "--others",
        choices=["shuffled", "sample"],
        default="shuffled",
        help="the eval documents not cut from the training text (default shuffled)",
    )
    parser.add_argument(
        "--chunk-docs",
        type=int,
        default=2000,
        help="documents per call of each engine (default 2,000; the prepare phase passes a whole partition, "
        "10,000 by default)",
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="decontaminate-bench-") as scratch:
        corpus = corpus_dir(args.corpus, Path(scratch), args.docs)
        train = read_documents(corpus, args.docs).column("text").to_pylist()
        evals = eval_set(train, Path(scratch), args.eval_docs, args.leaked, args.others == "shuffled")

    start = time.process_time()
    janitor = Janitor()
    with contextlib.redirect_stdout(io.StringIO()):
        for text in evals:
            janitor.register_contaminant_python(text)
    janitor_build = time.process_time() - start
    start = time.process_time()
    index = build_eval_ngrams([(0, text) for text in evals], ["eval"])
    our_build = time.process_time() - start
    config = DecontaminateConfig(sets={"eval": ["benchmark"]})

    janitor_seconds = our_seconds = 0.0
    agree = touched = 0
    for offset in range(0, len(train), args.chunk_docs):
        chunk = train[offset : offset + args.chunk_docs]
        start = time.process_time()
        expected = [janitor.clean_python(text) for text in chunk]
        middle = time.process_time()
        outcomes = {o.row: o.text for o in decontaminate_texts(chunk, index, config)}
        our_seconds += time.process_time() - middle
        janitor_seconds += middle - start
        touched += len(outcomes)
        for row, text in enumerate(chunk):
            if row in outcomes:
                agree += outcomes[row] == (PIECE_SEPARATOR.join(expected[row]) if expected[row] else None)
            else:
                agree += expected[row] == ([text] if len(text) >= config.minimum_slice_length else [])

    megabytes = sum(len(text.encode("utf-8")) for text in train) / 1e6
    print(
        f"{len(train):,} training documents, {megabytes:.1f} MB; eval set {len(evals):,} documents "
        f"({args.leaked} leaked, others {args.others}), {len(index.keys):,} distinct 13-grams "
        f"(index {index.nbytes / 1e6:.0f} MB); {touched:,} documents with a match"
    )
    print()
    print("| engine | index build (CPU s) | clean (CPU s) | MB/s per core |")
    print("|---|---:|---:|---:|")
    print(
        f"| lm_eval Janitor.clean_python | {janitor_build:.2f} | {janitor_seconds:.2f} "
        f"| {megabytes / janitor_seconds:.2f} |"
    )
    print(f"| pileline decontaminate_texts | {our_build:.2f} | {our_seconds:.2f} | {megabytes / our_seconds:.2f} |")
    print()
    print(
        f"speed ratio (clean): {janitor_seconds / our_seconds:.1f}x; documents agreeing: {agree:,} of {len(train):,}; "
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    return 0 if agree == len(train) else 1


if __name__ == "__main__":
    sys.exit(main())
