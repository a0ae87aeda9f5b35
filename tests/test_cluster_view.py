"""Cluster inspection on a hand-countable corpus: members, keep reasons, document lookup, row-group scans."""

from __future__ import annotations

import argparse
import io
import shutil
import time

import pyarrow.parquet as pq
import pytest
from inspect_corpus_for_tests import CLUSTERS, FILE_INDEX
from inspect_corpus_for_tests import finished_run as shared_run
from rich.console import Console

from pipeline.cli.inspect_commands import register
from pipeline.errors import UserError
from pipeline.formats.run_layout import CLUSTERS as CLUSTERS_FILE
from pipeline.inspection import cluster_table
from pipeline.inspection.audit_sample import draw_sample
from pipeline.inspection.cluster_table import (
    cluster_composition,
    cluster_rows,
    document_rows,
    group_ranges,
    largest_clusters,
)
from pipeline.inspection.cluster_view import (
    describe_clusters,
    find_document,
    parse_document,
    show_clusters,
)
from pipeline.inspection.run_files import RunFiles
from pipeline.runtime.ray_or_local_map import parallel_map
from stages.batch import make_doc_id


def _id(place: tuple[str, int]) -> int:
    return make_doc_id(FILE_INDEX[place[0]], place[1])


def _jaccard(a: str, b: str, n: int = 5) -> float:
    """Word n-gram Jaccard written out plainly (the oracle for `exact_jaccard`)."""
    def grams(text):
        words = text.lower().split()
        return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}
    return len(grams(a) & grams(b)) / len(grams(a) | grams(b))


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, ray_instance):
    return shared_run(tmp_path_factory)


def test_each_cluster_has_its_hand_counted_members_and_keeper(finished_run):
    run, docs = finished_run
    files = RunFiles(str(run))
    cluster_ids = [_id(keeper) for keeper in CLUSTERS]  # a cluster is named by the doc_id kept for it
    described = describe_clusters(files, cluster_ids)
    for (keeper, members), cluster in zip(CLUSTERS.items(), described):
        assert {m["doc_id"] for m in cluster["members"]} == {_id(p) for p in members}
        assert cluster["size"] == len(members)
        kept = [m for m in cluster["members"] if m["kept"]]
        assert [m["doc_id"] for m in kept] == [_id(keeper)]
        assert cluster["members"][0]["kept"], "the kept member is listed first"
        subsets: dict[str, int] = {}
        for place in members:
            subsets[docs[place][1]] = subsets.get(docs[place][1], 0) + 1
        assert cluster["subsets"] == subsets
        for member in cluster["members"]:
            place = next(p for p in members if _id(p) == member["doc_id"])
            assert member["snippet"] == docs[place][0][:240]
            assert member["bytes"] == len(docs[place][0].encode())
            assert member["jaccard_to_kept"] == pytest.approx(_jaccard(docs[place][0], docs[keeper][0]))
    near = next(m for m in described[3]["members"] if m["doc_id"] == _id(("01", 2)))
    assert near["role"] == "removed: duplicate" and 0.7 < near["jaccard_to_kept"] < 1.0
    holdout = described[4]
    assert [m["role"] for m in holdout["members"]] == ["kept (holdout)", "removed: copy of holdout"]
    assert "holdout" in holdout["why"] and "val.jsonl.zst:1" in holdout["why"]
    assert "smallest doc_id" in described[0]["why"] and "00.jsonl.zst:1" in described[0]["why"]


def test_members_are_cut_to_the_limit_but_keep_the_kept_one(finished_run):
    run, _ = finished_run
    files = RunFiles(str(run))
    cluster = describe_clusters(files, [_id(("01", 3))], limit=1, texts=False)[0]
    assert cluster["size"] == 3 and cluster["shown"] == 1
    assert cluster["members"][0]["doc_id"] == _id(("01", 3))
    rows = cluster_rows(files, [_id(("00", 1))], limit=0)
    assert rows.column("doc_id").to_pylist() == [_id(("00", 1))], "limit 0 leaves the kept member only"


def test_largest_clusters_order_by_size_then_id(finished_run):
    run, _ = finished_run
    files = RunFiles(str(run))
    assert largest_clusters(files, 10) == [
        (4, _id(("00", 1))), (4, _id(("02", 1))), (3, _id(("01", 3))), (2, _id(("00", 2))), (2, _id(("val", 1)))
    ]
    assert largest_clusters(files, 1) == [(4, _id(("00", 1)))]


def test_find_document_tells_each_fate(finished_run):
    run, _ = finished_run
    files = RunFiles(str(run))
    assert find_document(files, _id(("01", 2)))["cluster_id"] == _id(("00", 2))
    assert find_document(files, _id(("00", 5)))["fate"] == "kept: it is in no duplicate cluster"
    assert find_document(files, _id(("00", 4)))["fate"] == "removed by the filter min_clean_chars"
    assert find_document(files, _id(("00", 6)))["fate"] == "removed by the filter empty"
    assert find_document(files, _id(("00", 9)))["fate"] == "rejected as invalid_json"


def test_parse_document(finished_run):
    run, _ = finished_run
    files = RunFiles(str(run))
    assert parse_document(files, "01.jsonl.zst:2") == _id(("01", 2))
    assert parse_document(files, "train/00.jsonl.zst:10") == _id(("00", 10))
    assert parse_document(files, f"{files.source_of(1)}:3") == _id(("01", 3))
    for bad, message in (
        ("07.jsonl.zst:1", "not an input"),
        ("00.jsonl.zst:11", "has 10 lines"),
        ("00.jsonl.zst", "SOURCE:LINE"),
        ("00.jsonl.zst:0", "SOURCE:LINE"),
        ("jsonl.zst:1", "not an input"),
    ):
        with pytest.raises(UserError, match=message):
            parse_document(files, bad)


def _run_command(argv: list[str]) -> str:
    parser = argparse.ArgumentParser(prog="pileline")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    console = Console(width=200, record=True, file=io.StringIO())
    show_clusters(args.run_dir, cluster_id=args.cluster, doc=args.doc, limit=args.limit, console=console)
    return console.export_text()


def test_clusters_command_output(finished_run):
    run, _ = finished_run
    text = _run_command(["clusters", str(run), "--doc", "01.jsonl.zst:8"])
    assert "is in cluster 1" in text and "cluster 1 (00.jsonl.zst:1): 4 members" in text
    assert "why: kept 00.jsonl.zst:1" in text
    assert text.count("removed: exact copy") == 3, "A's three other members are exact copies of it"
    overview = _run_command(["clusters", str(run)])
    assert overview.index("Pile-CC 3, Github 1") < overview.index("Wikipedia (en) 2, Pile-CC 1")
    assert "kept: it is in no duplicate cluster" in _run_command(["clusters", str(run), "--doc", "00.jsonl.zst:5"])
    with pytest.raises(UserError, match="no such cluster"):
        _run_command(["clusters", str(run), "--cluster", "12345"])


def test_scans_do_not_depend_on_row_groups_or_buckets(finished_run, tmp_path, monkeypatch):
    """The same answers from a clusters table cut into row groups of two rows, with one bucket per three rows."""
    run, _ = finished_run
    files = RunFiles(str(run))
    ids = [_id(keeper) for keeper in CLUSTERS]
    expected = (
        largest_clusters(files, 3),
        cluster_rows(files, ids, limit=1),
        document_rows(files, [_id(("01", 5))]),
        cluster_composition(files, ids),
        draw_sample(files, 4, 5),
    )
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    table = pq.read_table(copy / CLUSTERS_FILE)
    pq.write_table(table, copy / CLUSTERS_FILE, row_group_size=2)
    monkeypatch.setattr(cluster_table, "IDS_PER_BUCKET", 3)
    split = RunFiles(str(copy))
    assert len(group_ranges(split)) == 8
    got = (
        largest_clusters(split, 3),
        cluster_rows(split, ids, limit=1),
        document_rows(split, [_id(("01", 5))]),
        cluster_composition(split, ids),
        draw_sample(split, 4, 5),
    )
    assert got[0] == expected[0]
    for a, b in zip(got[1:3], expected[1:3]):
        assert a.to_pylist() == b.to_pylist()
    assert got[3] == expected[3]
    assert got[4].to_pylist() == expected[4].to_pylist()


def test_parallel_map_combines_in_argument_order(ray_instance):
    """On Ray, later tasks finish first here; the combined result still follows the arguments."""

    def _slow_square(x: int) -> int:  # defined here so Ray ships it by value to its workers
        time.sleep(0.05 * (3 - x % 3))
        return x * x

    assert parallel_map(_slow_square, [(x,) for x in range(7)], lambda acc, y: acc + [y], [], max_in_flight=3) == [
        x * x for x in range(7)
    ]
