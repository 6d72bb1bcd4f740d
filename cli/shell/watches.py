"""The shell's watches: zkCli's single default watcher, kept as :class:`client.Watch` objects.

zkCli.sh registers one watcher object for everything, so the Java client's
``ZKWatchManager`` holds at most one entry per (table, path), and a server notification is
printed once however many tables it matches. :class:`ShellWatches` keeps the same tables —
``data`` (get -w), ``exist`` (stat -w), ``child`` (ls -w), ``persistent`` and ``recursive``
(addWatch) — each entry an open client watch:

* a one-shot entry prints its first event and is then dropped (the client would re-arm it;
  zkCli's watch is spent);
* persistent entries stay until ``removewatches``;
* when several entries saw the same notification it is printed once (:func:`merge_events`).

Events are collected by :meth:`ShellWatches.collect`, which the shell calls after every
command: the client queues a notification before the reply that follows it, so the events a
command causes are printed right after its output, in a stable order.
"""

from __future__ import annotations

import contextlib
import enum

import attrs

from cli.shell import wire
from client import Client, Watch, WatchKind
from client.errors import NoWatcher, ZooKeeperError
from znode.events import EventType
from znode.opcodes import WatcherType


class Kind(enum.Enum):
    """The Java client's watch tables."""

    DATA = "data"
    EXIST = "exist"
    CHILD = "child"
    PERSISTENT = "persistent"
    RECURSIVE = "recursive"


_CLIENT_KIND = {
    Kind.DATA: WatchKind.DATA,
    Kind.EXIST: WatchKind.EXISTS,
    Kind.CHILD: WatchKind.CHILDREN,
    Kind.PERSISTENT: WatchKind.PERSISTENT,
    Kind.RECURSIVE: WatchKind.PERSISTENT_RECURSIVE,
}
ONE_SHOT = frozenset({Kind.DATA, Kind.EXIST, Kind.CHILD})

# Which tables removeWatches looks in (ZKWatchManager.containsWatcher) and which it empties.
_LOOKS_IN: dict[WatcherType, tuple[Kind, ...]] = {
    WatcherType.CHILDREN: (Kind.CHILD, Kind.PERSISTENT, Kind.RECURSIVE),
    WatcherType.DATA: (Kind.DATA, Kind.EXIST, Kind.PERSISTENT, Kind.RECURSIVE),
    WatcherType.ANY: tuple(Kind),
}
_REMOVES: dict[WatcherType, tuple[Kind, ...]] = {
    WatcherType.CHILDREN: (Kind.CHILD,),
    WatcherType.DATA: (Kind.DATA, Kind.EXIST),
    WatcherType.ANY: tuple(Kind),
}
_REMOVED_EVENT = {
    Kind.CHILD: EventType.CHILD_WATCH_REMOVED,
    Kind.DATA: EventType.DATA_WATCH_REMOVED,
    Kind.EXIST: EventType.DATA_WATCH_REMOVED,
    Kind.PERSISTENT: EventType.PERSISTENT_WATCH_REMOVED,
    Kind.RECURSIVE: EventType.PERSISTENT_WATCH_REMOVED,
}

Event = tuple[EventType, str]


def merge_events(streams: list[list[Event]]) -> list[Event]:
    """One list of notifications from what several watches saw, each printed once.

    Every stream is in arrival order, and a notification that matched several watches
    appears in each of their streams; the shortest list that contains every stream in
    order is what the server sent. Greedy: take the head of the first stream that has one,
    and consume it from every stream whose head it also is.
    """
    queues = [list(stream) for stream in streams if stream]
    merged: list[Event] = []
    while queues:
        head = queues[0][0]
        merged.append(head)
        for queue in queues:
            if queue and queue[0] == head:
                queue.pop(0)
        queues = [queue for queue in queues if queue]
    return merged


@attrs.define
class _Entry:
    kind: Kind
    path: str
    watch: Watch


class ShellWatches:
    """The default watcher's registrations on one connection (see the module docstring)."""

    def __init__(self) -> None:
        self._entries: dict[tuple[Kind, str], _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def paths(self, kind: Kind) -> list[str]:
        """The paths holding a ``kind`` watch, sorted."""
        return sorted(path for k, path in self._entries if k is kind)

    async def add(self, zk: Client, kind: Kind, path: str) -> Watch | None:
        """Arm a ``kind`` watch on ``path``; ``None`` when one is already there.

        The new watch's arming read is on its ``stat`` / ``data`` / ``children``.

        Raises:
            NoNode: a ``data`` or ``child`` watch on a missing node (nothing is armed).
        """
        if (kind, path) in self._entries:
            return None
        watch = zk.watch(path, _CLIENT_KIND[kind])
        await watch.__aenter__()
        self._entries[kind, path] = _Entry(kind, path, watch)
        return watch

    async def _drop(self, key: tuple[Kind, str]) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            await entry.watch.__aexit__(None, None, None)

    async def collect(self) -> list[Event]:
        """Take every event received so far: spent one-shot watches are dropped."""
        streams: list[list[Event]] = []
        for key, entry in list(self._entries.items()):
            events: list[Event] = []
            ended = False
            while entry.watch.queued > 0 and not ended:
                try:
                    event = await entry.watch.__anext__()
                except (StopAsyncIteration, ZooKeeperError):
                    ended = True
                    break
                if event.type is EventType.NONE:
                    continue  # a reconnect; the shell prints the state change itself
                events.append((event.type, event.path))
                ended = entry.kind in ONE_SHOT
            if ended:
                await self._drop(key)
            streams.append(events)
        return merge_events(streams)

    async def remove(
        self, zk: Client, path: str, which: WatcherType, *, local: bool
    ) -> list[EventType]:
        """removewatches: drop ``which`` watches on ``path`` here and on the server.

        Returns the ``...WatchRemoved`` events the default watcher gets, one per kind of
        table emptied. With ``local`` the local watches go even if the server fails.

        Raises:
            NoWatcher: no such watch here (or, without ``local``, on the server).
        """
        if not any((kind, path) in self._entries for kind in _LOOKS_IN[which]):
            raise NoWatcher(path=path)
        try:
            await wire.remove_watches(zk, path, which)
        except ZooKeeperError:
            if not local:
                raise
        removed: list[EventType] = []
        for kind in _REMOVES[which]:
            if (kind, path) in self._entries:
                await self._drop((kind, path))
                if _REMOVED_EVENT[kind] not in removed:
                    removed.append(_REMOVED_EVENT[kind])
        if not removed:
            raise NoWatcher(path=path)
        return removed

    async def clear(self) -> None:
        """Forget every watch (the connection is going away)."""
        for key in list(self._entries):
            with contextlib.suppress(ZooKeeperError):
                await self._drop(key)
