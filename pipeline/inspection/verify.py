"""`pileline verify`: re-hash every output a run's manifest.json lists (and, asked to, every input) and
name any that differ or are missing."""

from __future__ import annotations

from pipeline.errors import UserError
from pipeline.formats.filesystems import expand_inputs, location_name, resolve
from pipeline.formats.run_directory import RunDirectory, stream_sha256
from pipeline.formats.run_layout import MANIFEST
from pipeline.runtime.progress import Progress


def verify_run(run_dir: str, progress: Progress, inputs: bool = False) -> list[str]:
    """Problems found (empty when every listed output, and with `inputs` every input, has the recorded sha256)."""
    run = RunDirectory(run_dir)
    if not run.exists(MANIFEST):
        raise UserError(f"{run_dir}: no {MANIFEST}; not a finished pileline run directory")
    record = run.read_json(MANIFEST)
    outputs: dict[str, str] = record["outputs"]
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
    if inputs:
        problems += _verify_inputs(record, progress)
    return problems


def _locations(manifest: dict) -> dict[str, str]:
    """Each input the manifest's patterns name now, by its recorded name (a URI's connection query is
    not recorded, so it is taken from the patterns); a pattern that names nothing adds nothing."""
    splits = manifest.get("splits") or {}
    patterns = manifest["inputs"] + (manifest["dedup"].get("holdout") or []) + [p for f in splits.values() for p in f]
    found = {}
    for pattern in patterns:
        try:
            found.update((location_name(location), location) for location in expand_inputs([pattern]))
        except UserError:
            continue
    return found


def _verify_inputs(record: dict, progress: Progress) -> list[str]:
    """Re-hash each input manifest.json records; problems name the changed and the missing ones."""
    locations = _locations(record["manifest"])
    problems = []
    progress.start_phase("verify inputs", "files")
    progress.advance(total=len(record["inputs"]))
    for entry in record["inputs"]:
        path = entry["path"]
        location = locations.get(path)
        if location is None:
            problems.append(f"{path}: input missing")
        else:
            filesystem, inner = resolve(location)
            with filesystem.open_input_stream(inner, compression=None) as stream:
                actual = stream_sha256(stream)
            if actual != entry["sha256"]:
                problems.append(f"{path}: input changed: sha256 {actual} differs from the recorded {entry['sha256']}")
        progress.advance(done=1)
    progress.finish_phase()
    return problems
