"""The prepare phase's reader: one streaming Ray task per input file, and the partitions it cuts.

Kept apart from the partition work so a reader's worker imports only what reading needs (zstandard,
pyarrow), not the stages: the first partition reaches the driver sooner at the start of a run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pyarrow as pa

from pipeline.formats.input_files import LineChunk, iter_line_chunks
from pipeline.formats.input_identity import identity_changes, input_identity
from pipeline.runtime.task_resources import reader_task

READER_AHEAD_OBJECTS = 4
"""Objects a reader may yield before the driver takes them (backpressure): two partitions ahead."""


def partition_items(
    file_index: int, location: str, partition_docs: int, partition_bytes: int, max_line_bytes: int, finished: frozenset
) -> Iterator[tuple[dict, list[bytes] | None]]:
    """Per partition (at most `partition_docs` lines and `partition_bytes` line bytes, unless one line is longer)
    a description dict and its lines (None for a damaged line's partition); last, the file's sha256 and the
    identity fields that changed while it was read (none, when it held still)."""
    before = input_identity(location)
    digest = hashlib.sha256()
    for item in iter_line_chunks(location, partition_docs, max_line_bytes, digest, chunk_bytes=partition_bytes):
        if isinstance(item, LineChunk):
            todo = item.first_line not in finished
            yield {"kind": "chunk", "first_line": item.first_line, "lines": len(item.lines), "todo": todo}, item.lines
        else:
            yield {"kind": "damage", "first_line": item.line, "damage": item, "todo": item.line not in finished}, None
    end = {"kind": "end", "sha256": digest.hexdigest(), "changed": identity_changes(before, input_identity(location))}
    yield end, None


@reader_task
def read_partitions(
    file_index: int, location: str, partition_docs: int, partition_bytes: int, max_line_bytes: int, finished: frozenset
):
    """Yield `partition_items`' descriptions, each followed by its partition's lines when it is not finished."""
    for item, lines in partition_items(
        file_index, location, partition_docs, partition_bytes, max_line_bytes, finished
    ):
        yield item
        if item["kind"] == "chunk" and item["todo"]:
            yield pa.array(lines, type=pa.large_binary())
