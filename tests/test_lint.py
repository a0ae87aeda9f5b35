"""The repository passes `ruff check` with the configuration in pyproject.toml (CI runs it through this test)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_check_is_clean():
    command = [sys.executable, "-m", "ruff", "check", "--no-cache", "."]
    finished = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stdout + finished.stderr
