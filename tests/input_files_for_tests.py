"""Writers of real input files for tests: Pile-style JSON lines, as zstd, gzip or plain text."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import zstandard


def doc_line(text: str, pile_set_name: str | None = "Pile-CC") -> bytes:
    """One Pile-style JSON line (without the newline)."""
    meta = {} if pile_set_name is None else {"pile_set_name": pile_set_name}
    return orjson.dumps({"text": text, "meta": meta})


def write_lines(path: Path, lines: list[bytes], trailing_newline: bool = True) -> Path:
    """Write `lines` as a real `.jsonl.zst`, `.jsonl.gz` or plain `.jsonl` file, by the path's suffix."""
    data = b"\n".join(lines) + (b"\n" if trailing_newline and lines else b"")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".zst"):
        data = zstandard.ZstdCompressor(level=3).compress(data)
    elif path.name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return path


def sample_corpus_texts(directory: Path, docs: int) -> list[str]:
    """The train texts of a seeded sample corpus of `docs` documents, read from its zstd files by the read stage."""
    from pipeline.formats.input_files import iter_line_chunks
    from pipeline.sample.corpus import write_sample_corpus
    from stages.read import ReadConfig, parse_lines

    write_sample_corpus(directory, docs=docs, seed=0)
    config = ReadConfig()
    texts: list[str] = []
    for index, path in enumerate(sorted((directory / "train").glob("*.jsonl.zst"))):
        for chunk in iter_line_chunks(str(path), 4096, config.max_doc_bytes):
            texts += parse_lines(chunk.lines, chunk.first_line, index, path.name, config)[0].column("text").to_pylist()
    return texts
