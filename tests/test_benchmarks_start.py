"""Every benchmark script starts, so none can rot unseen (a smoke run: tiny inputs, no timing asserted).

The default suite runs every script on a tiny corpus to the end, each asserting its own identity
checks: the scripts that need no Ray one after another, the Ray-based ones two at a time (each starts
its own Ray; those that measure several runs take `--smoke`: one killed phase, no all-reused rerun,
no dedup over moto). It also starts each Ray-based script with `--help` in one interpreter (shared
imports keep it quick), and every script with `--help` where the modules only the optional extras install
(and lm_eval, datatrove) cannot be imported, as after a default install. The `slow` test runs the `--smoke`
scripts whole. `benchmarks/datatrove_job.py` runs in a datatrove interpreter only (`end_to_end.py
--datatrove-python`). `corpus.py`, `process_tree.py` and `short_documents.py` are libraries of the others
(`tests/test_short_documents.py` tests the last); `pileline_job.py` is the driver `scaling.py`,
`profile_stages.py` and `partitions.py` run.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import sysconfig
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

QUICK_RUNS = {
    "filter.py": (["--docs", "150", "--presets", "gopher,gpt-j"], "all decisions identical to the peer's"),
    "normalize.py": (["--docs", "200"], "identical to ftfy.fix_text for every document"),
    "read.py": (["--docs", "200", "--repeat", "1"], "identity check (reader = orjson on every line): passed"),
    "tokenization.py": (["--docs", "200", "--repeat", "1"], "identical ids from all three engines for every document"),
    "tokenizer_memory.py": (["--docs", "200", "--rebuild-mb", "0,1", "--batch-docs", "50"], "identical ids in every"),
    "giant_component.py": (["--members", "2000"], "kept: components"),
    "minhash.py": (["--docs", "200", "--check-docs", "50"], "identity checks: passed"),
    "pile_exchanges.py": (["--docs", "2000000", "--partition-docs", "1000"], "| all (one cc round) |"),
    "real_text.py": (["corpus", "--megabytes", "0.5"], "real-text corpus: "),
    "training_order.py": (["--docs", "20000,60000", "--repeat", "1"], "| **whole step** |"),
    "verification.py": (["--megabytes", "1"], "identity checks: passed"),
}
RAY_RUNS = {
    "partitions.py": (
        "--docs 600,1200 --partition-docs 300,100 --preset threshold-true --files 2 --cpus 1".split(),
        "run per document",
    ),
    "export.py": (["--docs", "200", "--num-cpus", "1", "--smoke"], "| litdata |"),
    "dedup_quality.py": (["--megabytes", "1", "--cpus", "1"], "| components (pythia) |"),
    "decontaminate.py": (
        ["--docs", "200", "--eval-docs", "300", "--leaked", "20", "--check-megabytes", "0.5", "--check-evals", "4,4"]
        + ["--cpus", "1"],
        "documents agreeing: 200 of 200",
    ),
    "scaling.py": (
        ["--docs", "200", "--partition-docs", "100", "--repeat", "1", "--shard-mib", "1"],
        "The Pile: not extrapolated from this run",
    ),
    "end_to_end.py": (["--megabytes", "1", "--cpus", "1", "--partition-docs", "100", "--pin"], "pinned to cores"),
    "scale.py": (["--docs", "200", "--cpus", "1", "--partition-docs", "100"], "The Pile: not extrapolated"),
    "faults.py": (["--docs", "200", "--partition-docs", "50", "--smoke"], "killed in"),
    "memory.py": (["--docs", "100,200", "--cpus", "1", "--partition-docs", "50"], "driver peak grows"),
    "s3_sequences.py": (["--docs", "200", "--shard-kib", "256", "--smoke"], "documents files"),
    "profile_stages.py": (["--docs", "200", "--cpus", "1", "--partition-docs", "100"], "Ray start and stop"),
}
"""Each Ray-based script once on a tiny corpus, `--smoke` where it would run several runs: ~10-40 s apiece
(in order of their length, longest first)."""
FULL_RUNS = {
    "faults.py": (["--docs", "400", "--partition-docs", "50"], "killed in"),
    "export.py": (["--docs", "300", "--num-cpus", "1"], "| litdata |"),
    "s3_sequences.py": (["--docs", "300", "--shard-kib", "64"], "documents files"),
}
"""The scripts with `--smoke`, run whole on a tiny corpus (slow: faults alone takes about two minutes)."""
STARTED_ONLY = sorted(RAY_RUNS)
NOT_STARTED = {"datatrove_job.py", "corpus.py", "process_tree.py", "pileline_job.py", "short_documents.py"}


def _run(script: str, args: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    command = [sys.executable, str(BENCHMARKS / script), *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_every_benchmark_script_is_covered():
    scripts = {path.name for path in BENCHMARKS.glob("*.py")}
    assert scripts == set(QUICK_RUNS) | set(RAY_RUNS) | NOT_STARTED


@pytest.mark.parametrize("script", sorted(QUICK_RUNS))
def test_benchmark_runs_on_a_tiny_corpus(script, tmp_path):
    args, expected = QUICK_RUNS[script]
    _assert_ran(_run(script, args, tmp_path, timeout=300), expected)


STARTER = """
import contextlib, io, runpy, sys
root = sys.argv[1]
sys.path.insert(0, root)
for script, args in zip(sys.argv[2::2], sys.argv[3::2]):
    sys.argv = [script, *args.split()]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            runpy.run_path(f"{root}/{script}", run_name="__main__")
            code = 0
        except SystemExit as stop:
            code = stop.code
    print(script, code, out.getvalue()[:40].replace("\\n", " "), sep="\\t", flush=True)
"""


def test_ray_benchmarks_and_the_pileline_job_start():
    """One interpreter imports each Ray-based script and parses `--help` (shared imports keep it quick)."""
    pairs = [value for script in STARTED_ONLY for value in (script, "--help")] + ["pileline_job.py", ""]
    command = [sys.executable, "-c", STARTER, str(BENCHMARKS), *pairs]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr[-3000:]
    results = {script: (code, out) for script, code, out in (line.split("\t") for line in finished.stdout.splitlines())}
    assert set(results) == {*STARTED_ONLY, "pileline_job.py"}
    for script in STARTED_ONLY:
        assert results[script][0] == "0" and results[script][1].startswith("usage:"), (script, results[script])
    assert "pileline_job.py [--memory] MANIFEST.yaml TIMINGS.json" in results["pileline_job.py"][0]


def _distribution(requirement: str) -> str:
    """A requirement's distribution name, normalised (PEP 503)."""
    return re.sub(r"[-_.]+", "-", re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement).group(1)).lower()


def _with_dependencies(names: list[str]) -> set[str]:
    """The installed distributions `names` pull in, themselves included (requirements of extras left out)."""
    seen, pending = set(), list(names)
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            try:
                pending += [_distribution(r) for r in importlib.metadata.requires(name) or [] if "extra ==" not in r]
            except importlib.metadata.PackageNotFoundError:
                continue
    return seen


def optional_paths() -> set[str]:
    """Where the modules live that only the optional extras (and lm_eval, datatrove) install: pileline's own
    requirements split by their `extra ==` marker, each side with its dependencies, and the top-level files and
    folders of the distributions on the extras' side alone (so a copy a default dependency vendors stays importable:
    Ray ships its own psutil)."""
    requires = importlib.metadata.requires("pileline")
    default = _with_dependencies([_distribution(r) for r in requires if "extra ==" not in r])
    extras = _with_dependencies([_distribution(r) for r in requires if "extra ==" in r] + ["lm-eval", "datatrove"])
    installed = {str(Path(sysconfig.get_paths()[kind]).resolve()) for kind in ("purelib", "platlib")}
    paths = set()
    for distribution in importlib.metadata.distributions():
        if str(Path(distribution.locate_file("")).resolve()) not in installed:
            continue  # a copy another package vendors (Ray's psutil), found once that package put it on sys.path
        if _distribution(distribution.metadata["Name"]) in extras - default:
            for file in distribution.files or []:
                if file.parts[0] != ".." and not file.parts[0].endswith(".dist-info"):
                    paths.add(str(distribution.locate_file(file.parts[0])))
    return paths


WITHOUT_EXTRAS = """
import contextlib, importlib.abc, importlib.machinery, io, os, runpy, sys
root, blocked = sys.argv[1], set(sys.argv[2].split(os.pathsep))


def is_blocked(spec):
    where = spec.origin if spec.has_location else next(iter(spec.submodule_search_locations or []), None)
    return bool(where) and any(where == b or where.startswith(b + os.sep) for b in blocked)


class Uninstalled(importlib.abc.MetaPathFinder):
    # The first copy of the module outside the extras' files (Ray puts its own psutil on sys.path), else none.
    def find_spec(self, name, path=None, target=None):
        found_blocked = False
        for entry in path if path is not None else sys.path:
            spec = importlib.machinery.PathFinder.find_spec(name, [entry])
            if spec is not None and not is_blocked(spec):
                return spec
            found_blocked |= spec is not None
        if found_blocked:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


sys.meta_path.insert(0, Uninstalled())
sys.path[:] = [root] + [entry for entry in sys.path if entry not in ("", os.getcwd())]  # not a ray/ in the cwd
for script in sys.argv[3:]:
    sys.argv = [script, "--help"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        try:
            runpy.run_path(f"{root}/{script}", run_name="__main__")
            code = 0
        except SystemExit as stop:
            code = stop.code
        except Exception as error:
            code = repr(error).replace("\\t", " ")
    print(script, code, out.getvalue()[:40].replace("\\n", " "), sep="\\t", flush=True)
"""


def test_every_benchmark_help_answers_without_the_optional_extras():
    """`--help` of every script, in an interpreter where the modules only the extras install cannot be imported."""
    blocked = optional_paths()
    assert {"rensa", "lm_eval", "pytest", "hypothesis", "torch"} <= {Path(path).name for path in blocked}
    libraries = {"corpus.py", "process_tree.py", "short_documents.py"}
    scripts = sorted(path.name for path in BENCHMARKS.glob("*.py") if path.name not in libraries)
    command = [sys.executable, "-c", WITHOUT_EXTRAS, str(BENCHMARKS), os.pathsep.join(sorted(blocked)), *scripts]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr[-3000:]
    results = {script: (code, out) for script, code, out in (line.split("\t") for line in finished.stdout.splitlines())}
    assert set(results) == set(scripts)
    for script, (code, out) in results.items():
        assert code == "0", (script, code)
        assert out.startswith("usage:") or script == "pileline_job.py", (script, out)


RUNS_AT_ONCE = 2
"""Ray-based scripts run side by side: much of their time is waiting (Ray and worker start-up), so two at once
on a two-core machine take less wall time than one after another."""


def _assert_ran(finished: subprocess.CompletedProcess, expected: str) -> None:
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert expected in finished.stdout


@pytest.fixture(scope="module")
def ray_runs(tmp_path_factory) -> dict[str, Future]:
    """Every Ray-based script started on its tiny corpus, `RUNS_AT_ONCE` at a time, longest first."""
    root = tmp_path_factory.mktemp("ray-benchmarks")
    with ThreadPoolExecutor(max_workers=RUNS_AT_ONCE) as pool:
        runs = {}
        for script, (args, _) in RAY_RUNS.items():
            (root / script).mkdir()
            runs[script] = pool.submit(_run, script, [*args, "--work", str(root / script / "work")], root / script, 900)
        yield runs


@pytest.mark.parametrize("script", sorted(RAY_RUNS))
def test_ray_benchmark_runs_on_a_tiny_corpus(script, ray_runs):
    _assert_ran(ray_runs[script].result(), RAY_RUNS[script][1])


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(FULL_RUNS))
def test_ray_benchmark_runs_whole_on_a_tiny_corpus(script, tmp_path):
    args, expected = FULL_RUNS[script]
    _assert_ran(_run(script, [*args, "--work", str(tmp_path / "work")], tmp_path, timeout=900), expected)
