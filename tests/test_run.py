"""End-to-end runs on real Ray: accounting, rejects, resume after a kill, partition-size independence."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path

import orjson
import pyarrow.parquet as pq
from input_files_for_tests import doc_line, write_lines
from run_commands import pileline_run

from pipeline.manifest import parse_manifest
from pipeline.phases.accounting import balances
from pipeline.phases.runner import run_manifest
from pipeline.runtime.progress import Progress

SETS = ["Pile-CC", "ArXiv", "Github", "FreeLaw"]
WORDS = "the quick brown fox jumps over a lazy dog while seven wizards quietly judge boxing matches".split()


def _text(i: int) -> str:
    words = [WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(60 + i % 40)]
    return f"Document {i}: " + " ".join(words) + f". Closing remark number {i * 13}."


def _good_file(path: Path, start: int, count: int) -> list[bytes]:
    lines = [doc_line(_text(i), SETS[i % len(SETS)]) for i in range(start, start + count)]
    write_lines(path, lines)
    return lines


def _messy_corpus(root: Path) -> dict[str, object]:
    """Three well-formed files, one with garbage lines, one truncated, one not zstd at all."""
    _good_file(root / "00.jsonl.zst", 0, 120)
    garbage = [doc_line(_text(200 + i)) for i in range(40)]
    garbage[3] = b"{broken"
    garbage[9] = b'{"text": 7}'
    garbage[17] = b""
    garbage[21] = b'{"text": "\xff\xfe"}'
    garbage[30] = doc_line("")
    write_lines(root / "01.jsonl.zst", garbage)
    truncated = [doc_line(_text(400 + i) * 5) for i in range(300)]
    path = write_lines(root / "02.jsonl.zst", truncated)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    (root / "03.jsonl.zst").write_bytes(b"this is not zstd\n")
    _good_file(root / "04.jsonl.gz", 500, 50)
    return {"garbage_lines": {4: "invalid_json", 10: "text_not_a_string", 18: "blank_line", 22: "invalid_utf8"}}


def _manifest(inputs, output, **extra):
    data = {
        "inputs": [str(p) for p in inputs],
        "output": str(output),
        "partition_docs": 25,
        "filter": {"preset": "cerebras"},
        "dedup": {"enabled": False},
    }
    data.update(extra)
    return parse_manifest(data)


def _outputs(run_dir: Path) -> dict[str, str]:
    return orjson.loads((run_dir / "manifest.json").read_bytes())["outputs"]


def test_every_line_of_a_messy_corpus_is_accounted_for(tmp_path, ray_instance):
    expected = _messy_corpus(tmp_path / "in")
    run_dir = tmp_path / "run"
    result = run_manifest(_manifest([tmp_path / "in" / "*"], run_dir), Progress(quiet=True))
    record = orjson.loads((run_dir / "manifest.json").read_bytes())
    inputs = {Path(r["path"]).name: r for r in record["inputs"]}
    assert [Path(r["path"]).name for r in record["inputs"]] == sorted(inputs)
    for r in record["inputs"]:
        assert balances(r), r
    assert inputs["00.jsonl.zst"]["lines"] == 120 and inputs["00.jsonl.zst"]["kept"] == 120
    assert inputs["04.jsonl.gz"]["kept"] == 50
    garbage = inputs["01.jsonl.zst"]
    assert garbage["lines"] == 40
    assert garbage["filtered"] == {"empty": 1}
    assert sum(garbage["rejected"].values()) == 4
    truncated = inputs["02.jsonl.zst"]
    assert truncated["rejected"] == {"truncated_stream": 1}
    assert truncated["damage"]["line"] == truncated["lines"]
    assert 0 < truncated["kept"] < 300
    assert inputs["03.jsonl.zst"] == {**inputs["03.jsonl.zst"], "lines": 1, "kept": 0, "rejected": {"not_zstd": 1}}

    rejects = pq.read_table(run_dir / "rejects").to_pylist()
    by_place = {(Path(r["source"]).name, r["line"]): r["reason"] for r in rejects}
    for line, reason in expected["garbage_lines"].items():
        assert by_place[("01.jsonl.zst", line)] == reason
    assert by_place[("01.jsonl.zst", 31)] == "filter:empty"
    assert by_place[("02.jsonl.zst", truncated["damage"]["line"])] == "truncated_stream"
    assert by_place[("03.jsonl.zst", 1)] == "not_zstd"
    assert result.totals["lines"] == sum(r["lines"] for r in record["inputs"])
    assert all(path.startswith(("rejects/", "dedup/", "stats/", "tokens/")) for path in record["outputs"])


def _prepared_docs(run_dir: Path):
    files = sorted((run_dir / "stages").glob("prepare-*/*.docs.parquet"))
    import pyarrow as pa

    return pa.concat_tables([pq.read_table(f) for f in files]).sort_by("doc_id")


def test_outputs_do_not_depend_on_partition_size(tmp_path, ray_instance):
    _good_file(tmp_path / "in" / "a.jsonl.zst", 0, 90)
    _messy_corpus(tmp_path / "in2")
    inputs = [tmp_path / "in" / "a.jsonl.zst", tmp_path / "in2" / "01.jsonl.zst"]
    small = run_manifest(_manifest(inputs, tmp_path / "small", partition_docs=7), Progress(quiet=True))
    large = run_manifest(_manifest(inputs, tmp_path / "large", partition_docs=1000), Progress(quiet=True))
    assert small.computed_partitions > large.computed_partitions
    assert small.totals == large.totals
    docs_small = _prepared_docs(tmp_path / "small")
    docs_large = _prepared_docs(tmp_path / "large")
    assert docs_small.column("doc_id").equals(docs_large.column("doc_id"))
    assert docs_small.column("text").equals(docs_large.column("text"))


def test_inputs_read_whole_or_streamed_give_the_same_bytes(tmp_path, ray_instance, monkeypatch):
    """Small inputs are read and prepared by one task while enough inputs wait; streamed through a reader they
    give the same partitions, rejects, damage reports and outputs (messy files: bad lines, a cut stream)."""
    import pipeline.phases.prepare as prepare

    _messy_corpus(tmp_path / "in")
    inputs = [tmp_path / "in" / "*"]
    whole = run_manifest(_manifest(inputs, tmp_path / "whole"), Progress(quiet=True))
    monkeypatch.setattr(prepare, "WHOLE_FILE_BYTES", -1)
    streamed = run_manifest(_manifest(inputs, tmp_path / "streamed"), Progress(quiet=True))
    assert whole.totals == streamed.totals and whole.computed_partitions == streamed.computed_partitions
    assert _outputs(tmp_path / "whole") == _outputs(tmp_path / "streamed")
    records = [orjson.loads((tmp_path / run / "manifest.json").read_bytes())["inputs"] for run in ("whole", "streamed")]
    assert records[0] == records[1] and any(r["damage"] for r in records[0])
    assert _prepared_docs(tmp_path / "whole").equals(_prepared_docs(tmp_path / "streamed"))


def test_a_rerun_reuses_finished_partitions_and_changes_nothing(tmp_path, ray_instance):
    _messy_corpus(tmp_path / "in")
    manifest = _manifest([tmp_path / "in" / "*"], tmp_path / "run")
    first = run_manifest(manifest, Progress(quiet=True))
    second = run_manifest(manifest, Progress(quiet=True))
    assert second.computed_partitions == 0 and second.reused_partitions == first.computed_partitions
    assert second.totals == first.totals
    recomputed = [(p.phase, p.computed) for p in second.phases if p.computed]
    assert recomputed == [], "every phase of the rerun reuses its work"
    assert [p.phase for p in second.phases if p.reused] == [p.phase for p in first.phases if p.computed]


def test_a_changed_setting_is_not_served_from_old_partitions(tmp_path, ray_instance):
    _good_file(tmp_path / "in" / "a.jsonl.zst", 0, 60)
    first = run_manifest(_manifest([tmp_path / "in" / "*"], tmp_path / "run"), Progress(quiet=True))
    changed = _manifest([tmp_path / "in" / "*"], tmp_path / "run", filter={"preset": "slimpajama"})
    second = run_manifest(changed, Progress(quiet=True))
    assert second.reused_partitions == 0 and second.computed_partitions == first.computed_partitions
    prepared = [p.name for p in (tmp_path / "run" / "stages").iterdir() if p.name.startswith("prepare-")]
    assert len(prepared) == 1, "the partitions made with the old setting are discarded"


def _ray_address(ray_module) -> str:
    return ray_module.get_runtime_context().gcs_address


def test_a_killed_run_resumes_to_identical_outputs(tmp_path, ray_instance):
    for i in range(3):
        _good_file(tmp_path / "in" / f"{i:02d}.jsonl.zst", i * 150, 150)
    write_lines(tmp_path / "in" / "99.jsonl.zst", [b"{bad"] + [doc_line(_text(i)) for i in range(20)])
    manifest_path = tmp_path / "m.yaml"
    manifest_path.write_text(
        f"inputs: ['{tmp_path / 'in'}/*.jsonl.zst']\noutput: {tmp_path / 'killed'}\npartition_docs: 10\n"
        "filter: {preset: slimpajama}\ndedup: {enabled: false}\n"
    )
    command = pileline_run(manifest_path, "--quiet", "--address", _ray_address(ray_instance))
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stage_root = tmp_path / "killed" / "stages"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = list(stage_root.glob("*/*-*.json")) if stage_root.exists() else []
        if len(done) >= 8:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (tmp_path / "killed" / "manifest.json").exists(), "the run finished before it could be killed"
    finished_before = len(
        [p for p in stage_root.glob("*/*-*.json") if not p.name.startswith("file-")]
    )  # partitions, not file records

    resumed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    reused = int(re.search(r"(\d+) reused", resumed.stdout).group(1))
    assert reused >= finished_before > 0
    clean = run_manifest(_manifest_from_yaml(manifest_path, tmp_path / "clean"), Progress(quiet=True))
    assert clean.reused_partitions == 0
    assert _outputs(tmp_path / "killed") == _outputs(tmp_path / "clean")
    assert not list((tmp_path / "killed").rglob("*.tmp-*"))


def _manifest_from_yaml(path: Path, output: Path):
    from pipeline.manifest import load_manifest

    return load_manifest(path, {"output": str(output)})


def test_the_resolved_manifest_validates_again(tmp_path, ray_instance):
    """manifest.json's `manifest` is the full resolved configuration, and it loads back unchanged."""
    _good_file(tmp_path / "in" / "a.jsonl.zst", 0, 30)
    manifest = _manifest(
        [tmp_path / "in" / "*"], tmp_path / "run", filter={"preset": "gopher"}, dedup={"preset": "slimpajama"}
    )
    run_manifest(manifest, Progress(quiet=True))
    resolved = orjson.loads((tmp_path / "run" / "manifest.json").read_bytes())["manifest"]
    assert parse_manifest(resolved) == manifest
