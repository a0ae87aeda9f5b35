"""Evaluation splits and the training mixture in a real run, read back by other libraries' readers:
megatron-core's `IndexedDataset` (split, mixture and sequence files), `datasets.load_from_disk` (an exported
split), ftfy + tiktoken on the raw split files, GPT-NeoX's index mappings over the mixture's documents file;
and byte-identical outputs for another CPU count and partition size, and for a resumed run."""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from pathlib import Path

import datasets
import ftfy
import numpy as np
import orjson
import pyarrow.parquet as pq
import pytest
import zstandard
from gpt2_oracle import tiktoken_gpt2
from input_files_for_tests import doc_line, write_lines
from run_commands import pileline_run
from test_tokens_run import _manifest as tokens_run_manifest
from test_training_order import neox_getitem, neox_index_mappings

from pipeline.errors import UserError
from pipeline.inspection.run_files import RunFiles
from pipeline.inspection.run_stats import gather_stats
from pipeline.phases.export import ExportConfig, export_run
from pipeline.phases.runner import run_manifest
from pipeline.runtime.progress import Progress
from pipeline.sample.corpus import write_sample_corpus
from stages.mixture import mixture_weights

SEQ_LEN = 63
SEED = 5
SHORT_EVAL_TEXT = "A short eval line."
"""Under the SlimPajama filter's 200 characters: a training document like it is dropped, a split's is kept."""


def _raw_lines(path: Path) -> list[dict]:
    data = zstandard.ZstdDecompressor().stream_reader(path.open("rb")).read()
    return [orjson.loads(line) for line in data.split(b"\n")[:-1]]


def _manifest(root: Path, out: Path, **extra):
    """test_tokens_run's manifest with both features on, the SlimPajama filter and decontamination against val."""
    sample = root / "sample"
    settings = {
        "seed": SEED,
        "partition_docs": 40,
        "filter": {"preset": "slimpajama"},
        "decontaminate": {"sets": {"pile_val": [str(sample / "val.jsonl.zst")]}},
        "shards": {"seq_len": SEQ_LEN, "global_batch": 4, "shard_bytes": 60_000, "mixture": "pile"},
        "splits": {"valid": [str(sample / "val.jsonl.zst")], "test": [str(root / "test.jsonl.zst")]},
    }
    return tokens_run_manifest(sample, out, **{**settings, **extra})


@pytest.fixture(scope="module")
def run_root(tmp_path_factory, ray_instance):
    """A sample corpus; a test file holding a copy of one training document and a line too short for the filter;
    one run with both features on (the `pile` mixture; the sample's val file as `valid`, also the
    decontamination set, so a split that were decontaminated would lose its own text)."""
    root = tmp_path_factory.mktemp("splits")
    write_sample_corpus(root / "sample", docs=360, seed=SEED)
    copied = max(_raw_lines(root / "sample" / "train" / "01.jsonl.zst"), key=lambda r: len(r["text"]))
    write_lines(
        root / "test.jsonl.zst",
        [doc_line(SHORT_EVAL_TEXT, "Wikipedia (en)"), doc_line(copied["text"], copied["meta"]["pile_set_name"])],
    )
    run_manifest(_manifest(root, root / "run"), Progress(quiet=True))
    return root


def _training_documents(run: Path):
    return pq.read_table(sorted(str(p) for p in (run / "tokens").glob("documents*.parquet")))


def _tokens_outputs(run: Path) -> dict[str, str]:
    outputs = orjson.loads((run / "manifest.json").read_bytes())["outputs"]
    return {k: v for k, v in outputs.items() if k.startswith(("tokens/", "dedup/", "stats/"))}


def test_megatron_core_reads_each_split_as_ftfy_and_tiktoken_give_it(run_root):
    from megatron.core.datasets.indexed_dataset import IndexedDataset

    run, oracle = run_root / "run", tiktoken_gpt2()
    for split, source in (("valid", run_root / "sample" / "val.jsonl.zst"), ("test", run_root / "test.jsonl.zst")):
        raw = _raw_lines(source)
        dataset = IndexedDataset(str(run / "tokens" / f"{split}-documents"))
        table = pq.read_table(run / "tokens" / f"{split}-documents.parquet").to_pylist()
        assert len(dataset) == len(raw) == len(table)
        assert [r["line"] for r in table] == list(range(1, len(raw) + 1))
        assert {Path(r["source"]).name for r in table} == {source.name}
        for i, line in enumerate(raw):
            expected = oracle.encode_ordinary(ftfy.fix_text(line["text"])) + [50256]
            assert dataset[i].tolist() == expected, (split, i)
            assert table[i]["pile_set_name"] == line["meta"]["pile_set_name"]
    assert _raw_lines(run_root / "test.jsonl.zst")[0]["text"] == SHORT_EVAL_TEXT


def test_split_sequences_are_the_file_order_and_export_to_datasets(run_root, tmp_path):
    from megatron.core.datasets.indexed_dataset import IndexedDataset

    run = run_root / "run"
    meta = orjson.loads((run / "tokens" / "valid-sequences.json").read_bytes())
    documents = IndexedDataset(str(run / "tokens" / "valid-documents"))
    flat = np.concatenate([documents[i] for i in range(len(documents))])
    samples = [IndexedDataset(str(run / "tokens" / s["file"])) for s in meta["shards"]]
    rows = [shard[i] for shard in samples for i in range(len(shard))]
    assert len(rows) == meta["total_samples"] == (flat.size - 1) // SEQ_LEN > 1
    for i, row in enumerate(rows):
        assert row.tolist() == flat[i * SEQ_LEN : i * SEQ_LEN + SEQ_LEN + 1].tolist()
    config = ExportConfig(format="hf", split="valid", file_bytes=2_000)
    export_run(str(run), str(tmp_path / "hf"), config, None, Progress(quiet=True))
    exported = datasets.load_from_disk(str(tmp_path / "hf"))
    assert len(list((tmp_path / "hf").glob("data-*.arrow"))) > 1
    assert [r["input_ids"] for r in exported] == [row.tolist() for row in rows]
    doc_ids = pq.read_table(run / "tokens" / "valid-documents.parquet").column("doc_id").to_pylist()
    assert exported[0]["doc_id"] == doc_ids[0] and exported[0]["doc_offset"] == 0


def test_splits_are_never_filtered_and_remove_their_training_copies(run_root):
    run = run_root / "run"
    record = orjson.loads((run / "manifest.json").read_bytes())
    by_split = {r.get("split"): r for r in record["inputs"] if r["holdout"]}
    assert set(by_split) == {"valid", "test"}
    for split in ("valid", "test"):
        entry = by_split[split]
        assert entry["kept"] == entry["lines"] and not entry["filtered"] and not entry["rejected"]
        assert record["splits"][split]["documents"] == entry["lines"]
        assert f"tokens/{split}-documents.bin" in record["outputs"]
        assert set(record["splits"][split]["outputs"]) <= set(record["outputs"])
    clusters = pq.read_table(run / "dedup" / "clusters.parquet").to_pylist()
    contaminated = [r["doc_id"] for r in clusters if r["contaminated"] and not r["kept"]]
    assert contaminated, "the test split's copy of a training document removed it"
    kept_ids = set(_training_documents(run).column("doc_id").to_pylist())
    assert not kept_ids & set(contaminated)
    files = RunFiles(str(run))
    train_sources = {files.source_of(p.file_index) for p in files.train_partitions()}
    assert all("/train/" in source for source in train_sources), "ngrams and stats read training partitions only"
    stats = gather_stats(str(run))
    assert stats["splits"]["test"]["documents"] == 2
    assert sum(c["documents"] for c in stats["splits"]["valid"]["by_set"].values()) == by_split["valid"]["lines"]


def _pass_tokens_by_subset(run: Path) -> tuple[Counter, dict[str, list[int]]]:
    """Tokens per subset in one pass of the training order, counted from GPT-NeoX's doc_idx; sizes per subset."""
    order = np.load(run / "tokens" / "training-order.npz")
    table = _training_documents(run)
    names, sizes = table.column("pile_set_name").to_pylist(), table.column("tokens").to_numpy()
    meta = orjson.loads((run / "tokens" / "sequences.json").read_bytes())
    assert meta["epochs"] == 1 and meta["mixture"] == "pile"
    repeats = np.bincount(order["doc_idx"], minlength=sizes.size)
    trained: Counter = Counter()
    by_subset: dict[str, list[int]] = {}
    for name, size, repeat in zip(names, sizes.tolist(), repeats.tolist()):
        trained[name] += size * repeat
        by_subset.setdefault(name, []).append(size)
    return trained, by_subset


def test_tokens_per_subset_in_the_training_order_are_weight_times_its_tokens(run_root):
    run = run_root / "run"
    trained, by_subset = _pass_tokens_by_subset(run)
    weights = mixture_weights("pile", sorted(by_subset))
    assert {w for w in weights.values()} >= {1.0, 1.5, 2.0, 3.0}
    for name, sizes in by_subset.items():
        target = weights[name] * sum(sizes)
        assert 0 <= trained[name] - target < max(sizes), name
    mixture = gather_stats(str(run))["mixture"]["by_set"]
    assert set(trained) <= set(mixture)
    assert {name: row["tokens_trained"] for name, row in mixture.items()} == {name: trained[name] for name in mixture}


def test_gpt_neox_over_the_mixture_documents_builds_the_sequences(run_root):
    from megatron.core.datasets.indexed_dataset import IndexedDataset

    run = run_root / "run"
    meta = orjson.loads((run / "tokens" / "sequences.json").read_bytes())
    assert len(meta["documents"]) > 1, "shard_bytes splits the documents files"
    mixture = [IndexedDataset(str(run / "tokens" / f"mixture-{d['file']}")) for d in meta["documents"]]
    documents = [reader[i].tolist() for reader in mixture for i in range(len(reader))]
    sizes = np.array([len(d) for d in documents], dtype=np.int32)
    assert sizes.sum() == meta["tokens_per_epoch"] > sum(d["tokens"] for d in meta["documents"])
    epochs, _, doc_idx, sample_idx, shuffle_idx = neox_index_mappings(sizes, meta["num_samples"], SEQ_LEN, SEED)
    shards = [IndexedDataset(str(run / "tokens" / s["file"])) for s in meta["shards"]]
    samples = [shard[i] for shard in shards for i in range(len(shard))]
    assert epochs == meta["epochs"] and len(samples) == len(shuffle_idx) == meta["total_samples"]
    for i, sample in enumerate(samples):
        assert sample.tolist() == neox_getitem(doc_idx, sample_idx, shuffle_idx, documents, i)


def test_outputs_are_identical_on_one_cpu_with_another_partition_size(run_root, tmp_path):
    manifest = tmp_path / "one-cpu.yaml"
    manifest.write_text(orjson.dumps(_manifest(run_root, tmp_path / "one").model_dump(mode="json")).decode())
    command = pileline_run(manifest, "--num-cpus", "1", "--partition-docs", "97", "--quiet")
    finished = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    expected = _tokens_outputs(run_root / "run")
    assert {"tokens/valid-sequences-00000.bin", "tokens/mixture-documents-00000.bin"} <= set(expected)
    assert _tokens_outputs(tmp_path / "one") == expected


def test_a_resumed_run_equals_a_fresh_one(run_root, tmp_path):
    """A run cut short after its splits' documents: no manifest, no test order or sequences, no mixture files,
    and one unfinished test partition. Running again finishes it to the fresh run's bytes."""
    resumed = tmp_path / "resumed"
    shutil.copytree(run_root / "run", resumed)
    (resumed / "manifest.json").unlink()
    for path in resumed.glob("tokens/*"):
        if path.name.startswith(("test-sequences", "test-order", "mixture-", "sequences")):
            path.unlink()
    for path in resumed.glob("stages/layout-*/*/*.json"):
        if path.parent.name in ("mixture", "sequences") or path.stem == "test-order":
            path.unlink()
    test_index = max(int(p.stem.split("-")[1]) for p in resumed.glob("stages/prepare-*/file-*.json"))
    for path in resumed.glob(f"stages/prepare-*/{test_index:05d}-*.json"):
        path.unlink()
    (next(resumed.glob("stages/prepare-*")) / f"file-{test_index:05d}.json").unlink()
    result = run_manifest(_manifest(run_root, resumed), Progress(quiet=True))
    assert result.computed_partitions == 1 and result.reused_partitions > 1
    assert _tokens_outputs(resumed) == _tokens_outputs(run_root / "run")


def test_a_file_named_as_a_split_and_as_dedup_holdout_is_refused(run_root, tmp_path):
    val = str(run_root / "sample" / "val.jsonl.zst")
    manifest = _manifest(run_root, tmp_path / "both", dedup={"preset": "pythia", "holdout": [val]})
    with pytest.raises(UserError, match=r"val\.jsonl\.zst: named both as dedup\.holdout and as splits\.valid"):
        run_manifest(manifest, Progress(quiet=True))
