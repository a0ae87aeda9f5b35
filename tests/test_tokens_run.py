"""Token outputs of a real run, read back with an independent reader of the MMIDIDX byte layout:
ids against ftfy + tiktoken on the raw input, sequence order against a slow GPT-NeoX reimplementation,
and byte-identical `tokens/` for any partition size, tasks in flight and CPU count."""

from __future__ import annotations

import hashlib
import struct
import subprocess
from pathlib import Path

import ftfy
import numpy as np
import orjson
import pyarrow.parquet as pq
import pytest
import zstandard
from gpt2_oracle import tiktoken_gpt2
from run_commands import pileline_run
from test_training_order import neox_getitem, neox_index_mappings

from pipeline.formats.token_reader import DocumentShards, SequenceShards
from pipeline.manifest import parse_manifest
from pipeline.phases.runner import run_manifest
from pipeline.runtime.progress import Progress
from pipeline.sample.corpus import write_sample_corpus

SEQ_LEN = 63
SEED = 99


def read_mmidx(prefix: Path) -> tuple[np.dtype, list[np.ndarray], np.ndarray]:
    """(token dtype, items, doc_idx) parsed straight from the bytes, following the layout table alone."""
    index = (Path(f"{prefix}.idx")).read_bytes()
    magic, version, code, n, d = struct.unpack_from("<9sQBQQ", index, 0)
    assert magic == b"MMIDIDX\x00\x00" and version == 1
    dtype = {8: np.dtype("<u2"), 4: np.dtype("<i4")}[code]
    sizes = np.frombuffer(index, "<i4", n, 34)
    pointers = np.frombuffer(index, "<i8", n, 34 + 4 * n)
    doc_idx = np.frombuffer(index, "<i8", d, 34 + 12 * n)
    assert len(index) == 34 + 12 * n + 8 * d
    data = Path(f"{prefix}.bin").read_bytes()
    items = [np.frombuffer(data, dtype, int(s), int(p)) for s, p in zip(sizes, pointers)]
    assert int(pointers[0]) == 0 if n else True
    assert sum(int(s) for s in sizes) * dtype.itemsize == len(data)
    return dtype, items, doc_idx


def _raw_texts(sample: Path) -> dict[tuple[str, int], str]:
    texts = {}
    for path in sorted((sample / "train").glob("*.jsonl.zst")):
        data = zstandard.ZstdDecompressor().stream_reader(path.open("rb")).read()
        for line, raw in enumerate(data.split(b"\n")[:-1], start=1):
            texts[(path.name, line)] = orjson.loads(raw)["text"]
    return texts


def _manifest(sample: Path, out: Path, **extra):
    data = {
        "inputs": [str(sample / "train" / "*.jsonl.zst")],
        "output": str(out),
        "seed": SEED,
        "partition_docs": 37,
        "filter": {"preset": "cerebras"},
        "dedup": {"preset": "pythia"},
        "shards": {"seq_len": SEQ_LEN, "global_batch": 4, "shard_bytes": 40_000},
    }
    data.update(extra)
    return parse_manifest(data)


def _documents_table(run: Path) -> list[dict]:
    """Every documents file's table, in the files' order; each names its own file and numbers its items from 0."""
    meta = orjson.loads((run / "tokens" / "sequences.json").read_bytes())
    rows = []
    for document in meta["documents"]:
        table = pq.read_table(run / "tokens" / f"{document['file']}.parquet").to_pylist()
        assert {r["file"] for r in table} == {document["file"]}
        assert [r["item"] for r in table] == list(range(document["items"]))
        rows += table
    return rows


@pytest.fixture(scope="module")
def tokens_run(tmp_path_factory, ray_instance):
    root = tmp_path_factory.mktemp("tokens")
    write_sample_corpus(root / "sample", docs=240, seed=3)
    run_manifest(_manifest(root / "sample", root / "run"), Progress(quiet=True))
    return root


def test_documents_are_the_kept_documents_in_doc_id_order_with_tiktoken_ids(tokens_run):
    run = tokens_run / "run"
    table = _documents_table(run)
    clusters = pq.read_table(run / "dedup" / "clusters.parquet").to_pylist()
    removed = {r["doc_id"] for r in clusters if not r["kept"]}
    assert removed, "the sample has duplicates to remove"
    assert not removed & {r["doc_id"] for r in table}
    assert [r["doc_id"] for r in table] == sorted(r["doc_id"] for r in table)
    files = sorted({r["file"] for r in table})
    assert len(files) > 1, "shard_bytes is small enough to split the documents file"
    items = {name: read_mmidx(run / "tokens" / name) for name in files}
    assert all(dtype == np.dtype("<u2") for dtype, _, _ in items.values())
    for _, its, doc_idx in items.values():
        assert doc_idx.tolist() == list(range(len(its) + 1))
    oracle = tiktoken_gpt2()
    raw = _raw_texts(tokens_run / "sample")
    for row in table:
        expected = oracle.encode_ordinary(ftfy.fix_text(raw[(Path(row["source"]).name, row["line"])])) + [50256]
        got = items[row["file"]][1][row["item"]]
        assert got.tolist() == expected, (row["source"], row["line"])
        assert row["tokens"] == len(expected)


def test_sequences_follow_the_gpt_neox_order(tokens_run):
    run = tokens_run / "run"
    meta = orjson.loads((run / "tokens" / "sequences.json").read_bytes())
    documents = [item.tolist() for d in meta["documents"] for item in read_mmidx(run / "tokens" / d["file"])[1]]
    sizes = np.array([len(d) for d in documents], dtype=np.int32)
    epochs, tokens_per_epoch, doc_idx, sample_idx, shuffle_idx = neox_index_mappings(
        sizes, meta["num_samples"], SEQ_LEN, SEED
    )
    assert (meta["epochs"], meta["tokens_per_epoch"], meta["total_samples"]) == (
        epochs,
        tokens_per_epoch,
        len(shuffle_idx),
    )
    samples = [item for shard in meta["shards"] for item in read_mmidx(run / "tokens" / shard["file"])[1]]
    assert len(meta["shards"]) > 1
    assert len(samples) == len(shuffle_idx)
    for i, sample in enumerate(samples):
        assert sample.tolist() == neox_getitem(doc_idx, sample_idx, shuffle_idx, documents, i)


def test_the_package_reader_gives_steps_and_documents(tokens_run):
    run = tokens_run / "run"
    sequences = SequenceShards(run)
    documents = DocumentShards(run)
    meta = sequences.meta
    shard_items = [item for shard in meta["shards"] for item in read_mmidx(run / "tokens" / shard["file"])[1]]
    batch = sequences.batch(2)
    assert batch.shape == (4, SEQ_LEN + 1)
    assert [row.tolist() for row in batch] == [s.tolist() for s in shard_items[8:12]]
    table = _documents_table(run)
    assert len(documents) == len(table)
    last_of_first_file = meta["documents"][0]["items"] - 1
    for i in (5, last_of_first_file, last_of_first_file + 1, len(table) - 1):
        assert documents.info(i) == table[i]
        assert documents[i].size == table[i]["tokens"]
    with pytest.raises(IndexError):
        sequences.batch(sequences.steps())


def _tokens_outputs(run: Path) -> dict[str, str]:
    outputs = orjson.loads((run / "manifest.json").read_bytes())["outputs"]
    return {k: v for k, v in outputs.items() if k.startswith(("tokens/", "dedup/", "stats/"))}


def test_recorded_digests_are_the_files_sha256_and_cover_every_output(tokens_run):
    run = tokens_run / "run"
    outputs = orjson.loads((run / "manifest.json").read_bytes())["outputs"]
    on_disk = {
        path.relative_to(run).as_posix()
        for directory in ("tokens", "dedup", "stats", "rejects")
        for path in (run / directory).rglob("*")
        if path.is_file() and path.name != "report.html"
    }
    assert set(outputs) == on_disk
    assert {"tokens/documents-00000.bin", "tokens/documents-00000.parquet", "tokens/sequences-00000.idx"} <= set(
        outputs
    )
    for path, digest in outputs.items():
        assert hashlib.sha256((run / path).read_bytes()).hexdigest() == digest, path


def test_tokens_are_identical_for_any_partition_size_and_tasks_in_flight(tokens_run, tmp_path):
    sample = tokens_run / "sample"
    run_manifest(
        _manifest(sample, tmp_path / "other", partition_docs=500, ray={"max_in_flight": 1}), Progress(quiet=True)
    )
    expected = _tokens_outputs(tokens_run / "run")
    assert any(k.startswith("tokens/sequences-") for k in expected)
    assert _tokens_outputs(tmp_path / "other") == expected


def test_tokens_are_identical_on_a_one_cpu_embedded_ray(tokens_run, tmp_path):
    manifest = tmp_path / "one-cpu.yaml"
    manifest.write_text(
        orjson.dumps(_manifest(tokens_run / "sample", tmp_path / "one").model_dump(mode="json")).decode()
    )
    command = pileline_run(manifest, "--num-cpus", "1", "--partition-docs", "61", "--quiet")
    finished = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    assert _tokens_outputs(tmp_path / "one") == _tokens_outputs(tokens_run / "run")
