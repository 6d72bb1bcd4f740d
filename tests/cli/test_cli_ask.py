"""``zabkeeper four`` and ``zabkeeper status`` against a running server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from cli.ask import Row, make_row, render_table, split_hosts
from cli.main import main
from support.zabkeeper_proc import ZabkeeperServer


@pytest.fixture(scope="module")
def server() -> Iterator[ZabkeeperServer]:
    with ZabkeeperServer() as running:
        yield running


def test_four_prints_the_answer(server: ZabkeeperServer) -> None:
    result = CliRunner().invoke(main, ["four", "ruok", "--server", server.hosts])
    assert result.exit_code == 0
    assert result.output == "imok\n"
    result = CliRunner().invoke(main, ["four", "srvr", "--server", server.hosts])
    assert "Mode: standalone" in result.output


def test_four_unreachable_server_is_one_line_and_non_zero() -> None:
    result = CliRunner().invoke(main, ["four", "ruok", "--server", "127.0.0.1:1"])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert result.output.startswith("Error: 127.0.0.1:1:")


def test_four_rejects_a_word_of_the_wrong_length() -> None:
    result = CliRunner().invoke(main, ["four", "ruokay"])
    assert result.exit_code == 2


def test_status_table(server: ZabkeeperServer) -> None:
    result = CliRunner().invoke(main, ["status", "--server", f"{server.hosts},127.0.0.1:1"])
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == [
        "server",
        "mode",
        "zxid",
        "epoch",
        "conns",
        "outstanding",
        "latency",
        "min/avg/max",
        "znodes",
        "watches",
    ]
    assert lines[1].split()[:2] == [server.hosts, "standalone"]
    assert lines[2].split() == ["127.0.0.1:1", "down"] + ["-"] * 7


def test_rows_from_srvr_and_mntr() -> None:
    srvr = (
        "Zookeeper version: x\nLatency min/avg/max: 0/0.5/3\nReceived: 1\nSent: 1\n"
        "Connections: 2\nOutstanding: 0\nZxid: 0x300000007\nMode: leader\nNode count: 9\n"
    )
    row = make_row("h:1", srvr, "zk_version\tx\nzk_watch_count\t4\n")
    assert row == Row("h:1", "leader", "0x300000007", "3", "2", "0", "0/0.5/3", "9", "4")
    assert (
        make_row("h:1", "This ZooKeeper instance is not currently serving requests\n", None).mode
        == "not serving"
    )
    assert "leader" in render_table([row])
    assert split_hosts("a:1,b:2/chroot") == [("a", 1), ("b", 2)]
    assert split_hosts("[::1]:2181") == [("::1", 2181)]
