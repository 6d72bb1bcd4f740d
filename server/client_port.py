"""The client port: a trio listener and two small tasks per connection.

The reader feeds bytes to the connection's protocol object and its events to the core; the
writer sends whatever the core queued in the connection's outbox, all of it in one
``send_all``. Nothing here decides anything: it moves bytes, waits, and enforces the
transport limits (handshake timeout, connections per IP, global backpressure).
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter
from collections.abc import Callable

import trio

from server.client_conn import ClientConnection, ConnState, FourLetterWord
from server.core import ServerCore
from server.wake import Wake

log = logging.getLogger("zabkeeper.server")

_RECEIVE_SIZE = 1 << 16


class ClientPort:
    """Accepts client connections and runs them against a :class:`ServerCore`.

    Args:
        core: the core the connections talk to (owned by the same trio run).
        clock_ms: the current time in ms (trio's clock, so tests can mock it).
        four_letter: answers a four-letter word (already checked against the whitelist).
        max_per_ip: connections allowed per client address (0: no limit).
        handshake_timeout: seconds a new connection has to send its ConnectRequest.
        outstanding_limit: above this many outstanding requests, stop reading clients.
    """

    def __init__(
        self,
        core: ServerCore,
        *,
        clock_ms: Callable[[], int],
        four_letter: Callable[[str], str],
        max_per_ip: int,
        handshake_timeout: float,
        outstanding_limit: int,
        max_frame: int,
    ) -> None:
        self.core = core
        self.clock_ms = clock_ms
        self.four_letter = four_letter
        self.max_per_ip = max_per_ip
        self.handshake_timeout = handshake_timeout
        self.outstanding_limit = outstanding_limit
        self.max_frame = max_frame
        self.per_ip: Counter[str] = Counter()
        self._ids = itertools.count(1)
        self._capacity = trio.Event()
        self._capacity.set()

    def check_capacity(self) -> None:
        """Call after the core did work: lets readers resume once below the limit."""
        if self.core.outstanding < self.outstanding_limit:
            self._capacity.set()

    async def serve(
        self,
        host: str,
        port: int,
        *,
        task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """Listen on ``host:port`` (0 picks a free port) and report the bound port."""
        listeners = await trio.open_tcp_listeners(port, host=host)
        bound = listeners[0].socket.getsockname()[1]
        log.info("serving clients on %s:%d", host, bound)
        task_status.started(bound)
        await trio.serve_listeners(self.handle, listeners)

    async def handle(self, stream: trio.SocketStream) -> None:
        """Run one client connection until either side closes it."""
        try:
            address, port = stream.socket.getpeername()[:2]
        except OSError:
            await stream.aclose()
            return
        if self.max_per_ip and self.per_ip[address] >= self.max_per_ip:
            log.warning("too many connections from %s (max %d); closing", address, self.max_per_ip)
            await stream.aclose()
            return
        self.per_ip[address] += 1
        conn = ClientConnection(next(self._ids), address, port, max_frame=self.max_frame)
        wake = Wake()
        conn.notify = wake.set
        self.core.open(conn, self.clock_ms())
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(self._write_loop, stream, conn, wake, nursery.cancel_scope)
                await self._read_loop(stream, conn)
                conn.close(conn.close_reason or "client closed the connection")
        finally:
            self.per_ip[address] -= 1
            if not self.per_ip[address]:
                del self.per_ip[address]
            session = conn.session_id
            self.core.lost(conn)
            self.check_capacity()
            if conn.close_reason:
                log.info(
                    "closed connection %s:%d session 0x%x: %s",
                    address,
                    port,
                    session & (2**64 - 1),
                    conn.close_reason,
                )
            await trio.aclose_forcefully(stream)

    async def _read_loop(self, stream: trio.SocketStream, conn: ClientConnection) -> None:
        core = self.core
        deadline = trio.current_time() + self.handshake_timeout
        while conn.is_open:
            if conn.state is not ConnState.HANDSHAKE and core.outstanding >= self.outstanding_limit:
                # Backpressure: stop reading until the core has caught up.
                if self._capacity.is_set():
                    self._capacity = trio.Event()
                await self._capacity.wait()
            with trio.move_on_at(
                deadline if conn.state is ConnState.HANDSHAKE else float("inf")
            ) as scope:
                try:
                    data = await stream.receive_some(_RECEIVE_SIZE)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    return
            if scope.cancelled_caught:
                conn.close("no handshake within the timeout")
                return
            if not data:
                return
            events = conn.receive_data(data)
            if events and isinstance(events[0], FourLetterWord):
                conn.send_text(self.four_letter(events[0].word))
                conn.close(f"four-letter word {events[0].word}")
                return
            if events:
                try:
                    core.receive(conn, events, self.clock_ms())
                except Exception:
                    # A bug must cost this client its connection, not everyone the server.
                    log.exception(
                        "internal error serving %s:%d; closing it", conn.address, conn.port
                    )
                    conn.close("internal error")
                self.check_capacity()

    async def _write_loop(
        self,
        stream: trio.SocketStream,
        conn: ClientConnection,
        wake: Wake,
        scope: trio.CancelScope,
    ) -> None:
        try:
            while True:
                await wake.wait()
                data = conn.take_outbox()
                if data:
                    await stream.send_all(data)
                if conn.state in (ConnState.CLOSING, ConnState.CLOSED) and not conn.outbox:
                    break
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            conn.close("connection reset by peer")
        scope.cancel()
