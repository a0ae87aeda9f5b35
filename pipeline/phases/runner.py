"""Run a manifest: inputs → prepare partitions → global dedup → tokens → manifest.json.

Each phase writes its outputs under a directory named by the hash of the configuration it depends
on, so a re-run reuses exactly the work whose inputs and settings are unchanged and redoes the rest.
"""

from __future__ import annotations

import platform
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from importlib import metadata

from pipeline import __version__
from pipeline.errors import UserError
from pipeline.formats.filesystems import expand_inputs, location_name
from pipeline.formats.run_directory import RunDirectory
from pipeline.formats.run_layout import (
    CLUSTERS,
    DEDUP_STATS,
    MANIFEST,
    OUTPUT_DIRS,
    REPORT,
    STAGES_DIR,
    TOKEN_STATS,
    name_in_stages,
    phase_keys,
    prepare_key,
    rejects_path,
    stage_dir,
    stage_dir_name,
)
from pipeline.formats.run_lock import run_lock
from pipeline.inspection.run_stats import giant_component_warnings
from pipeline.manifest import Manifest
from pipeline.phases.accounting import balances, input_record, totals
from pipeline.phases.dedup import PartitionRef, make_plan, run_dedup_phase, write_dedup_outputs
from pipeline.phases.eval_sets import EvalSets, load_eval_sets
from pipeline.phases.intermediates import remove_dedup_work, remove_tokenized_partitions
from pipeline.phases.prepare import PrepareResult, run_prepare_phase
from pipeline.phases.tokens import TokensResult, run_tokens_phase
from pipeline.phases.tokens_plan import DedupClusters, TokensPlan
from pipeline.runtime.progress import Progress
from pipeline.runtime.ray_or_local_map import parallel_map
from pipeline.runtime.ray_session import InFlightLimit, ray_session
from pipeline.summaries import merge_by_set
from stages.batch import make_doc_id
from stages.lsh import LshParams, lsh_params

VERSIONED_PACKAGES = (
    "ray",
    "pyarrow",
    "numpy",
    "ftfy",
    "datasketch",
    "tokenizers",
    "tiktoken",
    "gigatoken",
    "zstandard",
    "pydantic",
)


@dataclass
class PhaseWork:
    """How many of a phase's items (partitions, buckets, files) this run computed and how many it reused."""

    phase: str
    unit: str
    computed: int = 0
    reused: int = 0


class WorkTally:
    """A `Progress` that also keeps, per phase, the items computed and reused (from `advance(done, reused)`)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.phases: list[PhaseWork] = []

    def start_phase(self, phase: str, unit: str = "partitions") -> None:
        self.progress.start_phase(phase, unit)
        self.phases.append(PhaseWork(phase, unit))

    def advance(self, docs: int = 0, nbytes: int = 0, done: int = 0, total: int | None = None, reused: int = 0) -> None:
        self.progress.advance(docs=docs, nbytes=nbytes, done=done, total=total, reused=reused)
        if self.phases:
            self.phases[-1].computed += done - reused
            self.phases[-1].reused += reused

    def finish_phase(self) -> None:
        self.progress.finish_phase()

    def log(self, message: str) -> None:
        self.progress.log(message)


@dataclass(frozen=True)
class RunResult:
    """What a finished run reports: where it is, the totals, and how much work was reused.

    `reused_partitions` and `computed_partitions` count the prepare phase; `phases` every phase.
    """

    output: str
    totals: dict
    reused_partitions: int
    computed_partitions: int
    seconds: float
    phases: tuple[PhaseWork, ...] = field(default=())
    warnings: tuple[str, ...] = field(default=())


def package_versions() -> dict[str, str]:
    versions = {"pileline": __version__, "python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _discard_stale(run: RunDirectory, keep: set[str], progress: Progress) -> None:
    """Remove intermediate directories made with another configuration (their results are not reused)."""
    import pyarrow.fs as pafs

    selector = pafs.FileSelector(run.path(STAGES_DIR), recursive=False, allow_not_found=True)
    for info in run.filesystem.get_file_info(selector):
        if info.type == pafs.FileType.Directory and info.base_name not in keep:
            progress.log(f"discarding {STAGES_DIR}/{info.base_name}: made with another configuration")
            run.filesystem.delete_dir(info.path)


@dataclass(frozen=True)
class _RunContext:
    """What every phase of one run works with: the run directory and manifest, the input files (training
    inputs first, then the dedup holdout, then the evaluation splits' files, with the split of each),
    the prepare phase's directory, the in-flight bound, progress."""

    run: RunDirectory
    manifest: Manifest
    files: list[str]
    train_count: int
    split_of: dict[int, str]
    prepare_dir: str
    limit: InFlightLimit
    progress: Progress


@dataclass(frozen=True)
class _DedupDone:
    """What the dedup phase leaves for the rest of the run."""

    work_dir: str
    removed: dict[int, Counter]
    outputs: list[str]
    warnings: list[str]


def _dedup(ctx: _RunContext, prepared: PrepareResult, dedup_dir: str, banding: LshParams) -> _DedupDone:
    """Run the dedup phase on the prepared partitions; count per input file the documents it removed."""
    summaries = prepared.summaries
    refs = [
        PartitionRef(
            pid,
            make_doc_id(index, summaries[pid].first_line),
            index >= ctx.train_count,
            summaries[pid].kept,
            summaries[pid].line_bytes,
            summaries[pid].source,
        )
        for index in range(len(ctx.files))
        for pid in prepared.file_info[index].partitions
    ]
    train_counts = merge_by_set(summaries[ref.partition] for ref in refs if not ref.holdout)
    docs_by_set = {name: counts["kept"] for name, counts in train_counts.items()}
    total_docs = sum(summaries[ref.partition].kept for ref in refs)
    plan = make_plan(ctx.run, ctx.prepare_dir, dedup_dir, refs, total_docs, ctx.manifest, params=banding)
    deduped = run_dedup_phase(plan, ctx.limit, ctx.progress)
    stats = write_dedup_outputs(plan, deduped, docs_by_set)
    removed: dict[int, Counter] = {}
    for ref, summary in zip(refs, deduped.partitions):
        counts = removed.setdefault(summaries[ref.partition].file_index, Counter())
        counts.update({"duplicates": summary.duplicates, "contaminated": summary.contaminated})
    return _DedupDone(plan.work_dir, removed, [CLUSTERS, DEDUP_STATS], giant_component_warnings(stats))


def _remove_stale_outputs(run: RunDirectory, produced: set[str]) -> None:
    """Delete output files this run did not produce (left by a run with other settings)."""
    for directory in OUTPUT_DIRS:
        for path in run.list_files(directory):
            if path not in produced and path != REPORT:
                run.delete(path)


def _output_digest(run: RunDirectory, relative: str) -> tuple[str, str]:
    return relative, run.sha256(relative)


def _output_digests(run: RunDirectory, known: dict[str, str], max_in_flight: int) -> dict[str, str]:
    """sha256 of every output file: `known` where the writing task took it, the rest hashed by parallel
    tasks (a Pile run's token files are ~1 TB, so they are hashed as they are written)."""
    paths = [path for directory in OUTPUT_DIRS for path in run.list_files(directory) if path != REPORT]
    found = {path: known[path] for path in paths if path in known}
    paths = [path for path in paths if path not in found]

    def collect(digests: dict[str, str], pair: tuple[str, str]) -> dict[str, str]:
        digests[pair[0]] = pair[1]
        return digests

    hashed = parallel_map(_output_digest, [(run, path) for path in paths], collect, {}, max_in_flight)
    return dict(sorted({**found, **hashed}.items()))


def run_manifest(manifest: Manifest, progress: Progress | None = None, keep_intermediates: bool = False) -> RunResult:
    """Run every phase of `manifest` into `manifest.output`, reusing finished work; once it has succeeded,
    remove the intermediates no command reads (`pipeline.phases.intermediates`) unless `keep_intermediates`.
    The run directory's lock is held throughout, so a second run into it stops at once."""
    progress = progress or Progress()
    with run_lock(RunDirectory(manifest.output), progress):
        return _run_locked(manifest, progress, keep_intermediates)


def _input_files(manifest: Manifest) -> tuple[list[str], int, dict[int, str]]:
    """The run's input files: training inputs first, then the dedup holdout, then each evaluation split's
    files (so adding either never moves a training doc_id); how many are training; the split of each split
    file's index."""
    train_files = expand_inputs(manifest.inputs)
    holdout_files = expand_inputs(manifest.dedup.holdout) if manifest.dedup.enabled and manifest.dedup.holdout else []
    roles = {location: "an input" for location in train_files}
    split_files = {name: expand_inputs(patterns) for name, patterns in manifest.splits.named().items()}
    for role, locations in [("dedup.holdout", holdout_files)] + [(f"splits.{n}", f) for n, f in split_files.items()]:
        if both := sorted(set(roles) & set(locations)):
            raise UserError(f"{both[0]}: named both as {roles[both[0]]} and as {role}")
        roles.update((location, role) for location in locations)
    files = train_files + holdout_files
    split_of = {}
    for name, locations in split_files.items():
        split_of.update((len(files) + i, name) for i in range(len(locations)))
        files += locations
    return files, len(train_files), split_of


@dataclass(frozen=True)
class _PhasesDone:
    """What the phases leave for manifest.json and the clean-up after it."""

    prepared: PrepareResult
    removed: dict[int, Counter]
    warnings: list[str]
    tokens_plans: list[TokensPlan]
    dedup_work: str | None
    outputs: dict[str, str]
    splits: dict[str, TokensResult]


def _split_partitions(ctx: _RunContext, file_info: dict, split: str) -> tuple[str, ...]:
    """The prepared partitions of evaluation split `split`'s files, in file and line order."""
    return tuple(pid for index, name in ctx.split_of.items() if name == split for pid in file_info[index].partitions)


def _write_token_stats(run: RunDirectory, training: TokensResult, splits: dict[str, TokensResult]) -> str:
    """`stats/tokens.json`: the training data's token statistics, with each evaluation split's under `splits`."""
    stats = training.stats
    if splits:
        stats = {**stats, "splits": {name: result.stats for name, result in splits.items()}}
    run.write_json(TOKEN_STATS, stats)
    return TOKEN_STATS


def _run_phases(ctx: _RunContext, eval_sets: EvalSets | None, banding: LshParams | None) -> _PhasesDone:
    """Prepare, dedup (when enabled) and tokens, then the clean-up of what other settings left and the sha256
    of every output; inside the Ray session."""
    run, manifest, files = ctx.run, ctx.manifest, ctx.files
    prepared = run_prepare_phase(
        run,
        ctx.prepare_dir,
        files,
        manifest,
        ctx.limit,
        ctx.progress,
        eval_sets and eval_sets.index,
        frozenset(ctx.split_of),
    )
    file_info = prepared.file_info
    input_sha256 = [file_info[index].sha256 for index in range(len(files))]
    keys = phase_keys(manifest, files, input_sha256, eval_sets and eval_sets.identity)
    keep_dirs = {stage_dir_name(phase, getattr(keys, phase)) for phase in ("prepare", "tokens", "layout")}
    produced = {rejects_path(pid) for index in range(len(files)) for pid in file_info[index].partitions}
    deduped = _dedup(ctx, prepared, keys.dir("dedup"), banding) if manifest.dedup.enabled else None
    if deduped is not None:
        keep_dirs.add(name_in_stages(deduped.work_dir))
        produced.update(deduped.outputs)
    train_partitions = tuple(pid for index in range(ctx.train_count) for pid in file_info[index].partitions)
    clusters = None if deduped is None else DedupClusters(f"{deduped.work_dir}/clusters")
    tokens_plan = TokensPlan(
        run, ctx.prepare_dir, clusters, keys.dir("tokens"), keys.dir("layout"), train_partitions, manifest
    )
    tokens_result = run_tokens_phase(tokens_plan, ctx.limit, ctx.progress)
    plans, splits = [tokens_plan], {}
    for name in manifest.splits.named():
        partitions = _split_partitions(ctx, file_info, name)
        plans.append(replace(tokens_plan, clusters=None, partitions=partitions, split=name))
        splits[name] = run_tokens_phase(plans[-1], ctx.limit, ctx.progress)
    produced.add(_write_token_stats(run, tokens_result, splits))
    digests = dict(tokens_result.digests)
    for result in [tokens_result, *splits.values()]:
        produced.update(result.outputs)
        digests.update(result.digests)
    _discard_stale(run, keep_dirs, ctx.progress)
    _remove_stale_outputs(run, produced)
    if abandoned := run.remove_temporaries():
        ctx.progress.log(f"removed {abandoned} temporary files left by tasks that failed and were retried")
    outputs = _output_digests(run, digests, ctx.limit())
    removed = {} if deduped is None else deduped.removed
    warnings = [] if deduped is None else deduped.warnings
    dedup_work = None if deduped is None else deduped.work_dir
    return _PhasesDone(prepared, removed, warnings, plans, dedup_work, outputs, splits)


def _input_records(ctx: _RunContext, done: _PhasesDone) -> list[dict]:
    """Every input's accounting record for manifest.json; stops the run if one does not balance."""
    records = []
    for index, location in enumerate(ctx.files):
        info = done.prepared.file_info[index]
        summaries = (done.prepared.summaries[pid] for pid in info.partitions)
        record = input_record(location_name(location), info, summaries, done.removed.get(index))
        record["holdout"] = index >= ctx.train_count
        if index in ctx.split_of:
            record["split"] = ctx.split_of[index]
        if not balances(record):
            raise RuntimeError(f"accounting does not balance for {location}: {record}")
        records.append(record)
    return records


def _split_records(records: list[dict], splits: dict[str, TokensResult]) -> dict:
    """Per evaluation split for manifest.json: its files' accounting, documents, tokens, sequences and token files."""
    return {
        name: {
            **totals([r for r in records if r.get("split") == name]),
            "documents": result.stats["documents"],
            "tokens": result.stats["tokens"],
            "sequences": result.stats.get("sequences", 0),
            "outputs": sorted(result.outputs),
        }
        for name, result in splits.items()
    }


def _write_run_record(
    run: RunDirectory, manifest: Manifest, records: list[dict], eval_sets: EvalSets | None, done: _PhasesDone
) -> dict:
    """Write manifest.json (settings, versions, accounting, output sha256s); return the training totals."""
    total = totals([r for r in records if not r["holdout"]])
    record = {
        "pileline": __version__,
        "manifest": manifest.model_dump(mode="json"),
        "versions": package_versions(),
        "inputs": records,
        "totals": total,
        "holdout_totals": totals([r for r in records if r["holdout"] and "split" not in r]),
        "eval_sets": eval_sets and eval_sets.identity,
        "outputs": done.outputs,
    }
    if done.splits:
        record["splits"] = _split_records(records, done.splits)
    run.write_json(MANIFEST, record)
    return total


def _run_locked(manifest: Manifest, progress: Progress, keep_intermediates: bool) -> RunResult:
    tally = WorkTally(progress)
    progress = tally
    started = time.monotonic()
    files, train_count, split_of = _input_files(manifest)
    run = RunDirectory(manifest.output)
    if removed_temporaries := run.remove_temporaries():
        progress.log(f"removed {removed_temporaries} unfinished temporary files left by an interrupted run")
    eval_sets = load_eval_sets(manifest.decontaminate) if manifest.decontaminate.enabled else None
    prepare_dir = stage_dir("prepare", prepare_key(manifest, files, eval_sets and eval_sets.identity))
    # Chosen before Ray starts, not between prepare and dedup: serial work (and scipy's import, when searched).
    banding = lsh_params(manifest.dedup) if manifest.dedup.enabled else None

    with ray_session(manifest.ray):
        limit = InFlightLimit(manifest.ray.max_in_flight)
        ctx = _RunContext(run, manifest, files, train_count, split_of, prepare_dir, limit, progress)
        done = _run_phases(ctx, eval_sets, banding)

    total = _write_run_record(run, manifest, _input_records(ctx, done), eval_sets, done)
    if not keep_intermediates:
        freed = sum(remove_tokenized_partitions(plan) for plan in done.tokens_plans)
        freed += remove_dedup_work(run, done.dedup_work) if done.dedup_work else 0
        progress.log(f"removed {freed / 1e6:.1f} MB of intermediates no command reads (--keep-intermediates)")
    return RunResult(
        manifest.output,
        total,
        done.prepared.reused,
        done.prepared.computed,
        time.monotonic() - started,
        tuple(tally.phases),
        tuple(done.warnings),
    )
