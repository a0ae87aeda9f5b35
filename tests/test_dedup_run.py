"""Global dedup on real Ray: keep rule, priority, holdout, a chain across files, invariance to splitting."""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest
from input_files_for_tests import doc_line, write_lines

from pipeline.formats.run_directory import RunDirectory
from pipeline.formats.run_layout import prepare_key, stage_dir
from pipeline.manifest import parse_manifest
from pipeline.phases.dedup import PartitionRef, make_plan, run_dedup_phase
from pipeline.phases.runner import run_manifest
from pipeline.runtime.progress import Progress
from pipeline.runtime.ray_session import InFlightLimit
from stages.batch import make_doc_id

VOCABULARY = [f"w{i}" for i in range(5000)]


def _words(rng: random.Random, n: int = 200) -> list[str]:
    return [rng.choice(VOCABULARY) for _ in range(n)]


def _mutate(words: list[str], rng: random.Random, changes: int) -> list[str]:
    out = list(words)
    for position in rng.sample(range(len(out)), changes):
        out[position] = rng.choice(VOCABULARY)
    return out


def _corpus(root: Path) -> dict:
    """Three train files and a holdout file with planted duplicates; returns where each was planted."""
    rng = random.Random(7)
    files = {name: [] for name in ("00", "01", "02")}
    unique = lambda: " ".join(_words(rng))  # noqa: E731
    for name in files:
        files[name] = [(unique(), "Pile-CC") for _ in range(30)]
    exact = unique()
    files["00"][4] = (exact, "Pile-CC")
    files["02"][10] = (exact, "Github")
    files["01"][20] = (exact, "Pile-CC")
    chain = [_words(rng)]
    for _ in range(5):
        chain.append(_mutate(chain[-1], rng, 4))
    chain_places = [("00", 7), ("01", 3), ("02", 5), ("00", 25), ("01", 28), ("02", 29)]
    for (name, index), words in zip(chain_places, chain):
        files[name][index] = (" ".join(words), "ArXiv")
    priority_text = unique()
    files["00"][12] = (priority_text, "Pile-CC")
    files["01"][12] = (priority_text, "Wikipedia (en)")
    held = unique()
    files["02"][18] = (held, "Books3")
    for name, docs in files.items():
        write_lines(root / "train" / f"{name}.jsonl.zst", [doc_line(t, s) for t, s in docs])
    write_lines(root / "val.jsonl.zst", [doc_line(unique(), "Pile-CC"), doc_line(held, "Books3")])
    return {
        "exact": [("00", 5), ("01", 21), ("02", 11)],
        "chain": [(n, i + 1) for n, i in chain_places],
        "priority": [("00", 13), ("01", 13)],
        "held": ("02", 19),
        "chain_words": chain,
    }


def _manifest(root: Path, out: Path, **dedup):
    return parse_manifest(
        {
            "inputs": [str(root / "train" / "*.jsonl.zst")],
            "output": str(out),
            "partition_docs": dedup.pop("partition_docs", 8),
            "filter": {"preset": "none"},
            "dedup": {"shingle": "word", "ngram": 5, "num_perm": 128, "threshold": 0.7, **dedup},
        }
    )


def _clusters(run_dir: Path) -> list[dict]:
    return pq.read_table(run_dir / "dedup" / "clusters.parquet").to_pylist()


def _place(row) -> tuple[str, int]:
    return Path(row["source"]).name.split(".")[0], row["line"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("dedup-corpus")
    return root, _corpus(root)


def test_keep_rule_chain_and_accounting(corpus, tmp_path, ray_instance):
    root, planted = corpus
    run_manifest(_manifest(root, tmp_path / "run"), Progress(quiet=True))
    rows = _clusters(tmp_path / "run")
    by_place = {_place(r): r for r in rows}
    exact = [by_place[p] for p in planted["exact"]]
    assert len({r["cluster_id"] for r in exact}) == 1
    assert [r["kept"] for r in exact] == [True, False, False]
    assert exact[0]["cluster_id"] == min(r["doc_id"] for r in exact)

    chain = [by_place[p] for p in planted["chain"]]
    assert len({r["cluster_id"] for r in chain}) == 1, "a chain across files must collapse to one component"
    cluster = [r for r in rows if r["cluster_id"] == chain[0]["cluster_id"]]
    assert len(cluster) == 6 and sum(r["kept"] for r in cluster) == 1
    kept = next(r for r in cluster if r["kept"])
    assert kept["doc_id"] == min(r["doc_id"] for r in cluster) == make_doc_id(0, 8)

    record = orjson.loads((tmp_path / "run" / "manifest.json").read_bytes())
    duplicates = sum(r["duplicates"] for r in record["inputs"])
    assert duplicates == sum(not r["kept"] for r in rows) == 2 + 5 + 1
    stats = orjson.loads((tmp_path / "run" / "stats" / "dedup.json").read_bytes())
    assert stats["duplicates"] == duplicates
    assert stats["cluster_sizes"] == {"2": 1, "3": 1, "6": 1}
    assert stats["cross_set"]["Github"]["Pile-CC"] == 1
    assert (stats["params"]["bands"], stats["params"]["rows"]) != (None, None)


def test_priority_and_holdout(corpus, tmp_path, ray_instance):
    root, planted = corpus
    manifest = _manifest(root, tmp_path / "run", priority=["Wikipedia (en)"], holdout=[str(root / "val.jsonl.zst")])
    result = run_manifest(manifest, Progress(quiet=True))
    by_place = {_place(r): r for r in _clusters(tmp_path / "run")}
    first, second = (by_place[p] for p in planted["priority"])
    assert (first["kept"], second["kept"]) == (False, True), "the prioritised subset's copy is kept"
    train_copy = by_place[planted["held"]]
    held = by_place[("val", 2)]
    assert train_copy["contaminated"] and not train_copy["kept"]
    assert held["kept"] and not held["contaminated"]
    assert result.totals["contaminated"] == 1
    record = orjson.loads((tmp_path / "run" / "manifest.json").read_bytes())
    assert [r["holdout"] for r in record["inputs"]] == [False, False, False, True]


def test_clusters_do_not_depend_on_partition_size(corpus, tmp_path, ray_instance):
    root, _ = corpus
    run_manifest(_manifest(root, tmp_path / "a", partition_docs=5), Progress(quiet=True))
    run_manifest(_manifest(root, tmp_path / "b", partition_docs=1000), Progress(quiet=True))
    a = (tmp_path / "a" / "dedup" / "clusters.parquet").read_bytes()
    assert a == (tmp_path / "b" / "dedup" / "clusters.parquet").read_bytes()


@pytest.mark.parametrize(("tasks", "fan_out", "group_docs"), [(1, 64, 100_000), (3, 64, 7), (5, 4, 13), (3, 2, 1)])
def test_clusters_do_not_depend_on_the_exchange_shape(corpus, tmp_path, ray_instance, tasks, fan_out, group_docs):
    """Slot runs, fan-out (so relay levels: 4 → K = 16, two levels; 2 → K = 4, two levels) and groups shape the
    exchanges; the components must not change with them."""
    root, _ = corpus
    reference = tmp_path / "reference"
    run_manifest(_manifest(root, reference), Progress(quiet=True))
    manifest = _manifest(root, reference)
    run = RunDirectory(str(reference))
    from pipeline.formats.filesystems import expand_inputs

    files = expand_inputs(manifest.inputs)
    prepare_dir = stage_dir("prepare", prepare_key(manifest, files))
    refs = []
    for summary_path in sorted(run.list_files(prepare_dir, ".json")):
        if summary_path.rsplit("/", 1)[-1].startswith("file-"):
            continue
        s = run.read_json(summary_path)
        doc_id = make_doc_id(s["file_index"], s["first_line"])
        refs.append(PartitionRef(s["partition"], doc_id, False, s["kept"], s["line_bytes"], s["source"]))
    refs.sort(key=lambda ref: ref.first_doc_id)
    plan = make_plan(
        run,
        prepare_dir,
        f"stages/test-k-{tasks}-{fan_out}",
        refs,
        100,
        manifest,
        tasks,
        fan_out=fan_out,
        group_docs=group_docs,
    )
    runs = len(plan.levels.slot_tasks)
    assert runs == tasks if fan_out == 64 else runs >= tasks  # two levels: at least one run per block of F slots
    assert plan.levels.levels == (1 if fan_out == 64 else 2)
    assert len(plan.groups) > (1 if group_docs < 100 else 0)
    result = run_dedup_phase(plan, InFlightLimit(None), Progress(quiet=True))
    got = sorted(
        (r["doc_id"], r["cluster_id"], r["kept"])
        for p in plan.partitions
        for r in run.read_parquet(plan.step_path("clusters", p.partition, ".parquet")).to_pylist()
    )
    expected = sorted((r["doc_id"], r["cluster_id"], r["kept"]) for r in _clusters(reference))
    assert got == expected
    assert result.rounds >= 1
    bands = next(e for e in result.exchanges if e["step"] == "bands")
    assert bands["mappers"] == len(plan.groups) and bands["reducers"] == runs
    if fan_out == 64:
        assert bands["files_read"] == len(plan.groups) * runs
    else:  # every relay reads at most F files; every run reads the ⌈groups / F⌉ relay files of its block
        relay_files = -(-len(plan.groups) // fan_out)
        assert bands["files_read"] == len(plan.groups) * fan_out + runs * relay_files


def _texts(root: Path) -> dict[tuple[str, int], str]:
    texts = {}
    for path in sorted(root.glob("train/*.jsonl.zst")):
        import zstandard

        for number, line in enumerate(zstandard.decompress(path.read_bytes(), max_output_size=1 << 26).splitlines(), 1):
            texts[(path.name.split(".")[0], number)] = orjson.loads(line)["text"]
    return texts


def _jaccard5(a: str, b: str) -> float:
    """Word 5-gram Jaccard written out plainly (the oracle; the texts are already normalised)."""
    grams = lambda t: set(zip(*(t.split()[i:] for i in range(5))))  # noqa: E731
    return len(grams(a) & grams(b)) / len(grams(a) | grams(b))


def test_threshold_mode_splits_the_chain_and_counts_exact_copies_apart(corpus, tmp_path, ray_instance):
    root, planted = corpus
    texts = _texts(root)
    chain_texts = [" ".join(words) for words in planted["chain_words"]]
    assert (
        _jaccard5(chain_texts[0], chain_texts[-1])
        < 0.7
        <= min(_jaccard5(a, b) for a, b in zip(chain_texts, chain_texts[1:]))
    )
    run_manifest(_manifest(root, tmp_path / "run", mode="threshold"), Progress(quiet=True))
    rows = _clusters(tmp_path / "run")
    by_place = {_place(r): r for r in rows}
    by_id = {r["doc_id"]: r for r in rows}

    exact = [by_place[p] for p in planted["exact"]]
    assert [(r["kept"], r["exact"]) for r in exact] == [(True, False), (False, True), (False, True)]
    assert {r["cluster_id"] for r in exact} == {exact[0]["doc_id"]}

    chain = [by_place[p] for p in planted["chain"]]
    assert len({r["component_id"] for r in chain}) == 1, "the chain is still one component before splitting"
    assert sum(r["kept"] for r in chain) >= 2, "a chain whose ends are far apart keeps more than one document"
    for row in rows:
        keeper = by_id[row["cluster_id"]]
        assert keeper["kept"], "a cluster is named by its kept document"
        if not row["kept"]:
            similarity = _jaccard5(texts[_place(row)], texts[_place(keeper)])
            assert similarity >= 0.7, f"{_place(row)} removed for {_place(keeper)} at Jaccard {similarity:.3f}"
    stats = orjson.loads((tmp_path / "run" / "stats" / "dedup.json").read_bytes())
    # Exact copies: two of the planted triple, and the second of the two priority texts (no priority given here).
    assert stats["exact"]["documents"] == 3
    assert stats["exact"]["by_set"] == {
        "Github": {"documents": 1, "bytes": len(texts[("02", 11)])},
        "Pile-CC": {"documents": 1, "bytes": len(texts[("01", 21)])},
        "Wikipedia (en)": {"documents": 1, "bytes": len(texts[("01", 13)])},
    }
    removed = sum(not r["kept"] for r in rows)
    assert stats["duplicates"] == removed == stats["exact"]["documents"] + stats["near"]["documents"]
    assert stats["params"]["banding"] == "recall" and stats["params"]["recall_at_threshold"] >= 0.95
    assert stats["largest_components"][0] == {
        "component_id": min(r["doc_id"] for r in chain),
        "size": 6,
        "kept": sum(r["kept"] for r in chain),
    }
    record = orjson.loads((tmp_path / "run" / "manifest.json").read_bytes())
    assert sum(r["duplicates"] for r in record["inputs"]) == removed


def test_threshold_mode_does_not_depend_on_partition_size_or_tasks_in_flight(corpus, tmp_path, ray_instance):
    root, _ = corpus
    run_manifest(_manifest(root, tmp_path / "a", mode="threshold", partition_docs=5), Progress(quiet=True))
    manifest = _manifest(root, tmp_path / "b", mode="threshold", partition_docs=1000)
    run_manifest(
        manifest.model_copy(update={"ray": manifest.ray.model_copy(update={"max_in_flight": 1})}), Progress(quiet=True)
    )
    a = (tmp_path / "a" / "dedup" / "clusters.parquet").read_bytes()
    assert a == (tmp_path / "b" / "dedup" / "clusters.parquet").read_bytes()
    assert (tmp_path / "a" / "stats" / "dedup.json").read_bytes() == (
        tmp_path / "b" / "stats" / "dedup.json"
    ).read_bytes()
