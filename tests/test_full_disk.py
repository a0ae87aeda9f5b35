"""A run directory on a real, size-limited file system (a tmpfs mounted by the test): running out of
space mid-run ends with one line naming the file and what it is, leaves no half-written file under a
final name, and once there is room the same command resumes to the bytes of an undisturbed run."""

from __future__ import annotations

import subprocess
from pathlib import Path

import orjson
import pyarrow.parquet as pq
import pytest
from run_commands import sample_run_manifest

from pipeline.cli.main import main
from pipeline.formats.run_directory import is_temporary
from pipeline.manifest import load_manifest
from pipeline.phases.runner import run_manifest
from pipeline.runtime.progress import Progress


@pytest.fixture
def small_disk(tmp_path):
    """A directory with a tmpfs mounted on it; `resize(bytes)` changes its size in place. Unmounted after."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()

    def mount(options: str) -> None:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount_point)], capture_output=True, text=True
        )
        assert done.returncode == 0, f"this test mounts a small tmpfs and needs root: {done.stderr.strip()}"

    mounted = []

    def resize(size: int) -> None:
        mount(f"remount,size={size}" if mounted else f"size={size}")
        mounted.append(size)

    yield mount_point, resize
    if mounted:
        subprocess.run(["umount", str(mount_point)], check=True)


def _outputs(run_dir: Path) -> dict[str, str]:
    return orjson.loads((run_dir / "manifest.json").read_bytes())["outputs"]


def _size(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file())


def test_a_full_disk_is_one_line_and_the_same_command_resumes_once_there_is_room(
    tmp_path, ray_instance, small_disk, capsys
):
    mount_point, resize = small_disk
    manifest = sample_run_manifest(tmp_path, mount_point / "run", docs=200, seed=29, holdout=False)
    reference = run_manifest(load_manifest(manifest, {"output": str(tmp_path / "reference")}), Progress(quiet=True))
    needed = _size(Path(reference.output))
    resize(needed // 3)

    assert main(["run", str(manifest), "--quiet"]) == 2
    stderr = capsys.readouterr().err
    error = stderr.strip().splitlines()[-1]
    assert error.startswith(f"pileline: error: {mount_point / 'run'}/"), stderr[-3000:]
    assert " no space left while writing " in error and "run the same command again to resume" in error
    assert "Traceback" not in stderr
    assert not (mount_point / "run" / "manifest.json").exists()
    for path in (mount_point / "run").rglob("*"):
        if path.is_file() and not is_temporary(path.name):
            if path.suffix == ".json":
                orjson.loads(path.read_bytes())
            elif path.suffix == ".parquet":
                pq.read_table(path)

    resize(needed * 4)
    assert main(["run", str(manifest), "--quiet"]) == 0, capsys.readouterr().err[-3000:]
    assert _outputs(mount_point / "run") == _outputs(Path(reference.output))
    assert not [path for path in (mount_point / "run").rglob("*") if is_temporary(path.name)]
