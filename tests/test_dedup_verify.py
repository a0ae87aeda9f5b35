"""Dedup verification on real Ray: `none` removes every LSH candidate, `signature` follows the MinHash
estimate, `exact` follows the exact word-5-gram Jaccard; `exact` does not depend on partitioning.

Planted pairs sit in different files; their exact Jaccard is computed here by a small independent
function, and their signatures by datasketch itself (`hash: sha1` gives plain datasketch values).
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import orjson
import pyarrow.parquet as pq
import pytest
from datasketch import MinHash
from input_files_for_tests import doc_line, write_lines

from pipeline.formats.filesystems import expand_inputs
from pipeline.formats.run_directory import RunDirectory
from pipeline.formats.run_layout import prepare_key, stage_dir
from pipeline.manifest import parse_manifest
from pipeline.phases.dedup import PartitionRef, make_plan, run_dedup_phase, write_dedup_outputs
from pipeline.phases.prepare import run_prepare_phase
from pipeline.runtime.progress import Progress
from pipeline.runtime.ray_session import InFlightLimit
from stages.batch import make_doc_id, split_doc_id

THRESHOLD = 0.8
BANDS, ROWS, NUM_PERM = 32, 4, 128
VOCABULARY = [f"w{i}" for i in range(5000)]
DOC_WORDS = 200
FILLERS_PER_FILE = 12

# Replaced word positions per planted copy. A word inside the text is in 5 shingles, the last word in 1,
# the last two words in 2 between them: 200 distinct words give 196 shingles and
# J = (196 - changed) / (196 + changed).
PLANTS = {
    "above": [20, 60, 100, 140, 199],  # changed 21: 175/217 = 0.806
    "below": [20, 60, 100, 140, 198, 199],  # changed 22: 174/218 = 0.798
    "close": [100],  # 191/201 = 0.950
    "far": [10, 30, 50, 70, 90, 110, 130, 150],  # 156/236 = 0.661
}


def _shingle_set(text: str) -> set[str]:
    words = text.lower().split()
    return {" ".join(words[i : i + 5]) for i in range(len(words) - 4)}


def _jaccard(a: str, b: str) -> float:
    x, y = _shingle_set(a), _shingle_set(b)
    return len(x & y) / len(x | y)


def _minhash(text: str) -> MinHash:
    m = MinHash(num_perm=NUM_PERM, seed=1)
    m.update_batch([s.encode() for s in _shingle_set(text)])
    return m


def _corpus(root: Path) -> dict[str, tuple[int, int, str, str]]:
    """Two train files of unrelated documents with one planted pair per kind, original in file 00 and
    copy in file 01; returns kind -> (original doc_id, copy doc_id, original text, copy text)."""
    rng = random.Random(11)
    files: list[list[str]] = [
        [" ".join(rng.sample(VOCABULARY, DOC_WORDS)) for _ in range(FILLERS_PER_FILE)] for _ in range(2)
    ]
    planted = {}
    fresh = iter(f"x{i}" for i in range(1000))
    for n, (kind, positions) in enumerate(PLANTS.items()):
        words = rng.sample(VOCABULARY, DOC_WORDS)
        copy = list(words)
        for position in positions:
            copy[position] = next(fresh)
        original_line, copy_line = 2 + 3 * n, 3 + 2 * n  # 1-based; spread over both files' partitions
        files[0].insert(original_line - 1, " ".join(words))
        files[1].insert(copy_line - 1, " ".join(copy))
        planted[kind] = (make_doc_id(0, original_line), make_doc_id(1, copy_line), " ".join(words), " ".join(copy))
    for index, docs in enumerate(files):
        write_lines(root / "train" / f"{index:02d}.jsonl.zst", [doc_line(text) for text in docs])
    for kind, (original, copy, a, b) in planted.items():
        found = files[0][split_doc_id(original)[1] - 1], files[1][split_doc_id(copy)[1] - 1]
        assert found == (a, b), f"{kind}: planted at the wrong line"
    return planted


def _manifest(root: Path, out: Path, verify: str, partition_docs: int = 4):
    return parse_manifest(
        {
            "inputs": [str(root / "train" / "*.jsonl.zst")],
            "output": str(out),
            "partition_docs": partition_docs,
            "filter": {"preset": "none"},
            "dedup": {
                "shingle": "word",
                "ngram": 5,
                "num_perm": NUM_PERM,
                "hash": "sha1",
                "threshold": THRESHOLD,
                "bands": BANDS,
                "rows": ROWS,
                "verify": verify,
            },
        }
    )


def _dedup(manifest, tag: str):
    """Prepare (reused when done) and run the dedup phase alone, as the runner does but without the
    tokens phase (seconds per run); returns (plan, result, {doc_id: (cluster_id, kept)})."""
    run = RunDirectory(manifest.output)
    files = expand_inputs(manifest.inputs)
    prepare_dir = stage_dir("prepare", prepare_key(manifest, files))
    prepared = run_prepare_phase(run, prepare_dir, files, manifest, InFlightLimit(None), Progress(quiet=True))
    summaries = prepared.summaries
    refs = [
        PartitionRef(
            pid,
            make_doc_id(index, summaries[pid].first_line),
            False,
            summaries[pid].kept,
            summaries[pid].line_bytes,
            summaries[pid].source,
        )
        for index in range(len(files))
        for pid in prepared.file_info[index].partitions
    ]
    plan = make_plan(run, prepare_dir, f"stages/test-{tag}", refs, 100, manifest)
    result = run_dedup_phase(plan, InFlightLimit(None), Progress(quiet=True))
    rows = {}
    for part in plan.partitions:
        for r in run.read_parquet(plan.step_path("clusters", part.partition, ".parquet")).to_pylist():
            rows[r["doc_id"]] = (r["cluster_id"], r["kept"])
    return plan, result, rows


def _removed(rows: dict) -> set[int]:
    return {doc for doc, (_, kept) in rows.items() if not kept}


@pytest.fixture(scope="module")
def exact_run(tmp_path_factory, ray_instance):
    """The corpus, and its dedup with `verify: exact` and its outputs in `run/`: (root, planted, result)."""
    root = tmp_path_factory.mktemp("verify-corpus")
    planted = _corpus(root)
    plan, result, _ = _dedup(_manifest(root, root / "run", "exact"), "exact")
    write_dedup_outputs(plan, result, {})
    return root, planted, result


def test_planted_pairs_straddle_the_threshold_and_are_candidates(exact_run):
    _, planted, _ = exact_run
    similarity = {kind: _jaccard(a, b) for kind, (_, _, a, b) in planted.items()}
    assert THRESHOLD < similarity["above"] < THRESHOLD + 0.01
    assert THRESHOLD - 0.01 < similarity["below"] < THRESHOLD
    assert similarity["close"] > 0.9 and similarity["far"] < 0.7
    for kind, (_, _, a, b) in planted.items():
        x, y = _minhash(a).hashvalues, _minhash(b).hashvalues
        shared = sum(np.array_equal(x[j * ROWS : (j + 1) * ROWS], y[j * ROWS : (j + 1) * ROWS]) for j in range(BANDS))
        assert shared >= 1, f"{kind}: not an LSH candidate under {BANDS}x{ROWS}; the test premise fails"


def test_exact_removes_only_pairs_at_or_above_threshold(exact_run):
    root, planted, result = exact_run
    run_dir = root / "run"
    rows = pq.read_table(run_dir / "dedup" / "clusters.parquet").to_pylist()
    removed = {r["doc_id"] for r in rows if not r["kept"]}
    expected = {copy for _, copy, a, b in planted.values() if _jaccard(a, b) >= THRESHOLD}
    assert removed == expected == {planted["above"][1], planted["close"][1]}
    by_doc = {r["doc_id"]: r for r in rows}
    for kind in ("above", "close"):
        original, copy, _, _ = planted[kind]
        assert by_doc[copy]["cluster_id"] == original and by_doc[original]["kept"]

    stats = orjson.loads((run_dir / "stats" / "dedup.json").read_bytes())
    assert stats["duplicates"] == 2 and stats["params"]["verify"] == "exact"
    assert 0 < stats["edges"] < stats["star_edges"]
    verified, edges = result.verified, result.edges
    assert len(verified) >= 2 and len(result.partitions) > 2  # several verify tasks, many partitions
    assert sum(v["pairs"] for v in verified) == len(PLANTS), "each candidate pair is checked once"
    assert sum(v["pairs_kept"] for v in verified) == len(expected)
    assert sum(v["star_edges"] for v in verified) == sum(e["star_edges"] for e in edges) == stats["star_edges"]
    assert sum(v["edges"] for v in verified) == stats["edges"]


def test_none_removes_every_candidate_and_signature_follows_the_estimate(exact_run):
    root, planted, _ = exact_run
    _, none_result, none_rows = _dedup(_manifest(root, root / "run", "none"), "none")
    assert _removed(none_rows) == {copy for _, copy, _, _ in planted.values()}
    assert sum(e["edges"] for e in none_result.edges) == sum(e["star_edges"] for e in none_result.edges)

    _, _, signature_rows = _dedup(_manifest(root, root / "run", "signature"), "signature")
    estimated = {kind: _minhash(a).jaccard(_minhash(b)) for kind, (_, _, a, b) in planted.items()}
    expected = {planted[kind][1] for kind, value in estimated.items() if value >= THRESHOLD}
    assert _removed(signature_rows) == expected
    assert planted["close"][1] in expected and planted["far"][1] not in expected
    # With these seeds the estimates of the two near pairs fall on the other sides of the threshold
    # (0.789 and 0.828), so this run also tells `signature` apart from `exact`.
    assert expected != {planted["above"][1], planted["close"][1]}


def test_exact_does_not_depend_on_partition_size(exact_run):
    root, _, small = exact_run
    plan, result, _ = _dedup(_manifest(root, root / "whole-files", "exact", partition_docs=1000), "exact")
    write_dedup_outputs(plan, result, {})
    assert len(plan.partitions) == 2 < len(small.partitions)
    for output in ("dedup/clusters.parquet", "stats/dedup.json"):
        assert (root / "whole-files" / output).read_bytes() == (root / "run" / output).read_bytes(), output
