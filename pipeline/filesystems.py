"""Resolve local paths and pyarrow/fsspec URIs (s3://, gs://, file://) to a filesystem and a path."""

from __future__ import annotations

import fnmatch
import glob
import os

import pyarrow.fs as pafs

from pipeline.errors import UserError

GLOB_CHARS = "*?["


def is_uri(location: str) -> bool:
    """True for `scheme://…` locations; everything else is a local path."""
    return "://" in location


def resolve(location: str) -> tuple[pafs.FileSystem, str]:
    """(filesystem, path inside it) for a local path or URI; local paths become absolute."""
    if not is_uri(location):
        return pafs.LocalFileSystem(), os.path.abspath(location)
    try:
        filesystem, path = pafs.FileSystem.from_uri(location)
    except (ValueError, OSError) as error:  # pyarrow's ArrowInvalid is a ValueError
        raise UserError(f"{location}: cannot open this filesystem URI ({error})") from None
    return filesystem, path


def expand_inputs(patterns: list[str]) -> list[str]:
    """The sorted, de-duplicated list of input files named by paths, globs or URIs.

    The index of a file in this list is part of every `doc_id`, so the order is defined by the sorted
    location strings alone. A pattern that names nothing is an error.
    """
    found: set[str] = set()
    for pattern in patterns:
        matches = _expand_one(pattern)
        if not matches:
            raise UserError(f"{pattern}: no input file matches")
        found.update(matches)
    return sorted(found)


def _expand_one(pattern: str) -> list[str]:
    if not is_uri(pattern):
        if any(char in pattern for char in GLOB_CHARS):
            return [os.path.abspath(p) for p in glob.glob(pattern, recursive=True) if os.path.isfile(p)]
        path = os.path.abspath(pattern)
        if os.path.isdir(path):
            raise UserError(f"{pattern}: is a directory; name files or a glob such as {pattern.rstrip('/')}/*.jsonl.zst")
        return [path] if os.path.exists(path) else []
    filesystem, path = resolve(pattern)
    scheme = pattern.split("://", 1)[0]
    if not any(char in path for char in GLOB_CHARS):
        info = filesystem.get_file_info(path)
        return [pattern] if info.type == pafs.FileType.File else []
    base = path[: min(path.index(c) for c in GLOB_CHARS if c in path)].rsplit("/", 1)[0]
    selector = pafs.FileSelector(base, recursive=True, allow_not_found=True)
    return [
        f"{scheme}://{info.path}"
        for info in filesystem.get_file_info(selector)
        if info.type == pafs.FileType.File and fnmatch.fnmatchcase(info.path, path)
    ]


def file_size(location: str) -> int:
    """The size in bytes of the file at a local path or URI."""
    filesystem, path = resolve(location)
    return filesystem.get_file_info(path).size
