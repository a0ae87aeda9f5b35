"""The prepare phase on Ray: one streaming reader task per input file, one task per partition.

A reader streams its file and yields, per partition of `partition_docs` lines, a small description
and (unless the partition is already finished) the raw lines, with backpressure so a reader runs at
most a few partitions ahead. The driver keeps a bounded number of partition tasks in flight, so
memory stays flat whatever the corpus size. Finished partitions and files are skipped on resume.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import ray

from pipeline.errors import UserError
from pipeline.formats.filesystems import location_name
from pipeline.formats.input_identity import identity_changes, input_identity
from pipeline.formats.run_directory import RunDirectory
from pipeline.formats.run_layout import docs_path, file_record_path, is_file_record, summary_path
from pipeline.manifest import Manifest
from pipeline.phases.prepare_partition import PartitionSpec, prepare_partition
from pipeline.phases.prepare_reader import READER_AHEAD_OBJECTS, read_partitions
from pipeline.runtime.progress import Progress
from pipeline.runtime.ray_session import InFlightLimit
from pipeline.runtime.task_resources import phase_task
from stages.eval_ngrams import EvalNgrams


@phase_task
def _prepare(
    run: RunDirectory,
    stage_dir: str,
    spec: PartitionSpec,
    lines: pa.Array | None,
    damage,
    manifest: Manifest,
    eval_ngrams: EvalNgrams | None,
) -> dict:
    """Prepare one partition; a retry of a task that finished before its node was lost reads the summary back."""
    summary = summary_path(stage_dir, spec.partition_id)
    if run.exists(summary):
        return run.read_json(summary)
    raw = [] if lines is None else lines.to_pylist()
    return prepare_partition(run, stage_dir, spec, raw, damage, manifest, eval_ngrams)


@dataclass(frozen=True)
class PrepareResult:
    """Partition summaries by id, input file info by index, and how many partitions were reused or computed."""

    summaries: dict[str, dict]
    file_info: dict[int, dict]
    reused: int
    computed: int


@dataclass
class _FileState:
    index: int
    location: str
    partitions: list[str] = field(default_factory=list)
    sha256: str | None = None


def _finished_work(
    run: RunDirectory, stage_dir: str, files: list[str], identities: list[dict], progress: Progress
) -> tuple[dict[str, dict], dict[int, dict]]:
    """The partition summaries and file records an earlier run left for inputs whose identity is unchanged.

    The work of an input that changed since is discarded: its file record first, then each partition's
    summary (which marks it finished), then its documents, so a crash midway never leaves a summary
    without the data it describes.
    """
    summaries: dict[str, dict] = {}
    file_info: dict[int, dict] = {}
    stale_records: dict[int, list[str]] = {}
    stale_partitions: dict[int, list[str]] = {}
    for path in run.list_files(stage_dir, ".json"):
        record = run.read_json(path)
        file_record = is_file_record(path.rsplit("/", 1)[-1])
        index = record["index"] if file_record else record["file_index"]
        if record.get("input_identity") != identities[index]:
            stale_records.setdefault(index, []).append(path)
            if not file_record:
                stale_partitions.setdefault(index, []).append(record["partition"])
        elif file_record:
            file_info[index] = record
        else:
            summaries[record["partition"]] = record
    for index, paths in sorted(stale_records.items()):
        recorded = run.read_json(paths[0]).get("input_identity")
        partitions = stale_partitions.get(index, [])
        progress.log(
            f"{location_name(files[index])}: changed since it was read "
            f"({', '.join(identity_changes(recorded, identities[index]))} differ); "
            f"its {len(partitions)} finished partitions are recomputed"
        )
        for path in sorted(paths, key=lambda path: not is_file_record(path.rsplit("/", 1)[-1])):
            run.delete(path)
        for partition in partitions:
            if run.exists(docs_path(stage_dir, partition)):
                run.delete(docs_path(stage_dir, partition))
    return summaries, file_info


def run_prepare_phase(
    run: RunDirectory, stage_dir: str, files: list[str], manifest: Manifest, limit: InFlightLimit, progress: Progress,
    eval_ngrams: EvalNgrams | None = None,
) -> PrepareResult:
    """Prepare every partition of every file not finished by an earlier run from the same bytes;
    `eval_ngrams` (when decontaminating) is put in the object store once and shared by every task.

    An input whose identity (`pipeline.formats.input_identity`) matches its finished file record is not
    read again; one that changed has its partitions discarded and is read and prepared again.
    """
    identities = [input_identity(location) for location in files]
    summaries, file_info = _finished_work(run, stage_dir, files, identities, progress)
    finished_by_file: dict[int, set[int]] = {}
    for summary in summaries.values():
        finished_by_file.setdefault(summary["file_index"], set()).add(summary["first_line"])
    pending = [index for index in range(len(files)) if index not in file_info]
    progress.start_phase("inputs", "files")
    progress.advance(done=len(files), reused=len(files) - len(pending), total=len(files))
    reused = len(summaries)
    known = sum(len(file_info[i]["partitions"]) for i in file_info)
    progress.start_phase("prepare")
    progress.advance(done=reused, reused=reused, total=None if pending else known)
    if not pending:
        progress.finish_phase()
        return PrepareResult(summaries, file_info, reused, 0)

    manifest_ref = ray.put(manifest)
    eval_ref = None if eval_ngrams is None else ray.put(eval_ngrams)
    readers: dict = {}
    states: dict[int, _FileState] = {}
    in_flight: dict = {}
    queue = list(pending)

    def close_file_if_complete(state: _FileState) -> None:
        if state.sha256 is None or any(pid not in summaries for pid in state.partitions):
            return
        info = {
            "index": state.index,
            "path": location_name(state.location),
            "bytes": identities[state.index]["size"],
            "sha256": state.sha256,
            "input_identity": identities[state.index],
            "partitions": state.partitions,
        }
        run.write_json(file_record_path(stage_dir, state.index), info)
        file_info[state.index] = info

    while queue or readers or in_flight:
        while queue and len(readers) < limit.cpus():
            index = queue.pop(0)
            states[index] = _FileState(index, files[index])
            generator = read_partitions.options(
                _generator_backpressure_num_objects=READER_AHEAD_OBJECTS, scheduling_strategy="SPREAD"
            ).remote(
                index,
                files[index],
                manifest.partition_docs,
                manifest.read.max_doc_bytes,
                frozenset(finished_by_file.get(index, ())),
            )
            readers[generator] = index
        waitables = list(in_flight)
        if len(in_flight) < limit():
            waitables += list(readers)
        ready, _ = ray.wait(waitables, num_returns=1, timeout=1.0)
        for ref in ready:
            if ref in in_flight:
                summary = ray.get(ref)
                state = states[in_flight.pop(ref)]
                summaries[summary["partition"]] = summary
                progress.advance(docs=summary["lines"], nbytes=summary["line_bytes"], done=1)
                close_file_if_complete(state)
                continue
            index = readers[ref]
            state = states[index]
            try:
                item = ray.get(next(ref))
            except StopIteration:
                del readers[ref]
                continue
            if item["kind"] == "end":
                if item["changed"]:
                    changed = ", ".join(item["changed"])
                    raise UserError(
                        f"{location_name(state.location)}: changed while it was being read ({changed} differ); "
                        "run again once it stays unchanged"
                    )
                state.sha256 = item["sha256"]
                close_file_if_complete(state)
                continue
            spec = PartitionSpec(index, item["first_line"], location_name(state.location), identities[index])
            state.partitions.append(spec.partition_id)
            if item["kind"] == "damage":
                damage = item["damage"]
                progress.log(
                    f"{spec.source}: line {damage.line}: {damage.reason}: {damage.detail}; lines before it are kept"
                )
            if not item["todo"]:
                continue
            lines_ref = next(ref) if item["kind"] == "chunk" else None
            damage = item.get("damage")
            task = _prepare.remote(run, stage_dir, spec, lines_ref, damage, manifest_ref, eval_ref)
            in_flight[task] = index
        if not queue and not readers:
            progress.advance(total=sum(len(s.partitions) for s in states.values()) + known)
    progress.finish_phase()
    return PrepareResult(summaries, file_info, reused, len(summaries) - reused)
