"""The shell's pure pieces, table-tested: zkCli's tokenizer and Commons CLI's option rules,
the text formats (stats, dates, ACLs, events, StatsTrack) and error wording."""

from __future__ import annotations

import struct
import time

import pytest
import trio
import trio.testing

from cli.shell.acl import parse_acl
from cli.shell.admin import client_config, properties_order
from cli.shell.command import Command, Deprecated
from cli.shell.errors import CliError, keeper_message, wrapped_message
from cli.shell.output import Output, acl_lines, java_date, java_hex, perm_string, stat_lines
from cli.shell.parse import Option, Parsed, ParseError, parse_options, split_line
from cli.shell.quota import format_stats, parse_stats
from cli.shell.shell import java_decode
from cli.shell.tap import TapStream
from cli.shell.tree import java_sorted
from cli.shell.watches import Kind, ShellWatches
from client.errors import (
    BadArguments,
    BadVersion,
    ConnectionLoss,
    InvalidACL,
    NewConfigNoQuorum,
    NoAuth,
    NoChildrenForEphemerals,
    NodeExists,
    NoNode,
    NotEmpty,
    NoWatcher,
    ReconfigInProgress,
    SessionExpired,
    ZooKeeperError,
)
from client.hosts import Chroot
from znode.acl import ACL, Id
from znode.codec import encode_notification
from znode.errors import UnknownErrorCode
from znode.events import EventType
from znode.opcodes import WatcherType
from znode.records import WatcherEvent
from znode.stat import Stat

# Each case was checked against zkCli.sh 3.8.0 (what it printed or did with the line).
SPLIT_CASES = [
    ("ls /", ["ls", "/"]),
    ("  create   /a   b  ", ["create", "/a", "b"]),
    ('create "/sp" "a b" ', ["create", "/sp", "a b"]),
    ("create /x1 'q\"z'", ["create", "/x1", 'q"z']),
    ('create /u1 "abc', ["create", "/u1", "abc"]),  # an unclosed quote is dropped
    ('create /x2 a"b c"', ["create", "/x2", 'a"b', 'c"']),
    ('create /e ""', ["create", "/e", ""]),
    ("", []),
]


@pytest.mark.parametrize(("line", "words"), SPLIT_CASES)
def test_split_line_as_zkcli(line: str, words: list[str]) -> None:
    assert split_line(line) == words


CREATE_OPTIONS = (Option("e"), Option("s"), Option("c"), Option("t", takes_value=True))
CLI = "org.apache.commons.cli."
PARSE_CASES: list[tuple[list[str], Parsed | str]] = [
    (["create", "/a"], Parsed(("create", "/a"))),
    (["create", "-s", "-e", "/a", "x"], Parsed(("create", "/a", "x"), (("s", None), ("e", None)))),
    (["create", "/a", "-s"], Parsed(("create", "/a"), (("s", None),))),  # options anywhere
    (["create", "-se", "/a"], Parsed(("create", "/a"), (("s", None), ("e", None)))),
    (["create", "-t100", "/a"], Parsed(("create", "/a"), (("t", "100"),))),
    (["create", "-t=5", "/a"], Parsed(("create", "/a"), (("t", "5"),))),
    (["create", "-t", "-5", "/a"], Parsed(("create", "/a"), (("t", "-5"),))),
    (["create", "-t", "-z", "/a"], Parsed(("create", "/a"), (("t", "-z"),))),
    (["create", "-st", "7", "/a"], Parsed(("create", "/a"), (("s", None), ("t", "7")))),
    (["create", "/a", "--", "-x"], Parsed(("create", "/a", "-x"))),
    (["create", "/a", "-"], Parsed(("create", "/a", "-"))),
    (["create", "/a", "-5"], f"{CLI}UnrecognizedOptionException: Unrecognized option: -5"),
    (["create", "-sx"], f"{CLI}UnrecognizedOptionException: Unrecognized option: -sx"),
    (["create", "--s"], f"{CLI}UnrecognizedOptionException: Unrecognized option: --s"),
    (["create", "-t"], f"{CLI}MissingArgumentException: Missing argument for option: t"),
    (["create", "-t", "-s"], f"{CLI}MissingArgumentException: Missing argument for option: t"),
]


@pytest.mark.parametrize(("words", "expected"), PARSE_CASES)
def test_parse_options_as_commons_cli(words: list[str], expected: Parsed | str) -> None:
    if isinstance(expected, str):
        with pytest.raises(ParseError) as info:
            parse_options(words, CREATE_OPTIONS)
        assert str(info.value) == expected
    else:
        assert parse_options(words, CREATE_OPTIONS) == expected


def test_option_groups() -> None:
    options = [Option(name, takes_value=True) for name in "nbNB"]
    group = {"group": "nbNB", "group_text": "[the group]", "group_required": True}
    parsed = parse_options(["setquota", "-n", "5", "/a"], options, **group)  # type: ignore[arg-type]
    assert parsed.value("n") == "5"
    assert parsed.has("n")
    assert not parsed.has("b")
    assert parsed.value("b") is None
    with pytest.raises(ParseError, match=r"AlreadySelectedException: The option 'b' was "):
        parse_options(["setquota", "-n", "1", "-b", "2", "/a"], options, **group)  # type: ignore[arg-type]
    with pytest.raises(ParseError) as info:
        parse_options(["setquota", "/a"], options, **group)  # type: ignore[arg-type]
    assert str(info.value) == f"{CLI}MissingOptionException: Missing required option: [the group]"
    # The same option twice is no conflict.
    flags = [Option(name) for name in "nbNB"]
    assert parse_options(["delquota", "-n", "-n", "/a"], flags, group="nbNB").args[1] == "/a"


async def _noop(sh: object, parsed: Parsed) -> None:
    return None


def test_deprecated_forms_are_rewritten_as_zkcli_does(capsys: pytest.CaptureFixture[str]) -> None:
    get = Command(
        "get", "[-s] [-w] path", _noop, (Option("s"), Option("w")), 2, deprecated=Deprecated("old")
    )
    parsed = get.parse(["get", "/a", "watch"], Output(json_mode=False))
    assert parsed == Parsed(("get", "/a"), (("w", None),))
    # zkCli rewrites the third word, whatever it was.
    assert get.parse(["get", "-s", "/a", "x"], Output(json_mode=False)).args == ("get", "x")
    delete = Command(
        "delete",
        "[-v version] path",
        _noop,
        (Option("v", True),),
        2,
        deprecated=Deprecated("old", rewrite=False),
    )
    assert delete.parse(["delete", "/a", "3"], Output(json_mode=False)).args == (
        "delete",
        "/a",
        "3",
    )
    assert capsys.readouterr().err == "old\nold\nold\n"
    with pytest.raises(CliError) as info:
        get.parse(["get"], Output(json_mode=False))
    assert info.value.message == "get [-s] [-w] path"


STATS_CASES = [
    (
        "count=5,bytes=-1=;byteHardLimit=-1;countHardLimit=-1",
        {"count": 5, "bytes": -1, "byteHardLimit": -1, "countHardLimit": -1},
    ),
    ("count=2,bytes=5", {"count": 2, "bytes": 5}),
    (
        "count=5,bytes=100=;byteHardLimit=3;countHardLimit=2",
        {"count": 5, "bytes": 100, "byteHardLimit": 3, "countHardLimit": 2},
    ),
]


@pytest.mark.parametrize(("text", "stats"), STATS_CASES)
def test_stats_track_text(text: str, stats: dict[str, int]) -> None:
    assert parse_stats(text) == stats
    assert format_stats(stats) == text


def test_stats_track_defaults() -> None:
    assert parse_stats("") == {}
    assert format_stats({}) == "count=-1,bytes=-1"
    assert format_stats({"countHardLimit": 4}) == "count=-1,bytes=-1=;countHardLimit=4"


def test_parse_acl_reports_bad_entries(capsys: pytest.CaptureFixture[str]) -> None:
    out = Output(json_mode=False)
    acl = parse_acl("digest:bob:xyz:rw,world:anyone:cdrwaq,foo,ip:127.0.0.1:a,", out)
    assert acl == [
        ACL(3, Id("digest", "bob:xyz")),
        ACL(31, Id("world", "anyone")),
        ACL(16, Id("ip", "127.0.0.1")),
    ]
    assert capsys.readouterr().err == (
        "Unknown perm type: q\nfoo does not have the form scheme:id:perm\n"
    )
    assert parse_acl("b", out) == []
    assert parse_acl("world:anyone:", out) == [ACL(0, Id("world", "anyone"))]


def test_stat_and_dates_as_zkcli_prints_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        # ctime as zkCli.sh printed it for a node of Apache ZooKeeper 3.8.0
        stat = Stat(5, 6, 0, 1_795_683_916_774, 1, -1, 2, 0x100000ABC, 5, 3, 7)
        assert stat_lines(stat) == [
            "cZxid = 0x5",
            "ctime = Thu Jan 01 00:00:00 UTC 1970",
            "mZxid = 0x6",
            "mtime = Thu Nov 26 09:05:16 UTC 2026",
            "pZxid = 0x7",
            "cversion = -1",
            "dataVersion = 1",
            "aclVersion = 2",
            "ephemeralOwner = 0x100000abc",
            "dataLength = 5",
            "numChildren = 3",
        ]
        assert java_date(-1000) == "Wed Dec 31 23:59:59 UTC 1969"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert java_hex(-1) == "ffffffffffffffff"


def test_acl_text() -> None:
    assert perm_string(31) == "cdrwa"
    assert perm_string(0) == ""
    assert perm_string(1 | 16) == "ra"
    assert acl_lines(ACL(31, Id("world", "anyone"))) == ["'world,'anyone", ": cdrwa"]
    # jute's toString escapes these characters
    assert acl_lines(ACL(1, Id("x", "a,b}%\n")))[0] == "'x,'a%2Cb%7D%25%0A"


D, C, DC, CC = (
    EventType.NODE_DELETED,
    EventType.NODE_CREATED,
    EventType.NODE_DATA_CHANGED,
    EventType.NODE_CHILDREN_CHANGED,
)


def _watches(*tables: tuple[Kind, str]) -> ShellWatches:
    watches = ShellWatches()
    for kind, path in tables:
        watches.register(kind, path)
    return watches


MATERIALIZE_CASES = [
    # get -w and ls -w on a node, then it is deleted: one notification
    ([(Kind.DATA, "/a"), (Kind.CHILD, "/a")], [(D, "/a")], [(D, "/a")]),
    # one-shot: a second change is not printed
    ([(Kind.DATA, "/a")], [(DC, "/a"), (DC, "/a")], [(DC, "/a")]),
    # a persistent watch stays, and covers the children list
    (
        [(Kind.PERSISTENT, "/a")],
        [(DC, "/a"), (CC, "/a"), (D, "/a")],
        [(DC, "/a"), (CC, "/a"), (D, "/a")],
    ),
    # a recursive watch covers descendants
    ([(Kind.RECURSIVE, "/a")], [(C, "/a/b/c"), (DC, "/x")], [(C, "/a/b/c")]),
    ([(Kind.RECURSIVE, "/")], [(C, "/b"), (D, "/b")], [(C, "/b"), (D, "/b")]),
    # an exist watch fires on creation; a child watch does not see data changes
    ([(Kind.EXIST, "/n"), (Kind.CHILD, "/c")], [(DC, "/c"), (C, "/n"), (C, "/n")], [(C, "/n")]),
    # nothing registered: nothing printed
    ([], [(DC, "/a")], []),
]


@pytest.mark.parametrize(("tables", "frames", "printed"), MATERIALIZE_CASES)
def test_notifications_as_the_default_watcher_sees_them(
    tables: list[tuple[Kind, str]],
    frames: list[tuple[EventType, str]],
    printed: list[tuple[EventType, str]],
) -> None:
    watches = _watches(*tables)
    for type_, path in frames:
        watches.on_frame((int(type_), path))
    assert watches.take_events() == printed


def test_a_watch_counts_from_its_reply_on() -> None:
    watches = _watches((Kind.DATA, "/a"))
    mark = watches.mark()  # get -w /a sent again
    watches.on_frame((int(DC), "/a"))  # fired by the first watch, before the reply
    watches.on_frame(None)  # the reply: the watch is set again
    watches.on_frame((int(DC), "/a"))
    watches.at_reply(mark, lambda: watches.register(Kind.DATA, "/a"))
    assert watches.take_events() == [(DC, "/a"), (DC, "/a")]
    assert watches.paths(Kind.DATA) == []
    assert watches.contains("/a", WatcherType.ANY) is False


def test_removewatches_looks_in_the_persistent_tables_too() -> None:
    persistent = _watches((Kind.PERSISTENT, "/p"))
    for which in WatcherType:
        assert persistent.contains("/p", which)
    child = _watches((Kind.CHILD, "/c"))
    assert child.contains("/c", WatcherType.CHILDREN)
    assert not child.contains("/c", WatcherType.DATA)
    assert not child.contains("/other", WatcherType.ANY)


def test_the_tap_reports_frames_in_order() -> None:
    seen: list[object] = []
    tap = TapStream(trio.testing.MemorySendStream(), Chroot("/app"), seen.append)  # type: ignore[arg-type]
    connect_response = b"\0" * 36
    notification = encode_notification(WatcherEvent(int(DC), 3, "/app/x"))
    reply = struct.pack(">iiqi", 16, 7, 9, 0)
    ping = struct.pack(">iiqi", 16, -2, 9, 0)
    stream = struct.pack(">i", 36) + connect_response + notification + ping + reply
    tap._see(stream[:30])
    tap._see(stream[30:])
    assert seen == [(int(DC), "/x"), None]


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3", 3),
        ("0x10", 16),
        ("#10", 16),
        ("010", 8),
        ("-2", -2),
        ("+4", 4),
        ("x", None),
        ("", None),
        ("0x", None),
    ],
)
def test_redo_numbers_as_integer_decode(text: str, value: int | None) -> None:
    assert java_decode(text) == value


def test_java_sort_order() -> None:
    assert java_sorted(["b", "B", "a", "\U0001f600", "\uffee"]) == [
        "B",
        "a",
        "b",
        "\U0001f600",
        "\uffee",
    ]


def test_client_config_string() -> None:
    config = (
        "server.2=127.0.0.1:2889:3889:participant;127.0.0.1:2182\n"
        "server.1=127.0.0.1:2888:3888:participant;2181\n"
        "server.3=127.0.0.1:2890:3890:participant\n"
        "version=100000000\n"
    )
    # In the order java.util.Properties iterates them; server.3 has no client port.
    assert client_config(config) == "100000000 127.0.0.1:2182,0.0.0.0:2181,"
    assert client_config("") == " "


# As a Java 17 program printed them: Properties.load of server.1..server.N then version.
JAVA_PROPERTIES_ORDER = {
    3: "server.2 server.1 server.3 version",
    7: "server.2 server.1 server.6 server.5 server.4 server.3 version server.7",
    11: "version server.10 server.11 server.2 server.1 server.6 server.5 server.4 server.3 "
    "server.9 server.8 server.7",
}


@pytest.mark.parametrize(("count", "order"), JAVA_PROPERTIES_ORDER.items())
def test_properties_order_as_java(count: int, order: str) -> None:
    keys = [f"server.{i}" for i in range(1, count + 1)] + ["version"]
    assert properties_order(keys) == order.split()


ERROR_CASES: list[tuple[ZooKeeperError, str]] = [
    (NoNode(path="/x"), "Node does not exist: /x"),
    (NoChildrenForEphemerals(path="/e/c"), "Ephemerals cannot have children: /e/c"),
    (NodeExists(path="/x"), "Node already exists: /x"),
    (NotEmpty(path="/x"), "Node not empty: /x"),
    (InvalidACL(), "Acl is not valid : null"),
    (NoAuth(path="/x"), "Insufficient permission : /x"),
    (BadArguments(path="/x"), "Arguments are not valid : /x"),
    (BadVersion(path="/x"), "version No is not valid : /x"),
    (NoWatcher(path="/x"), "KeeperErrorCode = No such watcher for /x"),
    (ConnectionLoss(path="/"), "KeeperErrorCode = ConnectionLoss for /"),
    (SessionExpired(), "KeeperErrorCode = Session expired"),
    (
        ReconfigInProgress(),
        "Another reconfiguration is in progress -- concurrent reconfigs not supported (yet)",
    ),
    (UnknownErrorCode(-999, path="/x"), "KeeperErrorCode = Unknown error -999 for /x"),
]


@pytest.mark.parametrize(("error", "message"), ERROR_CASES)
def test_error_wording(error: ZooKeeperError, message: str) -> None:
    assert wrapped_message(error) == message


def test_error_json_and_codes() -> None:
    error = CliError.from_zookeeper(NoNode(path="/x"))
    assert error.exit_code == 1
    assert error.as_json() == {"error": "Node does not exist: /x", "code": "NONODE", "path": "/x"}
    assert wrapped_message(NewConfigNoQuorum()).startswith("No quorum of new config")
    assert keeper_message(-110, None) == "KeeperErrorCode = NodeExists"
