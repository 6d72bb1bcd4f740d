"""Watches as async iterators, and the registry that routes notifications to them.

``async with client.watch(path, kind) as events:`` arms the watch (the read that arms it is
done before the block starts, and its result is on :attr:`Watch.stat` / :attr:`Watch.data` /
:attr:`Watch.children`), then ``async for event in events`` yields :class:`WatchEvent` values
in the order the server sent them. Guarantees:

* **An event is queued before the reply that follows it.** The reader dispatches a
  notification before it wakes the caller of a later reply, so after ``await
  client.set(path, ...)`` returns, the event it caused is already in the iterator.
* **One-shot watches re-arm at once.** When a notification consumes the server's watch of a
  ``data``, ``exists`` or ``children`` watch, the reader sends the re-arming read right
  away, ahead of any later request of this client: every change this client makes is seen,
  however slowly the iterator is consumed. The re-arming read refreshes ``stat`` /
  ``data`` / ``children``.
* **No change is missed.** Changes by others between a firing and its re-arming (one round
  trip), or while a re-arming read was lost with its connection, are folded into the fresh
  state; when that state contradicts what the events said, the missing event is
  synthesized (``NODE_DELETED`` for a node gone or replaced by a new one of the same name,
  ``NODE_CREATED``, ``NODE_DATA_CHANGED``, ``NODE_CHILDREN_CHANGED``).
* **Reconnects are invisible.** The protocol re-arms every watch with SetWatches2 from the
  last zxid seen, and the server fires at once what changed while disconnected. The server
  does *not* do this for persistent watches (wire sheet 12.6), so after a reconnect those
  yield one ``WatchEvent(EventType.NONE, path)``: re-read what you need.

A limit of ZooKeeper 3.8 (one watch mode per connection and path): a ``persistent`` and a
``persistent_recursive`` watch on the *same* path of one client do not both work there:
the recursive one wins and the persistent one gets no ``NODE_CHILDREN_CHANGED`` (3.9 and
zabkeeper keep both).

Endings: ``data`` and ``children`` watches end (``StopAsyncIteration``) after yielding
``NODE_DELETED``: the node they watched is gone. ``exists`` and the persistent kinds watch a
path and go on. Every iterator ends when the client closes, and raises
:class:`~znode.errors.SessionExpired` when the session expires.
"""

from __future__ import annotations

import functools
import math
from types import TracebackType

import attrs
import trio

from client.errors import ConnectionLoss, UsageError, ZooKeeperError
from client.errors import error_for as _error_for
from client.protocol import Reply, WatchFired
from client.session import Listener, Session
from client.watch_table import EVENT_TYPES, ONE_SHOT, WatchKind
from znode.errors import ErrorCode
from znode.events import EventType
from znode.opcodes import AddWatchMode, OpCode, WatcherType
from znode.paths import parent_of
from znode.records import (
    AddWatchRequest,
    ExistsRequest,
    ExistsResponse,
    GetChildren2Request,
    GetChildren2Response,
    GetDataRequest,
    GetDataResponse,
    RemoveWatchesRequest,
    Request,
)
from znode.stat import Stat

C, D, DC, CC = (
    EventType.NODE_CREATED,
    EventType.NODE_DELETED,
    EventType.NODE_DATA_CHANGED,
    EventType.NODE_CHILDREN_CHANGED,
)


@attrs.frozen
class WatchEvent:
    """A change a watch saw: what happened, at which (client) path."""

    type: EventType
    path: str


@attrs.frozen
class _End:
    error: ZooKeeperError | None


def arming_request(kind: WatchKind, path: str, flag: bool) -> tuple[int, Request]:
    """The read that arms (``flag``) or just refreshes a one-shot watch of ``kind``."""
    if kind is WatchKind.DATA:
        return OpCode.GET_DATA, GetDataRequest(path, flag)
    if kind is WatchKind.CHILDREN:
        return OpCode.GET_CHILDREN2, GetChildren2Request(path, flag)
    return OpCode.EXISTS, ExistsRequest(path, flag)


class WatchRegistry(Listener):
    """Every open :class:`Watch`, by server path; routes notifications and re-arms."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._by_path: dict[str, list[Watch]] = {}
        self._rearming: set[tuple[str, WatchKind]] = set()
        self.ended: _End | None = None

    def add(self, watch: Watch) -> None:
        if self.ended is not None:
            raise self.ended.error or ConnectionLoss("the client is closed")
        self._by_path.setdefault(watch.server_path, []).append(watch)

    def remove(self, watch: Watch) -> None:
        path = watch.server_path
        watchers = self._by_path.get(path, [])
        if watch in watchers:
            watchers.remove(watch)
        if watchers:
            return
        self._by_path.pop(path, None)
        if self.session.protocol.watches.forget(path):
            request = RemoveWatchesRequest(path, WatcherType.ANY)
            self.session.send_and_forget(OpCode.REMOVE_WATCHES, request)

    def watchers(self, path: str) -> list[Watch]:
        return list(self._by_path.get(path, ()))

    # --- the listener ------------------------------------------------------------------------

    def on_watch(self, event: WatchFired) -> None:
        try:
            type_ = EventType(event.type)
        except ValueError:
            return
        path = event.path
        client_event = WatchEvent(type_, self.session.chroot.from_server(path))
        for watch in self._by_path.get(path, ()):
            if type_ in EVENT_TYPES[watch.kind]:
                watch._push(client_event)
        if type_ is not CC:
            ancestor = path
            while ancestor != "/":
                ancestor = parent_of(ancestor)
                for watch in self._by_path.get(ancestor, ()):
                    if watch.kind is WatchKind.PERSISTENT_RECURSIVE:
                        watch._push(client_event)
        self.rearm(path)

    def on_connected(self, resumed: bool) -> None:
        for path, watchers in list(self._by_path.items()):
            if resumed:
                for watch in watchers:
                    if watch.kind not in ONE_SHOT:
                        watch._push(WatchEvent(EventType.NONE, watch.path))
            self.rearm(path)

    def on_end(self, error: ZooKeeperError | None) -> None:
        self.ended = _End(error)
        for watchers in self._by_path.values():
            for watch in watchers:
                watch._push(self.ended)

    # --- re-arming ---------------------------------------------------------------------------

    def rearm(self, path: str) -> None:
        """Send the reads that re-arm (or refresh) the one-shot watches on ``path``.

        A watch covered by a persistent one on its path is refreshed without a flag;
        one whose own server watch is still set needs nothing.
        """
        table = self.session.protocol.watches
        for kind in (WatchKind.DATA, WatchKind.EXISTS, WatchKind.CHILDREN):
            if (path, kind) in self._rearming:
                continue
            if not any(w.kind is kind and w.live for w in self._by_path.get(path, ())):
                continue
            flag = table.needs_flag(kind, path)
            if flag and table.armed(kind, path):
                continue
            op, request = arming_request(kind, path, flag)
            callback = functools.partial(self._rearmed, path, kind)
            if self.session.send_and_forget(op, request, callback):
                self._rearming.add((path, kind))
                for watch in self._by_path.get(path, ()):
                    if watch.kind is kind and watch.live:
                        watch._refreshing = watch._refreshing or trio.Event()

    def _rearmed(self, path: str, kind: WatchKind, result: Reply | ZooKeeperError) -> None:
        self._rearming.discard((path, kind))
        for watch in self._by_path.get(path, ()):
            if watch.kind is not kind:
                continue
            # A ZooKeeperError: lost with its connection (re-armed on the next one), or
            # the session ended.
            if watch.live and isinstance(result, Reply):
                watch._refresh(result)
            if watch._refreshing is not None:
                watch._refreshing.set()
                watch._refreshing = None


class Watch:
    """One watch: an async context manager that is also an async iterator of events.

    Create it with :meth:`client.Client.watch`; see the module docstring for the rules.
    """

    def __init__(self, registry: WatchRegistry, path: str, kind: WatchKind | str) -> None:
        self._registry = registry
        self._session = registry.session
        self.path = path
        self.kind = WatchKind(kind)
        self.server_path = self._session.chroot.to_server(path)
        #: the node's Stat at the last (re-)arming; ``None`` when missing or persistent
        self.stat: Stat | None = None
        #: the node's data at the last (re-)arming (``data`` watches)
        self.data: bytes | None = None
        #: the node's children at the last (re-)arming (``children`` watches)
        self.children: list[str] | None = None
        self._send, self._receive = trio.open_memory_channel[WatchEvent | _End](math.inf)
        self._entered = False
        self._armed = False  # the first arming read is done
        self._gone = False  # a data/children watch saw its node deleted
        self._last: EventType | None = None  # the last event since the last arming read
        self._refreshing: trio.Event | None = None  # set when the re-arming read is answered

    @property
    def live(self) -> bool:
        """Whether the registry should keep this one-shot watch armed."""
        return self._armed and not self._gone

    @property
    def queued(self) -> int:
        """How many events (or the ending) are received and not yet taken."""
        return self._receive.statistics().current_buffer_used

    def _push(self, item: WatchEvent | _End) -> None:
        if self._gone:
            return
        if isinstance(item, WatchEvent) and item.type is not EventType.NONE:
            self._last = item.type
            if item.type is D and self.kind in (WatchKind.DATA, WatchKind.CHILDREN):
                self._gone = True
                self._send.send_nowait(item)
                item = _End(None)
        self._send.send_nowait(item)

    # --- arming ------------------------------------------------------------------------------

    async def _arm(self) -> None:
        """The first arming: a read (or addWatch) awaited, retried across reconnects.

        Raises:
            NoNode: a ``data`` or ``children`` watch on a missing node.
            SessionExpired: the session expired meanwhile.
        """
        while True:
            try:
                if self.kind in ONE_SHOT:
                    flag = self._session.protocol.watches.needs_flag(self.kind, self.server_path)
                    reply = await self._session.call(
                        *arming_request(self.kind, self.server_path, flag)
                    )
                    if reply.err and (
                        reply.err != ErrorCode.NONODE or self.kind is not WatchKind.EXISTS
                    ):
                        raise _error_for(reply.err, path=self.path)
                    self._set_state(reply)
                else:
                    await self._add_persistent_watches()
                self._armed = True
                self._last = None
                return
            except ConnectionLoss:
                if self._registry.ended is not None or not self._session.alive:
                    raise
                # Dropped while in flight, or still suspended: wait for the session again.
                await trio.lowlevel.checkpoint()

    async def _add_persistent_watches(self) -> None:
        """addWatch for every persistent kind wanted on this path that is not armed.

        Adding PERSISTENT where PERSISTENT_RECURSIVE was armed replaces it on a 3.8 server,
        so the recursive one is added again after it.
        """
        session, path = self._session, self.server_path
        table = session.protocol.watches
        wanted = {w.kind for w in self._registry.watchers(path)} | {self.kind}
        for kind, mode in (
            (WatchKind.PERSISTENT, AddWatchMode.PERSISTENT),
            (WatchKind.PERSISTENT_RECURSIVE, AddWatchMode.PERSISTENT_RECURSIVE),
        ):
            if kind in wanted and not table.armed(kind, path):
                reply = await session.call(OpCode.ADD_WATCH, AddWatchRequest(path, mode))
                if reply.err:
                    raise _error_for(reply.err, path=self.path)

    def _set_state(self, reply: Reply) -> None:
        response = reply.response
        if isinstance(response, GetDataResponse):
            self.data, self.stat = response.data or b"", response.stat
        elif isinstance(response, GetChildren2Response):
            self.children, self.stat = list(response.children), response.stat
        else:
            self.stat = response.stat if isinstance(response, ExistsResponse) else None

    def _refresh(self, reply: Reply) -> None:
        """A re-arming read answered: reconcile the events with the fresh state."""
        if reply.err and reply.err != ErrorCode.NONODE:
            return  # e.g. NOAUTH now: keep what we had
        before, last = self.stat, self._last
        self._set_state(reply)
        self._last = None
        after = self.stat
        if self.kind is WatchKind.EXISTS:
            existed = before is not None if last is None else last is not D
            if existed != (after is not None):
                self._synthesize(C if after is not None else D)
            elif last is None and before is not None and after is not None:
                if after.czxid != before.czxid:
                    self._synthesize(D)
                    self._synthesize(C)
                elif after.mzxid > before.mzxid:
                    self._synthesize(DC)
        elif after is None or (before is not None and after.czxid != before.czxid):
            self._synthesize(D)  # gone, or replaced by a new node of that name
        elif last is None and before is not None:
            if self.kind is WatchKind.DATA and after.mzxid > before.mzxid:
                self._synthesize(DC)
            elif self.kind is WatchKind.CHILDREN and after.pzxid > before.pzxid:
                self._synthesize(CC)

    def _synthesize(self, type_: EventType) -> None:
        self._push(WatchEvent(type_, self.path))

    # --- the context manager and the iterator ------------------------------------------------

    async def __aenter__(self) -> Watch:
        if self._entered:
            raise UsageError("a Watch can be entered only once")
        self._entered = True
        self._registry.add(self)
        try:
            await self._arm()
        except BaseException:
            self._registry.remove(self)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._registry.remove(self)
        self._gone = True
        self._send.close()
        self._receive.close()

    def __aiter__(self) -> Watch:
        return self

    async def __anext__(self) -> WatchEvent:
        if not self._entered:
            raise UsageError("use the watch as 'async with client.watch(...) as events'")
        try:
            item = await self._receive.receive()
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise StopAsyncIteration from None
        if isinstance(item, WatchEvent):
            if self._refreshing is not None:
                # Hand out the event with the state it led to (one round trip at most).
                await self._refreshing.wait()
            return item
        self._send.send_nowait(item)  # keep ending the same way
        if item.error is not None:
            raise type(item.error)()
        raise StopAsyncIteration

    def __repr__(self) -> str:
        return f"<Watch {self.kind.value} {self.path!r}>"
