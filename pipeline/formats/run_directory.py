"""The run directory: every file written atomically (temp name, then rename), on any pyarrow filesystem.

A file under its final name is always complete: a crash leaves at most a `*.tmp-*` file, which no
reader trusts and the next run removes. Paths given to this module are relative to the run root.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import BinaryIO

import orjson
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from pipeline.formats.filesystems import child_location, resolve
from pipeline.formats.storage_errors import describe_run_file, reporting_storage_errors

TMP_MARK = ".tmp-"
"""Our temporary files contain this; files ending in `.tmp` (the MMIDIDX writer's) are temporary too."""
HASH_BLOCK = 8 << 20


def is_temporary(name: str) -> bool:
    """True for a file name that an unfinished write left behind."""
    return TMP_MARK in name or name.endswith(".tmp")


def stream_sha256(stream: BinaryIO) -> str:
    """Hex sha256 of everything left in a readable stream."""
    digest = hashlib.sha256()
    while block := stream.read(HASH_BLOCK):
        digest.update(block)
    return digest.hexdigest()


class RunDirectory:
    """A run's root (local path or URI); picklable, so Ray tasks write to the same place."""

    def __init__(self, location: str) -> None:
        self.location = location
        self.filesystem, self.root = resolve(location)

    def __reduce__(self):
        return (RunDirectory, (self.location,))

    def path(self, relative: str) -> str:
        """The filesystem path of `relative`."""
        return f"{self.root.rstrip('/')}/{relative}"

    def uri(self, relative: str) -> str:
        """A location string for `relative` that `pipeline.formats.filesystems.resolve` understands."""
        return child_location(self.location, relative)

    def _io(self, relative: str, verb: str) -> AbstractContextManager:
        """Storage errors while `verb`ing `relative` (reading, writing, …) as one-line errors naming its URI."""
        return reporting_storage_errors(self.uri(relative), f"{verb} {describe_run_file(relative)}")

    def exists(self, relative: str) -> bool:
        with self._io(relative, "looking up"):
            return self.filesystem.get_file_info(self.path(relative)).type == pafs.FileType.File

    def list_files(self, relative_dir: str, suffix: str = "") -> list[str]:
        """Relative paths of finished files under `relative_dir` ending in `suffix`, sorted."""
        selector = pafs.FileSelector(self.path(relative_dir), recursive=True, allow_not_found=True)
        prefix = self.root.rstrip("/") + "/"
        with self._io(relative_dir, "listing"):
            infos = self.filesystem.get_file_info(selector)
        return sorted(
            info.path[len(prefix) :]
            for info in infos
            if info.type == pafs.FileType.File and info.path.endswith(suffix) and not is_temporary(info.base_name)
        )

    @contextmanager
    def open_atomic(self, relative: str) -> Iterator[BinaryIO]:
        """A writable stream whose bytes appear under `relative` only when the block ends without error."""
        final = self.path(relative)
        parent = final.rsplit("/", 1)[0]
        temporary = f"{final}{TMP_MARK}{uuid.uuid4().hex[:12]}"
        with self._io(relative, "writing"):
            self.filesystem.create_dir(parent, recursive=True)
            stream = self.filesystem.open_output_stream(temporary, compression=None)
            try:
                yield stream
                stream.close()
            except BaseException:
                with suppress(OSError):  # closing flushes, which fails again on a full disk; the file goes anyway
                    stream.close()
                self.filesystem.delete_file(temporary)
                raise
            self.filesystem.move(temporary, final)

    def write_bytes(self, relative: str, data: bytes) -> None:
        with self.open_atomic(relative) as stream:
            stream.write(data)

    def write_json(self, relative: str, value: object) -> None:
        self.write_bytes(relative, orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")

    def read_json(self, relative: str) -> object:
        return orjson.loads(self.read_bytes(relative))

    def read_bytes(self, relative: str) -> bytes:
        with (
            self._io(relative, "reading"),
            self.filesystem.open_input_stream(self.path(relative), compression=None) as stream,
        ):
            return stream.read()

    def write_parquet(self, relative: str, table: pa.Table, dictionary: list[str] | None = None) -> None:
        """Write `table` as Parquet with fixed settings, so equal tables give equal bytes. `dictionary` names the
        columns worth dictionary-encoding (few distinct values) when not all are: Parquet tries every column
        otherwise, and on texts that attempt costs more than the compression and makes reading 3.5x slower."""
        buffer = io.BytesIO()
        pq.write_table(
            table,
            buffer,
            compression="zstd",
            use_dictionary=True if dictionary is None else dictionary,
            write_statistics=False,
            store_schema=True,
        )
        self.write_bytes(relative, buffer.getvalue())

    def read_parquet(
        self, relative: str, columns: list[str] | None = None, dictionaries: list[str] | None = None
    ) -> pa.Table:
        """The table in `relative` (only `columns`, if given; the `dictionaries` columns dictionary-encoded, as
        Parquet stores a column of few distinct values, instead of one value per row). Read as one file, not
        through `pq.read_table`, whose dataset layer costs each process ~0.3 s of imports (pyarrow.dataset,
        pandas) on first use."""
        with self._io(relative, "reading"), self.filesystem.open_input_file(self.path(relative)) as source:
            return pq.ParquetFile(source, read_dictionary=dictionaries).read(columns=columns)

    def sha256(self, relative: str) -> str:
        with (
            self._io(relative, "hashing"),
            self.filesystem.open_input_stream(self.path(relative), compression=None) as stream,
        ):
            return stream_sha256(stream)

    def size(self, relative: str) -> int:
        """Bytes of the file `relative`."""
        return self.filesystem.get_file_info(self.path(relative)).size

    def delete(self, relative: str) -> None:
        with self._io(relative, "deleting"):
            self.filesystem.delete_file(self.path(relative))

    def delete_dir(self, relative: str) -> None:
        """Delete a directory and everything under it (intermediate files no step reads again); nothing if missing."""
        path = self.path(relative)
        with self._io(relative, "deleting"):
            if self.filesystem.get_file_info(path).type == pafs.FileType.Directory:
                self.filesystem.delete_dir(path)

    def remove_temporaries(self) -> int:
        """Delete `*.tmp-*` files left by a crashed run; returns how many."""
        selector = pafs.FileSelector(self.root, recursive=True, allow_not_found=True)
        with reporting_storage_errors(self.location, "removing temporary files"):
            infos = self.filesystem.get_file_info(selector)
            stale = [i.path for i in infos if i.type == pafs.FileType.File and is_temporary(i.base_name)]
            for path in stale:
                self.filesystem.delete_file(path)
        return len(stale)
