"""Connect strings, the chroot, the host ring, and the client's copy of the server's watches."""

from __future__ import annotations

import random

import pytest

from client.errors import BadArguments
from client.hosts import Address, Chroot, ConnectString, HostRing, parse_hosts
from client.watch_table import WatchKind, WatchTable
from znode.errors import ErrorCode
from znode.events import EventType
from znode.opcodes import AddWatchMode, OpCode
from znode.records import AddWatchRequest, ExistsRequest, GetChildrenRequest, GetDataRequest

PARSE_CASES = [
    ("zk1:2181", ConnectString((Address("zk1", 2181),))),
    ("zk1", ConnectString((Address("zk1", 2181),))),
    (
        " a:1 , b:2 ,c ",
        ConnectString((Address("a", 1), Address("b", 2), Address("c", 2181))),
    ),
    ("a:1,b:2/app", ConnectString((Address("a", 1), Address("b", 2)), Chroot("/app"))),
    ("a:1/app/sub", ConnectString((Address("a", 1),), Chroot("/app/sub"))),
    ("a:1/", ConnectString((Address("a", 1),), Chroot(""))),
    ("[::1]:2182,[fe80::1]", ConnectString((Address("::1", 2182), Address("fe80::1", 2181)))),
]


@pytest.mark.parametrize(("text", "expected"), PARSE_CASES, ids=[c[0] for c in PARSE_CASES])
def test_parse_hosts(text: str, expected: ConnectString) -> None:
    assert parse_hosts(text) == expected


@pytest.mark.parametrize("text", ["", "/app", "a:x", "a:0", "a:70000", "a:1/app/", "a//b", "[::1"])
def test_bad_connect_strings_are_bad_arguments(text: str) -> None:
    with pytest.raises(BadArguments):
        parse_hosts(text)


def test_a_sequence_of_hosts_has_no_chroot() -> None:
    assert parse_hosts(["a:1", "b"]) == ConnectString((Address("a", 1), Address("b")))


def test_address_prints_ipv6_in_brackets() -> None:
    assert [str(Address("::1", 5)), str(Address("h", 5))] == ["[::1]:5", "h:5"]


CHROOT_CASES = [
    # client path, server path
    ("/", "/app"),
    ("/x", "/app/x"),
    ("/x/y", "/app/x/y"),
]


@pytest.mark.parametrize(("client_path", "server_path"), CHROOT_CASES)
def test_chroot_is_added_on_the_way_out_and_removed_on_the_way_back(
    client_path: str, server_path: str
) -> None:
    chroot = Chroot("/app")
    assert chroot.to_server(client_path) == server_path
    assert chroot.from_server(server_path) == client_path


@pytest.mark.parametrize("outside", ["/apple", "/other/x", "/"])
def test_paths_outside_the_chroot_come_back_unchanged(outside: str) -> None:
    assert Chroot("/app").from_server(outside) == outside


def test_no_chroot_changes_nothing() -> None:
    assert Chroot().to_server("/x") == Chroot().from_server("/x") == "/x"


def test_host_ring_shuffles_once_then_goes_round_robin() -> None:
    addresses = [Address(f"h{i}") for i in range(5)]
    ring = HostRing(addresses, random.Random(3))
    first_round = [ring.next() for _ in range(5)]
    assert sorted(first_round, key=str) == addresses
    assert first_round != addresses  # seed 3 does shuffle
    assert [ring.next() for _ in range(5)] == first_round


# --- the watch table -------------------------------------------------------------------------


def record(table: WatchTable, op: int, request: object, err: int = 0) -> None:
    table.record_reply(op, request, err)  # type: ignore[arg-type]


def test_exists_on_a_missing_node_is_an_exist_watch_and_moves_when_it_exists() -> None:
    table = WatchTable()
    record(table, OpCode.EXISTS, ExistsRequest("/a", True), ErrorCode.NONODE)
    assert (table.exist, table.data) == ({"/a"}, set())
    record(table, OpCode.EXISTS, ExistsRequest("/a", True))
    assert (table.exist, table.data) == (set(), {"/a"})


def test_failed_reads_and_reads_without_the_flag_register_nothing() -> None:
    table = WatchTable()
    record(table, OpCode.GET_DATA, GetDataRequest("/a", True), ErrorCode.NONODE)
    record(table, OpCode.GET_CHILDREN, GetChildrenRequest("/a", True), ErrorCode.NOAUTH)
    record(table, OpCode.GET_DATA, GetDataRequest("/b", False))
    assert not table


EVENT_CASES = [
    (EventType.NODE_CREATED, {"child"}),
    (EventType.NODE_DATA_CHANGED, {"child"}),
    (EventType.NODE_DELETED, set()),
    (EventType.NODE_CHILDREN_CHANGED, {"data", "exist"}),
]


@pytest.mark.parametrize(("type_", "left"), EVENT_CASES)
def test_events_consume_one_shot_watches_as_the_server_does(
    type_: EventType, left: set[str]
) -> None:
    table = WatchTable()
    table.data.add("/a")
    table.exist.add("/a")
    table.child.add("/a")
    table.persistent.add("/a")
    table.record_event(type_, "/a")
    assert {n for n in ("data", "exist", "child") if getattr(table, n)} == left
    assert table.persistent == {"/a"}


def test_a_persistent_watch_covers_one_shot_ones_on_its_path() -> None:
    table = WatchTable()
    record(table, OpCode.GET_DATA, GetDataRequest("/a", True))
    record(table, OpCode.GET_CHILDREN, GetChildrenRequest("/a", True))
    record(table, OpCode.ADD_WATCH, AddWatchRequest("/a", AddWatchMode.PERSISTENT))
    # replaced on a 3.8 server, as here
    assert (table.data, table.child, table.persistent) == (set(), set(), {"/a"})
    for kind in (WatchKind.DATA, WatchKind.EXISTS, WatchKind.CHILDREN):
        assert table.armed(kind, "/a")
        assert not table.needs_flag(kind, "/a")
        assert table.needs_flag(kind, "/b")


def test_a_recursive_watch_covers_data_but_not_children() -> None:
    table = WatchTable()
    record(table, OpCode.ADD_WATCH, AddWatchRequest("/a", AddWatchMode.PERSISTENT_RECURSIVE))
    assert not table.needs_flag(WatchKind.DATA, "/a")
    assert table.needs_flag(WatchKind.CHILDREN, "/a")
    assert not table.armed(WatchKind.CHILDREN, "/a")


def test_adding_persistent_over_recursive_leaves_the_recursive_one_to_re_add() -> None:
    table = WatchTable()
    record(table, OpCode.ADD_WATCH, AddWatchRequest("/a", AddWatchMode.PERSISTENT_RECURSIVE))
    record(table, OpCode.ADD_WATCH, AddWatchRequest("/a", AddWatchMode.PERSISTENT))
    assert not table.armed(WatchKind.PERSISTENT_RECURSIVE, "/a")
    record(table, OpCode.ADD_WATCH, AddWatchRequest("/a", AddWatchMode.PERSISTENT_RECURSIVE))
    assert table.armed(WatchKind.PERSISTENT_RECURSIVE, "/a")
    assert table.armed(WatchKind.PERSISTENT, "/a")
    assert table.set_watches(5)[0].persistent_watches == ("/a",)


def test_forget_reports_whether_a_persistent_watch_must_be_removed_on_the_server() -> None:
    table = WatchTable()
    table.data.add("/a")
    table.recursive.add("/b")
    assert table.forget("/a") is False
    assert table.forget("/b") is True
    assert not table
