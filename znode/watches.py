"""Watch bookkeeping, as ZooKeeper 3.8's two WatchManagers (data and child tables) do it.

A watcher is any hashable the server uses to name a connection. Registrations:

=========================  =====================  ==========================================
request                    table                  mode
=========================  =====================  ==========================================
exists / getData           data                   standard (one-shot)
getChildren(2)             child                  standard (one-shot)
addWatch PERSISTENT        data and child         persistent
addWatch PERSISTENT_RECUR  data and child         persistent + recursive
=========================  =====================  ==========================================

One mode per (watcher, path, table): the latest registration replaces an earlier one, as in
3.8 (so a recursive watch added over a persistent one ends its NodeChildrenChanged events:
recursive watches never get those). checkWatches asks whether *any* connection watches the
path, as 3.8's WatchManager.containsWatcher does; removeWatches removes the asker's only.

:meth:`WatchTable.fire` turns the triggers of an applied txn into the events to send, one
per watcher and (type, path): a delete notifies a watcher once even when it watches the
node in both tables.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from enum import Enum

from znode.events import EventType, WatchTrigger
from znode.opcodes import WatcherType


class WatchMode(Enum):
    STANDARD = 0
    PERSISTENT = 1
    PERSISTENT_RECURSIVE = 2


class WatchKind(Enum):
    """What a client asked to watch."""

    DATA = "data"  # getData, or exists on an existing node
    EXIST = "exist"  # exists (registered in the data table whether or not the node exists)
    CHILD = "child"  # getChildren / getChildren2
    PERSISTENT = "persistent"
    PERSISTENT_RECURSIVE = "persistent_recursive"


Watcher = Hashable


class _Table:
    """One WatchManager: path -> watchers, watcher -> paths, and non-standard modes."""

    __slots__ = ("by_path", "by_watcher", "modes", "recursive")

    def __init__(self) -> None:
        self.by_path: dict[str, set[Watcher]] = {}
        self.by_watcher: dict[Watcher, set[str]] = {}
        self.modes: dict[tuple[Watcher, str], WatchMode] = {}
        self.recursive = 0

    def add(self, path: str, watcher: Watcher, mode: WatchMode) -> None:
        self.by_path.setdefault(path, set()).add(watcher)
        self.by_watcher.setdefault(watcher, set()).add(path)
        key = (watcher, path)
        old = self.modes.pop(key, WatchMode.STANDARD)
        if old is WatchMode.PERSISTENT_RECURSIVE:
            self.recursive -= 1
        if mode is not WatchMode.STANDARD:
            self.modes[key] = mode
            if mode is WatchMode.PERSISTENT_RECURSIVE:
                self.recursive += 1

    def discard(self, path: str, watcher: Watcher) -> bool:
        watchers = self.by_path.get(path)
        if watchers is None or watcher not in watchers:
            return False
        watchers.discard(watcher)
        if not watchers:
            del self.by_path[path]
        paths = self.by_watcher.get(watcher)
        if paths is not None:
            paths.discard(path)
            if not paths:
                del self.by_watcher[watcher]
        if self.modes.pop((watcher, path), None) is WatchMode.PERSISTENT_RECURSIVE:
            self.recursive -= 1
        return True

    def watched(self, path: str) -> bool:
        return path in self.by_path

    def drop_watcher(self, watcher: Watcher) -> None:
        for path in self.by_watcher.pop(watcher, set()):
            watchers = self.by_path.get(path)
            if watchers is not None:
                watchers.discard(watcher)
                if not watchers:
                    del self.by_path[path]
            if self.modes.pop((watcher, path), None) is WatchMode.PERSISTENT_RECURSIVE:
                self.recursive -= 1

    def trigger(self, path: str, event: EventType, suppress: set[Watcher] | None) -> set[Watcher]:
        """Watchers to notify of ``event`` at ``path``; one-shot watches are removed."""
        hit: set[Watcher] = set()
        here = path
        at_parent = False
        while True:
            watchers = self.by_path.get(here)
            if watchers:
                for watcher in tuple(watchers):
                    mode = self.modes.get((watcher, here), WatchMode.STANDARD)
                    if mode is WatchMode.PERSISTENT_RECURSIVE:
                        if event is not EventType.NODE_CHILDREN_CHANGED:
                            hit.add(watcher)
                    elif not at_parent:
                        hit.add(watcher)
                        if mode is WatchMode.STANDARD:
                            self.discard(here, watcher)
            if not self.recursive or here == "/":
                break
            here = here[: here.rindex("/")] or "/"
            at_parent = True
        if suppress:
            hit -= suppress
        return hit


class WatchTable:
    """The server's watches, owned by the task that applies txns."""

    def __init__(self) -> None:
        self.data = _Table()
        self.child = _Table()

    def add(self, path: str, watcher: Watcher, kind: WatchKind) -> None:
        """Register a watch."""
        if kind in (WatchKind.DATA, WatchKind.EXIST):
            self.data.add(path, watcher, WatchMode.STANDARD)
        elif kind is WatchKind.CHILD:
            self.child.add(path, watcher, WatchMode.STANDARD)
        elif kind is WatchKind.PERSISTENT:
            self.data.add(path, watcher, WatchMode.PERSISTENT)
            self.child.add(path, watcher, WatchMode.PERSISTENT)
        else:
            self.data.add(path, watcher, WatchMode.PERSISTENT_RECURSIVE)
            self.child.add(path, watcher, WatchMode.PERSISTENT_RECURSIVE)

    def fire(self, triggers: Iterable[WatchTrigger]) -> list[tuple[Watcher, WatchTrigger]]:
        """The (watcher, event) pairs to send for an applied txn's triggers, in order."""
        out: list[tuple[Watcher, WatchTrigger]] = []
        for trigger in triggers:
            event, path = trigger
            if event is EventType.NODE_CHILDREN_CHANGED:
                hit = self.child.trigger(path, event, None)
            elif event is EventType.NODE_DELETED:
                hit = self.data.trigger(path, event, None)
                hit |= self.child.trigger(path, event, hit)
            else:
                hit = self.data.trigger(path, event, None)
            if hit:
                # Sorted by repr so the order of events across watchers is deterministic.
                out.extend((watcher, trigger) for watcher in sorted(hit, key=repr))
        return out

    def remove(self, path: str, watcher: Watcher, watcher_type: int) -> bool:
        """removeWatches: drop the watcher's watches on ``path``; False if there were none."""
        removed = False
        if watcher_type in (WatcherType.CHILDREN, WatcherType.ANY):
            removed = self.child.discard(path, watcher) or removed
        if watcher_type in (WatcherType.DATA, WatcherType.ANY):
            removed = self.data.discard(path, watcher) or removed
        return removed

    def watched(self, path: str, watcher_type: int) -> bool:
        """checkWatches: whether any connection has a watch of that type on ``path``."""
        if watcher_type == WatcherType.CHILDREN:
            return self.child.watched(path)
        if watcher_type == WatcherType.DATA:
            return self.data.watched(path)
        return self.child.watched(path) or self.data.watched(path)

    def drop_watcher(self, watcher: Watcher) -> None:
        """Forget every watch of a closed connection."""
        self.data.drop_watcher(watcher)
        self.child.drop_watcher(watcher)

    # --- statistics for the wchs / wchc / wchp four-letter words ---------------------------

    def count(self) -> int:
        """Total number of watches (data + child table entries)."""
        return sum(len(w) for w in self.data.by_path.values()) + sum(
            len(w) for w in self.child.by_path.values()
        )

    def paths_by_watcher(self) -> dict[Watcher, list[str]]:
        out: dict[Watcher, set[str]] = {}
        for table in (self.data, self.child):
            for watcher, paths in table.by_watcher.items():
                out.setdefault(watcher, set()).update(paths)
        return {w: sorted(p) for w, p in out.items()}

    def watchers_by_path(self) -> dict[str, list[Watcher]]:
        out: dict[str, set[Watcher]] = {}
        for table in (self.data, self.child):
            for path, watchers in table.by_path.items():
                out.setdefault(path, set()).update(watchers)
        return {p: sorted(w, key=repr) for p, w in sorted(out.items())}
