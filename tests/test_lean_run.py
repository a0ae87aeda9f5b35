"""A lean run directory: tokenized partitions are removed after a successful run, every command still works,
a re-run that must lay the documents out again tokenizes again with the same bytes, `--keep-intermediates`
keeps them, and `shards.sequences: false` writes no sequence shards while `inspect` still shows the order."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_tokens_run import _manifest

from pipeline.cli.main import main
from pipeline.phases.runner import run_manifest
from pipeline.runtime.progress import Progress
from pipeline.sample.corpus import write_sample_corpus


def tokenized_files(run: Path, suffix: str) -> list[Path]:
    return sorted(run.glob(f"stages/tokens-*/tokens/*{suffix}"))


def token_digests(run: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((run / "tokens").iterdir())}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, ray_instance) -> Path:
    """`lean` (the default), `kept` (--keep-intermediates) and `no-sequences`, on the same sample."""
    root = tmp_path_factory.mktemp("lean")
    write_sample_corpus(root / "sample", docs=240, seed=3)
    run_manifest(_manifest(root / "sample", root / "lean"), Progress(quiet=True))
    run_manifest(_manifest(root / "sample", root / "kept"), Progress(quiet=True), keep_intermediates=True)
    shards = {"seq_len": 63, "global_batch": 4, "shard_bytes": 40_000, "sequences": False}
    run_manifest(_manifest(root / "sample", root / "no-sequences", shards=shards), Progress(quiet=True))
    return root


def test_tokenized_partitions_are_removed_and_their_summaries_kept(runs):
    lean, kept = runs / "lean", runs / "kept"
    assert tokenized_files(lean, ".bin") == [] and tokenized_files(lean, ".parquet") == []
    assert len(tokenized_files(kept, ".bin")) == len(tokenized_files(kept, ".json")) > 3
    assert [p.name for p in tokenized_files(lean, ".json")] == [p.name for p in tokenized_files(kept, ".json")]
    assert token_digests(lean) == token_digests(kept)
    assert (runs / "lean" / "manifest.json").read_bytes() == (runs / "kept" / "manifest.json").read_bytes().replace(
        str(kept).encode(), str(lean).encode()
    )


def test_dedup_step_files_are_removed_and_the_summaries_and_clusters_kept(runs):
    lean, kept = runs / "lean", runs / "kept"

    def step_files(run: Path) -> dict[str, list[str]]:
        files: dict[str, list[str]] = {}
        for path in sorted(run.glob("stages/dedup-*/*/*")):
            files.setdefault(path.suffix, []).append(f"{path.parent.name}/{path.name}")
        return files

    lean_files, kept_files = step_files(lean), step_files(kept)
    assert {name.split("/")[0] for name in kept_files[".seg"]} >= {"bands", "meta", "exact", "members", "keep"}
    assert ".seg" not in lean_files
    assert lean_files[".json"] == kept_files[".json"]
    assert lean_files[".parquet"] == kept_files[".parquet"] and all(
        name.startswith("clusters/") for name in lean_files[".parquet"]
    )


def test_prepared_partitions_store_no_signatures(runs):
    """Signatures are computed by the dedup phase from the texts (a third of the prepared bytes otherwise)."""
    partitions = sorted((runs / "lean").glob("stages/prepare-*/*.docs.parquet"))
    assert partitions
    for path in partitions:
        names = pq.read_schema(path).names
        assert "text" in names and "text_hash" in names and "signature" not in names


@pytest.mark.parametrize(
    "command",
    [["stats"], ["stats", "--json"], ["report", "--audit", "5"], ["clusters"], ["inspect", "--step", "1"], ["verify"]],
)
def test_every_command_works_on_a_lean_run(runs, command, capsys):
    assert main([command[0], str(runs / "lean"), *command[1:]]) == 0
    assert capsys.readouterr().out.strip()


def test_a_rerun_lays_out_again_from_a_lean_run(runs, tmp_path):
    """A new shard size needs the documents written again: the removed partitions are tokenized again and
    the documents files equal those of a run that never removed anything."""
    sample = runs / "sample"
    shards = {"seq_len": 63, "global_batch": 4, "shard_bytes": 20_000}
    lean = tmp_path / "lean"
    shutil.copytree(runs / "lean", lean)
    result = run_manifest(_manifest(sample, lean, shards=shards), Progress(quiet=True))
    tokenize = [p for p in result.phases if p.phase.startswith("tokens: tokenize again")]
    assert tokenize and tokenize[0].computed == len(tokenized_files(runs / "kept", ".json"))
    fresh = tmp_path / "fresh"
    run_manifest(_manifest(sample, fresh, shards=shards), Progress(quiet=True), keep_intermediates=True)
    assert token_digests(lean) == token_digests(fresh)
    assert main(["verify", str(lean)]) == 0


def test_an_unchanged_rerun_of_a_lean_run_reuses_everything(runs, tmp_path):
    lean = tmp_path / "lean"
    shutil.copytree(runs / "lean", lean)
    result = run_manifest(_manifest(runs / "sample", lean), Progress(quiet=True))
    assert all(phase.computed == 0 for phase in result.phases), [(p.phase, p.computed) for p in result.phases]
    assert token_digests(lean) == token_digests(runs / "lean")


def test_no_sequences_keeps_documents_and_inspect_cuts_samples_from_them(runs, capsys):
    plain, bare = runs / "lean", runs / "no-sequences"
    assert not list(bare.glob("tokens/sequences-*"))
    documents = {name: digest for name, digest in token_digests(plain).items() if name.startswith("documents")}
    assert documents and all(token_digests(bare)[name] == digest for name, digest in documents.items())
    outputs = []
    for run in (plain, bare):
        assert main(["inspect", str(run), "--step", "2", "--tokens"]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] and outputs[0].count("row") == 4
