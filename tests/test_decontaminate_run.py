"""Decontamination in a real run on real Ray: nothing the Janitor would find is left, accounting, stats,
reuse keyed on the eval files, and `pileline ngrams` read by lm-evaluation-harness's own `get_train_overlap`
(which flags no eval document after a `match: both` run on code and punctuation-heavy text)."""

from __future__ import annotations

import contextlib
import html
import io
import os
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from input_files_for_tests import doc_line, write_lines
from janitor_oracle import corpus_texts, janitor_finds_match, oracle, passages, punctuated_texts, word_ngrams

from pipeline.cli.main import main
from pipeline.inspection.report_html import build_report
from pipeline.inspection.run_stats import gather_stats
from pipeline.inspection.train_ngrams import write_train_ngrams
from pipeline.manifest import parse_manifest
from pipeline.phases.accounting import balances
from pipeline.phases.runner import run_manifest
from pipeline.runtime.progress import Progress
from pipeline.sample.corpus import write_sample_corpus

ANIMALS = "zebra quokka narwhal axolotl pangolin okapi tapir dugong gharial saola vaquita kakapo fossa".split()
UNRELATED = [" ".join(f"{animal}{i}" for animal in ANIMALS) for i in range(5)]


def _setup(tmp_path: Path) -> tuple[list[str], Path]:
    write_sample_corpus(tmp_path / "sample", docs=900, seed=5)
    texts = corpus_texts(tmp_path / "sample")
    evals = passages(texts, 25, 30, seed=7) + UNRELATED + passages(texts, 10, 16, seed=12)
    eval_file = write_lines(tmp_path / "eval" / "task.jsonl.zst", [doc_line(t, None) for t in evals])
    return evals, eval_file


def _manifest(tmp_path: Path, eval_file: Path, out: str = "run"):
    return parse_manifest(
        {
            "inputs": [str(tmp_path / "sample" / "train" / "*.jsonl.zst")],
            "output": str(tmp_path / out),
            "partition_docs": 200,
            "ray": {"num_cpus": 2},
            "decontaminate": {"sets": {"task": [str(eval_file)]}},
            "dedup": {"enabled": True},
        }
    )


def _prepared(run_dir: Path) -> pa.Table:
    [prepare] = (run_dir / "stages").glob("prepare-*")
    return pq.read_table(sorted(prepare.glob("*.docs.parquet")), columns=["doc_id", "text"])


def test_a_decontaminated_run_its_stats_and_its_ngrams(tmp_path, ray_instance, monkeypatch):
    evals, eval_file = _setup(tmp_path)
    janitor = oracle(evals)
    manifest = _manifest(tmp_path, eval_file)
    run_manifest(manifest, Progress(quiet=True))
    run_dir = tmp_path / "run"
    record = orjson.loads((run_dir / "manifest.json").read_bytes())
    assert all(balances(r) for r in record["inputs"])
    dropped = record["totals"]["rejected"].get("decontaminate:task", 0)
    rejects = pq.read_table(sorted((run_dir / "rejects").glob("*.parquet")))
    assert pc.sum(pc.equal(rejects.column("reason"), "decontaminate:task")).as_py() == dropped > 0

    prepared = _prepared(run_dir)
    texts = prepared.column("text").to_pylist()
    assert not any(janitor_finds_match(janitor, text) for text in texts)
    assert len(set(prepared.column("doc_id").to_pylist())) == prepared.num_rows

    stats = gather_stats(str(run_dir))["decontamination"]["task"]
    assert stats["documents_dropped"] == dropped
    assert stats["documents_cleaned"] > 0 and stats["matched_ngrams"] >= dropped + stats["documents_cleaned"]
    assert sum(c["documents_dropped"] for c in stats["by_subset"].values()) == dropped
    assert stats["match"] == "both"
    assert stats["matched_by_janitor_rule"] + stats["matched_by_harness_rule_only"] == stats["matched_ngrams"]
    assert stats["examples"] and all(e["ngram"] in janitor.dirt_ngrams for e in stats["examples"])
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["stats", str(run_dir)]) == 0
    assert "Decontamination" in out.getvalue() and "removed by decontamination" in out.getvalue()
    report = build_report(str(run_dir), audit_size=0)
    assert '<section id="decontamination">' in report and "Most contaminated subsets" in report
    assert html.escape(stats["examples"][0]["match"]) in report

    ngrams_dir = tmp_path / "ngrams"
    write_train_ngrams(str(run_dir), str(ngrams_dir), buckets=4)
    clusters = pq.read_table(run_dir / "dedup" / "clusters.parquet")
    removed = set(clusters.filter(pc.invert(clusters.column("kept"))).column("doc_id").to_pylist())
    trained = {
        ngram
        for doc_id, text in zip(prepared.column("doc_id").to_pylist(), texts)
        if doc_id not in removed
        for ngram in word_ngrams(janitor.normalize_string(text), 13)
    }
    lines = set()
    for path in ngrams_dir.glob("*.sorted.zst"):
        import zstandard

        data = zstandard.ZstdDecompressor().stream_reader(path.open("rb")).read().decode()
        rows = data.split("\n")[:-1]
        assert rows == sorted(rows)
        lines.update(row.rsplit(" ", 1)[0] for row in rows)
    assert lines == trained
    # The decontaminated eval set leaves nothing behind; passages of kept documents (not removed) are found.
    queries = evals + passages(
        [t for d, t in zip(prepared.column("doc_id").to_pylist(), texts) if d not in removed], 10, 20, seed=11
    )
    expected = {i for i, text in enumerate(queries) if set(word_ngrams(janitor.normalize_string(text), 13)) & trained}
    assert expected == set(range(len(evals), len(queries)))

    from lm_eval.decontamination.decontaminate import get_train_overlap

    monkeypatch.chdir(tmp_path)
    os.mkdir("data")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        found = get_train_overlap({("task", "test"): queries}, str(ngrams_dir), limit=len(queries))
    assert found == {"task": expected}


def test_a_changed_eval_set_is_not_served_from_old_partitions(tmp_path, ray_instance):
    evals, eval_file = _setup(tmp_path)
    manifest = _manifest(tmp_path, eval_file)
    first = run_manifest(manifest, Progress(quiet=True))
    again = run_manifest(manifest, Progress(quiet=True))
    assert again.computed_partitions == 0
    write_lines(eval_file, [doc_line(t, None) for t in evals[:5]])
    changed = run_manifest(manifest, Progress(quiet=True))
    assert changed.computed_partitions == first.computed_partitions
    assert changed.totals["rejected"].get("decontaminate:task", 0) < first.totals["rejected"]["decontaminate:task"]
    prepared = _prepared(tmp_path / "run")
    assert not any(janitor_finds_match(oracle(evals[:5]), text) for text in prepared.column("text").to_pylist())
    assert np.all(np.diff(prepared.column("doc_id").to_numpy()) > 0)


def _harness_flags(ngrams_dir: Path, evals: list[str], workdir: Path, monkeypatch) -> set[int]:
    """The eval documents `get_train_overlap` flags in `ngrams_dir` (its caches in `workdir`)."""
    from lm_eval.decontamination.decontaminate import get_train_overlap

    (workdir / "data").mkdir(parents=True)
    monkeypatch.chdir(workdir)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return get_train_overlap({("task", "test"): evals}, str(ngrams_dir), limit=len(evals))["task"]


def test_a_both_run_passes_the_harness_check_on_code_and_punctuation(tmp_path, ray_instance, monkeypatch):
    texts = punctuated_texts(400, seed=8)
    write_lines(tmp_path / "corpus" / "00.jsonl.zst", [doc_line(t, "Github") for t in texts])
    evals = texts[:10] + passages(texts[10:], 20, 40, seed=9) + passages(texts[10:], 10, 24, seed=10)
    eval_file = write_lines(tmp_path / "eval" / "task.jsonl.zst", [doc_line(t, None) for t in evals])
    janitor = oracle(evals)
    flagged, stats = {}, {}
    for match in ("control", "janitor", "both"):
        run_dir = tmp_path / f"run-{match}"
        config = {
            "inputs": [str(tmp_path / "corpus" / "*.jsonl.zst")],
            "output": str(run_dir),
            "partition_docs": 150,
            "ray": {"num_cpus": 2},
        }
        if match != "control":
            config["decontaminate"] = {"sets": {"task": str(eval_file)}, "match": match}
        run_manifest(parse_manifest(config), Progress(quiet=True))
        with contextlib.redirect_stdout(io.StringIO()):
            assert main(["ngrams", str(run_dir), "--out", str(tmp_path / f"ngrams-{match}"), "--buckets", "4"]) == 0
        flagged[match] = _harness_flags(tmp_path / f"ngrams-{match}", evals, tmp_path / f"check-{match}", monkeypatch)
        if match != "control":
            stats[match] = gather_stats(str(run_dir))["decontamination"]["task"]
            assert not any(janitor_finds_match(janitor, t) for t in _prepared(run_dir).column("text").to_pylist())
    assert flagged["control"] == set(range(len(evals)))
    assert flagged["janitor"], "the fixture must hold n-grams the Janitor's rule cannot see"
    assert flagged["both"] == set()
    assert stats["janitor"]["match"] == "janitor" and stats["janitor"]["matched_by_harness_rule_only"] == 0
    assert stats["both"]["match"] == "both" and stats["both"]["matched_by_harness_rule_only"] > 0
    assert stats["both"]["matched_by_janitor_rule"] >= stats["janitor"]["matched_by_janitor_rule"] > 0
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["stats", str(tmp_path / "run-both")]) == 0
    assert "match rule: both" in out.getvalue() and "by the harness's rule only" in out.getvalue()
