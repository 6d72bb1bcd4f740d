"""The ``zabkeeper`` command group."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from cli.main import main
from znode.version import __version__


def test_version_flag_prints_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"zabkeeper, version {__version__}\n"


def test_help_describes_the_command() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "ZooKeeper-compatible coordination service" in result.output
    assert "--version" in result.output


def test_console_script_prints_version() -> None:
    script = Path(sys.executable).parent / "zabkeeper"
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"zabkeeper, version {__version__}\n"
