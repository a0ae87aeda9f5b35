"""Stream the lines of one input file (`.jsonl.zst`, `.jsonl.gz`, `.jsonl`) in chunks, noticing damage.

Memory is bounded by the chunk (the partition), never by the file: compressed bytes are read in
blocks and decompressed incrementally. zstd's own stream reader returns nothing at all for a
truncated frame, so frames are decoded with `decompressobj` and a frame left unfinished at the end
of the input is reported as truncation. Every complete line before damage is yielded; the damage
itself is yielded once as `StreamDamage` with the number of the line it began in.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import zstandard

from pipeline.formats.filesystems import location_name, resolve
from pipeline.formats.storage_errors import reporting_storage_errors
from stages.batch import REJECT_RAW_BYTES

READ_BLOCK = 1 << 20
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


@dataclass(frozen=True)
class LineChunk:
    """Up to `chunk_lines` consecutive lines, the first numbered `first_line` (1-based), without newlines."""

    first_line: int
    lines: list[bytes]


@dataclass(frozen=True)
class StreamDamage:
    """The file could not be read from `line` on: `reason` is a rejection reason, `detail` says why."""

    line: int
    reason: str
    detail: str
    raw: bytes


class _Damaged(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _concatenated_members(
    blocks: Iterator[bytes], new_member, errors: tuple, kind: str, magic: bytes | None
) -> Iterator[bytes]:
    """Decompress concatenated members (zstd frames, gzip members) with `new_member()` decoders.

    Raise `_Damaged` when a member does not start with `magic`, when a decoder raises one of
    `errors`, or when the input ends inside a member (truncation).
    """
    member = new_member()
    started = False
    for block in blocks:
        while block:
            if magic is not None and not started and len(block) >= len(magic) and not block.startswith(magic):
                raise _Damaged(f"not_{kind}", f"does not start with a {kind} frame (wrong format or corrupt)")
            started = True
            try:
                out = member.decompress(block)
            except errors as error:
                raise _Damaged("corrupt_stream", f"{kind}: {error}") from None
            if out:
                yield out
            if member.eof:
                block = member.unused_data
                member = new_member()
                started = False
            else:
                block = b""
    if started:
        raise _Damaged("truncated_stream", f"the {kind} stream ends in the middle of a member")


def _raw_blocks(location: str, digest) -> Iterator[bytes]:
    """The file's raw bytes in blocks. A local file that cannot be read is damage (its lines so far are
    kept); an object store that fails after its retries stops the run instead (`StorageUnreachable`)."""
    filesystem, path = resolve(location)
    try:
        with reporting_storage_errors(location, "reading an input file"):
            stream = filesystem.open_input_stream(path, compression=None)
    except (OSError, ValueError) as error:
        raise _Damaged("unreadable_file", f"cannot open: {error}") from None
    with stream:
        while True:
            try:
                with reporting_storage_errors(location, "reading an input file"):
                    block = stream.read(READ_BLOCK)
            except OSError as error:
                raise _Damaged("unreadable_file", f"read failed: {error}") from None
            if not block:
                return
            if digest is not None:
                digest.update(block)
            yield block


def decompressed_blocks(location: str, digest=None) -> Iterator[bytes]:
    """The file's decompressed bytes in blocks, by its name: `.zst`, `.gz`, anything else plain.

    `digest` (a hashlib object), if given, is updated with the file's raw bytes as they are read.
    """
    blocks = _raw_blocks(location, digest)
    name = location_name(location)
    if name.endswith(".zst"):
        return _concatenated_members(
            blocks, zstandard.ZstdDecompressor().decompressobj, (zstandard.ZstdError,), "zstd", ZSTD_MAGIC
        )
    if name.endswith(".gz"):
        return _concatenated_members(blocks, lambda: zlib.decompressobj(wbits=31), (zlib.error,), "gzip", None)
    return blocks


def _newline_terminated(blocks: Iterator[bytes]) -> Iterator[bytes]:
    """`blocks`, then a newline if they do not end with one, so that a last line without one ends too."""
    last = b"\n"
    for block in blocks:
        if block:
            last = block
            yield block
    if not last.endswith(b"\n"):
        yield b"\n"


def iter_line_chunks(
    location: str, chunk_lines: int, max_line_bytes: int, digest=None, chunk_bytes: int | None = None
) -> Iterator[LineChunk | StreamDamage]:
    """Yield the file's lines in chunks of `chunk_lines`, then at most one `StreamDamage`.

    With `chunk_bytes`, a chunk also ends before the line that would take its lines' bytes (newlines not
    counted) past `chunk_bytes`, whichever bound comes first; a single longer line is a chunk of its own.
    Both cuts depend on the file's bytes alone. A line longer than `max_line_bytes` is yielded cut to
    `max_line_bytes + 1` bytes (so the reader rejects it as too large) without ever holding more of it in
    memory.
    """
    byte_bound = chunk_bytes if chunk_bytes is not None else float("inf")
    chunk: list[bytes] = []
    size = 0
    first_line = 1
    pending = bytearray()
    pending_overflow = False
    try:
        for block in _newline_terminated(decompressed_blocks(location, digest)):
            start = 0
            while True:
                end = block.find(b"\n", start)
                piece = block[start:] if end < 0 else block[start:end]
                if not pending_overflow:
                    pending += piece
                    if len(pending) > max_line_bytes:
                        del pending[max_line_bytes + 1 :]
                        pending_overflow = True
                if end < 0:
                    break
                if chunk and size + len(pending) > byte_bound:
                    yield LineChunk(first_line, chunk)
                    first_line += len(chunk)
                    chunk, size = [], 0
                chunk.append(bytes(pending))
                size += len(pending)
                pending.clear()
                pending_overflow = False
                start = end + 1
                if len(chunk) == chunk_lines:
                    yield LineChunk(first_line, chunk)
                    first_line += len(chunk)
                    chunk, size = [], 0
    except _Damaged as damage:
        if chunk:
            yield LineChunk(first_line, chunk)
            first_line += len(chunk)
        yield StreamDamage(first_line, damage.reason, damage.detail, bytes(pending[:REJECT_RAW_BYTES]))
        return
    if chunk:
        yield LineChunk(first_line, chunk)
