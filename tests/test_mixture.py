"""The training mixture (`stages.mixture`) and the orders built over it (`stages.training_order`), without Ray:
repeats per subset against the weights, the Pile paper's Table 1, GPT-NeoX's order over the repeated documents,
the file order of evaluation splits, and the manifest keys that configure them."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from test_training_order import neox_getitem, neox_index_mappings

from pipeline.errors import UserError
from pipeline.formats.parquet_stream import StableParquetWriter
from pipeline.formats.run_directory import RunDirectory
from pipeline.manifest import parse_manifest
from pipeline.phases.tokens import _document_names
from stages.mixture import PILE_TABLE_1, mixture_repeats, mixture_weights, pile_paper_shares
from stages.training_order import build_file_order, build_training_order, sample_tokens

NAMES = ["A", "B", "C"]


def _corpus(seed: int = 0, documents: int = 600) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, len(NAMES), documents), rng.integers(1, 400, documents)


def _subset_tokens(subset: np.ndarray, sizes: np.ndarray, repeats: np.ndarray, code: int) -> int:
    return int((sizes * repeats)[subset == code].sum())


def test_whole_epochs_repeat_every_document_and_fractions_sample_within_one_document():
    subset, sizes = _corpus()
    weights = {"A": 3.0, "B": 1.25, "C": 0.4}
    repeats = mixture_repeats(subset, NAMES, sizes, weights, seed=7)
    assert repeats.dtype == np.int32
    assert set(repeats[subset == 0].tolist()) == {3}
    assert set(repeats[subset == 1].tolist()) == {1, 2}
    assert set(repeats[subset == 2].tolist()) == {0, 1}
    for code, name in enumerate(NAMES):
        got = _subset_tokens(subset, sizes, repeats, code)
        target = weights[name] * int(sizes[subset == code].sum())
        assert 0 <= got - target < sizes[subset == code].max(), name


def test_none_and_weight_one_keep_every_document_once_and_zero_drops_a_subset():
    subset, sizes = _corpus()
    assert mixture_repeats(subset, NAMES, sizes, mixture_weights("none", NAMES), seed=1).tolist() == [1] * sizes.size
    repeats = mixture_repeats(subset, NAMES, sizes, {"A": 0.0, "B": 1.0, "C": 1.0}, seed=1)
    assert not repeats[subset == 0].any() and (repeats[subset != 0] == 1).all()


def test_each_subset_draws_from_its_own_generator():
    subset, sizes = _corpus()
    first = mixture_repeats(subset, NAMES, sizes, {"A": 1.5, "B": 1.5, "C": 1.0}, seed=3)
    other = mixture_repeats(subset, NAMES, sizes, {"A": 1.5, "B": 2.7, "C": 0.2}, seed=3)
    assert first[subset == 0].tolist() == other[subset == 0].tolist()
    reseeded = mixture_repeats(subset, NAMES, sizes, {"A": 1.5, "B": 1.5, "C": 1.0}, seed=4)
    assert first[subset == 0].tolist() != reseeded[subset == 0].tolist()


def test_the_pile_preset_is_table_1():
    assert len(PILE_TABLE_1) == 22
    assert sum(raw for raw, _ in PILE_TABLE_1.values()) == pytest.approx(825.18, abs=0.01)
    assert sum(raw * epochs for raw, epochs in PILE_TABLE_1.values()) == pytest.approx(1254.20, abs=0.01)
    shares = pile_paper_shares()
    assert shares["Pile-CC"] == pytest.approx(0.1811, abs=1e-4) and shares["Books3"] == pytest.approx(0.1207, abs=1e-4)
    weights = mixture_weights("pile", ["Wikipedia (en)", "Gutenberg (PG-19)", "unknown"])
    assert weights == {"Wikipedia (en)": 3.0, "Gutenberg (PG-19)": 2.5, "unknown": 1.0}


def test_the_order_over_a_mixture_is_gpt_neox_over_the_repeated_documents():
    subset, sizes = _corpus(documents=80)
    sizes = sizes.astype(np.int32)
    assert all(
        np.array_equal(a, b)
        for a, b in zip(
            _arrays(build_training_order(sizes, 31, 500, 1234)),
            _arrays(build_training_order(sizes, 31, 500, 1234, np.arange(sizes.size))),
        )
    )
    repeats = mixture_repeats(subset, NAMES, sizes, {"A": 2.0, "B": 0.5, "C": 1.7}, seed=1234)
    epoch = np.repeat(np.arange(sizes.size), repeats)
    order = build_training_order(sizes, 31, 900, 1234, epoch)
    repeated = [(np.arange(int(sizes[i])) + 1000 * i).tolist() for i in epoch]
    neox = neox_index_mappings(sizes[epoch], 900, 31, 1234)
    assert (order.epochs, order.tokens_per_epoch, order.total_samples) == (neox[0], neox[1], len(neox[4]))
    assert order.epochs > 1

    class Documents:
        def __init__(self) -> None:
            self.sizes = sizes

        def __getitem__(self, i: int) -> np.ndarray:
            return np.arange(int(sizes[i])) + 1000 * i

    for i in range(order.total_samples):
        assert sample_tokens(order, i, Documents()).tolist() == neox_getitem(*neox[2:], repeated, i)


def test_the_file_order_cuts_the_token_stream_in_place():
    sizes = np.array([5, 1, 12, 0, 9, 3], dtype=np.int32)
    stream = np.arange(int(sizes.sum()))
    ends = np.cumsum(sizes)

    class Documents:
        def __init__(self) -> None:
            self.sizes = sizes

        def __getitem__(self, i: int) -> np.ndarray:
            return stream[ends[i] - sizes[i] : ends[i]]

    order = build_file_order(sizes, 4)
    assert order.total_samples == (int(sizes.sum()) - 1) // 4 == 7
    for i in range(order.total_samples):
        assert sample_tokens(order, i, Documents()).tolist() == stream[4 * i : 4 * i + 5].tolist()
    with pytest.raises(ValueError, match="cannot fill one sequence"):
        build_file_order(np.array([3], dtype=np.int32), 4)


def test_subset_codes_read_dictionary_encoded_equal_the_names(tmp_path):
    """The order step reads `pile_set_name` as Parquet's dictionaries (one per row group, here of 3 rows, in
    two documents files): each document's code is its name's place among the sorted names present."""
    run = RunDirectory(str(tmp_path))
    names = [["Pile-CC", "ArXiv", "Pile-CC", "Github", "Github", "Github", "ArXiv"], ["Enron Emails", "ArXiv"]]
    for file, rows in zip(["documents-00000", "documents-00001"], names):
        with run.open_atomic(f"tokens/{file}.parquet") as stream, StableParquetWriter(
            stream, pa.schema([("pile_set_name", pa.string())]), row_group_rows=3
        ) as writer:
            writer.write(pa.table({"pile_set_name": rows}))
    subset, sorted_names = _document_names(run, [{"file": "documents-00000"}, {"file": "documents-00001"}])
    assert sorted_names == ["ArXiv", "Enron Emails", "Github", "Pile-CC"]
    assert subset.dtype == np.uint8
    assert [sorted_names[code] for code in subset] == names[0] + names[1]


def _arrays(order) -> tuple[np.ndarray, ...]:
    return order.doc_idx, order.sample_idx, order.shuffle_idx


BASE = {"inputs": ["in/*.jsonl.zst"], "output": "out"}


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"shards": {"mixture": "pyle"}}, "shards.mixture: Value error, unknown mixture 'pyle'"),
        ({"shards": {"mixture": {"Books3": -1}}}, "shards.mixture: Value error, Books3: epochs must be a number"),
        ({"shards": {"mixture": {"Books3": "two"}}}, "shards.mixture: Value error, Books3: epochs must be a number"),
        ({"splits": {"train": ["x.jsonl"]}}, "splits.train: unknown key"),
        ({"splits": {"valid": "x.jsonl"}}, "splits.valid: Input should be a valid list"),
    ],
)
def test_bad_mixture_and_splits_keys_are_named(extra, message):
    with pytest.raises(UserError) as error:
        parse_manifest({**BASE, **extra}, "m.yaml")
    assert str(error.value).startswith(f"m.yaml: {message}")


def test_the_manifest_keys_give_a_mixture_and_splits():
    manifest = parse_manifest(
        {**BASE, "shards": {"mixture": {"Books3": 1.5}}, "splits": {"test": ["t.jsonl"], "valid": ["v.jsonl"]}}
    )
    assert manifest.shards.mixture == {"Books3": 1.5}
    assert list(manifest.splits.named()) == ["valid", "test"]
    assert parse_manifest(BASE).shards.mixture == "none" and parse_manifest(BASE).splits.named() == {}
