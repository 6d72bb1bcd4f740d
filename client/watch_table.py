"""The watches a server holds for this session, as the client must remember them.

Watches belong to a *connection* on the server (wire sheet 3.4, 12.3): when the connection
drops they are gone, and the client re-arms them on the next connection with SetWatches2,
giving its last zxid seen so that the server fires at once whatever changed in between
(12.6). :class:`WatchTable` is the client's copy of the server's tables, kept exactly the
way the server keeps them:

=========================  ===========  ========================================================
server registration        set          removed by
=========================  ===========  ========================================================
getData(watch), exists(w)  ``data``     NodeCreated / NodeDataChanged / NodeDeleted on the path
  on an existing node
exists(watch) on a         ``exist``    the same (it lives in the server's data table)
  missing node
getChildren(watch)         ``child``    NodeChildrenChanged / NodeDeleted on the path
addWatch PERSISTENT        ``persistent``           never (until forgotten)
addWatch PERSISTENT_REC.   ``recursive``            never (until forgotten)
=========================  ===========  ========================================================

ZooKeeper 3.8 keeps one mode per (connection, path, table), the latest registration winning.
So a one-shot watch on a path that holds a persistent watch would *downgrade* it; the client
avoids that by not asking for a one-shot watch where a persistent one on the same path
already delivers the same events (:meth:`WatchTable.needs_flag`), and an ``addWatch``
replaces the one-shot entries of its path here as it does on the server.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator

from znode.errors import ErrorCode
from znode.events import EventType
from znode.opcodes import AddWatchMode, OpCode
from znode.records import (
    AddWatchRequest,
    ExistsRequest,
    GetChildren2Request,
    GetChildrenRequest,
    GetDataRequest,
    Request,
    SetWatches2,
)

#: How much path text one SetWatches2 carries before a new batch starts (as Java's client).
SET_WATCHES_MAX_LENGTH = 128 * 1024


class WatchKind(enum.StrEnum):
    """What a watch listens to (see :meth:`client.Client.watch`)."""

    #: data changes and deletion of an existing node (getData's watch)
    DATA = "data"
    #: creation, data changes and deletion, whether the node exists or not (exists' watch)
    EXISTS = "exists"
    #: the list of children, and deletion of the node (getChildren's watch)
    CHILDREN = "children"
    #: every event on the node itself, including its children list, until removed (addWatch)
    PERSISTENT = "persistent"
    #: creation, data changes and deletion of the node and all its descendants (addWatch)
    PERSISTENT_RECURSIVE = "persistent_recursive"


#: Which event types each kind of watcher receives at its own path.
EVENT_TYPES: dict[WatchKind, frozenset[EventType]] = {
    WatchKind.DATA: frozenset(
        {EventType.NODE_CREATED, EventType.NODE_DATA_CHANGED, EventType.NODE_DELETED}
    ),
    WatchKind.EXISTS: frozenset(
        {EventType.NODE_CREATED, EventType.NODE_DATA_CHANGED, EventType.NODE_DELETED}
    ),
    WatchKind.CHILDREN: frozenset({EventType.NODE_CHILDREN_CHANGED, EventType.NODE_DELETED}),
    WatchKind.PERSISTENT: frozenset(
        {
            EventType.NODE_CREATED,
            EventType.NODE_DATA_CHANGED,
            EventType.NODE_DELETED,
            EventType.NODE_CHILDREN_CHANGED,
        }
    ),
    WatchKind.PERSISTENT_RECURSIVE: frozenset(
        {EventType.NODE_CREATED, EventType.NODE_DATA_CHANGED, EventType.NODE_DELETED}
    ),
}

#: The one-shot kinds: a firing consumes the server's watch.
ONE_SHOT = frozenset({WatchKind.DATA, WatchKind.EXISTS, WatchKind.CHILDREN})


class WatchTable:
    """The server-side watches of this session (server paths)."""

    def __init__(self) -> None:
        self.data: set[str] = set()
        self.exist: set[str] = set()
        self.child: set[str] = set()
        self.persistent: set[str] = set()
        self.recursive: set[str] = set()

    def __bool__(self) -> bool:
        return bool(self.data or self.exist or self.child or self.persistent or self.recursive)

    def _covers_data(self, path: str) -> bool:
        return path in self.persistent or path in self.recursive

    def needs_flag(self, kind: WatchKind, path: str) -> bool:
        """Whether a read arming a one-shot ``kind`` watch should ask the server for it.

        ``False`` when a persistent watch on the same path already delivers those events:
        asking would replace it on a 3.8 server.
        """
        if kind is WatchKind.CHILDREN:
            return path not in self.persistent
        return not self._covers_data(path)

    def armed(self, kind: WatchKind, path: str) -> bool:
        """Whether the server will deliver ``kind``'s events for ``path`` now."""
        if kind is WatchKind.DATA:
            return path in self.data or self._covers_data(path)
        if kind is WatchKind.EXISTS:
            return path in self.data or path in self.exist or self._covers_data(path)
        if kind is WatchKind.CHILDREN:
            return path in self.child or path in self.persistent
        if kind is WatchKind.PERSISTENT:
            return path in self.persistent
        return path in self.recursive

    def record_reply(self, op: int, request: Request | None, err: int) -> None:
        """Note the watch a successful (or NONODE) reply to ``request`` registered."""
        if isinstance(request, ExistsRequest) and request.watch:
            if err == 0:
                self.exist.discard(request.path)
                self.data.add(request.path)
            elif err == ErrorCode.NONODE:  # the server registered the watch anyway
                self.data.discard(request.path)
                self.exist.add(request.path)
        elif err:
            return
        elif isinstance(request, GetDataRequest) and request.watch:
            self.exist.discard(request.path)
            self.data.add(request.path)
        elif isinstance(request, GetChildrenRequest | GetChildren2Request) and request.watch:
            self.child.add(request.path)
        elif isinstance(request, AddWatchRequest) and op == OpCode.ADD_WATCH:
            path = request.path
            self.data.discard(path)
            self.exist.discard(path)
            if request.mode == AddWatchMode.PERSISTENT:
                self.child.discard(path)
                # On 3.8 the data table's recursive entry is now persistent: it needs re-arming.
                self.recursive.discard(path)
                self.persistent.add(path)
            else:
                self.recursive.add(path)

    def record_event(self, type_: int, path: str) -> None:
        """A notification arrived: drop the one-shot watches it consumed."""
        if type_ in (EventType.NODE_CREATED, EventType.NODE_DATA_CHANGED, EventType.NODE_DELETED):
            self.data.discard(path)
            self.exist.discard(path)
        if type_ in (EventType.NODE_DELETED, EventType.NODE_CHILDREN_CHANGED):
            self.child.discard(path)

    def forget(self, path: str) -> bool:
        """Drop every watch on ``path``; return whether a persistent one was among them."""
        persistent = path in self.persistent or path in self.recursive
        for table in (self.data, self.exist, self.child, self.persistent, self.recursive):
            table.discard(path)
        return persistent

    def set_watches(self, relative_zxid: int) -> list[SetWatches2]:
        """The SetWatches2 records that re-arm every watch, in batches of about 128 KB.

        Paths are listed sorted (reproducible bytes); the server registers persistent
        watches after recursive ones' lists are read, so a path in both ends as it was.
        """
        tables = (self.data, self.exist, self.child, self.persistent, self.recursive)
        entries: Iterator[tuple[int, str]] = (
            (index, path) for index, table in enumerate(tables) for path in sorted(table)
        )
        batches: list[SetWatches2] = []
        lists: list[list[str]] = [[], [], [], [], []]
        length = 0
        for index, path in entries:
            lists[index].append(path)
            length += len(path.encode("utf-8", "surrogatepass"))
            if length >= SET_WATCHES_MAX_LENGTH:
                batches.append(_batch(relative_zxid, lists))
                lists, length = [[], [], [], [], []], 0
        if length or any(lists):
            batches.append(_batch(relative_zxid, lists))
        return batches


def _batch(relative_zxid: int, lists: list[list[str]]) -> SetWatches2:
    data, exist, child, persistent, recursive = (tuple(items) for items in lists)
    return SetWatches2(relative_zxid, data, exist, child, persistent, recursive)
