"""The shell's watches, kept as zkCli's single default watcher sees them.

zkCli.sh registers one watcher object for everything, so the Java client's
``ZKWatchManager`` holds at most one entry per (table, path) and a notification is printed
once however many tables it matches. :class:`ShellWatches` keeps the same five tables —
``data`` (get -w, stat -w on a node), ``exist`` (stat -w on a missing node), ``child``
(ls -w), ``persistent`` and ``recursive`` (addWatch) — with the Java client's rules:

* a table entry is added (or removed, for removewatches) when the reply arrives, so a
  notification the server sent before that reply does not see it;
* a notification removes the one-shot entries it fires (``materialize``) and is printed
  if any entry matched, persistent ones and recursive ones on an ancestor included.

Watches are set on the server with the reads themselves (:mod:`cli.shell.wire`, watch flag
on), and frames come from :mod:`cli.shell.tap` in arrival order: notifications, and
``None`` for each reply. Nothing is printed here; :meth:`ShellWatches.take_events` hands
out what should be.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from cli.shell import wire
from cli.shell.tap import Frame
from client import Client
from client.errors import NoWatcher, ZooKeeperError
from znode.events import EventType
from znode.opcodes import AddWatchMode, WatcherType
from znode.paths import parent_of
from znode.stat import Stat


class Kind(enum.Enum):
    """The Java client's watch tables."""

    DATA = "data"
    EXIST = "exist"
    CHILD = "child"
    PERSISTENT = "persistent"
    RECURSIVE = "recursive"


# Which tables removeWatches looks in (ZKWatchManager.containsWatcher) and which it empties.
_LOOKS_IN: dict[WatcherType, tuple[Kind, ...]] = {
    WatcherType.CHILDREN: (Kind.CHILD, Kind.PERSISTENT, Kind.RECURSIVE),
    WatcherType.DATA: (Kind.DATA, Kind.EXIST, Kind.PERSISTENT, Kind.RECURSIVE),
    WatcherType.ANY: tuple(Kind),
}
_REMOVES: dict[WatcherType, tuple[Kind, ...]] = {
    WatcherType.CHILDREN: (Kind.CHILD,),
    WatcherType.DATA: (Kind.DATA, Kind.EXIST),
    WatcherType.ANY: (Kind.CHILD, Kind.DATA, Kind.EXIST, Kind.PERSISTENT, Kind.RECURSIVE),
}
_REMOVED_EVENT = {
    Kind.CHILD: EventType.CHILD_WATCH_REMOVED,
    Kind.DATA: EventType.DATA_WATCH_REMOVED,
    Kind.EXIST: EventType.DATA_WATCH_REMOVED,
    Kind.PERSISTENT: EventType.PERSISTENT_WATCH_REMOVED,
    Kind.RECURSIVE: EventType.PERSISTENT_WATCH_REMOVED,
}
_MODES = {
    Kind.PERSISTENT: AddWatchMode.PERSISTENT,
    Kind.RECURSIVE: AddWatchMode.PERSISTENT_RECURSIVE,
}

Event = tuple[EventType, str]


def ancestry(path: str) -> list[str]:
    """``path`` and each of its parents up to ``/`` (Java's ``PathParentIterator.forAll``)."""
    paths = [path]
    while path != "/":
        path = parent_of(path)
        paths.append(path)
    return paths


class ShellWatches:
    """The default watcher's tables on one connection (see the module docstring)."""

    def __init__(self) -> None:
        self._tables: dict[Kind, set[str]] = {kind: set() for kind in Kind}
        self._frames: list[Frame] = []  # received, not yet applied
        self._applied = 0  # frames applied before self._frames[0]
        self._events: list[Event] = []

    def paths(self, kind: Kind) -> list[str]:
        """The paths holding a ``kind`` watch, sorted."""
        return sorted(self._tables[kind])

    def contains(self, path: str, which: WatcherType) -> bool:
        """Whether removewatches of ``which`` finds something on ``path``."""
        return any(path in self._tables[kind] for kind in _LOOKS_IN[which])

    # --- frames ------------------------------------------------------------------------------

    def on_frame(self, frame: Frame) -> None:
        """A frame was received (called by the tap, in arrival order)."""
        self._frames.append(frame)

    def mark(self) -> int:
        """A position in the frame stream: take it before sending a request."""
        return self._applied + len(self._frames)

    def _apply(self, count: int) -> None:
        for frame in self._frames[:count]:
            if frame is not None:
                type_, path = frame
                try:
                    event = EventType(type_)
                except ValueError:
                    continue
                if self._materialize(event, path):
                    self._events.append((event, path))
        del self._frames[:count]
        self._applied += count

    def at_reply(self, mark: int, action: Callable[[], None]) -> None:
        """Apply the frames up to the reply to the request sent at ``mark``, then ``action``.

        The shell sends one request at a time, so that reply is the first after ``mark``.
        """
        start = max(mark - self._applied, 0)
        reply = next((i for i in range(start, len(self._frames)) if self._frames[i] is None), None)
        self._apply(len(self._frames) if reply is None else reply + 1)
        action()

    def _materialize(self, event: EventType, path: str) -> bool:
        tables = self._tables
        hit = False
        if event in (EventType.NODE_CREATED, EventType.NODE_DATA_CHANGED, EventType.NODE_DELETED):
            for kind in (Kind.DATA, Kind.EXIST):
                hit |= path in tables[kind]
                tables[kind].discard(path)
        if event in (EventType.NODE_CHILDREN_CHANGED, EventType.NODE_DELETED):
            hit |= path in tables[Kind.CHILD]
            tables[Kind.CHILD].discard(path)
        if event not in (
            EventType.NODE_CREATED,
            EventType.NODE_DATA_CHANGED,
            EventType.NODE_DELETED,
            EventType.NODE_CHILDREN_CHANGED,
        ):
            return False
        recursive = tables[Kind.RECURSIVE]
        return hit or path in tables[Kind.PERSISTENT] or any(p in recursive for p in ancestry(path))

    def take_events(self) -> list[Event]:
        """Apply every frame received so far; return the notifications to print."""
        self._apply(len(self._frames))
        events, self._events = self._events, []
        return events

    def clear(self) -> None:
        """Forget every watch (the connection is going away)."""
        for table in self._tables.values():
            table.clear()
        self._frames.clear()
        self._events.clear()

    # --- requests that set or remove watches -------------------------------------------------

    def register(self, kind: Kind, path: str) -> None:
        """Add a ``kind`` entry for ``path`` now (requests use :meth:`at_reply` for this)."""
        self._tables[kind].add(path)

    def _register(self, kind: Kind, path: str) -> Callable[[], None]:
        return lambda: self.register(kind, path)

    async def get_data(
        self, zk: Client, path: str, *, chroot: bool = True
    ) -> tuple[bytes | None, Stat]:
        """getData with a watch (a data watch once the node's data is returned)."""
        mark = self.mark()
        result = await wire.get_data(zk, path, watch=True, chroot=chroot)
        self.at_reply(mark, self._register(Kind.DATA, path))
        return result

    async def exists(self, zk: Client, path: str) -> Stat | None:
        """exists with a watch: a data watch on a node, an exist watch on a missing one."""
        mark = self.mark()
        stat = await wire.exists(zk, path, watch=True)
        self.at_reply(mark, self._register(Kind.DATA if stat is not None else Kind.EXIST, path))
        return stat

    async def children(self, zk: Client, path: str) -> tuple[list[str], Stat]:
        """getChildren with a watch."""
        mark = self.mark()
        result = await wire.children(zk, path, watch=True)
        self.at_reply(mark, self._register(Kind.CHILD, path))
        return result

    async def add_watch(self, zk: Client, path: str, kind: Kind) -> None:
        """addWatch: a ``persistent`` or ``recursive`` watch."""
        mark = self.mark()
        await wire.add_watch(zk, path, _MODES[kind])
        self.at_reply(mark, self._register(kind, path))

    async def remove(
        self, zk: Client, path: str, which: WatcherType, *, local: bool
    ) -> list[EventType]:
        """removewatches: drop ``which`` watches on ``path`` on the server and here.

        Returns the ``...WatchRemoved`` events the default watcher gets, one per kind of
        table emptied. With ``local`` the local watches go even if the server fails.

        Raises:
            NoWatcher: no such watch here (or, without ``local``, on the server).
        """
        if not self.contains(path, which):
            raise NoWatcher(path=path)
        removed: list[EventType] = []

        def drop() -> None:
            for kind in _REMOVES[which]:
                if path in self._tables[kind]:
                    self._tables[kind].discard(path)
                    if _REMOVED_EVENT[kind] not in removed:
                        removed.append(_REMOVED_EVENT[kind])

        mark = self.mark()
        try:
            await wire.remove_watches(zk, path, which)
        except ZooKeeperError:
            if not local:
                self.at_reply(mark, lambda: None)
                raise
        self.at_reply(mark, drop)
        if not removed:
            raise NoWatcher(path=path)
        return removed
