"""Dedup quality at the threshold: connected components, threshold-true and datasketch.MinHashLSH on one corpus.

    python benchmarks/dedup_quality.py [--corpus sample|heldout] [--docs N] [--megabytes M] [--seed S] [--cpus N]
        [--work DIR]

Corpora (both written by this script, deterministic):
- `sample`: `pileline sample`'s generator (`--docs`, default 6000); the pairs are its ground truth
  (each group member with the group's original, and each chain link with the previous one).
- `heldout`: text the project never generated: the real-text corpus of `benchmarks/real_text.py`
  (`--megabytes`, default 20: manual pages, package documentation, licences, Perl's pod books, Python
  sources and docs, with planted exact and near copies and chains); the pairs are the planted ones,
  read from its ground truth as the sample's.

Each method runs on the same prepared documents (no quality filter, no holdout):
- `components`: pileline, `dedup.mode: components` (the `pythia` preset's banding, no verification);
- `threshold-true`: pileline, the `threshold-true` preset (recall banding, exact verification), and the
  same with `verify: signature` (removals checked on the MinHash estimate instead of the texts);
- `datasketch`: `datasketch.MinHashLSH(threshold, num_perm)` fed pileline's signatures, every document
  queried, components of "returned by a query", smallest doc_id kept (what a datasketch user writes).

Both corpora name their pairs in `ground_truth.jsonl`. Measured, with the exact Jaccard of the preset's
shingles on the normalised texts:
- recall per bin of the pairs' exact Jaccard ([t, 0.95) and [0.95, 1]): the share of pairs of which at
  most one document is kept;
- precision at the threshold: the share of removed documents whose exact Jaccard with the document
  kept for them (`cluster_id`; datasketch: the component's smallest doc_id) reaches t;
- seconds of pileline's dedup phase and of the whole run (prepare, dedup, tokens), and their ratios to
  `components` (each run prepares the corpus anew, in its own run directory).

Identity, exit 1 if it fails: `components` (datasketch's banding, no verification) removes exactly the
documents the datasketch reference removes, each for the same kept document.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import datasketch
import numpy as np
import orjson
import pyarrow.parquet as pq
import ray
from real_text import write_real_text_corpus

from pipeline.formats.filesystems import expand_inputs
from pipeline.formats.run_layout import prepare_key, stage_dir
from pipeline.manifest import Manifest, parse_manifest
from pipeline.phases.runner import run_manifest
from pipeline.runtime.progress import Progress
from pipeline.sample.corpus import GROUND_TRUTH, write_sample_corpus
from stages.batch import make_doc_id
from stages.minhash import exact_jaccard
from stages.minhash import signatures as minhash_signatures

METHODS = {
    "components (pythia)": {"preset": "pythia"},
    "threshold-true": {"preset": "threshold-true"},
    "threshold-true-signature (verify: signature)": {"preset": "threshold-true", "verify": "signature"},
}


class DedupClock(Progress):
    """A quiet Progress that adds up the seconds of every phase whose name starts with 'dedup'."""

    def __init__(self) -> None:
        super().__init__(quiet=True)
        self.dedup_seconds = 0.0
        self._started: float | None = None

    def start_phase(self, phase: str, unit: str = "partitions") -> None:
        super().start_phase(phase, unit)
        self._started = time.perf_counter() if phase.startswith("dedup") else None

    def finish_phase(self) -> None:
        super().finish_phase()
        if self._started is not None:
            self.dedup_seconds += time.perf_counter() - self._started
            self._started = None


def planted_pairs(corpus: Path) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Ground-truth pairs of a corpus (train files only): member with original, chain link with previous."""
    files = sorted(p.name for p in (corpus / "train").glob("*.jsonl.zst"))
    pairs = []
    for line in (corpus / GROUND_TRUTH).read_bytes().splitlines():
        group = orjson.loads(line)
        members = [
            (files.index(Path(m["file"]).name), m["line"]) for m in group["members"] if m["file"].startswith("train/")
        ]
        for i in range(1, len(members)):
            pairs.append((members[i - 1] if group["kind"] == "chain" else members[0], members[i]))
    return pairs


def run_pipeline(corpus: Path, work: Path, name: str, dedup: dict, cpus: int) -> tuple[Manifest, float, float]:
    """Run pileline on the corpus; returns the manifest, the dedup phase's seconds and the whole run's."""
    manifest = parse_manifest(
        {
            "inputs": [str(corpus / "train" / "*.jsonl.zst")],
            "output": str(work / f"run-{name}"),
            "partition_docs": 1000,
            "ray": {"num_cpus": cpus},
            "filter": {"preset": "none"},
            "dedup": dedup,
            "shards": {"shard_bytes": 1 << 20},
        }
    )
    clock = DedupClock()
    started = time.perf_counter()
    run_manifest(manifest, clock)
    return manifest, clock.dedup_seconds, time.perf_counter() - started


def load_documents(manifest: Manifest) -> tuple[dict[int, str], dict[int, np.ndarray]]:
    """Texts by doc_id, from the run's prepare partitions, and their signatures computed as the dedup phase
    computes them (`stages.minhash.signatures`; a run keeps none)."""
    files = expand_inputs(manifest.inputs)
    prepare_dir = Path(manifest.output) / stage_dir("prepare", prepare_key(manifest, files))
    texts: dict[int, str] = {}
    signatures: dict[int, np.ndarray] = {}
    for path in sorted(prepare_dir.glob("*.docs.parquet")):
        table = pq.read_table(path, columns=["doc_id", "text"])
        ids = table.column("doc_id").to_pylist()
        texts.update(zip(ids, table.column("text").to_pylist()))
        signatures.update(zip(ids, minhash_signatures(table.column("text"), manifest.dedup)))
    return texts, signatures


def pileline_removed(manifest: Manifest) -> dict[int, int]:
    """removed doc_id -> the doc_id kept for it (`cluster_id`), from dedup/clusters.parquet."""
    rows = pq.read_table(Path(manifest.output) / "dedup" / "clusters.parquet", columns=["doc_id", "cluster_id", "kept"])
    return {r["doc_id"]: r["cluster_id"] for r in rows.to_pylist() if not r["kept"]}


def datasketch_removed(manifest: Manifest, signatures: dict[int, np.ndarray]) -> dict[int, int]:
    """removed doc_id -> its component's smallest doc_id, components of MinHashLSH query results."""
    dedup = manifest.dedup
    lsh = datasketch.MinHashLSH(threshold=dedup.threshold, num_perm=dedup.num_perm)
    template = datasketch.MinHash(num_perm=dedup.num_perm, seed=dedup.seed)
    minhashes = {
        doc: datasketch.MinHash(
            num_perm=dedup.num_perm,
            seed=dedup.seed,
            hashvalues=values,
            permutations=template.permutations,
            scheme="affine32",
        )
        for doc, values in signatures.items()
    }
    with lsh.insertion_session() as session:
        for doc, minhash in minhashes.items():
            session.insert(doc, minhash)
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    for doc, minhash in minhashes.items():
        for other in lsh.query(minhash):
            a, b = find(doc), find(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return {doc: find(doc) for doc in parent}


def measure(removed: dict[int, int], pairs: list[tuple[int, int, float]], texts: dict[int, str], dedup) -> dict:
    """Recall per Jaccard bin over `pairs` (a, b, exact J) and precision at the threshold over every removal."""
    t = dedup.threshold
    bins = {f"[{t}, 0.95)": (t, 0.95), "[0.95, 1]": (0.95, 1.01)}
    out: dict = {}
    for name, (low, high) in bins.items():
        inside = [(a, b) for a, b, j in pairs if low <= j < high]
        caught = sum(a in removed or b in removed for a, b in inside)
        out[name] = (caught, len(inside))
    precise = sum(exact_jaccard(texts[d], texts[k], dedup.shingle, dedup.ngram) >= t for d, k in removed.items())
    out["precision"] = (precise, len(removed))
    return out


def _ratio(pair: tuple[int, int]) -> str:
    return f"{pair[0] / pair[1]:.3f} ({pair[0]}/{pair[1]})" if pair[1] else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", choices=["sample", "heldout"], default="heldout")
    parser.add_argument("--docs", type=int, default=6000, help="documents of the sample (default 6000)")
    parser.add_argument("--megabytes", type=float, default=20.0, help="text of the heldout corpus (default 20 MB)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="dedup-quality-"))
    corpus = work / "corpus"
    if args.corpus == "sample":
        write_sample_corpus(corpus, docs=args.docs, seed=args.seed)
    else:
        print(f"real-text corpus: {write_real_text_corpus(corpus, args.megabytes, args.seed).describe()}")
    places = planted_pairs(corpus)
    ray.init(
        address="local",  # a new instance, never another Ray running on this machine
        num_cpus=args.cpus,
        include_dashboard=False,
        logging_level=logging.WARNING,
        log_to_driver=False,
    )
    try:
        runs = {
            name: run_pipeline(corpus, work, name.split(" ")[0], dedup, args.cpus) for name, dedup in METHODS.items()
        }
    finally:
        ray.shutdown()
    components = runs["components (pythia)"][0]
    texts, signatures = load_documents(components)
    dedup = runs["threshold-true"][0].dedup
    pairs = []
    for (fa, la), (fb, lb) in places:
        a, b = make_doc_id(fa, la), make_doc_id(fb, lb)
        if a in texts and b in texts:
            pairs.append((a, b, exact_jaccard(texts[a], texts[b], dedup.shingle, dedup.ngram)))
    started = time.perf_counter()
    reference = datasketch_removed(components, signatures)
    reference_seconds = time.perf_counter() - started
    removed_by = {name: pileline_removed(manifest) for name, (manifest, _, _) in runs.items()}
    removed_by["datasketch.MinHashLSH"] = reference
    if removed_by["components (pythia)"] != reference:
        raise SystemExit(
            "FAIL: pileline's components differ from datasketch.MinHashLSH's on the same signatures and banding"
        )
    results = {name: measure(removed, pairs, texts, dedup) for name, removed in removed_by.items()}
    print(
        f"\ncorpus: {args.corpus}, {len(texts):,} documents, {len(pairs):,} planted pairs; "
        f"threshold {dedup.threshold}, "
        f"word 5-grams, {dedup.num_perm} permutations; work dir {work}"
    )
    bins = [k for k in next(iter(results.values())) if k != "precision"]
    header = f"recall {bins[0]} | recall {bins[1]} | precision at J >= {dedup.threshold}"
    print(f"| method | {header} | dedup s | / components | run s | / components |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        _, seconds, total = runs.get(name, (None, reference_seconds, None))
        _, base, base_total = runs["components (pythia)"]
        cells = [
            _ratio(r[bins[0]]),
            _ratio(r[bins[1]]),
            _ratio(r["precision"]),
            f"{seconds:.2f}",
            f"{seconds / base:.2f}",
        ]
        cells += ["-", "-"] if total is None else [f"{total:.1f}", f"{total / base_total:.2f}"]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\n(datasketch: one process, LSH + components, on the signatures pileline computed)")


if __name__ == "__main__":
    main()
