"""Each recipe example runs as a command against a server the test started, and succeeds."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from support.real_server import RealServer

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
EXPECTED = {
    "lock.py": "final count 20 of 20 increments",
    "election.py": "3 terms, each by one leader",
    "rwlock.py": "torn reads: 0",
    "semaphore.py": "at most 2 of 6 workers at once",
    "barrier.py": "0 went early, 3 went after the barrier was removed",
    "double_barrier.py": "every member started before any finished",
}


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_example_runs(zabkeeper_server: RealServer, script: str) -> None:
    path = f"/examples-{Path(script).stem}"
    command = [sys.executable, str(EXAMPLES / script), "--hosts", zabkeeper_server.hosts]
    proc = subprocess.run(
        [*command, "--path", path], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert EXPECTED[script] in proc.stdout
