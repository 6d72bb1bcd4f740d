"""WatchTable: ZooKeeper 3.8's watch registration, firing and removal rules."""

from __future__ import annotations

from znode.events import EventType, WatchTrigger
from znode.opcodes import WatcherType
from znode.watches import WatchKind, WatchTable

CREATED = EventType.NODE_CREATED
DELETED = EventType.NODE_DELETED
CHANGED = EventType.NODE_DATA_CHANGED
CHILDREN = EventType.NODE_CHILDREN_CHANGED


def t(event: EventType, path: str) -> WatchTrigger:
    return WatchTrigger(event, path)


def create(path: str, parent: str) -> list[WatchTrigger]:
    return [t(CREATED, path), t(CHILDREN, parent)]


def delete(path: str, parent: str) -> list[WatchTrigger]:
    return [t(DELETED, path), t(CHILDREN, parent)]


def test_data_watch_is_one_shot() -> None:
    table = WatchTable()
    table.add("/a", 1, WatchKind.DATA)
    assert table.fire([t(CHANGED, "/a")]) == [(1, t(CHANGED, "/a"))]
    assert table.fire([t(CHANGED, "/a")]) == []
    assert table.count() == 0


def test_exist_watch_on_missing_node_fires_on_create() -> None:
    table = WatchTable()
    table.add("/a", 1, WatchKind.EXIST)
    assert table.fire(create("/a", "/")) == [(1, t(CREATED, "/a"))]


def test_child_watch_fires_on_child_changes_and_node_deletion_not_data() -> None:
    table = WatchTable()
    table.add("/p", 1, WatchKind.CHILD)
    assert table.fire([t(CHANGED, "/p")]) == []
    assert table.fire(create("/p/c", "/p")) == [(1, t(CHILDREN, "/p"))]
    table.add("/p", 1, WatchKind.CHILD)
    assert table.fire(delete("/p", "/")) == [(1, t(DELETED, "/p"))]


def test_delete_notifies_a_watcher_once_even_with_both_tables() -> None:
    table = WatchTable()
    table.add("/a", 1, WatchKind.DATA)
    table.add("/a", 1, WatchKind.CHILD)
    table.add("/a", 2, WatchKind.CHILD)
    assert table.fire(delete("/a", "/")) == [(1, t(DELETED, "/a")), (2, t(DELETED, "/a"))]
    assert table.count() == 0


def test_persistent_watch_sees_node_and_child_list_and_stays() -> None:
    table = WatchTable()
    table.add("/p", 1, WatchKind.PERSISTENT)
    assert table.fire(create("/p", "/")) == [(1, t(CREATED, "/p"))]
    assert table.fire([t(CHANGED, "/p")]) == [(1, t(CHANGED, "/p"))]
    assert table.fire(create("/p/c", "/p")) == [(1, t(CHILDREN, "/p"))]
    assert table.fire([t(CHANGED, "/p/c")]) == []  # not recursive
    assert table.fire(delete("/p/c", "/p")) == [(1, t(CHILDREN, "/p"))]
    assert table.fire(delete("/p", "/")) == [(1, t(DELETED, "/p"))]
    assert table.fire(create("/p", "/")) == [(1, t(CREATED, "/p"))]  # survives re-creation


def test_recursive_watch_sees_descendants_but_never_children_changed() -> None:
    table = WatchTable()
    table.add("/r", 1, WatchKind.PERSISTENT_RECURSIVE)
    assert table.fire(create("/r/a", "/r")) == [(1, t(CREATED, "/r/a"))]
    assert table.fire(create("/r/a/b", "/r/a")) == [(1, t(CREATED, "/r/a/b"))]
    assert table.fire([t(CHANGED, "/r/a/b")]) == [(1, t(CHANGED, "/r/a/b"))]
    assert table.fire(delete("/r", "/")) == [(1, t(DELETED, "/r"))]
    assert table.fire(create("/rx", "/")) == []  # a sibling with a common prefix
    # a standard watch on a parent is not triggered by a descendant's event
    table.add("/r", 2, WatchKind.DATA)
    assert table.fire([t(CHANGED, "/r/a")]) == [(1, t(CHANGED, "/r/a"))]


def test_one_event_per_watcher_when_several_watches_match() -> None:
    table = WatchTable()
    table.add("/w2", 1, WatchKind.PERSISTENT)
    table.add("/", 1, WatchKind.PERSISTENT_RECURSIVE)
    assert table.fire([t(CHANGED, "/w2")]) == [(1, t(CHANGED, "/w2"))]


def test_latest_registration_replaces_the_mode() -> None:
    table = WatchTable()
    table.add("/a", 1, WatchKind.PERSISTENT)
    table.add("/a", 1, WatchKind.DATA)  # 3.8: the data-table entry becomes one-shot
    assert table.fire([t(CHANGED, "/a")]) == [(1, t(CHANGED, "/a"))]
    assert table.fire([t(CHANGED, "/a")]) == []
    assert table.fire(create("/a/c", "/a")) == [(1, t(CHILDREN, "/a"))]  # child part stays


def test_remove_takes_the_askers_watches_and_check_asks_about_anyone() -> None:
    table = WatchTable()
    table.add("/a", 1, WatchKind.DATA)
    table.add("/a", 1, WatchKind.CHILD)
    assert table.watched("/a", WatcherType.DATA)
    assert not table.remove("/a", 2, WatcherType.ANY)  # 2 has none: NOWATCHER
    assert table.watched("/a", WatcherType.ANY)  # 3.8: someone watches it, that is enough
    assert table.remove("/a", 1, WatcherType.CHILDREN)
    assert not table.remove("/a", 1, WatcherType.CHILDREN)  # NOWATCHER
    assert not table.watched("/a", WatcherType.CHILDREN)
    assert table.watched("/a", WatcherType.ANY)
    assert table.remove("/a", 1, WatcherType.ANY)
    assert not table.watched("/a", WatcherType.ANY)
    assert table.fire([t(CHANGED, "/a")]) == []


def test_recursive_watch_over_a_persistent_one_ends_children_changed() -> None:
    table = WatchTable()
    table.add("/m", 1, WatchKind.PERSISTENT)
    table.add("/m", 1, WatchKind.PERSISTENT_RECURSIVE)  # replaces the mode in both tables
    assert table.watched("/m", WatcherType.CHILDREN)
    assert table.fire(create("/m/x", "/m")) == [(1, t(CREATED, "/m/x"))]
    assert table.fire(delete("/m/x", "/m")) == [(1, t(DELETED, "/m/x"))]


def test_removing_a_recursive_watch_stops_parent_walks() -> None:
    table = WatchTable()
    table.add("/r", 1, WatchKind.PERSISTENT_RECURSIVE)
    assert table.remove("/r", 1, WatcherType.DATA)
    assert table.data.recursive == 0
    assert table.fire([t(CHANGED, "/r/x")]) == []


def test_drop_watcher_forgets_everything_of_a_connection() -> None:
    table = WatchTable()
    table.add("/a", 1, WatchKind.DATA)
    table.add("/b", 1, WatchKind.PERSISTENT_RECURSIVE)
    table.add("/a", 2, WatchKind.DATA)
    table.drop_watcher(1)
    assert table.data.recursive == 0
    assert table.paths_by_watcher() == {2: ["/a"]}
    assert table.watchers_by_path() == {"/a": [2]}
    assert table.fire([t(CHANGED, "/a")]) == [(2, t(CHANGED, "/a"))]
