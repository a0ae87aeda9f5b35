"""Inputs and run directory on S3: a real S3 server (moto's) on 127.0.0.1, reached through pyarrow URIs
with a query of connection options (`s3://bucket/key?endpoint_override=127.0.0.1:PORT&scheme=http`).

The runs are `pileline run` subprocesses with their own embedded Ray, whose workers inherit the
credentials from the environment; nothing is read from or written to the driver's disk. Outputs are
compared with a local run of the same corpus: identical bytes, except that the `source` column names
the S3 object instead of the local file, and no query (endpoint, port, credentials) leaks into any.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pytest
from run_commands import pileline_run
from s3_server_for_tests import CREDENTIALS, s3_server

from pipeline.formats.filesystems import child_location, expand_inputs, location_name
from pipeline.formats.run_directory import RunDirectory
from pipeline.inspection.verify import verify_run
from pipeline.manifest import load_manifest
from pipeline.phases.runner import run_manifest
from pipeline.runtime.progress import Progress
from pipeline.sample.corpus import write_sample_corpus

BUCKET = "pileline-test"
SETTINGS = (
    "partition_docs: 100\n"
    "filter: {preset: slimpajama}\n"
    "shards: {seq_len: 1023, shard_bytes: 65536}\n"
)


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """A moto S3 server on 127.0.0.1 holding a bucket; yields the query that reaches it."""
    with s3_server(BUCKET, tmp_path_factory.mktemp("moto") / "server.log") as query:
        yield query


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, ray_instance, s3):
    """A sample corpus on local disk and uploaded to S3, and the local run of it (the reference)."""
    root = tmp_path_factory.mktemp("remote")
    write_sample_corpus(root / "sample", docs=300, seed=21)
    filesystem, _ = pafs.FileSystem.from_uri(f"s3://{BUCKET}{s3}")
    for path in sorted((root / "sample").rglob("*.jsonl.zst")):
        with filesystem.open_output_stream(
            f"{BUCKET}/in/{path.relative_to(root / 'sample')}", compression=None
        ) as stream:
            stream.write(path.read_bytes())
    (root / "local.yaml").write_text(
        f"inputs: ['{root / 'sample' / 'train'}/*.jsonl.zst']\noutput: {root / 'local'}\n"
        f"dedup: {{preset: pythia, holdout: ['{root / 'sample' / 'val.jsonl.zst'}']}}\n" + SETTINGS
    )
    run_manifest(load_manifest(root / "local.yaml"), Progress(quiet=True))
    return root


def test_paths_join_before_a_uri_query_and_names_drop_it(s3):
    location = f"s3://{BUCKET}/run{s3}"
    assert child_location(location, "stages/a.json") == f"s3://{BUCKET}/run/stages/a.json{s3}"
    assert RunDirectory(location).uri("tokens/x.idx") == f"s3://{BUCKET}/run/tokens/x.idx{s3}"
    assert location_name(location) == f"s3://{BUCKET}/run"
    assert location_name("/data/odd?name.jsonl") == "/data/odd?name.jsonl", "a local path has no query"


def test_a_glob_on_s3_keeps_the_query_and_sorts_by_name(corpus, s3):
    found = expand_inputs([f"s3://{BUCKET}/in/train/*.jsonl.zst{s3}", f"s3://{BUCKET}/in/val.jsonl.zst{s3}"])
    assert found == [f"s3://{BUCKET}/in/train/{n:02d}.jsonl.zst{s3}" for n in range(3)] + [
        f"s3://{BUCKET}/in/val.jsonl.zst{s3}"
    ]


def _run(
    manifest: Path, *flags: str, timeout: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    command = pileline_run(manifest, "--num-cpus", "2", "--quiet", *flags)
    return subprocess.run(
        command,
        check=False,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **CREDENTIALS, **(env or {})},
    )


def _outputs(run: RunDirectory) -> dict[str, str]:
    return run.read_json("manifest.json")["outputs"]


def _table_with_local_sources(run: RunDirectory, relative: str, local_root: Path) -> pa.Table:
    table = run.read_parquet(relative)
    sources = pc.replace_substring(table.column("source"), f"s3://{BUCKET}/in/", f"{local_root}/")
    index = table.schema.get_field_index("source")
    return table.set_column(index, table.schema.field(index), sources)


def test_inputs_and_run_directory_on_s3(corpus, s3):
    manifest = corpus / "s3.yaml"
    manifest.write_text(
        f"inputs: ['s3://{BUCKET}/in/train/*.jsonl.zst{s3}']\noutput: 's3://{BUCKET}/run{s3}'\n"
        f"dedup: {{preset: pythia, holdout: ['s3://{BUCKET}/in/val.jsonl.zst{s3}']}}\n" + SETTINGS
    )
    node_tmp = corpus / "node-tmp"
    node_tmp.mkdir()
    # The workers' temporary directory (Ray's own stays where it was): where they copy the training order.
    finished = _run(manifest, env={"TMPDIR": str(node_tmp), "RAY_TMPDIR": tempfile.gettempdir()})
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert not [p.name for p in node_tmp.iterdir() if "training-order" in p.name], "the node's order copy is removed"
    remote = RunDirectory(f"s3://{BUCKET}/run{s3}")
    local = RunDirectory(str(corpus / "local"))
    expected = _outputs(local)
    assert sorted(_outputs(remote)) == sorted(expected)
    with_sources = [path for path in expected if path.endswith(".parquet")]
    assert {"dedup/clusters.parquet", "tokens/documents-00000.parquet"} <= set(with_sources)
    for path, digest in expected.items():
        if path in with_sources:
            assert _table_with_local_sources(remote, path, corpus / "sample").equals(local.read_parquet(path)), path
        else:
            assert _outputs(remote)[path] == digest, path
    record = remote.read_json("manifest.json")
    assert [r["path"] for r in record["inputs"]] == [f"s3://{BUCKET}/in/train/{n:02d}.jsonl.zst" for n in range(3)] + [
        f"s3://{BUCKET}/in/val.jsonl.zst"
    ]
    files = [path.rsplit("/", 1)[-1] for path in expected]
    assert sum(f.startswith("documents-") and f.endswith(".bin") for f in files) > 2, (
        "pieces come from several documents files"
    )
    assert sum(f.startswith("sequences-") and f.endswith(".bin") for f in files) > 2
    assert not [p for p in _remote_files(remote, "stages") if "/pieces/" in p or "/scatter/" in p], (
        "the shuffle's files are deleted"
    )
    tables = [path for path in expected if path.startswith("tokens/documents-") and path.endswith(".parquet")]
    sources = {source for path in tables for source in remote.read_parquet(path).column("source").to_pylist()}
    assert sources == {f"s3://{BUCKET}/in/train/{n:02d}.jsonl.zst" for n in range(3)}
    assert verify_run(remote.location, Progress(quiet=True)) == []


def _remote_files(run: RunDirectory, directory: str | None = None) -> list[str]:
    selector = pafs.FileSelector(run.path(directory) if directory else run.root, recursive=True, allow_not_found=True)
    return [info.path for info in run.filesystem.get_file_info(selector) if info.type == pafs.FileType.File]


@pytest.mark.slow
def test_a_run_directory_on_s3_matches_a_local_one_after_a_driver_kill(corpus, s3):
    """Local inputs, run directory on S3: killed mid-dedup, run again, same bytes as the local run."""
    location = f"s3://{BUCKET}/killed{s3}"
    run = RunDirectory(location)
    command = pileline_run(corpus / "local.yaml", "--out", location, "--num-cpus", "2", "--quiet")
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, **CREDENTIALS}
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if any("/edges/" in path and path.endswith(".json") for path in _remote_files(run, "stages")):
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert not run.exists("manifest.json")

    finished = _run(corpus / "local.yaml", "--out", location)
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert re.search(r"^reused: (.* · )?prepare (\d+)/\2 partitions", finished.stdout, re.MULTILINE), finished.stdout
    assert _outputs(run) == _outputs(RunDirectory(str(corpus / "local")))
    assert not [path for path in _remote_files(run) if ".tmp" in path.rsplit("/", 1)[-1]]
