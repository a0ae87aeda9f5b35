"""Segment files: one exchange output of one task, its rows grouped into a fixed number of segments.

Byte layout (little-endian):

    segment 0 … segment S-1      each an Arrow IPC stream (schema, record batches, end marker);
                                 an empty segment takes no bytes at all
    offsets   uint64[S + 1]      byte offset of each segment's start, then of the trailer
    count     uint64             S
    magic     b"PLSEGv01"

A reader of segments [a, b) makes two reads: the fixed-size trailer (S is known to it) and the one
contiguous byte range `[offsets[a], offsets[b])`. So a task that reads a run of segments costs one
file and two requests however many segments the run holds, and only non-empty segments are pieces.

Files go through the run directory (atomic, any pyarrow filesystem): a finished file is complete, and
a crash leaves only a temporary name that no reader trusts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from pipeline.formats.run_directory import RunDirectory

MAGIC = b"PLSEGv01"


def trailer_bytes(segments: int) -> int:
    """Size of the trailer of a file of `segments` segments."""
    return 8 * (segments + 2) + len(MAGIC)


@dataclass
class ExchangeIO:
    """What one task wrote to and read from one exchange: the pieces (non-empty segments), files and bytes."""

    pieces_written: int = 0
    files_written: int = 0
    bytes_written: int = 0
    pieces_read: int = 0
    files_read: int = 0
    requests: int = 0
    bytes_read: int = 0

    def add(self, other: ExchangeIO) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def to_json(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass
class IOLedger:
    """A task's `ExchangeIO` per exchange name, reported in its JSON summary under `io`."""

    by_exchange: dict[str, ExchangeIO] = field(default_factory=dict)

    def of(self, exchange: str) -> ExchangeIO:
        return self.by_exchange.setdefault(exchange, ExchangeIO())

    def to_json(self) -> dict:
        return {name: io.to_json() for name, io in sorted(self.by_exchange.items())}


def write_segments(run: RunDirectory, relative: str, table: pa.Table, segment: np.ndarray, count: int) -> ExchangeIO:
    """Write `table`'s rows to `relative` as `count` segments, row i into segment `segment[i]` (order kept).

    Rows already in segment order (an exchange routed by document range, whose rows come sorted by document) are
    not copied: each segment is a slice of `table`, its chunks streamed straight to the file."""
    if segment.size > 1 and np.any(segment[1:] < segment[:-1]):
        order = np.argsort(segment, kind="stable")
        table, segment = table.take(pa.array(order)), segment[order]
    bounds = np.searchsorted(segment, np.arange(count + 1))
    offsets = np.zeros(count + 1, dtype=np.uint64)
    written = ExchangeIO(files_written=1)
    position = 0
    with run.open_atomic(relative) as stream:
        for index in range(count):
            offsets[index] = position
            rows = int(bounds[index + 1] - bounds[index])
            if rows:
                with pa.ipc.new_stream(stream, table.schema) as writer:
                    writer.write_table(table.slice(int(bounds[index]), rows))
                position = stream.tell()
                written.pieces_written += 1
        offsets[count] = position
        trailer = offsets.tobytes() + np.uint64(count).tobytes() + MAGIC
        stream.write(trailer)
    written.bytes_written = position + len(trailer)
    return written


def read_segments(
    run: RunDirectory, relatives: list[str], first: int, stop: int, count: int, schema: pa.Schema
) -> tuple[pa.Table, ExchangeIO]:
    """Segments [first, stop) of every file in `relatives` (each of `count` segments), concatenated in order."""
    tables = []
    read = ExchangeIO()
    size = trailer_bytes(count)
    for relative in relatives:
        with run.filesystem.open_input_file(run.path(relative)) as source:
            end = source.size()
            trailer = source.read_at(size, end - size)
            if end < size or trailer[-len(MAGIC) :] != MAGIC:
                raise RuntimeError(f"{run.uri(relative)}: not a complete segment file")
            offsets = np.frombuffer(trailer, dtype=np.uint64, count=count + 1)
            start, finish = int(offsets[first]), int(offsets[stop])
            read.files_read += 1
            read.requests += 1
            if finish == start:
                continue
            data = source.read_at(finish - start, start)
            read.requests += 1
            read.bytes_read += finish - start
        buffer = pa.py_buffer(data)
        for index in range(first, stop):
            low, high = int(offsets[index]) - start, int(offsets[index + 1]) - start
            if high > low:
                tables.append(pa.ipc.open_stream(buffer.slice(low, high - low)).read_all())
                read.pieces_read += 1
    return (pa.concat_tables(tables) if tables else schema.empty_table()), read
