"""An in-memory mirror of a subtree, kept current with one persistent recursive watch.

::

    async with TreeCache(zk, "/services") as cache:
        await cache.wait_synced()
        data, stat = cache.get("/services/web/a1")
        names = cache.children("/services/web")

**How it stays current.** One ``persistent_recursive`` watch on the root is armed before
anything is read; then the whole subtree is read. Every change after the arming leaves an
event (created, data changed, deleted, for the root and each descendant), and each event
makes the cache read the node again: the read returns the node as it is *now*, so events
never need to be applied in any clever order, and a later event for the same node only
reads it once more. A create or delete also changes its parent's Stat (``cversion``,
``numChildren``, ``pzxid``) without an event of its own, so the parent is read again too.

**Reconnects.** The client re-arms the watch on a new connection with SetWatches2, but the
server sends no catch-up events for persistent watches; the watch yields one ``NONE``
event instead, and the cache reads the whole subtree again and replaces its contents (the
events that arrive meanwhile are applied after it, by reading their nodes again).

The cache is an async context manager owning one background task. If the session expires,
that task fails and ``SessionExpired`` is raised from the ``async with`` block.
"""

from __future__ import annotations

import enum
import math
from contextlib import AsyncExitStack
from types import TracebackType

import attrs
import trio

from client.client import Client
from client.errors import ConnectionLoss, NoNode, UsageError
from client.recipes._nodes import join, retry
from client.recipes.supervised import supervised
from client.watch_table import WatchKind
from client.watches import Watch, WatchEvent
from znode.events import EventType
from znode.paths import parent_of
from znode.stat import Stat

__all__ = ["TreeCache", "TreeEvent", "TreeEventType", "TreeEvents"]

_READS_IN_FLIGHT = 32


class TreeEventType(enum.Enum):
    """How a cached node changed."""

    ADDED = "added"
    UPDATED = "updated"
    REMOVED = "removed"


@attrs.frozen
class TreeEvent:
    """A change of the cache's contents (not of the server's: several may be folded)."""

    type: TreeEventType
    path: str


class TreeCache:
    """The subtree at ``path`` (the root included), mirrored; see the module docstring.

    Args:
        client: the connected client.
        path: the subtree's root; it need not exist (the cache is then empty).
    """

    def __init__(self, client: Client, path: str) -> None:
        self.client = client
        self.path = path
        self._nodes: dict[str, tuple[bytes, Stat]] = {}
        self._children: dict[str, set[str]] = {}
        self._watch: Watch | None = None
        self._stack: AsyncExitStack | None = None
        self._loaded = False
        self._stopped = False
        self._waiters: list[trio.Event] = []  # wait_synced() calls to answer
        self._wait_scope: trio.CancelScope | None = None  # around waiting for an event
        self._listeners: list[trio.MemorySendChannel[TreeEvent]] = []

    # --- reading the mirror ----------------------------------------------------------------

    def _check(self, path: str) -> None:
        root = self.path.rstrip("/")
        if path != self.path and not path.startswith(root + "/"):
            raise ValueError(f"{path!r} is outside the cached tree {self.path!r}")

    def get(self, path: str) -> tuple[bytes, Stat] | None:
        """The cached data and Stat of ``path``, or ``None`` if it is not in the cache."""
        self._check(path)
        return self._nodes.get(path)

    def children(self, path: str) -> list[str] | None:
        """The cached children names of ``path`` (sorted), or ``None`` if it is not cached."""
        self._check(path)
        if path not in self._nodes:
            return None
        return sorted(self._children.get(path, ()))

    def __len__(self) -> int:
        """How many nodes are cached."""
        return len(self._nodes)

    @property
    def synced(self) -> bool:
        """Whether the first full read is done."""
        return self._loaded

    async def wait_synced(self) -> None:
        """Return once the cache reflects every change committed before this call.

        The cache's task syncs its server with the leader, which leaves the events of
        every change up to then queued on the watch, and applies exactly those first.

        Raises:
            ConnectionLoss: the client was closed, so the cache stopped following.
        """
        self._running()
        done = trio.Event()
        self._waiters.append(done)
        if self._wait_scope is not None:
            self._wait_scope.cancel()
        await done.wait()
        if self._stopped:
            raise ConnectionLoss("the client is closed: the cache no longer follows")

    def events(self) -> TreeEvents:
        """Follow the cache's changes: ``async with cache.events() as events:``."""
        self._running()
        send, receive = trio.open_memory_channel[TreeEvent](math.inf)
        self._listeners.append(send)
        return TreeEvents(self, send, receive)

    def _running(self) -> Watch:
        if self._watch is None:
            raise UsageError("use the cache as 'async with TreeCache(...) as cache'")
        return self._watch

    # --- keeping it current ----------------------------------------------------------------

    async def _run(self, ready: trio.Event) -> None:
        try:
            async with self.client.watch(self.path, WatchKind.PERSISTENT_RECURSIVE) as watch:
                self._watch = watch
                ready.set()
                await self._reload()
                await self._follow(watch)
        finally:
            self._stopped = True
            for done in self._waiters:
                done.set()

    async def _follow(self, watch: Watch) -> None:
        try:
            while True:
                if self._waiters:
                    await self._answer_waiters(watch)
                event: WatchEvent | None = None
                # wait_synced() cancels this wait; a cancelled receive takes no event.
                with trio.CancelScope() as self._wait_scope:
                    event = await watch.__anext__()
                self._wait_scope = None
                if event is not None:
                    await self._apply(event)
        except StopAsyncIteration:
            return  # the client was closed

    async def _answer_waiters(self, watch: Watch) -> None:
        waiters, self._waiters = self._waiters, []
        await retry(self.client, self.client.sync, self.path)
        # Every event up to the sync is queued now: apply exactly those.
        for _ in range(watch.queued):
            await self._apply(await watch.__anext__())
        for done in waiters:
            done.set()

    async def _apply(self, event: WatchEvent) -> None:
        path = event.path
        if event.type is EventType.NONE:
            await self._reload()
            return
        if event.type is EventType.NODE_DELETED:
            self._remove(path)
        else:
            await self._refresh(path)
        if event.type is not EventType.NODE_DATA_CHANGED and path != self.path:
            await self._refresh(parent_of(path))

    async def _refresh(self, path: str) -> None:
        try:
            data, stat = await retry(self.client, self.client.get, path)
        except NoNode:
            self._remove(path)
            return
        self._put(path, data, stat)

    def _put(self, path: str, data: bytes, stat: Stat) -> None:
        old = self._nodes.get(path)
        if old == (data, stat):
            return
        self._nodes[path] = (data, stat)
        if old is None:
            if path != self.path:
                self._children.setdefault(parent_of(path), set()).add(path.rsplit("/", 1)[1])
            self._emit(TreeEventType.ADDED, path)
        else:
            self._emit(TreeEventType.UPDATED, path)

    def _remove(self, path: str) -> None:
        for name in sorted(self._children.pop(path, ())):
            self._remove(join(path, name))
        if self._nodes.pop(path, None) is None:
            return
        if path != self.path:
            siblings = self._children.get(parent_of(path))
            if siblings is not None:
                siblings.discard(path.rsplit("/", 1)[1])
        self._emit(TreeEventType.REMOVED, path)

    async def _reload(self) -> None:
        """Read the whole subtree and make the cache exactly that."""
        fresh: dict[str, tuple[bytes, Stat]] = {}
        limiter = trio.CapacityLimiter(_READS_IN_FLIGHT)

        async def visit(path: str, nursery: trio.Nursery) -> None:
            async with limiter:
                try:
                    data, stat = await retry(self.client, self.client.get, path)
                    names = await retry(self.client, self.client.children, path)
                except NoNode:
                    return
            fresh[path] = (data, stat)
            for name in names:
                nursery.start_soon(visit, join(path, name), nursery)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(visit, self.path, nursery)
        for path in sorted(self._nodes.keys() - fresh.keys(), reverse=True):
            self._remove(path)
        for path in sorted(fresh):
            self._put(path, *fresh[path])
        self._loaded = True

    def _emit(self, type_: TreeEventType, path: str) -> None:
        event = TreeEvent(type_, path)
        for send in self._listeners:
            send.send_nowait(event)

    # --- the context manager ---------------------------------------------------------------

    async def __aenter__(self) -> TreeCache:
        if self._stack is not None:
            raise UsageError("a TreeCache can be entered only once")
        self._stack = AsyncExitStack()
        await self._stack.enter_async_context(supervised(self._run))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._stack is not None
        try:
            return await self._stack.__aexit__(exc_type, exc, tb)
        finally:
            for send in self._listeners:
                send.close()

    def __repr__(self) -> str:
        return f"<TreeCache {self.path!r}: {len(self._nodes)} nodes>"


class TreeEvents:
    """The changes of a :class:`TreeCache`, in order, from when it was opened."""

    def __init__(
        self,
        cache: TreeCache,
        send: trio.MemorySendChannel[TreeEvent],
        receive: trio.MemoryReceiveChannel[TreeEvent],
    ) -> None:
        self._cache = cache
        self._send = send
        self._receive = receive

    @property
    def queued(self) -> int:
        """How many events are waiting to be taken."""
        return self._receive.statistics().current_buffer_used

    async def __aenter__(self) -> TreeEvents:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._send in self._cache._listeners:
            self._cache._listeners.remove(self._send)
        self._send.close()
        self._receive.close()

    def __aiter__(self) -> TreeEvents:
        return self

    async def __anext__(self) -> TreeEvent:
        try:
            return await self._receive.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise StopAsyncIteration from None
