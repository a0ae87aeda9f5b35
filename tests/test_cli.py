"""The command line: one-line errors with exit code 2, help on every command, verify, sample."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from input_files_for_tests import doc_line, write_lines

from pipeline.cli.main import build_parser, main

COMMANDS = ["run", "sample", "demo", "inspect", "verify", "stats", "report", "clusters", "export"]


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    return err[0]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: pileline " + command in capsys.readouterr().out


def test_top_level_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(command in out for command in COMMANDS)


def test_a_missing_manifest_is_one_line(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.yaml")]) == 2
    assert _error_line(capsys) == f"pileline: error: {tmp_path / 'nope.yaml'}: no such manifest file"


def test_a_misspelt_key_names_the_key(tmp_path, capsys):
    manifest = tmp_path / "m.yaml"
    manifest.write_text("inputs: [a]\noutput: o\ndedup:\n  treshold: 0.8\n")
    assert main(["run", str(manifest)]) == 2
    assert _error_line(capsys) == f"pileline: error: {manifest}: dedup.treshold: unknown key"


def test_a_bad_value_names_the_key_and_value(tmp_path, capsys):
    manifest = tmp_path / "m.yaml"
    manifest.write_text(
        "inputs: [a]\noutput: o\nfilter:\n  preset: gopher\n  params:\n    gopher_quality:\n      min_words: -3\n"
    )
    assert main(["run", str(manifest)]) == 2
    line = _error_line(capsys)
    assert "filter.params.gopher_quality.min_words" in line and "-3" in line


def test_invalid_yaml_names_the_line(tmp_path, capsys):
    manifest = tmp_path / "m.yaml"
    manifest.write_text("inputs: [a\noutput: o\n")
    assert main(["run", str(manifest)]) == 2
    assert _error_line(capsys).startswith(f"pileline: error: {manifest}:")


def test_an_input_that_matches_nothing_is_named(tmp_path, capsys):
    manifest = tmp_path / "m.yaml"
    manifest.write_text(f"inputs: ['{tmp_path}/none/*.jsonl.zst']\noutput: {tmp_path / 'run'}\n")
    assert main(["run", str(manifest)]) == 2
    assert _error_line(capsys) == f"pileline: error: {tmp_path}/none/*.jsonl.zst: no input file matches"


def test_flags_override_the_manifest_and_are_validated(tmp_path, capsys):
    manifest = tmp_path / "m.yaml"
    manifest.write_text("inputs: [a]\noutput: o\n")
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["run", str(manifest), "--num-cpus", "0"])
    assert exit_info.value.code == 2
    assert "must be at least 1" in capsys.readouterr().err


def test_commands_on_a_directory_that_is_not_a_run(tmp_path, capsys):
    for command in (["verify", str(tmp_path)], ["stats", str(tmp_path)], ["inspect", str(tmp_path), "--step", "0"]):
        assert main(command) == 2
        assert str(tmp_path) in _error_line(capsys)


def test_sample_writes_a_pile_layout_corpus(tmp_path, capsys):
    assert main(["sample", str(tmp_path / "s"), "--docs", "40", "--seed", "5"]) == 0
    assert sorted(p.name for p in (tmp_path / "s" / "train").iterdir()) == [
        "00.jsonl.zst",
        "01.jsonl.zst",
        "02.jsonl.zst",
    ]
    assert (tmp_path / "s" / "ground_truth.jsonl").exists()
    assert "40 train docs" in capsys.readouterr().out


def test_verify_names_a_changed_and_a_missing_output(tmp_path, capsys, ray_instance):
    write_lines(tmp_path / "in" / "a.jsonl.zst", [doc_line(f"document {i} " * 40) for i in range(30)] + [b"{bad"])
    manifest = tmp_path / "m.yaml"
    manifest.write_text(
        f"inputs: ['{tmp_path}/in/*.jsonl.zst']\noutput: {tmp_path / 'run'}\ndedup: {{enabled: false}}\n"
        "shards: {seq_len: 31, global_batch: 2}\n"
    )
    assert main(["run", str(manifest), "--quiet"]) == 0
    assert main(["verify", str(tmp_path / "run"), "--quiet"]) == 0
    capsys.readouterr()
    outputs = orjson.loads((tmp_path / "run" / "manifest.json").read_bytes())["outputs"]
    assert "tokens/documents.bin" in outputs and "rejects/00000-000000000001.parquet" in outputs
    bin_path = tmp_path / "run" / "tokens" / "documents.bin"
    data = bytearray(bin_path.read_bytes())
    data[10] ^= 0xFF
    bin_path.write_bytes(bytes(data))
    Path(tmp_path / "run" / "tokens" / "sequences.json").unlink()
    assert main(["verify", str(tmp_path / "run"), "--quiet"]) == 1
    captured = capsys.readouterr()
    assert "tokens/documents.bin: sha256" in captured.out
    assert "tokens/sequences.json: missing" in captured.out
    assert "2 output file(s) differ" in captured.err


def test_the_console_script_flushes_what_it_printed_and_exits_with_main_s_code(tmp_path):
    """`console` ends the process with `os._exit`: what the command printed still arrives, and its code."""
    import subprocess
    import sys

    def console(*argv: str) -> subprocess.CompletedProcess:
        code = f"from pipeline.cli.main import console; console({list(argv)!r})"
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)

    done = console("sample", "--docs", "20", str(tmp_path / "sample"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("20 train docs") and (tmp_path / "sample" / "train").is_dir()
    failed = console("run", str(tmp_path / "missing.yaml"))
    assert failed.returncode == 2
    assert failed.stderr.strip() == f"pileline: error: {tmp_path / 'missing.yaml'}: no such manifest file"
