"""Crash safety: acknowledged writes survive SIGKILL; torn tails recover; damage is reported."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from kazoo.client import KazooClient

from server.storage.txn_log import list_segments
from support.zabkeeper_proc import ZABKEEPER, ZabkeeperServer


def connect(server: ZabkeeperServer) -> KazooClient:
    client = KazooClient(hosts=server.hosts, timeout=10.0)
    client.start(timeout=10)
    return client


def close(client: KazooClient) -> None:
    client.stop()
    client.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path


def test_acknowledged_writes_survive_sigkill(data_dir: Path) -> None:
    server = ZabkeeperServer(data_dir=data_dir, force_sync=True).start()
    try:
        client = connect(server)
        client.create("/d", b"root")
        # many pipelined writes, so group commit covers several per fsync
        pending = [client.create_async(f"/d/n{i}", str(i).encode()) for i in range(1500)]
        acked = [p.get(timeout=30) for p in pending]
        client.set("/d", b"last")
        server.kill()  # right after the last acknowledgement: no shutdown at all
        close(client)
        server.start()
        client = connect(server)
        assert sorted(client.get_children("/d")) == sorted(p.rsplit("/", 1)[1] for p in acked)
        assert client.get("/d/n1499")[0] == b"1499"
        assert client.get("/d")[0] == b"last"
        close(client)
    finally:
        server.cleanup()


def test_restart_after_snapshots_keeps_everything(data_dir: Path) -> None:
    server = ZabkeeperServer(data_dir=data_dir, extra_config={"snapCount": "100"}).start()
    try:
        client = connect(server)
        for i in range(450):
            client.create(f"/s{i}", b"x" * (i % 7))
        client.set("/s7", b"changed")
        close(client)
        server.kill()
        snapshots = sorted((data_dir / "data").glob("snapshot.*"))
        assert snapshots, "snapCount=100 must have produced snapshots"
        server.start()
        client = connect(server)
        assert len([c for c in client.get_children("/") if c.startswith("s")]) == 450
        assert client.get("/s7")[0] == b"changed"
        assert client.get("/s6")[0] == b"x" * 6
        close(client)
    finally:
        server.cleanup()


def _newest_segment(data_dir: Path) -> Path:
    segments = list_segments(data_dir / "data")
    assert segments
    return segments[-1][1]


def _records_end(segment: Path) -> int:
    raw = segment.read_bytes()
    return len(raw.rstrip(b"\x00"))


def test_torn_tail_is_truncated_with_a_warning(data_dir: Path) -> None:
    server = ZabkeeperServer(data_dir=data_dir).start()
    try:
        client = connect(server)
        client.create("/kept", b"v")
        close(client)
        server.stop()
        segment = _newest_segment(data_dir)
        end = _records_end(segment)
        with open(segment, "r+b") as handle:  # half a record: length + crc + a few bytes
            handle.seek(end)
            handle.write(b"\x00\x00\x00\x40\x12\x34\x56\x78\x93\x01\x02")
        server.start()
        client = connect(server)
        assert client.get("/kept")[0] == b"v"
        close(client)
        assert "truncating a torn record" in server.log_tail()
    finally:
        server.cleanup()


def test_flipped_byte_mid_log_stops_startup_naming_file_and_offset(data_dir: Path) -> None:
    server = ZabkeeperServer(data_dir=data_dir).start()
    try:
        client = connect(server)
        for i in range(5):
            client.create(f"/n{i}", b"payload")
        close(client)
        server.stop()
        segment = _newest_segment(data_dir)
        raw = bytearray(segment.read_bytes())
        first_body = 16 + 8  # segment header, then the first record's length and CRC
        raw[first_body + 3] ^= 0xFF
        segment.write_bytes(bytes(raw))
        server.write_config()
        done = subprocess.run(
            [ZABKEEPER, "server", "--config", str(data_dir / "zoo.cfg")],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert done.returncode == 1
        last = done.stderr.strip().splitlines()[-1]
        assert last == f"error: {segment}: offset 16: record fails its CRC or length check"
        assert "Traceback" not in done.stderr
    finally:
        server.cleanup()


def test_cli_reports_a_bad_config_line_with_exit_code_2(tmp_path: Path) -> None:
    cfg = tmp_path / "zoo.cfg"
    cfg.write_text("tickTime=2000\nclientPort=notaport\n")
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "server", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().startswith(f"error: {cfg}:2: invalid value for clientPort")
