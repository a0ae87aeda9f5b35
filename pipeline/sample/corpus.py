"""A seeded, synthetic corpus in the Pile's layout, for the demo, the end-to-end tests and the benchmarks.

`write_sample_corpus` writes `train/NN.jsonl.zst`, `val.jsonl.zst`, `ground_truth.jsonl` and
`README.txt`. The text is made from the word lists (`vocabulary`), sentence templates (`templates`) and
per-set generators (`genres`) of this package (no downloads, nothing read
from installed packages), shaped per `pile_set_name`: web pages, news, papers with pipe tables,
LaTeX, code, DM-Mathematics Q/A with correct answers, IRC logs, e-mails, court opinions, books,
parliament debates in several scripts. A minority of documents carry what a cleaner must repair
(mojibake, HTML entities, CRLF, control characters, terminal escapes, ligatures, full-width forms)
or drop (junk); exact, near, chained and train/holdout duplicates are recorded in the ground truth.
Every document has its own random stream keyed by (seed, index), so equal arguments give
byte-identical files.
"""

from __future__ import annotations

import collections
import math
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import orjson
import zstandard

from pipeline.errors import UserError
from pipeline.sample.duplicates import near_copy
from pipeline.sample.genres import PILE_SET_NAMES, PROSE_SETS, SET_BY_NAME, SETS
from pipeline.sample.text_problems import JUNK_KINDS, JUNK_SETS, PROBLEMS, junk_text, smarten
from pipeline.sample.writer import Writer

ZSTD_LEVEL = 3
HOLDOUT_FRACTION = 0.02
"""Default holdout size as a fraction of `docs` (at least `MIN_HOLDOUT_DOCS`)."""
MIN_HOLDOUT_DOCS = 5
DUPLICATE_FRACTION = 0.12
"""Share of train documents that belong to a duplicate group (originals included)."""
JUNK_FRACTION = 0.03
PROBLEM_FRACTION = 0.08
"""Share of documents given one text problem that ftfy repairs (or, for HTML with tags, keeps)."""
EVERY_SET_FROM = 220
"""From this many documents on, each of the 22 sets appears at least once, however small its weight."""
NEAR_MIN_WORDS = 120
"""Near-duplicate originals need this many words so one edit keeps word-5-gram Jaccard high."""
GROUND_TRUTH = "ground_truth.jsonl"
VAL_FILE = "val.jsonl.zst"


# ---------------------------------------------------------------------------------------------
# Planning, generation and writing.


@dataclass(frozen=True)
class SampleSummary:
    """What `write_sample_corpus` wrote; `describe()` is the line a CLI prints."""

    out_dir: Path
    seed: int
    files: tuple[str, ...]
    """Relative paths: the train files, then `val.jsonl.zst`."""
    docs_per_file: tuple[int, ...]
    text_bytes: int
    """UTF-8 bytes of all document texts (train and val)."""
    groups: int
    grouped_docs: int
    """Documents in some duplicate group, originals included."""
    duplicate_docs: int
    """Documents a perfect deduplication removes: every group member but its original."""
    docs_per_set: dict[str, int]
    bytes_per_set: dict[str, int]

    def describe(self) -> str:
        train = sum(self.docs_per_file[:-1])
        return (f"{train} train docs in {len(self.files) - 1} files + {self.docs_per_file[-1]} val docs, "
                f"{self.text_bytes / 1e6:.1f} MB of text, {len(self.docs_per_set)} sets; {self.groups} duplicate "
                f"groups ({self.grouped_docs} docs, {self.duplicate_docs} removable) -> {self.out_dir}")


class _Doc(NamedTuple):
    set_name: str
    text: str


class _Group(NamedTuple):
    kind: str
    members: list[int]
    """Indices into the document list, original first."""


def _default_holdout(docs: int) -> int:
    return max(MIN_HOLDOUT_DOCS, round(docs * HOLDOUT_FRACTION))


def _group_sizes(plan: random.Random, docs: int, holdout: int) -> list[tuple[str, int]]:
    """(kind, members) for every group; holdout groups count train copies only (their original is in val)."""
    if docs < 20:
        return []
    groups = [("chain", plan.randint(4, 6)) for _ in range(max(1, docs // 8000) if docs >= 100 else 0)]
    groups += [("holdout", plan.randint(1, 2)) for _ in range(max(1, holdout // 8) if holdout else 0)]
    sizes, weights = (2, 3, 4, 5, 6, 7, 8, 9, 10), (45, 20, 12, 8, 5, 4, 3, 2, 1)
    members = sum(size for _, size in groups)
    while members < DUPLICATE_FRACTION * docs:
        kind = ("exact", "near")[len(groups) % 2] if len(groups) < 4 else plan.choice(("exact", "near", "near"))
        size = plan.choices(sizes, weights)[0]
        groups.append((kind, size))
        members += size
    return groups


def _generate(seed: int, index: int, set_name: str, curly: bool, problem: str | None) -> str:
    spec = SET_BY_NAME[set_name]
    w = Writer(random.Random(f"{seed}/doc/{index}"), spec.domain)
    size = int(min(spec.hi, max(spec.lo, w.rng.lognormvariate(math.log(spec.median), spec.sigma))))
    text = spec.make(w, size)
    if curly:
        text = smarten(text)
    elif set_name in PROSE_SETS and w.chance(0.3):
        text = text.replace(" — ", " -- ").replace("—", "--")
    return PROBLEMS[problem][2](w, text) if problem else text


def _assign_sets(plan: random.Random, docs: int, base: int, total: int) -> tuple[list[str], dict[int, str]]:
    """A pile_set_name for each of the `total` documents before copies (`base` train, then val), and the junk
    kind of the junk ones (train only, at least one of each kind from 50 documents on)."""
    names = plan.choices(PILE_SET_NAMES, [spec.weight for spec in SETS], k=total)
    junk: dict[int, str] = {}
    if base >= 50:
        for n, i in enumerate(plan.sample(range(base), max(len(JUNK_KINDS), round(JUNK_FRACTION * base)))):
            junk[i] = JUNK_KINDS[n % len(JUNK_KINDS)]
            names[i] = plan.choice(JUNK_SETS)
    if docs >= EVERY_SET_FROM:
        counts = collections.Counter(name for i, name in enumerate(names) if i not in junk)
        for name in PILE_SET_NAMES:
            if not counts[name]:
                i = plan.choice([i for i, other in enumerate(names) if counts[other] > 1 and i not in junk])
                counts[names[i]] -= 1
                names[i] = name
                counts[name] = 1
    return names, junk


def _assign_problems(plan: random.Random, names: list[str], junk: dict[int, str]) -> dict[int, str]:
    """The text problem of each problem document: every kind once first, then by share, each in its own sets."""
    problems: dict[int, str] = {}
    if len(names) < 50:
        return problems
    kinds = list(PROBLEMS)
    shares = [share for share, _, _ in PROBLEMS.values()]
    candidates = {kind: [i for i, name in enumerate(names) if i not in junk and name in sets]
                  for kind, (_, sets, _) in PROBLEMS.items()}
    for pool in candidates.values():
        plan.shuffle(pool)
    for n in range(round(PROBLEM_FRACTION * len(names))):
        kind = kinds[n] if n < len(kinds) else plan.choices(kinds, shares)[0]
        pool = candidates[kind]
        while pool and pool[-1] in problems:
            pool.pop()
        if pool:
            problems[pool.pop()] = kind
    return problems


def _add_copies(seed: int, plan: random.Random, documents: list[_Doc], base: int, junk: dict[int, str],
                group_sizes: list[tuple[str, int]]) -> list[_Group]:
    """Choose an original for each planned group and append its copies to `documents`."""
    def shuffled(indices: range, min_words: int) -> list[int]:
        pool = [i for i in indices if i not in junk and len(documents[i].text.split()) >= min_words]
        plan.shuffle(pool)
        return pool

    long_train, any_train = shuffled(range(base), NEAR_MIN_WORDS), shuffled(range(base), 1)
    long_val, any_val = shuffled(range(base, len(documents)), NEAR_MIN_WORDS), shuffled(range(base, len(documents)), 1)
    used: set[int] = set()

    def take(*pools: list[int]) -> int:
        for pool in pools:
            while pool:
                i = pool.pop()
                if i not in used:
                    used.add(i)
                    return i
        raise UserError("sample corpus: too few documents for the duplicate groups; ask for more docs")

    groups: list[_Group] = []
    copy_rng = random.Random(f"{seed}/copies")
    for kind, size in group_sizes:
        if kind == "holdout":
            original, count = take(long_val, any_val), size
        else:
            original, count = take(*([any_train] if kind == "exact" else [long_train])), size - 1
        exact = kind == "exact" or (kind == "holdout" and (copy_rng.random() < 0.6 or original not in long_val))
        members = [original]
        for _ in range(count):
            source = documents[members[-1] if kind == "chain" else original]
            if exact:
                text = source.text
            else:
                lo, hi = {"chain": (0.72, 0.85), "holdout": (0.8, 0.95)}.get(
                    kind, (0.87, 0.96) if copy_rng.random() < 0.8 else (0.5, 0.87))
                text = near_copy(copy_rng, source.text, copy_rng.uniform(lo, hi))
            members.append(len(documents))
            documents.append(_Doc(source.set_name, text))
        groups.append(_Group(kind, members))
    return groups


def _make_documents(seed: int, docs: int, holdout: int) -> tuple[list[_Doc], int, list[_Group]]:
    """All documents (train originals, val, then train copies), the index where val starts, and the groups."""
    plan = random.Random(f"{seed}/plan")
    group_sizes = _group_sizes(plan, docs, holdout)
    base = docs - sum(size if kind == "holdout" else size - 1 for kind, size in group_sizes)
    names, junk = _assign_sets(plan, docs, base, base + holdout)
    problems = _assign_problems(plan, names, junk)
    junk_serial = {i: n for n, i in enumerate(sorted(junk))}
    documents: list[_Doc] = []
    seen: set[str] = set()
    for i, name in enumerate(names):
        if i in junk:
            text = junk_text(Writer(random.Random(f"{seed}/junk/{i}"), "web"), junk[i], junk_serial[i])
        else:
            curly = problems.get(i) in ("mojibake", "control_chars") or plan.random() < SET_BY_NAME[name].curly
            text = _generate(seed, i, name, curly, problems.get(i))
        while text in seen:  # an accidental exact duplicate of an earlier document (e.g. two short junk pages)
            text += f" {len(seen)}"
        seen.add(text)
        documents.append(_Doc(name, text))
    return documents, base, _add_copies(seed, plan, documents, base, junk, group_sizes)


def _place(plan: random.Random, train: list[int], groups: list[_Group], files: int) -> list[list[int]]:
    """Shuffle train documents into `files` even files, then swap so the placement exercises dedup: chains,
    the first near and the second exact group span as many files as they can; the first exact and the
    second near group sit in one file."""
    order = list(train)
    plan.shuffle(order)
    bounds = [len(order) * f // files for f in range(files + 1)]
    position = {doc: p for p, doc in enumerate(order)}
    grouped = {m for g in groups for m in g.members}

    def file_of(doc: int) -> int:
        p = position[doc]
        return next(f for f in range(files) if bounds[f] <= p < bounds[f + 1])

    def move(doc: int, target: int) -> None:
        free = [p for p in range(bounds[target], bounds[target + 1]) if order[p] not in grouped]
        if free:
            p = plan.choice(free)
            q = position[doc]
            order[p], order[q] = order[q], order[p]
            position[order[p]], position[order[q]] = p, q

    def spread(members: list[int]) -> None:
        for n, doc in enumerate(members):
            used = {file_of(m) for m in members[:n]}
            if file_of(doc) in used and len(used) < files:
                move(doc, plan.choice([f for f in range(files) if f not in used]))

    def gather(members: list[int]) -> None:
        for doc in members[1:]:
            if file_of(doc) != file_of(members[0]):
                move(doc, file_of(members[0]))

    by_kind = {kind: [g.members for g in groups if g.kind == kind] for kind in ("chain", "near", "exact")}
    for members in by_kind["chain"] + by_kind["near"][:1] + by_kind["exact"][1:2]:
        spread(members)
    for members in by_kind["exact"][:1] + by_kind["near"][1:2]:
        gather(members)
    return [order[bounds[f]:bounds[f + 1]] for f in range(files)]


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _jsonl_zst(documents: list[_Doc], indices: list[int]) -> bytes:
    lines = [orjson.dumps({"text": documents[i].text, "meta": {"pile_set_name": documents[i].set_name}})
             for i in indices]
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(b"\n".join(lines) + b"\n" if lines else b"")


def write_sample_corpus(out_dir: str | Path, docs: int = 3000, seed: int = 0, files: int = 3,
                        holdout_docs: int | None = None) -> SampleSummary:
    """Write a seeded synthetic Pile-layout corpus of `docs` train documents (duplicates included) in
    `files` train files plus `holdout_docs` val documents (default 2%, at least 5); same arguments,
    same bytes. About 28,000 docs make 100 MB of text."""
    if docs < 1 or files < 1 or seed < 0 or (holdout_docs is not None and holdout_docs < 0):
        raise UserError(f"sample corpus: need docs >= 1, files >= 1, seed >= 0, holdout_docs >= 0 "
                        f"(got docs={docs}, files={files}, seed={seed}, holdout_docs={holdout_docs})")
    if files > docs:
        raise UserError(f"sample corpus: {files} files for {docs} documents; ask for at most one file per document")
    holdout = _default_holdout(docs) if holdout_docs is None else holdout_docs
    out = Path(out_dir)
    width = max(2, len(str(files - 1)))
    train_names = [f"train/{f:0{width}d}.jsonl.zst" for f in range(files)]
    present = sorted((out / "train").glob("*.jsonl.zst")) if (out / "train").is_dir() else []
    stale = [str(p.relative_to(out)) for p in present if str(p.relative_to(out)) not in train_names]
    if stale:
        raise UserError(f"sample corpus: {out} already holds other train files ({', '.join(stale[:3])}); "
                        f"use an empty directory")

    documents, base, groups = _make_documents(seed, docs, holdout)
    val = list(range(base, base + holdout))
    train = list(range(base)) + list(range(base + holdout, len(documents)))
    layout = _place(random.Random(f"{seed}/place"), train, groups, files)

    (out / "train").mkdir(parents=True, exist_ok=True)
    where: dict[int, dict[str, object]] = {}
    for name, indices in zip(train_names, layout):
        _write_atomic(out / name, _jsonl_zst(documents, indices))
        where.update({doc: {"file": name, "line": line} for line, doc in enumerate(indices, 1)})
    _write_atomic(out / VAL_FILE, _jsonl_zst(documents, val))
    where.update({doc: {"file": VAL_FILE, "line": line} for line, doc in enumerate(val, 1)})
    truth = [orjson.dumps({"group": n, "kind": g.kind, "members": [where[m] for m in g.members]})
             for n, g in enumerate(groups)]
    _write_atomic(out / GROUND_TRUTH, b"".join(line + b"\n" for line in truth))

    docs_per_set: dict[str, int] = {}
    bytes_per_set: dict[str, int] = {}
    for doc in documents:
        docs_per_set[doc.set_name] = docs_per_set.get(doc.set_name, 0) + 1
        bytes_per_set[doc.set_name] = bytes_per_set.get(doc.set_name, 0) + len(doc.text.encode("utf-8"))
    summary = SampleSummary(
        out_dir=out, seed=seed, files=tuple(train_names) + (VAL_FILE,),
        docs_per_file=tuple(len(x) for x in layout) + (len(val),), text_bytes=sum(bytes_per_set.values()),
        groups=len(groups), grouped_docs=sum(len(g.members) for g in groups),
        duplicate_docs=sum(len(g.members) - 1 for g in groups),
        docs_per_set=dict(sorted(docs_per_set.items(), key=lambda kv: -kv[1])),
        bytes_per_set=dict(sorted(bytes_per_set.items(), key=lambda kv: -kv[1])))
    readme = (f"A synthetic sample of the Pile's layout written by pileline (seed {seed}); "
              f"{summary.describe().split(' -> ')[0]}. Each line of train/*.jsonl.zst and {VAL_FILE} is "
              '{"text": ..., "meta": {"pile_set_name": ...}}; the text is generated from word lists and '
              "templates, shaped like 22 Pile subsets, and a minority of documents carry mojibake, HTML entities, "
              "CRLF line ends, control characters, terminal escapes, ligatures, full-width forms or are junk. "
              f"{GROUND_TRUTH} lists every planted duplicate group as "
              '{"group", "kind" (exact, near, chain or holdout), "members": [{"file", "line"}]} with 1-based line '
              "numbers and the original first; near copies have word-5-gram Jaccard 0.5 to 1 with their original "
              "(chain links with the previous member), and holdout groups are train copies, exact or near, of a "
              f"{VAL_FILE} document. The same arguments write byte-identical files.\n")
    _write_atomic(out / "README.txt", readme.encode("utf-8"))
    return summary
