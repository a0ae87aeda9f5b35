"""The `pileline export` subcommand: a run's training (or evaluation) sequences for the Hugging Face or litdata
readers."""

from __future__ import annotations

import argparse

from pipeline.cli.argument_types import positive_int


def cmd_export(args: argparse.Namespace) -> int:
    from pipeline.manifest import RayConfig
    from pipeline.phases.export import ExportConfig, export_run
    from pipeline.runtime.progress import Progress
    from pipeline.runtime.ray_session import ray_session

    config = ExportConfig(format=args.format, file_bytes=args.file_bytes, split=args.split)
    with ray_session(RayConfig(address=args.address, num_cpus=args.num_cpus)):
        result = export_run(args.run_dir, args.out, config, args.max_in_flight, Progress(quiet=args.quiet))
    print(
        f"{result['out']}: {result['samples']:,} sequences in {result['files']} {args.format} file(s) "
        f"of {result['rows_per_file']:,} sequences"
    )
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add `export` to the `pileline` subcommands."""
    export = commands.add_parser(
        "export",
        help="write the training sequences as a Hugging Face dataset or litdata chunks",
        description="Write RUN_DIR's training sequences, in training order, to OUT: --format hf gives a dataset "
        "datasets.load_from_disk(OUT) opens (one row per sequence: input_ids of seq_len + 1 ids, sample, step, "
        "doc_id, doc_offset); --format litdata gives chunks litdata.StreamingDataset(OUT, item_loader="
        "TokensLoader(block_size=seq_len + 1), shuffle=False) reads. Files are written by parallel Ray tasks; "
        "running the command again resumes. --split valid|test exports an evaluation split's sequences instead, "
        "in file order.",
    )
    export.add_argument("run_dir", metavar="RUN_DIR", help="a finished run directory (local or mounted)")
    export.add_argument(
        "--format",
        required=True,
        choices=["hf", "litdata"],
        help="hf: Hugging Face datasets; litdata: Lightning's litdata",
    )
    export.add_argument(
        "--out",
        required=True,
        help="the export directory (new or empty, or an unfinished export of the same run to resume)",
    )
    export.add_argument(
        "--split",
        choices=["valid", "test"],
        help="export this evaluation split (manifest key `splits`) in file order instead of the training sequences",
    )
    export.add_argument(
        "--file-bytes", type=positive_int, help="bytes per output file (default: 500 MB for hf, 64 MiB for litdata)"
    )
    export.add_argument("--num-cpus", type=positive_int, help="CPUs of the embedded Ray (default: all)")
    export.add_argument("--address", help="address of an existing Ray cluster (RAY_ADDRESS also works)")
    export.add_argument("--max-in-flight", type=positive_int, help="tasks in flight (default: 2 × the cluster's CPUs)")
    export.add_argument("--quiet", action="store_true", help="no progress display")
    export.set_defaults(func=cmd_export)
