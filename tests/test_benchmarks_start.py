"""Every benchmark script starts, so none can rot unseen (a smoke run: tiny inputs, no timing asserted).

The default suite runs each script that needs no Ray on a tiny corpus to the end, and starts every
other script far enough to import all it uses and parse its command line (`--help`). The Ray-based
scripts run whole on tiny corpora in the `slow` test below (each starts its own Ray, ~10-50 s apiece).
`benchmarks/datatrove_job.py` runs in a datatrove interpreter only (`end_to_end.py --datatrove-python`).
`corpus.py` and `process_tree.py` are libraries of the others.
"""

from __future__ import annotations

import subprocess
import sys
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
    "decontaminate.py": (["--docs", "200", "--eval-docs", "300", "--leaked", "20"], "documents agreeing: 200 of 200"),
}
RAY_RUNS = {
    "dedup_quality.py": (["--docs", "300", "--cpus", "1"], "dedup phase seconds"),
    "end_to_end.py": (["--docs", "300", "--cpus", "1", "--partition-docs", "100"], "identity checks"),
    "profile_stages.py": (["--docs", "300", "--cpus", "1", "--partition-docs", "100"], "Ray start and stop"),
    "memory.py": (["--docs", "300,600", "--cpus", "1", "--partition-docs", "100"], "driver peak grows"),
    "s3_sequences.py": (["--docs", "300", "--shard-kib", "64"], "documents files"),
    "scaling.py": (["--docs", "300", "--partition-docs", "100", "--repeat", "1", "--shard-mib", "1"], "| nodes |"),
    "faults.py": (["--docs", "400", "--partition-docs", "50"], "killed in"),
    "export.py": (["--docs", "300", "--num-cpus", "1"], "| litdata |"),
    "scale.py": (["--docs", "200,400", "--cpus", "1", "--partition-docs", "100"], "after the last phase"),
}
STARTED_ONLY = sorted(RAY_RUNS)
NOT_STARTED = {"datatrove_job.py", "corpus.py", "process_tree.py", "pileline_job.py"}


def _run(script: str, args: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    command = [sys.executable, str(BENCHMARKS / script), *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_every_benchmark_script_is_covered():
    scripts = {path.name for path in BENCHMARKS.glob("*.py")}
    assert scripts == set(QUICK_RUNS) | set(RAY_RUNS) | NOT_STARTED


@pytest.mark.parametrize("script", sorted(QUICK_RUNS))
def test_benchmark_runs_on_a_tiny_corpus(script, tmp_path):
    args, expected = QUICK_RUNS[script]
    finished = _run(script, args, tmp_path, timeout=300)
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert expected in finished.stdout


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
    assert "pileline_job.py MANIFEST.yaml TIMINGS.json" in results["pileline_job.py"][0]


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(RAY_RUNS))
def test_ray_benchmark_runs_on_a_tiny_corpus(script, tmp_path):
    args, expected = RAY_RUNS[script]
    finished = _run(script, [*args, "--work", str(tmp_path / "work")], tmp_path, timeout=900)
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert expected in finished.stdout
