"""The standalone server through kazoo, checked against Apache ZooKeeper 3.8 as the oracle.

Every test runs on both servers (each started once for the module on a free port with a
temporary data directory, tickTime 200, the same super digest, no container reaping) and
asserts the same result on both: every op, the error each failure raises, watches,
ephemerals, sequential names, digest ACLs, multi, sync, the four-letter words, a frame too
big for the server, and kazoo's recipes (Lock, Counter, Election, Barrier, Queue).

Nothing sleeps: watch callbacks and recipe threads report through events and queues that
the test waits on with a timeout.
"""

from __future__ import annotations

import queue
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import (
    AuthFailedError,
    BadArgumentsError,
    BadVersionError,
    ConnectionLoss,
    InvalidACLError,
    NoAuthError,
    NoChildrenForEphemeralsError,
    NodeExistsError,
    NoNodeError,
    NotEmptyError,
    ReconfigDisabledError,
    RolledBackError,
    RuntimeInconsistency,
)
from kazoo.protocol.states import EventType, KazooState, WatchedEvent
from kazoo.security import (
    ACL,
    CREATOR_ALL_ACL,
    OPEN_ACL_UNSAFE,
    READ_ACL_UNSAFE,
    Id,
    make_acl,
    make_digest_acl,
)

from support.apache_zk import (
    SUPER_DIGEST,
    ApacheZooKeeper,
    four_letter_word,
    require_apache_zookeeper,
)
from support.zabkeeper_proc import ZabkeeperServer
from znode.acl import OPEN_ACL_UNSAFE as OPEN_ACL
from znode.codec import (
    decode_connect_response,
    decode_reply_header,
    encode_connect_request,
    encode_request,
)
from znode.framing import FrameDecoder
from znode.opcodes import OpCode
from znode.records import ConnectRequest, CreateRequest

TICK = 200
SAME_AS_REFERENCE = {
    "zookeeper.DigestAuthenticationProvider.superDigest": SUPER_DIGEST,
    "znode.container.checkIntervalMs": "2147483647",
}
WAIT = 10.0


class Server(NamedTuple):
    kind: str
    port: int

    @property
    def hosts(self) -> str:
        return f"127.0.0.1:{self.port}"


@pytest.fixture(
    scope="module", params=[pytest.param("zookeeper", marks=pytest.mark.interop), "zabkeeper"]
)
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """Apache ZooKeeper or zabkeeper, configured alike, for the whole module."""
    if request.param == "zookeeper":
        require_apache_zookeeper()
        zk = ApacheZooKeeper(tick_time=TICK).start()
        try:
            yield Server("zookeeper", zk.port)
        finally:
            zk.stop()
    else:
        ours = ZabkeeperServer(tick_time=TICK, extra_config=SAME_AS_REFERENCE).start()
        try:
            yield Server("zabkeeper", ours.port)
        finally:
            ours.cleanup()


@pytest.fixture
def kazoo(server: Server) -> Iterator[Callable[..., KazooClient]]:
    """``kazoo()`` starts a client on the server; all are stopped at teardown."""
    started: list[KazooClient] = []

    def start(**kwargs: Any) -> KazooClient:
        client = KazooClient(hosts=server.hosts, **{"timeout": WAIT, **kwargs})
        started.append(client)
        client.start(timeout=WAIT)
        return client

    yield start
    for client in started:
        client.stop()
        client.close()


@pytest.fixture
def zk(kazoo: Callable[..., KazooClient]) -> KazooClient:
    return kazoo()


@pytest.fixture
def base(request: pytest.FixtureRequest, zk: KazooClient) -> str:
    """A fresh node for the test's own paths."""
    return str(zk.create("/" + re.sub(r"[^A-Za-z0-9_-]", "_", request.node.name)))


def known_difference(request: pytest.FixtureRequest, server: Server, reason: str) -> None:
    """Mark the test a strict xfail on our server: ZooKeeper's behaviour that we lack."""
    if server.kind == "zabkeeper":
        request.node.add_marker(pytest.mark.xfail(reason=reason, strict=True))


class Watch:
    """A kazoo watch function that queues its events for the test to wait on."""

    def __init__(self) -> None:
        self.events: queue.Queue[WatchedEvent] = queue.Queue()

    def __call__(self, event: WatchedEvent) -> None:
        self.events.put(event)

    def next(self) -> tuple[str, str]:
        event = self.events.get(timeout=WAIT)
        assert event.state == KazooState.CONNECTED
        return (event.type, event.path)

    def assert_empty(self) -> None:
        assert self.events.empty(), list(self.events.queue)


def round_trip(client: KazooClient) -> None:
    """Every event the server sent this client before now has been queued by kazoo.

    The server sends a notification before any later reply on the connection, and kazoo
    dispatches watch callbacks in order on one thread, so a watch set after them fires
    after them.
    """
    marker = Watch()
    path = f"/round-trip-{threading.get_ident()}-{time.monotonic_ns()}"
    client.exists(path, watch=marker)
    client.create(path, ephemeral=True)
    assert marker.next() == (EventType.CREATED, path)
    client.delete(path)


# --- every op ------------------------------------------------------------------------------------


def test_create_get_set_exists_children_delete(zk: KazooClient, base: str) -> None:
    before = int(time.time() * 1000)
    path, stat = zk.create(f"{base}/a", b"v", include_data=True)  # create2
    assert path == f"{base}/a"
    assert (stat.version, stat.cversion, stat.aversion, stat.numChildren) == (0, 0, 0, 0)
    assert stat.czxid == stat.mzxid == stat.pzxid > 0
    assert stat.dataLength == 1
    assert stat.ephemeralOwner == 0
    assert stat.ctime == stat.mtime
    assert before - 5_000 <= stat.ctime <= int(time.time() * 1000) + 5_000
    data, got = zk.get(path)
    assert (data, got) == (b"v", stat)
    set_stat = zk.set(path, b"w")
    assert set_stat.version == 1
    assert set_stat.mzxid > set_stat.czxid
    assert set_stat.mtime >= set_stat.ctime
    assert zk.set(path, b"w", version=1).version == 2  # same bytes still count
    assert zk.exists(path) == zk.get(path)[1]
    assert zk.exists(f"{base}/none") is None
    assert zk.create(f"{base}/empty") == f"{base}/empty"
    assert zk.get(f"{base}/empty")[0] == b""
    assert sorted(zk.get_children(base)) == ["a", "empty"]
    children, parent = zk.get_children(base, include_data=True)  # getChildren2
    assert sorted(children) == ["a", "empty"]
    assert (parent.numChildren, parent.cversion) == (2, 2)
    zk.delete(f"{base}/empty", version=0)
    parent_after = zk.exists(base)
    assert (parent_after.numChildren, parent_after.cversion) == (1, 3)  # deletes count too
    assert parent_after.pzxid > parent.pzxid
    assert parent_after.mzxid == parent.mzxid  # child changes leave mzxid alone
    zk.ensure_path(f"{base}/x/y/z")
    zk.create(f"{base}/p/q/r", b"deep", makepath=True)
    assert zk.get(f"{base}/p/q/r")[0] == b"deep"
    zk.delete(f"{base}/p", recursive=True)
    assert zk.exists(f"{base}/p") is None


def test_acl_ops(zk: KazooClient, base: str) -> None:
    path = zk.create(f"{base}/n")
    acl, stat = zk.get_acls(path)
    assert list(acl) == list(OPEN_ACL_UNSAFE)
    new_stat = zk.set_acls(path, READ_ACL_UNSAFE + OPEN_ACL_UNSAFE, version=0)
    assert (new_stat.aversion, new_stat.version, new_stat.mzxid) == (1, 0, stat.mzxid)
    acl, _ = zk.get_acls(path)
    assert list(acl) == list(READ_ACL_UNSAFE + OPEN_ACL_UNSAFE)
    zk.set_acls(path, OPEN_ACL_UNSAFE + OPEN_ACL_UNSAFE)  # duplicates are dropped
    assert list(zk.get_acls(path)[0]) == list(OPEN_ACL_UNSAFE)
    root_acl, root_stat = zk.get_acls("/zookeeper/config")
    assert list(root_acl) == [ACL(1, Id("world", "anyone"))]
    assert root_stat.aversion == -1


def test_sync_returns_the_path(zk: KazooClient, base: str) -> None:
    assert zk.sync(base) == base
    assert zk.sync("/") == "/"


def test_system_nodes(zk: KazooClient) -> None:
    assert "zookeeper" in zk.get_children("/")
    assert sorted(zk.get_children("/zookeeper")) == ["config", "quota"]
    data, stat = zk.get("/zookeeper/config")
    assert data == b""
    assert (stat.czxid, stat.mzxid, stat.ctime, stat.pzxid) == (0, 0, 0, 0)


# --- errors --------------------------------------------------------------------------------------


def test_each_failure_raises_its_error(
    kazoo: Callable[..., KazooClient], zk: KazooClient, base: str
) -> None:
    zk.create(f"{base}/a/b", makepath=True)
    zk.create(f"{base}/eph", ephemeral=True)
    zk.create(f"{base}/ro", acl=READ_ACL_UNSAFE)
    checks: list[tuple[type[Exception], Callable[[], object]]] = [
        (NoNodeError, lambda: zk.get(f"{base}/none")),
        (NoNodeError, lambda: zk.set(f"{base}/none", b"")),
        (NoNodeError, lambda: zk.delete(f"{base}/none")),
        (NoNodeError, lambda: zk.get_children(f"{base}/none")),
        (NoNodeError, lambda: zk.get_acls(f"{base}/none")),
        (NoNodeError, lambda: zk.create(f"{base}/none/child")),
        (NodeExistsError, lambda: zk.create(f"{base}/a")),
        (BadVersionError, lambda: zk.set(f"{base}/a", b"", version=7)),
        (BadVersionError, lambda: zk.delete(f"{base}/a/b", version=7)),
        (BadVersionError, lambda: zk.set_acls(f"{base}/a", OPEN_ACL_UNSAFE, version=7)),
        (NotEmptyError, lambda: zk.delete(f"{base}/a")),
        (NoChildrenForEphemeralsError, lambda: zk.create(f"{base}/eph/child")),
        (InvalidACLError, lambda: zk.create(f"{base}/c", acl=CREATOR_ALL_ACL)),
        (InvalidACLError, lambda: zk.create(f"{base}/c", acl=[make_acl("nope", "x")])),
        (NoAuthError, lambda: zk.set(f"{base}/ro", b"x")),
        (NoAuthError, lambda: zk.create(f"{base}/ro/child")),
        (NoAuthError, lambda: zk.set("/zookeeper/config", b"x")),
        (BadArgumentsError, lambda: zk.delete("/zookeeper")),
        (BadArgumentsError, lambda: zk.delete("/zookeeper/config")),
        (ReconfigDisabledError, lambda: zk.reconfig("server.9=127.0.0.1:1:2", None, None)),
    ]
    for error, call in checks:
        with pytest.raises(error):
            call()
    assert zk.connected  # none of these costs the connection
    refused = kazoo(timeout=0.4)  # its session outlives the refused connection: keep it short
    with pytest.raises(AuthFailedError):
        refused.add_auth("no-such-scheme", "x")


def test_resuming_a_live_session_keeps_it_and_an_expired_one_is_replaced(
    kazoo: Callable[..., KazooClient], zk: KazooClient, server: Server, base: str
) -> None:
    live_id, live_passwd = _raw_session(server, f"{base}/mine", timeout=4000)
    resumed = kazoo(client_id=(live_id, live_passwd))
    assert resumed.client_id == (live_id, live_passwd)
    assert resumed.exists(f"{base}/mine").ephemeralOwner == live_id
    resumed.stop()  # kazoo now owns the session: closing it takes the ephemeral along
    assert zk.exists(f"{base}/mine") is None
    session_id, passwd = _expired_session(server, f"{base}/e")
    fresh = kazoo(client_id=(session_id, passwd))  # answered with timeOut 0: kazoo starts over
    assert fresh.client_id[0] not in (0, session_id)
    assert fresh.exists(f"{base}/e") is None


# --- watches -------------------------------------------------------------------------------------


def test_data_exists_and_child_watches_fire_once(
    kazoo: Callable[..., KazooClient], zk: KazooClient, base: str
) -> None:
    writer = kazoo()
    node, missing = f"{base}/n", f"{base}/m"
    zk.create(node, b"0")
    data_watch, child_watch, exists_watch = Watch(), Watch(), Watch()
    zk.get(node, watch=data_watch)
    zk.get_children(node, watch=child_watch)
    assert zk.exists(missing, watch=exists_watch) is None
    writer.set(node, b"1")
    writer.set(node, b"2")
    writer.create(f"{node}/c1")
    writer.create(f"{node}/c2")
    writer.create(missing)
    writer.delete(missing)
    round_trip(zk)
    assert data_watch.next() == (EventType.CHANGED, node)
    assert child_watch.next() == (EventType.CHILD, node)
    assert exists_watch.next() == (EventType.CREATED, missing)
    for watch in (data_watch, child_watch, exists_watch):
        watch.assert_empty()  # one-shot
    deleted = Watch()
    zk.exists(f"{node}/c1", watch=deleted)
    writer.delete(f"{node}/c1")
    assert deleted.next() == (EventType.DELETED, f"{node}/c1")


def test_kazoo_data_and_children_watch_recipes(
    kazoo: Callable[..., KazooClient], zk: KazooClient, base: str
) -> None:
    writer = kazoo()
    node = f"{base}/n"
    datas: queue.Queue[bytes | None] = queue.Queue()
    kids: queue.Queue[list[str]] = queue.Queue()
    zk.DataWatch(node, lambda data, stat: datas.put(data))
    assert datas.get(timeout=WAIT) is None  # missing at first
    writer.create(node, b"a")
    assert datas.get(timeout=WAIT) == b"a"
    zk.ChildrenWatch(node, lambda children: kids.put(sorted(children)))
    assert kids.get(timeout=WAIT) == []
    writer.set(node, b"b")
    assert datas.get(timeout=WAIT) == b"b"
    writer.create(f"{node}/x")
    assert kids.get(timeout=WAIT) == ["x"]
    writer.create(f"{node}/y")
    assert kids.get(timeout=WAIT) == ["x", "y"]


# --- ephemerals and sequential nodes -------------------------------------------------------------


def test_ephemerals_go_when_their_session_closes(
    kazoo: Callable[..., KazooClient], zk: KazooClient, base: str
) -> None:
    owner = kazoo()
    e = owner.create(f"{base}/e", b"x", ephemeral=True)
    s = owner.create(f"{base}/s-", ephemeral=True, sequence=True)
    assert zk.exists(e).ephemeralOwner == owner.client_id[0]
    gone_e, gone_s, children = Watch(), Watch(), Watch()
    zk.exists(e, watch=gone_e)
    zk.exists(s, watch=gone_s)
    zk.get_children(base, watch=children)
    owner.stop()  # closeSession
    assert gone_e.next() == (EventType.DELETED, e)
    assert gone_s.next() == (EventType.DELETED, s)
    assert children.next() == (EventType.CHILD, base)
    assert zk.get_children(base) == []


def test_ephemerals_go_when_their_session_expires(
    zk: KazooClient, server: Server, base: str
) -> None:
    e = f"{base}/e"
    gone = Watch()
    started = time.monotonic()
    session_id, _ = _expired_session(server, e, watcher=lambda: zk.exists(e, watch=gone))
    assert gone.next() == (EventType.DELETED, e)
    assert zk.exists(e) is None
    assert time.monotonic() - started < 3.0  # a 400 ms session at tickTime 200
    assert session_id


def test_sequential_names_use_the_parents_creation_counter(zk: KazooClient, base: str) -> None:
    names = [zk.create(f"{base}/s-", sequence=True) for _ in range(3)]
    assert names == [f"{base}/s-000000000{i}" for i in range(3)]
    zk.delete(names[1])
    assert zk.create(f"{base}/s-", sequence=True) == f"{base}/s-0000000003"  # never reused
    zk.create(f"{base}/plain")  # any child create counts
    assert zk.create(f"{base}/e-", ephemeral=True, sequence=True) == f"{base}/e-0000000005"
    zk.create(f"{base}/dir")
    assert zk.create(f"{base}/dir/", sequence=True) == f"{base}/dir/0000000000"
    stat = zk.exists(base)
    # visible cversion = creations and deletions (7 + 1); numChildren = 6
    assert (stat.cversion, stat.numChildren) == (8, 6)


# --- ACLs and digest auth ----------------------------------------------------------------------


def test_digest_acl_with_auth(
    kazoo: Callable[..., KazooClient], zk: KazooClient, base: str
) -> None:
    zk.add_auth("digest", "alice:secret")
    alice_all = make_digest_acl("alice", "secret", all=True)
    world_read = make_acl("world", "anyone", read=True)
    path = zk.create(f"{base}/n", b"data", acl=[world_read, alice_all])
    mine = zk.create(f"{base}/mine", b"m", acl=CREATOR_ALL_ACL)
    assert list(zk.get_acls(mine)[0]) == [alice_all]
    stranger = kazoo()
    assert stranger.get(path)[0] == b"data"
    with pytest.raises(NoAuthError):
        stranger.set(path, b"x")
    with pytest.raises(NoAuthError):
        stranger.get(mine)
    masked, _ = stranger.get_acls(path)  # READ but no ADMIN: digests are masked
    assert list(masked) == [world_read, ACL(31, Id("digest", "alice:x"))]
    stranger.add_auth("digest", "bob:secret")
    with pytest.raises(NoAuthError):
        stranger.get(mine)
    friend = kazoo(auth_data=[("digest", "alice:secret")])
    friend.set(path, b"y")
    assert friend.get(mine)[0] == b"m"
    root = kazoo(auth_data=[("digest", "super:superpw")])
    root.set(mine, b"super")
    root.delete(mine)
    assert zk.exists(mine) is None


# --- multi ---------------------------------------------------------------------------------------


def test_transaction_commits_everything_at_one_zxid(zk: KazooClient, base: str) -> None:
    zk.create(f"{base}/old", b"o")
    txn = zk.transaction()
    txn.create(f"{base}/new", b"n")
    txn.set_data(f"{base}/old", b"p", version=0)
    txn.check(f"{base}/old", 1)
    txn.create(f"{base}/seq-", sequence=True)
    txn.delete(f"{base}/new")
    results = txn.commit()
    assert results[0] == f"{base}/new"
    assert results[1].version == 1
    assert results[2:] == [True, f"{base}/seq-0000000002", True]
    assert zk.get(f"{base}/old")[0] == b"p"
    assert zk.exists(f"{base}/new") is None
    assert zk.exists(f"{base}/old").mzxid == zk.exists(f"{base}/seq-0000000002").czxid


def test_transaction_rolls_back_everything(
    kazoo: Callable[..., KazooClient], zk: KazooClient, base: str
) -> None:
    zk.create(f"{base}/a", b"a")
    watcher, watch = kazoo(), Watch()
    watcher.get_children(base, watch=watch)
    txn = zk.transaction()
    txn.create(f"{base}/b")
    txn.set_data(f"{base}/a", b"changed")
    txn.check(f"{base}/a", 5)
    txn.delete(f"{base}/a")
    results = txn.commit()
    assert [type(r) for r in results] == [
        RolledBackError,
        RolledBackError,
        BadVersionError,
        RuntimeInconsistency,
    ]
    assert zk.get_children(base) == ["a"]
    assert zk.get(f"{base}/a") == (b"a", zk.exists(f"{base}/a"))
    assert zk.exists(f"{base}/a").version == 0
    round_trip(watcher)
    watch.assert_empty()  # nothing was applied, nothing fired


# --- four-letter words -------------------------------------------------------------------------


def test_four_letter_words(
    kazoo: Callable[..., KazooClient], zk: KazooClient, server: Server, base: str
) -> None:
    port = server.port
    watcher = kazoo()
    watched = [zk.create(f"{base}/w1"), zk.create(f"{base}/w2")]
    for path in watched:
        watcher.get(path, watch=lambda event: None)
    e = zk.create(f"{base}/e", ephemeral=True)
    last = zk.exists(e).czxid
    sid = f"0x{watcher.client_id[0] & (2**64 - 1):x}"
    owner = f"0x{zk.client_id[0] & (2**64 - 1):x}"

    assert four_letter_word(port, "ruok") == "imok"
    assert four_letter_word(port, "isro") == "rw"
    deadline = time.monotonic() + WAIT  # the previous test's connections may still be going
    while "\nConnections: 3\n" not in (srvr := four_letter_word(port, "srvr")):
        assert time.monotonic() < deadline, srvr
    labels = [line.split(":")[0] for line in srvr.splitlines()]
    assert labels == [
        "Zookeeper version",
        "Latency min/avg/max",
        "Received",
        "Sent",
        "Connections",
        "Outstanding",
        "Zxid",
        "Mode",
        "Node count",
    ]
    assert srvr.startswith("Zookeeper version: 3.8.0-")
    assert f"\nZxid: 0x{last:x}\n" in srvr
    assert "\nMode: standalone\n" in srvr
    # (3: the two clients and the asking connection)
    nodes = int(re.search(r"Node count: (\d+)", srvr).group(1))  # type: ignore[union-attr]
    zk.create(f"{base}/one-more")
    assert f"Node count: {nodes + 1}\n" in four_letter_word(port, "srvr")

    stat = four_letter_word(port, "stat")
    assert stat.split("\n")[1] == "Clients:"
    clients = re.findall(
        r"^ /127\.0\.0\.1:\d+\[\d\]\(queued=\d+,recved=\d+,sent=\d+\)$", stat, re.M
    )
    assert len(clients) == 3
    cons = four_letter_word(port, "cons")
    assert f",sid={sid},lop=GETD,est=" in cons
    assert f",sid={owner},lop=" in cons
    assert f",to={4000}," in cons
    assert cons.endswith("\n\n")

    assert four_letter_word(port, "wchs") == "1 connections watching 2 paths\nTotal watches:2\n"
    # (the order of the paths is ZooKeeper's hash order: see the test below)
    wchc = four_letter_word(port, "wchc").split("\n")
    assert (wchc[0], wchc[-2:]) == (sid, ["", ""])
    assert sorted(wchc[1:-2]) == [f"\t{p}" for p in watched]
    wchp = four_letter_word(port, "wchp").split("\n")
    assert wchp[-2:] == ["", ""]
    assert sorted(wchp[:-2:2]) == watched
    assert wchp[1:-2:2] == [f"\t{sid}", f"\t{sid}"]

    mntr = dict(line.split("\t", 1) for line in four_letter_word(port, "mntr").splitlines())
    assert mntr["zk_server_state"] == "standalone"
    assert mntr["zk_version"] == srvr.splitlines()[0].split(": ", 1)[1]
    assert int(mntr["zk_znode_count"]) == nodes + 1
    assert mntr["zk_ephemerals_count"] == "1"
    assert mntr["zk_watch_count"] == "2"
    assert mntr["zk_num_alive_connections"] == "3"
    # (>=: a session whose connection was refused, e.g. after AUTHFAILED, lives on until
    # it expires)
    assert int(mntr["zk_global_sessions"]) >= 2

    conf = dict(line.split("=", 1) for line in four_letter_word(port, "conf").splitlines())
    assert list(conf) == [
        "clientPort",
        "secureClientPort",
        "dataDir",
        "dataDirSize",
        "dataLogDir",
        "dataLogSize",
        "tickTime",
        "maxClientCnxns",
        "minSessionTimeout",
        "maxSessionTimeout",
        "clientPortListenBacklog",
        "serverId",
    ]
    assert (conf["clientPort"], conf["tickTime"]) == (str(port), str(TICK))
    assert (conf["minSessionTimeout"], conf["maxSessionTimeout"]) == ("400", "4000")

    dump = four_letter_word(port, "dump")
    assert dump.startswith("SessionTracker dump:\n")
    assert f"\t{sid}\n" in dump.split("ephemeral nodes dump:")[0]
    assert f"ephemeral nodes dump:\nSessions with Ephemerals (1):\n{owner}:\n\t{e}\n" in dump
    assert "Connections dump:\n" in dump
    envi = four_letter_word(port, "envi")
    assert envi.startswith("Environment:\nzookeeper.version=3.8.0-")
    assert re.fullmatch(r"datadir_size: \d+\nlogdir_size: \d+\n", four_letter_word(port, "dirs"))
    assert four_letter_word(port, "crst") == "Connection stats reset.\n"
    zk.stop()  # no pings from here on
    watcher.stop()
    deadline = time.monotonic() + WAIT  # until the server has finished with both
    while "\nConnections: 1\n" not in four_letter_word(port, "srvr"):
        assert time.monotonic() < deadline
    assert four_letter_word(port, "srst") == "Server stats reset.\n"
    # received: just this srvr; sent: srst's answer, written after the reset
    assert "\nReceived: 1\nSent: 1\nConnections: 1\n" in four_letter_word(port, "srvr")
    assert four_letter_word(port, "xyzw") == ""  # not a word: closed without an answer


def test_watch_listings_follow_zookeepers_hash_order(
    request: pytest.FixtureRequest, kazoo: Callable[..., KazooClient], server: Server
) -> None:
    """ZooKeeper prints a connection's watched paths in Java HashSet order."""
    known_difference(request, server, "ours lists watched paths sorted")
    client = kazoo()
    paths = [f"/order/p{i}" for i in range(6)]
    client.create("/order")
    for path in paths:
        client.create(path)
        client.get(path, watch=lambda event: None)
    sid = f"0x{client.client_id[0] & (2**64 - 1):x}"
    wchc = four_letter_word(server.port, "wchc")
    hash_order = [paths[i] for i in (1, 0, 3, 2, 5, 4)]  # captured from ZooKeeper 3.8.0
    assert wchc == sid + "\n" + "".join(f"\t{p}\n" for p in hash_order) + "\n"
    wchp = four_letter_word(server.port, "wchp")
    assert wchp == "".join(f"{p}\n\t{sid}\n" for p in hash_order) + "\n"


def test_gtmk_reports_the_default_trace_mask(
    request: pytest.FixtureRequest, server: Server
) -> None:
    known_difference(request, server, "ours reports trace mask 0")
    # ZooTrace's default mask, 0b100110010
    assert four_letter_word(server.port, "gtmk") == "306"


# --- a frame too big -----------------------------------------------------------------------------


def test_two_mebibyte_request_costs_only_its_connection(
    kazoo: Callable[..., KazooClient], zk: KazooClient, base: str
) -> None:
    states: queue.Queue[str] = queue.Queue()
    big = kazoo()
    big.add_listener(states.put)
    session = big.client_id
    bystander_watch = Watch()
    zk.exists(f"{base}/after", watch=bystander_watch)
    with pytest.raises(ConnectionLoss):
        big.create(f"{base}/huge", b"x" * (2 << 20))
    assert states.get(timeout=WAIT) == KazooState.SUSPENDED
    assert states.get(timeout=WAIT) == KazooState.CONNECTED
    assert big.client_id == session  # the session survives its connection
    big.create(f"{base}/after")
    assert bystander_watch.next() == (EventType.CREATED, f"{base}/after")
    assert zk.exists(f"{base}/huge") is None
    assert zk.connected


# --- recipes -------------------------------------------------------------------------------------


def test_lock_is_exclusive_and_passes_on(
    kazoo: Callable[..., KazooClient], zk: KazooClient, base: str
) -> None:
    other = kazoo()
    first, second = zk.Lock(f"{base}/lock", "first"), other.Lock(f"{base}/lock", "second")
    assert first.acquire(timeout=WAIT)
    acquired = threading.Event()

    def contend() -> None:
        if second.acquire(timeout=WAIT):
            acquired.set()

    thread = threading.Thread(target=contend)
    thread.start()
    try:
        deadline = time.monotonic() + WAIT
        while len(first.contenders()) < 2:  # the second is queued behind the first
            assert time.monotonic() < deadline
            other.sync(f"{base}/lock")
        assert first.contenders() == ["first", "second"]
        assert not acquired.is_set()
        assert not other.Lock(f"{base}/lock").acquire(blocking=False)
        first.release()
        assert acquired.wait(WAIT)
    finally:
        thread.join(WAIT)
    assert second.is_acquired
    second.release()
    assert first.contenders() == []


def test_counter_from_two_clients(
    kazoo: Callable[..., KazooClient], zk: KazooClient, base: str
) -> None:
    a, b = zk.Counter(f"{base}/count"), kazoo().Counter(f"{base}/count")
    a += 5
    b += 3
    a -= 1
    assert a.value == b.value == 7
    assert (a.pre_value, a.post_value) == (8, 7)
    results: queue.Queue[int] = queue.Queue()

    def bump(counter: Any) -> None:
        for _ in range(10):
            counter += 1
        results.put(counter.post_value)

    threads = [threading.Thread(target=bump, args=(c,)) for c in (a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert a.value == 27
    assert sorted([results.get(timeout=WAIT), results.get(timeout=WAIT)])[-1] == 27


def test_election_picks_one_leader_at_a_time(
    kazoo: Callable[..., KazooClient], zk: KazooClient, base: str
) -> None:
    other = kazoo()
    first, second = zk.Election(f"{base}/elect", "a"), other.Election(f"{base}/elect", "b")
    leading: queue.Queue[str] = queue.Queue()
    step_down = {"a": threading.Event(), "b": threading.Event()}

    def lead(name: str) -> None:
        leading.put(name)
        step_down[name].wait(WAIT)

    threads = [threading.Thread(target=first.run, args=(lead, "a"))]
    threads[0].start()
    try:
        assert leading.get(timeout=WAIT) == "a"
        threads.append(threading.Thread(target=second.run, args=(lead, "b")))
        threads[1].start()
        deadline = time.monotonic() + WAIT
        while second.contenders() != ["a", "b"]:
            assert time.monotonic() < deadline
        assert leading.empty()
        step_down["a"].set()
        assert leading.get(timeout=WAIT) == "b"
        step_down["b"].set()
    finally:
        for event in step_down.values():
            event.set()
        for thread in threads:
            thread.join(WAIT)
    assert first.contenders() == []


def test_barrier_holds_until_removed(
    kazoo: Callable[..., KazooClient], zk: KazooClient, base: str
) -> None:
    barrier = zk.Barrier(f"{base}/barrier")
    barrier.create()
    waiter = kazoo().Barrier(f"{base}/barrier")
    passed: queue.Queue[bool] = queue.Queue()
    thread = threading.Thread(target=lambda: passed.put(waiter.wait(WAIT)))
    thread.start()
    try:
        assert not kazoo().Barrier(f"{base}/barrier").wait(0.3)  # still up
        barrier.remove()
        assert passed.get(timeout=WAIT) is True
    finally:
        thread.join(WAIT)
    assert zk.exists(f"{base}/barrier") is None


def test_double_barrier_enters_when_all_arrive(
    kazoo: Callable[..., KazooClient], zk: KazooClient, base: str
) -> None:
    path = f"{base}/double"
    entered: queue.Queue[str] = queue.Queue()
    barriers = [c.DoubleBarrier(path, 2, identifier=n) for c, n in ((zk, "a"), (kazoo(), "b"))]

    def enter_and_leave(barrier: Any) -> None:
        barrier.enter()
        entered.put(barrier._identifier)
        barrier.leave()

    threads = [threading.Thread(target=enter_and_leave, args=(b,)) for b in barriers]
    threads[0].start()
    try:
        with pytest.raises(queue.Empty):  # alone, the first cannot enter
            entered.get(timeout=0.3)
        threads[1].start()
        assert sorted([entered.get(timeout=WAIT), entered.get(timeout=WAIT)]) == ["a", "b"]
    finally:
        for thread in threads:
            if thread.is_alive() or thread.ident is not None:
                thread.join(WAIT)
    assert zk.get_children(path) == []


def test_queues(kazoo: Callable[..., KazooClient], zk: KazooClient, base: str) -> None:
    producer, consumer = zk.Queue(f"{base}/q"), kazoo().Queue(f"{base}/q")
    for item in (b"1", b"2", b"3"):
        producer.put(item)
    producer.put(b"urgent", priority=10)  # lower priority numbers come first
    producer.put(b"first", priority=1)
    assert len(consumer) == 5
    got = [consumer.get() for _ in range(5)]
    assert got == [b"first", b"urgent", b"1", b"2", b"3"]
    assert consumer.get() is None
    locking = zk.LockingQueue(f"{base}/lq")
    locking.put_all([b"a", b"b"])
    taker = kazoo().LockingQueue(f"{base}/lq")
    assert taker.get(WAIT) == b"a"
    assert taker.holds_lock()
    assert taker.consume()
    assert taker.get(WAIT) == b"b"
    assert taker.release()  # put back: still there for someone else
    assert locking.get(WAIT) == b"b"
    assert locking.consume()
    assert len(locking) == 0


# --- helpers -------------------------------------------------------------------------------------


def _expired_session(
    server: Server, ephemeral: str, *, watcher: Callable[[], object] | None = None
) -> tuple[int, bytes]:
    """A raw session of 400 ms that creates ``ephemeral``, then falls silent until the
    server expires it and closes its connection; returns its id and password.

    ``watcher`` runs once the ephemeral exists, before the session goes silent.
    """
    return _raw_session(server, ephemeral, timeout=2 * TICK, watcher=watcher, wait_expiry=True)


def _raw_session(
    server: Server,
    ephemeral: str,
    *,
    timeout: int,
    watcher: Callable[[], object] | None = None,
    wait_expiry: bool = False,
) -> tuple[int, bytes]:
    """A session on a raw connection that creates ``ephemeral``; returns its id and password.

    The connection is then dropped without closing the session, or, with ``wait_expiry``,
    kept silent until the server expires the session and closes it without a word.
    """
    with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT) as sock:
        decoder = FrameDecoder()

        def frame() -> bytes | None:
            while (payload := decoder.next_frame()) is None:
                data = sock.recv(65536)
                if not data:
                    return None
                decoder.feed(data)
            return payload

        sock.sendall(encode_connect_request(ConnectRequest(0, 0, timeout, 0, bytes(16), False)))
        first = frame()
        assert first is not None
        resp = decode_connect_response(first)
        assert resp.timeout == timeout
        sock.sendall(encode_request(1, OpCode.CREATE, CreateRequest(ephemeral, b"", OPEN_ACL, 1)))
        reply = frame()
        assert reply is not None
        assert decode_reply_header(reply).err == 0
        if watcher is not None:
            watcher()
        if wait_expiry:
            assert frame() is None  # expired: closed without a word
    return resp.session_id, resp.passwd
