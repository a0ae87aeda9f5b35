"""The prepare phase on Ray: one streaming reader task per input file, one task per partition.

A reader streams its file and yields, per partition of `partition_docs` lines, a small description
and (unless the partition is already finished) the raw lines, with backpressure so a reader runs at
most a few partitions ahead. The driver keeps a bounded number of partition tasks in flight, so
memory stays flat whatever the corpus size. Finished partitions and files are skipped on resume.

A small input (`WHOLE_FILE_BYTES`) met while at least as many inputs wait as there are CPUs is read and
prepared by one task instead, partition after partition: the files already keep every CPU busy, and its
lines never travel through the object store nor need a reader's worker (~0.9 CPU s to start one).
Partitions are cut by the same reader code either way, so the outputs are the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pyarrow as pa
import ray

from pipeline.errors import UserError
from pipeline.formats.filesystems import location_name
from pipeline.formats.input_identity import identity_changes, input_identity
from pipeline.formats.run_directory import RunDirectory
from pipeline.formats.run_layout import docs_path, file_record_path, is_file_record, summary_path
from pipeline.manifest import Manifest
from pipeline.phases.prepare_partition import PartitionSpec, prepare_partition
from pipeline.phases.prepare_reader import READER_AHEAD_OBJECTS, partition_items, read_partitions
from pipeline.runtime.progress import Progress
from pipeline.runtime.ray_session import InFlightLimit
from pipeline.runtime.task_map import run_bounded
from pipeline.runtime.task_resources import phase_task
from pipeline.summaries import InputRecord, PrepareSummary
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
) -> PrepareSummary:
    """Prepare one partition streamed to it as an Arrow array of lines."""
    raw = [] if lines is None else lines.to_pylist()
    return _prepared(run, stage_dir, spec, raw, damage, manifest, eval_ngrams)


def _prepared(
    run: RunDirectory,
    stage_dir: str,
    spec: PartitionSpec,
    lines: list[bytes],
    damage,
    manifest: Manifest,
    eval_ngrams: EvalNgrams | None,
) -> PrepareSummary:
    """`prepare_partition`, unless its summary exists: a retry of a task that had finished the partition before its
    node was lost reads the summary back."""
    summary = summary_path(stage_dir, spec.partition_id)
    if run.exists(summary):
        return PrepareSummary.from_json(run.read_json(summary))
    return prepare_partition(run, stage_dir, spec, lines, damage, manifest, eval_ngrams)


WHOLE_FILE_BYTES = 64 << 20
"""Inputs of at most this many stored bytes may be read and prepared by one task (~7 s of one core for 64 MB
of zstd-compressed text); larger ones are always streamed, so their partitions spread over the CPUs."""


@phase_task
def _read_and_prepare(
    run: RunDirectory,
    stage_dir: str,
    location: str,
    spec: PartitionSpec,
    manifest: Manifest,
    eval_ngrams: EvalNgrams | None,
    finished: frozenset,
) -> list[dict]:
    """Read input `location` (`spec`: its first partition) and prepare each partition whose first line is not in
    `finished`, as the reader and `_prepare` would: `partition_items`' descriptions, each unfinished partition's
    with its summary (read back when a retried task had written it)."""
    items = []
    for item, lines in partition_items(
        spec.file_index,
        location,
        manifest.partition_docs,
        manifest.partition_bytes,
        manifest.read.max_doc_bytes,
        finished,
    ):
        if item["kind"] != "end" and item["todo"]:
            partition = replace(spec, first_line=item["first_line"])
            summary = _prepared(run, stage_dir, partition, lines or [], item.get("damage"), manifest, eval_ngrams)
            item = {**item, "summary": summary}
        items.append(item)
    return items


@dataclass(frozen=True)
class PrepareResult:
    """Partition summaries by id, input file records by index, and how many partitions were reused or computed."""

    summaries: dict[str, PrepareSummary]
    file_info: dict[int, InputRecord]
    reused: int
    computed: int


def _finished_work(
    run: RunDirectory, stage_dir: str, files: list[str], identities: list[dict], progress: Progress
) -> tuple[dict[str, PrepareSummary], dict[int, InputRecord]]:
    """The partition summaries and file records an earlier run left for inputs whose identity is unchanged.

    The work of an input that changed since is discarded: its file record first, then each partition's
    summary (which marks it finished), then its documents, so a crash midway never leaves a summary
    without the data it describes.
    """
    summaries: dict[str, PrepareSummary] = {}
    file_info: dict[int, InputRecord] = {}
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
            file_info[index] = InputRecord.from_json(record)
        else:
            summaries[record["partition"]] = PrepareSummary.from_json(record)
    for index, paths in sorted(stale_records.items()):
        _discard_changed_input(
            run, stage_dir, files[index], identities[index], paths, stale_partitions.get(index, []), progress
        )
    return summaries, file_info


def _discard_changed_input(
    run: RunDirectory,
    stage_dir: str,
    location: str,
    identity: dict,
    paths: list[str],
    partitions: list[str],
    progress: Progress,
) -> None:
    """Delete an input's finished work read from bytes it no longer holds: file record, summaries, documents."""
    recorded = run.read_json(paths[0]).get("input_identity")
    progress.log(
        f"{location_name(location)}: changed since it was read "
        f"({', '.join(identity_changes(recorded, identity))} differ); "
        f"its {len(partitions)} finished partitions are recomputed"
    )
    for path in sorted(paths, key=lambda path: not is_file_record(path.rsplit("/", 1)[-1])):
        run.delete(path)
    for partition in partitions:
        if run.exists(docs_path(stage_dir, partition)):
            run.delete(docs_path(stage_dir, partition))


@dataclass
class _FileState:
    """An input being read: the partitions its reader has described so far, and its sha256 once read whole."""

    index: int
    location: str
    partitions: list[str] = field(default_factory=list)
    sha256: str | None = None


class _Readers:
    """The prepare phase's task source (`pipeline.runtime.task_map.TaskSource`): one reader per input still to
    read, either streaming (at most one per CPU; each partition it yields and no earlier run finished becomes the
    arguments of one `_prepare` task) or, for a small input while enough inputs wait, a `_read_and_prepare` task
    (at most the tasks in flight). Each input's record is written once it is hashed whole and all its partitions
    are prepared."""

    def __init__(
        self,
        run: RunDirectory,
        stage_dir: str,
        files: list[str],
        identities: list[dict],
        manifest: Manifest,
        eval_ngrams: EvalNgrams | None,
        limit: InFlightLimit,
        progress: Progress,
        done: PrepareResult,
        evaluation_files: frozenset[int],
    ) -> None:
        self.run, self.stage_dir, self.files, self.identities = run, stage_dir, files, identities
        self.evaluation_files = evaluation_files
        self.manifest, self.limit, self.progress, self.done = manifest, limit, progress, done
        self.manifest_ref = ray.put(manifest)
        self.eval_ref = None if eval_ngrams is None else ray.put(eval_ngrams)
        self.queue = [index for index in range(len(files)) if index not in done.file_info]
        self.readers: dict = {}
        self.whole_files: set = set()
        self.states: dict[int, _FileState] = {}
        self.known = sum(len(record.partitions) for record in done.file_info.values())
        self.finished_by_file: dict[int, set[int]] = {}
        for summary in done.summaries.values():
            self.finished_by_file.setdefault(summary.file_index, set()).add(summary.first_line)

    def waitables(self) -> list:
        """The readers running, after starting more while inputs wait and the cluster has CPUs for them."""
        self._start_readers()
        return list(self.readers)

    def _start_readers(self) -> None:
        """Start readers while inputs wait: streams up to one per CPU; whole-file tasks, which take a CPU each, up
        to the tasks in flight (`limit()`), so that on an autoscaling cluster their queue asks for nodes."""
        while self.queue:
            whole = self._whole_file(self.queue[0])
            if len(self.whole_files) >= self.limit() if whole else len(self.readers) >= self.limit.cpus():
                return
            self._start(self.queue.pop(0), whole)

    def _whole_file(self, index: int) -> bool:
        """Whether input `index` (the first waiting) is read and prepared by one task: it is small, and at least
        as many inputs wait as there are CPUs."""
        return self.identities[index]["size"] <= WHOLE_FILE_BYTES and len(self.queue) >= self.limit.cpus()

    def _start(self, index: int, whole: bool) -> None:
        """Start input `index`'s reader, told which of its partitions an earlier run finished: one task reading and
        preparing the whole input (`whole`), else a stream."""
        self.states[index] = _FileState(index, self.files[index])
        finished = frozenset(self.finished_by_file.get(index, ()))
        if whole:
            spec = self._spec(index, 1)
            ref = _read_and_prepare.remote(
                self.run, self.stage_dir, self.files[index], spec, self.manifest_ref, self.eval_ref, finished
            )
            self.readers[ref] = index
            self.whole_files.add(ref)
            return
        generator = read_partitions.options(
            _generator_backpressure_num_objects=READER_AHEAD_OBJECTS, scheduling_strategy="SPREAD"
        ).remote(
            index,
            self.files[index],
            self.manifest.partition_docs,
            self.manifest.partition_bytes,
            self.manifest.read.max_doc_bytes,
            finished,
        )
        self.readers[generator] = index

    def _spec(self, index: int, first_line: int) -> PartitionSpec:
        return PartitionSpec(
            index,
            first_line,
            location_name(self.files[index]),
            self.identities[index],
            index in self.evaluation_files,
        )

    def take(self, reader) -> list[tuple]:
        """Act on a reader's next item: a partition to prepare (its task's arguments), one finished before,
        a damaged line, the file's end; or the reader's own end. A whole-file task's items come all at once."""
        state = self.states[self.readers[reader]]
        if reader in self.whole_files:
            self.whole_files.discard(reader)
            for item in ray.get(reader):
                self._describe(state, item)
                if "summary" in item:
                    self.prepared(0, item["summary"])
            self._reader_done(reader)
            return []
        try:
            item = ray.get(next(reader))
        except StopIteration:
            self._reader_done(reader)
            return []
        spec = self._describe(state, item)
        if spec is None or not item["todo"]:
            return []
        lines_ref = next(reader) if item["kind"] == "chunk" else None
        return [(self.run, self.stage_dir, spec, lines_ref, item.get("damage"), self.manifest_ref, self.eval_ref)]

    def _describe(self, state: _FileState, item: dict) -> PartitionSpec | None:
        """Note a reader's item: the file's end (None), else the partition it describes, logging a damaged line."""
        if item["kind"] == "end":
            self._file_read(state, item)
            return None
        spec = self._spec(state.index, item["first_line"])
        state.partitions.append(spec.partition_id)
        if item["kind"] == "damage":
            damage = item["damage"]
            self.progress.log(
                f"{spec.source}: line {damage.line}: {damage.reason}: {damage.detail}; lines before it are kept"
            )
        return spec

    def _reader_done(self, reader) -> None:
        """A reader ended: start the next, and fix the phase's total once every input has been described."""
        del self.readers[reader]
        self._start_readers()
        if not self.queue and not self.readers:
            self.progress.advance(total=sum(len(s.partitions) for s in self.states.values()) + self.known)

    def _file_read(self, state: _FileState, end: dict) -> None:
        """The reader hashed its input whole: stop if the input changed meanwhile, else note its sha256."""
        if end["changed"]:
            raise UserError(
                f"{location_name(state.location)}: changed while it was being read "
                f"({', '.join(end['changed'])} differ); run again once it stays unchanged"
            )
        state.sha256 = end["sha256"]
        self._close_if_complete(state)

    def prepared(self, _: int, summary: PrepareSummary) -> None:
        """A partition task finished: keep its summary, count it, and close its input if that was the last."""
        self.done.summaries[summary.partition] = summary
        self.progress.advance(docs=summary.lines, nbytes=summary.line_bytes, done=1)
        self._close_if_complete(self.states[summary.file_index])

    def _close_if_complete(self, state: _FileState) -> None:
        """Write the input's record once it is hashed whole and all its partitions are prepared."""
        if state.sha256 is None or any(pid not in self.done.summaries for pid in state.partitions):
            return
        record = InputRecord(
            state.index,
            location_name(state.location),
            self.identities[state.index]["size"],
            state.sha256,
            self.identities[state.index],
            state.partitions,
        )
        self.run.write_json(file_record_path(self.stage_dir, state.index), record.to_json())
        self.done.file_info[state.index] = record


def run_prepare_phase(
    run: RunDirectory,
    stage_dir: str,
    files: list[str],
    manifest: Manifest,
    limit: InFlightLimit,
    progress: Progress,
    eval_ngrams: EvalNgrams | None = None,
    evaluation_files: frozenset[int] = frozenset(),
) -> PrepareResult:
    """Prepare every partition of every file not finished by an earlier run from the same bytes;
    `eval_ngrams` (when decontaminating) is put in the object store once and shared by every task.
    The files whose index is in `evaluation_files` (evaluation splits) are read and normalised only.

    An input whose identity (`pipeline.formats.input_identity`) matches its finished file record is not
    read again; one that changed has its partitions discarded and is read and prepared again.
    """
    identities = [input_identity(location) for location in files]
    summaries, file_info = _finished_work(run, stage_dir, files, identities, progress)
    done = PrepareResult(summaries, file_info, len(summaries), 0)
    readers = _Readers(
        run, stage_dir, files, identities, manifest, eval_ngrams, limit, progress, done, evaluation_files
    )
    progress.start_phase("inputs", "files")
    progress.advance(done=len(files), reused=len(files) - len(readers.queue), total=len(files))
    progress.start_phase("prepare")
    progress.advance(done=done.reused, reused=done.reused, total=None if readers.queue else readers.known)
    if readers.queue:
        run_bounded(_prepare, (), limit, readers.prepared, source=readers)
    progress.finish_phase()
    return PrepareResult(summaries, file_info, done.reused, len(summaries) - done.reused)
