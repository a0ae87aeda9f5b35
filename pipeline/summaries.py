"""What phase tasks report about their work, and how those reports add up (one merge, used everywhere)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable


def merge_by_set(summaries: Iterable[dict]) -> dict[str, Counter]:
    """The `by_set` counters of task summaries ({pile_set_name: {counter: n}}) added up per subset,
    subsets in order of first appearance."""
    by_set: dict[str, Counter] = {}
    for summary in summaries:
        for name, counts in summary["by_set"].items():
            by_set.setdefault(name, Counter()).update(counts)
    return by_set
