"""Resolve local paths and pyarrow/fsspec URIs (s3://, gs://, file://) to a filesystem and a path.

A URI may end in a query of connection options that pyarrow understands, e.g.
`s3://bucket/run?endpoint_override=127.0.0.1:9000&scheme=http`. The query says how to reach the
data, not what the data is: paths are joined before it, and what a run records as an input's name
(`source`, manifest.json's `path`, every hash) is the location without it.
"""

from __future__ import annotations

import fnmatch
import glob
import os

import pyarrow.fs as pafs

from pipeline.errors import UserError

GLOB_CHARS = "*?["
OBJECT_STORE_ATTEMPTS = 6
"""Attempts per S3 request (pyarrow's AWS standard retry strategy: exponential backoff with jitter,
capped at 20 s; about 10-25 s in all before a request fails for good)."""


def is_uri(location: str) -> bool:
    """True for `scheme://…` locations; everything else is a local path."""
    return "://" in location


def split_query(location: str) -> tuple[str, str]:
    """(the location without its query, the query including `?`, or ""); local paths have no query."""
    if not is_uri(location):
        return location, ""
    base, mark, query = location.partition("?")
    return base, mark + query


def location_name(location: str) -> str:
    """The location without its connection options: the name outputs record for an input."""
    return split_query(location)[0]


def child_location(location: str, relative: str) -> str:
    """The location of `relative` under the directory `location`, keeping its query."""
    base, query = split_query(location)
    return f"{base.rstrip('/')}/{relative}{query}"


def resolve(location: str) -> tuple[pafs.FileSystem, str]:
    """(filesystem, path inside it) for a local path or URI; local paths become absolute."""
    if not is_uri(location):
        return pafs.LocalFileSystem(), os.path.abspath(location)
    try:
        filesystem, path = pafs.FileSystem.from_uri(location)
    except (ValueError, OSError) as error:  # pyarrow's ArrowInvalid is a ValueError
        raise UserError(f"{location}: cannot open this filesystem URI ({error})") from None
    if isinstance(filesystem, pafs.S3FileSystem):
        # The same options (as the filesystem pickles them), with more retries than pyarrow's 3.
        options = filesystem.__reduce__()[1][0]
        filesystem = pafs.S3FileSystem(**options, retry_strategy=pafs.AwsStandardS3RetryStrategy(OBJECT_STORE_ATTEMPTS))
    return filesystem, path


def expand_inputs(patterns: list[str]) -> list[str]:
    """The sorted, de-duplicated list of input files named by paths, globs or URIs.

    The index of a file in this list is part of every `doc_id`, so the order is defined by the sorted
    location names alone (a URI's query does not count). A pattern that names nothing is an error.
    """
    found: set[str] = set()
    for pattern in patterns:
        matches = _expand_one(pattern)
        if not matches:
            raise UserError(f"{pattern}: no input file matches")
        found.update(matches)
    return sorted(found, key=lambda location: (location_name(location), location))


def _expand_one(pattern: str) -> list[str]:
    if not is_uri(pattern):
        if any(char in pattern for char in GLOB_CHARS):
            return [os.path.abspath(p) for p in glob.glob(pattern, recursive=True) if os.path.isfile(p)]
        path = os.path.abspath(pattern)
        if os.path.isdir(path):
            raise UserError(
                f"{pattern}: is a directory; name files or a glob such as {pattern.rstrip('/')}/*.jsonl.zst"
            )
        return [path] if os.path.exists(path) else []
    filesystem, path = resolve(pattern)
    scheme = pattern.split("://", 1)[0]
    query = split_query(pattern)[1]
    if not any(char in path for char in GLOB_CHARS):
        info = filesystem.get_file_info(path)
        return [pattern] if info.type == pafs.FileType.File else []
    base = path[: min(path.index(c) for c in GLOB_CHARS if c in path)].rsplit("/", 1)[0]
    selector = pafs.FileSelector(base, recursive=True, allow_not_found=True)
    return [
        f"{scheme}://{info.path}{query}"
        for info in filesystem.get_file_info(selector)
        if info.type == pafs.FileType.File and fnmatch.fnmatchcase(info.path, path)
    ]
