"""pipeline.sample.corpus: byte determinism, the Pile layout, realistic and repairable text, and a ground
truth checked against oracles written here (our own word-5-gram Jaccard, ftfy itself, arithmetic)."""

from __future__ import annotations

import collections
import itertools
import math
import re
from pathlib import Path

import ftfy
import orjson
import pytest
import zstandard

from pipeline.errors import UserError
from pipeline.sample.corpus import write_sample_corpus

# The 22 names as the Pile writes them (lm-evaluation-harness lm_eval/tasks/pile.py).
PILE_SETS = {
    "Pile-CC", "PubMed Central", "Books3", "OpenWebText2", "ArXiv", "Github", "FreeLaw", "StackExchange",
    "USPTO Backgrounds", "PubMed Abstracts", "Gutenberg (PG-19)", "OpenSubtitles", "Wikipedia (en)",
    "DM Mathematics", "Ubuntu IRC", "BookCorpus2", "EuroParl", "HackerNews", "YoutubeSubtitles", "PhilPapers",
    "NIH ExPorter", "Enron Emails",
}
DOCS = 600
TRAIN_FILES = ["train/00.jsonl.zst", "train/01.jsonl.zst", "train/02.jsonl.zst"]


def read_lines(path: Path) -> list[dict]:
    data = zstandard.ZstdDecompressor().stream_reader(path.open("rb")).read()
    assert data.endswith(b"\n")
    return [orjson.loads(line) for line in data[:-1].split(b"\n")]


def shingles(text: str) -> set[str]:
    words = text.split()
    return {" ".join(words[i:i + 5]) for i in range(len(words) - 4)}


def jaccard(a: str, b: str) -> float:
    x, y = shingles(a), shingles(b)
    return len(x & y) / len(x | y)


class Corpus:
    def __init__(self, root: Path, summary) -> None:
        self.root = root
        self.summary = summary
        self.lines = {name: read_lines(root / name) for name in TRAIN_FILES + ["val.jsonl.zst"]}
        self.docs = {(name, n): obj for name, objs in self.lines.items() for n, obj in enumerate(objs, 1)}
        self.texts = [obj["text"] for obj in self.docs.values()]
        self.groups = [orjson.loads(line) for line in (root / "ground_truth.jsonl").read_bytes().splitlines()]
        self.group_of = {(m["file"], m["line"]): g["group"] for g in self.groups for m in g["members"]}

    def text(self, member: dict) -> str:
        return self.docs[(member["file"], member["line"])]["text"]

    def of_kind(self, kind: str) -> list[dict]:
        return [g for g in self.groups if g["kind"] == kind]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    root = tmp_path_factory.mktemp("sample")
    return Corpus(root, write_sample_corpus(root, docs=DOCS, seed=0))


def all_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_and_another_seed_other_text(tmp_path):
    first = all_bytes(write_sample_corpus(tmp_path / "a", docs=300, seed=7).out_dir)
    again = all_bytes(write_sample_corpus(tmp_path / "b", docs=300, seed=7).out_dir)
    other = write_sample_corpus(tmp_path / "c", docs=300, seed=8).out_dir
    assert first == again
    assert sorted(first) == ["README.txt", "ground_truth.jsonl", *TRAIN_FILES, "val.jsonl.zst"]
    texts = {obj["text"] for obj in read_lines(tmp_path / "a" / TRAIN_FILES[0])}
    other_texts = {obj["text"] for obj in read_lines(other / TRAIN_FILES[0])}
    assert len(texts & other_texts) < 5  # at most a few coincidences such as the empty document


def test_layout_and_even_split(corpus):
    names = sorted(str(p.relative_to(corpus.root)) for p in corpus.root.rglob("*") if p.is_file())
    assert names == ["README.txt", "ground_truth.jsonl", *TRAIN_FILES, "val.jsonl.zst"]  # no temp files left
    train_counts = [len(corpus.lines[name]) for name in TRAIN_FILES]
    assert sum(train_counts) == DOCS and max(train_counts) - min(train_counts) <= 1
    assert len(corpus.lines["val.jsonl.zst"]) == 12  # 2% of 600
    assert (corpus.root / "train" / "00.jsonl.zst").read_bytes()[:4] == b"\x28\xb5\x2f\xfd"  # zstd frame magic
    assert len((corpus.root / "README.txt").read_text().strip().splitlines()) == 1


def test_summary_matches_the_files(corpus):
    s = corpus.summary
    assert list(s.files) == TRAIN_FILES + ["val.jsonl.zst"]
    assert list(s.docs_per_file) == [len(corpus.lines[name]) for name in s.files]
    assert s.text_bytes == sum(len(t.encode("utf-8")) for t in corpus.texts)
    assert s.groups == len(corpus.groups)
    assert s.grouped_docs == sum(len(g["members"]) for g in corpus.groups)
    assert s.duplicate_docs == s.grouped_docs - s.groups
    assert s.docs_per_set == collections.Counter(obj["meta"]["pile_set_name"] for obj in corpus.docs.values())
    assert f"{DOCS} train docs in 3 files" in s.describe() and str(corpus.root) in s.describe()


def test_every_line_is_a_pile_document_from_many_sets(corpus):
    names = collections.Counter()
    for obj in corpus.docs.values():
        assert set(obj) == {"text", "meta"} and isinstance(obj["text"], str)
        assert obj["meta"]["pile_set_name"] in PILE_SETS
        names[obj["meta"]["pile_set_name"]] += 1
    assert set(names) == PILE_SETS  # every set, however rare, from 220 documents on
    assert names.most_common(1)[0][0] == "Pile-CC"


def test_length_spread(corpus):
    sizes = sorted(len(t.encode("utf-8")) for t in corpus.texts)
    assert sizes[0] < 1_000 and sizes[-1] > 20_000
    assert 700 < sizes[len(sizes) // 2] < 5_000
    assert sum(s > 10_000 for s in sizes) >= 10


def test_realistic_scripts_and_typography(corpus):
    joined = "".join(corpus.texts)
    patterns = {
        "Cyrillic": "[\u0400-\u04ff]", "Greek": "[\u0370-\u03ff]", "CJK": "[\u4e00-\u9fff]",
        "Arabic": "[\u0600-\u06ff]",
        "curly quotes": "[“”‘’]", "em dash": "—", "accents": "[éüñöç]", "pipe table": r"\n\|[^\n]*\|[^\n]*\|\n",
        "tab table": "\t[^\n]*\t", "LaTeX": r"\\begin\{equation\}", "C code": r"#include <stdio\.h>",
        "Python code": r"\n    (?:if|for|return) ", "IRC log": r"\n\[\d\d:\d\d\] <[^>]+> ",
        "e-mail header": "Message-ID: <", "court opinion": "Circuit Judge",
        "DM Q/A": r"(?:Calculate|Solve|Differentiate|What is|Let f|Is|Round|Sort) [^\n]+[.?]\n-?\w",
    }
    for label, pattern in patterns.items():
        assert re.search(pattern, joined), label


def test_dm_mathematics_answers_are_right(corpus):
    copies = {(m["file"], m["line"]) for g in corpus.groups for m in g["members"][1:]}  # edits may break answers
    checked = 0
    for key, obj in corpus.docs.items():
        if obj["meta"]["pile_set_name"] != "DM Mathematics" or key in copies:
            continue
        lines = obj["text"].splitlines()
        for question, answer in zip(lines[0::2], lines[1::2]):
            if m := re.fullmatch(r"What is (-?\d+) - (-?\d+)\?", question):
                assert int(answer) == int(m[1]) - int(m[2])
            elif m := re.fullmatch(r"Calculate the greatest common divisor of (\d+) and (\d+)\.", question):
                assert int(answer) == math.gcd(int(m[1]), int(m[2]))
            elif m := re.fullmatch(r"What is (-?\d+) divided by (\d+)\?", question):
                assert int(answer) * int(m[2]) == int(m[1])
            elif m := re.fullmatch(r"Is (\d+) a prime number\?", question):
                n = int(m[1])
                assert answer == str(n > 1 and not any(n % d == 0 for d in range(2, n)))
            elif m := re.fullmatch(r"Solve (\d+)\*(\w) \+ (-?\d+) = (-?\d+) for \2\.", question):
                assert int(m[1]) * int(answer) + int(m[3]) == int(m[4])
            elif m := re.fullmatch(r"Let f\((\w)\) = ([-+*\w ]+)\. What is f\((-?\d+)\)\?", question):
                assert int(answer) == eval(m[2].replace(m[1], f"({m[3]})"))
            elif m := re.fullmatch(r"Differentiate ([-+*\w ]+) with respect to (\w)\.", question):
                at, h = 1.7, 1e-5
                slope = (eval(m[1].replace(m[2], f"({at + h})")) - eval(m[1].replace(m[2], f"({at - h})"))) / (2 * h)
                assert eval(answer.replace(m[2], f"({at})")) == pytest.approx(slope, abs=1e-4)
            else:
                continue
            checked += 1
    assert checked >= 20


def test_ground_truth_members_exist_once_with_original_first(corpus):
    seen = set()
    assert [g["group"] for g in corpus.groups] == list(range(len(corpus.groups)))
    for g in corpus.groups:
        assert g["kind"] in {"exact", "near", "chain", "holdout"} and len(g["members"]) >= 2
        for member in g["members"]:
            key = (member["file"], member["line"])
            assert key in corpus.docs and key not in seen
            seen.add(key)
        files = [m["file"] for m in g["members"]]
        if g["kind"] == "holdout":
            assert files[0] == "val.jsonl.zst" and all(f in TRAIN_FILES for f in files[1:])
        else:
            assert all(f in TRAIN_FILES for f in files)
        set_names = {corpus.docs[(m["file"], m["line"])]["meta"]["pile_set_name"] for m in g["members"]}
        assert len(set_names) == 1
    grouped_train = sum(key[0] in TRAIN_FILES for key in seen)
    assert 0.08 * DOCS <= grouped_train <= 0.2 * DOCS


def test_exact_groups_are_identical(corpus):
    assert len(corpus.of_kind("exact")) >= 3
    for g in corpus.of_kind("exact"):
        assert len({corpus.text(m) for m in g["members"]}) == 1


def test_near_groups_are_similar_to_their_original(corpus):
    similarities = []
    for g in corpus.of_kind("near"):
        original = corpus.text(g["members"][0])
        for member in g["members"][1:]:
            similarities.append(jaccard(original, corpus.text(member)))
    assert len(similarities) >= 10
    assert all(0.5 <= s < 1 for s in similarities)
    assert sum(s > 0.87 for s in similarities) >= 0.6 * len(similarities)
    assert min(similarities) < 0.87


def test_chain_links_are_similar_its_ends_less_and_it_spans_files(corpus):
    chains = corpus.of_kind("chain")
    assert chains
    for g in chains:
        texts = [corpus.text(m) for m in g["members"]]
        links = [jaccard(a, b) for a, b in zip(texts, texts[1:])]
        assert len(texts) >= 4 and all(0.5 <= s < 1 for s in links)
        assert jaccard(texts[0], texts[-1]) < min(links)
        assert len({m["file"] for m in g["members"]}) == 3


def test_groups_sit_both_within_and_across_files(corpus):
    spans = collections.defaultdict(set)
    for g in corpus.of_kind("exact") + corpus.of_kind("near"):
        spans[len({m["file"] for m in g["members"]}) > 1].add(g["kind"])
    assert spans[True] == {"exact", "near"} and spans[False] == {"exact", "near"}


def test_holdout_copies_reference_val(corpus):
    groups = corpus.of_kind("holdout")
    assert groups
    for g in groups:
        original = corpus.text(g["members"][0])
        for member in g["members"][1:]:
            copy = corpus.text(member)
            assert copy == original or 0.5 <= jaccard(original, copy) < 1


def test_no_duplicates_outside_the_ground_truth(corpus):
    by_text = collections.defaultdict(list)
    for key, obj in corpus.docs.items():
        by_text[obj["text"]].append(key)
    for keys in by_text.values():
        if len(keys) > 1:
            assert len({corpus.group_of.get(k) for k in keys} - {None}) == 1 and all(k in corpus.group_of for k in keys)
    sets = {key: shingles(obj["text"]) for key, obj in corpus.docs.items()}
    index = collections.defaultdict(list)
    for key, s in sets.items():
        for shingle in s:
            index[shingle].append(key)
    # Candidates share a shingle that few documents have; documents made only of common shingles meet everyone.
    candidates = {pair for keys in index.values() if len(keys) <= 50 for pair in itertools.combinations(keys, 2)}
    common_only = [key for key, s in sets.items() if s and all(len(index[x]) > 50 for x in s)]
    candidates |= {(a, b) for a in common_only for b in sets if a != b}
    for a, b in candidates:
        if len(sets[a] & sets[b]) / len(sets[a] | sets[b]) >= 0.5:
            assert corpus.group_of.get(a) is not None and corpus.group_of.get(a) == corpus.group_of.get(b)


def test_most_documents_need_no_ftfy_fix_and_mojibake_is_repaired(corpus):
    fixed = [ftfy.fix_text(t) for t in corpus.texts]
    changed = [t for f, t in zip(fixed, corpus.texts) if f != t]
    assert 0.08 <= len(changed) / len(corpus.texts) <= 0.4
    keep_quotes = ftfy.TextFixerConfig(uncurl_quotes=False)  # a subset of the default fixes
    repaired = sum(ftfy.fix_text(t, keep_quotes) != t for t in changed) / len(corpus.texts)
    assert 0.03 <= repaired <= 0.2
    mojibake = [(t, f) for t, f in zip(corpus.texts, fixed) if re.search("â€|Ã[©¼±¶§]", t)]
    assert len(mojibake) >= 5
    assert sum(not re.search("â€|Ã[©¼±¶§]", f) for _, f in mojibake) >= 0.8 * len(mojibake)


@pytest.mark.parametrize("label, pattern", [
    ("CRLF", "\r\n"), ("terminal escape", "\x1b\\["), ("ligature", "[ﬀﬁﬂﬃﬄ]"), ("full width", "[\uff01-\uff5e]"),
    ("C0 control", "[\x00-\x08\x0b\x0e-\x1f\x7f]"), ("C1 control", "[\x80-\x9f]"),
])
def test_text_problems_are_present_and_ftfy_removes_them(corpus, label, pattern):
    docs = [t for t in corpus.texts if re.search(pattern, t)]
    assert docs, label
    assert not any(re.search(pattern, ftfy.fix_text(t)) for t in docs), label


def test_html_entities_with_and_without_tags(corpus):
    entity = re.compile(r"&(?:amp|quot|#8217|rsquo|mdash|#8212|eacute|#233);")
    plain = [t for t in corpus.texts if entity.search(t) and "<" not in t]
    tagged = [t for t in corpus.texts if entity.search(t) and "<p>" in t]
    assert plain and tagged
    assert all(len(entity.findall(ftfy.fix_text(t))) < len(entity.findall(t)) for t in plain)
    assert all(entity.findall(ftfy.fix_text(t)) == entity.findall(t) for t in tagged)  # looks like HTML: kept


def test_junk_documents_for_the_quality_filters(corpus):
    texts = corpus.texts

    def lines(t: str) -> list[str]:
        return [line for line in t.split("\n") if line.strip()]

    assert "" in texts
    assert any(t and not t.strip() for t in texts)
    assert any(0 < len(t.split()) <= 5 for t in texts)
    assert any(len(t) > 100 and sum(c.isalnum() for c in t) < 0.05 * len(t) for t in texts)  # symbol soup
    assert any(collections.Counter(lines(t)).most_common(1)[0][1] >= 10 for t in texts if lines(t))
    assert any(len(lines(t)) >= 10 and sum(line.lstrip()[:1] in "•-*·" for line in lines(t)) >= 0.9 * len(lines(t))
               for t in texts)
    assert any(len(lines(t)) >= 10 and sum(line.endswith("…") for line in lines(t)) >= 0.9 * len(lines(t))
               for t in texts)


def test_tiny_corpus_and_bad_arguments(tmp_path):
    summary = write_sample_corpus(tmp_path / "tiny", docs=10, seed=3)
    assert summary.docs_per_file == (3, 3, 4, 5) and summary.groups == 0
    with pytest.raises(UserError, match="docs >= 1"):
        write_sample_corpus(tmp_path / "x", docs=0)
    with pytest.raises(UserError, match="files"):
        write_sample_corpus(tmp_path / "x", docs=2, files=3)
    (tmp_path / "old" / "train").mkdir(parents=True)
    (tmp_path / "old" / "train" / "07.jsonl.zst").write_bytes(b"")
    with pytest.raises(UserError, match="07.jsonl.zst"):
        write_sample_corpus(tmp_path / "old", docs=30)
