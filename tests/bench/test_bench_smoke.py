"""Smoke tests of the server benchmark's code, so it cannot rot: never asserts speeds.

Runs ``benchmarks/loadgen.py`` (as a command, the way the runner does) for about a second
per op against our server, and feeds the results through the runner's report.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from support.zabkeeper_proc import ZabkeeperServer

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
LOADGEN = BENCHMARKS / "loadgen.py"


@pytest.fixture(scope="module")
def server() -> Iterator[ZabkeeperServer]:
    srv = ZabkeeperServer()
    srv.start()
    try:
        yield srv
    finally:
        srv.cleanup()


def loadgen(server: ZabkeeperServer, *args: str) -> dict[str, Any]:
    assert server.process is not None
    command = [sys.executable, str(LOADGEN), "--hosts", server.hosts, "--json", "--nodes", "50"]
    command += ["--server-pid", str(server.process.pid), *args]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["errors"] == 0, result
    return result


def short(*extra: str) -> tuple[str, ...]:
    return ("--sessions", "4", "--outstanding", "8", "--duration", "1", "--warmup", "0.2", *extra)


@pytest.mark.parametrize("op", ["get", "set", "create", "mix"])
def test_pipelined_op_runs_without_errors(server: ZabkeeperServer, op: str) -> None:
    result = loadgen(server, "--op", op, *short())
    assert result["ops"] > 0
    assert result["ops_per_s"] > 0
    assert 0 < result["p50_ms"] <= result["p99_ms"]
    assert result["loadgen_cpu_pct"] >= 0
    assert "server_cpu_pct" in result


@pytest.mark.parametrize("op", ["get", "set"])
def test_serial_op_runs_without_errors(server: ZabkeeperServer, op: str) -> None:
    result = loadgen(server, "--op", op, "--serial", "--requests", "200")
    assert result["mode"] == "serial"
    assert result["ops"] == 200
    assert 0 < result["p50_ms"] <= result["p99_ms"]


def test_several_generator_processes_sum_up(server: ZabkeeperServer) -> None:
    result = loadgen(server, "--op", "get", "--processes", "2", *short())
    assert result["processes"] == 2
    assert result["ops"] > 0


def load_runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("server_bench", BENCHMARKS / "server_bench.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_runner_report_formats_results(
    server: ZabkeeperServer, capsys: pytest.CaptureFixture[str]
) -> None:
    runner = load_runner()
    side: dict[str, Any] = {"rss_after_loads": {"VmRSS": 1000}}
    for op in runner.PIPELINED_OPS:
        side[op] = loadgen(server, "--op", op, *short("--duration", "0.3"))
    for op in runner.SERIAL_OPS:
        side[f"serial-{op}"] = loadgen(server, "--op", op, "--serial", "--requests", "50")
    rounds = [{"order": ("theirs", "ours"), "ours": side, "theirs": side}]
    status = {"VmRSS": 2000, "Threads": 1}
    rss = {
        w: {"before": status, "after": status, "connect_s": 0.1, "connections": 1}
        for w in ("ours", "theirs")
    }
    args = runner.argparse.Namespace(
        sessions=4, outstanding=8, serial_requests=50, nodes=50, idle_sessions=10
    )
    all_met, invalid = runner.report(args, rounds, rss, print)
    assert invalid == 0
    assert all_met  # the same numbers on both sides meet every target (ratios are 1.0)
    out = capsys.readouterr().out
    for op in (*runner.PIPELINED_OPS, *runner.SERIAL_OPS):
        assert op in out


def test_hot_spots_reads_py_spy_raw_output(tmp_path: Path) -> None:
    runner = load_runner()
    raw = tmp_path / "raw.txt"
    raw.write_text(
        "thread (1): MainThread;main (a.py:1);f (a.py:5) 3\n"
        "thread (2): Trio thread 0;run (t.py:9);g (b.py:7) 1\n"
    )
    text = runner.hot_spots(raw, 5)
    assert "4 non-idle samples (MainThread 75.0%, Trio thread 0 25.0%)" in text
    assert "75.0%  f (a.py:5)" in text
    assert "75.0%  main (a.py:1)" in text
