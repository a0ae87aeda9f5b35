"""A measured recall of dedup at its threshold, on a sample of the run's train documents.

Train partitions are taken in the order of a keyed hash of their names (the report's seed) until
about `MAX_DOCS` documents. Their signatures (computed here as the dedup phase computes them) are
banded densely (`DENSE_BANDS` bands of `DENSE_ROWS` rows: a pair at Jaccard 0.8 shares a band with
probability 1 - 4e-10, whatever banding the run used) and every pair sharing a band key of at most
`DENSE_GROUP` documents is a candidate (`stages.clustering.star_edges`). Candidates whose signatures
agree on at least `threshold - 0.1` of their values get the exact shingle Jaccard of their texts;
the pairs at or above the threshold are the ones dedup should have caught, and a pair is caught
when dedup kept at most one of its two documents. The recall is their share, with a Wilson interval.
"""

from __future__ import annotations

import numpy as np

from pipeline.inspection.audit_sample import sample_keys, wilson_interval
from pipeline.inspection.cluster_table import document_rows
from pipeline.inspection.run_files import RunFiles
from stages.clustering import star_edges
from stages.lsh import band_keys
from stages.minhash import exact_jaccard

MAX_DOCS = 20_000
DENSE_BANDS = 32
DENSE_ROWS = 4
DENSE_GROUP = 64
ESTIMATE_SLACK = 0.1


def _sampled_documents(files: RunFiles, seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(doc_ids, signatures, texts) of the sampled train partitions."""
    partitions = files.train_partitions()
    keys = sample_keys(np.arange(len(partitions)), seed)
    doc_ids, signatures, texts = [], [], []
    total = 0
    for index in np.argsort(keys, kind="stable"):
        table = files.run.read_parquet(files.docs_path(partitions[index].name), columns=["doc_id", "text"])
        if table.num_rows == 0:
            continue
        doc_ids.append(table.column("doc_id").to_numpy())
        signatures.append(files.signatures(table.column("text")))
        texts.extend(table.column("text").to_pylist())
        total += table.num_rows
        if total >= MAX_DOCS:
            break
    if not doc_ids:
        return np.zeros(0, np.int64), np.zeros((0, 0), np.uint32), []
    return np.concatenate(doc_ids), np.concatenate(signatures), texts


def measure_recall(files: RunFiles, seed: int) -> dict:
    """{pairs, caught, recall, interval, documents, threshold} for pairs at or above the run's threshold."""
    dedup = files.manifest["dedup"]
    threshold = dedup["threshold"]
    doc_ids, signatures, texts = _sampled_documents(files, seed)
    result = {
        "documents": int(doc_ids.size),
        "threshold": threshold,
        "pairs": 0,
        "caught": 0,
        "recall": None,
        "interval": (0.0, 1.0),
    }
    if doc_ids.size < 2 or signatures.shape[1] < DENSE_BANDS * DENSE_ROWS:
        return result
    keys = band_keys(np.ascontiguousarray(signatures, dtype=np.uint32), DENSE_BANDS, DENSE_ROWS)
    rows = np.arange(doc_ids.size)
    src, dst, _ = star_edges(keys.reshape(-1), np.repeat(rows, DENSE_BANDS), DENSE_GROUP)
    estimate = (signatures[src] == signatures[dst]).mean(axis=1) if src.size else np.zeros(0)
    close = estimate >= threshold - ESTIMATE_SLACK
    pairs = [
        (int(a), int(b))
        for a, b in zip(src[close], dst[close])
        if exact_jaccard(texts[a], texts[b], dedup["shingle"], dedup["ngram"]) >= threshold
    ]
    if not pairs:
        return result
    involved = sorted({doc_ids[i] for pair in pairs for i in pair})
    removed = {row["doc_id"] for row in document_rows(files, [int(d) for d in involved]).to_pylist() if not row["kept"]}
    caught = sum(doc_ids[a] in removed or doc_ids[b] in removed for a, b in pairs)
    return {
        **result,
        "pairs": len(pairs),
        "caught": caught,
        "recall": caught / len(pairs),
        "interval": wilson_interval(caught, len(pairs)),
    }
