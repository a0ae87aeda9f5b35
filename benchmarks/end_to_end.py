"""End to end: pileline's whole pipeline against datatrove doing the same job, same corpus, same CPU count.

    python benchmarks/end_to_end.py [--corpus DIR | --megabytes 110 | --sample [--docs N]]
        [--dedup threshold-true|datatrove] [--cpus 1] [--pin] [--runs 3] [--datatrove-runs 2]
        [--datatrove-python PATH] [--work DIR]

The corpus: by default the real-text corpus of `benchmarks/real_text.py` (`--megabytes`, 110 MB: manual
pages, package documentation, licences, Perl's pod books, Python sources and docs, with planted copies),
written anew under the work directory; its sha256 is printed with the figures (its contents depend on the
packages installed). `--sample` writes the generated sample instead (~100 MB, 28,000 documents, or --docs);
`--corpus DIR` takes any Pile-layout directory.

The job (`--dedup threshold-true`, the default): read `train/*.jsonl.zst` → ftfy (every fix, NFC) → the
`cerebras` filter preset (empty documents only) → `manifests/demo.yaml`'s dedup, the `threshold-true`
preset (word 5-grams, 128 permutations, Jaccard 0.87, recall banding, exact verification, every removed
document within the threshold of its kept copy) → GPT-2 ids with "<|endoftext|>" after every document →
Megatron `.bin/.idx` and the demo's training sequences; datatrove does the same stages as it comes (no
length filter, its default MinHash: 5-grams, 14 buckets × 8 hashes, connected components).
`--dedup datatrove` is the earlier job: SlimPajama's length filter on both sides and pileline with
datatrove's banding (14 bands × 8 rows at `--threshold`, default 0.8, connected components, no
verification). pileline runs it with
`pipeline.phases.runner.run_manifest` on an embedded Ray of `--cpus` CPUs (`benchmarks/pileline_job.py`);
datatrove 0.10.1 runs it with its own steps and `--cpus` workers (`benchmarks/datatrove_job.py`) in
its own venv, since it pins `xxhash<4`:

    python3 -m venv /work/venv-datatrove
    /work/venv-datatrove/bin/pip install "datatrove[processing]==0.10.1" spacy orjson zstandard

Both read the same files; datatrove's GPT-2 tokenizer is a `tokenizer.json` built here from the
original GPT-2 files pileline uses (no hub access). Each side is one command, measured with all its
processes (`process_tree.run_measured`): wall time, CPU seconds, peak summed RSS. Each side runs `--runs` /
`--datatrove-runs` times (default 3 and 2, alternating, each from an empty output directory); the table
gives every run's wall and CPU seconds and the ratios of the medians, which the shared machine's noise moves
least. Per-core figures
divide by wall × `--cpus`; "MB per CPU-s" divides by the CPU seconds of all the side's processes
instead: the steadier number on a shared machine, and the fairer one, since pileline's file readers
(Ray tasks of 0 CPUs) and Ray's own processes run beside its `--cpus` workers. `--pin` confines each
side, every process it starts included, to the same `--cpus` cores: then wall time is the whole cost.
pileline's side runs in this script's interpreter: run it from a default install (`pip install -e .`) to
measure what users run; with pandas installed (the test extras bring it), pyarrow imports it in every Ray
process (~0.25 s each).

Then both outputs are compared, and the script exits 1 unless (a) the same documents pass the filter
on both sides and (b) every document both sides keep gets identical token ids (but those spelling
"<|endoftext|>", which datatrove's tokenizer reads as the special token: see `identity_problems`). Dedup quality against
the corpus's `ground_truth.jsonl`: recall = planted duplicates removed / removable (all but one
member of each planted group, among the documents that pass the filter; for a ground truth that records exact
Jaccard, as the real-text corpus's does, the groups of members joined by a Jaccard ≥ the threshold);
precision = removed documents whose cluster's kept copy has exact word-5-gram Jaccard ≥ threshold − 0.1 with
them (raw texts).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import orjson
import pyarrow.parquet as pq
import zstandard
from corpus import Key, corpus_dir, corpus_sha256, duplicate_groups, read_documents, text_megabytes, train_files
from process_tree import Measured, run_measured
from real_text import DEFAULT_MEGABYTES, write_real_text_corpus

from pipeline.formats.indexed_dataset import IndexedDataset
from pipeline.phases.runner import package_versions
from stages.minhash import exact_jaccard
from stages.tokenize import ENDOFTEXT, gpt2_files

BENCHMARKS_DIR = Path(__file__).resolve().parent
DATATROVE_PYTHON = Path("/work/venv-datatrove/bin/python")
BANDS, ROWS = 14, 8
"""datatrove's default MinhashConfig: 14 buckets of 8 hashes (112 permutations)."""
THRESHOLD_TRUE = 0.87
"""The `threshold-true` dedup preset's Jaccard threshold."""
SLIMPAJAMA_MIN_CHARS = 200
PRECISION_MARGIN = 0.1
"""A removal counts as precise when its kept copy's exact Jaccard is at least threshold − this."""


@dataclass
class Outcome:
    """What one side did to the corpus, keyed by (file, line)."""

    survivors: set[Key]
    """Documents that passed the filter."""
    removed: dict[Key, Key]
    """Each document removed as a duplicate → the copy its cluster kept."""
    tokens: dict[Key, np.ndarray]
    """Each document in the token output → its ids, end-of-document id included."""


def gpt2_tokenizer_json(path: Path) -> Path:
    """A Hugging Face `tokenizer.json` for GPT-2 from the original encoder.json / vocab.bpe pileline ships."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    encoder, merges = gpt2_files()
    tokenizer = Tokenizer(models.BPE.from_file(str(encoder), str(merges)))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens([ENDOFTEXT])
    tokenizer.save(str(path))
    return path


def pileline_manifest(
    corpus: Path, output: Path, cpus: int, partition_docs: int, dedup: str, threshold: float
) -> dict:
    """The manifest of the job (JSON is YAML), train files only, no holdout: with `dedup` "threshold-true" the
    demo's settings but the `cerebras` filter; with "datatrove" SlimPajama's filter and datatrove's banding."""
    manifest = {
        "inputs": [str(corpus / "train" / "*.jsonl.zst")],
        "output": str(output),
        "partition_docs": partition_docs,
        "ray": {"num_cpus": cpus},
        "normalize": {"enabled": True, "normalization": "NFC"},
        "tokenize": {"tokenizer": "gpt2", "append_eod": True},
    }
    if dedup == "threshold-true":
        demo = {"dedup": {"enabled": True, "preset": "threshold-true"}, "shards": {"seq_len": 2048, "global_batch": 16}}
        return {**manifest, "filter": {"preset": "cerebras"}, **demo}
    banding = {"shingle": "word", "ngram": 5, "num_perm": BANDS * ROWS, "bands": BANDS, "rows": ROWS}
    return {
        **manifest,
        "filter": {"preset": "slimpajama"},
        "dedup": {"enabled": True, "threshold": threshold, **banding},
    }


def run_side(name: str, command: list[str], work: Path, env: dict[str, str], cores: set[int] | None = None) -> Measured:
    """Run one side's job with its output in work/<name>.log; exit with the log's tail if it fails.
    With `cores`, the job and every process it starts (Ray's included) may run on those cores only."""
    log = work / f"{name}.log"
    print(f"running {name} …", file=sys.stderr, flush=True)
    pin = (lambda: os.sched_setaffinity(0, cores)) if cores else None
    with open(log, "wb") as out:
        measured = run_measured(command, stdout=out, stderr=out, cwd=work, env=env, preexec_fn=pin)
    if measured.returncode != 0:
        tail = log.read_text(errors="replace").splitlines()[-30:]
        sys.exit(f"{name} failed (exit {measured.returncode}); end of {log}:\n" + "\n".join(tail))
    return measured


def median_run(runs: list[Measured]) -> Measured:
    """One side's runs as one: median wall and CPU seconds (each on its own), the largest peak RSS."""
    return replace(
        runs[0],
        wall=statistics.median(m.wall for m in runs),
        cpu=statistics.median(m.cpu for m in runs),
        peak_rss=max(m.peak_rss for m in runs),
    )


def run_pileline(
    manifest: dict, work: Path, env: dict[str, str], cores: set[int] | None = None, memory: bool = False
) -> tuple[Measured, dict]:
    """Run `manifest` with `pileline_job.py` (on `cores` only, if given): its cost and its timings (phases,
    run_seconds, totals, and with `memory` the peak memory of each phase)."""
    path = work / "pileline-manifest.yaml"
    path.write_bytes(orjson.dumps(manifest))
    timings = work / "pileline-timings.json"
    # A Ray temp dir of its own, removed afterwards with the session logs Ray leaves there.
    ray_tmp = tempfile.mkdtemp(prefix="plb-", dir="/tmp")
    try:
        command = [sys.executable, "-P", str(BENCHMARKS_DIR / "pileline_job.py"), *(["--memory"] if memory else [])]
        command += [str(path), str(timings)]
        measured = run_side("pileline", command, work, {**env, "RAY_TMPDIR": ray_tmp}, cores)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    return measured, orjson.loads(timings.read_bytes())


def pileline_outcome(run: Path, corpus: Path, all_keys: set[Key]) -> Outcome:
    """Filter survivors from rejects/, removals from dedup/clusters.parquet, ids from tokens/."""

    def keys(table) -> list[Key]:
        sources = [Path(s).relative_to(corpus).as_posix() for s in table.column("source").to_pylist()]
        return list(zip(sources, table.column("line").to_pylist()))

    rejected = set()
    for path in sorted((run / "rejects").glob("*.parquet")):
        rejected.update(keys(pq.read_table(path, columns=["source", "line"])))
    clusters = pq.read_table(run / "dedup" / "clusters.parquet", columns=["source", "line", "cluster_id", "kept"])
    members = keys(clusters)
    cluster_ids = clusters.column("cluster_id").to_pylist()
    kept_flags = clusters.column("kept").to_pylist()
    kept_of = {c: key for key, c, kept in zip(members, cluster_ids, kept_flags) if kept}
    removed = {key: kept_of[c] for key, c, kept in zip(members, cluster_ids, kept_flags) if not kept}
    tables = sorted((run / "tokens").glob("documents*.parquet"))
    documents = pq.read_table(tables, columns=["source", "line", "file", "item"])
    shards: dict[str, IndexedDataset] = {}
    tokens = {}
    for key, file, item in zip(
        keys(documents), documents.column("file").to_pylist(), documents.column("item").to_pylist()
    ):
        shard = shards.get(file) or shards.setdefault(file, IndexedDataset(run / "tokens" / file))
        tokens[key] = shard[item]
    return Outcome(all_keys - rejected, removed, tokens)


def datatrove_outcome(work: Path, prefix: str) -> Outcome:
    """From datatrove's cleaned/ (ids of the documents that passed the filter, per task), remove/ (per task:
    indices removed, and (index, cluster id) of every clustered document) and tokens/ (per task, the kept ones)."""
    survivors: set[Key] = set()
    cluster_of: dict[Key, int] = {}
    gone: set[Key] = set()
    tokens: dict[Key, np.ndarray] = {}
    for cleaned in sorted((work / "cleaned").glob("*.jsonl.zst")):
        rank = int(cleaned.name.split(".")[0])
        with open(cleaned, "rb") as stream:
            lines = zstandard.ZstdDecompressor().stream_reader(stream).read().splitlines()
        ids = [orjson.loads(line)["id"].rsplit("/", 1) for line in lines if line.strip()]
        keys = [(f"{prefix}/{name}", int(index) + 1) for name, index in ids]
        survivors.update(keys)
        remove_file = work / "remove" / f"{rank:06d}.remove"
        removed_here = set(np.fromfile(remove_file, dtype="<u4").tolist()) if remove_file.exists() else set()
        gone.update(keys[index] for index in removed_here)
        cluster_file = work / "remove" / f"{rank:06d}.clusters"
        if cluster_file.exists():
            for index, cluster in np.fromfile(cluster_file, dtype="<u4").reshape(-1, 2).tolist():
                cluster_of[keys[index]] = cluster
        kept_keys = [key for index, key in enumerate(keys) if index not in removed_here]
        prefix_path = work / "tokens" / f"{rank:05d}_tokens"
        if kept_keys:
            shard = IndexedDataset(prefix_path)
            if len(shard) != len(kept_keys):
                sys.exit(f"{prefix_path}: {len(shard)} documents, but {len(kept_keys)} kept in task {rank}")
            tokens.update((key, shard[i]) for i, key in enumerate(kept_keys))
    kept_of = {cluster: key for key, cluster in cluster_of.items() if key not in gone}
    removed = {key: kept_of[cluster_of[key]] for key in gone}
    return Outcome(survivors, removed, tokens)


@dataclass(frozen=True)
class Quality:
    """Counts behind recall and precision: removals, removable planted copies, those found, precise removals,
    and removals of documents in no planted group."""

    removed: int
    removable: int
    found: int
    precise: int
    unplanted: int

    @property
    def recall(self) -> float:
        return self.found / self.removable if self.removable else float("nan")

    @property
    def precision(self) -> float:
        return self.precise / self.removed if self.removed else float("nan")


def dedup_quality(outcome: Outcome, groups: list[list[Key]], texts: dict[Key, str], threshold: float) -> Quality:
    """Recall against the planted groups and Jaccard precision of the removals (see the module docstring)."""
    removable = found = 0
    planted = set()
    for members in groups:
        present = [m for m in members if m in outcome.survivors]
        planted.update(present)
        if len(present) > 1:
            removable += len(present) - 1
            found += min(sum(m in outcome.removed for m in present), len(present) - 1)
    cut = threshold - PRECISION_MARGIN
    precise = sum(exact_jaccard(texts[doc], texts[kept], "word", 5) >= cut for doc, kept in outcome.removed.items())
    unplanted = sum(doc not in planted for doc in outcome.removed)
    return Quality(len(outcome.removed), removable, found, precise, unplanted)


def identity_problems(ours: Outcome, theirs: Outcome, texts: dict[Key, str]) -> list[str]:
    """Where the two sides' outputs differ although both did the same work: filter survivors, shared documents' ids.

    A document whose text spells "<|endoftext|>" is left out of the token comparison: pileline encodes the text as
    written (as tiktoken's `encode_ordinary` does), datatrove's tokenizer.json maps the string to the special id
    50256 (documentation of tokenizers in the real-text corpus spells it)."""
    problems = []
    if ours.survivors != theirs.survivors:
        only_ours, only_theirs = ours.survivors - theirs.survivors, theirs.survivors - ours.survivors
        problems.append(
            f"filter: {len(only_ours)} documents pass only in pileline (e.g. {sorted(only_ours)[:3]}), "
            f"{len(only_theirs)} only in datatrove (e.g. {sorted(only_theirs)[:3]})"
        )
    both = sorted(ours.tokens.keys() & theirs.tokens.keys())
    shared = [key for key in both if ENDOFTEXT not in texts[key]]
    differ = [key for key in shared if not np.array_equal(ours.tokens[key], theirs.tokens[key])]
    if differ:
        problems.append(f"tokens: {len(differ)} of {len(shared)} documents both kept differ (e.g. {differ[:3]})")
    print(
        f"identity: filter survivors {len(ours.survivors)} vs {len(theirs.survivors)}; "
        f"token ids compared on {len(shared)} documents both kept, {len(differ)} differ "
        f"({len(both) - len(shared)} spelling {ENDOFTEXT} left out)",
        file=sys.stderr,
    )
    return problems


def print_throughput(rows: list[tuple[str, list[Measured]]], megabytes: float, docs: int, cpus: int) -> None:
    """The medians of each side's runs and their ratios, then every run's wall and CPU seconds."""
    print(f"\n### Throughput ({cpus} CPU{'s' if cpus > 1 else ''}, {megabytes:.1f} MB, {docs:,} documents)\n")
    print("Medians of " + " and ".join(f"{len(runs)} {name} run{'s' if len(runs) > 1 else ''}" for name, runs in rows))
    for name, runs in rows:
        walls = ", ".join(f"{m.wall:.1f}" for m in runs)
        cpus_used = ", ".join(f"{m.cpu:.1f}" for m in runs)
        print(f"- {name}: wall s {walls}; CPU s {cpus_used}")
    print()
    medians = [(name, median_run(runs)) for name, runs in rows]
    base = dict(medians).get("datatrove")
    print(
        "| peer | wall s | CPU s | MB/s per core | docs/s per core | MB per CPU-s | peak RSS | × datatrove (wall) | "
        "× datatrove (CPU) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, m in medians:
        ratio_wall = f"{base.wall / m.wall:.1f}×" if base else "—"
        ratio_cpu = f"{base.cpu / m.cpu:.1f}×" if base else "—"
        print(
            f"| {name} | {m.wall:.1f} | {m.cpu:.1f} | {megabytes / (m.wall * cpus):.2f} | "
            f"{docs / (m.wall * cpus):,.0f} | "
            f"{megabytes / m.cpu:.2f} | {m.peak_rss / 2**20:,.0f} MB | {ratio_wall} | {ratio_cpu} |"
        )


def print_quality(rows: list[tuple[str, Quality]], threshold: float) -> None:
    print(
        "\n### Dedup quality (planted groups; precise = kept copy's exact Jaccard ≥ "
        f"{threshold - PRECISION_MARGIN:.2f})\n"
    )
    print(
        "| peer | removed | removable (planted) | planted removed | recall | precise | precision | removed outside "
        "planted groups |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, q in rows:
        print(
            f"| {name} | {q.removed} | {q.removable} | {q.found} | {q.recall:.3f} | {q.precise} | {q.precision:.3f} "
            f"| {q.unplanted} |"
        )


def print_phases(
    name: str, seconds: dict[str, float], wall: float, inside: float, outside: str, title: str = "wall time per phase"
) -> None:
    """Phase wall times and shares of the command's wall time; `inside` is the time the job itself measured."""
    print(f"\n### {name}: {title} (of {wall:.1f} s for the whole command)\n")
    print("| phase | s | share |")
    print("|---|---:|---:|")
    for phase, value in seconds.items():
        print(f"| {phase} | {value:.2f} | {value / wall:.1%} |")
    between = inside - sum(seconds.values())
    print(f"| {outside} | {between:.2f} | {between / wall:.1%} |")
    print(f"| (interpreter start, imports, exit) | {wall - inside:.2f} | {(wall - inside) / wall:.1%} |")


def datatrove_steps(work: Path) -> dict[str, float]:
    """Seconds per datatrove step, summed over tasks, from each stage's `logs/<stage>/stats.json`.

    A step's timer covers its own work on each document, except MinhashDedupSignature's, which covers
    its whole loop and so also the steps that feed it; their time is taken out of it here.
    """
    steps: Counter = Counter()
    for stage in ("signatures", "buckets", "cluster", "tokens"):
        entries = orjson.loads((work / "logs" / stage / "stats.json").read_bytes())
        names = [" ".join(entry["name"].encode("ascii", "ignore").decode().split()).lstrip("- ") for entry in entries]
        seconds = [entry["time_stats"]["total"] for entry in entries]
        for index, (name, value) in enumerate(zip(names, seconds)):
            if name == "DEDUP: MinHash stage 1":
                value -= sum(seconds[:index])
            steps[f"{stage}: {name}"] += value
    return dict(steps)


def grouped_phases(phases: dict[str, float]) -> dict[str, float]:
    """pileline's phases with the many small dedup steps added up under `dedup: other steps`."""
    grouped: Counter = Counter()
    for phase, seconds in phases.items():
        major = (
            phase
            if phase in ("prepare", "dedup: band keys", "dedup: candidate edges") or phase.startswith("tokens")
            else "dedup: other steps"
        )
        grouped[major] += seconds
    return dict(grouped)


def positive(text: str) -> int:
    """An argparse type: an integer ≥ 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus", type=Path, help="a Pile-layout directory (train/*.jsonl.zst); default: a generated sample"
    )
    parser.add_argument(
        "--megabytes", type=float, default=DEFAULT_MEGABYTES, help="text of the real-text corpus (default 110 MB)"
    )
    parser.add_argument("--sample", action="store_true", help="run on the generated sample instead of real text")
    parser.add_argument("--docs", type=int, help="documents of the generated sample (default 28,000, ~100 MB)")
    parser.add_argument(
        "--dedup",
        choices=["threshold-true", "datatrove"],
        default="threshold-true",
        help="pileline's dedup: the demo's threshold-true preset (default) or datatrove's banding (see above)",
    )
    parser.add_argument("--cpus", type=int, default=1, help="Ray CPUs for pileline, workers for datatrove (default 1)")
    parser.add_argument("--partition-docs", type=int, default=2000, help="pileline's partition_docs (default 2000)")
    parser.add_argument(
        "--threshold",
        type=float,
        help="pileline's dedup.threshold with --dedup datatrove (default 0.8; threshold-true's is 0.87); "
        "precision cut = this − 0.1",
    )
    parser.add_argument(
        "--datatrove-python",
        type=Path,
        default=DATATROVE_PYTHON if DATATROVE_PYTHON.exists() else None,
        help=f"interpreter of a venv with datatrove 0.10.1 (default {DATATROVE_PYTHON} if present; without one, "
             "pileline runs alone)",
    )
    parser.add_argument("--work", type=Path, help="keep every output here (default: a temporary directory)")
    parser.add_argument("--runs", type=positive, default=3, help="pileline runs; medians are reported (default 3)")
    parser.add_argument("--datatrove-runs", type=positive, default=2, help="datatrove runs (default 2)")
    parser.add_argument(
        "--pin",
        action="store_true",
        help="run each side with all its processes (Ray's too) on --cpus cores only, the same cores for both",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="e2e-bench-", dir="/tmp") as scratch:
        work = (args.work or Path(scratch)).resolve()
        work.mkdir(parents=True, exist_ok=True)
        if args.corpus is None and not args.sample:
            corpus = work / "corpus"
            print(f"real-text corpus: {write_real_text_corpus(corpus, args.megabytes).describe()}", file=sys.stderr)
        else:
            corpus = corpus_dir(args.corpus, work, args.docs).resolve()
        sha256 = corpus_sha256(corpus)
        threshold = THRESHOLD_TRUE if args.dedup == "threshold-true" else args.threshold or 0.8
        files = train_files(corpus)
        if any(path.parent != corpus / "train" for path in files):
            sys.exit(f"{corpus}: end_to_end needs the Pile layout, train/*.jsonl.zst")
        table = read_documents(corpus, files=files)
        keys = list(zip(table.column("source").to_pylist(), table.column("line").to_pylist()))
        texts = dict(zip(keys, table.column("text").to_pylist()))
        megabytes, docs = text_megabytes(table.column("text")), table.num_rows
        del table

        env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
        cores = set(sorted(os.sched_getaffinity(0))[: args.cpus]) if args.pin else None
        manifest = pileline_manifest(corpus, work / "pileline", args.cpus, args.partition_docs, args.dedup, threshold)
        datatrove_command = None
        if args.datatrove_python is not None:
            tokenizer = gpt2_tokenizer_json(work / "gpt2-tokenizer.json")
            datatrove_command = [
                str(args.datatrove_python),
                "-P",
                str(BENCHMARKS_DIR / "datatrove_job.py"),
                "--input",
                str(corpus / "train"),
                "--work",
                str(work / "datatrove"),
                "--tokenizer",
                str(tokenizer),
                "--workers",
                str(args.cpus),
                "--min-chars",
                str(SLIMPAJAMA_MIN_CHARS if args.dedup == "datatrove" else 0),
            ]
        else:
            print("no datatrove interpreter (see --datatrove-python): pileline runs alone", file=sys.stderr)
        ours_runs: list[Measured] = []
        theirs_runs: list[Measured] = []
        phase_runs: list[dict[str, float]] = []
        run_seconds: list[float] = []
        for index in range(max(args.runs, args.datatrove_runs if datatrove_command else 0)):
            if index < args.runs:
                shutil.rmtree(work / "pileline", ignore_errors=True)
                cost, timings = run_pileline(manifest, work, env, cores)
                ours_runs.append(cost)
                phase_runs.append(grouped_phases(timings["phases"]))
                run_seconds.append(timings["run_seconds"])
            if datatrove_command and index < args.datatrove_runs:
                shutil.rmtree(work / "datatrove", ignore_errors=True)
                offline = {**env, "HF_HUB_OFFLINE": "1"}
                theirs_runs.append(run_side("datatrove", datatrove_command, work, offline, cores))
        ours = pileline_outcome(work / "pileline", corpus, set(keys))
        rows = [("pileline", ours_runs)]
        quality = [("pileline", dedup_quality(ours, duplicate_groups(corpus, threshold) or [], texts, threshold))]
        problems = []
        if datatrove_command:
            theirs = datatrove_outcome(work / "datatrove", "train")
            rows.insert(0, ("datatrove", theirs_runs))
            quality.insert(
                0, ("datatrove", dedup_quality(theirs, duplicate_groups(corpus, threshold) or [], texts, threshold))
            )
            problems = identity_problems(ours, theirs, texts)

        versions = package_versions()
        pinned = f"each side pinned to cores {sorted(cores)}" if cores else "not pinned"
        print(f"\ncorpus: {corpus} (sha256 {sha256}); job: --dedup {args.dedup}, dedup threshold {threshold}")
        print(
            f"machine: {os.cpu_count()} CPUs ({pinned}), load average {os.getloadavg()[0]:.1f} at the end; "
            f"pileline {versions['pileline']}, ray {versions['ray']}, ftfy {versions['ftfy']}, tiktoken "
            f"{versions['tiktoken']}"
        )
        print_throughput(rows, megabytes, docs, args.cpus)
        if duplicate_groups(corpus) is not None:
            print_quality(quality, threshold)
        print_phases(
            "pileline",
            {phase: statistics.median(run.get(phase, 0.0) for run in phase_runs) for phase in phase_runs[0]},
            median_run(ours_runs).wall,
            statistics.median(run_seconds),
            "(Ray start and stop, driver work between phases)",
            title=f"wall time per phase, medians of {len(phase_runs)} runs",
        )
        if datatrove_command:
            dt = orjson.loads((work / "datatrove" / "timings.json").read_bytes())
            last = theirs_runs[-1]
            print_phases(
                "datatrove",
                dt["seconds"],
                last.wall,
                dt["run_seconds"],
                "(building the stages, between stages)",
                title="wall time per phase, the last run",
            )
            print_phases(
                "datatrove",
                datatrove_steps(work / "datatrove"),
                last.wall,
                dt["run_seconds"],
                "(outside the steps' own timers)",
                title="time per step (its own stats.json)",
            )
        if problems:
            print("\nFAIL: " + "\nFAIL: ".join(problems), file=sys.stderr)
            sys.exit(1)
        print("\nidentity checks: " + ("passed" if datatrove_command else "not run (no datatrove)"))


if __name__ == "__main__":
    main()
