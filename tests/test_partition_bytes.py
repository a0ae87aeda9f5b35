"""Partitions bounded by bytes as well as by lines: where the cut falls, and that outputs do not depend on it."""

from __future__ import annotations

import orjson
import pyarrow.parquet as pq
import pytest
from input_files_for_tests import write_lines

from pipeline.formats.input_files import StreamDamage, iter_line_chunks
from pipeline.manifest import parse_manifest
from pipeline.phases.runner import run_manifest
from pipeline.runtime.progress import Progress
from pipeline.sample.corpus import write_sample_corpus


def _cuts(path, chunk_lines: int, chunk_bytes: int | None) -> list[tuple[int, list[int]]]:
    """(first line, line lengths) of every chunk."""
    return [
        (chunk.first_line, [len(line) for line in chunk.lines])
        for chunk in iter_line_chunks(str(path), chunk_lines, 1 << 20, chunk_bytes=chunk_bytes)
    ]


@pytest.mark.parametrize("trailing_newline", [True, False])
def test_a_chunk_ends_before_the_line_that_would_pass_its_byte_bound(tmp_path, trailing_newline):
    lengths = [10, 10, 10, 25, 40, 5, 5, 5, 5, 5, 5, 20]
    lines = [b"x" * n for n in lengths]
    path = write_lines(tmp_path / "a.jsonl.zst", lines, trailing_newline)
    # 25 bytes and 4 lines at most: 10+10 (a third 10 would make 30), 10, 25, 40 alone (longer than the bound),
    # four 5s (the line bound), 5+5, then 20 would make 30.
    assert _cuts(path, 4, 25) == [
        (1, [10, 10]),
        (3, [10]),
        (4, [25]),
        (5, [40]),
        (6, [5, 5, 5, 5]),
        (10, [5, 5]),
        (12, [20]),
    ]


def test_without_a_byte_bound_only_the_line_count_cuts(tmp_path):
    path = write_lines(tmp_path / "a.jsonl", [b"y" * n for n in (100, 1, 100, 1, 100)])
    assert _cuts(path, 2, None) == [(1, [100, 1]), (3, [100, 1]), (5, [100])]
    assert _cuts(path, 2, 1 << 20) == _cuts(path, 2, None)


def test_damage_after_a_byte_cut_is_reported_at_its_own_line(tmp_path):
    whole = write_lines(tmp_path / "a.jsonl.zst", [b"z" * 30 for _ in range(31)]).read_bytes()
    cut = write_lines(tmp_path / "b.jsonl.zst", [b"z" * 30 for _ in range(20)]).read_bytes()
    path = tmp_path / "damaged.jsonl.zst"
    path.write_bytes(whole + cut[:-3])  # a second zstd frame, truncated
    items = list(iter_line_chunks(str(path), 100, 1 << 20, chunk_bytes=70))
    chunks, damage = items[:-1], items[-1]
    assert isinstance(damage, StreamDamage) and damage.reason == "truncated_stream"
    assert all(sum(map(len, c.lines)) <= 70 for c in chunks)
    assert [(c.first_line, len(c.lines)) for c in chunks] == [(n, 2) for n in range(1, 31, 2)] + [(31, 1)]
    assert damage.line == 32


def _run(corpus, out, partition_bytes: int):
    manifest = parse_manifest(
        {
            "inputs": [str(corpus / "train" / "*.jsonl.zst")],
            "output": str(out),
            "partition_docs": 1000,
            "partition_bytes": partition_bytes,
            "ray": {"num_cpus": 2},
            "filter": {"preset": "slimpajama"},
            "dedup": {"enabled": True, "preset": "threshold-true", "holdout": [str(corpus / "val.jsonl.zst")]},
            "shards": {"seq_len": 64},
        }
    )
    return run_manifest(manifest, Progress(quiet=True))


def _partition_lines(run_dir) -> list[tuple[int, int, int]]:
    """(file index, first line, lines) of every prepared partition."""
    summaries = [orjson.loads(p.read_bytes()) for p in (run_dir / "stages").glob("prepare-*/0*.json")]
    return sorted((s["file_index"], s["first_line"], s["lines"]) for s in summaries)


def _rejects(run_dir) -> list[dict]:
    return sorted(pq.read_table(run_dir / "rejects").to_pylist(), key=lambda row: (row["source"], row["line"]))


def test_outputs_are_the_same_bytes_whatever_the_byte_bound(tmp_path, ray_instance):
    write_sample_corpus(tmp_path / "sample", docs=400, seed=5, files=2)
    whole = _run(tmp_path / "sample", tmp_path / "whole", 1 << 30)
    cut = _run(tmp_path / "sample", tmp_path / "cut", 60_000)

    whole_parts, cut_parts = _partition_lines(tmp_path / "whole"), _partition_lines(tmp_path / "cut")
    assert [lines for _, _, lines in whole_parts] == [200, 200, 8]  # two train files and the holdout
    assert len(cut_parts) > 2 * len(whole_parts)
    assert all(lines < 1000 for _, _, lines in cut_parts)
    assert sum(lines for _, _, lines in cut_parts) == 408
    assert whole.totals == cut.totals

    outputs = {}
    for name in ("whole", "cut"):
        listed = orjson.loads((tmp_path / name / "manifest.json").read_bytes())["outputs"]
        outputs[name] = {path: sha for path, sha in listed.items() if path.startswith(("tokens/", "dedup/"))}
    assert "dedup/clusters.parquet" in outputs["whole"]
    assert any(path.startswith("tokens/sequences-") for path in outputs["whole"])
    assert outputs["whole"] == outputs["cut"]
    rejects = _rejects(tmp_path / "whole")
    assert rejects and rejects == _rejects(tmp_path / "cut")
