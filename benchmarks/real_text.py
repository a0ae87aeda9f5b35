"""The real-text benchmark corpus: text people wrote that ships on this machine, with planted near-copies.

    python benchmarks/real_text.py OUT_DIR [--megabytes 110] [--seed 0] [--files 4]

Generated text has none of the boilerplate real text has (licence headers, changelog entries, manual
page skeletons, translated copies), and dedup's costs depend on it. This corpus takes documents of six
kinds, each one file read whole (`pile_set_name` in brackets):

| kind | files |
|---|---|
| manual pages (`Manual pages`) | `/usr/share/man/**` (roff source, gzip read), every language |
| package documentation (`Package docs`) | `/usr/share/doc/**` but copyright files, `/usr/share/info/*.gz`, Vim's help |
| licences (`Licences`) | `/usr/share/common-licenses/*`, `/usr/share/doc/*/copyright` |
| Perl's books (`Perl pod`) | `/usr/share/perl*/**/*.pod` (perlfaq, perlop, perldiag: prose manuals) |
| code (`Python source`) | `*.py` of this Python's standard library and its environment's packages |
| Python docs (`Python docs`) | `*.md`, `*.rst`, `*.txt` beside them |

A file is a document when it decodes as UTF-8 without NUL characters and holds `MIN_WORDS` to
`MAX_WORDS` words (test folders are skipped). Each kind's files are shuffled with the seed and the
kinds are taken in turn, one document each, until the text reaches `--megabytes` (10^6 bytes of
UTF-8, copies included). A taken document gets, with probability `COPY_SHARE`, a planted copy: exact
(one in `EXACT_SHARE`) or near, with word replacements until its word-5-gram Jaccard
(`stages.minhash.exact_jaccard`, lower-cased words, as the `threshold-true` dedup counts) is close to a
value drawn uniformly from `COPY_SIMILARITY`; a near copy gets a copy of its own (a chain) with
probability `CHAIN_SHARE`. All documents are shuffled and dealt in turn to `train/NN.jsonl.zst`
(`--files`), in the Pile's layout `{"text": ..., "meta": {"pile_set_name": ...}}`.

`ground_truth.jsonl` lists the planted groups in the generated sample's format
(`{"group", "kind": exact|near|chain, "members": [{"file", "line"}]}`, the original first) plus
`"jaccard"`: the exact word-5-gram Jaccard of each later member with the original (a chain's with the
previous member), measured on the raw texts. `corpus.json` records the seed, the sources, documents and
bytes per kind and the corpus's sha256 (`corpus.corpus_sha256`: the train files' uncompressed lines):
what the corpus holds depends on the packages installed, so quote the sha256 beside every figure
measured on it. The same installed files and arguments write the same corpus.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import re
import sys
import sysconfig
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import orjson
import zstandard
from corpus import corpus_sha256

from pipeline.sample.corpus import GROUND_TRUTH
from stages.minhash import exact_jaccard, shingles

MIN_WORDS = 100
MAX_WORDS = 60_000
"""A file of more words (a huge changelog or generated table) is left out: ~400 KB, the Pile's book-sized documents."""
COPY_SHARE = 0.2
EXACT_SHARE = 10
CHAIN_SHARE = 0.25
COPY_SIMILARITY = (0.6, 1.0)
"""Planted near-copies' target Jaccard: around the thresholds in use (0.8 for datatrove, 0.87 for threshold-true)."""
DEFAULT_MEGABYTES = 110.0
SUMMARY = "corpus.json"
WORD = re.compile(r"\S+")


def _files(roots: list[Path], suffixes: tuple[str, ...] | None = None, prune: frozenset[str] = frozenset()):
    """Regular files under `roots` (a root may be a file), sorted, ending in one of `suffixes` if given, none in a
    folder named in `prune`."""
    found = []
    for root in roots:
        if root.is_file():
            found.append(root)
        for folder, subfolders, names in os.walk(root):
            subfolders[:] = [name for name in subfolders if name not in prune]
            for name in names:
                path = Path(folder, name)
                if (suffixes is None or name.endswith(suffixes)) and path.is_file() and not path.is_symlink():
                    found.append(path)
    return sorted(set(found))


def _python_roots() -> list[Path]:
    paths = sysconfig.get_paths()
    return sorted({Path(paths["stdlib"]), Path(paths["purelib"]), Path(paths["platlib"])})


PYTHON_PRUNE = frozenset({"test", "tests", "__pycache__", "site-packages"})
"""Test folders, and the standard library's own `site-packages` (another environment's packages): a root that is a
`site-packages` folder itself is walked."""


KINDS: dict[str, Callable[[], list[Path]]] = {
    "Manual pages": lambda: _files([Path("/usr/share/man")]),
    "Package docs": lambda: [
        path
        for path in _files(
            [Path("/usr/share/doc"), Path("/usr/share/info"), *sorted(Path("/usr/share/vim").glob("vim*/doc"))]
        )
        if path.name != "copyright"
    ],
    "Licences": lambda: _files(
        [Path("/usr/share/common-licenses"), *sorted(Path("/usr/share/doc").glob("*/copyright"))]
    ),
    "Perl pod": lambda: _files(sorted(Path("/usr/share").glob("perl*")), (".pod",)),
    "Python source": lambda: _files(_python_roots(), (".py",), PYTHON_PRUNE),
    "Python docs": lambda: _files(_python_roots(), (".md", ".rst", ".txt"), PYTHON_PRUNE),
}
"""pile_set_name -> the candidate files of that kind, sorted."""


def read_text(path: Path) -> str | None:
    """The file's text (gunzipped when it ends in .gz), or None when it is not UTF-8 text or not document-sized."""
    try:
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        text = data.decode("utf-8")
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError):
        return None
    if "\x00" in text or not MIN_WORDS <= len(text.split()) <= MAX_WORDS:
        return None
    return text


def _shingle_set(text: str) -> set[str]:
    return set(shingles(text, "word", 5))


def near_copy(rng: random.Random, text: str, target: float) -> str:
    """`text` with words replaced by fresh ones until its word-5-gram Jaccard with `text` is close to `target`."""
    base = _shingle_set(text)
    spans = [m.span() for m in WORD.finditer(text)]
    best, best_gap = text, 1.0
    edits = max(1, round(len(base) * (1 - target) / (5 * (1 + target))))
    for _ in range(12):
        chosen = set(rng.sample(range(len(spans)), min(edits, len(spans))))
        out, prev = [], 0
        for i, (start, end) in enumerate(spans):
            if i in chosen:
                out.append(text[prev:start] + f"w{rng.randrange(10**6)}")
                prev = end
        copy = "".join(out) + text[prev:]
        copied = _shingle_set(copy)
        similarity = len(base & copied) / len(base | copied)
        if abs(similarity - target) < best_gap:
            best, best_gap = copy, abs(similarity - target)
        if best_gap < 0.005:
            break
        edits = max(1, round(edits * (1 - target) / max(1 - similarity, 1e-3)))
    return best


@dataclass
class Document:
    text: str
    kind: str


@dataclass
class RealTextSummary:
    """What `write_real_text_corpus` wrote; `corpus.json` holds it."""

    out_dir: str
    seed: int
    megabytes: float
    sha256: str = ""
    files: list[str] = field(default_factory=list)
    documents: int = 0
    text_bytes: int = 0
    planted: dict[str, int] = field(default_factory=dict)
    docs_per_kind: dict[str, int] = field(default_factory=dict)
    bytes_per_kind: dict[str, int] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        kinds = ", ".join(f"{k} {self.docs_per_kind[k]:,}" for k in self.docs_per_kind)
        planted = ", ".join(f"{n:,} {k}" for k, n in self.planted.items())
        return (
            f"{self.documents:,} documents, {self.text_bytes / 1e6:.1f} MB of real text (seed {self.seed}; {kinds}; "
            f"planted copies: {planted}) in {len(self.files)} files; sha256 {self.sha256}"
        )


def _originals(seed: int) -> dict[str, Iterator[str]]:
    """Per kind, its documents in seeded order, read lazily (a tiny corpus reads a few files only)."""

    def texts(kind: str, paths: list[Path]) -> Iterator[str]:
        random.Random(f"{seed}/{kind}").shuffle(paths)
        for path in paths:
            text = read_text(path)
            if text is not None:
                yield text

    return {kind: texts(kind, list_files()) for kind, list_files in KINDS.items()}


def write_real_text_corpus(
    out: Path, megabytes: float = DEFAULT_MEGABYTES, seed: int = 0, files: int = 4
) -> RealTextSummary:
    """Write the corpus (see the module docstring) to `out`, which must hold no train files yet."""
    if any((out / "train").glob("*.jsonl.zst")):
        sys.exit(f"{out}: already holds train files; use an empty directory (or pass it as --corpus)")
    rng = random.Random(seed)
    documents: list[Document] = []
    groups: list[tuple[str, list[int], list[float]]] = []
    target, total = megabytes * 1e6, 0
    sources = _originals(seed)
    while total < target and sources:
        for kind in list(sources):
            text = next(sources[kind], None)
            if text is None:
                del sources[kind]
                continue
            members = [len(documents)]
            documents.append(Document(text, kind))
            total += len(text.encode("utf-8"))
            if rng.random() < COPY_SHARE:
                group_kind = "exact" if rng.randrange(EXACT_SHARE) == 0 else "near"
                copies = [text if group_kind == "exact" else near_copy(rng, text, rng.uniform(*COPY_SIMILARITY))]
                if group_kind == "near" and rng.random() < CHAIN_SHARE:
                    group_kind = "chain"
                    copies.append(near_copy(rng, copies[0], rng.uniform(*COPY_SIMILARITY)))
                similarity = [exact_jaccard(text, copies[0], "word", 5)]
                if len(copies) == 2:
                    similarity.append(exact_jaccard(copies[0], copies[1], "word", 5))
                for copy in copies:
                    members.append(len(documents))
                    documents.append(Document(copy, kind))
                    total += len(copy.encode("utf-8"))
                groups.append((group_kind, members, similarity))
            if total >= target:
                break
    order = list(range(len(documents)))
    rng.shuffle(order)
    names = [f"train/{number:02d}.jsonl.zst" for number in range(files)]
    lines: list[list[bytes]] = [[] for _ in names]
    where: dict[int, dict] = {}
    for position, index in enumerate(order):
        piece = lines[position % files]
        document = documents[index]
        piece.append(orjson.dumps({"text": document.text, "meta": {"pile_set_name": document.kind}}))
        where[index] = {"file": names[position % files], "line": len(piece)}
    (out / "train").mkdir(parents=True, exist_ok=True)
    for name, piece in zip(names, lines):
        (out / name).write_bytes(zstandard.compress(b"".join(line + b"\n" for line in piece), 10))
    truth = [
        orjson.dumps({"group": n, "kind": kind, "members": [where[m] for m in members], "jaccard": similarity})
        for n, (kind, members, similarity) in enumerate(groups)
    ]
    (out / GROUND_TRUTH).write_bytes(b"".join(line + b"\n" for line in truth))
    summary = RealTextSummary(str(out), seed, megabytes, corpus_sha256(out), names, len(documents))
    for document in documents:
        size = len(document.text.encode("utf-8"))
        summary.text_bytes += size
        summary.docs_per_kind[document.kind] = summary.docs_per_kind.get(document.kind, 0) + 1
        summary.bytes_per_kind[document.kind] = summary.bytes_per_kind.get(document.kind, 0) + size
    for kind, _, _ in groups:
        summary.planted[kind] = summary.planted.get(kind, 0) + 1
    summary.sources = {"python": sys.version.split()[0], **{k: str(p) for k, p in sysconfig.get_paths().items()}}
    (out / SUMMARY).write_bytes(orjson.dumps(asdict(summary), option=orjson.OPT_INDENT_2))
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="an empty directory for the corpus")
    parser.add_argument("--megabytes", type=float, default=DEFAULT_MEGABYTES, help="text to write, in 10^6 bytes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--files", type=int, default=4, help="train files (default 4)")
    args = parser.parse_args()
    summary = write_real_text_corpus(args.out, args.megabytes, args.seed, args.files)
    print(f"real-text corpus: {summary.describe()}")


if __name__ == "__main__":
    main()
