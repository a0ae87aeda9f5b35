"""Driver crash: `pileline run` killed with SIGKILL in each phase, then run again, finishes with the
bytes of an undisturbed run, and never redoes work that was finished before the kill.

The killed runs drive the session's real Ray through `--address`, as a driver on a cluster would;
the phase is recognised by the summary files its tasks write, and the kill lands as soon as the
first one appears, so the phase is still in progress.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import orjson
from run_commands import pileline_run, sample_run_manifest

from pipeline.manifest import load_manifest
from pipeline.phases.runner import run_manifest
from pipeline.runtime.progress import Progress

PHASES = {
    "prepare": "stages/prepare-*/0*.json",
    "dedup shuffle (candidate edges)": "stages/dedup-*/edges/*.json",
    "components": "stages/dedup-*/cc-*/*.json",
    "sequences": "stages/layout-*/sequences/*.json",
}
"""Each phase to kill in, and the summary files that show it has started."""
NEXT = {
    "prepare": "stages/dedup-*/bands/*.json",
    "dedup shuffle (candidate edges)": "stages/dedup-*/cc-*/*.json",
    "components": "stages/dedup-*/labels/*.json",
    "sequences": "manifest.json",
}
"""Files that exist only once the phase is over: none may exist when the kill lands."""


def _write_manifest(root: Path) -> Path:
    return sample_run_manifest(
        root, root / "killed", docs=240, seed=5, partition_docs=40, extra="ray: {max_in_flight: 2}\n"
    )


def _summaries(run_dir: Path) -> dict[str, tuple[int, int]]:
    """Every finished task's summary under stages/, with (inode, mtime) to tell a rewrite."""
    found = {}
    for path in (run_dir / "stages").rglob("*.json"):
        info = path.stat()
        found[str(path.relative_to(run_dir))] = (info.st_ino, info.st_mtime_ns)
    return found


def _kill_when(command: list[str], run_dir: Path, pattern: str) -> int:
    """Start `command`, SIGKILL it as soon as a file matching `pattern` exists; the count of such files then."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        if any(run_dir.glob(pattern)):
            break
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    _, stderr = process.communicate()
    assert process.returncode == -signal.SIGKILL, f"the run ended by itself before the kill: {stderr.decode()[-2000:]}"
    return len(list(run_dir.glob(pattern)))


def test_a_driver_killed_in_every_phase_resumes_to_identical_outputs(tmp_path, ray_instance):
    manifest_path = _write_manifest(tmp_path)
    run_dir = tmp_path / "killed"
    address = ray_instance.get_runtime_context().gcs_address
    command = pileline_run(manifest_path, "--quiet", "--address", address)

    finished_before: dict[str, tuple[int, int]] = {}
    for phase, pattern in PHASES.items():
        started = _kill_when(command, run_dir, pattern)
        assert started >= 1, f"the kill meant for {phase} landed before it began"
        time.sleep(0.5)  # tasks of the dead driver are stopped by Ray; let any that were finishing land
        assert not list(run_dir.glob(NEXT[phase])), f"the kill meant for {phase} landed after it ended"
        finished_before.update(_summaries(run_dir))

    resumed = subprocess.run(command, check=False, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    rewritten = [path for path, stamp in finished_before.items() if _summaries(run_dir).get(path) != stamp]
    assert not rewritten, f"work finished before a kill was done again: {rewritten[:5]}"
    reused = dict(re.findall(r"(tokens: sequences) (\d+)/", resumed.stdout))
    killed_sequences = sum(1 for path in finished_before if "/sequences/" in path)
    assert int(reused.get("tokens: sequences", 0)) >= killed_sequences > 0, resumed.stdout
    assert re.search(r"tasks: [\d,]+ computed, [\d,]+ reused", resumed.stdout)

    clean = run_manifest(load_manifest(manifest_path, {"output": str(tmp_path / "clean")}), Progress(quiet=True))
    assert clean.reused_partitions == 0
    killed_outputs = orjson.loads((run_dir / "manifest.json").read_bytes())["outputs"]
    clean_outputs = orjson.loads((tmp_path / "clean" / "manifest.json").read_bytes())["outputs"]
    assert killed_outputs == clean_outputs
    assert any(path.startswith("tokens/sequences-") for path in clean_outputs)
    leftovers = [name for _, _, names in os.walk(run_dir) for name in names if ".tmp" in name]
    assert not leftovers, leftovers
