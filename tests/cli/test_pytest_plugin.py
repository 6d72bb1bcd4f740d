"""The pytest plugin runs a sample suite (examples/pytest_plugin) through ``pytest -p``, and
cleans up after failing tests."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: kazoo: 3 tests; zabkeeper's client: 4 async (pytest-trio) and 1 blocking
SAMPLE_TESTS = 8


def _pytest(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "zabkeeper",  # the plugin's entry-point name
            "-q",
            "-p",
            "no:cacheprovider",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
        env=env,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "config",
    [
        pytest.param([], id="repo-config"),  # trio_mode = true, warnings are errors
        pytest.param(["-c", "{ini}", "--rootdir", "{tmp}"], id="bare-project"),  # no trio_mode
    ],
)
def test_sample_suite_passes_with_the_plugin(config: list[str], tmp_path: Path) -> None:
    ini = tmp_path / "pytest.ini"
    ini.write_text("[pytest]\n")
    args = [a.format(ini=ini, tmp=tmp_path) for a in config]
    done = _pytest(*args, str(ROOT / "examples" / "pytest_plugin"), cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = done.stdout.strip().splitlines()[-1]
    assert re.fullmatch(rf"{SAMPLE_TESTS} passed(, \d+ warnings?)? in .*", summary), summary


FAILING_SUITE = """
import json
import os

import pytest


def record(name, ensemble):
    pids = [m.process.pid for m in ensemble.members if m.process is not None]
    with open(os.environ["ZK_RECORD"], "a") as f:
        f.write(json.dumps({"name": name, "root": str(ensemble.root), "pids": pids}) + "\\n")


def test_server_then_failure(zk_server, zk_hosts):
    record("server", zk_server)
    assert zk_hosts == zk_server.hosts
    pytest.fail("fails on purpose")


def test_ensemble_member_killed_then_failure(zk_ensemble):
    record("ensemble", zk_ensemble)
    zk_ensemble.kill(zk_ensemble.leader())
    raise RuntimeError("fails on purpose, a member down")


def test_the_next_test_gets_the_whole_ensemble(zk_ensemble):
    record("revived", zk_ensemble)
    modes = sorted(zk_ensemble.mode(m.sid) for m in zk_ensemble.members)
    assert modes == ["follower", "follower", "leader"]
"""


@pytest.mark.slow
def test_fixtures_clean_up_after_failing_tests(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_failing.py").write_text(FAILING_SUITE)
    temp = tmp_path / "temp"
    temp.mkdir()
    record = tmp_path / "record.jsonl"
    env = dict(os.environ, TMPDIR=str(temp), ZK_RECORD=str(record))

    done = _pytest(str(suite), cwd=suite, env=env)

    entries = [json.loads(line) for line in record.read_text().splitlines()]
    pids = {pid for entry in entries for pid in entry["pids"]}
    alive = [pid for pid in pids if _alive(pid)]
    for pid in alive:  # the leak this test is about: do not leave it behind
        os.kill(pid, signal.SIGKILL)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "2 failed, 1 passed" in done.stdout, output
    assert [entry["name"] for entry in entries] == ["server", "ensemble", "revived"]
    assert len(pids) == 1 + 3 + 1  # the killed leader came back as a new process
    assert alive == []
    assert all(not Path(entry["root"]).exists() for entry in entries)
    assert not list(temp.glob("zabkeeper-test-*"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
