"""The trio shell around :class:`~client.protocol.ClientProtocol`: one session, kept alive.

:meth:`Session.run` owns the connection loop: pick a server, hand it the protocol's
``connect()`` bytes, and once the session is established run three tasks in the
connection's nursery:

* the **reader** feeds received bytes to the protocol and dispatches its events at once,
  in arrival order: a watch event reaches its iterator before the reply that follows it
  wakes the caller; nothing heard for two thirds of the timeout drops the connection;
* the **writer** sends whatever calls queued, all of it in one ``send_all``;
* the **pinger** pings when nothing was sent for a third of the timeout.

When the connection drops, the requests in flight fail with
:class:`~znode.errors.ConnectionLoss` (they may or may not have been applied), the state
becomes ``SUSPENDED`` and the loop resumes the session on the next server (the protocol's
last zxid seen keeps it off servers that are behind). A server answering "expired", or no
server reachable for 4/3 of the session timeout since the last one was heard from, makes the
session ``EXPIRED``: every waiting call and watch then fails with
:class:`~znode.errors.SessionExpired`.

A call made while ``SUSPENDED`` waits for the session to be resumed, for at most the session
timeout, and then fails with ``ConnectionLoss``.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable

import trio

from client.calls import Call, Listener, ReplyCallback, Wake
from client.errors import (
    AuthFailed,
    ConnectionLoss,
    ProtocolViolation,
    SessionExpired,
    ZooKeeperError,
    error_for,
)
from client.hosts import Address, Chroot, ConnectString, HostRing
from client.protocol import (
    NEED_DATA,
    AuthReply,
    ClientProtocol,
    ConnectionClosed,
    ConnState,
    Reply,
    SessionEstablished,
    WatchFired,
)
from client.protocol import SessionExpired as SessionExpiredEvent
from client.states import State, StateMachine
from znode.opcodes import OpCode
from znode.records import Request

log = logging.getLogger("zabkeeper.client")

OpenStream = Callable[[str, int], Awaitable[trio.abc.Stream]]
__all__ = ["Call", "Listener", "OpenStream", "ReplyCallback", "Session", "Wake"]
_RECEIVE_SIZE = 1 << 16
_DISCONNECTED = (trio.BrokenResourceError, trio.ClosedResourceError, OSError)


class Session:
    """One ZooKeeper session over a sequence of connections (see the module docstring).

    Args:
        hosts: the parsed connect string.
        session_timeout: seconds asked for; the server's answer is :attr:`timeout`.
        read_only: accept read-only servers.
        connect_timeout: seconds :meth:`run` may take to establish the first session.
        open_stream: opens a byte stream to ``(host, port)`` (TCP by default).
        rng: shuffles the hosts and jitters the reconnect pauses.
    """

    def __init__(
        self,
        hosts: ConnectString,
        *,
        session_timeout: float,
        read_only: bool = False,
        connect_timeout: float | None = None,
        open_stream: OpenStream | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.rng = rng or random.Random()
        self.ring = HostRing(hosts.addresses, self.rng)
        self.chroot: Chroot = hosts.chroot
        self.requested_timeout = session_timeout
        self.connect_timeout = session_timeout if connect_timeout is None else connect_timeout
        self.protocol = ClientProtocol(
            timeout_ms=round(session_timeout * 1000), read_only=read_only
        )
        self.states = StateMachine()
        self.listener = Listener()
        self.address: Address | None = None
        self._open_stream: OpenStream = open_stream or trio.open_tcp_stream
        self._calls: dict[int, Call] = {}
        self._auth_calls: deque[Call] = deque()
        self._outbox = bytearray()
        self._wake_writer = Wake()
        self._changed = trio.Event()
        self._closing = False
        self._conn_scope: trio.CancelScope | None = None
        self._last_sent = 0.0
        self._last_heard = 0.0

    # --- facts -------------------------------------------------------------------------------

    @property
    def state(self) -> State:
        return self.states.state

    @property
    def alive(self) -> bool:
        """Whether the session may still be (re)connected: not expired, closed or closing."""
        return not self._closing and self.state in (
            State.CONNECTING,
            State.CONNECTED,
            State.SUSPENDED,
        )

    @property
    def timeout(self) -> float:
        """The negotiated session timeout in seconds (the requested one before connecting)."""
        granted = self.protocol.timeout_ms
        return granted / 1000 if granted else self.requested_timeout

    def _move(self, state: State) -> None:
        self.states.move(state)
        self._changed.set()
        self._changed = trio.Event()

    # --- calls -------------------------------------------------------------------------------

    async def wait_connected(self) -> None:
        """Return once connected; wait at most the session timeout while suspended.

        Raises:
            ConnectionLoss: still not connected after the session timeout, or closed.
            SessionExpired: the session expired.
        """
        with trio.move_on_after(self.timeout):
            while True:
                state = self.state
                if state is State.CONNECTED:
                    return
                if state is State.EXPIRED:
                    raise SessionExpired()
                if state is State.CLOSED or self._closing:
                    raise ConnectionLoss("the client is closed")
                await self._changed.wait()
        raise ConnectionLoss(f"not connected to any server for {self.timeout:g} s")

    async def call(self, op: int, request: Request | None = None) -> Reply:
        """Send one request (waiting for a connection first) and wait for its reply.

        Raises:
            ConnectionLoss: the connection dropped before the reply (the request may have
                been applied), or no connection in time.
            SessionExpired: the session expired.
        """
        if self.state is not State.CONNECTED:  # no cancel scope on the usual path
            await self.wait_connected()
        call = Call()
        self._submit(op, request, call)
        reply = await call.wait()
        assert reply is not None
        return reply

    def send_and_forget(
        self, op: int, request: Request | None = None, callback: ReplyCallback | None = None
    ) -> bool:
        """Send a request nobody awaits, if connected now; return whether it was sent.

        ``callback`` (if any) gets its reply, or its ``ConnectionLoss``/``SessionExpired``,
        from the reader's task, before any later event is dispatched.
        """
        if self.state is not State.CONNECTED:
            return False
        self._submit(op, request, None if callback is None else Call(callback))
        return True

    async def add_auth(self, scheme: str, credential: bytes) -> None:
        """Add an identity to this session; it is re-sent on every reconnect.

        Raises:
            AuthFailed: the server rejected it (and closed the connection).
        """
        await self.wait_connected()
        call = Call()
        self._auth_calls.append(call)
        self._send(self.protocol.add_auth(scheme, credential))
        await call.wait()

    def _submit(self, op: int, request: Request | None, call: Call | None) -> None:
        """Encode and queue a request; ``call`` (if any) gets its reply or failure."""
        xid, data = self.protocol.send(op, request)
        if call is not None:
            self._calls[xid] = call
        self._send(data)

    def _send(self, data: bytes) -> None:
        self._outbox += data
        self._last_sent = trio.current_time()
        self._wake_writer.set()

    # --- the connection loop -----------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Connect, report readiness, then keep the session connected until it ends.

        Raises:
            ConnectionLoss: no server established the session within ``connect_timeout``
                (only before readiness is reported).
        """
        deadline = trio.current_time() + self.connect_timeout
        started = False
        while not self._closing:
            stream = await self._establish(deadline)
            if stream is None:
                if self.state in (State.EXPIRED, State.CLOSED) or self._closing:
                    return
                if not started:
                    raise ConnectionLoss(
                        f"could not connect to any server within {self.connect_timeout:g} s"
                    )
                log.warning("no server reachable while the session could live: expired")
                self.expire()
                return
            if not started:
                task_status.started()
                started = True
            await self._serve(stream)
            deadline = self._last_heard + self.timeout * 4 / 3

    async def _establish(self, deadline: float) -> trio.abc.Stream | None:
        """Try the servers in turn until one establishes the session, or ``deadline``."""
        tried = 0
        while trio.current_time() < deadline and not self._closing:
            address = self.ring.next()
            attempt_deadline = min(deadline, trio.current_time() + self.timeout / len(self.ring))
            with trio.move_on_at(attempt_deadline):
                stream = await self._try(address)
                if stream is not None or self.state is State.EXPIRED:
                    return stream
            tried += 1
            if tried % len(self.ring) == 0:
                pause = self.rng.uniform(0.0, min(0.5, self.timeout / 10))
                await trio.sleep_until(min(deadline, trio.current_time() + pause))
        return None

    async def _try(self, address: Address) -> trio.abc.Stream | None:
        try:
            stream = await self._open_stream(address.host, address.port)
        except OSError as exc:
            log.debug("cannot connect to %s: %s", address, exc)
            return None
        established = False
        try:
            established = await self._handshake(stream)
        except (*_DISCONNECTED, ProtocolViolation) as exc:
            log.debug("connection to %s failed: %s", address, exc)
        finally:
            if not established:
                if self.protocol.state is ConnState.CONNECTING:
                    self.protocol.connection_lost()
                await trio.aclose_forcefully(stream)
        if not established:
            return None
        self.address = address
        return stream

    async def _handshake(self, stream: trio.abc.Stream) -> bool:
        await stream.send_all(self.protocol.connect())
        while True:
            data = await stream.receive_some(_RECEIVE_SIZE)
            self.protocol.receive_data(data)
            event = self.protocol.next_event()
            if event is NEED_DATA:
                continue
            if isinstance(event, SessionEstablished):
                now = trio.current_time()
                self._last_heard = self._last_sent = now
                log.info(
                    "session 0x%x %s, timeout %d ms",
                    event.session_id,
                    "resumed" if event.resumed else "established",
                    event.timeout_ms,
                )
                self._move(State.CONNECTED)
                self.listener.on_connected(event.resumed)
                return True
            if isinstance(event, SessionExpiredEvent):
                self.expire()
            return False

    async def _serve(self, stream: trio.abc.Stream) -> None:
        try:
            async with trio.open_nursery() as nursery:
                self._conn_scope = nursery.cancel_scope
                nursery.start_soon(self._reader, stream)
                nursery.start_soon(self._writer, stream)
                nursery.start_soon(self._pinger)
        finally:
            self._drop_connection()
            self._conn_scope = None
            await trio.aclose_forcefully(stream)

    def _drop_connection(self) -> None:
        """Give up the current connection now (idempotent; its tasks stop soon after).

        The calls in flight fail with ``ConnectionLoss`` and the state becomes
        ``SUSPENDED`` at once, so a call made right after waits for the next connection.
        """
        if self._conn_scope is not None:
            self._conn_scope.cancel()
        self._outbox.clear()
        for xid in self.protocol.connection_lost():
            call = self._calls.pop(xid, None)
            if call is not None:
                call.fail(ConnectionLoss())
        while self._auth_calls:
            self._auth_calls.popleft().fail(ConnectionLoss())
        if self.state is State.CONNECTED and not self._closing:
            log.info("connection to %s lost; resuming the session", self.address)
            self._move(State.SUSPENDED)

    async def _reader(self, stream: trio.abc.Stream) -> None:
        silence = self.timeout * 2 / 3
        try:
            # One scope whose deadline moves, not a new one per receive.
            with trio.CancelScope() as quiet:
                while self._dispatch():
                    quiet.deadline = trio.current_time() + silence
                    data = await stream.receive_some(_RECEIVE_SIZE)
                    self._last_heard = trio.current_time()
                    self.protocol.receive_data(data)
            if quiet.cancelled_caught:
                log.info("nothing heard from %s for 2/3 of the timeout", self.address)
        except (*_DISCONNECTED, ProtocolViolation) as exc:
            log.info("connection to %s failed: %s", self.address, exc)
        self._drop_connection()

    def _dispatch(self) -> bool:
        """Handle every buffered event; ``False`` once the server closed the connection."""
        protocol = self.protocol
        while (event := protocol.next_event()) is not NEED_DATA:
            if isinstance(event, WatchFired):
                self.listener.on_watch(event)
            elif isinstance(event, Reply):
                call = self._calls.pop(event.xid, None)
                if call is not None:
                    call.resolve(event)
            elif isinstance(event, AuthReply):
                self._auth_reply(event)
            elif isinstance(event, ConnectionClosed):
                return False
        return True

    def _auth_reply(self, event: AuthReply) -> None:
        call = None if event.replayed or not self._auth_calls else self._auth_calls.popleft()
        if not event.err:
            if call is not None:
                call.resolve(Reply(-4, OpCode.AUTH, 0, 0, None))
            return
        log.warning("auth scheme %r rejected (code %d)", event.scheme, event.err)
        if call is not None:
            error = error_for(event.err)
            call.fail(error if isinstance(error, AuthFailed) else AuthFailed(str(error)))
        self._drop_connection()  # the server closes it anyway (wire sheet 7.7)

    async def _writer(self, stream: trio.abc.Stream) -> None:
        try:
            while True:
                if self._outbox:
                    data = bytes(self._outbox)
                    self._outbox.clear()
                    await stream.send_all(data)
                await self._wake_writer.wait()
        except _DISCONNECTED as exc:
            log.info("cannot send to %s: %s", self.address, exc)
        self._drop_connection()

    async def _pinger(self) -> None:
        interval = self.timeout / 3
        while True:
            await trio.sleep_until(self._last_sent + interval)
            if trio.current_time() >= self._last_sent + interval:
                self._send(self.protocol.ping())

    # --- endings -----------------------------------------------------------------------------

    def _fail_all(self, make_error: Callable[[], ZooKeeperError]) -> None:
        calls = list(self._calls.values()) + list(self._auth_calls)
        self._calls.clear()
        self._auth_calls.clear()
        for call in calls:
            call.fail(make_error())

    def expire(self) -> None:
        """The session is gone: fail everything waiting with ``SessionExpired``."""
        if self.state in (State.EXPIRED, State.CLOSED):
            return
        log.warning("session 0x%x expired", self.protocol.session_id)
        self.protocol.expire()
        self._move(State.EXPIRED)
        self._drop_connection()
        self._fail_all(SessionExpired)
        self.listener.on_end(SessionExpired())

    async def close(self, grace: float) -> None:
        """Close the session (closeSession, if connected, waiting at most ``grace`` s)."""
        if self.state is State.CLOSED or self._closing:
            return
        self._closing = True
        if self.state is State.CONNECTED:
            with trio.move_on_after(grace, shield=True):
                call = Call()
                self._submit(OpCode.CLOSE_SESSION, None, call)
                with contextlib.suppress(ZooKeeperError):
                    await call.wait()
        self._drop_connection()
        self.protocol.close()
        self._move(State.CLOSED)
        self._fail_all(lambda: ConnectionLoss("the client is closed"))
        self.listener.on_end(None)
