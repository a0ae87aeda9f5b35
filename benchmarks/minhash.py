"""MinHash signature speed, one core: datasketch, rensa, and the minhash stage (sha1 and default hash).

    python benchmarks/minhash.py [--corpus DIR] [--docs N] [--shingle word|char] [--ngram N] [--by-set]

Without --corpus a seeded sample corpus (~100 MB of text, 28,000 documents, or --docs) is written
to a temporary directory by `pipeline.sample.corpus`. Every peer gets the same documents (the
train/*.jsonl.zst files read by the pipeline's reader) and the same shingles: datasketch and rensa
get them from `stages.minhash.shingles` (their Python shingling is timed, as it is part of using
them), the stage computes them vectorised from the Arrow text column. Each peer runs in its own
forked process pinned to one CPU; times are CPU seconds of that process (the machine may be shared;
wall-clock MB/s is shown too), and "+peak RSS" is how far its resident memory rose above where it
stood when the timed work began (inputs already in memory).

Identity is checked, and the script exits 1 if it fails: the stage with `hash: sha1` must equal
datasketch on every document; the default hash must equal datasketch with
`hashfunc=shingle_hash32` on a subset (--check-docs; that hash is pure Python there, so slow).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import datasketch
import numpy as np
import pyarrow as pa
import pyarrow.compute  # noqa: F401  (registers pa.compute)
from corpus import SAMPLE_DOCS, read_documents
from process_tree import run_pinned

from pipeline.sample.corpus import write_sample_corpus
from stages.dedup import DedupConfig
from stages.minhash import shingle_hash32, shingles, signatures


def datasketch_signatures(texts: list[str], config: DedupConfig, hashfunc=None) -> np.ndarray:
    """datasketch 2.0.0, used as its docs suggest for many sets (copy a template, update_batch)."""
    extra = {"hashfunc": hashfunc} if hashfunc else {}
    template = datasketch.MinHash(num_perm=config.num_perm, seed=config.seed, **extra)
    rows = []
    for text in texts:
        m = template.copy()
        m.update_batch([s.encode("utf-8") for s in shingles(text, config.shingle, config.ngram)])
        rows.append(m.hashvalues)
    return np.array(rows, dtype=np.uint32).reshape(len(texts), config.num_perm)


def rensa_module():
    """rensa (the `bench` extra), imported when the benchmark runs, so that `--help` works without it."""
    try:
        import rensa
    except ModuleNotFoundError as error:
        sys.exit(f"minhash.py compares with rensa ({error}): pip install -e '.[bench]'")
    return rensa


def rensa_signatures(texts: list[str], config: DedupConfig) -> np.ndarray:
    """rensa 0.5's RMinHash (its own hash and permutations, so values differ from datasketch)."""
    rows = []
    for text in texts:
        m = rensa_module().RMinHash(num_perm=config.num_perm, seed=config.seed)
        m.update(shingles(text, config.shingle, config.ngram))
        rows.append(m.digest())
    return np.array(rows, dtype=np.uint32).reshape(len(texts), config.num_perm)


def rensa_given_shingles(token_sets: list[list[str]], config: DedupConfig) -> np.ndarray:
    """rensa on shingles made beforehand: its hashing and permutation cost alone."""
    rows = []
    for tokens in token_sets:
        m = rensa_module().RMinHash(num_perm=config.num_perm, seed=config.seed)
        m.update(tokens)
        rows.append(m.digest())
    return np.array(rows, dtype=np.uint32).reshape(len(token_sets), config.num_perm)


def measure(table: pa.Table, config: DedupConfig, check_docs: int) -> tuple[list[tuple], bool]:
    """Rows (name, MB/s, docs/s, peak RSS) for every peer, and whether every identity check passed."""
    column = table.column("text")
    python_texts = column.to_pylist  # each child converts for itself, so the parent stays small
    megabytes = pa.compute.sum(pa.compute.binary_length(column)).as_py() / 1e6
    sha1_config = config.model_copy(update={"hash": "sha1"})
    default_config = config.model_copy(update={"hash": "poly64"})

    def token_sets() -> list[list[str]]:
        return [shingles(t, config.shingle, config.ngram) for t in python_texts()]

    runs = {
        "datasketch MinHash.update_batch (sha1)": (python_texts, lambda t: datasketch_signatures(t, sha1_config)),
        "rensa RMinHash": (python_texts, lambda t: rensa_signatures(t, config)),
        "rensa RMinHash, shingles given (untimed)": (token_sets, lambda s: rensa_given_shingles(s, config)),
        "stage, hash=sha1": (lambda: column, lambda c: signatures(c, sha1_config)),
        "stage, default hash": (lambda: column, lambda c: signatures(c, default_config)),
    }
    results = {
        name: run_pinned(prepare, work, lambda inputs, work=work: work(inputs[:1]))
        for name, (prepare, work) in runs.items()
    }

    ok = True
    if not np.array_equal(results["stage, hash=sha1"][0], results["datasketch MinHash.update_batch (sha1)"][0]):
        print("FAIL: stage hash=sha1 differs from datasketch", file=sys.stderr)
        ok = False
    subset = column.slice(0, check_docs).to_pylist()
    expected = datasketch_signatures(subset, default_config, hashfunc=shingle_hash32)
    if not np.array_equal(results["stage, default hash"][0][: len(subset)], expected):
        print("FAIL: stage default hash differs from datasketch(hashfunc=shingle_hash32)", file=sys.stderr)
        ok = False
    tail = column.slice(max(0, len(column) - check_docs)).to_pylist()
    if not np.array_equal(signatures(tail, default_config), results["stage, default hash"][0][-len(tail) :]):
        print("FAIL: stage default hash depends on the batch", file=sys.stderr)
        ok = False

    base_ds = results["datasketch MinHash.update_batch (sha1)"][1]
    base_rensa = results["rensa RMinHash"][1]
    rows = []
    for name, (_, cpu, wall, rss) in results.items():
        rows.append((name, megabytes / cpu, len(column) / cpu, megabytes / wall, base_ds / cpu, base_rensa / cpu, rss))
    return rows, ok


def print_table(title: str, rows: list[tuple]) -> None:
    print(f"\n{title}")
    header = (
        f"{'peer':44} {'MB/s':>8} {'docs/s':>9} {'wall MB/s':>9} {'x datasketch':>12} {'x rensa':>8} {'+peak RSS':>9}"
    )
    print(header)
    print("-" * len(header))
    for name, mbs, docs, wall, x_ds, x_rensa, rss in rows:
        print(f"{name:44} {mbs:8.2f} {docs:9.0f} {wall:9.2f} {x_ds:12.2f} {x_rensa:8.2f} {rss / 2**20:7.0f}MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, help="a Pile-layout directory; default: a generated sample")
    parser.add_argument("--docs", type=int, help=f"use this many documents (default: all; sample: {SAMPLE_DOCS})")
    parser.add_argument("--shingle", choices=["word", "char"], default="word")
    parser.add_argument("--ngram", type=int, default=5)
    parser.add_argument("--num-perm", type=int, default=128)
    parser.add_argument(
        "--check-docs", type=int, default=200, help="documents checked against datasketch + shingle_hash32"
    )
    parser.add_argument("--by-set", action="store_true", help="also one table per pile_set_name")
    args = parser.parse_args()
    rensa_module()

    with tempfile.TemporaryDirectory(prefix="minhash-bench-") as scratch:
        corpus = args.corpus
        if corpus is None:
            corpus = Path(scratch)
            write_sample_corpus(corpus, docs=args.docs or SAMPLE_DOCS, seed=0)
        table = read_documents(corpus, args.docs)
    config = DedupConfig(shingle=args.shingle, ngram=args.ngram, num_perm=args.num_perm, seed=1)
    megabytes = pa.compute.sum(pa.compute.binary_length(table.column("text"))).as_py() / 1e6
    print(
        f"{table.num_rows} documents, {megabytes:.1f} MB of text, {args.shingle} {args.ngram}-grams, "
        f"{args.num_perm} permutations, one core per peer (CPU time; wall MB/s shown for reference)"
    )
    rows, ok = measure(table, config, args.check_docs)
    print_table("all documents", rows)
    if args.by_set:
        names = table.column("pile_set_name").to_pylist()
        for name in sorted(set(names)):
            mask = pa.array([n == name for n in names])
            set_rows, set_ok = measure(table.filter(mask), config, args.check_docs)
            ok = ok and set_ok
            print_table(name, set_rows)
    print("\nidentity checks:", "passed" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
