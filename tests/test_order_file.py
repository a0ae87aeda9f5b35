"""Memory-mapped `.npz` members equal what `np.load` reads; remote run directories get one local copy per file
version."""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np
import pytest

from pipeline.formats.order_file import local_copy, npz_memmaps, open_npz, remove_local_copy
from pipeline.formats.run_directory import RunDirectory


def _arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    return {
        "doc_idx": rng.permutation(1000).astype(np.int32),
        "sample_idx": rng.integers(0, 2**40, size=(301, 2), dtype=np.int64),
        "shuffle_idx": rng.permutation(300).astype(np.uint32),
        "fortran": np.asfortranarray(rng.random((7, 3))),
        "empty": np.zeros((0, 2), dtype=np.int32),
    }


def test_members_are_mapped_with_their_dtype_shape_and_values(tmp_path):
    path = tmp_path / "order.npz"
    arrays = _arrays()
    np.savez(path, **arrays)
    mapped = npz_memmaps(str(path))
    assert sorted(mapped) == sorted(arrays)
    for name, expected in arrays.items():
        assert mapped[name].dtype == expected.dtype and mapped[name].shape == expected.shape, name
        np.testing.assert_array_equal(mapped[name], expected)
    assert isinstance(mapped["doc_idx"], np.memmap)


def test_a_compressed_npz_is_refused_by_name(tmp_path):
    path = tmp_path / "order.npz"
    np.savez_compressed(path, doc_idx=np.arange(10))
    with pytest.raises(ValueError, match="doc_idx.npy is compressed"):
        npz_memmaps(str(path))


def test_a_local_run_directory_is_mapped_in_place(tmp_path):
    run = RunDirectory(str(tmp_path))
    np.savez(tmp_path / "order.npz", a=np.arange(5))
    assert local_copy(run, "order.npz") == str(tmp_path / "order.npz")


def test_a_remote_file_is_copied_once_and_again_when_it_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path / "node"))
    (tmp_path / "node").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", None)
    run = RunDirectory(f"file://{tmp_path / 'run'}")
    (tmp_path / "run").mkdir()
    np.savez(tmp_path / "run" / "order.npz", a=np.arange(5))
    first = local_copy(run, "order.npz")
    assert first.startswith(str(tmp_path / "node")) and os.path.exists(first)
    assert local_copy(run, "order.npz") == first
    np.testing.assert_array_equal(open_npz(run, "order.npz")["a"], np.arange(5))
    time.sleep(0.01)
    np.savez(tmp_path / "run" / "order.npz", a=np.arange(7))
    assert local_copy(run, "order.npz") != first
    np.testing.assert_array_equal(open_npz(run, "order.npz")["a"], np.arange(7))
    assert not [name for name in os.listdir(tmp_path / "node") if ".npz." in name], "no partial copies left"


def test_removing_a_copy_deletes_only_this_nodes_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path / "node"))
    (tmp_path / "node").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", None)
    (tmp_path / "run").mkdir()
    np.savez(tmp_path / "run" / "order.npz", a=np.arange(5))
    remote = RunDirectory(f"file://{tmp_path / 'run'}")
    copy = local_copy(remote, "order.npz")
    assert remove_local_copy(remote, "order.npz") is True
    assert not os.path.exists(copy) and (tmp_path / "run" / "order.npz").exists(), "the run's own file stays"
    assert remove_local_copy(remote, "order.npz") is False, "nothing left to remove"
    assert remove_local_copy(RunDirectory(str(tmp_path / "run")), "order.npz") is False
    assert (tmp_path / "run" / "order.npz").exists(), "a local run directory's file is the file itself, never removed"
