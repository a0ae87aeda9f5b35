"""Dedup quality on the sample corpus's ground truth: pileline against datasketch.MinHashLSH on the same signatures.

    python benchmarks/dedup_quality.py [--corpus DIR] [--docs N] [--preset pythia] [--verify none|signature|exact]
                                       [--partition-docs N] [--cpus N] [--work DIR]

Without --corpus a sample is written by `pipeline.sample.corpus.write_sample_corpus(out, docs=N, seed=0)`
(default 6000 documents). The real pipeline (`pipeline.phases.runner.run_manifest`, embedded Ray) runs on its
train files with the preset's dedup, `verify` as asked and no quality filter, so every document reaches
dedup; the val file is not an input (no holdout), so a holdout group's train copies are one group.

Measures, against `ground_truth.jsonl` (groups whose first member is the original):
- recall: of the removable documents (all but one of each group's members in train files), the share
  removed;
- precision: of the removed documents, the share whose kept copy (same component, kept) has exact
  shingle Jaccard (the preset's shingles, on the normalised texts of the prepare partitions) of at
  least threshold - 0.1. Removed documents in no group are counted under "unplanned".

The reference is `datasketch.MinHashLSH(threshold, num_perm, weights)` (or `params=(bands, rows)` for
a preset that fixes them) fed the signatures pileline computed (the `signature` column of the prepare
partitions): every document is queried, each pair it returns (a candidate: a shared band) is kept if it
passes the same verification (`signature`: MinHash.jaccard, `exact`: exact shingle Jaccard, at least
the threshold), and the components keep their smallest doc_id, as pileline does.

Identity, exit 1 if it fails: datasketch's banding equals pileline's; with `verify: none` both take
the components of "shares a band", so the removed sets must be equal. With verification, pileline
verifies all pairs of a band bucket of at most `VERIFY_ALL_PAIRS_UP_TO` documents and star edges (each
document to the bucket's smallest) in larger ones, not every candidate pair, so it may split a
component the reference keeps whole: its removed set must equal the one computed here by the same
rule over datasketch's own band tables with the same verification, and be a subset of the
reference's (a document pileline removes is not its component's smallest, nor its larger reference
component's).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import datasketch
import numpy as np
import orjson
import pyarrow.parquet as pq
import ray

from pipeline.formats.filesystems import expand_inputs
from pipeline.manifest import Manifest, parse_manifest
from pipeline.phases.dedup import VERIFY_ALL_PAIRS_UP_TO
from pipeline.phases.runner import prepare_hash, run_manifest
from pipeline.runtime.progress import Progress
from pipeline.sample.corpus import GROUND_TRUTH, write_sample_corpus
from stages.batch import make_doc_id
from stages.dedup import DEDUP_PRESETS
from stages.minhash import exact_jaccard

KINDS = ("exact", "near", "chain", "holdout")
UNPLANNED = "unplanned"
PRECISION_SLACK = 0.1


class Components:
    """Union-find over doc_ids; `removed` is every member but each component's smallest doc_id."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        root = x
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while self.parent.get(x, x) != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)  # the root is always the component minimum

    def kept_copy(self) -> dict[int, int]:
        """removed doc_id -> its component's smallest doc_id."""
        return {x: self.find(x) for x in self.parent if self.find(x) != x}


def run_pipeline(corpus: Path, work: Path, preset: str, verify: str, partition_docs: int) -> tuple[Manifest, float]:
    manifest = parse_manifest(
        {
            "inputs": [str(corpus / "train" / "*.jsonl.zst")],
            "output": str(work / f"run-{preset}-{verify}"),
            "partition_docs": partition_docs,
            "filter": {"preset": "none"},
            "dedup": {"preset": preset, "verify": verify},
        }
    )
    started = time.perf_counter()
    run_manifest(manifest, Progress(quiet=True))
    return manifest, time.perf_counter() - started


def load_documents(manifest: Manifest) -> tuple[list[str], dict[int, str], dict[int, np.ndarray]]:
    """(train files in doc_id order, texts and signatures by doc_id) from the run's prepare partitions."""
    files = expand_inputs(manifest.inputs)
    prepare_dir = Path(manifest.output) / "stages" / f"prepare-{prepare_hash(manifest, files)}"
    texts: dict[int, str] = {}
    signatures: dict[int, np.ndarray] = {}
    for path in sorted(prepare_dir.glob("*.docs.parquet")):
        table = pq.read_table(path, columns=["doc_id", "text", "signature"])
        ids = table.column("doc_id").to_pylist()
        flat = table.column("signature").combine_chunks().flatten().to_numpy()
        values = flat.reshape(len(ids), manifest.dedup.num_perm)
        texts.update(zip(ids, table.column("text").to_pylist()))
        signatures.update(zip(ids, values))
    return files, texts, signatures


def load_truth(corpus: Path, files: list[str]) -> list[tuple[str, list[int]]]:
    """(kind, doc_ids of the group's members in train files) per ground-truth group."""
    index = {str(Path(f).resolve()): i for i, f in enumerate(files)}
    groups = []
    for line in (corpus / GROUND_TRUTH).read_bytes().splitlines():
        group = orjson.loads(line)
        members = []
        for member in group["members"]:
            file_index = index.get(str((corpus / member["file"]).resolve()))
            if file_index is not None:
                members.append(make_doc_id(file_index, member["line"]))
        groups.append((group["kind"], members))
    return groups


def pileline_removed(manifest: Manifest) -> dict[int, int]:
    """removed doc_id -> the doc_id kept in its component, from dedup/clusters.parquet."""
    rows = pq.read_table(Path(manifest.output) / "dedup" / "clusters.parquet").to_pylist()
    keeper = {r["cluster_id"]: r["doc_id"] for r in rows if r["kept"]}
    return {r["doc_id"]: keeper[r["cluster_id"]] for r in rows if not r["kept"]}


def reference(
    manifest: Manifest, texts: dict[int, str], signatures: dict[int, np.ndarray], bands_rows: tuple[int, int]
):
    """(all-pairs removed -> kept, pileline's edge rule removed -> kept, seconds) from datasketch.MinHashLSH."""
    dedup = manifest.dedup
    started = time.perf_counter()
    if dedup.bands is not None:
        lsh = datasketch.MinHashLSH(
            threshold=dedup.threshold, num_perm=dedup.num_perm, params=(dedup.bands, dedup.rows)
        )
    else:
        lsh = datasketch.MinHashLSH(threshold=dedup.threshold, num_perm=dedup.num_perm, weights=tuple(dedup.weights))
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

    checked: dict[tuple[int, int], bool] = {}

    def passes(a: int, b: int) -> bool:
        pair = (min(a, b), max(a, b))
        if pair not in checked:
            if dedup.verify == "signature":
                checked[pair] = minhashes[a].jaccard(minhashes[b]) >= dedup.threshold
            elif dedup.verify == "exact":
                checked[pair] = exact_jaccard(texts[a], texts[b], dedup.shingle, dedup.ngram) >= dedup.threshold
            else:
                checked[pair] = True
        return checked[pair]

    all_pairs = Components()
    for doc, minhash in minhashes.items():
        for other in lsh.query(minhash):
            if other != doc and passes(doc, other):
                all_pairs.union(doc, other)
    stars = Components()
    all_pairs_up_to = VERIFY_ALL_PAIRS_UP_TO if dedup.verify != "none" else 0
    for table in lsh.hashtables:
        for key in table.keys():
            members = sorted(set(table.get(key)))
            if len(members) <= all_pairs_up_to:
                pairs = [(a, b) for i, b in enumerate(members) for a in members[i + 1 :]]
            else:
                pairs = [(doc, members[0]) for doc in members[1:]]
            for a, b in pairs:
                if passes(a, b):
                    stars.union(a, b)
    seconds = time.perf_counter() - started
    if (lsh.b, lsh.r) != bands_rows:
        sys.exit(
            f"FAIL: datasketch bands x rows {lsh.b}x{lsh.r} differ from pileline's {bands_rows[0]}x{bands_rows[1]}"
        )
    return all_pairs.kept_copy(), stars.kept_copy(), seconds


def quality(
    removed: dict[int, int], groups: list[tuple[str, list[int]]], texts: dict[int, str], manifest: Manifest
) -> dict:
    """Per kind (and unplanned, all): removable, found, removed, precise."""
    dedup = manifest.dedup
    rows = {kind: defaultdict(int) for kind in (*KINDS, UNPLANNED, "all")}
    kind_of: dict[int, str] = {}
    for kind, members in groups:
        present = [m for m in members if m in texts]
        removable = max(len(present) - 1, 0)
        found = min(sum(m in removed for m in present), removable)
        for key in (kind, "all"):
            rows[key]["removable"] += removable
            rows[key]["found"] += found
        kind_of.update({m: kind for m in present})
    for doc, keeper in removed.items():
        similar = (
            exact_jaccard(texts[doc], texts[keeper], dedup.shingle, dedup.ngram) >= dedup.threshold - PRECISION_SLACK
        )
        for key in (kind_of.get(doc, UNPLANNED), "all"):
            rows[key]["removed"] += 1
            rows[key]["precise"] += similar
    return rows


def _ratio(numerator: int, denominator: int) -> str:
    return f"{numerator / denominator:.3f}" if denominator else "-"


def print_table(title: str, ours: dict, theirs: dict) -> None:
    print(f"\n{title}")
    header = (
        f"| {'kind':10} | {'removable':>9} | {'recall':>7} | {'ref recall':>10} | {'removed':>7} | "
        f"{'precision':>9} | {'ref removed':>11} | {'ref precision':>13} |"
    )
    print(header)
    cells = header.strip("|").split("|")
    print("|" + "|".join(["-" * len(cells[0])] + ["-" * (len(cell) - 1) + ":" for cell in cells[1:]]) + "|")
    for kind in (*KINDS, UNPLANNED, "all"):
        a, b = ours[kind], theirs[kind]
        removable = "-" if kind == UNPLANNED else str(a["removable"])
        recall = "-" if kind == UNPLANNED else _ratio(a["found"], a["removable"])
        ref_recall = "-" if kind == UNPLANNED else _ratio(b["found"], b["removable"])
        print(
            f"| {kind:10} | {removable:>9} | {recall:>7} | {ref_recall:>10} | {a['removed']:>7} | "
            f"{_ratio(a['precise'], a['removed']):>9} | {b['removed']:>11} | {_ratio(b['precise'], b['removed']):>13} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus", type=Path, help="a sample corpus directory (with ground_truth.jsonl); default: generated"
    )
    parser.add_argument("--docs", type=int, default=6000, help="documents of the generated sample (default 6000)")
    parser.add_argument("--preset", choices=sorted(DEDUP_PRESETS), default="pythia")
    parser.add_argument("--verify", choices=["none", "signature", "exact"], default="none")
    parser.add_argument(
        "--partition-docs", type=int, default=1000, help="documents per prepare partition (default 1000)"
    )
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the embedded Ray (default 2)")
    parser.add_argument(
        "--work", type=Path, help="keep the corpus and run directory here (default: a temporary directory)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="dedup-quality-") as scratch:
        work = args.work or Path(scratch)
        corpus = args.corpus
        if corpus is None:
            corpus = work / "corpus"
            if not (corpus / GROUND_TRUTH).exists():
                write_sample_corpus(corpus, docs=args.docs, seed=0)
        if not (corpus / GROUND_TRUTH).exists():
            sys.exit(f"{corpus}: no {GROUND_TRUTH}; give a corpus written by pipeline.sample.corpus")
        ray.init(
            address="local",
            num_cpus=args.cpus,
            include_dashboard=False,
            logging_level=logging.WARNING,
            log_to_driver=False,
        )
        try:
            manifest, run_seconds = run_pipeline(corpus, work, args.preset, args.verify, args.partition_docs)
        finally:
            ray.shutdown()
        stats = orjson.loads((Path(manifest.output) / "stats" / "dedup.json").read_bytes())
        bands_rows = (stats["params"]["bands"], stats["params"]["rows"])
        files, texts, signatures = load_documents(manifest)
        groups = load_truth(corpus, files)
        ours = pileline_removed(manifest)
        all_pairs, stars, reference_seconds = reference(manifest, texts, signatures, bands_rows)

    dedup = manifest.dedup
    print(
        f"corpus: {corpus} ({len(texts)} train documents, {len(groups)} ground-truth groups); preset {args.preset}: "
        f"{dedup.shingle} {dedup.ngram}-grams, {dedup.num_perm} permutations, threshold {dedup.threshold}, "
        f"{bands_rows[0]} bands x {bands_rows[1]} rows ({stats['params']['banding']}), verify {dedup.verify}"
    )
    print(
        f"pileline: whole run {run_seconds:.1f} s on {args.cpus} CPUs; {stats['candidate_pairs']} candidate pairs, "
        f"{stats['star_edges']} star edges, {stats['edges']} edges after verification, {stats['duplicates']} removed"
    )
    print(
        f"reference (datasketch.MinHashLSH, all candidate pairs, same verification): {reference_seconds:.1f} s; "
        f"{len(all_pairs)} removed"
    )
    print_table(
        f"recall and precision (precision: kept copy's exact Jaccard >= {dedup.threshold - PRECISION_SLACK:.2f})",
        quality(ours, groups, texts, manifest),
        quality(all_pairs, groups, texts, manifest),
    )

    ok = True
    removed, reference_removed, star_removed = set(ours), set(all_pairs), set(stars)
    if dedup.verify == "none" and removed != reference_removed:
        print(
            f"FAIL: verify none: pileline removed {len(removed)}, datasketch {len(reference_removed)}; "
            f"{len(removed - reference_removed)} only in pileline, {len(reference_removed - removed)} only in "
            "datasketch",
            file=sys.stderr,
        )
        ok = False
    if removed != star_removed:
        print(
            f"FAIL: pileline's removed set differs from its edge rule over datasketch's band tables "
            f"({len(removed ^ star_removed)} documents)",
            file=sys.stderr,
        )
        ok = False
    if not removed <= reference_removed:
        print(
            f"FAIL: pileline removed {len(removed - reference_removed)} documents the all-pairs reference keeps",
            file=sys.stderr,
        )
        ok = False
    if ok:
        print(
            f"identity: pileline's removed set equals its edge rule computed on datasketch's band tables; "
            f"all-pairs reference removes {len(reference_removed - removed)} more "
            + (
                "(must be 0 without verification)"
                if dedup.verify == "none"
                else f"(stars in buckets of more than {VERIFY_ALL_PAIRS_UP_TO}, not all pairs)"
            )
        )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
