"""`pileline export`: the real `datasets.load_from_disk` and `litdata.StreamingDataset` read the run's
sequences in training order, compared with the shards parsed straight from their bytes; exports are
byte-identical for any tasks in flight, resume after a kill, and refuse to mix two exports."""

from __future__ import annotations

from pathlib import Path

import datasets
import numpy as np
import orjson
import pytest
from litdata import StreamingDataset
from litdata.streaming.item_loader import TokensLoader
from test_tokens_run import read_mmidx

from pipeline.cli.main import main
from pipeline.formats.token_reader import DocumentShards
from pipeline.inspection.step_view import describe_step
from pipeline.phases.export import ExportConfig, export_run
from pipeline.runtime.progress import Progress

SMALL_FILES = 30_000
"""Bytes per output file in most tests: 234 samples of 64 uint16 tokens, so several files whose
boundaries fall inside the run's sequence shards."""


def _expected(run: Path) -> np.ndarray:
    """Every sample in training order, parsed from the sequence shards' bytes."""
    meta = orjson.loads((run / "tokens" / "sequences.json").read_bytes())
    return np.stack([item for shard in meta["shards"] for item in read_mmidx(run / "tokens" / shard["file"])[1]])


def _export(
    run: Path, out: Path, fmt: str, file_bytes: int | None = SMALL_FILES, max_in_flight: int | None = None
) -> dict:
    return export_run(
        str(run), str(out), ExportConfig(format=fmt, file_bytes=file_bytes), max_in_flight, Progress(quiet=True)
    )


@pytest.fixture(scope="module")
def hf_export(training_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "hf"
    _export(training_run, out, "hf")
    return out


def _files(out: Path) -> dict[str, bytes]:
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and ".pileline" not in p.parts
    }


def test_load_from_disk_gives_every_sequence_in_training_order(training_run, hf_export):
    expected = _expected(training_run)
    dataset = datasets.load_from_disk(str(hf_export))
    assert len(list(hf_export.glob("data-*.arrow"))) > 2
    assert dataset.num_rows == len(expected) > 1000
    assert dataset.column_names == ["input_ids", "sample", "step", "doc_id", "doc_offset"]
    assert dataset.features["input_ids"].length == 64
    tokens = np.asarray(dataset.with_format("numpy")["input_ids"])
    assert tokens.shape == expected.shape and (tokens == expected).all()
    assert dataset["sample"] == list(range(len(expected)))
    assert dataset["step"] == [i // 8 for i in range(len(expected))]


def test_every_step_of_the_hf_dataset_is_the_step_inspect_shows(training_run, hf_export):
    dataset = datasets.load_from_disk(str(hf_export)).with_format("numpy")
    for step in (0, 57, len(dataset) // 8 - 1):
        shown = describe_step(str(training_run), step, None, None, True, 400)
        rows = [
            line.split()
            for line in shown.splitlines()
            if line.startswith("   ") and not line.lstrip().startswith("tokens")
        ]
        assert np.array(rows, dtype=np.int64).tolist() == dataset[step * 8 : (step + 1) * 8]["input_ids"].tolist()


def test_provenance_names_the_document_each_sequence_begins_in(training_run, hf_export):
    dataset = datasets.load_from_disk(str(hf_export))
    documents = DocumentShards(training_run)
    for row in dataset.select([0, 1, 500, len(dataset) - 1]):
        found = [i for i in range(len(documents)) if documents.info(i)["doc_id"] == row["doc_id"]]
        assert len(found) == 1
        document = documents[found[0]]
        begin = row["doc_offset"]
        head = row["input_ids"][: min(64, document.size - begin)]
        assert document[begin : begin + len(head)].tolist() == head


def test_litdata_streaming_dataset_reads_the_same_sequences(training_run, tmp_path):
    expected = _expected(training_run)
    _export(training_run, tmp_path / "lit", "litdata", file_bytes=None)
    _export(training_run, tmp_path / "lit-small", "litdata")
    for out in (tmp_path / "lit", tmp_path / "lit-small"):
        dataset = StreamingDataset(str(out), item_loader=TokensLoader(block_size=64), shuffle=False)
        assert len(dataset) == len(expected)
        assert all((np.asarray(dataset[i]) == expected[i]).all() for i in range(len(expected)))
        assert np.stack([np.asarray(x) for x in dataset]).tolist() == expected.tolist()
    assert len(list((tmp_path / "lit-small").glob("chunk-*.bin"))) > 2


def test_exports_are_byte_identical_for_any_tasks_in_flight(training_run, hf_export, tmp_path):
    _export(training_run, tmp_path / "one", "hf", max_in_flight=1)
    assert _files(tmp_path / "one") == _files(hf_export)


def test_a_killed_export_resumes_to_the_same_bytes(training_run, hf_export, tmp_path):
    out = tmp_path / "resumed"
    _export(training_run, out, "hf")
    names = sorted(p.name for p in out.glob("data-*.arrow"))
    for name in names[1:3]:
        (out / name).unlink()
        (out / ".pileline" / "files" / f"{name}.json").unlink()
    (out / "state.json").unlink()
    (out / f"{names[1]}.tmp-0123456789ab").write_bytes(b"half a file")
    modified = (out / names[0]).stat().st_mtime_ns
    _export(training_run, out, "hf")
    assert (out / names[0]).stat().st_mtime_ns == modified, "a finished file is reused, not rewritten"
    assert _files(out) == _files(hf_export)


def test_an_export_of_something_else_is_refused(training_run, hf_export, tmp_path, capsys):
    assert (
        main(
            [
                "export",
                str(training_run),
                "--format",
                "litdata",
                "--out",
                str(hf_export),
                "--file-bytes",
                str(SMALL_FILES),
                "--quiet",
            ]
        )
        == 2
    )
    assert (
        capsys.readouterr().err.strip()
        == f"pileline: error: {hf_export}: holds another export (differs in format); remove it or choose another --out"
    )
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["export", str(training_run), "--format", "hf", "--out", str(tmp_path), "--quiet"]) == 2
    assert "not empty and not a pileline export" in capsys.readouterr().err


def test_the_export_command_writes_a_dataset(training_run, tmp_path, capsys):
    out = tmp_path / "cli"
    assert (
        main(["export", str(training_run), "--format", "hf", "--out", str(out), "--file-bytes", "100000", "--quiet"])
        == 0
    )
    total = len(_expected(training_run))
    assert (
        capsys.readouterr().out.strip()
        == f"{out}: {total:,} sequences in {-(-total // 781)} hf file(s) of 781 sequences"
    )
    assert datasets.load_from_disk(str(out)).num_rows == total
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]
