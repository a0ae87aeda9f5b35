"""The reader: line parsing and rejection reasons, and streaming with damage detection."""

from __future__ import annotations

import zstandard
from input_files_for_tests import doc_line, write_lines

from pipeline.formats.input_files import LineChunk, StreamDamage, iter_line_chunks
from stages.batch import make_doc_id, split_doc_id
from stages.normalize import NormalizeConfig, normalize_batch
from stages.read import ReadConfig, parse_lines


def _parse(lines, max_doc_bytes=1 << 20):
    return parse_lines(lines, 1, 3, "f.jsonl", ReadConfig(max_doc_bytes=max_doc_bytes))


def test_good_lines_become_documents_with_place_derived_ids():
    docs, rejects = _parse([doc_line("alpha", "ArXiv"), doc_line("beta", "Github")])
    assert rejects.num_rows == 0
    assert docs.column("text").to_pylist() == ["alpha", "beta"]
    assert docs.column("pile_set_name").to_pylist() == ["ArXiv", "Github"]
    assert docs.column("line").to_pylist() == [1, 2]
    assert docs.column("doc_id").to_pylist() == [make_doc_id(3, 1), make_doc_id(3, 2)]
    assert split_doc_id(docs.column("doc_id")[1].as_py()) == (3, 2)


def test_texts_normalized_as_parsed_equal_the_normalized_batch():
    texts = ["plain", "\u201cquoted\u201d\r\n", "caf\u00c3\u00a9", "e\u0301", "&amp; ok", "", "\x1b[31mred"]
    lines = [doc_line(text, "Pile-CC") for text in texts] + [b"not json"]
    config = NormalizeConfig()
    fixed, fixed_rejects = parse_lines(lines, 1, 3, "f.jsonl", ReadConfig(), normalize=config)
    plain, plain_rejects = _parse(lines)
    assert fixed.equals(normalize_batch(plain, config)) and fixed_rejects.equals(plain_rejects)
    assert fixed.column("text").to_pylist() != texts  # something was fixed


def test_meta_variants():
    lines = [
        b'{"text": "a"}',
        b'{"text": "b", "meta": "{\\"pile_set_name\\": \\"FreeLaw\\"}"}',
        b'{"text": "c", "meta": {}}',
        b'{"text": "d", "meta": null}',
        b'{"text": ["e", "f"], "meta": {"pile_set_name": "Books3"}}',
    ]
    docs, rejects = _parse(lines)
    assert rejects.num_rows == 0
    assert docs.column("pile_set_name").to_pylist() == ["unknown", "FreeLaw", "unknown", "unknown", "Books3"]
    assert docs.column("text").to_pylist()[-1] == "e\n\nf"


def test_every_bad_line_is_rejected_with_its_reason_line_and_raw_bytes():
    lines = [
        b"",
        b"   ",
        b'{"text": "caf\xe9"}',
        b"{not json",
        b'["text"]',
        b'{"meta": {}}',
        b'{"text": 42}',
        b'{"text": null}',
        b'{"text": "\\ud800 lone"}',
        doc_line("x" * 200),
        doc_line("fine"),
    ]
    docs, rejects = _parse(lines, max_doc_bytes=150)
    assert docs.column("line").to_pylist() == [11]
    assert rejects.column("line").to_pylist() == list(range(1, 11))
    assert rejects.column("reason").to_pylist() == [
        "blank_line",
        "blank_line",
        "invalid_utf8",
        "invalid_json",
        "not_an_object",
        "missing_text",
        "text_not_a_string",
        "text_not_a_string",
        "lone_surrogate",
        "too_large",
    ]
    assert rejects.column("raw").to_pylist()[3] == b"{not json"
    assert set(rejects.column("source").to_pylist()) == {"f.jsonl"}


def test_raw_bytes_of_a_reject_are_cut_to_4_kib():
    _, rejects = _parse([b"{" + b"x" * 10000])
    assert len(rejects.column("raw")[0].as_py()) == 4096


def _collect(path, chunk_lines=3, max_line_bytes=1 << 20):
    return list(iter_line_chunks(str(path), chunk_lines, max_line_bytes))


def test_chunks_are_numbered_from_one_for_every_format(tmp_path):
    lines = [doc_line(f"doc {i}") for i in range(7)]
    for name in ("a.jsonl.zst", "a.jsonl.gz", "a.jsonl"):
        items = _collect(write_lines(tmp_path / name, lines))
        assert [(c.first_line, len(c.lines)) for c in items] == [(1, 3), (4, 3), (7, 1)]
        assert [line for c in items for line in c.lines] == lines


def test_missing_final_newline_and_blank_lines_keep_numbering(tmp_path):
    lines = [doc_line("a"), b"", doc_line("c")]
    items = _collect(write_lines(tmp_path / "b.jsonl.zst", lines, trailing_newline=False), chunk_lines=10)
    assert items == [LineChunk(1, lines)]


def test_multi_frame_zstd_is_read_across_frames(tmp_path):
    compressor = zstandard.ZstdCompressor()
    path = tmp_path / "frames.jsonl.zst"
    path.write_bytes(compressor.compress(doc_line("one") + b"\n") + compressor.compress(doc_line("two") + b"\n"))
    items = _collect(path, chunk_lines=10)
    assert items == [LineChunk(1, [doc_line("one"), doc_line("two")])]


def test_truncated_zstd_keeps_complete_lines_and_reports_where_damage_began(tmp_path):
    lines = [doc_line(f"document number {i} " * 20) for i in range(2000)]
    path = write_lines(tmp_path / "t.jsonl.zst", lines)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    items = _collect(path, chunk_lines=500)
    damage = items[-1]
    assert isinstance(damage, StreamDamage) and damage.reason == "truncated_stream"
    kept = [line for item in items[:-1] for line in item.lines]
    assert 0 < len(kept) < 2000
    assert kept == lines[: len(kept)]
    assert damage.line == len(kept) + 1
    assert lines[len(kept)].startswith(damage.raw)


def test_corrupt_zstd_block_is_reported(tmp_path):
    lines = [doc_line(f"document number {i} " * 20) for i in range(2000)]
    path = write_lines(tmp_path / "c.jsonl.zst", lines)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    items = _collect(path, chunk_lines=500)
    assert isinstance(items[-1], StreamDamage)
    assert items[-1].reason in {"corrupt_stream", "truncated_stream"}
    kept = [line for item in items[:-1] for line in item.lines]
    assert kept == lines[: len(kept)]


def test_a_file_that_is_not_zstd_and_a_missing_file_are_reported(tmp_path):
    plain = tmp_path / "plain.jsonl.zst"
    plain.write_bytes(doc_line("not compressed") + b"\n")
    not_zstd = "does not start with a zstd frame (wrong format or corrupt)"
    assert _collect(plain) == [StreamDamage(1, "not_zstd", not_zstd, b"")]
    missing = _collect(tmp_path / "missing.jsonl.zst")
    assert len(missing) == 1 and missing[0].reason == "unreadable_file" and missing[0].line == 1


def test_truncated_gzip_is_reported(tmp_path):
    lines = [doc_line(f"gzip document {i} " * 10) for i in range(3000)]
    path = write_lines(tmp_path / "g.jsonl.gz", lines)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    items = _collect(path, chunk_lines=1000)
    assert items[-1].reason == "truncated_stream"
    kept = [line for item in items[:-1] for line in item.lines]
    assert kept == lines[: len(kept)] and len(kept) > 0


def test_an_oversized_line_is_cut_while_streaming(tmp_path):
    lines = [doc_line("small"), doc_line("y" * 5000), doc_line("after")]
    items = _collect(write_lines(tmp_path / "big.jsonl", lines), chunk_lines=10, max_line_bytes=100)
    got = items[0].lines
    assert got[0] == lines[0] and got[2] == lines[2]
    assert len(got[1]) == 101 and lines[1].startswith(got[1])
