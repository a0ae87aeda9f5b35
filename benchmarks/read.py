"""Read speed, one core: pileline's reader against plain zstd decompression + json.loads / orjson.loads.

    python benchmarks/read.py [--corpus DIR] [--docs N] [--repeat 3]

The reader is what a prepare task runs before normalizing: `pipeline.formats.input_files.iter_line_chunks`
(streaming zstd decompression, line splitting, damage detection, bounded memory) then
`stages.read.parse_lines` (orjson, reject reasons, doc ids, a pyarrow Table). The floors are a
plain loop over the same files: `zstandard` stream decompression alone; then split into lines and
`orjson.loads` (the floor the reader is measured against) or `json.loads` each line, taking `text`
and `meta.pile_set_name`, and the same with those two columns built into a pyarrow Table, the output
the reader must produce. Every peer runs in its own forked process pinned to one CPU and streams
(nothing is kept), so "+peak RSS" is what streaming costs; times are CPU seconds of that process,
the least of `--repeat` runs (wall-clock MB/s shown too, the machine may be shared). MB are UTF-8 MB
of document text.

Identity is checked afterwards, outside the timing: the reader's documents (text and pile_set_name,
in order) must equal what orjson gives for every line; the script exits 1 if they differ.
Without --corpus a seeded sample (~100 MB, 28,000 documents, or --docs) is written to a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pyarrow as pa
import zstandard
from corpus import corpus_dir, read_documents, text_megabytes, train_files
from process_tree import run_pinned

from pipeline.formats.input_files import READ_BLOCK, LineChunk, iter_line_chunks
from stages.read import UNKNOWN_SET, ReadConfig, parse_lines

CHUNK_LINES = 10_000
"""Lines per chunk handed to parse_lines: the default `partition_docs`."""


def zstd_blocks(path: Path) -> Iterator[bytes]:
    """The decompressed bytes of one file, in blocks of `READ_BLOCK`."""
    with open(path, "rb") as raw, zstandard.ZstdDecompressor().stream_reader(raw) as stream:
        while block := stream.read(READ_BLOCK):
            yield block


def zstd_lines(path: Path) -> Iterator[bytes]:
    """The lines of one file without their newlines (a plain loop: no damage detection, no size limit)."""
    rest = b""
    for block in zstd_blocks(path):
        lines = (rest + block).split(b"\n")
        rest = lines.pop()
        yield from lines
    if rest:
        yield rest


def set_name(obj: dict) -> str:
    meta = obj.get("meta")
    return meta.get("pile_set_name", UNKNOWN_SET) if isinstance(meta, dict) else UNKNOWN_SET


def decompress_only(files: list[Path]) -> int:
    return sum(len(block) for path in files for block in zstd_blocks(path))


def with_loads(loads: Callable[[bytes], object]) -> Callable[[list[Path]], int]:
    """A floor: decompress, split lines, `loads` each, take its text and set name; returns the document count."""

    def run(files: list[Path]) -> int:
        count = 0
        for path in files:
            for line in zstd_lines(path):
                obj = loads(line)
                obj["text"], set_name(obj)
                count += 1
        return count

    return run


def orjson_to_arrow(files: list[Path]) -> int:
    """The floor with Arrow output: orjson per line, then the texts and set names as a pyarrow Table per 10,000
    lines."""
    count = 0
    for path in files:
        texts, names = [], []
        for line in zstd_lines(path):
            obj = orjson.loads(line)
            texts.append(obj["text"])
            names.append(set_name(obj))
            if len(texts) == CHUNK_LINES:
                count += pa.table({"text": texts, "pile_set_name": names}).num_rows
                texts, names = [], []
        count += pa.table({"text": texts, "pile_set_name": names}).num_rows
    return count


def line_chunks_only(files: list[Path]) -> int:
    config = ReadConfig()
    return sum(
        len(chunk.lines) for path in files for chunk in iter_line_chunks(str(path), CHUNK_LINES, config.max_doc_bytes)
    )


def reader(files: list[Path]) -> int:
    """pileline's reader: line chunks, then parse_lines into a document Table per chunk."""
    config = ReadConfig()
    count = 0
    for index, path in enumerate(files):
        for chunk in iter_line_chunks(str(path), CHUNK_LINES, config.max_doc_bytes):
            if not isinstance(chunk, LineChunk):
                break
            docs, _ = parse_lines(chunk.lines, chunk.first_line, index, path.name, config)
            count += docs.num_rows
    return count


def identical_documents(files: list[Path]) -> list[str]:
    """Where the reader's (text, pile_set_name) differ from orjson's, line by line (empty if nowhere)."""
    config = ReadConfig()
    problems = []
    for index, path in enumerate(files):
        expected = ((o["text"], set_name(o)) for o in map(orjson.loads, zstd_lines(path)))
        line = 0
        for chunk in iter_line_chunks(str(path), CHUNK_LINES, config.max_doc_bytes):
            docs, rejects = parse_lines(chunk.lines, chunk.first_line, index, path.name, config)
            if rejects.num_rows:
                problems.append(f"{path}: {rejects.num_rows} lines rejected from line {chunk.first_line}")
            got = zip(docs.column("text").to_pylist(), docs.column("pile_set_name").to_pylist())
            for line, (doc, want) in enumerate(zip(got, expected, strict=False), chunk.first_line):
                if doc != want:
                    problems.append(f"{path}:{line}: reader and orjson differ")
        if next(expected, None) is not None:
            problems.append(f"{path}: orjson reads lines after the reader's last ({line})")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, help="a Pile-layout directory; default: a generated sample")
    parser.add_argument("--docs", type=int, help="documents of the generated sample (default 28,000, ~100 MB)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per peer; the fastest (least CPU) is shown (default 3)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="read-bench-") as scratch:
        corpus = corpus_dir(args.corpus, Path(scratch), args.docs)
        files = train_files(corpus)
        table = read_documents(corpus, files=files)
        megabytes, docs = text_megabytes(table.column("text")), table.num_rows
        del table
        json_megabytes = decompress_only(files) / 1e6
        peers = {
            "zstd decompression alone": decompress_only,
            "zstd + lines + json.loads": with_loads(json.loads),
            "zstd + lines + orjson.loads (floor)": with_loads(orjson.loads),
            "zstd + lines + orjson.loads + Arrow table": orjson_to_arrow,
            "pileline iter_line_chunks (lines only)": line_chunks_only,
            "pileline reader (iter_line_chunks + parse_lines)": reader,
        }
        results = {
            name: min(
                (
                    run_pinned(lambda: files, work, lambda files: next(zstd_blocks(files[0])))
                    for _ in range(args.repeat)
                ),
                key=lambda r: r[1],
            )
            for name, work in peers.items()
        }
        problems = identical_documents(files)

    print(
        f"{docs:,} documents, {megabytes:.1f} MB of text ({json_megabytes:.1f} MB of JSON lines) in {len(files)} "
        "files; "
        "one core per peer (CPU time; wall MB/s for reference)\n"
    )
    reader_cpu = results["pileline reader (iter_line_chunks + parse_lines)"][1]
    print("| peer | MB/s | docs/s | wall MB/s | reader speed ÷ peer's | +peak RSS |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, (_, cpu, wall, rss) in results.items():
        print(
            f"| {name} | {megabytes / cpu:.1f} | {docs / cpu:,.0f} | {megabytes / wall:.1f} | "
            f"{cpu / reader_cpu:.2f} | {rss / 2**20:.0f} MB |"
        )
    counts = {name: result[0] for name, result in results.items() if name != "zstd decompression alone"}
    if len(set(counts.values()) | {docs}) != 1:
        problems.append(f"document counts differ: {counts} (corpus: {docs})")
    if problems:
        print("\nFAIL: " + "\nFAIL: ".join(problems[:10]), file=sys.stderr)
        sys.exit(1)
    print("\nidentity check (reader = orjson on every line): passed")


if __name__ == "__main__":
    main()
