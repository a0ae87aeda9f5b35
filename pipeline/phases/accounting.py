"""Per-input accounting: `lines == kept + Σ filtered + duplicates + contaminated + Σ rejected`, per file."""

from __future__ import annotations

from collections.abc import Iterable

from pipeline.summaries import InputRecord, PrepareSummary, merge_counts


def input_record(
    location: str, file_info: InputRecord, summaries: Iterable[PrepareSummary], removed: dict | None = None
) -> dict:
    """One input's record for manifest.json, from its partition summaries and dedup removals.

    `removed` holds this file's `duplicates` and `contaminated` counts (documents removed by dedup).
    """
    summaries = list(summaries)
    removed = removed or {}
    duplicates = removed.get("duplicates", 0)
    contaminated = removed.get("contaminated", 0)
    damage = None
    for summary in summaries:
        damage = summary.damage or damage
    return {
        "path": location,
        "bytes": file_info.bytes,
        "sha256": file_info.sha256,
        "lines": sum(summary.lines for summary in summaries),
        "kept": sum(summary.kept for summary in summaries) - duplicates - contaminated,
        "filtered": dict(sorted(merge_counts(summary.filtered for summary in summaries).items())),
        "duplicates": duplicates,
        "contaminated": contaminated,
        "rejected": dict(sorted(merge_counts(summary.rejected for summary in summaries).items())),
        "damage": damage,
    }


def balances(record: dict) -> bool:
    """True when the record's accounting equation holds."""
    accounted = (
        record["kept"]
        + sum(record["filtered"].values())
        + record["duplicates"]
        + record["contaminated"]
        + sum(record["rejected"].values())
    )
    return accounted == record["lines"]


def totals(records: list[dict]) -> dict:
    """The accounting summed over all inputs."""
    total = {"files": len(records)}
    for key in ("lines", "kept", "duplicates", "contaminated"):
        total[key] = sum(record[key] for record in records)
    total["filtered"] = dict(sorted(merge_counts(record["filtered"] for record in records).items()))
    total["rejected"] = dict(sorted(merge_counts(record["rejected"] for record in records).items()))
    return total
