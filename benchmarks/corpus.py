"""The corpus a benchmark runs on: a Pile-layout directory given by the user, or a generated sample.

`corpus_dir` writes the seeded sample (`pipeline.sample.corpus`, seed 0) when no directory is given;
`corpus_sha256` names a corpus by its contents; `read_documents` reads train files through the
pipeline's own reader (`pipeline.formats.input_files` + `stages.read.parse_lines`); `duplicate_groups` loads
the corpus's `ground_truth.jsonl` (the sample's, or `real_text.py`'s). Documents
are keyed by `(file, line)`: the file relative to the corpus directory, the line 1-based, as in the
ground truth.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import zstandard

from pipeline.formats.input_files import LineChunk, iter_line_chunks
from pipeline.sample.corpus import GROUND_TRUTH, write_sample_corpus
from stages.read import ReadConfig, parse_lines

SAMPLE_DOCS = 28_000
"""About 100 MB of text from `write_sample_corpus`."""
SAMPLE_FILES = 4
"""Train files of the generated sample: datatrove reads one file per task, and 4 files split evenly over 1, 2 or 4
workers."""

Key = tuple[str, int]
"""(file relative to the corpus directory, 1-based line)."""


def corpus_dir(corpus: Path | None, scratch: Path, docs: int | None) -> Path:
    """`corpus` itself, or a sample of `docs` documents (default `SAMPLE_DOCS`) written under `scratch`."""
    if corpus is not None:
        return corpus
    out = scratch / "corpus"
    summary = write_sample_corpus(out, docs=docs or SAMPLE_DOCS, seed=0, files=SAMPLE_FILES)
    print(f"sample corpus: {summary.describe()}", file=sys.stderr)
    return out


def train_files(corpus: Path) -> list[Path]:
    """The corpus's train inputs: `train/*.jsonl.zst`, else every `*.jsonl.zst` under it, sorted."""
    files = sorted((corpus / "train").glob("*.jsonl.zst")) or sorted(corpus.rglob("*.jsonl.zst"))
    if not files:
        sys.exit(f"{corpus}: no *.jsonl.zst files")
    return files


def corpus_sha256(corpus: Path) -> str:
    """sha256 of the train files' uncompressed bytes, in order: names a corpus whatever zstd wrote (quote it with
    every figure measured on a corpus whose contents depend on the machine)."""
    digest = hashlib.sha256()
    for path in train_files(corpus):
        with open(path, "rb") as raw, zstandard.ZstdDecompressor().stream_reader(raw) as stream:
            while chunk := stream.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def read_documents(corpus: Path, limit: int | None = None, files: list[Path] | None = None) -> pa.Table:
    """The documents of the train files (or `files`), in order, at most `limit`; `source` is relative to `corpus`."""
    config = ReadConfig()
    tables, count = [], 0
    for file_index, path in enumerate(files or train_files(corpus)):
        source = path.relative_to(corpus).as_posix()
        for chunk in iter_line_chunks(str(path), 4096, config.max_doc_bytes):
            if not isinstance(chunk, LineChunk):
                print(f"{path}: damaged from line {chunk.line}: {chunk.detail}", file=sys.stderr)
                break
            docs, _ = parse_lines(chunk.lines, chunk.first_line, file_index, source, config)
            tables.append(docs)
            count += docs.num_rows
            if limit is not None and count >= limit:
                return pa.concat_tables(tables).slice(0, limit)
    return pa.concat_tables(tables)


def text_megabytes(texts: pa.ChunkedArray | pa.Array) -> float:
    """UTF-8 size of the texts in MB (10^6 bytes)."""
    return (pc.sum(pc.binary_length(pc.cast(texts, pa.binary()))).as_py() or 0) / 1e6


def duplicate_groups(corpus: Path, threshold: float | None = None) -> list[list[Key]] | None:
    """The members of every planted duplicate group (original first), or None without a ground truth file.

    With `threshold`, a ground truth that records each link's exact Jaccard (`real_text.py`'s: a copy with its
    original, a chain link with the previous member) gives instead the groups of members joined by links of at least
    `threshold`: the copies a dedup at that threshold should remove."""
    path = corpus / GROUND_TRUTH
    if not path.exists():
        return None
    groups = []
    for line in path.read_bytes().splitlines():
        if not line.strip():
            continue
        group = orjson.loads(line)
        members = [(m["file"], m["line"]) for m in group["members"]]
        if threshold is None or "jaccard" not in group:
            groups.append(members)
            continue
        parent = list(range(len(members)))
        for i, similarity in enumerate(group["jaccard"], 1):
            if similarity >= threshold:
                parent[i] = parent[i - 1] if group["kind"] == "chain" else 0
        for root in sorted(set(parent)):
            joined = [m for m, p in zip(members, parent) if p == root]
            if len(joined) > 1:
                groups.append(joined)
    return groups
