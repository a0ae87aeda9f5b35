"""The dedup phase's exchanges at the Pile's shape: senders, receivers, pieces, files and requests, before and after.

    python benchmarks/pile_exchanges.py [--docs 210607728] [--partition-docs 10000] [--doc-bytes 4210]
                                        [--presets threshold-true,pythia]

No data is read and no Ray is started: the partitions, groups, slot runs and levels come from the
dedup phase's own planning functions (`group_partitions`, `task_count`, `plan_levels`) on partitions
of the given shape, and every exchange is counted as the phase runs it. The counts are upper bounds
that the Pile reaches: a piece is a non-empty segment (every file of F segments has rows for each of
them once a sender holds more than a few hundred rows); a file read costs two requests (trailer,
then one byte range) on `s3://` and one open plus two reads on a local disk. "before" is the
partition-routed design this replaced (every exchange M files × R record batches, every receiver
opening all M files; issue 27), counted the same way.
"""

from __future__ import annotations

import argparse
import math

from pipeline.phases.dedup import GROUP_BYTES, GROUP_DOCS, PartitionRef, group_partitions, task_count
from pipeline.phases.exchange import FAN_OUT, Levels, plan_levels
from stages.dedup import DedupConfig
from stages.lsh import lsh_params

PILE_DOCS = 210_607_728
"""Documents in the Pile's 30 train files (REFERENCE.md)."""
PILE_DOC_BYTES = 4_210
"""Mean text bytes per document: ~825 GiB over the train documents."""
OLD_ROWS_PER_BUCKET = 4_000_000
OLD_MIN_BUCKETS = 8


def exchanges(verify: str, threshold_mode: bool) -> list[tuple[str, str, str]]:
    """(exchange, who sends, who receives) in run order: 'groups', 'runs' (slot runs), 'doc runs'."""
    rows = [("bands", "groups", "runs"), ("exact-rows", "groups", "runs"), ("meta", "groups", "runs")]
    rows += [("exact", "runs", "runs"), ("copies", "runs", "runs")]
    if verify == "exact":
        rows += [
            ("candidates", "runs", "doc runs"),
            ("targets", "doc runs", "doc runs"),
            ("verify", "doc runs", "runs"),
        ]
    else:
        rows += [("edges", "runs", "runs")]
    if threshold_mode:
        rows += [("pairs", "runs" if verify != "exact" else "doc runs", "runs")]
    rows += [("cc round (each)", "runs", "runs"), ("labels", "runs", "runs"), ("members", "runs", "runs")]
    if threshold_mode:
        rows += [("member-edges", "runs", "runs")]
    rows += [("keep", "runs", "doc runs")]
    return rows


def old_exchanges(verify: str, threshold_mode: bool, partitions: int, buckets: int) -> dict[str, tuple[int, int]]:
    """(M, R) of each exchange of the partition-routed design."""
    p, b = partitions, buckets
    table = {"bands": (p, b), "exact-rows": (p, b), "exact": (b, b), "copies": (b, p)}
    if verify == "exact":
        table |= {"candidates": (b, p), "targets": (p, p), "verify": (p, b)}
        if threshold_mode:
            table["pairs"] = (p, 1)
    else:
        table["edges"] = (b, b)
        if threshold_mode:
            table["pairs"] = (b, p)
    table |= {"cc round (each)": (b, b), "labels": (b, p), "members": (p, b), "keep": (b, p)}
    if threshold_mode:
        table["member-edges"] = (p, b)
    return table


def new_counts(levels: Levels, senders: int, receivers: int) -> dict[str, int]:
    """Files written and read, pieces written and read (upper bounds) and requests of one exchange."""
    fan = levels.fan_out
    files_written, files_read = senders, 0
    pieces = senders * fan
    for level in range(1, levels.levels):
        relays = fan**level * levels.files_at(senders, level)
        files_read += fan**level * levels.files_at(senders, level - 1)
        files_written += relays
        pieces += relays * fan
    last_files = levels.files_at(senders, levels.levels - 1)
    files_read += receivers * last_files
    return {
        "files_written": files_written,
        "files_read": files_read,
        "pieces": 2 * pieces,
        "requests": files_written + 2 * files_read,
    }


def shape(docs: int, partition_docs: int, doc_bytes: int) -> list[PartitionRef]:
    count = math.ceil(docs / partition_docs)
    return [
        PartitionRef(f"p{i}", i * partition_docs, False, partition_docs, partition_docs * doc_bytes, "")
        for i in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=PILE_DOCS)
    parser.add_argument("--partition-docs", type=int, default=10_000)
    parser.add_argument("--doc-bytes", type=int, default=PILE_DOC_BYTES)
    parser.add_argument("--presets", default="threshold-true,pythia")
    args = parser.parse_args()
    partitions = shape(args.docs, args.partition_docs, args.doc_bytes)
    groups = group_partitions(partitions, GROUP_DOCS, GROUP_BYTES)
    print(
        f"{args.docs:,} documents of {args.doc_bytes:,} bytes, {len(partitions):,} partitions of "
        f"{args.partition_docs:,}; {len(groups):,} groups (≤ {GROUP_DOCS:,} documents, ≤ {GROUP_BYTES / 1e6:.0f} MB)"
    )
    for preset in args.presets.split(","):
        config = DedupConfig(preset=preset)
        bands = lsh_params(config).bands
        runs = task_count(args.docs, bands)
        levels = plan_levels(runs, runs, FAN_OUT)
        old_buckets = max(OLD_MIN_BUCKETS, math.ceil(args.docs * bands / OLD_ROWS_PER_BUCKET))
        threshold_mode = config.mode == "threshold"
        print(
            f"\n{preset}: {bands} bands, verify {config.verify}; before: K = {old_buckets:,} buckets; after: "
            f"F = {levels.fan_out}, L = {levels.levels}, K = {levels.slots:,} slots in {len(levels.slot_tasks):,} runs"
        )
        print(
            "| exchange | before M × R | before pieces | before requests | after senders → runs | after files "
            "| after pieces | after requests |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        old = old_exchanges(config.verify, threshold_mode, len(partitions), old_buckets)
        total_old = total_new = 0
        for name, sends, receives in exchanges(config.verify, threshold_mode):
            m, r = old.get(name, (0, 0))
            old_requests = m + 2 * m * r
            before = f"{m:,} × {r:,} | {2 * m * r:,} | {old_requests:,}" if m else "— (read from partitions) | — | —"
            counts = {"groups": len(groups), "runs": len(levels.slot_tasks), "doc runs": len(levels.slot_tasks)}
            new = new_counts(levels, counts[sends], counts[receives])
            total_old += old_requests
            total_new += new["requests"]
            print(
                f"| {name} | {before} | {counts[sends]:,} → "
                f"{counts[receives]:,} | {new['files_written'] + new['files_read']:,} | {new['pieces']:,} "
                f"| {new['requests']:,} |"
            )
        print(f"| all (one cc round) | | | {total_old:,} | | | | {total_new:,} |")


if __name__ == "__main__":
    main()
