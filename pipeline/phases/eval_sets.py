"""The eval sets of `decontaminate.sets`: read once by the driver, identified by content, indexed as n-grams.

| step | reads | gives |
|---|---|---|
| expand | `decontaminate.sets` (paths, globs, URIs) | the files of each set, sorted |
| read | each file: jsonl, jsonl.gz, jsonl.zst (`text` per line) or Parquet (a `text` column) | texts, sha256 |
| index | every text, with its set | `stages.eval_ngrams.EvalNgrams`, shared with the prepare tasks by Ray |

The files' sha256 are part of the prepare phase's key, so a changed eval set is never served from
partitions cleaned with the old one. A bad line stops the run with one line naming file and line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow.parquet as pq

from pipeline.errors import UserError
from pipeline.formats.filesystems import expand_inputs, location_name, resolve
from pipeline.formats.input_files import StreamDamage, iter_line_chunks
from stages.decontaminate import DecontaminateConfig
from stages.eval_ngrams import EvalNgrams, build_eval_ngrams
from stages.read import ReadConfig, parse_lines

EVAL_CHUNK_LINES = 10_000


@dataclass(frozen=True)
class EvalSets:
    """The index of every eval set and what identifies it: per set, its files' names, sha256 and document counts."""

    index: EvalNgrams
    identity: dict[str, list[dict]]


def _parquet_texts(location: str) -> Iterator[str]:
    filesystem, path = resolve(location)
    with filesystem.open_input_file(path) as handle:
        parquet = pq.ParquetFile(handle)
        if "text" not in parquet.schema_arrow.names:
            raise UserError(
                f"{location_name(location)}: no `text` column (columns: {', '.join(parquet.schema_arrow.names)})"
            )
        row = 0
        for batch in parquet.iter_batches(columns=["text"]):
            for text in batch.column(0).to_pylist():
                row += 1
                if not isinstance(text, str):
                    raise UserError(
                        f"{location_name(location)}: row {row}: `text` is {type(text).__name__}, not a string"
                    )
                yield text


def _jsonl_texts(location: str, digest) -> Iterator[str]:
    name = location_name(location)
    read = ReadConfig()
    for chunk in iter_line_chunks(location, EVAL_CHUNK_LINES, read.max_doc_bytes, digest):
        if isinstance(chunk, StreamDamage):
            raise UserError(f"{name}:{chunk.line}: {chunk.reason}: {chunk.detail}")
        docs, rejects = parse_lines(chunk.lines, chunk.first_line, 0, name, read)
        if rejects.num_rows:
            raise UserError(f"{name}:{rejects.column('line')[0].as_py()}: {rejects.column('reason')[0].as_py()}")
        yield from docs.column("text").to_pylist()


def _file_sha256(location: str) -> str:
    filesystem, path = resolve(location)
    digest = hashlib.sha256()
    with filesystem.open_input_stream(path, compression=None) as stream:
        while block := stream.read(8 << 20):
            digest.update(block)
    return digest.hexdigest()


def read_eval_texts(location: str) -> tuple[list[str], str]:
    """The texts of one eval file and its sha256."""
    if location_name(location).endswith(".parquet"):
        return list(_parquet_texts(location)), _file_sha256(location)
    digest = hashlib.sha256()
    texts = list(_jsonl_texts(location, digest))
    return texts, digest.hexdigest()


def load_eval_sets(config: DecontaminateConfig) -> EvalSets:
    """Read every eval set (sets in name order) and index its n-grams with the Janitor's normalisation."""
    names = sorted(config.sets)
    documents: list[tuple[int, str]] = []
    identity: dict[str, list[dict]] = {}
    for set_index, name in enumerate(names):
        try:
            files = expand_inputs(config.sets[name])
        except UserError as error:
            raise UserError(f"decontaminate.sets.{name}: {error}") from None
        identity[name] = []
        for location in files:
            texts, sha256 = read_eval_texts(location)
            identity[name].append({"path": location_name(location), "sha256": sha256, "documents": len(texts)})
            documents.extend((set_index, text) for text in texts)
    index = build_eval_ngrams(documents, names, config.ngram_n, config.delete_chars)
    return EvalSets(index, identity)
