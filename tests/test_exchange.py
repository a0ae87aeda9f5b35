"""The dedup exchanges' parts without Ray: segment files, slot runs and levels, partition groups."""

from __future__ import annotations

import pickle

import numpy as np
import pyarrow as pa
import pytest

from pipeline.formats.run_directory import RunDirectory
from pipeline.formats.segment_files import read_segments, trailer_bytes, write_segments
from pipeline.manifest import parse_manifest
from pipeline.phases.dedup import PartitionRef, group_partitions, make_plan
from pipeline.phases.exchange import plan_levels

SCHEMA = pa.schema([("key", pa.int64()), ("text", pa.large_string())])


def _table(keys: list[int]) -> pa.Table:
    return pa.table({"key": keys, "text": [f"t{k}" for k in keys]}, schema=SCHEMA)


def test_segments_round_trip_in_runs_and_count_only_non_empty_pieces(tmp_path):
    run = RunDirectory(str(tmp_path))
    keys = [5, 1, 3, 3, 0, 7, 1]
    segment = np.array([k % 4 for k in keys])  # segments 1, 1, 3, 3, 0, 3, 1; segment 2 empty
    written = write_segments(run, "x/a.seg", _table(keys), segment, 4)
    assert (written.pieces_written, written.files_written) == (3, 1)
    assert written.bytes_written == (tmp_path / "x" / "a.seg").stat().st_size
    write_segments(run, "x/b.seg", _table([2, 6]), np.array([2, 2]), 4)
    table, read = read_segments(run, ["x/a.seg", "x/b.seg"], 1, 3, 4, SCHEMA)
    # segments 1 and 2 of a (1, 1, 5 in order; none), then of b (2, 6): file order, then segment, then row order
    assert table.column("key").to_pylist() == [5, 1, 1, 2, 6]
    assert table.column("text").to_pylist() == ["t5", "t1", "t1", "t2", "t6"]
    assert (read.files_read, read.pieces_read, read.requests) == (2, 2, 4)
    empty, read = read_segments(run, ["x/b.seg"], 0, 2, 4, SCHEMA)
    assert empty.num_rows == 0 and empty.schema == SCHEMA and read.requests == 1


def test_an_empty_table_writes_a_trailer_only_and_a_cut_file_is_refused(tmp_path):
    run = RunDirectory(str(tmp_path))
    write_segments(run, "e.seg", SCHEMA.empty_table(), np.zeros(0, np.int64), 8)
    assert (tmp_path / "e.seg").stat().st_size == trailer_bytes(8)
    assert read_segments(run, ["e.seg"], 0, 8, 8, SCHEMA)[0].num_rows == 0
    write_segments(run, "c.seg", _table([1, 2]), np.array([0, 1]), 2)
    data = (tmp_path / "c.seg").read_bytes()
    (tmp_path / "c.seg").write_bytes(data[:-3])
    with pytest.raises(RuntimeError, match="c.seg: not a complete segment file"):
        read_segments(run, ["c.seg"], 0, 2, 2, SCHEMA)


@pytest.mark.parametrize(
    ("needed", "tasks", "fan_out", "levels"),
    [(8, 8, 64, 1), (55, 55, 64, 1), (580, 580, 64, 2), (5, 5, 2, 3), (1, 1, 4, 1)],
)
def test_slot_runs_tile_the_slots_within_blocks(needed, tasks, fan_out, levels):
    plan = plan_levels(needed, tasks, fan_out)
    assert plan.levels == levels and plan.slots == fan_out**levels >= needed
    runs = plan.slot_tasks
    assert runs[0][0] == 0 and runs[-1][1] == plan.slots
    assert all(a[1] == b[0] for a, b in zip(runs, runs[1:])) and all(b > a for a, b in runs)
    block = fan_out if levels > 1 else plan.slots
    assert all(a // block == (b - 1) // block for a, b in runs)
    assert len(runs) >= min(tasks, plan.slots)
    slots = np.arange(plan.slots)
    digits = [plan.digit(slots, level) for level in range(levels)]
    assert np.array_equal(sum(d * fan_out ** (levels - 1 - i) for i, d in enumerate(digits)), slots)


def _refs(docs: list[int], sizes: list[int]) -> list[PartitionRef]:
    return [PartitionRef(f"p{i}", i * 1000, False, d, b, "s") for i, (d, b) in enumerate(zip(docs, sizes))]


def test_groups_are_consecutive_partitions_within_both_bounds():
    refs = _refs([40, 40, 30, 100, 5, 0, 5], [10, 10, 10, 10, 95, 1, 1])
    assert group_partitions(refs, 100, 100) == ((0, 2), (2, 3), (3, 4), (4, 7))
    assert group_partitions(refs, 1000, 30) == ((0, 3), (3, 4), (4, 5), (5, 7))
    assert group_partitions([], 10, 10) == ()


def test_partition_index_finds_each_doc_ids_partition_and_travels_without_its_cache(tmp_path):
    """The partitions' first doc_ids are built once per plan object (a task calls `partition_index` for every
    table it sends) and left out of the pickle a task receives."""
    refs = _refs([40, 0, 30, 100], [10, 1, 10, 10])  # first doc_ids 0, 1000, 2000, 3000; the second is empty
    manifest = parse_manifest({"inputs": ["in/*.jsonl"], "output": str(tmp_path)})
    plan = make_plan(RunDirectory(str(tmp_path)), "prepare", "work", refs, 170, manifest, tasks=4)
    doc_ids = np.array([0, 999, 1000, 1999, 2000, 2999, 3000, 10**9])
    expected = [0, 0, 1, 1, 2, 2, 3, 3]
    assert plan.partition_index(doc_ids).tolist() == expected
    assert plan.partition_index(doc_ids).tolist() == expected and "_partition_starts" in plan.__dict__
    received = pickle.loads(pickle.dumps(plan))
    assert "_partition_starts" not in received.__dict__ and received.partitions == plan.partitions
    assert received.partition_index(doc_ids).tolist() == expected
