"""Per-subset counters of task summaries add up in one place."""

from __future__ import annotations

from pipeline.summaries import merge_by_set


def test_by_set_counters_add_up_per_subset_in_order_of_first_appearance():
    summaries = [
        {"by_set": {"Pile-CC": {"docs": 3, "kept": 2}, "ArXiv": {"docs": 1}}},
        {"by_set": {}},
        {"by_set": {"Github": {"docs": 4, "kept": 4}, "Pile-CC": {"docs": 1, "filter:empty": 1}}},
    ]
    merged = merge_by_set(summaries)
    assert list(merged) == ["Pile-CC", "ArXiv", "Github"]
    assert merged["Pile-CC"] == {"docs": 4, "kept": 2, "filter:empty": 1}
    assert merged["ArXiv"]["kept"] == 0 and merged["Github"]["kept"] == 4
    assert merge_by_set([]) == {}
