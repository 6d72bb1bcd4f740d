"""Smoke tests of the ensemble benchmark's code, so it cannot rot: never asserts speeds.

The generator's ``--spread`` runs against our own 3-server ensemble; the whole runner runs
once with ``--quick`` and tiny counts against both ensembles (slow, needs Apache ZooKeeper).
"""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from support.apache_zk import require_apache_zookeeper
from support.ensemble_proc import ZabkeeperEnsemble

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
RUNNER = BENCHMARKS / "ensemble_bench.py"


@pytest.fixture(scope="module")
def ensemble() -> Iterator[ZabkeeperEnsemble]:
    with ZabkeeperEnsemble(3, tick_time=500) as e:
        yield e


def received(ensemble: ZabkeeperEnsemble) -> dict[int, int]:
    """Each member's ``Received`` packet count, from ``srvr``."""
    out = {}
    for sid in ensemble.ids:
        match = re.search(r"^Received: (\d+)", ensemble.four_letter(sid, "srvr"), re.MULTILINE)
        assert match, sid
        out[sid] = int(match.group(1))
    return out


def loadgen(ensemble: ZabkeeperEnsemble, *args: str) -> dict[str, Any]:
    pids = ",".join(str(m.process.pid) for m in ensemble.members.values() if m.process)
    command = [sys.executable, str(BENCHMARKS / "loadgen.py"), "--hosts", ensemble.hosts()]
    command += ["--json", "--nodes", "50", "--server-pid", pids, "--op", "get"]
    command += ["--sessions", "6", "--outstanding", "8", "--duration", "0.5", "--warmup", "0.1"]
    proc = subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["errors"] == 0, result
    return result


def test_loadgen_spreads_sessions_over_every_host(ensemble: ZabkeeperEnsemble) -> None:
    before = received(ensemble)
    result = loadgen(ensemble, "--spread")
    after = received(ensemble)
    assert result["hosts"] == 3
    assert "server_cpu_pct" in result  # the three members' CPU, summed
    for sid in ensemble.ids:
        assert after[sid] - before[sid] > result["ops"] / 6, (before, after, result["ops"])


def test_loadgen_without_spread_uses_the_first_host_only(ensemble: ZabkeeperEnsemble) -> None:
    before = received(ensemble)
    result = loadgen(ensemble, "--processes", "2")
    after = received(ensemble)
    first, *others = ensemble.ids
    assert result["hosts"] == 1
    assert after[first] - before[first] > result["ops"]
    for sid in others:
        # The first host's learners see the data nodes' creates (forwarded writes), nothing
        # else; srvr polls count too.
        assert after[sid] - before[sid] < 50, (before, after)


def load_runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ensemble_bench", RUNNER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_load(rate: float) -> dict[str, Any]:
    return {
        "ops_per_s": rate,
        "p50_ms": 1.0,
        "p99_ms": 2.0,
        "loadgen_cpu_pct": 5.0,
        "server_cpu_us_per_op": 10.0,
        "other_cpu_pct": 0.0,
        "errors": 0,
    }


def fake_kill(ms: float) -> dict[str, Any]:
    return {
        "leader": 3,
        "writer_on": 1,
        "old_epoch": 1,
        "new_epoch": 2,
        "failover_ms": ms,
        "disconnect_ms": 2.0,
        "reconnect_ms": ms - 3,
        "kill_wall": 0.0,
        "acks_before": 50,
        "reconnect_attempts": 10,
        "error_replies": {},
        "new_sessions": 0,
    }


def test_report_judges_each_target(capsys: pytest.CaptureFixture[str]) -> None:
    runner = load_runner()
    rounds = [
        {
            "order": ("theirs", "ours"),
            "ours": {op: fake_load(1000) for op in runner.OPS},
            "theirs": {op: fake_load(500 if op == "get" else 1000) for op in runner.OPS},
        }
    ]
    kills = {"ours": [fake_kill(300), fake_kill(400)], "theirs": [fake_kill(500)]}
    args = runner.parse_args(["--quick"])
    all_met, invalid = runner.report(args, rounds, kills, print)
    out = capsys.readouterr().out
    assert (all_met, invalid) == (True, 0), out
    assert re.search(r"^get +1,000 +500 +2\.00 +met", out, re.MULTILINE), out
    assert re.search(r"^ours +350\.0 +300\.0 +400\.0 ", out, re.MULTILINE), out
    assert "ratio ours/theirs 0.70: ours <= theirs met; ours < 1000 ms met" in out

    kills["ours"] = [fake_kill(1200)]
    kills["theirs"] = [fake_kill(1500)]
    all_met, _ = runner.report(args, rounds, kills, print)
    assert not all_met
    assert "ours < 1000 ms MISSED" in capsys.readouterr().out


@pytest.mark.slow
@pytest.mark.interop
def test_quick_run_prints_every_table() -> None:
    require_apache_zookeeper()
    command = [sys.executable, str(RUNNER), "--quick", "--duration", "0.5", "--warmup", "0.2"]
    command += ["--server-warmup", "0", "--kills", "1", "--sessions", "3", "--outstanding", "4"]
    command += ["--nodes", "50"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    for op in ("get", "set", "mix", "create"):
        row = re.search(rf"^{op} +[\d,]+ +[\d,]+ +\d+\.\d\d +(met|MISSED) ", out, re.MULTILINE)
        assert row, out
    for which in ("ours", "theirs"):
        assert re.search(rf"^{which} +\d+\.\d +\d+\.\d +\d+\.\d ", out, re.MULTILINE), out
        assert re.search(rf"kill 1/1 {which} +leader \d killed \(epoch", out), out
    assert re.search(r"^ratio ours/theirs \d+\.\d\d: ours <= theirs (met|MISSED)", out, re.M)
    assert re.search(r"^Targets: (all met|some MISSED)$", out, re.MULTILINE), out
