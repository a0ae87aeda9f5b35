"""What phase tasks report about their work, typed, and how their per-subset counters add up (one merge).

    summary           written per                         file                                      read by
    PrepareSummary    prepared partition                  prepare-<key>/<partition>.json            runner, run_stats
    InputRecord       input file, once read whole         prepare-<key>/file-NNNNN.json             runner
    ClustersSummary   partition, by dedup's clusters step dedup-<key>/clusters/NNNNN.json (`partitions`) runner, dedup
    TokensSummary     tokenized partition                 tokens-<key>/tokens/<partition>.json      tokens phase

A summary's file is its `to_json()` and is read back with `from_json()`: the dataclasses are the one
schema of these files, whose bytes stay what they were. `by_set` is {pile_set_name: {counter: n}} with
subsets and counters sorted; `merge_by_set` is the one place such counters are added up.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Protocol, TypeVar

BySet = dict[str, dict[str, int]]
"""Counters per pile_set_name: {subset: {counter: n}}."""


def sorted_counts(by_set: Mapping[str, Mapping[str, int]]) -> BySet:
    """`by_set` with subsets and counters in sorted order, as every summary holds them."""
    return {name: dict(sorted(counts.items())) for name, counts in sorted(by_set.items())}


class HasBySet(Protocol):
    by_set: BySet


def merge_counts(counters: Iterable[Mapping[str, int]]) -> Counter:
    """Counters ({counter: n}) of several summaries added up."""
    total: Counter = Counter()
    for counts in counters:
        total.update(counts)
    return total


def merge_by_set(summaries: Iterable[HasBySet]) -> dict[str, Counter]:
    """The `by_set` counters of task summaries added up per subset, subsets in order of first appearance."""
    by_set: dict[str, list[Mapping[str, int]]] = {}
    for summary in summaries:
        for name, counts in summary.by_set.items():
            by_set.setdefault(name, []).append(counts)
    return {name: merge_counts(counts) for name, counts in by_set.items()}


Summary = TypeVar("Summary", bound="JsonSummary")


class JsonSummary:
    """A summary dataclass whose file is its fields as one JSON object."""

    def to_json(self) -> dict:
        """The summary as the JSON object its file holds."""
        return {item.name: getattr(self, item.name) for item in fields(self)}

    @classmethod
    def from_json(cls: type[Summary], record: dict) -> Summary:
        """The summary a file written by `to_json` holds."""
        return cls(**record)


@dataclass(frozen=True)
class PrepareSummary(JsonSummary):
    """One prepared partition: where it came from, its line accounting and its counters per subset.

    `damage` is the line where its input became unreadable ({line, reason, detail}), if it did;
    `decontamination` the per-eval-set counts (`pipeline.phases.decontamination_summary`), only when
    the run decontaminates (the key is absent from the file otherwise).
    """

    partition: str
    file_index: int
    source: str
    first_line: int
    input_identity: dict
    lines: int
    line_bytes: int
    kept: int
    filtered: dict[str, int]
    rejected: dict[str, int]
    by_set: BySet
    damage: dict | None
    decontamination: dict | None = None

    def to_json(self) -> dict:
        record = super().to_json()
        if self.decontamination is None:
            del record["decontamination"]
        return record


@dataclass(frozen=True)
class InputRecord(JsonSummary):
    """One input file once read whole: its size and sha256, the identity it was read with, its partitions."""

    index: int
    path: str
    bytes: int
    sha256: str
    input_identity: dict
    partitions: list[str]


@dataclass(frozen=True)
class ClustersSummary(JsonSummary):
    """One partition's dedup outcome: documents removed as duplicates or as contaminated, per subset, and
    `cross_set` {"<removed subset>\\t<kept subset>": n} for the duplicates."""

    members: int
    duplicates: int
    contaminated: int
    by_set: BySet
    cross_set: dict[str, int]


@dataclass(frozen=True)
class TokensSummary(JsonSummary):
    """One tokenized partition: documents and tokens kept after dedup, text bytes read, counters per subset
    (`documents_before`, `tokens_before`, `documents`, `tokens`)."""

    partition: str
    docs: int
    tokens: int
    bytes: int
    by_set: BySet
