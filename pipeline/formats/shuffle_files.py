"""File-based shuffle: a mapper writes one Arrow IPC file holding one record batch per destination
bucket (empty batches included), so reducer k reads batch k of every mapper's file and nothing else.

Files go through the run directory (atomic, any pyarrow filesystem), so a shuffle survives a driver
crash: finished mapper files are reused, and a reducer only needs the files to exist.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from pipeline.formats.run_directory import RunDirectory


def write_routed(run: RunDirectory, relative: str, table: pa.Table, buckets: np.ndarray, count: int) -> None:
    """Write `table`'s rows to `relative` as `count` record batches, row i into batch `buckets[i]`."""
    order = np.argsort(buckets, kind="stable")
    bounds = np.searchsorted(buckets[order], np.arange(count + 1))
    ordered = table.take(pa.array(order)) if table.num_rows else table
    with run.open_atomic(relative) as stream:
        with pa.ipc.new_file(stream, table.schema) as writer:
            for bucket in range(count):
                piece = ordered.slice(int(bounds[bucket]), int(bounds[bucket + 1] - bounds[bucket]))
                writer.write_batch(
                    piece.combine_chunks().to_batches()[0] if piece.num_rows else _empty_batch(table.schema)
                )


def _empty_batch(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([], schema=schema)


def read_bucket(run: RunDirectory, relatives: list[str], bucket: int, schema: pa.Schema) -> pa.Table:
    """Batch `bucket` of every file in `relatives`, concatenated in the given order."""
    batches = []
    for relative in relatives:
        with run.filesystem.open_input_file(run.path(relative)) as source:
            reader = pa.ipc.open_file(source)
            batch = reader.get_batch(bucket)
            if batch.num_rows:
                batches.append(batch)
    return pa.Table.from_batches(batches, schema=schema) if batches else schema.empty_table()
