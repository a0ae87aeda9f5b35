"""Every name in a run directory: its files and folders, the phase keys of `stages/`, partition ids.

    manifest.json                       resolved manifest, accounting, sha256 of every output
    run.lock                            the run holding the directory now (host, pid, heartbeat)
    stages/<phase>-<key>/               a phase's reusable work; <key> hashes the settings it depends on
        prepare-<key>/<partition>.docs.parquet, <partition>.json, file-NNNNN.json
        dedup-<key>/, tokens-<key>/, layout-<key>/   <step>/<name>.json summaries and their files
    rejects/<partition>.parquet         lines not kept, except duplicates
    dedup/clusters.parquet              near-duplicate clusters
    stats/dedup.json, stats/tokens.json, stats/report.html
    tokens/documents*.{bin,idx,parquet}, sequences-NNNNN.{bin,idx}, sequences.json, training-order.npz
    tokens/mixture-documents*.{bin,idx}  the documents of one pass of a mixture (`shards.mixture` not none)
    tokens/<split>-documents*.{bin,idx,parquet}, <split>-sequences-NNNNN.{bin,idx}, <split>-sequences.json,
        <split>-order.npz               an evaluation split (`splits`), in file order

A partition id is `FFFFF-LLLLLLLLLLLL`: the input file's index and the partition's first line (1-based).
At module level only the hash (`stages.config`) is imported, so the light token reader can use this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from stages.config import stable_hash

if TYPE_CHECKING:
    from pipeline.manifest import Manifest

MANIFEST = "manifest.json"
LOCK_FILE = "run.lock"
"""Present while a run holds the directory (or after a crash): `pipeline.formats.run_lock`."""
STAGES_DIR = "stages"
REJECTS_DIR = "rejects"
DEDUP_DIR = "dedup"
STATS_DIR = "stats"
TOKENS_DIR = "tokens"
OUTPUT_DIRS = (REJECTS_DIR, DEDUP_DIR, STATS_DIR, TOKENS_DIR)
"""Folders holding the run's outputs (listed with sha256 in manifest.json); stale files there are removed."""
CLUSTERS = f"{DEDUP_DIR}/clusters.parquet"
DEDUP_STATS = f"{STATS_DIR}/dedup.json"
TOKEN_STATS = f"{STATS_DIR}/tokens.json"
REPORT = f"{STATS_DIR}/report.html"
"""Written by `pileline report` after a run, about that run: neither an output of the run nor stale."""
SEQUENCES_META = f"{TOKENS_DIR}/sequences.json"
ORDER_FILE = f"{TOKENS_DIR}/training-order.npz"
"""GPT-NeoX's doc_idx, sample_idx, shuffle_idx and the document sizes, as `np.savez` arrays."""
LAYOUT_FORMAT = 2
"""Version of what the documents, order and sequences steps write (2: a table per documents file, sha256
in the step summaries); part of the layout directory's key, so a run laid out by another version of
pileline is laid out again instead of reused with files missing."""
FILE_RECORD_PREFIX = "file-"


def partition_id(file_index: int, first_line: int) -> str:
    """The deterministic name of a partition: `FFFFF-LLLLLLLLLLLL` (file index, first line)."""
    return f"{file_index:05d}-{first_line:012d}"


def parse_partition_id(partition: str) -> tuple[int, int]:
    """(file index, first line) of a partition id made by `partition_id`."""
    file_index, _, first_line = partition.partition("-")
    return int(file_index), int(first_line)


def docs_path(prepare_dir: str, partition: str) -> str:
    """A prepared partition's kept documents (with text hashes when dedup is on)."""
    return f"{prepare_dir}/{partition}.docs.parquet"


def summary_path(prepare_dir: str, partition: str) -> str:
    """A prepared partition's JSON summary, written last: its presence marks the partition finished."""
    return f"{prepare_dir}/{partition}.json"


def file_record_path(prepare_dir: str, file_index: int) -> str:
    """One input file's record (its partitions, size and sha256), written when the file is read through."""
    return f"{prepare_dir}/{FILE_RECORD_PREFIX}{file_index:05d}.json"


def is_file_record(name: str) -> bool:
    """Whether a JSON file name in a prepare directory is a file record rather than a partition summary."""
    return name.startswith(FILE_RECORD_PREFIX)


def rejects_path(partition: str) -> str:
    return f"{REJECTS_DIR}/{partition}.parquet"


def tokens_path(name: str) -> str:
    """A file (or `.bin/.idx` prefix) under `tokens/`."""
    return f"{TOKENS_DIR}/{name}"


def in_split(split: str | None, name: str) -> str:
    """A token file's name for the training data (`split` None) or for evaluation split `split` (`valid-…`)."""
    return name if split is None else f"{split}-{name}"


def documents_file(index: int, count: int, split: str | None = None) -> str:
    """The name (under `tokens/`, without suffix) of documents file `index` of `count`: split only when several."""
    return in_split(split, "documents" if count == 1 else f"documents-{index:05d}")


def mixture_documents_file(documents: str) -> str:
    """The name of the mixture's documents file cut from documents file `documents` (its documents repeated)."""
    return f"mixture-{documents}"


def sequences_file(index: int, split: str | None = None) -> str:
    """The name (under `tokens/`, without suffix) of sequence shard `index`."""
    return in_split(split, f"sequences-{index:05d}")


def sequences_meta(split: str | None = None) -> str:
    """`tokens/sequences.json`, or a split's `tokens/<split>-sequences.json`."""
    return SEQUENCES_META if split is None else tokens_path(in_split(split, "sequences.json"))


def order_file(split: str | None = None) -> str:
    """`tokens/training-order.npz`, or a split's file order `tokens/<split>-order.npz` (same arrays)."""
    return ORDER_FILE if split is None else tokens_path(in_split(split, "order.npz"))


def stage_dir_name(phase: str, key: str) -> str:
    return f"{phase}-{key}"


def name_in_stages(path: str) -> str:
    """The name under `stages/` of a stage directory given by its run-relative path."""
    return path.removeprefix(f"{STAGES_DIR}/")


def stage_dir(phase: str, key: str) -> str:
    """Where a phase keeps its reusable work: `stages/<phase>-<key>`."""
    return f"{STAGES_DIR}/{stage_dir_name(phase, key)}"


def dedup_work_dir(dedup_dir: str, buckets: int) -> str:
    """The dedup phase's work directory: its stage directory plus the bucket count K its files are routed by."""
    return f"{dedup_dir}-k{buckets}"


@dataclass(frozen=True)
class PhaseKeys:
    """The key of each phase's stage directory: a hash of the settings its work depends on, chained."""

    prepare: str
    dedup: str
    tokens: str
    layout: str

    def dir(self, phase: str) -> str:
        return stage_dir(phase, getattr(self, phase))


def prepare_key(manifest: Manifest, files: list[str], eval_sets: dict | None = None) -> str:
    """The configuration the prepare phase's partitions depend on (inputs by name, without URI queries;
    eval sets, when decontaminating, by their files' sha256: `pipeline.phases.eval_sets.EvalSets.identity`)."""
    from pipeline.formats.filesystems import location_name
    from stages.exact_copies import TEXT_HASH_BYTES
    from stages.filter import needs_tokenizer

    dedup = manifest.dedup
    payload = {
        "inputs": [location_name(location) for location in files],
        "partition_docs": manifest.partition_docs,
        "partition_bytes": manifest.partition_bytes,
        "read": manifest.read.model_dump(mode="json"),
        "normalize": manifest.normalize.model_dump(mode="json"),
        "filter": manifest.filter.model_dump(mode="json"),
        "text_hash": dedup.enabled and TEXT_HASH_BYTES,
        "tokenize": needs_tokenizer(manifest.filter) and manifest.tokenize.ids_settings(),
    }
    if splits := manifest.splits.named():
        payload["splits"] = splits
    if manifest.decontaminate.enabled:
        config = manifest.decontaminate.model_dump(mode="json", exclude={"sets"})
        sha256 = {name: [f["sha256"] for f in files_of_set] for name, files_of_set in (eval_sets or {}).items()}
        payload["decontaminate"] = {**config, "sets": sha256}
    return stable_hash(payload)


def phase_keys(
    manifest: Manifest, files: list[str], input_sha256: list[str], eval_sets: dict | None = None
) -> PhaseKeys:
    """Every phase's key: each hashes its own settings and the key of the phase it reads from. The
    phases after prepare also hash every input's sha256, so changed bytes in any input redo them."""
    prepare = prepare_key(manifest, files, eval_sets)
    inputs = stable_hash([prepare, input_sha256])
    dedup = stable_hash([inputs, manifest.dedup.model_dump(mode="json")]) if manifest.dedup.enabled else inputs
    tokens = stable_hash([dedup, manifest.tokenize.ids_settings()])
    layout = stable_hash([tokens, manifest.shards.model_dump(mode="json"), manifest.seed, LAYOUT_FORMAT])
    return PhaseKeys(prepare, dedup, tokens, layout)
