"""Where a finished run keeps what the inspection commands read: manifest, partitions, documents, rejects, texts."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs

from pipeline.errors import UserError
from pipeline.formats.run_directory import RunDirectory
from pipeline.formats.run_layout import (
    CLUSTERS,
    MANIFEST,
    STAGES_DIR,
    docs_path,
    file_record_path,
    parse_partition_id,
    prepare_key,
    rejects_path,
    stage_dir,
    stage_dir_name,
    summary_path,
)
from pipeline.summaries import InputRecord, PrepareSummary
from stages.batch import make_doc_id
from stages.dedup import DedupConfig


@dataclass(frozen=True)
class PartitionInfo:
    """A prepared partition: its name, input file, the doc_id range it covers, and whether it is holdout."""

    name: str
    file_index: int
    first_doc_id: int
    last_doc_id: int
    holdout: bool


class RunFiles:
    """Where a finished run keeps what the inspection commands read; small and picklable for Ray tasks."""

    def __init__(self, run_dir: str) -> None:
        self.run = RunDirectory(run_dir)
        if not self.run.exists(MANIFEST):
            raise UserError(f"{run_dir}: not a finished run directory (no {MANIFEST}); run `pileline run` to make one")
        record = self.run.read_json(MANIFEST)
        if not isinstance(record, dict) or "inputs" not in record or "totals" not in record:
            raise UserError(f"{run_dir}/{MANIFEST}: not a pileline run manifest (no inputs or totals)")
        self.record = record
        self.prepare_dir = _prepare_dir(self.run, record)
        self.partitions = tuple(self._partitions())

    def _partitions(self) -> list[PartitionInfo]:
        out = []
        for index, source in enumerate(self.record["inputs"]):
            info_path = file_record_path(self.prepare_dir, index)
            if not self.run.exists(info_path):
                raise UserError(
                    f"{self.run.location}: {info_path} is missing; the run's intermediate files were removed"
                )
            names = InputRecord.from_json(self.run.read_json(info_path)).partitions
            firsts = [parse_partition_id(name)[1] for name in names]
            lasts = [line - 1 for line in firsts[1:]] + [max(source["lines"], firsts[-1] if firsts else 0)]
            for name, first, last in zip(names, firsts, lasts):
                out.append(
                    PartitionInfo(
                        name, index, make_doc_id(index, first), make_doc_id(index, last), bool(source.get("holdout"))
                    )
                )
        return out

    @property
    def location(self) -> str:
        return self.run.location

    @property
    def manifest(self) -> dict:
        """The resolved run configuration."""
        return self.record["manifest"]

    @cached_property
    def dedup_config(self) -> DedupConfig:
        """The run's dedup settings, typed (parsed once from manifest.json)."""
        from pipeline.manifest import parse_manifest

        return parse_manifest(self.manifest, MANIFEST).dedup

    def signatures(self, texts: list[str] | pa.ChunkedArray) -> np.ndarray:
        """The run's MinHash signatures of `texts` (a finished run keeps none: the dedup phase computes them
        from the prepared texts and drops them, so inspection computes the few it needs the same way)."""
        from stages.minhash import signatures

        return signatures(texts, self.dedup_config)

    def train_partitions(self) -> list[PartitionInfo]:
        return [p for p in self.partitions if not p.holdout]

    def partition_of(self, doc_id: int) -> PartitionInfo:
        """The partition whose doc_id range holds `doc_id` (partitions are in doc_id order)."""
        index = bisect.bisect_right([p.first_doc_id for p in self.partitions], doc_id) - 1
        if index < 0 or doc_id > self.partitions[index].last_doc_id:
            raise UserError(f"{self.location}: no partition holds document {doc_id}")
        return self.partitions[index]

    def docs_path(self, partition: str) -> str:
        return docs_path(self.prepare_dir, partition)

    def rejects_path(self, partition: str) -> str:
        return rejects_path(partition)

    def texts(self, partition: str, doc_ids: list[int], columns: tuple[str, ...] = ("text",)) -> dict[int, dict]:
        """`{doc_id: {column: value}}` for the given documents of one partition (missing ones are left out).

        Reads the partition's `doc_id` and the named columns only, and keeps only the rows asked for.
        """
        if not doc_ids:
            return {}
        table = self.run.read_parquet(self.docs_path(partition), columns=["doc_id", *columns])
        table = table.filter(pc.is_in(table.column("doc_id"), value_set=pa.array(sorted(set(doc_ids)), pa.int64())))
        return {row.pop("doc_id"): row for row in table.to_pylist()}

    def summary(self, partition: str) -> PrepareSummary:
        """The prepare phase's summary of `partition`."""
        return PrepareSummary.from_json(self.run.read_json(summary_path(self.prepare_dir, partition)))

    def optional_json(self, relative: str) -> dict | None:
        return self.run.read_json(relative) if self.run.exists(relative) else None

    def has_clusters(self) -> bool:
        return self.run.exists(CLUSTERS)

    def source_of(self, file_index: int) -> str:
        return self.record["inputs"][file_index]["path"]


def _prepare_dir(run: RunDirectory, record: dict) -> str:
    """The prepare stage directory this run's manifest.json was made from.

    A finished run keeps exactly one; when an interrupted later run left others, the one whose name
    is the hash of this manifest's configuration is taken.
    """
    selector = pafs.FileSelector(run.path(STAGES_DIR), recursive=False, allow_not_found=True)
    infos = run.filesystem.get_file_info(selector)
    prefix = stage_dir_name("prepare", "")
    names = sorted(i.base_name for i in infos if i.type == pafs.FileType.Directory and i.base_name.startswith(prefix))
    if len(names) == 1:
        return f"{STAGES_DIR}/{names[0]}"
    if not names:
        raise UserError(
            f"{run.location}: no {STAGES_DIR}/prepare-* directory; the run's intermediate files were removed"
        )
    from pipeline.manifest import parse_manifest

    inputs = [r["path"] for r in record["inputs"]]
    key = prepare_key(parse_manifest(record["manifest"]), inputs, record.get("eval_sets"))
    if stage_dir_name("prepare", key) in names:
        return stage_dir("prepare", key)
    raise UserError(
        f"{run.location}: several {STAGES_DIR}/prepare-* directories and none matches {MANIFEST}; re-run "
        "`pileline run`"
    )
