"""Open `tokens/training-order.npz` without reading it whole: its arrays memory-mapped where they lie.

At Pile scale the order is ~3 GB (doc_idx, sample_idx, shuffle_idx, sizes) and a sequences task
touches only the rows of its own samples. `np.savez` stores each array uncompressed inside the zip,
so each member's `.npy` data can be memory-mapped at its offset. A local (or mounted) run directory
is mapped in place; a remote one is copied once per node into the temporary directory (named by the
file's location, size and modification time, so a rewritten order is never taken for the old one)
and removed from every node when the sequences are written.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import tempfile
import zipfile

import numpy as np
import pyarrow.fs as pafs

from pipeline.formats.filesystems import is_uri
from pipeline.formats.run_directory import RunDirectory
from pipeline.formats.run_layout import ORDER_FILE
from stages.training_order import TrainingOrder

_LOCAL_HEADER = struct.Struct("<4s22xHH")
"""A zip local file header: signature, 22 bytes we skip, file name length, extra field length."""
COPY_BLOCK = 16 << 20


def npz_memmaps(path: str) -> dict[str, np.ndarray]:
    """Every array of the uncompressed `.npz` at `path`, memory-mapped read-only (empty arrays in memory)."""
    arrays = {}
    with zipfile.ZipFile(path) as archive, open(path, "rb") as raw:
        for info in archive.infolist():
            if info.compress_type != zipfile.ZIP_STORED:
                raise ValueError(f"{path}: {info.filename} is compressed, so it cannot be memory-mapped")
            raw.seek(info.header_offset)
            signature, name_length, extra_length = _LOCAL_HEADER.unpack(raw.read(_LOCAL_HEADER.size))
            if signature != b"PK\x03\x04":
                raise ValueError(f"{path}: no zip entry at offset {info.header_offset} for {info.filename}")
            raw.seek(info.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
            version = np.lib.format.read_magic(raw)
            read_header = (
                np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            )
            shape, fortran, dtype = read_header(raw)
            name = info.filename.removesuffix(".npy")
            if int(np.prod(shape)) == 0:
                arrays[name] = np.empty(shape, dtype)
            else:
                arrays[name] = np.memmap(
                    path, dtype=dtype, mode="r", offset=raw.tell(), shape=shape, order="F" if fortran else "C"
                )
    return arrays


def local_copy(run: RunDirectory, relative: str) -> str:
    """A path on this node's disk holding `relative`: the file itself when the run directory is local,
    else a copy in the temporary directory made once per node (atomically, so concurrent tasks agree)."""
    if not is_uri(run.location):
        return run.path(relative)
    target = _copy_path(run, relative)
    if os.path.exists(target):
        return target
    handle, partial = tempfile.mkstemp(prefix=os.path.basename(target) + ".", dir=os.path.dirname(target))
    try:
        with (
            os.fdopen(handle, "wb") as out,
            run.filesystem.open_input_stream(run.path(relative), compression=None) as stream,
        ):
            shutil.copyfileobj(stream, out, COPY_BLOCK)
        os.replace(partial, target)
    except BaseException:
        os.unlink(partial)
        raise
    return target


def remove_local_copy(run: RunDirectory, relative: str) -> bool:
    """Delete this node's copy of `relative` (of a remote run directory) if it has one; True if it did.
    A task that still maps the copy keeps reading it: the disk space returns when it unmaps."""
    if not is_uri(run.location):
        return False
    try:
        os.unlink(_copy_path(run, relative))
    except FileNotFoundError:
        return False
    return True


def _copy_path(run: RunDirectory, relative: str) -> str:
    info = run.filesystem.get_file_info(run.path(relative))
    if info.type != pafs.FileType.File:
        raise FileNotFoundError(run.uri(relative))
    key = hashlib.sha256(f"{run.uri(relative)}\0{info.size}\0{info.mtime_ns}".encode()).hexdigest()[:24]
    return os.path.join(tempfile.gettempdir(), f"pileline-{key}-{os.path.basename(relative)}")


def open_npz(run: RunDirectory, relative: str) -> dict[str, np.ndarray]:
    """The arrays of the run's `.npz` at `relative`, memory-mapped on this node."""
    return npz_memmaps(local_copy(run, relative))


def load_training_order(
    run: RunDirectory, seq_len: int, seed: int, summary: dict, relative: str = ORDER_FILE
) -> tuple[TrainingOrder, np.ndarray]:
    """The run's GPT-NeoX order (from `tokens/training-order.npz`, or a split's file order at `relative`,
    memory-mapped) and the documents' sizes."""
    arrays = open_npz(run, relative)
    order = TrainingOrder(
        seq_len, seed, summary["num_samples"], summary["epochs"], summary["tokens_per_epoch"],
        arrays["doc_idx"], arrays["sample_idx"], arrays["shuffle_idx"],
    )
    return order, arrays["sizes"]
