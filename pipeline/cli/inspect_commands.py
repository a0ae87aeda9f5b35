"""The inspection subcommands of `pileline`: `stats`, `report` and `clusters` over a finished run directory."""

from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext

import orjson
from rich.console import Console

from pipeline.cli.argument_types import non_negative_int, positive_int
from pipeline.errors import UserError

PIPE_WIDTH = 160
"""Width of `pileline stats` tables when stdout is not a terminal (a file or a pipe)."""


def cmd_stats(args: argparse.Namespace) -> int:
    from pipeline.inspection.run_stats import gather_stats
    from pipeline.inspection.stats_tables import rich_table, stats_tables

    stats = gather_stats(args.run_dir)
    if args.json:
        print(orjson.dumps(stats, option=orjson.OPT_INDENT_2).decode())
        return 0
    console = Console() if sys.stdout.isatty() else Console(width=PIPE_WIDTH)
    console.print(f"[bold]{stats['run']['dir']}[/bold]")
    for table in stats_tables(stats):
        console.print()
        console.print(rich_table(table) if table.rows else f"[italic]{table.title}[/italic]")
        if table.note:
            console.print(table.note, style="dim", highlight=False)
    return 0


def _ray(args: argparse.Namespace):
    """A Ray session when --num-cpus or --address asks for one; per-partition work runs in this process otherwise."""
    if args.num_cpus is None and args.address is None:
        return nullcontext()
    from pipeline.manifest import RayConfig
    from pipeline.runtime.ray_session import ray_session

    return ray_session(RayConfig(address=args.address, num_cpus=args.num_cpus))


def cmd_report(args: argparse.Namespace) -> int:
    from pipeline.inspection.report_html import write_report

    with _ray(args):
        path = write_report(args.run_dir, args.out, args.audit, args.seed)
    print(f"report: {path}")
    return 0


def cmd_clusters(args: argparse.Namespace) -> int:
    from pipeline.inspection.cluster_view import show_clusters

    if args.cluster is not None and args.doc is not None:
        raise UserError("give --cluster or --doc, not both")
    return show_clusters(args.run_dir, cluster_id=args.cluster, doc=args.doc, limit=args.limit)


def register(commands: argparse._SubParsersAction) -> None:
    """Add `stats`, `report` and `clusters` to the `pileline` subcommands."""
    stats = commands.add_parser(
        "stats", help="print a run's statistics as tables (or JSON)",
        description="Print what filters and dedup removed, per filter and per pile_set_name, the dedup parameters, "
        "cluster sizes and tokens per subset, read from RUN_DIR's manifest.json and stats/.",
    )
    stats.add_argument("run_dir", metavar="RUN_DIR", help="a finished run directory (holds manifest.json)")
    stats.add_argument(
        "--json", action="store_true", help="print one JSON object with the same numbers instead of tables"
    )
    stats.set_defaults(func=cmd_stats)

    report = commands.add_parser(
        "report",
        help="write a self-contained HTML report with plots and an audit sample",
        description="Write one HTML file (plots embedded, opens offline): the stats tables, plots per subset, the "
                    "largest "
        "duplicate clusters, and an audit sample of removed documents beside their kept copy with the estimated "
        "precision of dedup. Per-document statistics are computed per partition, on Ray with --num-cpus or --address.",
    )
    report.add_argument("run_dir", metavar="RUN_DIR", help="a finished run directory (holds manifest.json)")
    report.add_argument("--out", help="where to write the report (default RUN_DIR/stats/report.html)")
    report.add_argument(
        "--audit",
        type=non_negative_int,
        default=50,
        metavar="N",
        help="removed documents in the audit sample (default 50)",
    )
    report.add_argument(
        "--seed", type=non_negative_int, help="seed of the audit sample (default: the run manifest's seed)"
    )
    report.add_argument(
        "--num-cpus", type=positive_int, help="start an embedded Ray with this many CPUs for the per-partition work"
    )
    report.add_argument("--address", help="use an existing Ray cluster for the per-partition work")
    report.set_defaults(func=cmd_report)

    clusters = commands.add_parser(
        "clusters",
        help="show duplicate clusters: members, which was kept and why",
        description="Without options, list the 20 largest duplicate clusters. With --cluster or --doc, show one "
                    "cluster's "
        "members with their subset, size, beginning and exact Jaccard similarity to the kept copy, and why that copy "
        "was kept.",
    )
    clusters.add_argument("run_dir", metavar="RUN_DIR", help="a finished run directory (holds manifest.json)")
    clusters.add_argument("--cluster", type=int, metavar="ID", help="a cluster id (the smallest doc_id of its members)")
    clusters.add_argument(
        "--doc",
        metavar="SOURCE:LINE",
        help="the cluster of this document, e.g. 00.jsonl.zst:31 (SOURCE may be a path suffix)",
    )
    clusters.add_argument(
        "--limit",
        type=positive_int,
        default=50,
        help="members to show, first by doc_id (kept ones always shown; default 50)",
    )
    clusters.set_defaults(func=cmd_clusters)
