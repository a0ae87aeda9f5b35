"""The batch contract shared by all stages: column names, `doc_id` identity, and a stage's result.

A batch is a `pyarrow.Table` with at least the columns of `DOC_SCHEMA`. A stage returns the rows it
keeps and the rows it drops, each dropped row with a `reason`; counting is done by the caller from
the reasons, so stages never keep counters of their own.
"""

from __future__ import annotations

from typing import NamedTuple

import pyarrow as pa

LINE_BITS = 40
"""`doc_id = file_index << LINE_BITS | line`: 2^40 lines per file, 2^23 files, ordered as (file, line)."""

DOC_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.int64(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("line", pa.int64(), nullable=False),
        pa.field("pile_set_name", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
    ]
)

REJECT_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("line", pa.int64(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("pile_set_name", pa.string()),
        pa.field("raw", pa.binary(), nullable=False),
    ]
)
REJECT_RAW_BYTES = 4096
"""Rejected lines and filtered documents are stored cut to this many bytes."""


def make_doc_id(file_index: int, line: int) -> int:
    """The global id of line `line` (1-based) of input file `file_index` (its place in the sorted inputs)."""
    return (file_index << LINE_BITS) | line


def split_doc_id(doc_id: int) -> tuple[int, int]:
    """Inverse of `make_doc_id`: (file_index, line)."""
    return doc_id >> LINE_BITS, doc_id & ((1 << LINE_BITS) - 1)


class StageResult(NamedTuple):
    """What a dropping stage returns: the kept rows, and the dropped rows with an added `reason` column."""

    kept: pa.Table
    dropped: pa.Table


def with_reasons(table: pa.Table, reasons: list[str]) -> pa.Table:
    """`table` with a `reason` string column appended (one reason per row)."""
    return table.append_column("reason", pa.array(reasons, type=pa.string()))


def empty_docs() -> pa.Table:
    """A batch with the document schema and no rows."""
    return DOC_SCHEMA.empty_table()
