"""The repository passes `ruff check` with the configuration in pyproject.toml (CI runs it through this test).

Only the project's own files are linted: the Python files git tracks, so a virtual environment made inside the
checkout under any name (README's test command run in `venv2/` or `env/`) is never linted.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def tracked_python_files(root: Path) -> list[str]:
    """The `.py` files git tracks under `root` that exist in the work tree, relative to it."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--", "*.py"], cwd=root, capture_output=True, check=True, timeout=60
    )
    names = [name for name in listed.stdout.decode().split("\0") if name]
    return [name for name in names if (root / name).is_file()]


def ruff_check(root: Path) -> subprocess.CompletedProcess:
    """`ruff check` of the project's own Python files under `root`."""
    command = [sys.executable, "-m", "ruff", "check", "--no-cache", "--force-exclude", *tracked_python_files(root)]
    return subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=120)


def test_ruff_check_is_clean():
    finished = ruff_check(ROOT)
    assert finished.returncode == 0, finished.stdout + finished.stderr
    assert len(tracked_python_files(ROOT)) > 100


def test_a_virtual_environment_inside_the_checkout_is_not_linted(tmp_path):
    """A checkout with a clean tracked module and, in `venv2/`, an untracked script ruff would flag."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, timeout=60)
    (tmp_path / "module.py").write_text('"""A clean module."""\n\nVALUE = 1\n')
    (tmp_path / "venv2" / "bin").mkdir(parents=True)
    (tmp_path / "venv2" / "bin" / "tool.py").write_text("import os\n")
    subprocess.run(["git", "add", "module.py"], cwd=tmp_path, check=True, timeout=60)
    everything = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=tmp_path, capture_output=True, text=True
    )
    assert everything.returncode == 1 and "venv2" in everything.stdout
    assert tracked_python_files(tmp_path) == ["module.py"]
    assert ruff_check(tmp_path).returncode == 0
