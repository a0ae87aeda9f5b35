"""datatrove's side of `benchmarks/end_to_end.py`: the same job as pileline's manifest, with datatrove's own steps.

    /work/venv-datatrove/bin/python benchmarks/datatrove_job.py --input DIR --work DIR --tokenizer tokenizer.json
        [--workers N] [--tasks N] [--min-chars 200]

Runs in datatrove's own venv (datatrove 0.10.1 pins xxhash<4), as datatrove's MinHash example lays
the job out, each stage a `LocalPipelineExecutor` with `--workers` processes:

    1. signatures  JsonlReader → FTFYFormatter (pileline's ftfy settings: every fix, NFC) → LambdaFilter
                   (SlimPajama's rule, as pileline's `slimpajama` filter preset) → JsonlWriter (the cleaned
                   documents, zstd) → MinhashDedupSignature (word 5-grams, 14 buckets × 8 hashes)
    2. buckets     MinhashDedupBuckets, one task per bucket
    3. cluster     MinhashDedupCluster (one task; cluster ids saved, to judge which copy was kept)
    4. tokens      JsonlReader (the cleaned documents) → MinhashDedupFilter → MegatronDocumentTokenizer
                   (GPT-2 from a local tokenizer.json, "<|endoftext|>" after every document)

Writes `--work/timings.json`: wall seconds per stage, of all stages, and the task count. No network: the
tokenizer is a file, and spaCy's blank English pipeline (datatrove's word tokenizer) needs no model.
"""

from __future__ import annotations

import argparse
import json
import re
import string
import time
from pathlib import Path

_PUNCTUATION = str.maketrans("", "", string.punctuation)
_WHITESPACE_RUN = re.compile(r"\s+")
MIN_CHARS = 200
"""SlimPajama's minimum cleaned length (pileline's `min_clean_chars` default)."""


def long_enough(document, min_chars: int = MIN_CHARS) -> bool:
    """SlimPajama's rule: keep when the lower-cased text without punctuation, whitespace collapsed, has `min_chars`."""
    return len(_WHITESPACE_RUN.sub(" ", document.text.lower().translate(_PUNCTUATION).strip())) >= min_chars


def stages(args: argparse.Namespace) -> dict:
    """The four `LocalPipelineExecutor`s; datatrove is imported here, so `--help` works outside its venv."""
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.filters import LambdaFilter
    from datatrove.pipeline.formatters import FTFYFormatter
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.tokens.megatron_tokenizer import MegatronDocumentTokenizer
    from datatrove.pipeline.writers import JsonlWriter

    work = args.work
    config = MinhashConfig()  # 5-grams, 14 buckets × 8 hashes, 64-bit xxhash: datatrove's defaults
    ftfy = FTFYFormatter(
        fix_latin_ligatures=True,
        fix_character_width=True,
        uncurl_quotes=True,
        fix_line_breaks=True,
        normalization="NFC",
    )
    keep = (lambda document: long_enough(document, args.min_chars)) if args.min_chars else (lambda document: True)
    common = {"workers": args.workers, "skip_completed": False}
    return {
        "signatures": LocalPipelineExecutor(
            pipeline=[
                JsonlReader(args.input, glob_pattern="*.jsonl.zst"),
                ftfy,
                LambdaFilter(keep),
                JsonlWriter(f"{work}/cleaned", output_filename="${rank}.jsonl", compression="zstd"),
                MinhashDedupSignature(output_folder=f"{work}/signatures", config=config),
            ],
            tasks=args.tasks,
            logging_dir=f"{work}/logs/signatures",
            **common,
        ),
        "buckets": LocalPipelineExecutor(
            pipeline=[
                MinhashDedupBuckets(input_folder=f"{work}/signatures", output_folder=f"{work}/buckets", config=config)
            ],
            tasks=config.num_buckets,
            logging_dir=f"{work}/logs/buckets",
            **common,
        ),
        "cluster": LocalPipelineExecutor(
            pipeline=[
                MinhashDedupCluster(
                    input_folder=f"{work}/buckets", output_folder=f"{work}/remove", config=config, save_cluster_id=True
                )
            ],
            tasks=1,
            logging_dir=f"{work}/logs/cluster",
            **{**common, "workers": 1},
        ),
        "tokens": LocalPipelineExecutor(
            pipeline=[
                JsonlReader(f"{work}/cleaned", glob_pattern="*.jsonl.zst"),
                MinhashDedupFilter(input_folder=f"{work}/remove"),
                MegatronDocumentTokenizer(
                    output_folder=f"{work}/tokens", tokenizer_name_or_path=args.tokenizer, eos_token="<|endoftext|>"
                ),
            ],
            tasks=args.tasks,
            logging_dir=f"{work}/logs/tokens",
            **common,
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="directory of *.jsonl.zst input files")
    parser.add_argument("--work", required=True, help="directory for every output")
    parser.add_argument("--tokenizer", required=True, help="GPT-2 tokenizer.json")
    parser.add_argument("--workers", type=int, default=1, help="processes per stage (default 1)")
    parser.add_argument("--tasks", type=int, help="tasks of stages 1 and 4 (default: one per input file)")
    parser.add_argument("--min-chars", type=int, default=MIN_CHARS, help="SlimPajama's length filter; 0: no filter")
    args = parser.parse_args()
    if args.tasks is None:
        args.tasks = len(sorted(Path(args.input).glob("*.jsonl.zst")))
    seconds = {}
    run_started = time.perf_counter()
    for name, executor in stages(args).items():
        started = time.perf_counter()
        executor.run()
        seconds[name] = time.perf_counter() - started
    timings = {"seconds": seconds, "run_seconds": time.perf_counter() - run_started, "tasks": args.tasks}
    (Path(args.work) / "timings.json").write_text(json.dumps(timings))


if __name__ == "__main__":
    main()
