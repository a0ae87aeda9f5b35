"""The HTML report and its audit sample, on a hand-countable corpus: it parses, embeds its plots, and its
numbers (tables, precision, Wilson interval, Jaccard) match independent counts."""

from __future__ import annotations

import argparse
import base64
import io
import subprocess
import sys
from html.parser import HTMLParser

import pytest
from inspect_corpus_for_tests import (
    CHAINED,
    CLUSTERS,
    CONTAMINATED,
    DUPLICATES,
    FILE_INDEX,
)
from inspect_corpus_for_tests import finished_run as shared_run
from PIL import Image

from pipeline.cli.inspect_commands import register
from pipeline.inspection.audit_sample import audit, draw_sample, wilson_interval, word_diff
from pipeline.inspection.run_files import RunFiles
from pipeline.inspection.run_stats import gather_stats
from pipeline.inspection.stats_tables import stats_tables
from stages.batch import make_doc_id

VOID = {"meta", "img", "br", "hr", "input", "link", "source", "col", "wbr"}
M64 = (1 << 64) - 1


def _id(place) -> int:
    return make_doc_id(FILE_INDEX[place[0]], place[1])


class _Page(HTMLParser):
    """Collects images, table rows under each h3 id, and checks that every element is closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.images: list[dict] = []
        self.tables: dict[str, list[list[str]]] = {}
        self.heading = ""
        self.cell: list[str] | None = None
        self.row: list[str] | None = None
        self.text: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs)
        if tag == "h3" and attrs.get("id", "").startswith("table-"):
            self.heading = attrs["id"].removeprefix("table-")
            self.tables[self.heading] = []
        if tag == "tr":
            self.row = []
        if tag in ("td", "th"):
            self.cell = []
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
            return
        self.stack.pop()
        if tag in ("td", "th") and self.row is not None and self.cell is not None:
            self.row.append("".join(self.cell).strip())
            self.cell = None
        if tag == "tr" and self.row is not None:
            if self.heading:
                self.tables[self.heading].append(self.row)
            self.row = None
        if tag == "table":
            self.heading = ""

    def handle_data(self, data):
        self.text.append(data)
        if self.cell is not None:
            self.cell.append(data)


@pytest.fixture(scope="module")
def report(tmp_path_factory, ray_instance):
    run, docs = shared_run(tmp_path_factory)
    out = tmp_path_factory.mktemp("report") / "report.html"
    parser = argparse.ArgumentParser(prog="pileline")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["report", str(run), "--out", str(out), "--audit", "50"])
    assert args.func(args) == 0
    return run, docs, out.read_text(encoding="utf-8")


def test_html_parses_and_embeds_its_images(report):
    _, _, page = report
    parsed = _Page()
    parsed.feed(page)
    parsed.close()
    assert page.startswith("<!DOCTYPE html>")
    assert parsed.errors == [] and parsed.stack == []
    assert len(parsed.images) >= 6
    for image in parsed.images:
        prefix = "data:image/png;base64,"
        assert image["src"].startswith(prefix) and image["alt"]
        with Image.open(io.BytesIO(base64.b64decode(image["src"][len(prefix):], validate=True))) as png:
            assert png.format == "PNG" and png.width > 200 and png.height > 100
    lowered = page.lower()
    for outside in ("<script", "<link", "http://", "https://", "url(", "@import", "<iframe"):
        assert outside not in lowered, f"the report must open offline, found {outside}"


def test_report_is_the_same_without_ray(report, tmp_path):
    """The fixture's report ran its per-partition work as Ray tasks; a process without Ray runs it in
    place, and must write the same bytes."""
    run, _, page = report
    out = tmp_path / "local.html"
    script = (
        "import sys; from pipeline.inspection.report_html import write_report; "
        "write_report(sys.argv[1], sys.argv[2], 50)"
    )
    subprocess.run([sys.executable, "-c", script, str(run), str(out)], check=True, timeout=120)
    assert out.read_text(encoding="utf-8") == page


def test_report_tables_show_the_stats_numbers(report):
    run, _, page = report
    parsed = _Page()
    parsed.feed(page)
    stats = gather_stats(str(run))
    for table in stats_tables(stats):
        shown = parsed.tables[table.key]
        assert shown[0] == table.columns
        assert shown[1 : 1 + len(table.rows)] == table.rows
        if table.footer:
            assert shown[-1] == table.footer
    sets = {row[0]: row for row in parsed.tables["sets"]}
    assert sets["Pile-CC"][1:] == ["7", "1", "6", "3", "0", "0", "50.0%", "3"]
    assert sets["Books3"][1:] == ["1", "0", "1", "0", "0", "1", "100.0%", "0"]


def test_report_lists_the_largest_clusters_and_the_audit(report):
    _, docs, page = report
    text = "".join(_collect_text(page))
    assert "cluster 00.jsonl.zst:1 (id 1): 4 members; subsets: Pile-CC 3, Github 1; kept 00.jsonl.zst:1" in text
    assert "9 of 10 sampled removals (90.0%)" in text
    assert "59.6% – 98.2%" in text
    assert "1 come from chains" in text and "chain, 0.858 to 02.jsonl.zst:3" in text
    assert docs[("01", 3)][0][:240] in text, "a member's snippet"


def _collect_text(page: str) -> list[str]:
    parsed = _Page()
    parsed.feed(page)
    return parsed.text


def _oracle_jaccard(a: str, b: str) -> float:
    def grams(text):
        words = text.lower().split()
        return {tuple(words[i : i + 5]) for i in range(len(words) - 4)}

    return len(grams(a) & grams(b)) / len(grams(a) | grams(b))


def test_audit_compares_every_removal_with_its_kept_copy(report):
    run, docs, _ = report
    result = audit(RunFiles(str(run)), 50, seed=3)
    keeper_of = {place: keeper for keeper, members in CLUSTERS.items() for place in members}
    assert result["size"] == len(DUPLICATES | CONTAMINATED) == 10
    place_of = {_id(p): p for p in docs}
    for pair in result["pairs"]:
        removed = place_of[pair["removed"]["doc_id"]]
        assert pair["kept"]["doc_id"] == _id(keeper_of[removed])
        assert pair["removed"]["contaminated"] == (removed in CONTAMINATED)
        assert pair["exact_jaccard"] == pytest.approx(_oracle_jaccard(docs[removed][0], docs[keeper_of[removed]][0]))
        assert pair["correct"] == (pair["exact_jaccard"] >= 0.7) == (removed not in CHAINED)
        if removed in CHAINED:
            neighbour = ("02", removed[1] - 1)
            assert pair["cause"] == "chain" and pair["closest"]["doc_id"] == _id(neighbour)
            assert pair["closest"]["jaccard"] == pytest.approx(_oracle_jaccard(docs[removed][0], docs[neighbour][0]))
    assert (result["correct"], result["chains"], result["false_positives"]) == (9, 1, 0)
    assert result["precision"] == 0.9
    assert result["interval"] == pytest.approx([0.5958, 0.9821], abs=1e-4)


def _fmix64(x: int) -> int:
    x ^= x >> 33
    x = (x * 0xFF51AFD7ED558CCD) & M64
    x ^= x >> 33
    x = (x * 0xC4CEB9FE1A85EC53) & M64
    return x ^ (x >> 33)


def _splitmix64_output(seed: int) -> int:
    z = (seed + 0x9E3779B97F4A7C15) & M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


@pytest.mark.parametrize("seed", [0, 1, 1234])
def test_sample_is_the_removed_documents_with_the_smallest_keys(report, seed):
    run, _, _ = report
    removed = [_id(p) for p in DUPLICATES | CONTAMINATED]
    salt = _splitmix64_output(seed)
    expected = sorted(removed, key=lambda d: _fmix64(d ^ salt))[:3]
    assert draw_sample(RunFiles(str(run)), 3, seed).column("doc_id").to_pylist() == expected


def test_wilson_interval_known_values():
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(10, 10) == pytest.approx((0.7225, 1.0), abs=1e-4)
    assert wilson_interval(45, 50) == pytest.approx((0.7864, 0.9565), abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_word_diff_by_hand():
    assert word_diff("a b c d", "a x c d") == [("equal", "a"), ("removed", "b"), ("kept", "x"), ("equal", "c d")]
    assert word_diff("a b", "a b c") == [("equal", "a b"), ("kept", "c")]
    long = " ".join(f"w{i}" for i in range(30))
    assert word_diff(long, long, context=2) == [("equal", "w0 w1"), ("skip", "… 26 words …"), ("equal", "w28 w29")]
