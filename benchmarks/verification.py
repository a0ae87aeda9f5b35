"""Exact verification of candidate pairs on real text: `stages.verify.exact_pairs_pass` against `exact_jaccard`.

    python benchmarks/verification.py [--corpus DIR] [--megabytes 110] [--partition-docs 2000] [--work DIR]

The pairs are those the dedup phase verifies with `dedup: {preset: threshold-true}` (word 5-grams, 128
permutations, Jaccard 0.87, recall banding): the texts normalised as prepare does (ftfy, NFC), their
MinHash signatures (`stages.minhash.signatures`), the banding's keys (`stages.lsh`) and the candidate
edges of all keys at once (`stages.clustering.star_edges`, all pairs of a key held by at most
`VERIFY_ALL_PAIRS_UP_TO` documents). The corpus is `benchmarks/real_text.py`'s (`--megabytes`, written
under `--work`) unless `--corpus` names a Pile-layout directory.

Timed, in a child pinned to one core (CPU seconds; the machine may be shared):
- `exact_pairs_pass` called per partition of `--partition-docs` documents in doc_id order, with the texts
  of its pairs' `src` documents and of their `dst` documents, as the dedup phase's verify task calls it;
- `exact_pairs_pass` over all pairs in one call;
- `exact_jaccard` on every pair, the reference.

Identity, exit 1 if it fails: every decision equals `exact_jaccard(a, b) >= threshold`. The script uses
only public functions of `stages`, so `PYTHONPATH=<another checkout>` times that checkout's verification
on the same pairs (e.g. main, before a change).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
from corpus import corpus_sha256, read_documents, text_megabytes
from process_tree import run_pinned
from real_text import DEFAULT_MEGABYTES, write_real_text_corpus

from pipeline.phases.dedup import VERIFY_ALL_PAIRS_UP_TO
from stages.clustering import star_edges
from stages.dedup import DedupConfig
from stages.lsh import band_keys, lsh_params
from stages.minhash import exact_jaccard, signatures
from stages.normalize import NormalizeConfig, normalize_batch
from stages.verify import exact_pairs_pass


def candidate_pairs(texts: pa.ChunkedArray, config: DedupConfig) -> tuple[np.ndarray, np.ndarray]:
    """(src, dst) row indices of the candidate edges the banding proposes for these texts, src > dst."""
    params = lsh_params(config)
    keys = band_keys(signatures(texts, config), params.bands, params.rows)
    rows = np.repeat(np.arange(len(texts), dtype=np.int64), params.bands)
    src, dst, _ = star_edges(keys.ravel(), rows, VERIFY_ALL_PAIRS_UP_TO)
    return src, dst


def per_partition(texts: list[str], src: np.ndarray, dst: np.ndarray, partition_docs: int, config) -> np.ndarray:
    """Decisions of `exact_pairs_pass` called once per partition of `src`, as the verify task calls it."""
    passed = np.zeros(src.size, dtype=bool)
    for start in range(0, len(texts), partition_docs):
        here = np.flatnonzero((src >= start) & (src < start + partition_docs))
        if here.size == 0:
            continue
        src_rows, src_index = np.unique(src[here], return_inverse=True)
        dst_rows, dst_index = np.unique(dst[here], return_inverse=True)
        batch = [texts[i] for i in src_rows.tolist()] + [texts[i] for i in dst_rows.tolist()]
        passed[here] = exact_pairs_pass(
            batch, src_index, src_rows.size + dst_index, config.threshold, config.shingle, config.ngram
        )
    return passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, help="a Pile-layout directory (default: the real-text corpus)")
    parser.add_argument("--megabytes", type=float, default=DEFAULT_MEGABYTES, help="text of the real-text corpus")
    parser.add_argument("--partition-docs", type=int, default=2000, help="documents per partition (default 2000)")
    parser.add_argument("--work", type=Path, help="where the real-text corpus is written (default: a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="verification-") as scratch:
        corpus = args.corpus
        if corpus is None:
            corpus = (args.work or Path(scratch)) / "corpus"
            print(f"real-text corpus: {write_real_text_corpus(corpus, args.megabytes).describe()}", file=sys.stderr)
        config = DedupConfig(preset="threshold-true")
        table = normalize_batch(read_documents(corpus), NormalizeConfig(normalization="NFC"))
        column = table.column("text")
        src, dst = candidate_pairs(column, config)
        texts = column.to_pylist()
        t, shingle, n = config.threshold, config.shingle, config.ngram
        runs = {
            f"exact_pairs_pass, per partition of {args.partition_docs} documents": lambda _: per_partition(
                texts, src, dst, args.partition_docs, config
            ),
            "exact_pairs_pass, all pairs in one call": lambda _: exact_pairs_pass(texts, src, dst, t, shingle, n),
            "exact_jaccard on every pair (reference)": lambda _: np.array(
                [exact_jaccard(texts[a], texts[b], shingle, n) >= t for a, b in zip(src.tolist(), dst.tolist())],
                dtype=bool,
            ),
        }
        results = {name: run_pinned(lambda: None, work, lambda _: None) for name, work in runs.items()}
        sha256 = corpus_sha256(corpus)
    reference = results["exact_jaccard on every pair (reference)"][0]
    identical = sum(texts[a] == texts[b] for a, b in zip(src.tolist(), dst.tolist()))
    print(
        f"\ncorpus sha256 {sha256}: {len(texts):,} documents, {text_megabytes(column):.1f} MB; "
        f"{src.size:,} candidate pairs ({identical:,} of identical texts), {int(reference.sum()):,} reach J >= {t}"
    )
    print("\n| verification | CPU s | wall s | decisions equal to exact_jaccard's |")
    print("|---|---:|---:|---:|")
    failed = False
    for name, (passed, cpu, wall, _) in results.items():
        equal = int(np.count_nonzero(passed == reference))
        failed |= equal != src.size
        print(f"| {name} | {cpu:.2f} | {wall:.2f} | {equal:,} of {src.size:,} |")
    if failed:
        sys.exit("FAIL: a decision differs from exact_jaccard's")
    print("\nidentity checks: passed (every decision equals exact_jaccard's)")


if __name__ == "__main__":
    main()
