"""Small pieces of the trio shell: reply futures, a wake-up, the session's listener."""

from __future__ import annotations

from collections.abc import Callable

import trio

from client.errors import ZooKeeperError
from client.protocol import Reply, WatchFired


class Wake:
    """A re-armable wake-up for one waiting task, set from synchronous code."""

    def __init__(self) -> None:
        self._event = trio.Event()

    def set(self) -> None:
        self._event.set()

    async def wait(self) -> None:
        await self._event.wait()
        self._event = trio.Event()


ReplyCallback = Callable[[Reply | ZooKeeperError], None]


class Call:
    """A reply future: resolved by the reader, awaited by the caller.

    With a ``callback``, nobody awaits it: the callback gets the reply (or the error)
    synchronously, in the reader's task, in reply order with the events around it.
    """

    __slots__ = ("_callback", "_done", "_error", "_reply")

    def __init__(self, callback: ReplyCallback | None = None) -> None:
        self._callback = callback
        self._done = trio.Event()
        self._reply: Reply | None = None
        self._error: ZooKeeperError | None = None

    def resolve(self, reply: Reply) -> None:
        if self._callback is not None:
            self._callback(reply)
        self._reply = reply
        self._done.set()

    def fail(self, error: ZooKeeperError) -> None:
        if self._callback is not None:
            self._callback(error)
        self._error = error
        self._done.set()

    async def wait(self) -> Reply | None:
        await self._done.wait()
        if self._error is not None:
            raise self._error
        return self._reply


class Listener:
    """What the session tells the watch registry (all called from the reader's task)."""

    def on_watch(self, event: WatchFired) -> None:
        """A notification arrived (before the reply that follows it is dispatched)."""

    def on_connected(self, resumed: bool) -> None:
        """A connection was established (``resumed``: an existing session)."""

    def on_end(self, error: ZooKeeperError | None) -> None:
        """The session ended: expired (``error``) or closed (``None``)."""
