"""A rerun never trusts stale work: changed inputs are read again, `verify --inputs` names changed
inputs, and one run at a time holds a run directory (real files, real Ray, real `pileline` processes)."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import orjson
import pytest
import zstandard
from run_commands import pileline_run, sample_run_manifest

from pipeline.cli.main import main
from pipeline.formats.run_layout import LOCK_FILE
from pipeline.formats.run_lock import LEASE_SECONDS, holder_is_alive, process_start
from pipeline.manifest import load_manifest
from pipeline.phases.runner import run_manifest
from pipeline.runtime.progress import Progress


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A sample corpus (three train files and a holdout) and a manifest with dedup, tokens and shards."""
    root = tmp_path_factory.mktemp("rerun")
    sample_run_manifest(root, root / "run", docs=150, seed=17)
    return root


def _run(corpus: Path, out: Path, stream: io.StringIO | None = None):
    progress = Progress(stream=stream, quiet=stream is None)
    return run_manifest(load_manifest(corpus / "run.yaml", {"output": str(out)}), progress)


def _record(run_dir: Path) -> dict:
    return orjson.loads((run_dir / "manifest.json").read_bytes())


def _phase(result, name: str):
    return next(work for work in result.phases if work.phase == name)


def _truncate_in_place(path: Path, keep_lines: int) -> bytes:
    """Rewrite a `.jsonl.zst` input in place (same inode) with only its first `keep_lines` lines."""
    lines = zstandard.ZstdDecompressor().decompressobj().decompress(path.read_bytes()).splitlines(keepends=True)
    data = zstandard.ZstdCompressor(level=3).compress(b"".join(lines[:keep_lines]))
    with open(path, "r+b") as handle:
        handle.write(data)
        handle.truncate()
    return data


def test_a_changed_input_is_read_again_and_everything_after_it_recomputed(corpus, ray_instance, tmp_path):
    run_dir = tmp_path / "run"
    first = _run(corpus, run_dir)
    changed = corpus / "sample" / "train" / "01.jsonl.zst"
    before = _record(run_dir)["inputs"][1]
    data = _truncate_in_place(changed, 40)

    log = io.StringIO()
    second = _run(corpus, run_dir, log)
    record = _record(run_dir)
    entry = record["inputs"][1]
    assert entry["path"] == str(changed)
    assert entry["sha256"] == hashlib.sha256(data).hexdigest() != before["sha256"]
    assert entry["lines"] == 40 < before["lines"] and entry["bytes"] == len(data)
    assert f"{changed}: changed since it was read" in log.getvalue()
    inputs = _phase(second, "inputs")
    assert (inputs.reused, inputs.computed) == (3, 1), "only the changed file is read again"
    assert second.computed_partitions == 2, "the changed file's two partitions of 25 lines"
    assert second.reused_partitions == first.computed_partitions - (before["lines"] + 24) // 25
    for phase in second.phases:
        if phase.phase not in ("inputs", "prepare"):
            assert phase.reused == 0, f"{phase.phase} reused work made from the old bytes"

    clean = _run(corpus, tmp_path / "clean")
    assert clean.reused_partitions == 0
    assert record["outputs"] == _record(tmp_path / "clean")["outputs"]
    assert record["inputs"] == _record(tmp_path / "clean")["inputs"]
    leftover = sorted(p.name for p in run_dir.glob("stages/prepare-*/00001-*"))
    assert leftover == [
        "00001-000000000001.docs.parquet",
        "00001-000000000001.json",
        "00001-000000000026.docs.parquet",
        "00001-000000000026.json",
    ], "old partitions past the new end are gone"

    os.utime(changed)  # a touch: the bytes are the same, so the file is read again but nothing after it is redone
    third = _run(corpus, run_dir)
    assert (_phase(third, "inputs").computed, third.computed_partitions) == (1, 2)
    assert [p.phase for p in third.phases if p.computed] == ["inputs", "prepare"], third.phases
    assert _record(run_dir)["outputs"] == record["outputs"]


def test_verify_inputs_names_each_changed_and_missing_input(corpus, ray_instance, tmp_path, capsys):
    inputs = tmp_path / "in"
    for name in ("00", "01", "02"):
        inputs.mkdir(exist_ok=True)
        (inputs / f"{name}.jsonl.zst").write_bytes((corpus / "sample" / "train" / f"{name}.jsonl.zst").read_bytes())
    manifest = tmp_path / "m.yaml"
    manifest.write_text(f"inputs: ['{inputs}/*.jsonl.zst']\noutput: {tmp_path / 'run'}\ndedup: {{enabled: false}}\n")
    run_manifest(load_manifest(manifest), Progress(quiet=True))
    assert main(["verify", str(tmp_path / "run"), "--inputs", "--quiet"]) == 0
    assert "every output and input matches" in capsys.readouterr().out

    _truncate_in_place(inputs / "00.jsonl.zst", 10)
    (inputs / "02.jsonl.zst").unlink()
    assert main(["verify", str(tmp_path / "run"), "--inputs", "--quiet"]) == 1
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"{inputs / '00.jsonl.zst'}: input changed: sha256 ")
    assert lines[1] == f"{inputs / '02.jsonl.zst'}: input missing"
    assert captured.err.strip() == "pileline: 2 output and input file(s) differ from manifest.json"
    assert main(["verify", str(tmp_path / "run"), "--quiet"]) == 0, "without --inputs only the outputs are checked"


def _small_manifest(tmp_path: Path, corpus: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(
        f"inputs: ['{corpus / 'sample' / 'train' / '00.jsonl.zst'}']\noutput: {tmp_path / 'locked'}\n"
        "dedup: {enabled: false}\n"
    )
    return path


def _wait_for_lock(lock: Path, process: subprocess.Popen) -> dict:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if lock.exists() and lock.read_bytes().endswith(b"\n"):
            return orjson.loads(lock.read_bytes())
        time.sleep(0.01)
    raise AssertionError("the first run never took the lock")


def test_a_second_run_into_a_directory_in_use_stops_at_once_naming_the_holder(corpus, ray_instance, tmp_path, capsys):
    manifest = _small_manifest(tmp_path, corpus)
    address = ray_instance.get_runtime_context().gcs_address
    command = pileline_run(manifest, "--quiet", "--address", address)
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    holder = _wait_for_lock(tmp_path / "locked" / LOCK_FILE, first)
    assert (holder["host"], holder["pid"]) == (socket.gethostname(), first.pid)

    started = time.monotonic()
    assert main(["run", str(manifest), "--quiet"]) == 2
    assert time.monotonic() - started < 5, "the second run stops at once"
    error = capsys.readouterr().err.strip()
    assert "\n" not in error
    assert error.startswith(f"pileline: error: {tmp_path / 'locked'}: in use by another pileline run ")
    assert f"host {socket.gethostname()}, pid {first.pid}, started " in error

    _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr[-3000:]
    assert not (tmp_path / "locked" / LOCK_FILE).exists(), "a finished run removes its lock"


def test_the_lock_of_a_killed_run_is_stale_and_taken_over(corpus, ray_instance, tmp_path):
    manifest = _small_manifest(tmp_path, corpus)
    address = ray_instance.get_runtime_context().gcs_address
    command = pileline_run(manifest, "--quiet", "--address", address)
    killed = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    holder = _wait_for_lock(tmp_path / "locked" / LOCK_FILE, killed)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert (tmp_path / "locked" / LOCK_FILE).exists(), "a killed run leaves its lock behind"

    log = io.StringIO()
    run_manifest(load_manifest(manifest), Progress(stream=log))
    assert f"taking over the lock of a run that is gone (host {holder['host']}, pid {holder['pid']}, " in log.getvalue()
    assert (tmp_path / "locked" / "manifest.json").exists()


def test_a_lock_from_another_host_is_honoured_until_its_lease_runs_out(corpus, ray_instance, tmp_path, capsys):
    manifest = _small_manifest(tmp_path, corpus)
    lock = tmp_path / "locked" / LOCK_FILE
    lock.parent.mkdir()
    remote = {"host": "node-7.example", "pid": 4242, "pid_started": None, "started": "2026-01-01T00:00:00+00:00"}
    lock.write_bytes(orjson.dumps({**remote, "heartbeat": time.time() - 5}) + b"\n")
    assert main(["run", str(manifest), "--quiet"]) == 2
    assert "in use by another pileline run (host node-7.example, pid 4242, " in capsys.readouterr().err

    lock.write_bytes(orjson.dumps({**remote, "heartbeat": time.time() - LEASE_SECONDS - 1}) + b"\n")
    assert main(["run", str(manifest), "--quiet"]) == 0, capsys.readouterr().err
    assert not lock.exists()


def test_a_holder_is_alive_by_pid_on_this_host_and_by_heartbeat_elsewhere():
    host = socket.gethostname()
    now = time.time()
    me = {"host": host, "pid": os.getpid(), "pid_started": process_start(os.getpid()), "heartbeat": 0}
    assert holder_is_alive(me, host, now), "a live process holds it, however old its heartbeat"
    child = subprocess.Popen(["true"])
    child.wait()
    assert not holder_is_alive({**me, "pid": child.pid, "pid_started": None}, host, now), (
        "an ended process holds nothing"
    )
    assert not holder_is_alive({**me, "pid_started": "another-boot:1"}, host, now), "a reused pid is not the holder"
    assert holder_is_alive({"host": "elsewhere", "pid": 1, "heartbeat": now - LEASE_SECONDS + 5}, host, now)
    assert not holder_is_alive({"host": "elsewhere", "pid": 1, "heartbeat": now - LEASE_SECONDS - 5}, host, now)
