"""Stream tables into one Parquet file with fixed-size row groups, so the bytes depend only on the rows.

Writing each incoming table as its own row group would make the file depend on how rows were
partitioned; buffering to exactly `row_group_rows` rows per group makes it depend on the rows alone.
"""

from __future__ import annotations

from typing import BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

ROW_GROUP_ROWS = 1 << 20


class StableParquetWriter:
    """A Parquet writer whose row groups hold exactly `row_group_rows` rows (the last one fewer)."""

    def __init__(self, stream: BinaryIO, schema: pa.Schema, row_group_rows: int = ROW_GROUP_ROWS) -> None:
        self.schema = schema
        self.row_group_rows = row_group_rows
        self.pending: list[pa.Table] = []
        self.pending_rows = 0
        self.writer = pq.ParquetWriter(stream, schema, compression="zstd", write_statistics=False)

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        self.pending.append(table.select(self.schema.names).cast(self.schema))
        self.pending_rows += table.num_rows
        while self.pending_rows >= self.row_group_rows:
            self._flush(self.row_group_rows)

    def _flush(self, rows: int) -> None:
        buffered = pa.concat_tables(self.pending)
        self.writer.write_table(buffered.slice(0, rows).combine_chunks(), row_group_size=rows)
        rest = buffered.slice(rows)
        self.pending = [rest] if rest.num_rows else []
        self.pending_rows = rest.num_rows

    def close(self) -> None:
        if self.pending_rows:
            self._flush(self.pending_rows)
        self.writer.close()

    def __enter__(self) -> StableParquetWriter:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.close()
        else:
            self.writer.close()
