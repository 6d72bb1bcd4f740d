"""``zabkeeper ensemble``: a local ensemble that serves clients and stops on Ctrl-C."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from kazoo.client import KazooClient

from cli.ensemble import plan_members, status_line, write_configs
from support.ensemble_proc import all_free

ZABKEEPER = str(Path(sys.executable).parent / "zabkeeper")


def free_base_port(count: int = 3) -> int:
    """A base port whose client, quorum and election ports are all free now."""
    for base in range(30000, 60000, 97):
        members = plan_members(count, 0, base, Path())
        if all_free(p for m in members for p in (m.client_port, m.quorum_port, m.election_port)):
            return base
    raise RuntimeError("no free ports")


def test_plan_and_configs(tmp_path: Path) -> None:
    members = plan_members(3, 1, 2181, tmp_path)
    assert [(m.sid, m.client_port, m.observer) for m in members] == [
        (1, 2181, False),
        (2, 2182, False),
        (3, 2183, False),
        (4, 2184, True),
    ]
    write_configs(members, tick_time=500)
    cfg = (tmp_path / "server4" / "zoo.cfg").read_text()
    assert "server.4=127.0.0.1:3185:4185:observer;127.0.0.1:2184" in cfg
    assert (tmp_path / "server2" / "data" / "myid").read_text() == "2\n"
    assert "leader" in status_line(members[0], {"Mode": "leader", "Zxid": "0x1"})
    assert "down" in status_line(members[0], {})


def test_ensemble_command_serves_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    base = free_base_port()
    proc = subprocess.Popen(
        [ZABKEEPER, "ensemble", "--size", "3", "--base-port", str(base), "--dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so cleanup can reach the servers
    )
    try:
        assert proc.stdout is not None
        seen = b""
        deadline = time.monotonic() + 60
        while b" leader " not in seen:
            if time.monotonic() > deadline:
                raise AssertionError("no leader within 60 s:\n" + seen.decode())
            ready, _, _ = select.select([proc.stdout], [], [], 1.0)
            if ready:
                seen += os.read(proc.stdout.fileno(), 65536)
        hosts = f"127.0.0.1:{base},127.0.0.1:{base + 1},127.0.0.1:{base + 2}"
        assert f"connect string: {hosts}" in seen.decode()
        client = KazooClient(hosts=f"127.0.0.1:{base + 1}", timeout=10)
        client.start(timeout=20)
        client.create("/from-the-test", b"ok")
        assert client.get("/from-the-test")[0] == b"ok"
        client.stop()
        client.close()
        os.kill(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
        assert b"ensemble stopped" in out
        # every child is gone: nothing listens on the client ports any more
        for port in (base, base + 1, base + 2):
            with socket.socket() as sock:
                assert sock.connect_ex(("127.0.0.1", port)) != 0
        assert (tmp_path / "server1" / "data" / "epochs").exists()  # --dir keeps the data
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the process group this test created
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
