"""Benchmark the decontaminate step against lm-evaluation-harness's Janitor on one core, check they agree, and
check a decontaminated run with lm-evaluation-harness's own overlap check.

    python benchmarks/decontaminate.py [--corpus DIR] [--docs N] [--eval-docs E] [--leaked L]
                                       [--others shuffled|sample] [--chunk-docs B]
                                       [--check-corpus DIR] [--check-megabytes M] [--check-evals W,P]
                                       [--cpus N] [--work DIR]

**Speed and identity.**

Training documents: a Pile-layout corpus, or the seeded sample (seed 0). The eval set has E documents (default
10,000): L passages of 30 words cut from the training documents (contamination to find) and E - L documents of
a second sample (seed 1), each cut to its first 150 words. With `--others shuffled` (the default) those words
are shuffled within each document: the vocabulary stays the corpus's, so every word is looked up as in real
use, but they share no 13-gram with the training text by chance, as real eval sets mostly do not; `--others
sample` keeps them as generated, and the sample generator's templates then put an eval 13-gram in about one
training document in eight. Both engines get the same eval set: `Janitor.register_contaminant_python` and
`stages.eval_ngrams.build_eval_ngrams`. Then `Janitor.clean_python` and
`stages.decontaminate.decontaminate_texts` (`match: janitor`, then `match: both`) run on the same chunks of B
documents, in turn chunk by chunk in this one process (CPU time, one core). A document agrees when our
`janitor` kept text is the Janitor's pieces joined by a blank line (None when it keeps none) or, without a
match, the text itself; the script exits 1 unless every document agrees. Prints MB, CPU seconds and MB/s of
each, the ratios (`both` / `janitor` is the cost of the harness's rule), and the peak RSS.

**The harness's check.** On real text (`--check-corpus`, a Pile-layout directory; by default
`benchmarks/real_text.py`'s corpus of `--check-megabytes`: manual pages, package docs, licences, Perl pod,
Python sources and docs, with planted copies), pileline runs as a new user
would (default manifest: cerebras filters, dedup) on real Ray: first without decontamination (control);
the eval set is then W whole documents and P paragraphs (blank-line separated, of at least 20 words) of
other documents, all among those the control kept; then with `decontaminate.match: janitor` and `both`.
For each run, `pileline ngrams`'s files (`write_train_ngrams`) go to
`lm_eval.decontamination.decontaminate.get_train_overlap`, and every kept document is searched with the
Janitor's rule (`clean_python`'s) and the harness's (`word_ngrams` of the normalised text). Prints, per run,
the eval documents the harness flags, the kept documents holding an eval n-gram by each rule, and what
decontamination cut (documents cleaned and dropped, characters removed, matches by rule). Exits 1 unless the
control has every eval document flagged and the `both` run none, with no kept document matching by either rule.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

import orjson
import ray
from corpus import corpus_dir, corpus_sha256, read_documents
from real_text import write_real_text_corpus

from pipeline.inspection.run_stats import gather_stats
from pipeline.inspection.train_ngrams import kept_texts, write_train_ngrams
from pipeline.manifest import parse_manifest
from pipeline.phases.runner import run_manifest
from pipeline.runtime.progress import Progress
from pipeline.sample.corpus import write_sample_corpus
from stages.decontaminate import PIECE_SEPARATOR, DecontaminateConfig, decontaminate_texts
from stages.eval_ngrams import build_eval_ngrams


def load_lm_eval() -> None:
    """Import lm-evaluation-harness's decontamination modules when the benchmark runs (so `--help` works without
    lm_eval), quietly: they print on import."""
    global Janitor, get_train_overlap, word_ngrams, word_ngrams_indices
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            from lm_eval.decontamination.decontaminate import get_train_overlap
            from lm_eval.decontamination.janitor import Janitor, word_ngrams, word_ngrams_indices
    except ModuleNotFoundError as error:
        sys.exit(f"decontaminate.py compares with lm_eval ({error}): pip install --no-deps lm_eval==0.4.13")

DEFAULT_DOCS = 6000


def eval_set(train: list[str], scratch: Path, size: int, leaked: int, shuffled: bool) -> list[str]:
    rng = random.Random(0)
    out = []
    while len(out) < leaked:
        words = train[rng.randrange(len(train))].split()
        if len(words) >= 30:
            start = rng.randrange(len(words) - 29)
            out.append(" ".join(words[start : start + 30]))
    write_sample_corpus(scratch / "eval", docs=size - leaked, seed=1, files=1, holdout_docs=0)
    other = read_documents(scratch / "eval").column("text").to_pylist()
    others = [text.split()[:150] for text in other]
    for words in others if shuffled else []:
        rng.shuffle(words)
    return out + [" ".join(words) for words in others]


def speed_and_identity(args: argparse.Namespace) -> bool:
    """The Janitor and our `janitor` and `both` rules on the same chunks; True when every `janitor` text agrees."""
    with tempfile.TemporaryDirectory(prefix="decontaminate-bench-") as scratch:
        corpus = corpus_dir(args.corpus, Path(scratch), args.docs)
        train = read_documents(corpus, args.docs).column("text").to_pylist()
        evals = eval_set(train, Path(scratch), args.eval_docs, args.leaked, args.others == "shuffled")

    start = time.process_time()
    janitor = Janitor()
    with contextlib.redirect_stdout(io.StringIO()):
        for text in evals:
            janitor.register_contaminant_python(text)
    janitor_build = time.process_time() - start
    start = time.process_time()
    index = build_eval_ngrams([(0, text) for text in evals], ["eval"])
    our_build = time.process_time() - start
    configs = {match: DecontaminateConfig(sets={"eval": ["benchmark"]}, match=match) for match in ("janitor", "both")}

    seconds = {"lm_eval": 0.0, "janitor": 0.0, "both": 0.0}
    touched = dict.fromkeys(configs, 0)
    agree = 0
    for offset in range(0, len(train), args.chunk_docs):
        chunk = train[offset : offset + args.chunk_docs]
        start = time.process_time()
        expected = [janitor.clean_python(text) for text in chunk]
        seconds["lm_eval"] += time.process_time() - start
        kept = {}
        for match, config in configs.items():
            start = time.process_time()
            kept[match] = {o.row: o.text for o in decontaminate_texts(chunk, index, config)}
            seconds[match] += time.process_time() - start
            touched[match] += len(kept[match])
        outcomes = kept["janitor"]
        for row, text in enumerate(chunk):
            if row in outcomes:
                agree += outcomes[row] == (PIECE_SEPARATOR.join(expected[row]) if expected[row] else None)
            else:
                agree += expected[row] == ([text] if len(text) >= configs["janitor"].minimum_slice_length else [])

    megabytes = sum(len(text.encode("utf-8")) for text in train) / 1e6
    print(
        f"{len(train):,} training documents, {megabytes:.1f} MB; eval set {len(evals):,} documents "
        f"({args.leaked} leaked, others {args.others}), {len(index.keys):,} distinct 13-grams "
        f"(index {index.nbytes / 1e6:.0f} MB); documents with a match: {touched['janitor']:,} (janitor), "
        f"{touched['both']:,} (both)"
    )
    print()
    print("| engine | index build (CPU s) | clean (CPU s) | MB/s per core |")
    print("|---|---:|---:|---:|")
    rows = {
        "lm_eval Janitor.clean_python": (janitor_build, seconds["lm_eval"]),
        "pileline decontaminate_texts, match: janitor": (our_build, seconds["janitor"]),
        "pileline decontaminate_texts, match: both": (our_build, seconds["both"]),
    }
    for name, (build, clean) in rows.items():
        print(f"| {name} | {build:.2f} | {clean:.2f} | {megabytes / clean:.2f} |")
    print()
    print(
        f"speed ratio (clean, Janitor / ours with janitor): {seconds['lm_eval'] / seconds['janitor']:.1f}x; "
        f"both / janitor: {seconds['both'] / seconds['janitor']:.2f}x; documents agreeing: {agree:,} of "
        f"{len(train):,}; peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    return agree == len(train)


def check_evals(texts: list[str], whole: int, paragraphs: int, janitor: Janitor, seed: int) -> list[str]:
    """`whole` documents of `texts` and one paragraph (blank-line separated, >= 20 words) of `paragraphs` others,
    each with at least one n-gram as the harness forms them."""
    rng = random.Random(seed)
    order = list(range(len(texts)))
    rng.shuffle(order)
    evals, cut = [], []
    for index in order:
        text = texts[index]
        if len(list(word_ngrams(janitor.normalize_string(text), janitor.ngram_n))) == 0:
            continue
        if len(evals) < whole:
            evals.append(text)
            continue
        found = [p for p in text.split("\n\n") if len(janitor.normalize_string(p).split()) >= 20]
        if found and len(cut) < paragraphs:
            cut.append(rng.choice(found))
        if len(cut) == paragraphs:
            break
    return evals + cut


def harness_flags(ngrams_dir: Path, evals: list[str], workdir: Path) -> set[int]:
    """The eval documents `get_train_overlap` flags in `ngrams_dir` (its caches under `workdir/data`)."""
    (workdir / "data").mkdir(parents=True)
    here = Path.cwd()
    os.chdir(workdir)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return get_train_overlap({("eval", "test"): evals}, str(ngrams_dir), limit=len(evals))["eval"]
    finally:
        os.chdir(here)


def janitor_rule_finds(janitor: Janitor, text: str) -> bool:
    """`clean_python`'s test: a registered n-gram among the text's split-then-normalised 13-grams."""
    return any(
        janitor.normalize_string(ngram) in janitor.dirt_ngrams
        for ngram, _ in word_ngrams_indices(text, janitor.ngram_n)
    )


def harness_rule_finds(janitor: Janitor, text: str) -> bool:
    """`get_train_overlap`'s test: a registered n-gram among the text's normalise-then-split 13-grams."""
    return any(ngram in janitor.dirt_ngrams for ngram in word_ngrams(janitor.normalize_string(text), janitor.ngram_n))


def harness_check(args: argparse.Namespace, work: Path) -> bool:
    """Control, `janitor` and `both` runs on real text, checked by `get_train_overlap`; True when `both` passes."""
    corpus = args.check_corpus
    if corpus is None:
        corpus = work / "real-text"
        print(f"real-text corpus: {write_real_text_corpus(corpus, args.check_megabytes).describe()}")
    else:
        print(f"check corpus: {corpus}, sha256 {corpus_sha256(corpus)}")
    whole, paragraphs = (int(n) for n in args.check_evals.split(","))
    janitor = Janitor()
    eval_file = work / "eval.jsonl"
    rows = {}
    ray.init(
        address="local", num_cpus=args.cpus, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False
    )
    try:
        for name in ("control", "janitor", "both"):
            run_dir = work / f"run-{name}"
            config = {"inputs": [str(corpus / "train" / "*.jsonl.zst")], "output": str(run_dir)}
            config["ray"] = {"num_cpus": args.cpus}
            if name != "control":
                config["decontaminate"] = {"sets": {"eval": str(eval_file)}, "match": name}
            run_manifest(parse_manifest(config), Progress(quiet=True))
            kept = kept_texts(str(run_dir))
            if name == "control":
                evals = check_evals(kept, whole, paragraphs, janitor, seed=0)
                eval_file.write_bytes(b"".join(orjson.dumps({"text": text}) + b"\n" for text in evals))
                with contextlib.redirect_stdout(io.StringIO()):
                    for text in evals:
                        janitor.register_contaminant_python(text)
            write_train_ngrams(str(run_dir), str(work / f"ngrams-{name}"))
            flagged = harness_flags(work / f"ngrams-{name}", evals, work / f"overlap-{name}")
            counts = gather_stats(str(run_dir))["decontamination"].get("eval")
            rows[name] = (
                len(flagged),
                len(kept),
                sum(janitor_rule_finds(janitor, text) for text in kept),
                sum(harness_rule_finds(janitor, text) for text in kept),
                counts,
            )
    finally:
        ray.shutdown()

    print()
    print(
        f"harness check: {corpus}, {len(evals)} eval documents ({whole} whole, {paragraphs} paragraphs of others, "
        "all kept by the control run)"
    )
    print()
    print(
        "| run | eval documents the harness flags | kept documents | holding an eval 13-gram: Janitor's rule "
        "| harness's rule | documents cleaned | documents dropped | characters removed | matches: Janitor's rule "
        "| harness's rule only |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, (flagged, kept, by_janitor, by_harness, counts) in rows.items():
        cut = (
            [f"{counts[key]:,}" for key in ("documents_cleaned", "documents_dropped", "characters_removed")]
            + [f"{counts[key]:,}" for key in ("matched_by_janitor_rule", "matched_by_harness_rule_only")]
            if counts
            else ["-"] * 5
        )
        label = "no decontamination (control)" if name == "control" else f"match: {name}"
        print(
            f"| {label} | {flagged} of {len(evals)} | {kept:,} | {by_janitor:,} | {by_harness:,} | {' | '.join(cut)} |"
        )
    passed = rows["control"][0] == len(evals) and rows["both"][0] == 0 and rows["both"][2:4] == (0, 0)
    print()
    print(f"harness check ({'passed' if passed else 'FAILED'}): control flags every eval document, both none")
    return passed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, help="a directory of Pile-layout files (default: generate a sample)")
    parser.add_argument("--docs", type=int, default=DEFAULT_DOCS, help=f"training documents (default {DEFAULT_DOCS})")
    parser.add_argument("--eval-docs", type=int, default=10_000, help="eval documents (default 10,000)")
    parser.add_argument(
        "--leaked", type=int, default=100, help="eval documents cut from the training documents (default 100)"
    )
    parser.add_argument(
        "--others",
        choices=["shuffled", "sample"],
        default="shuffled",
        help="the eval documents not cut from the training text (default shuffled)",
    )
    parser.add_argument(
        "--chunk-docs",
        type=int,
        default=2000,
        help="documents per call of each engine (default 2,000; the prepare phase passes a whole partition, "
        "10,000 by default)",
    )
    parser.add_argument("--check-corpus", type=Path, help="real text in the Pile's layout for the harness check")
    parser.add_argument(
        "--check-megabytes", type=float, default=20, help="text of the default check corpus, in 10^6 bytes (default 20)"
    )
    parser.add_argument(
        "--check-evals", default="40,40", help="whole documents, paragraphs of the check's eval set (default 40,40)"
    )
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the check's Ray (default 2)")
    parser.add_argument("--work", type=Path, help="directory for the check's runs (default: a temporary one)")
    args = parser.parse_args(argv)
    load_lm_eval()

    agreed = speed_and_identity(args)
    with tempfile.TemporaryDirectory(prefix="decontaminate-check-") as scratch:
        work = args.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        passed = harness_check(args, work)
    return 0 if agreed and passed else 1


if __name__ == "__main__":
    sys.exit(main())
