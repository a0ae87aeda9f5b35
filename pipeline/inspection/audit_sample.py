"""An audit of dedup: random removed documents beside their kept copy, and the precision they imply.

The sample is the `n` removed documents (duplicates and copies of holdout documents) with the
smallest keyed hash `fmix64(doc_id XOR splitmix64(seed))`: a uniform random sample without
replacement that depends only on the seed and the clusters table, never on row groups or task
order. Each row group gives its `n` smallest (`sample_in_group`), and the driver keeps the `n`
smallest of those.

For each sampled document, the kept copy is its cluster's kept member (for a copy of a holdout
document, the cluster's first holdout member). `compare_pair` reads the two texts and measures the
exact Jaccard similarity of their shingle sets with the run's shingling (`stages.minhash.exact_jaccard`),
the MinHash estimate from their stored signatures, and a word-level diff. A removal is judged
correct when the exact Jaccard reaches the run's threshold; the precision of dedup is estimated as
the share of correct removals, with a Wilson score interval. A removal below the threshold is
compared with other members of its cluster to tell a chain (close to another member) from a
MinHash/LSH false positive (close to none of them).
"""

from __future__ import annotations

import difflib
import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.formats.run_directory import RunDirectory
from pipeline.inspection.cluster_table import cluster_rows, read_group, row_groups
from pipeline.inspection.run_files import RunFiles
from pipeline.runtime.ray_or_local_map import parallel_map
from stages.minhash import estimated_jaccard, exact_jaccard, fmix64, splitmix64

Z_95 = 1.959963984540054
"""The standard normal quantile of a two-sided 95% interval."""
DIFF_WORDS = 4000
"""The word diff compares at most this many leading words of each document (Jaccard uses all of them)."""
CONTEXT_WORDS = 12
"""Unchanged runs longer than twice this are shown as their first and last CONTEXT_WORDS words."""
NEIGHBOURS = 20
"""A removal below the threshold is compared with up to this many other members of its cluster."""


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval for a binomial proportion (0, 1 when there are no trials)."""
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def sample_keys(doc_ids: np.ndarray, seed: int) -> np.ndarray:
    """The keyed hash that orders documents for sampling (uint64)."""
    _, salt = splitmix64(seed)
    return fmix64(np.asarray(doc_ids, dtype=np.int64).astype(np.uint64) ^ np.uint64(salt))


def sample_in_group(run: RunDirectory, group: int, seed: int, n: int) -> pa.Table:
    """The `n` removed rows of one row group with the smallest sample keys, with their `key`."""
    table = read_group(run, group)
    table = table.filter(pc.invert(table.column("kept")))
    keys = sample_keys(table.column("doc_id").to_numpy(), seed)
    order = np.argsort(keys, kind="stable")[:n]
    return table.take(pa.array(order)).append_column("key", pa.array(keys[order], pa.uint64()))


def draw_sample(files: RunFiles, n: int, seed: int) -> pa.Table:
    """The `n` removed documents with the smallest sample keys (fewer if fewer were removed), in key order."""
    if n <= 0 or not files.has_clusters():
        return pa.table({})

    def combine(acc: pa.Table | None, part: pa.Table) -> pa.Table:
        merged = part if acc is None else pa.concat_tables([acc, part])
        return merged.sort_by("key").slice(0, n)

    result = parallel_map(
        sample_in_group, [(files.run, g, seed, n) for g in range(row_groups(files.run))], combine, None
    )
    return pa.table({}) if result is None else result


def kept_copies(files: RunFiles, cluster_ids: list[int]) -> dict[int, dict]:
    """For each cluster: its kept member with the smallest doc_id (a holdout member when the cluster has one)."""
    rows = cluster_rows(files, cluster_ids, limit=0)
    copies: dict[int, dict] = {}
    for row in rows.to_pylist() if rows.num_rows else []:
        if row["kept"] and row["cluster_id"] not in copies:
            copies[row["cluster_id"]] = row
    return copies


def _document(files: RunFiles, doc_id: int) -> dict:
    partition = files.partition_of(doc_id)
    return files.texts(partition.name, [doc_id])[doc_id]


def word_diff(removed: str, kept: str, limit: int = DIFF_WORDS, context: int = CONTEXT_WORDS) -> list[tuple[str, str]]:
    """A word-level diff as (op, text) pieces: `equal`, `removed` (only in the removed document), `kept`
    (only in the kept copy), and `skip` for the middle of a long unchanged run ("… N words …")."""
    a, b = removed.split()[:limit], kept.split()[:limit]
    pieces: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            words = a[i1:i2]
            if len(words) > 2 * context:
                skipped = f"… {len(words) - 2 * context:,} words …"
                pieces += [
                    ("equal", " ".join(words[:context])),
                    ("skip", skipped),
                    ("equal", " ".join(words[-context:])),
                ]
            else:
                pieces.append(("equal", " ".join(words)))
            continue
        if i2 > i1:
            pieces.append(("removed", " ".join(a[i1:i2])))
        if j2 > j1:
            pieces.append(("kept", " ".join(b[j1:j2])))
    return pieces


def compare_pair(files: RunFiles, removed: dict, kept: dict) -> dict:
    """Exact and estimated Jaccard, sizes in words and a word diff of a removed document and its kept copy."""
    dedup = files.manifest["dedup"]
    a, b = _document(files, removed["doc_id"]), _document(files, kept["doc_id"])
    exact = exact_jaccard(a["text"], b["text"], dedup["shingle"], dedup["ngram"])
    signature_a, signature_b = files.signatures([a["text"], b["text"]])
    estimated = estimated_jaccard(signature_a, signature_b)
    words_a, words_b = len(a["text"].split()), len(b["text"].split())
    return {
        "removed": {k: removed[k] for k in ("doc_id", "source", "line", "pile_set_name", "contaminated")},
        "kept": {k: kept[k] for k in ("doc_id", "source", "line", "pile_set_name")},
        "cluster_id": removed["cluster_id"],
        "exact_jaccard": exact,
        "estimated_jaccard": estimated,
        "correct": exact >= dedup["threshold"],
        "words": [words_a, words_b],
        "diff_truncated": max(words_a, words_b) > DIFF_WORDS,
        "diff": word_diff(a["text"], b["text"]),
    }


def closest_member(files: RunFiles, removed: dict, members: list[dict]) -> dict | None:
    """The member (other than `removed`) whose shingle set is most similar to it: {doc_id, jaccard}.

    Texts are read once per partition that holds members.
    """
    dedup = files.manifest["dedup"]
    text = _document(files, removed["doc_id"])["text"]
    by_partition: dict[str, list[int]] = {}
    for member in members:
        if member["doc_id"] != removed["doc_id"]:
            by_partition.setdefault(files.partition_of(member["doc_id"]).name, []).append(member["doc_id"])
    best = None
    for partition, doc_ids in sorted(by_partition.items()):
        for doc_id, row in sorted(files.texts(partition, doc_ids).items()):
            similarity = exact_jaccard(text, row["text"], dedup["shingle"], dedup["ngram"])
            if best is None or similarity > best["jaccard"]:
                best = {"doc_id": doc_id, "jaccard": similarity}
    return best


def _diagnose(files: RunFiles, pairs: list[dict]) -> None:
    """For removals below the threshold: the closest of up to NEIGHBOURS other members of the cluster.

    If one reaches the threshold, the removal came from a chain (close to another member, not to the
    kept copy); if none does, from a MinHash/LSH false positive (among the members compared).
    """
    wrong = [p for p in pairs if not p["correct"]]
    if not wrong:
        return
    rows = cluster_rows(files, [p["cluster_id"] for p in wrong], limit=NEIGHBOURS)
    members: dict[int, list[dict]] = {}
    for row in rows.to_pylist() if rows.num_rows else []:
        members.setdefault(row["cluster_id"], []).append(row)
    args = [(files, p["removed"], members.get(p["cluster_id"], [])) for p in wrong]
    closest = parallel_map(closest_member, args, lambda acc, best: acc + [best], [])
    for pair, best in zip(wrong, closest):
        pair["closest"] = best
        pair["compared"] = len(members.get(pair["cluster_id"], [])) - 1
        reaches = best is not None and best["jaccard"] >= files.manifest["dedup"]["threshold"]
        pair["cause"] = "chain" if reaches else "false positive"


def audit(files: RunFiles, n: int, seed: int) -> dict:
    """The audit sample of `n` removed documents and dedup's estimated precision (see the module doc)."""
    sample = draw_sample(files, n, seed)
    rows = sample.to_pylist() if sample.num_rows else []
    copies = kept_copies(files, [r["cluster_id"] for r in rows])
    pairs_args = [(files, row, copies[row["cluster_id"]]) for row in rows if row["cluster_id"] in copies]
    pairs = parallel_map(compare_pair, pairs_args, lambda acc, pair: acc + [pair], [])
    _diagnose(files, pairs)
    correct = sum(p["correct"] for p in pairs)
    low, high = wilson_interval(correct, len(pairs))
    return {
        "requested": n,
        "seed": seed,
        "size": len(pairs),
        "threshold": files.manifest["dedup"]["threshold"],
        "shingle": files.manifest["dedup"]["shingle"],
        "ngram": files.manifest["dedup"]["ngram"],
        "correct": correct,
        "chains": sum(p.get("cause") == "chain" for p in pairs),
        "false_positives": sum(p.get("cause") == "false positive" for p in pairs),
        "precision": correct / len(pairs) if pairs else None,
        "interval": [low, high],
        "confidence": 0.95,
        "pairs": pairs,
    }
