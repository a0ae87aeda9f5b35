"""Per-input accounting: `lines == kept + Σ filtered + duplicates + contaminated + Σ rejected`, per file."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable


def input_record(location: str, file_info: dict, summaries: Iterable[dict], removed: dict | None = None) -> dict:
    """One input's record for manifest.json, from its partition summaries and dedup removals.

    `removed` holds this file's `duplicates` and `contaminated` counts (documents removed by dedup).
    """
    removed = removed or {}
    lines = kept = 0
    filtered: Counter = Counter()
    rejected: Counter = Counter()
    damage = None
    for summary in summaries:
        lines += summary["lines"]
        kept += summary["kept"]
        filtered.update(summary["filtered"])
        rejected.update(summary["rejected"])
        damage = summary["damage"] or damage
    duplicates = removed.get("duplicates", 0)
    contaminated = removed.get("contaminated", 0)
    return {
        "path": location,
        "bytes": file_info["bytes"],
        "sha256": file_info["sha256"],
        "lines": lines,
        "kept": kept - duplicates - contaminated,
        "filtered": dict(sorted(filtered.items())),
        "duplicates": duplicates,
        "contaminated": contaminated,
        "rejected": dict(sorted(rejected.items())),
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
    total = {"files": len(records), "lines": 0, "kept": 0, "duplicates": 0, "contaminated": 0}
    filtered: Counter = Counter()
    rejected: Counter = Counter()
    for record in records:
        for key in ("lines", "kept", "duplicates", "contaminated"):
            total[key] += record[key]
        filtered.update(record["filtered"])
        rejected.update(record["rejected"])
    total["filtered"] = dict(sorted(filtered.items()))
    total["rejected"] = dict(sorted(rejected.items()))
    return total
