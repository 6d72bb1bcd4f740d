"""Failover time of a 3-server ensemble: kill -9 the leader, time until writes succeed again.

One measurement (:func:`measure_kill`), defined the same way for every implementation:

1. the ensemble is settled: every member up, one leader, all at one zxid;
2. a :class:`Writer` opens a session on the follower with the lowest id and issues
   ``setData`` (version -1, 100 bytes) in a loop, one request outstanding; after at least
   ``min_acks`` acknowledged writes and ``steady`` seconds, the epoch of its last reply's
   zxid is the old epoch;
3. the leader is sent SIGKILL; the clock starts just before the signal;
4. whenever the writer's connection drops (or a reply does not come within
   ``reply_timeout``), it reconnects to the same member every ``retry_interval`` (10 ms),
   resuming its session (id, password, last zxid seen), and sends the next write;
5. the clock stops at the first reply with ``err == 0`` whose zxid has a newer epoch: a write
   the new leader committed. Replies with an error are counted and the write is retried.

The writer also notes when its connection dropped and when its session was back, which
splits the time into "noticed" (kill -> disconnect), "session back" (-> reconnected) and
"first write" (-> the new-epoch acknowledgement). Afterwards the writer closes its session,
the killed member is restarted, and the caller waits for a quorum of all members.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import loadgen

from znode.codec import decode_connect_response, encode_connect_request
from znode.records import ConnectRequest

_REPLY = struct.Struct(">iqi")  # xid, zxid, err
_LENGTH = struct.Struct(">i")  # a frame's length; a request's or reply's xid


class FailoverError(Exception):
    """The ensemble did not serve writes again in time, or the writer failed."""


@dataclass
class KillResult:
    """One kill: times are milliseconds after the SIGKILL."""

    leader: int
    writer_on: int
    old_epoch: int
    new_epoch: int
    failover_ms: float
    disconnect_ms: float | None
    reconnect_ms: float | None
    kill_wall: float
    acks_before: int
    reconnect_attempts: int
    error_replies: dict[int, int] = field(default_factory=dict)
    new_sessions: int = 0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        out = dict(self.__dict__)
        out["error_replies"] = {str(k): v for k, v in self.error_replies.items()}
        return out


class Writer:
    """A client session on one member issuing setData in a loop, one request outstanding."""

    def __init__(
        self,
        address: tuple[str, int],
        path: str,
        *,
        session_timeout_ms: int = 10_000,
        retry_interval: float = 0.01,
        reply_timeout: float = 30.0,
    ) -> None:
        self.address = address
        self.frame = loadgen.set_frame(path, loadgen.value_bytes(100))
        self.session_timeout_ms = session_timeout_ms
        self.retry_interval = retry_interval
        self.reply_timeout = reply_timeout
        self.acks: list[tuple[float, int]] = []  # (perf_counter at the reply, zxid)
        self.disconnects: list[float] = []
        self.reconnects: list[float] = []
        self.errors: Counter[int] = Counter()
        self.attempts = 0
        self.new_sessions = 0
        self.failure: str | None = None
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._buf = b""
        self._session = (0, bytes(16))
        self._last_zxid = 0
        self._xid = 0
        self._thread = threading.Thread(target=self._run, name="failover-writer", daemon=True)

    def start(self) -> Writer:
        """Open the session (in the caller's thread, so errors surface here) and start."""
        if not self._connect(time.monotonic() + 30):
            raise FailoverError(f"could not open a session at {self.address}")
        self.attempts = self.new_sessions = 0  # count what happens after the start only
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop writing, close the session (closeSession) and the socket."""
        self._stop.set()
        self._thread.join(timeout=self.reply_timeout + 5)
        if self._sock is not None:
            loadgen.close_session(self._sock)
            self._sock = None

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._write_once()
        except Exception as exc:
            self.failure = f"{type(exc).__name__}: {exc}"

    def _write_once(self) -> None:
        assert self._sock is not None
        self._xid += 1
        _LENGTH.pack_into(self.frame, 4, self._xid)
        try:
            self._sock.sendall(self.frame)
            payload = self._reply(self._xid, time.monotonic() + self.reply_timeout)
        except OSError:
            payload = None
        if payload is None:
            if self._stop.is_set():
                return
            self.disconnects.append(time.perf_counter())
            self._drop()
            if not self._connect(time.monotonic() + 60):
                raise FailoverError(f"no session at {self.address} within 60 s")
            self.reconnects.append(time.perf_counter())
            return
        _, zxid, err = _REPLY.unpack_from(payload)
        if err:
            self.errors[err] += 1
            return
        self._last_zxid = max(self._last_zxid, zxid)
        self.acks.append((time.perf_counter(), zxid))

    def _reply(self, xid: int, deadline: float) -> bytes | None:
        """The reply to ``xid`` (skipping pings and notifications); None if the connection
        closed, the deadline passed or the writer was stopped."""
        assert self._sock is not None
        while True:
            payload = self._frame(deadline)
            if payload is None:
                return None
            if _LENGTH.unpack_from(payload)[0] == xid:
                return payload

    def _frame(self, deadline: float) -> bytes | None:
        assert self._sock is not None
        while True:
            if len(self._buf) >= 4:
                (length,) = _LENGTH.unpack_from(self._buf)
                if len(self._buf) >= 4 + length:
                    payload = self._buf[4 : 4 + length]
                    self._buf = self._buf[4 + length :]
                    return payload
            left = deadline - time.monotonic()
            if left <= 0 or self._stop.is_set():
                return None
            self._sock.settimeout(min(left, 0.2))
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                return None
            self._buf += chunk

    def _drop(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._buf = b""

    def _connect(self, deadline: float) -> bool:
        """(Re)open the session at the member, retrying every ``retry_interval``."""
        while time.monotonic() < deadline and not self._stop.is_set():
            self.attempts += 1
            session_id, passwd = self._session
            request = ConnectRequest(
                0, self._last_zxid, self.session_timeout_ms, session_id, passwd, False
            )
            try:
                sock = socket.create_connection(self.address, timeout=1.0)
            except OSError:
                time.sleep(self.retry_interval)
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sock = sock
            try:
                sock.sendall(encode_connect_request(request))
                payload = self._frame(time.monotonic() + 10)
            except OSError:
                payload = None
            if payload is not None:
                response = decode_connect_response(payload)
                if response.timeout > 0 and response.session_id != 0:
                    if response.session_id != session_id:
                        self.new_sessions += 1
                    self._session = (response.session_id, response.passwd)
                    return True
                self._session = (0, bytes(16))  # expired: the next attempt opens a new one
            self._drop()
            time.sleep(self.retry_interval)
        return False


def _epoch(zxid: int) -> int:
    return zxid >> 32


def _wait(condition: Any, timeout: float, what: str, writer: Writer) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if writer.failure:
            raise FailoverError(f"the writer failed: {writer.failure}")
        if time.monotonic() > deadline:
            raise FailoverError(f"{what} not within {timeout} s")
        time.sleep(0.002)


def measure_kill(
    ensemble: Any,
    path: str,
    *,
    min_acks: int = 50,
    steady: float = 0.5,
    timeout: float = 60.0,
) -> KillResult:
    """Kill the settled ``ensemble``'s leader under a follower's writes; restart it after.

    ``ensemble`` is a :class:`support.ensemble_proc.EnsembleBase`; ``path`` must exist.
    Returns when the killed member has been started again (the caller waits for a quorum).
    """
    leader = ensemble.wait_for_quorum(timeout=120)
    writer_on = min(sid for sid in ensemble.voters if sid != leader)
    writer = Writer(("127.0.0.1", ensemble.client_port(writer_on)), path).start()
    try:
        t_start = time.monotonic()
        _wait(
            lambda: len(writer.acks) >= min_acks and time.monotonic() - t_start >= steady,
            timeout,
            "steady writes before the kill",
            writer,
        )
        acks_before = len(writer.acks)
        old_epoch = _epoch(writer.acks[-1][1])
        kill_wall = time.time()
        t_kill = time.perf_counter()
        ensemble.kill(leader)

        def new_epoch_ack() -> bool:
            return any(_epoch(z) > old_epoch for _, z in writer.acks[acks_before:])

        _wait(new_epoch_ack, timeout, "a write acknowledged by a new leader", writer)
    finally:
        writer.stop()
    t_ack, zxid = next((t, z) for t, z in writer.acks[acks_before:] if _epoch(z) > old_epoch)
    after = [t for t in writer.disconnects if t >= t_kill]
    back = [t for t in writer.reconnects if t >= t_kill]
    ensemble.start_member(leader)
    return KillResult(
        leader=leader,
        writer_on=writer_on,
        old_epoch=old_epoch,
        new_epoch=_epoch(zxid),
        failover_ms=1000 * (t_ack - t_kill),
        disconnect_ms=1000 * (after[0] - t_kill) if after else None,
        reconnect_ms=1000 * (back[0] - t_kill) if back else None,
        kill_wall=kill_wall,
        acks_before=acks_before,
        reconnect_attempts=writer.attempts,
        error_replies=dict(writer.errors),
        new_sessions=writer.new_sessions,
    )


def settle(ensemble: Any, pause: float = 0.5) -> None:
    """Wait for a quorum of every member at one zxid, then ``pause`` seconds."""
    ensemble.wait_for_quorum(timeout=120)
    time.sleep(pause)
