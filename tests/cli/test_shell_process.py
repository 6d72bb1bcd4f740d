"""``zabkeeper shell`` as a process: exit statuses, stdin scripts, and the interactive shell
driven through a pseudo-terminal (prompt, completion, history across runs, events).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pexpect
import pytest

from server.testing import ServerProcess
from support.zkcli import ZABKEEPER

KEY_UP = "\x1b[A"


@pytest.fixture(scope="module")
def hosts() -> Iterator[str]:
    with ServerProcess() as server:
        yield server.hosts


def run(hosts: str, *args: str, script: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ZABKEEPER, "shell", "-server", hosts, *args],
        input=script,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_process_exit_statuses(hosts: str) -> None:
    created = run(hosts, "create", "/proc", "data")
    assert (created.returncode, created.stderr) == (0, "Created /proc\n")
    got = run(hosts, "get", "/proc")
    assert got.returncode == 0
    assert got.stdout.splitlines()[-1] == "data"
    assert run(hosts, "get", "/proc/none").returncode == 1
    assert run(hosts, "get", "-x", "/proc").returncode == 1
    assert run(hosts, "bogus").returncode == 127
    script = run(hosts, script="ls /proc\nget /proc/none\n")
    assert script.returncode == 1
    assert script.stderr == "Node does not exist: /proc/none\n"
    assert run(hosts, script="delete /proc\nquit\n").returncode == 0


@contextmanager
def terminal(hosts: str, home: Path) -> Iterator[pexpect.spawn]:
    """The shell on a pseudo-terminal, with its history file under ``home``."""
    env = dict(
        os.environ,
        TERM="xterm",
        PROMPT_TOOLKIT_NO_CPR="1",  # the test does not answer cursor position requests
        HOME=str(home),
        ZABKEEPER_HISTORY=str(home / "history"),
    )
    child = pexpect.spawn(
        ZABKEEPER,
        ["shell", "-server", hosts],
        env=env,
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 200),
    )
    try:
        yield child
    finally:
        child.close(force=True)


def test_prompt_and_completion(hosts: str, tmp_path: Path) -> None:
    with terminal(hosts, tmp_path) as zk:
        zk.expect_exact(f"[zk: {hosts}(CONNECTED) 0]")
        # The terminal is redrawn piecewise: what completion inserted comes on its own.
        zk.send("ls /zoo\t")
        zk.expect_exact("keeper")
        zk.send("\r")
        zk.expect_exact("[config, quota]")
        zk.expect_exact(f"[zk: {hosts}(CONNECTED) 1]")
        zk.send("getAl\t")
        zk.expect_exact("lChildrenNumber")
        zk.send(" /zookeeper/q\t")
        zk.expect_exact("uota")
        zk.send("\r")
        zk.expect_exact("0\r\n")
        zk.expect_exact("(CONNECTED) 2]")
        zk.send("quit\r")
        zk.expect(pexpect.EOF)
    assert zk.exitstatus == 0


def test_history_is_kept_across_runs(hosts: str, tmp_path: Path) -> None:
    with terminal(hosts, tmp_path) as zk:
        zk.expect_exact("(CONNECTED) 0]")
        zk.send("create /hist remembered\r")
        zk.expect_exact("Created /hist")
        zk.expect_exact("(CONNECTED) 1]")
        zk.send("get /hist\r")
        zk.expect_exact("remembered")
        zk.expect_exact("(CONNECTED) 2]")
        zk.send("quit\r")
        zk.expect(pexpect.EOF)
    saved = (tmp_path / "history").read_text()
    assert "+create /hist remembered\n" in saved
    assert "+quit\n" in saved
    with terminal(hosts, tmp_path) as zk:
        zk.expect_exact("(CONNECTED) 0]")
        zk.send(KEY_UP)
        zk.expect_exact("quit")
        zk.send(KEY_UP)
        zk.expect_exact("get /hist")
        zk.send("\r")
        zk.expect_exact("remembered")
        zk.expect_exact("(CONNECTED) 1]")
        zk.send("history\r")
        zk.expect_exact("0 - get /hist")
        zk.expect_exact("1 - history")
        zk.expect_exact("(CONNECTED) 2]")
        zk.send("delete /hist\r")
        zk.expect_exact("(CONNECTED) 3]")
        zk.sendeof()
        zk.expect(pexpect.EOF)
    assert zk.exitstatus == 0


def test_events_while_idle_close_and_interrupt(hosts: str, tmp_path: Path) -> None:
    assert run(hosts, "create", "/idle", "0").returncode == 0
    with terminal(hosts, tmp_path) as zk:
        zk.expect_exact("(CONNECTED) 0]")
        zk.send("get -w /idle\r")
        zk.expect_exact("(CONNECTED) 1]")
        # Another session changes the node while the prompt waits for input.
        assert run(hosts, "set", "/idle", "1").returncode == 0
        zk.expect_exact("WatchedEvent state:SyncConnected type:NodeDataChanged path:/idle")
        zk.expect_exact("(CONNECTED) 1]")
        zk.send("half a command")
        zk.sendintr()  # Ctrl-C drops the line, not the shell
        zk.expect_exact("(CONNECTED) 1]")
        # Had the line survived, this would run "half a commandclose".
        zk.send("close\r")
        zk.expect_exact("WatchedEvent state:Closed type:None path:null")
        zk.expect_exact(f"[zk: {hosts}(CLOSED) 2]")
        zk.send("ls /\r")
        zk.expect_exact("Not connected")
        zk.expect_exact("(CLOSED) 3]")
        zk.sendeof()
        zk.expect(pexpect.EOF)
    assert zk.exitstatus == 1  # the last command ("ls /" when closed) failed
    assert run(hosts, "delete", "/idle").returncode == 0


def test_connection_states_are_reported(tmp_path: Path) -> None:
    with ServerProcess(tick_time=1000) as server, terminal(server.hosts, tmp_path) as zk:
        zk.expect_exact("(CONNECTED) 0]")
        server.stop_server(1)
        zk.expect_exact("WatchedEvent state:Disconnected type:None path:null")
        zk.expect_exact("(CONNECTING) 0]")
        server.restart(1)
        zk.expect_exact("WatchedEvent state:SyncConnected type:None path:null")
        zk.expect_exact("(CONNECTED) 0]")
        zk.send("ls /zookeeper\r")
        zk.expect_exact("[config, quota]")
        zk.sendline("quit")
        zk.expect(pexpect.EOF)
