"""The pytest plugin runs a sample suite (examples/pytest_plugin) through ``pytest -p``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_sample_suite_passes_with_the_plugin() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "zabkeeper",  # the plugin's entry-point name
            "-q",
            "-p",
            "no:cacheprovider",
            str(ROOT / "examples" / "pytest_plugin"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout
