"""The `pileline` command line: run, sample, demo (and the inspection commands)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import NoReturn

from pipeline.cli.argument_types import positive_int
from pipeline.cli.export_command import register as register_export_command
from pipeline.cli.inspect_commands import register as register_inspection_commands
from pipeline.errors import UserError
from pipeline.formats.run_layout import MANIFEST
from pipeline.manifest import load_manifest
from pipeline.runtime.process_exit import end_with_exit_now, exit_now
from pipeline.runtime.progress import Progress

DEMO_DOCS = 3000


def _print_totals(result) -> None:
    t = result.totals
    filtered = sum(t["filtered"].values())
    rejected = sum(t["rejected"].values())
    print(f"run directory: {result.output}")
    print(
        f"documents: {t['lines']:,} lines in {t['files']} files → kept {t['kept']:,}, filtered {filtered:,}, "
        f"duplicates {t['duplicates']:,}, contaminated {t['contaminated']:,}, rejected {rejected:,}"
    )
    for name, count in t["filtered"].items():
        print(f"  filtered by {name}: {count:,}")
    for reason, count in t["rejected"].items():
        print(f"  rejected as {reason}: {count:,}")
    print(
        f"partitions: {result.computed_partitions} computed, {result.reused_partitions} reused; {result.seconds:,.1f} s"
    )
    computed = sum(work.computed for work in result.phases)
    reused = [work for work in result.phases if work.reused]
    print(f"tasks: {computed:,} computed, {sum(work.reused for work in reused):,} reused from an earlier run")
    if reused:
        print("reused: " + " · ".join(f"{w.phase} {w.reused}/{w.reused + w.computed} {w.unit}" for w in reused))
    for warning in result.warnings:
        print(warning)


def cmd_run(args: argparse.Namespace) -> int:
    from pipeline.phases.runner import run_manifest

    overrides = {
        "output": args.out,
        "ray.num_cpus": args.num_cpus,
        "ray.address": args.address,
        "partition_docs": args.partition_docs,
        "partition_bytes": args.partition_bytes,
    }
    manifest = load_manifest(args.manifest, overrides)
    result = run_manifest(manifest, Progress(quiet=args.quiet), keep_intermediates=args.keep_intermediates)
    _print_totals(result)
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from pipeline.sample.corpus import write_sample_corpus

    summary = write_sample_corpus(args.out_dir, docs=args.docs, seed=args.seed)
    print(summary.describe())
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from pipeline.phases.runner import run_manifest
    from pipeline.sample.corpus import write_sample_corpus

    out = Path(args.out)
    sample_dir = out / "sample"
    summary = write_sample_corpus(sample_dir, docs=args.docs, seed=0)
    print(summary.describe())
    demo_manifest = resources.files("manifests") / "demo.yaml"
    with resources.as_file(demo_manifest) as manifest_path:
        manifest = load_manifest(
            manifest_path,
            {
                "inputs": [str(sample_dir / "train" / "*.jsonl.zst")],
                "splits.valid": [str(sample_dir / "val.jsonl.zst")],
                "output": str(out / "run"),
                "ray.num_cpus": args.num_cpus,
            },
        )
    result = run_manifest(manifest, Progress(quiet=args.quiet))
    _print_totals(result)
    from pipeline.inspection.report_html import write_report
    from pipeline.inspection.run_stats import summary_text

    print()
    print(summary_text(result.output))
    print(f"report: {write_report(result.output)}")
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from pipeline.inspection.step_view import describe_step

    try:
        print(describe_step(args.run_dir, args.step, args.batch_size, args.row, args.tokens, args.chars))
    except IndexError as error:
        raise UserError(str(error)) from None
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from pipeline.inspection.verify import verify_run

    problems = verify_run(args.run_dir, Progress(quiet=args.quiet), inputs=args.inputs)
    for problem in problems:
        print(problem)
    checked = "output and input" if args.inputs else "output"
    if problems:
        print(f"pileline: {len(problems)} {checked} file(s) differ from {MANIFEST}", file=sys.stderr)
        return 1
    print(f"{args.run_dir}: every {checked} matches {MANIFEST}")
    return 0


def cmd_ngrams(args: argparse.Namespace) -> int:
    from pipeline.inspection.train_ngrams import write_train_ngrams
    from pipeline.manifest import RayConfig
    from pipeline.runtime.ray_session import ray_session

    with ray_session(RayConfig(address=args.address, num_cpus=args.num_cpus)):
        result = write_train_ngrams(args.run_dir, args.out, args.ngram_n, args.buckets)
    print(
        f"{result['out']}: {result['lines']:,} {args.ngram_n}-gram lines of {result['partitions']} partitions "
        f"in {result['buckets']} buckets + info.json"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pileline",
        description="Prepare the Pile for LM training: ftfy, filters, MinHash-LSH dedup, GPT-2 tokens, seeded "
        "shards, on Ray.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run a manifest", description="Run a YAML manifest; flags override its keys.")
    run.add_argument("manifest", help="the run manifest (YAML)")
    run.add_argument("--out", help="run directory (overrides `output`)")
    run.add_argument("--num-cpus", type=positive_int, help="CPUs of the embedded Ray (overrides `ray.num_cpus`)")
    run.add_argument(
        "--address", help="address of an existing Ray cluster (overrides `ray.address`; RAY_ADDRESS also works)"
    )
    run.add_argument("--partition-docs", type=positive_int, help="documents per partition (overrides `partition_docs`)")
    run.add_argument(
        "--partition-bytes", type=positive_int, help="line bytes per partition at most (overrides `partition_bytes`)"
    )
    run.add_argument("--quiet", action="store_true", help="no progress display")
    run.add_argument(
        "--keep-intermediates",
        action="store_true",
        help="keep the tokenized partitions under stages/ that no command reads (removed after a successful run)",
    )
    run.set_defaults(func=cmd_run)

    sample = commands.add_parser(
        "sample",
        help="write a generated Pile-layout sample corpus",
        description="Write a deterministic, Pile-layout sample corpus with duplicates and a ground-truth file.",
    )
    sample.add_argument("out_dir", help="where to write train/NN.jsonl.zst, val.jsonl.zst, ground_truth.jsonl")
    sample.add_argument(
        "--docs", type=positive_int, default=DEMO_DOCS, help=f"number of documents (default {DEMO_DOCS})"
    )
    sample.add_argument("--seed", type=int, default=0, help="seed of the generator (default 0)")
    sample.set_defaults(func=cmd_sample)

    demo = commands.add_parser(
        "demo",
        help="sample + run + summary on an embedded Ray",
        description="Write a sample corpus and run manifests/demo.yaml on it with an embedded local Ray.",
    )
    demo.add_argument(
        "--out", default="pileline-demo", help="directory for the sample and the run (default ./pileline-demo)"
    )
    demo.add_argument(
        "--docs", type=positive_int, default=DEMO_DOCS, help=f"documents in the sample (default {DEMO_DOCS})"
    )
    demo.add_argument("--num-cpus", type=positive_int, help="CPUs of the embedded Ray (default: all)")
    demo.add_argument("--quiet", action="store_true", help="no progress display")
    demo.set_defaults(func=cmd_demo)

    inspect = commands.add_parser(
        "inspect",
        help="show the sequences of one training step",
        description="Print the sequences of training step S, decoded, with the documents (source, line, "
        "pile_set_name) each spans.",
    )
    inspect.add_argument("run_dir", help="a finished run directory")
    inspect.add_argument("--step", type=int, required=True, help="training step (0-based)")
    inspect.add_argument(
        "--batch-size", type=positive_int, help="sequences per step (default: shards.global_batch of the run)"
    )
    inspect.add_argument("--row", type=int, help="show only this row of the batch")
    inspect.add_argument("--tokens", action="store_true", help="print token ids instead of text")
    inspect.add_argument("--chars", type=positive_int, default=400, help="characters of text per row (default 400)")
    inspect.set_defaults(func=cmd_inspect)

    verify = commands.add_parser(
        "verify",
        help="re-hash a run's outputs (and inputs) against manifest.json",
        description="Re-hash every output listed in manifest.json (with --inputs every input too); "
        "exit 1 naming any file that differs or is missing.",
    )
    verify.add_argument("run_dir", help="a finished run directory")
    verify.add_argument(
        "--inputs", action="store_true", help="also re-hash the run's input files and name each changed or missing one"
    )
    verify.add_argument("--quiet", action="store_true", help="no progress display")
    verify.set_defaults(func=cmd_verify)

    ngrams = commands.add_parser(
        "ngrams", help="write the kept training text's n-grams for lm-evaluation-harness",
        description="Write the n-grams of the documents a run kept (after decontamination, filters and dedup) "
        "as info.json + ngrams_N.bkt.txt.sorted.zst, the files "
        "lm_eval.decontamination.decontaminate.get_train_overlap reads.",
    )
    ngrams.add_argument("run_dir", metavar="RUN_DIR", help="a finished run directory")
    ngrams.add_argument("--out", required=True, help="output directory")
    ngrams.add_argument(
        "--ngram-n", type=positive_int, default=13, help="words per n-gram (default 13, lm-evaluation-harness's)"
    )
    ngrams.add_argument(
        "--buckets", type=positive_int, default=16, help="output files; equal n-grams share one (default 16)"
    )
    ngrams.add_argument("--num-cpus", type=positive_int, help="CPUs of the embedded Ray (default: all)")
    ngrams.add_argument("--address", help="address of an existing Ray cluster")
    ngrams.set_defaults(func=cmd_ngrams)

    register_inspection_commands(commands)
    register_export_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `pileline` console script; user errors are one line on stderr, exit 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UserError as error:
        # A Ray task's error arrives as a RayTaskError subclass of it, whose text is the task's traceback.
        print(f"pileline: error: {getattr(error, 'cause', None) or error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "pileline: interrupted; finished partitions are kept, run the same command again to resume", file=sys.stderr
        )
        return 130


def console(argv: Sequence[str] | None = None) -> NoReturn:
    """The `pileline` console script: `main`, then the process ends at once (`exit_now`), the embedded Ray with it."""
    end_with_exit_now()
    exit_now(main(argv))


if __name__ == "__main__":
    console()
