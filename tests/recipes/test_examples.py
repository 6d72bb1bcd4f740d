"""Each recipe example runs as a command against a server the test started, and its own
check of the recipe passes (every one exits non-zero if the recipe misbehaved)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from support.real_server import RealServer

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXPECTED = {
    "lock.py": "final count 20 of 20 increments",
    "election.py": "3 terms, each by one leader",
    "rwlock.py": "torn reads: 0",
    "semaphore.py": "at most 2 of 6 workers at once",
    "barrier.py": "0 went early, 3 went after the barrier was removed",
    "double_barrier.py": "every member started before any finished",
    "config_push.py": "3 of 3 subscribers ended on the last version (19), 0 went backwards",
    "service_registry.py": "the watcher saw 4 of 4 instances, then 0; 4 unique names",
    "work_queue.py": (
        "60 items consumed of 60 put: 0 twice, 0 missing, 0 out of order, 0 left in the queue"
    ),
    "counter.py": (
        "final value 100 equals the sum of 40 adds (100); "
        "0 adds returned a value another add returned"
    ),
    "tree_cache.py": "the mirror equalled a fresh read after 4 of 4 rounds of 50 changes",
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


def test_no_example_shadows_a_standard_module() -> None:
    """A script's directory comes first on ``sys.path``: an ``examples/queue.py`` would be
    imported by trio as the standard ``queue`` module, and break every example."""
    names = {script.stem for script in EXAMPLES.glob("*.py")}
    assert not names & sys.stdlib_module_names


def test_every_example_is_run() -> None:
    assert {script.name for script in EXAMPLES.glob("*.py")} == set(EXPECTED)
