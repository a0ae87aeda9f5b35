"""What identifies an input's bytes without reading them, so a rerun knows which inputs changed.

A local file is identified by its size, modification and change times (ns) and inode: rewriting,
truncating, replacing or `touch`ing it changes at least one, and `touch -r`/`cp -p` cannot restore
the change time. An object (`s3://…`) is identified by its size, modification time and the store's
`ETag` and `VersionId` (when the store gives them), from one metadata request. A changed identity
means "read it again"; it never proves that the bytes differ (a `touch` alone also re-reads the file).
"""

from __future__ import annotations

import os

import pyarrow.fs as pafs

from pipeline.errors import UserError
from pipeline.formats.filesystems import is_uri, location_name, resolve
from pipeline.formats.storage_errors import reporting_storage_errors

OBJECT_VERSION_KEYS = ("ETag", "VersionId")
"""Object metadata (as pyarrow's input files report it) that changes whenever an object is rewritten."""


def input_identity(location: str) -> dict[str, int | str]:
    """The identity of the input file at a local path or URI; a missing file is a `UserError`."""
    if not is_uri(location):
        try:
            stat = os.stat(location)
        except FileNotFoundError:
            raise UserError(f"{location}: input file is missing") from None
        return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "ctime_ns": stat.st_ctime_ns, "inode": stat.st_ino}
    filesystem, path = resolve(location)
    with reporting_storage_errors(location, "looking up an input file"):
        info = filesystem.get_file_info(path)
        if info.type != pafs.FileType.File:
            raise UserError(f"{location_name(location)}: input file is missing")
        with filesystem.open_input_file(path) as handle:
            metadata = handle.metadata()
    identity: dict[str, int | str] = {"size": info.size, "mtime_ns": info.mtime_ns}
    for key in OBJECT_VERSION_KEYS:
        if metadata.get(key):
            identity[key] = metadata[key].decode()
    return identity


def identity_changes(recorded: dict | None, current: dict) -> list[str]:
    """The fields in which `current` differs from `recorded` (every field when nothing was recorded)."""
    recorded = recorded or {}
    return sorted(key for key in recorded.keys() | current.keys() if recorded.get(key) != current.get(key))
