"""Real zabkeeper servers for tests: no JVM, no fake.

* :class:`ServerProcess` / :class:`EnsembleProcess` — a standalone server or an N-server
  ensemble as child processes, with ``kill(sid)`` / ``restart(sid)`` / ``leader()``. Both
  forms: ``with`` and the plain methods block (for any test suite, kazoo's included);
  ``async with`` and the ``*_async`` methods wait without blocking the trio loop, so a
  client in the same run keeps talking meanwhile (``kill`` returns at once in either).
* :func:`running_server` / :func:`running_ensemble` — servers inside the test's own trio
  run (async context managers), for trio test suites.
* :func:`expire_session` / :func:`expire_session_async` — end a client's session from
  outside, the way ZooKeeper's own tests do (a second connection with the same id and
  password closes it).

Every server gets free loopback ports and a temporary directory, and everything started is
stopped and removed on exit, failures included. The pytest plugin
(:mod:`server.pytest_plugin`) wraps these as fixtures.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, Self

import attrs
import trio

__all__ = [
    "EnsembleProcess",
    "ServerProcess",
    "expire_session",
    "expire_session_async",
    "free_ports",
    "running_ensemble",
    "running_server",
]


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports on 127.0.0.1 that nothing listens on right now."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            ports.append(sock.getsockname()[1])
    return ports


def _four_letter(port: int, word: str, timeout: float = 1.0) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(word.encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def _zoo_cfg(settings: Mapping[str, object]) -> str:
    return "".join(f"{key}={value}\n" for key, value in settings.items())


@attrs.define
class _Member:
    sid: int
    directory: Path
    client_port: int
    quorum_port: int = 0
    election_port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def config(self) -> Path:
        return self.directory / "zoo.cfg"

    @property
    def log(self) -> Path:
        return self.directory / "server.log"


class EnsembleProcess:
    """``size`` zabkeeper servers as child processes; ``size=1`` is a standalone server.

    Args:
        size: voting servers (1 = standalone, no ZAB).
        observers: observers besides them.
        tick_time: tickTime in ms (small values make session expiry fast in tests).
        config: more zoo.cfg settings for every server.
        fsync: keep fsync on (off by default: tests rarely need it, and it is slow).
    """

    def __init__(
        self,
        size: int = 3,
        *,
        observers: int = 0,
        tick_time: int = 200,
        config: Mapping[str, object] | None = None,
        fsync: bool = False,
    ) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="zabkeeper-test-"))
        count = size + observers
        ports = free_ports(3 * count)
        self.members = [
            _Member(
                i + 1,
                self.root / f"server{i + 1}",
                client_port=ports[3 * i],
                quorum_port=ports[3 * i + 1],
                election_port=ports[3 * i + 2],
            )
            for i in range(count)
        ]
        base: dict[str, object] = {
            "tickTime": tick_time,
            "initLimit": 10,
            "syncLimit": 5,
            "clientPortAddress": "127.0.0.1",
            "4lw.commands.whitelist": "*",
            "maxClientCnxns": 0,
            "forceSync": "yes" if fsync else "no",
        }
        base.update(config or {})
        servers = {}
        if count > 1 or observers:
            for m in self.members:
                role = ":observer" if m.sid > size else ""
                servers[f"server.{m.sid}"] = (
                    f"127.0.0.1:{m.quorum_port}:{m.election_port}{role};127.0.0.1:{m.client_port}"
                )
        for m in self.members:
            data = m.directory / "data"
            data.mkdir(parents=True)
            if servers:
                (data / "myid").write_text(f"{m.sid}\n")
            settings = dict(base, dataDir=data, clientPort=m.client_port, **servers)
            m.config.write_text(_zoo_cfg(settings))

    @property
    def hosts(self) -> str:
        """The connect string of every server."""
        return ",".join(f"127.0.0.1:{m.client_port}" for m in self.members)

    def host(self, sid: int) -> str:
        return f"127.0.0.1:{self.members[sid - 1].client_port}"

    def start(self, timeout: float = 60.0) -> Self:
        """Start every server and wait until the ensemble serves clients."""
        for m in self.members:
            self._spawn(m)
        self.wait_serving(timeout)
        return self

    def _spawn(self, m: _Member) -> None:
        with open(m.log, "ab") as log:
            m.process = subprocess.Popen(
                [sys.executable, "-m", "cli.main", "server", "--config", str(m.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def wait_serving(self, timeout: float = 60.0, *, sids: list[int] | None = None) -> None:
        """Wait until the given (default: all running) servers answer as part of a quorum."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._serving_now(sids):
                return
            time.sleep(0.05)
        raise TimeoutError(f"ensemble not serving within {timeout}s:\n{self.log_tail(1)}")

    def _serving_now(self, sids: list[int] | None) -> bool:
        wanted = [
            m for m in self.members if m.process is not None and (sids is None or m.sid in sids)
        ]
        for m in wanted:
            if m.process is not None and m.process.poll() is not None:
                raise RuntimeError(f"server {m.sid} exited:\n{self.log_tail(m.sid)}")
        try:
            return all("Mode:" in _four_letter(m.client_port, "srvr") for m in wanted)
        except OSError:
            return False

    def mode(self, sid: int) -> str:
        """``leader``, ``follower``, ``observer``, ``standalone`` — or ``down``."""
        try:
            text = _four_letter(self.members[sid - 1].client_port, "srvr")
        except OSError:
            return "down"
        for line in text.splitlines():
            if line.startswith("Mode: "):
                return line[6:]
        return "not serving"

    def leader(self) -> int | None:
        """The id of the server that says it leads, if any."""
        return next((m.sid for m in self.members if self.mode(m.sid) == "leader"), None)

    def kill(self, sid: int) -> None:
        """SIGKILL one server: no shutdown at all, as in a crash."""
        m = self.members[sid - 1]
        if m.process is not None and m.process.poll() is None:
            m.process.send_signal(signal.SIGKILL)
            m.process.wait()
        m.process = None

    def stop_server(self, sid: int) -> None:
        """Stop one server cleanly (SIGTERM)."""
        m = self.members[sid - 1]
        if m.process is not None and m.process.poll() is None:
            m.process.send_signal(signal.SIGTERM)
            try:
                m.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                m.process.kill()
                m.process.wait()
        m.process = None

    def restart(self, sid: int, timeout: float = 60.0) -> None:
        """Start a stopped or killed server again on its own data."""
        m = self.members[sid - 1]
        if m.process is None:
            self._spawn(m)
        self.wait_serving(timeout, sids=[sid])

    def revive(self, timeout: float = 60.0) -> list[int]:
        """Start again every server that is not running (killed, stopped or crashed), and
        wait until all serve; return their ids."""
        down = self._spawn_down()
        if down:
            self.wait_serving(timeout)
        return down

    def _spawn_down(self) -> list[int]:
        down = [m for m in self.members if m.process is None or m.process.poll() is not None]
        for m in down:
            self._spawn(m)
        return [m.sid for m in down]

    def log_tail(self, sid: int, lines: int = 30) -> str:
        log = self.members[sid - 1].log
        if not log.exists():
            return ""
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Stop every server and delete every directory."""
        for m in self.members:
            self.stop_server(m.sid)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Self:
        try:
            self.start()
            return self
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the same for trio code: the loop keeps running while they wait. They have no
    # timeout of their own (put them in trio.fail_after); ``async with`` allows 60 s to start.

    async def start_async(self) -> Self:
        """:meth:`start`, without blocking the trio loop."""
        for m in self.members:
            self._spawn(m)
        await self.wait_serving_async()
        return self

    async def wait_serving_async(self, *, sids: list[int] | None = None) -> None:
        """:meth:`wait_serving`, without blocking the trio loop."""
        while True:
            if await trio.to_thread.run_sync(self._serving_now, sids, abandon_on_cancel=True):
                return
            await trio.sleep(0.05)

    async def restart_async(self, sid: int) -> None:
        """:meth:`restart`, without blocking the trio loop."""
        m = self.members[sid - 1]
        if m.process is None:
            self._spawn(m)
        await self.wait_serving_async(sids=[sid])

    async def revive_async(self) -> list[int]:
        """:meth:`revive`, without blocking the trio loop."""
        down = self._spawn_down()
        if down:
            await self.wait_serving_async()
        return down

    async def stop_server_async(self, sid: int) -> None:
        """:meth:`stop_server`, without blocking the trio loop."""
        await trio.to_thread.run_sync(self.stop_server, sid)

    async def stop_async(self) -> None:
        """:meth:`stop`, without blocking the trio loop; done even when cancelled."""
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(self.stop)

    async def __aenter__(self) -> Self:
        try:
            with trio.fail_after(60):
                return await self.start_async()
        except BaseException:
            await self.stop_async()
            raise

    async def __aexit__(self, *exc: object) -> None:
        await self.stop_async()


class ServerProcess(EnsembleProcess):
    """One standalone zabkeeper server as a child process."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(1, **kwargs)

    @property
    def port(self) -> int:
        return self.members[0].client_port


@contextlib.asynccontextmanager
async def running_server(
    *, tick_time: int = 200, config: Mapping[str, str] | None = None
) -> AsyncIterator[str]:
    """A standalone server inside this trio run; yields its connect string."""
    from server.config import load_config
    from server.serve import serve

    root = Path(tempfile.mkdtemp(prefix="zabkeeper-test-"))
    settings = {
        "tickTime": str(tick_time),
        "dataDir": str(root),
        "clientPort": "0",
        "clientPortAddress": "127.0.0.1",
        "forceSync": "no",
        "4lw.commands.whitelist": "*",
        "maxClientCnxns": "0",
    }
    settings.update(config or {})
    loaded = load_config(None, settings)
    try:
        async with trio.open_nursery() as nursery:
            running = await nursery.start(serve, loaded.config)
            yield f"127.0.0.1:{running.client_port}"
            nursery.cancel_scope.cancel()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextlib.asynccontextmanager
async def running_ensemble(size: int = 3, *, tick_time: int = 200) -> AsyncIterator[str]:
    """An ``size``-server ensemble inside this trio run; yields its connect string once
    every member serves clients."""
    from server.config import load_config
    from server.quorum_loop import QuorumServer

    root = Path(tempfile.mkdtemp(prefix="zabkeeper-test-"))
    ports = free_ports(3 * size)
    servers = {
        f"server.{i + 1}": (
            f"127.0.0.1:{ports[3 * i + 1]}:{ports[3 * i + 2]};127.0.0.1:{ports[3 * i]}"
        )
        for i in range(size)
    }
    configs = []
    for i in range(size):
        data = root / f"server{i + 1}"
        data.mkdir()
        (data / "myid").write_text(f"{i + 1}\n")
        settings = {
            "tickTime": str(tick_time),
            "dataDir": str(data),
            "clientPort": str(ports[3 * i]),
            "clientPortAddress": "127.0.0.1",
            "forceSync": "no",
            "4lw.commands.whitelist": "*",
            **servers,
        }
        configs.append(load_config(None, settings).config)
    hosts = ",".join(f"127.0.0.1:{ports[3 * i]}" for i in range(size))
    try:
        async with trio.open_nursery() as nursery:
            members = [QuorumServer(config) for config in configs]
            for member in members:
                await nursery.start(member.run)
            with trio.fail_after(60):
                for member in members:
                    await member.wait_serving()
            yield hosts
            nursery.cancel_scope.cancel()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def expire_session(hosts: str, session_id: int, passwd: bytes, timeout: float = 10.0) -> None:
    """End the session ``session_id`` as if it had expired for its client.

    Opens a second connection that resumes the same session (with its password) and
    closes it: the server deletes the session's ephemerals and fires their watches, and
    the original client finds its session gone when it next talks to the server.

    The client's own connection is closed when the session moves to the second one; a
    client that reconnects at once can take the session back before the close arrives,
    and servers of ``hosts`` may be down. Either way this tries again (the next server of
    ``hosts`` each time) until the session is closed or found gone.

    Raises:
        TimeoutError: not done within ``timeout`` seconds.
    """
    addresses = [
        (host, int(port))
        for host, _, port in (a.rpartition(":") for a in hosts.split("/", 1)[0].split(","))
    ]
    deadline = time.monotonic() + timeout
    attempt = 0
    while True:
        host, port = addresses[attempt % len(addresses)]
        attempt += 1
        left = deadline - time.monotonic()
        try:
            _close_session(host, port, session_id, passwd, max(left, 0.1))
            return
        except OSError as exc:  # refused, cut short (ConnectionError), timed out
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"session 0x{session_id:x} not closed within {timeout:g} s: {exc}"
                ) from exc
            time.sleep(0.02)


async def expire_session_async(hosts: str, session_id: int, passwd: bytes) -> None:
    """:func:`expire_session` (giving up after 10 s), without blocking the trio loop."""
    await trio.to_thread.run_sync(expire_session, hosts, session_id, passwd)


def _close_session(host: str, port: int, session_id: int, passwd: bytes, timeout: float) -> None:
    with socket.create_connection((host, port), timeout=timeout) as sock:
        connect = struct.pack(">iqiqi", 0, 0, 30_000, session_id, len(passwd)) + passwd + b"\x00"
        sock.sendall(struct.pack(">i", len(connect)) + connect)
        _protocol, granted = struct.unpack_from(">ii", _read_frame(sock))
        if granted == 0:  # the server answers an unknown session with a zero timeout
            return
        sock.sendall(struct.pack(">iii", 8, 1, -11))  # closeSession
        _read_frame(sock)


def _read_frame(sock: socket.socket) -> bytes:
    head = _read_exactly(sock, 4)
    return _read_exactly(sock, struct.unpack(">i", head)[0])


def _read_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("server closed the connection")
        data += chunk
    return data
