"""The numbers of a finished run, gathered from its files into one dict (what `pileline stats --json` prints).

`gather_stats` reads small files only: `manifest.json` (accounting per input), the prepare
partitions' JSON summaries (per-subset counts and bytes, filter drops), `stats/dedup.json` and
`stats/tokens.json`; no document text, so `stats` is quick on a run of the full Pile. `RunFiles`
also locates what the report and `clusters` read per partition (documents, rejects, texts).

Keys of the result:
    run         the run directory, pileline version, seed and filter preset
    documents   input lines → kept / filtered / duplicates / contaminated / rejected (train files),
                `holdout` (the dedup holdout files), and `by_set` (per `pile_set_name`: documents and
                bytes in, after filters, after dedup, and the duplicate rate)
    filters     per filter: documents dropped, in total and per subset
    dedup       `params` (with bands, rows, theoretical false positive/negative), candidate pairs,
                edges, components, `by_set`, `cross_set` {removed subset: {kept subset: n}},
                `cluster_sizes` {size: count} and `cluster_size_summary`
    tokens      `stats/tokens.json` with `available`; before = after filters, after = after dedup
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs

from pipeline.errors import UserError
from pipeline.prepare import REJECTS_DIR
from pipeline.run_directory import RunDirectory
from stages.batch import make_doc_id

MANIFEST = "manifest.json"
DEDUP_STATS = "stats/dedup.json"
TOKEN_STATS = "stats/tokens.json"
CLUSTERS = "dedup/clusters.parquet"
STAGES_DIR = "stages"


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
            info_path = f"{self.prepare_dir}/file-{index:05d}.json"
            if not self.run.exists(info_path):
                raise UserError(f"{self.run.location}: {info_path} is missing; the run's intermediate files were removed")
            names = self.run.read_json(info_path)["partitions"]
            firsts = [int(name.split("-")[1]) for name in names]
            lasts = [line - 1 for line in firsts[1:]] + [max(source["lines"], firsts[-1] if firsts else 0)]
            for name, first, last in zip(names, firsts, lasts):
                out.append(PartitionInfo(name, index, make_doc_id(index, first), make_doc_id(index, last), bool(source.get("holdout"))))
        return out

    @property
    def location(self) -> str:
        return self.run.location

    @property
    def manifest(self) -> dict:
        """The resolved run configuration."""
        return self.record["manifest"]

    def train_partitions(self) -> list[PartitionInfo]:
        return [p for p in self.partitions if not p.holdout]

    def partition_of(self, doc_id: int) -> PartitionInfo:
        """The partition whose doc_id range holds `doc_id` (partitions are in doc_id order)."""
        index = bisect.bisect_right([p.first_doc_id for p in self.partitions], doc_id) - 1
        if index < 0 or doc_id > self.partitions[index].last_doc_id:
            raise UserError(f"{self.location}: no partition holds document {doc_id}")
        return self.partitions[index]

    def docs_path(self, partition: str) -> str:
        return f"{self.prepare_dir}/{partition}.docs.parquet"

    def rejects_path(self, partition: str) -> str:
        return f"{REJECTS_DIR}/{partition}.parquet"

    def texts(self, partition: str, doc_ids: list[int], columns: tuple[str, ...] = ("text",)) -> dict[int, dict]:
        """`{doc_id: {column: value}}` for the given documents of one partition (missing ones are left out).

        Reads the partition's `doc_id` and the named columns only, and keeps only the rows asked for.
        """
        if not doc_ids:
            return {}
        table = self.run.read_parquet(self.docs_path(partition), columns=["doc_id", *columns])
        table = table.filter(pc.is_in(table.column("doc_id"), value_set=pa.array(sorted(set(doc_ids)), pa.int64())))
        return {row.pop("doc_id"): row for row in table.to_pylist()}

    def summary(self, partition: str) -> dict:
        return self.run.read_json(f"{self.prepare_dir}/{partition}.json")

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
    names = sorted(i.base_name for i in infos if i.type == pafs.FileType.Directory and i.base_name.startswith("prepare-"))
    if len(names) == 1:
        return f"{STAGES_DIR}/{names[0]}"
    if not names:
        raise UserError(f"{run.location}: no {STAGES_DIR}/prepare-* directory; the run's intermediate files were removed")
    from pipeline.manifest import parse_manifest
    from pipeline.runner import prepare_hash

    expected = f"prepare-{prepare_hash(parse_manifest(record['manifest']), [r['path'] for r in record['inputs']])}"
    if expected in names:
        return f"{STAGES_DIR}/{expected}"
    raise UserError(f"{run.location}: several {STAGES_DIR}/prepare-* directories and none matches manifest.json; re-run `pileline run`")


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _set_counts(files: RunFiles) -> tuple[dict[str, Counter], dict[str, Counter]]:
    """Per subset (train partitions): docs/bytes in and after filters; per filter: drops per subset."""
    by_set: dict[str, Counter] = {}
    filters: dict[str, Counter] = {}
    for part in files.train_partitions():
        for name, counts in files.summary(part.name)["by_set"].items():
            by_set.setdefault(name, Counter()).update(counts)
            for key, n in counts.items():
                if key.startswith("filter:"):
                    filters.setdefault(key.removeprefix("filter:"), Counter())[name] += n
    return by_set, filters


def cluster_size_summary(cluster_sizes: dict[str, int]) -> dict:
    """Components, documents in them, largest, mean, median, 90th and 99th percentile size (by component)."""
    sizes = sorted((int(size), count) for size, count in cluster_sizes.items() if count)
    components = sum(count for _, count in sizes)
    documents = sum(size * count for size, count in sizes)

    def quantile(q: float) -> int | None:
        if not components:
            return None
        rank = max(1, math.ceil(q * components))
        seen = 0
        for size, count in sizes:
            seen += count
            if seen >= rank:
                return size
        return sizes[-1][0]

    return {
        "components": components,
        "documents": documents,
        "largest": sizes[-1][0] if sizes else None,
        "mean": documents / components if components else None,
        "median": quantile(0.5),
        "p90": quantile(0.9),
        "p99": quantile(0.99),
    }


def _dedup_section(files: RunFiles) -> dict:
    stats = files.optional_json(DEDUP_STATS)
    if stats is None:
        return {"enabled": False, "params": {}, "by_set": {}, "cross_set": {}, "cluster_sizes": {}, "cluster_size_summary": cluster_size_summary({})}
    by_set = {
        name: {**counts, "dup_rate": _rate(counts["duplicates"] + counts["contaminated"], counts["documents"])}
        for name, counts in stats["by_set"].items()
    }
    documents = sum(c["documents"] for c in stats["by_set"].values())
    return {
        "enabled": True,
        **stats,
        "documents": documents,
        "dup_rate": _rate(stats["duplicates"] + stats["contaminated"], documents),
        "by_set": by_set,
        "cluster_size_summary": cluster_size_summary(stats["cluster_sizes"]),
    }


def _tokens_section(files: RunFiles) -> dict:
    stats = files.optional_json(TOKEN_STATS)
    if stats is None:
        return {"available": False, "tokenizer": None, "append_eod": None, "documents": None, "tokens": None, "by_set": {}}
    return {"available": True, **stats}


def gather_stats(run_dir: str | RunFiles) -> dict:
    """Every number of `pileline stats` for the run at `run_dir`, as one JSON-ready dict (see the module doc)."""
    files = run_dir if isinstance(run_dir, RunFiles) else RunFiles(run_dir)
    record = files.record
    totals = record["totals"]
    holdout = record.get("holdout_totals") or {"files": 0, "lines": 0, "kept": 0}
    set_counts, filter_counts = _set_counts(files)
    dedup = _dedup_section(files)
    tokens = _tokens_section(files)

    by_set = {}
    for name in sorted(set(set_counts) | set(dedup["by_set"])):
        counts = set_counts.get(name, Counter())
        removed = dedup["by_set"].get(name, {})
        duplicates, contaminated = removed.get("duplicates", 0), removed.get("contaminated", 0)
        after_filters = counts["kept"]
        by_set[name] = {
            "documents_in": counts["docs"],
            "bytes_in": counts["docs_bytes"],
            "filtered": counts["docs"] - counts["kept"],
            "documents_after_filters": after_filters,
            "bytes_after_filters": counts["kept_bytes"],
            "duplicates": duplicates,
            "exact_duplicates": removed.get("exact", 0),
            "near_duplicates": removed.get("near", 0),
            "contaminated": contaminated,
            "dup_rate": _rate(duplicates + contaminated, after_filters),
            "documents_out": after_filters - duplicates - contaminated,
            "bytes_out": counts["kept_bytes"] - removed.get("duplicates_bytes", 0) - removed.get("contaminated_bytes", 0),
        }
    filtered = sum(totals["filtered"].values())
    rejected = sum(totals["rejected"].values())
    documents = {
        "files": totals["files"],
        "in": totals["lines"],
        "kept": totals["kept"],
        "filtered": filtered,
        "duplicates": totals["duplicates"],
        "exact_duplicates": dedup.get("exact", {}).get("documents", 0),
        "near_duplicates": dedup.get("near", {}).get("documents", 0),
        "contaminated": totals["contaminated"],
        "rejected": rejected,
        "rejected_by_reason": dict(totals["rejected"]),
        "bytes_in": sum(c["bytes_in"] for c in by_set.values()),
        "bytes_out": sum(c["bytes_out"] for c in by_set.values()),
        "holdout": {"files": holdout["files"], "in": holdout["lines"], "kept": holdout["kept"]},
        "by_set": by_set,
    }
    filters = {
        name: {"documents": totals["filtered"].get(name, 0), "by_set": dict(sorted(filter_counts.get(name, Counter()).items()))}
        for name in sorted(set(totals["filtered"]) | set(filter_counts))
    }
    run = {
        "dir": files.location,
        "pileline": record.get("pileline"),
        "seed": files.manifest.get("seed"),
        "filter_preset": files.manifest.get("filter", {}).get("preset"),
    }
    return {"run": run, "documents": documents, "filters": filters, "dedup": dedup, "tokens": tokens}


def _percent(part: int, whole: int) -> str:
    return f"{100 * _rate(part, whole):.1f}%"


def describe_dedup_params(params: dict) -> str:
    """One line: keep rule, shingles, permutations, threshold, banding and its theoretical recall and error rates."""
    mode = params.get("mode", "components")
    rule = "threshold-true" if mode == "threshold" else "connected components"
    recall = f"recall at the threshold {100 * params['recall_at_threshold']:.1f}%, " if "recall_at_threshold" in params else ""
    return (
        f"{rule}, {params['shingle']} {params['ngram']}-grams, {params['num_perm']} permutations, threshold {params['threshold']}, "
        f"{params['bands']} bands × {params['rows']} rows ({params['banding']}; theoretical {recall}FP {params['false_positive']:.4f}, "
        f"FN {params['false_negative']:.4f})"
    )


def giant_component_warnings(dedup: dict) -> list[str]:
    """One line per component (before splitting) larger than `dedup.warn_component_size`: over-merging to look at."""
    limit = dedup.get("params", {}).get("warn_component_size")
    if limit is None:
        return []
    return [
        f"warning: dedup component {c['component_id']} has {c['size']:,} members (over {limit:,}); "
        f"{c['kept']:,} kept after the keep rule — see `pileline clusters RUN --cluster {c['component_id']}`"
        for c in dedup.get("largest_components", [])
        if c["size"] > limit
    ]


def summary_text(run_dir: str) -> str:
    """A short, plain-text summary of a finished run: the lines the demo prints at its end."""
    stats = gather_stats(run_dir)
    d = stats["documents"]
    first = (
        f"stats: {d['in']:,} documents in {d['files']} files → {d['kept']:,} kept ({_percent(d['kept'], d['in'])}); "
        f"removed {d['filtered']:,} by filters, {d['duplicates']:,} as duplicates ({d['exact_duplicates']:,} exact copies, "
        f"{d['near_duplicates']:,} near), {d['contaminated']:,} as copies of holdout, "
        f"{d['rejected']:,} rejected"
    )
    lines = [first]
    dedup = stats["dedup"]
    if dedup["enabled"]:
        sizes = dedup["cluster_size_summary"]
        lines.append(f"dedup: {describe_dedup_params(dedup['params'])}")
        removed = _percent(dedup["duplicates"] + dedup["contaminated"], dedup["documents"])
        lines.append(
            f"dedup: {dedup['candidate_pairs']:,} candidate pairs → {sizes['components']:,} clusters holding {sizes['documents']:,} "
            f"documents (largest {sizes['largest'] or 0:,}); {removed} of the documents that passed the filters removed"
        )
        worst = sorted(
            ((c["dup_rate"], name) for name, c in d["by_set"].items() if c["duplicates"] + c["contaminated"]), reverse=True
        )[:5]
        if worst:
            lines.append("dedup: highest duplicate rates: " + ", ".join(f"{name} {100 * rate:.1f}%" for rate, name in worst))
    else:
        lines.append("dedup: not run")
    tokens = stats["tokens"]
    if tokens["available"]:
        before = sum(c.get("tokens_before", 0) for c in tokens["by_set"].values())
        lines.append(f"tokens: {tokens['tokens']:,} {tokens['tokenizer']} tokens in {tokens['documents']:,} documents ({before:,} before dedup)")
    else:
        lines.append("tokens: n/a (no stats/tokens.json)")
    return "\n".join(lines)
