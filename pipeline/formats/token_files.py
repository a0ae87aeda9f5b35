"""Open and write a run's MMIDIDX token files wherever the run directory is.

A local or mounted run directory is written in place and read through memory maps. On a remote
filesystem (`s3://…`) a file pair is written to the worker's local disk, then uploaded (`.bin` first,
`.idx` last, each atomically), and read back by range requests (the sequence shards are cut from
them by a file shuffle instead: `pipeline.phases.sequences`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from pipeline.formats.filesystems import is_uri
from pipeline.formats.indexed_dataset import (
    IndexedDataset,
    IndexedDatasetWriter,
    RangeIndexedDataset,
    data_path,
    index_path,
)
from pipeline.formats.run_directory import RunDirectory, stream_sha256
from pipeline.formats.storage_errors import describe_run_file, reporting_storage_errors

UPLOAD_BLOCK = 16 << 20


@contextmanager
def indexed_writer(
    run: RunDirectory, relative_prefix: str, dtype: np.dtype, digests: dict[str, str]
) -> Iterator[IndexedDatasetWriter]:
    """An `IndexedDatasetWriter` whose finished pair appears at `relative_prefix` in the run directory;
    the pair's sha256 go into `digests` (hashed from this node's disk, so the outputs need no second read)."""
    if not is_uri(run.location):
        path = run.path(relative_prefix)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with (
            reporting_storage_errors(f"{path}.{{bin,idx}}", f"writing {describe_run_file(relative_prefix)}"),
            IndexedDatasetWriter(path, dtype) as writer,
        ):
            yield writer
        _hash_pair(path, relative_prefix, digests)
        return
    with tempfile.TemporaryDirectory(prefix="pileline-") as scratch:
        local = os.path.join(scratch, "part")
        with IndexedDatasetWriter(local, dtype) as writer:
            yield writer
        _hash_pair(local, relative_prefix, digests)
        for source, target in (
            (data_path(local), data_path(relative_prefix)),
            (index_path(local), index_path(relative_prefix)),
        ):
            with open(source, "rb") as data, run.open_atomic(target) as stream:
                shutil.copyfileobj(data, stream, UPLOAD_BLOCK)


def _hash_pair(local_prefix: str, relative_prefix: str, digests: dict[str, str]) -> None:
    for name in (data_path, index_path):
        with open(name(local_prefix), "rb") as stream:
            digests[name(relative_prefix)] = stream_sha256(stream)


def open_indexed(run: RunDirectory, relative_prefix: str) -> IndexedDataset | RangeIndexedDataset:
    """A reader of the finished pair at `relative_prefix`: memory-mapped when local, range reads when remote."""
    if is_uri(run.location):
        return RangeIndexedDataset(run.filesystem, run.path(relative_prefix))
    return IndexedDataset(run.path(relative_prefix))
