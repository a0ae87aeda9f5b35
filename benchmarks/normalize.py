"""Benchmark the normalize stage against plain `ftfy.fix_text` on one core, and check they agree.

    python benchmarks/normalize.py [--corpus DIR] [--docs N] [--chunk-docs B] [--normalization FORM]

Reads the documents of a Pile-layout corpus (every `*.jsonl.zst`, `*.jsonl.gz`, `*.jsonl` under DIR,
through the read stage), or of a sample written by `pipeline.sample.corpus.write_sample_corpus` (seed 0)
into a temporary directory when no corpus is given. For each pile_set_name it times
`ftfy.fix_text(text, config.fixer_config())` on every document and `normalize_batch` on the same
documents, alternating chunk by chunk in this one process (CPU time, one core); it exits 1, saying how
many documents differ, unless every output is identical. Prints docs, MB, MB/s and docs/s of both, and
the speed ratio, per set and overall, and the peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import ftfy
import pyarrow as pa
from corpus import SAMPLE_DOCS, read_documents

from stages.normalize import NormalizeConfig, fix_text, normalize_batch


def measure(table: pa.Table, config: NormalizeConfig, chunk_docs: int) -> tuple[float, float, list[str], list[str]]:
    """CPU seconds of plain ftfy and of the stage over `table`, and both outputs.

    The two alternate on chunks of `chunk_docs` documents, so that both see the same load from
    whatever else runs on the machine.
    """
    fixer = config.fixer_config()
    ftfy_seconds = stage_seconds = 0.0
    expected: list[str] = []
    got: list[str] = []
    for offset in range(0, table.num_rows, chunk_docs):
        chunk = table.slice(offset, chunk_docs)
        texts = chunk.column("text").to_pylist()
        start = time.process_time()
        expected += [ftfy.fix_text(text, fixer) for text in texts]
        middle = time.process_time()
        fixed = normalize_batch(chunk, config)
        end = time.process_time()
        ftfy_seconds += middle - start
        stage_seconds += end - middle
        got += fixed.column("text").to_pylist()
    return ftfy_seconds, stage_seconds, expected, got


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, help="a directory of Pile-layout files (default: generate a sample)")
    parser.add_argument("--docs", type=int, help=f"documents to read (sample default {SAMPLE_DOCS})")
    parser.add_argument("--chunk-docs", type=int, default=200, help="rows per normalize_batch call; ftfy and the "
                        "stage alternate chunk by chunk")
    parser.add_argument("--normalization", default="NFC", help="NFC, NFKC, NFD, NFKD or none")
    args = parser.parse_args(argv)
    config = NormalizeConfig(normalization=None if args.normalization.lower() == "none" else args.normalization)

    with tempfile.TemporaryDirectory(prefix="normalize-bench-") as scratch:
        corpus = args.corpus
        if corpus is None:
            from pipeline.sample.corpus import write_sample_corpus

            corpus = Path(scratch)
            write_sample_corpus(corpus, docs=args.docs or SAMPLE_DOCS, seed=0)
        table = read_documents(corpus, args.docs)

    # Warm-up, outside the timings: build the fix plan and the normalization tables (once per process).
    normalize_batch(table.slice(0, 50), config)
    fix_text("e\u0301 \u2026 \ufb01 \u00c3\u00a9\n" * 2, config)

    sets = table.column("pile_set_name").to_pylist()
    rows_by_set: dict[str, list[int]] = defaultdict(list)
    for row, name in enumerate(sets):
        rows_by_set[name].append(row)

    results = []
    differing = 0
    for name, rows in sorted(rows_by_set.items(), key=lambda item: -len(item[1])):
        subset = table.take(pa.array(rows))
        ftfy_seconds, stage_seconds, expected, got = measure(subset, config, args.chunk_docs)
        differing += sum(a != b for a, b in zip(expected, got))
        megabytes = sum(len(text.encode("utf-8", "surrogatepass")) for text in subset.column("text").to_pylist()) / 1e6
        changed = sum(a != b for a, b in zip(expected, subset.column("text").to_pylist()))
        results.append((name, len(rows), changed, megabytes, ftfy_seconds, stage_seconds))

    total = (
        "overall",
        sum(r[1] for r in results),
        sum(r[2] for r in results),
        sum(r[3] for r in results),
        sum(r[4] for r in results),
        sum(r[5] for r in results),
    )
    header = f"{'pile_set_name':<20} {'docs':>7} {'fixed':>6} {'MB':>8} {'ftfy MB/s':>9} {'stage MB/s':>10} " \
             f"{'ftfy docs/s':>11} {'stage docs/s':>12} {'ratio':>6}"
    print(f"normalize ({config.normalization}), one core, CPU time; 'fixed' = documents ftfy changes")
    print(header)
    print("-" * len(header))
    for name, docs, changed, megabytes, ftfy_seconds, stage_seconds in [*results, total]:
        if name == "overall":
            print("-" * len(header))
        print(
            f"{name:<20} {docs:>7} {changed:>6} {megabytes:>8.2f} {megabytes / ftfy_seconds:>9.2f} "
            f"{megabytes / stage_seconds:>10.2f} {docs / ftfy_seconds:>11.0f} {docs / stage_seconds:>12.0f} "
            f"{ftfy_seconds / stage_seconds:>6.1f}"
        )
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if differing:
        print(f"FAIL: {differing} documents differ from ftfy.fix_text", file=sys.stderr)
        return 1
    print("identical to ftfy.fix_text for every document")
    return 0


if __name__ == "__main__":
    sys.exit(main())
