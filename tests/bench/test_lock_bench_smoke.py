"""Smoke test of the lock benchmark's code, so it cannot rot: tiny counts, never asserts speeds.

Runs ``benchmarks/lock_bench.py`` as a command, the way it is meant to be run: it starts
its own servers (zabkeeper, and Apache ZooKeeper when installed), measures both clients
and prints the table, the ratios and a JSON summary.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from support.apache_zk import apache_zookeeper_missing

LOCK_BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "lock_bench.py"


def test_lock_bench_measures_both_clients_against_each_server() -> None:
    servers = ["zabkeeper"] if apache_zookeeper_missing() else ["zabkeeper", "zookeeper"]
    command = [sys.executable, str(LOCK_BENCH), "--quick", "--json", "--servers", *servers]
    command += ["--cycles", "20", "--warmup", "2", "--seconds", "0.3", "--clients", "3"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    for server in servers:
        for client_name in ("ours", "kazoo"):
            for mode in ("uncontended", "contended"):
                assert summary["medians"][f"{server}/{client_name}/{mode}"] > 0
        assert set(summary["ratios"][server]) == {"uncontended", "contended"}
        assert f"against {server}" in proc.stdout
    assert "uncontended cycles/s" in proc.stdout
    assert isinstance(summary["target_met"], bool)
