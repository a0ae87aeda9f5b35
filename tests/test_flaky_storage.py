"""Inputs and run directory on a real S3 server (moto's) that stops answering mid-run: a short stop is
bridged by retries; a long one ends the run with one line naming the URI, and once the server answers
again the same command resumes to the bytes of an undisturbed run."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pyarrow.fs as pafs
import pytest
from run_commands import pileline_run
from s3_server_for_tests import CREDENTIALS, s3_server_process

from pipeline.formats.run_directory import RunDirectory
from pipeline.sample.corpus import write_sample_corpus

BUCKET = "pileline-flaky"


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """(query, server process, manifest, reference run directory): the corpus on S3 and an undisturbed run of it."""
    root = tmp_path_factory.mktemp("flaky")
    with s3_server_process(BUCKET, root / "server.log") as (query, server):
        write_sample_corpus(root / "sample", docs=300, seed=23)
        filesystem, _ = pafs.FileSystem.from_uri(f"s3://{BUCKET}{query}")
        for path in sorted((root / "sample" / "train").glob("*.jsonl.zst")):
            with filesystem.open_output_stream(f"{BUCKET}/in/{path.name}", compression=None) as stream:
                stream.write(path.read_bytes())
        manifest = root / "run.yaml"
        manifest.write_text(
            f"inputs: ['s3://{BUCKET}/in/*.jsonl.zst{query}']\npartition_docs: 25\n"
            "filter: {preset: slimpajama}\ndedup: {preset: pythia}\nshards: {seq_len: 127, shard_bytes: 16384}\n"
        )
        reference = RunDirectory(f"s3://{BUCKET}/reference{query}")
        done = subprocess.run(_command(manifest, reference.location), capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        yield query, server, manifest, reference


def _command(manifest: Path, out: str) -> list[str]:
    return pileline_run(manifest, "--out", out, "--num-cpus", "2", "--quiet")


def _start(manifest: Path, run: RunDirectory) -> subprocess.Popen:
    """Start a run into `run` and return once its prepare phase has finished a few partitions."""
    process = subprocess.Popen(
        _command(manifest, run.location),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **CREDENTIALS},
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if len([path for path in run.list_files("stages", ".json") if "/prepare-" in path]) >= 3:
            return process
        time.sleep(0.05)
    raise AssertionError(f"the run ended before the server could be stopped: {process.communicate()[1][-3000:]}")


@pytest.mark.slow
def test_a_short_stop_of_the_server_is_bridged_by_retries(s3):
    query, server, manifest, reference = s3
    run = RunDirectory(f"s3://{BUCKET}/short{query}")
    process = _start(manifest, run)
    server.send_signal(signal.SIGSTOP)
    time.sleep(6)  # longer than a request's timeout (3 s), shorter than the retries
    server.send_signal(signal.SIGCONT)
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr[-3000:]
    assert run.read_json("manifest.json")["outputs"] == reference.read_json("manifest.json")["outputs"]


@pytest.mark.slow
def test_a_stopped_server_ends_the_run_naming_the_uri_and_the_run_resumes_when_it_is_back(s3):
    query, server, manifest, reference = s3
    run = RunDirectory(f"s3://{BUCKET}/stopped{query}")
    process = _start(manifest, run)
    server.send_signal(signal.SIGSTOP)
    try:
        _, stderr = process.communicate(timeout=600)
    finally:
        server.send_signal(signal.SIGCONT)
    assert process.returncode == 2, stderr[-3000:]
    error = stderr.strip().splitlines()[-1]
    assert error.startswith(f"pileline: error: s3://{BUCKET}/"), stderr[-3000:]
    assert "failed after 6 attempts" in error and "run the same command to resume" in error, error
    assert "endpoint_override" not in error, "the connection options stay out of the message"
    assert not run.exists("manifest.json")

    resumed = subprocess.run(
        _command(manifest, run.location), capture_output=True, text=True, timeout=600, env={**os.environ, **CREDENTIALS}
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert re.search(r"^reused: (.* · )?prepare [1-9]\d*/", resumed.stdout, re.MULTILINE), resumed.stdout
    assert run.read_json("manifest.json")["outputs"] == reference.read_json("manifest.json")["outputs"]
