"""Phase summaries are typed, read back as they were written, and their per-subset counters add up in one place."""

from __future__ import annotations

from pipeline.summaries import ClustersSummary, InputRecord, PrepareSummary, TokensSummary, merge_by_set


def _tokens(by_set: dict) -> TokensSummary:
    return TokensSummary(partition="00000-000000000001", docs=0, tokens=0, bytes=0, by_set=by_set)


def test_by_set_counters_add_up_per_subset_in_order_of_first_appearance():
    summaries = [
        _tokens({"Pile-CC": {"docs": 3, "kept": 2}, "ArXiv": {"docs": 1}}),
        _tokens({}),
        _tokens({"Github": {"docs": 4, "kept": 4}, "Pile-CC": {"docs": 1, "filter:empty": 1}}),
    ]
    merged = merge_by_set(summaries)
    assert list(merged) == ["Pile-CC", "ArXiv", "Github"]
    assert merged["Pile-CC"] == {"docs": 4, "kept": 2, "filter:empty": 1}
    assert merged["ArXiv"]["kept"] == 0 and merged["Github"]["kept"] == 4
    assert merge_by_set([]) == {}


def test_every_summary_reads_back_the_json_it_writes():
    prepare = PrepareSummary(
        partition="00001-000000000501",
        file_index=1,
        source="train/01.jsonl.zst",
        first_line=501,
        input_identity={"size": 10},
        lines=3,
        line_bytes=30,
        kept=1,
        filtered={"min_clean_chars": 1},
        rejected={"bad_json": 1},
        by_set={"ArXiv": {"docs": 2, "kept": 1, "filter:min_clean_chars": 1}},
        damage=None,
    )
    summaries = [
        prepare,
        PrepareSummary(**{**prepare.to_json(), "decontamination": {"lambada": {"dropped": 0}}}),
        InputRecord(index=1, path="train/01.jsonl.zst", bytes=10, sha256="ab", input_identity={}, partitions=["p"]),
        ClustersSummary(members=4, duplicates=1, contaminated=0, by_set={}, cross_set={"A\tB": 1}),
        _tokens({"ArXiv": {"documents": 1, "tokens": 9}}),
    ]
    for summary in summaries:
        assert type(summary).from_json(summary.to_json()) == summary
    assert "decontamination" not in prepare.to_json()
    assert summaries[1].to_json()["decontamination"] == {"lambada": {"dropped": 0}}
