"""`pileline verify`: re-hash every output a run's manifest.json lists and name any that differ."""

from __future__ import annotations

from pipeline.errors import UserError
from pipeline.formats.run_directory import RunDirectory
from pipeline.formats.run_layout import MANIFEST
from pipeline.runtime.progress import Progress


def verify_run(run_dir: str, progress: Progress) -> list[str]:
    """Problems found (empty when every listed output exists with the recorded sha256)."""
    run = RunDirectory(run_dir)
    if not run.exists(MANIFEST):
        raise UserError(f"{run_dir}: no {MANIFEST}; not a finished pileline run directory")
    outputs: dict[str, str] = run.read_json(MANIFEST)["outputs"]
    problems = []
    progress.start_phase("verify", "files")
    progress.advance(total=len(outputs))
    for path, expected in sorted(outputs.items()):
        if not run.exists(path):
            problems.append(f"{path}: missing")
        elif (actual := run.sha256(path)) != expected:
            problems.append(f"{path}: sha256 {actual} differs from the recorded {expected}")
        progress.advance(done=1)
    progress.finish_phase()
    return problems
