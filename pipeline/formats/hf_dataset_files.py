"""The Hugging Face `datasets` on-disk layout of `Dataset.save_to_disk`, written without `datasets`.

`datasets.load_from_disk(DIR)` reads three kinds of files (datasets 5.x, `arrow_dataset.py`):

    DIR/data-NNNNN-of-MMMMM.arrow   Arrow IPC *stream* format, one per shard, concatenated in the
                                    order state.json lists them; the schema's metadata key
                                    `huggingface` holds {"info": {"features": …}}
    DIR/dataset_info.json           {"citation", "description", "features", "homepage", "license"}
    DIR/state.json                  {"_data_files": [{"filename": …}, …], "_fingerprint",
                                     "_format_columns": null, "_format_kwargs": {}, "_format_type": null,
                                     "_output_all_columns": false, "_split": null}

A training sequence is one row: `input_ids` (a fixed-size list of `seq_len + 1` token ids, the run's
token dtype) and the provenance columns `sample` (its index in training order), `step` (at the run's
global batch) and `doc_id`/`doc_offset` (the document it begins in, and where).
"""

from __future__ import annotations

from typing import BinaryIO

import numpy as np
import orjson
import pyarrow as pa

PROVENANCE = ("sample", "step", "doc_id", "doc_offset")
"""The int64 columns beside `input_ids`."""


def data_file_name(index: int, count: int) -> str:
    """The name `save_to_disk` gives shard `index` of `count`."""
    return f"data-{index:05d}-of-{count:05d}.arrow"


def features(width: int, dtype: np.dtype) -> dict:
    """The `datasets.Features` of a sequence row, as `Features.to_dict()` writes them."""
    columns: dict = {
        "input_ids": {"feature": {"dtype": np.dtype(dtype).name, "_type": "Value"}, "length": width, "_type": "List"}
    }
    columns.update({name: {"dtype": "int64", "_type": "Value"} for name in PROVENANCE})
    return columns


def schema(width: int, dtype: np.dtype) -> pa.Schema:
    """The Arrow schema of a data file, with the features in its metadata as `datasets` expects."""
    fields = [pa.field("input_ids", pa.list_(pa.from_numpy_dtype(np.dtype(dtype)), width))]
    fields += [pa.field(name, pa.int64()) for name in PROVENANCE]
    metadata = orjson.dumps({"info": {"features": features(width, dtype)}})
    return pa.schema(fields, metadata={"huggingface": metadata})


def record_batch(target: pa.Schema, tokens: np.ndarray, provenance: dict[str, np.ndarray]) -> pa.RecordBatch:
    """A batch of rows from a (rows, width) token array and one int64 array per provenance column."""
    width = tokens.shape[1]
    values = pa.array(np.ascontiguousarray(tokens).reshape(-1))
    columns = [pa.FixedSizeListArray.from_arrays(values, width)]
    columns += [pa.array(np.asarray(provenance[name], dtype=np.int64)) for name in PROVENANCE]
    return pa.record_batch(columns, schema=target)


def stream_writer(sink: BinaryIO, target: pa.Schema) -> pa.ipc.RecordBatchStreamWriter:
    """An Arrow IPC stream writer onto `sink`, the format `load_from_disk` memory-maps."""
    return pa.ipc.new_stream(sink, target)


def dataset_info(width: int, dtype: np.dtype, description: str) -> dict:
    """dataset_info.json's content."""
    return {
        "citation": "",
        "description": description,
        "features": features(width, dtype),
        "homepage": "",
        "license": "",
    }


def state(file_names: list[str], fingerprint: str) -> dict:
    """state.json's content: the data files in order, no format set, no split."""
    return {
        "_data_files": [{"filename": name} for name in file_names],
        "_fingerprint": fingerprint,
        "_format_columns": None,
        "_format_kwargs": {},
        "_format_type": None,
        "_output_all_columns": False,
        "_split": None,
    }
