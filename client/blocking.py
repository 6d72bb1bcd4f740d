"""The client for code that is not async: the same API, blocking.

::

    from client import blocking

    with blocking.connect("127.0.0.1:2181") as zk:
        zk.create("/app", b"x")
        with zk.watch("/app", "data") as events:
            for event in events:
                ...

How it works, and why a thread: the async :class:`~client.Client` needs a running trio
loop, and blocking code cannot lend it one. So :func:`connect` starts **one** background
thread that runs ``trio.run`` with the async client inside it, and every method here hands
its call to that loop with ``trio.from_thread.run`` and blocks until the answer comes
back. This is the one place in zabkeeper where a thread is the right tool: everything in
that thread is still structured trio code, and this module only crosses the boundary.
Calls may come from any number of threads; they are serialized onto the one loop.
"""

from __future__ import annotations

import contextlib
import functools
import queue
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, Generic, Literal, ParamSpec, Self, TypeVar, overload

import trio

from client.client import Client
from client.client import connect as _connect_async
from client.states import State, StateStream
from client.transaction import OpResult, Transaction
from client.watch_table import WatchKind
from client.watches import Watch, WatchEvent
from znode.acl import ACL, OPEN_ACL_UNSAFE
from znode.records import ClientInfo
from znode.stat import Stat

P = ParamSpec("P")
T = TypeVar("T")
A = TypeVar("A", bound=AbstractAsyncContextManager[Any])
_END = object()


class _Portal:
    """Runs coroutine functions on the client's trio loop from other threads."""

    def __init__(self, token: trio.lowlevel.TrioToken) -> None:
        self.token = token

    def run(self, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        return trio.from_thread.run(functools.partial(fn, *args, **kwargs), trio_token=self.token)

    def run_sync(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return trio.from_thread.run_sync(
            functools.partial(fn, *args, **kwargs), trio_token=self.token
        )


async def _next_or_end(iterator: Any, within: float | None) -> Any:
    """The iterator's next item, ``_END`` when it ended, ``None`` after ``within`` s."""
    with trio.move_on_after(float("inf") if within is None else within):
        try:
            return await iterator.__anext__()
        except StopAsyncIteration:
            return _END
    return None


class _Twin(Generic[A]):
    """A blocking wrapper of an async object (its *twin*) on the client's loop.

    ``with`` it enters and leaves the twin there; the blocking clients and recipes build
    on this rather than each crossing to the loop for ``__aenter__`` / ``__aexit__``.
    """

    def __init__(self, portal: _Portal, twin: A) -> None:
        self._portal = portal
        self._twin = twin

    def __enter__(self) -> Self:
        self._portal.run(self._twin.__aenter__)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._portal.run(self._twin.__aexit__, exc_type, exc, tb)


class _IteratingTwin(_Twin[A], Generic[A, T]):
    """A :class:`_Twin` that is also an async iterator: iterate the wrapper to iterate it."""

    _ended = False

    def next(self, timeout: float | None = None) -> T | None:
        """The next item; ``None`` if none came within ``timeout`` seconds.

        Raises:
            StopIteration: the iterator ended, or the client was closed.
        """
        if self._ended:
            raise StopIteration
        try:
            item = self._portal.run(_next_or_end, self._twin, timeout)
        except trio.RunFinishedError:  # the client is closed
            item = _END
        if item is _END:
            self._ended = True
            raise StopIteration
        return item  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        item = self.next()
        assert item is not None
        return item


class BlockingWatch(_IteratingTwin[Watch, WatchEvent]):
    """A :class:`~client.watches.Watch` for blocking code: ``with`` it, iterate it."""

    @property
    def stat(self) -> Stat | None:
        return self._twin.stat

    @property
    def data(self) -> bytes | None:
        return self._twin.data

    @property
    def children(self) -> list[str] | None:
        return self._twin.children

    def next_event(self, timeout: float | None = None) -> WatchEvent | None:
        """The next event; ``None`` if none came within ``timeout`` seconds.

        Raises:
            StopIteration: the watch ended.
            SessionExpired: the session expired.
        """
        return self.next(timeout)


class BlockingStates:
    """Iterate the session states from blocking code (current state first)."""

    def __init__(self, portal: _Portal, stream: StateStream) -> None:
        self._portal = portal
        self._stream = stream

    def __iter__(self) -> Iterator[State]:
        return self

    def __next__(self) -> State:
        try:
            item = self._portal.run(_next_or_end, self._stream, None)
        except trio.RunFinishedError:  # the client is closed: what was queued is all
            item = self._stream.next_nowait() or _END
        if item is _END:
            raise StopIteration
        return item  # type: ignore[no-any-return]

    def close(self) -> None:
        self._portal.run_sync(self._stream.close)


class BlockingTransaction:
    """A :class:`~client.transaction.Transaction` whose commit blocks."""

    def __init__(self, portal: _Portal, txn: Transaction) -> None:
        self._portal = portal
        self._txn = txn

    @property
    def results(self) -> list[OpResult] | None:
        return self._txn.results

    def create(self, path: str, data: bytes = b"", **flags: Any) -> BlockingTransaction:
        self._txn.create(path, data, **flags)
        return self

    def set(self, path: str, data: bytes, version: int = -1) -> BlockingTransaction:
        self._txn.set(path, data, version)
        return self

    def delete(self, path: str, version: int = -1) -> BlockingTransaction:
        self._txn.delete(path, version)
        return self

    def check(self, path: str, version: int) -> BlockingTransaction:
        self._txn.check(path, version)
        return self

    def commit(self) -> list[OpResult]:
        return self._portal.run(self._txn.commit)


class BlockingClient:
    """The :class:`~client.Client` API, blocking; see the module docstring."""

    def __init__(self, portal: _Portal, client: Client, stop: Callable[[], None]) -> None:
        self._portal = portal
        self._client = client
        self._stop = stop

    @property
    def state(self) -> State:
        return self._client.state

    @property
    def session_id(self) -> int:
        return self._client.session_id

    @property
    def session_password(self) -> bytes:
        return self._client.session_password

    @property
    def session_timeout(self) -> float:
        return self._client.session_timeout

    def states(self) -> BlockingStates:
        return BlockingStates(self._portal, self._portal.run_sync(self._client.states))

    def create(
        self,
        path: str,
        data: bytes = b"",
        *,
        ephemeral: bool = False,
        sequential: bool = False,
        container: bool = False,
        ttl: float | None = None,
        acl: Sequence[ACL] = OPEN_ACL_UNSAFE,
        makepath: bool = False,
    ) -> str:
        return self._portal.run(
            self._client.create,
            path,
            data,
            ephemeral=ephemeral,
            sequential=sequential,
            container=container,
            ttl=ttl,
            acl=acl,
            makepath=makepath,
        )

    def get(self, path: str) -> tuple[bytes, Stat]:
        return self._portal.run(self._client.get, path)

    def set(self, path: str, data: bytes, version: int = -1) -> Stat:
        return self._portal.run(self._client.set, path, data, version)

    def delete(self, path: str, version: int = -1, recursive: bool = False) -> None:
        self._portal.run(self._client.delete, path, version, recursive)

    def exists(self, path: str) -> Stat | None:
        return self._portal.run(self._client.exists, path)

    @overload
    def children(self, path: str, *, stat: Literal[False] = False) -> list[str]: ...
    @overload
    def children(self, path: str, *, stat: Literal[True]) -> tuple[list[str], Stat]: ...
    def children(self, path: str, *, stat: bool = False) -> list[str] | tuple[list[str], Stat]:
        if stat:
            return self._portal.run(self._client.children, path, stat=True)
        return self._portal.run(self._client.children, path)

    def transaction(self) -> BlockingTransaction:
        return BlockingTransaction(self._portal, self._client.transaction())

    def sync(self, path: str = "/") -> None:
        self._portal.run(self._client.sync, path)

    def get_acl(self, path: str) -> tuple[list[ACL], Stat]:
        return self._portal.run(self._client.get_acl, path)

    def set_acl(self, path: str, acl: Sequence[ACL], version: int = -1) -> Stat:
        return self._portal.run(self._client.set_acl, path, acl, version)

    def add_auth(self, scheme: str, credential: str | bytes) -> None:
        self._portal.run(self._client.add_auth, scheme, credential)

    def ephemerals(self, prefix: str = "/") -> list[str]:
        return self._portal.run(self._client.ephemerals, prefix)

    def count_descendants(self, path: str) -> int:
        return self._portal.run(self._client.count_descendants, path)

    def whoami(self) -> list[ClientInfo]:
        return self._portal.run(self._client.whoami)

    def watch(self, path: str, kind: WatchKind | str) -> BlockingWatch:
        return BlockingWatch(self._portal, self._client.watch(path, kind))

    def close(self) -> None:
        """Close the session and stop the background thread (idempotent)."""
        self._stop()

    def __enter__(self) -> BlockingClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def connect(
    hosts: str | Sequence[str],
    *,
    session_timeout: float = 10.0,
    auth: Iterable[tuple[str, str | bytes]] = (),
    read_only: bool = False,
    connect_timeout: float | None = None,
) -> BlockingClient:
    """Connect from blocking code; arguments as :func:`client.connect`.

    Returns a :class:`BlockingClient`, usable as ``with blocking.connect(...) as zk:``;
    call :meth:`BlockingClient.close` if you do not use ``with``.

    Raises:
        ConnectionLoss, AuthFailed: as :func:`client.connect`.
    """
    ready: queue.Queue[tuple[Client, trio.lowlevel.TrioToken, trio.Event] | BaseException]
    ready = queue.Queue()

    async def main() -> None:
        stop = trio.Event()
        async with _connect_async(
            hosts,
            session_timeout=session_timeout,
            auth=auth,
            read_only=read_only,
            connect_timeout=connect_timeout,
        ) as client:
            ready.put((client, trio.lowlevel.current_trio_token(), stop))
            await stop.wait()

    def thread_main() -> None:
        try:
            trio.run(main)
        except BaseException as exc:  # reported to connect() if it is still waiting
            ready.put(exc)

    thread = threading.Thread(target=thread_main, name="zabkeeper-client", daemon=True)
    thread.start()
    item = ready.get()
    if isinstance(item, BaseException):
        thread.join()
        raise item
    client, token, stop_event = item
    portal = _Portal(token)
    stopped = threading.Event()

    def stop() -> None:
        if stopped.is_set():
            return
        stopped.set()
        with contextlib.suppress(trio.RunFinishedError):
            portal.run_sync(stop_event.set)
        thread.join()

    return BlockingClient(portal, client, stop)


__all__ = [
    "BlockingClient",
    "BlockingStates",
    "BlockingTransaction",
    "BlockingWatch",
    "connect",
]
