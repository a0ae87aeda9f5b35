"""Benchmark the filter stage's presets against per-document Python peers, and check they agree.

    python benchmarks/filter.py [--corpus DIR] [--docs N] [--batch-docs B] [--presets a,b] [--by-set]

Reads the documents of a Pile-layout corpus (`benchmarks/corpus.py`), or of a sample written
by `pipeline.sample.corpus.write_sample_corpus` (seed 0) when no corpus is given. For each preset it
times `filter_batch` over batches of B rows, and a peer that decides each document alone in plain
Python, in the style of datatrove's and SlimPajama's per-document filters, from the published
definitions (as pileline states them: see stages/filters_gopher.py). Token presets use the runner's
tokenizer (`stages.tokenize.load_tokenizer`) for the stage and tiktoken's own `encode_ordinary` per
document for the peer. Exits 1 if any document gets a different reason. Prints MB/s and docs/s per
CPU-second (process time, so other load on the machine counts less), the ratio stage/peer, the share
of documents dropped, per preset (and per pile_set_name with --by-set).
"""

from __future__ import annotations

import argparse
import re
import string
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
from corpus import read_documents

from stages.filter import FilterConfig, filter_batch, needs_tokenizer
from stages.tokenize import TokenizeConfig, load_tokenizer

SAMPLE_DOCS = 12_000
PRESETS = ("cerebras", "slimpajama", "gopher", "gpt-neo", "gpt-j")


# --------------------------------------------------------------------------- per-document peers


def _slimpajama_short(text: str, limit: int) -> bool:
    clean = re.sub(r"\s+", " ", text.lower().translate(str.maketrans("", "", string.punctuation)).strip())
    return len(clean) < limit


def _repeats(items: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        if item in seen:
            out.append(item)
        else:
            seen.add(item)
    return out


def _gopher_quality(text: str, p: dict) -> str | None:
    words = text.split()
    n = len(words)
    lines = [line for line in text.split("\n") if line.strip()]
    stop = {w.lower() for w in p["stop_words"]}
    checks = [
        ("min_words", lambda: n < p["min_words"]),
        ("max_words", lambda: n > p["max_words"]),
        ("min_mean_word_length", lambda: n and sum(map(len, words)) / n < p["min_mean_word_length"]),
        ("max_mean_word_length", lambda: n and sum(map(len, words)) / n > p["max_mean_word_length"]),
        ("max_hash_word_ratio", lambda: n and text.count("#") / n > p["max_hash_word_ratio"]),
        (
            "max_ellipsis_word_ratio",
            lambda: n and (text.count("...") + text.count("\u2026")) / n > p["max_ellipsis_word_ratio"],
        ),
        (
            "max_bullet_line_fraction",
            lambda: (
                lines
                and sum(x.lstrip().startswith(tuple(p["bullets"])) for x in lines) / len(lines)
                > p["max_bullet_line_fraction"]
            ),
        ),
        (
            "max_ellipsis_line_fraction",
            lambda: (
                lines
                and sum(x.rstrip().endswith(("...", "\u2026")) for x in lines) / len(lines)
                > p["max_ellipsis_line_fraction"]
            ),
        ),
        (
            "min_alpha_word_fraction",
            lambda: n and sum(any(c.isalpha() for c in w) for w in words) / n < p["min_alpha_word_fraction"],
        ),
        (
            "min_stop_words",
            lambda: sum(w.lower().strip(string.punctuation) in stop for w in words) < p["min_stop_words"],
        ),
    ]
    for rule, fires in checks:
        if p[rule] is not None and fires():
            return f"gopher_quality.{rule}"
    return None


def _paragraphs(text: str) -> list[str]:
    out, current = [], []
    for line in text.split("\n") + [""]:
        if line.strip():
            current.append(line)
        elif current:
            out.append("\n".join(current).strip())
            current = []
    return out


def _gopher_repetition(text: str, p: dict) -> str | None:
    for unit, items in (("line", [x.strip() for x in text.split("\n") if x.strip()]), ("paragraph", _paragraphs(text))):
        repeated = _repeats(items)
        rule = f"max_duplicate_{unit}_fraction"
        if p[rule] is not None and items and len(repeated) / len(items) > p[rule]:
            return f"gopher_repetition.{rule}"
        rule = f"max_duplicate_{unit}_char_fraction"
        if p[rule] is not None and text and sum(map(len, repeated)) / len(text) > p[rule]:
            return f"gopher_repetition.{rule}"
    words = text.split()
    total = sum(map(len, words))
    for n in (2, 3, 4):
        rule = f"max_top_{n}gram_char_fraction"
        if p[rule] is None or not total:
            continue
        grams = Counter(zip(*(words[i:] for i in range(n))))
        count, chars = max(((c, sum(map(len, g))) for g, c in grams.items() if c >= 2), default=(0, 0))
        if count * chars / total > p[rule]:
            return f"gopher_repetition.{rule}"
    for n in range(5, 11):
        rule = f"max_duplicate_{n}gram_char_fraction"
        if p[rule] is None or not total:
            continue
        seen: set[tuple[str, ...]] = set()
        covered = [False] * len(words)
        for i, gram in enumerate(zip(*(words[i:] for i in range(n)))):
            if gram in seen:
                covered[i : i + n] = [True] * n
            seen.add(gram)
        if sum(len(w) for w, c in zip(words, covered) if c) / total > p[rule]:
            return f"gopher_repetition.{rule}"
    return None


def peer(config: FilterConfig, encode_one: Callable[[str], list[int]] | None) -> Callable[[str], str | None]:
    """A per-document decision function for `config`, written from the definitions."""
    params = config.params
    steps: dict[str, Callable[[str], str | None]] = {
        "empty": lambda t: "empty" if not t.strip() else None,
        "min_clean_chars": lambda t: (
            "min_clean_chars" if _slimpajama_short(t, params.min_clean_chars.min_chars) else None
        ),
        "gopher_quality": lambda t: _gopher_quality(t, params.gopher_quality.model_dump()),
        "gopher_repetition": lambda t: _gopher_repetition(t, params.gopher_repetition.model_dump()),
        "min_tokens": lambda t: "min_tokens" if len(encode_one(t)) < params.min_tokens.min_tokens else None,
        "min_unique_tokens": lambda t: (
            "min_unique_tokens" if len(set(encode_one(t))) < params.min_unique_tokens.min_unique_tokens else None
        ),
    }
    active = [steps[name] for name in config.active_filters()]

    def decide(text: str) -> str | None:
        for step in active:
            reason = step(text)
            if reason:
                return f"filter:{reason}"
        return None

    return decide


# --------------------------------------------------------------------------- measurement


def run_stage(table: pa.Table, config: FilterConfig, batch_docs: int, encode) -> tuple[float, list[str | None]]:
    reasons: dict[int, str] = {}
    start = time.process_time()
    for i in range(0, table.num_rows, batch_docs):
        _, dropped = filter_batch(table.slice(i, batch_docs), config, encode)
        reasons.update(zip(dropped.column("doc_id").to_pylist(), dropped.column("reason").to_pylist()))
    seconds = time.process_time() - start
    return seconds, [reasons.get(doc_id) for doc_id in table.column("doc_id").to_pylist()]


def run_peer(texts: list[str], decide) -> tuple[float, list[str | None]]:
    start = time.process_time()
    out = [decide(text) for text in texts]
    return time.process_time() - start, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, help="a directory of Pile-layout files (default: generate a sample)")
    parser.add_argument("--docs", type=int, help=f"documents to read (sample default {SAMPLE_DOCS})")
    parser.add_argument("--batch-docs", type=int, default=10_000, help="rows per filter_batch call")
    parser.add_argument("--presets", default=",".join(PRESETS), help="comma-separated presets to measure")
    parser.add_argument("--by-set", action="store_true", help="also print one row per pile_set_name")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="filter-bench-") as scratch:
        corpus = args.corpus
        if corpus is None:
            from pipeline.sample.corpus import write_sample_corpus

            corpus = Path(scratch)
            write_sample_corpus(corpus, docs=args.docs or SAMPLE_DOCS, seed=0)
        table = read_documents(corpus, args.docs)

    texts = table.column("text").to_pylist()
    sizes = np.array([len(t.encode("utf-8", "surrogatepass")) for t in texts])
    sets = table.column("pile_set_name").to_pylist()
    tokenizer = load_tokenizer(TokenizeConfig())
    reference = load_tokenizer(TokenizeConfig(engine="tiktoken"))._encodings[0]  # tiktoken itself, for the peer

    def encode_one(text: str) -> list[int]:
        return reference.encode_ordinary(text)

    print(f"filter, one process; {len(texts)} docs, {sizes.sum() / 1e6:.1f} MB; speeds per CPU-second")
    print(
        f"{'preset':<11} {'set':<20} {'docs':>7} {'dropped':>7} {'stage MB/s':>10} {'peer MB/s':>9} "
        f"{'stage docs/s':>12} {'peer docs/s':>11} {'ratio':>6}"
    )
    differing = 0
    groups = [("overall", np.arange(len(texts)))]
    if args.by_set:
        by_set: dict[str, list[int]] = defaultdict(list)
        for i, name in enumerate(sets):
            by_set[name].append(i)
        groups += [(name, np.array(ix)) for name, ix in sorted(by_set.items(), key=lambda kv: -len(kv[1]))]
    for preset in [p for p in args.presets.split(",") if p]:
        config = FilterConfig(preset=preset)
        encode = tokenizer.encode_batch if needs_tokenizer(config) else None
        decide = peer(config, encode_one)
        filter_batch(table.slice(0, 20), config, encode)  # warm-up
        reasons: Counter = Counter()
        for name, ix in groups:
            subset = table.take(pa.array(ix))
            stage_seconds, got = run_stage(subset, config, args.batch_docs, encode)
            peer_seconds, expected = run_peer([texts[i] for i in ix], decide)
            bad = [i for i, (a, b) in enumerate(zip(got, expected)) if a != b]
            differing += len(bad)
            for i in bad[:3]:
                doc_id = subset.column("doc_id")[i]
                print(f"  DIFFERENT {preset} doc_id={doc_id}: stage {got[i]} peer {expected[i]}", file=sys.stderr)
            if name == "overall":
                reasons.update(r for r in got if r)
            mb = sizes[ix].sum() / 1e6
            dropped = sum(r is not None for r in got) / max(len(ix), 1)
            print(
                f"{preset:<11} {name:<20} {len(ix):>7} {dropped:>7.1%} {mb / stage_seconds:>10.1f} "
                f"{mb / peer_seconds:>9.1f} {len(ix) / stage_seconds:>12.0f} {len(ix) / peer_seconds:>11.0f} "
                f"{peer_seconds / stage_seconds:>6.2f}"
            )
        print("            reasons: " + ", ".join(f"{r.removeprefix('filter:')} {c}" for r, c in reasons.most_common()))
    if differing:
        print(f"FAIL: {differing} decisions differ between the stage and the peer", file=sys.stderr)
        return 1
    print("all decisions identical to the peer's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
