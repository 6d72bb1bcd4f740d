"""The session states a client goes through, and async iteration over them.

::

    CONNECTING ──► CONNECTED ◄──► SUSPENDED
        │              │              │
        ├──────────────┴──► EXPIRED ◄─┘      (EXPIRED is also called LOST)
        ▼                      │
      CLOSED ◄─────────────────┘             (from every state)

``SUSPENDED`` means the connection dropped and the client is resuming the session on some
server; the session, its ephemeral nodes and its watches are still alive. ``EXPIRED`` means
they are gone and the client is dead; ``CLOSED`` that the client was closed.
"""

from __future__ import annotations

import enum
import math
from types import TracebackType

import trio

from client.errors import UsageError


class State(enum.Enum):
    """A client's session state."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    SUSPENDED = "suspended"
    EXPIRED = "expired"
    LOST = "expired"  # noqa: PIE796 - an alias: kazoo's name for the same state
    CLOSED = "closed"


ALLOWED_TRANSITIONS: dict[State, frozenset[State]] = {
    State.CONNECTING: frozenset({State.CONNECTED, State.EXPIRED, State.CLOSED}),
    State.CONNECTED: frozenset({State.SUSPENDED, State.EXPIRED, State.CLOSED}),
    State.SUSPENDED: frozenset({State.CONNECTED, State.EXPIRED, State.CLOSED}),
    State.EXPIRED: frozenset({State.CLOSED}),
    State.CLOSED: frozenset(),
}


class StateMachine:
    """The current state, checked transitions, and the streams that follow them."""

    def __init__(self) -> None:
        self.state = State.CONNECTING
        self._streams: list[StateStream] = []

    def move(self, new: State) -> None:
        """Enter ``new`` (no-op if already there) and tell every stream.

        Raises:
            UsageError: the move is not in :data:`ALLOWED_TRANSITIONS`.
        """
        if new is self.state:
            return
        if new not in ALLOWED_TRANSITIONS[self.state]:
            raise UsageError(f"cannot go from {self.state.name} to {new.name}")
        self.state = new
        for stream in list(self._streams):
            stream._push(new)

    def stream(self) -> StateStream:
        """A new stream starting with the current state."""
        stream = StateStream(self)
        self._streams.append(stream)
        stream._push(self.state)
        return stream

    def _forget(self, stream: StateStream) -> None:
        if stream in self._streams:
            self._streams.remove(stream)


class StateStream:
    """Async iterator over state changes: the current state first, then every change.

    It ends after ``CLOSED``. Use it as ``async with client.states() as states:`` to stop
    following early, or plain ``async for state in client.states():`` until the close.
    """

    def __init__(self, machine: StateMachine) -> None:
        self._machine = machine
        self._send, self._receive = trio.open_memory_channel[State](math.inf)

    def _push(self, state: State) -> None:
        try:
            self._send.send_nowait(state)
        except trio.ClosedResourceError:  # pragma: no cover - closed streams are forgotten
            return
        if state is State.CLOSED:
            self.close()

    def close(self) -> None:
        """Stop following (the states already queued are still delivered)."""
        self._machine._forget(self)
        self._send.close()

    def next_nowait(self) -> State | None:
        """The next queued state without waiting (``None``: none queued or stream ended).

        Safe from any thread once the client's trio loop has finished.
        """
        try:
            return self._receive.receive_nowait()
        except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
            return None

    def __aiter__(self) -> StateStream:
        return self

    async def __anext__(self) -> State:
        try:
            return await self._receive.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise StopAsyncIteration from None

    async def __aenter__(self) -> StateStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
        self._receive.close()


__all__ = ["ALLOWED_TRANSITIONS", "State", "StateMachine", "StateStream"]
