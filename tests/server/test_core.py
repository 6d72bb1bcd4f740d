"""ServerCore without sockets: handshake, per-session order, watches, expiry, resume.

Connections are real ClientConnection protocol objects fed bytes made by the codec; the
commit step is driven by hand, and time is a number, so nothing here sleeps.
"""

from __future__ import annotations

from typing import Any

from server.client_conn import ClientConnection, ConnState
from server.commit_step import StandaloneStep
from server.core import ServerCore
from server.settings import CoreSettings
from znode.acl import OPEN_ACL_UNSAFE
from znode.codec import (
    decode_connect_response,
    decode_notification,
    decode_reply_header,
    decode_response,
    encode_connect_request,
    encode_request,
)
from znode.errors import ErrorCode
from znode.events import EventType
from znode.framing import FrameDecoder
from znode.opcodes import OpCode
from znode.records import (
    ConnectRequest,
    CreateRequest,
    CreateResponse,
    ExistsRequest,
    GetDataRequest,
    SetDataRequest,
)
from znode.tree import DataTree
from znode.txn import Txn, TxnHeader

TICK = 100
SETTINGS = CoreSettings(tick_ms=TICK, min_session_timeout=200, max_session_timeout=2000)


class Harness:
    """A core whose commit step is a list the test flushes by hand."""

    def __init__(self) -> None:
        self.proposed: list[tuple[TxnHeader, Txn]] = []
        self.now = 10_000
        self.core = ServerCore(
            SETTINGS,
            DataTree(),
            step=StandaloneStep(lambda h, t: self.proposed.append((h, t)), 0),
            now=self.now,
            wall_offset=1_700_000_000_000,
            secret=b"k" * 32,
        )
        self._ids = 0

    def commit(self) -> None:
        if self.proposed:
            self.core.committed(self.proposed[-1][0].zxid, self.now)
            self.proposed.clear()

    def connection(self) -> Client:
        self._ids += 1
        conn = ClientConnection(self._ids, "127.0.0.1", 40000 + self._ids, max_frame=1 << 20)
        self.core.open(conn, self.now)
        return Client(self, conn)


class Client:
    """One fake client: sends requests as bytes, parses what the core queued for it."""

    def __init__(self, harness: Harness, conn: ClientConnection) -> None:
        self.h = harness
        self.conn = conn
        self.decoder = FrameDecoder()
        self.xid = 0
        self.ops: dict[int, int] = {}
        self.session_id = 0
        self.passwd = bytes(16)

    def feed(self, data: bytes) -> None:
        self.h.core.receive(self.conn, self.conn.receive_data(data), self.h.now)

    def connect(
        self,
        *,
        session_id: int = 0,
        passwd: bytes = bytes(16),
        last_zxid: int = 0,
        timeout: int = 1000,
    ) -> None:
        self.feed(
            encode_connect_request(ConnectRequest(0, last_zxid, timeout, session_id, passwd, False))
        )

    def send(self, op: int, request: Any) -> int:
        self.xid += 1
        self.ops[self.xid] = op
        self.feed(encode_request(self.xid, op, request))
        return self.xid

    def frames(self) -> list[Any]:
        """Everything received since the last call: connect response, replies, events."""
        self.decoder.feed(self.conn.take_outbox())
        out: list[Any] = []
        for payload in self.decoder:
            if len(payload) in (36, 37) and not self.session_id:
                resp = decode_connect_response(payload)
                self.session_id, self.passwd = resp.session_id, resp.passwd
                out.append(("connected", resp.timeout, resp.session_id))
                continue
            header = decode_reply_header(payload)
            if header.xid == -1:
                event = decode_notification(payload)
                out.append(("event", EventType(event.type), event.path))
            elif header.err:
                out.append(("reply", header.xid, ErrorCode(header.err)))
            else:
                op = self.ops.get(header.xid, OpCode.PING)
                out.append(("reply", header.xid, decode_response(op, payload)))
        return out


def established(h: Harness) -> Client:
    client = h.connection()
    client.connect()
    h.commit()
    kind, _timeout, session = client.frames()[0]
    assert kind == "connected"
    assert session
    return client


def test_new_session_is_answered_only_once_committed() -> None:
    h = Harness()
    client = h.connection()
    client.connect(timeout=50)  # clamped to minSessionTimeout
    client.send(OpCode.EXISTS, ExistsRequest("/", False))  # pipelined behind the handshake
    assert client.frames() == []
    assert client.conn.state is ConnState.CONNECTING
    h.commit()
    frames = client.frames()
    assert frames[0][:2] == ("connected", 200)
    assert frames[1][0:2] == ("reply", 1)
    assert client.session_id in h.core.tree.sessions


def test_reads_wait_behind_their_sessions_writes_only() -> None:
    h = Harness()
    a, b = established(h), established(h)
    a.send(OpCode.CREATE, CreateRequest("/x", b"1", OPEN_ACL_UNSAFE, 0))
    a.send(OpCode.GET_DATA, GetDataRequest("/x", False))
    b.send(OpCode.EXISTS, ExistsRequest("/x", False))
    assert a.frames() == []  # a's read waits for a's write
    assert b.frames() == [("reply", 1, ErrorCode.NONODE)]  # b is not held back
    h.commit()
    created, read = a.frames()
    assert created == ("reply", 1, created[2])
    assert created[2].path == "/x"
    assert read[2].data == b"1"


def test_held_read_sees_the_state_right_after_its_write() -> None:
    h = Harness()
    a = established(h)
    a.send(OpCode.CREATE, CreateRequest("/x", b"1", OPEN_ACL_UNSAFE, 0))
    a.send(OpCode.GET_DATA, GetDataRequest("/x", False))
    a.send(OpCode.SET_DATA, SetDataRequest("/x", b"2", -1))
    h.commit()  # both writes commit in one batch
    frames = a.frames()
    assert [f[1] for f in frames] == [1, 2, 3]  # replies in request order
    assert frames[1][2].data == b"1"  # the read ran between the two writes
    assert frames[2][2].stat.version == 1


def test_watch_event_precedes_the_reply_to_the_write_that_fired_it() -> None:
    h = Harness()
    a, b = established(h), established(h)
    a.send(OpCode.EXISTS, ExistsRequest("/w", True))
    b.send(OpCode.EXISTS, ExistsRequest("/w", True))
    a.frames()
    b.frames()
    a.send(OpCode.CREATE, CreateRequest("/w", b"", OPEN_ACL_UNSAFE, 0))
    h.commit()
    assert a.frames() == [
        ("event", EventType.NODE_CREATED, "/w"),
        ("reply", 2, CreateResponse("/w")),
    ]
    assert b.frames() == [("event", EventType.NODE_CREATED, "/w")]


def test_session_expires_at_a_tick_boundary_and_drops_its_ephemerals() -> None:
    h = Harness()
    owner, watcher = established(h), established(h)
    owner.send(OpCode.CREATE, CreateRequest("/eph", b"", OPEN_ACL_UNSAFE, 1))
    h.commit()
    owner.frames()
    watcher.send(OpCode.EXISTS, ExistsRequest("/eph", True))
    watcher.frames()
    # owner's timeout is 1000 ms; watcher keeps pinging
    for _ in range(20):
        h.now += 100
        watcher.send(OpCode.PING, None)
        h.core.tick(h.now)
        h.commit()
        if not owner.conn.is_open:
            break
    # last touch at 10_000 with 1000 ms: due at the first tick boundary after 11_000
    assert h.now == 11_100
    assert not owner.conn.is_open
    assert not h.core.tree.exists("/eph")
    assert ("event", EventType.NODE_DELETED, "/eph") in watcher.frames()
    assert owner.session_id not in h.core.tree.sessions


def test_resume_elsewhere_closes_the_old_connection_and_keeps_the_session() -> None:
    h = Harness()
    first = established(h)
    second = h.connection()
    second.connect(session_id=first.session_id, passwd=first.passwd, last_zxid=1)
    assert not first.conn.is_open
    assert second.frames()[0] == ("connected", 1000, first.session_id)


def test_bad_password_gets_an_invalid_session_and_a_close() -> None:
    h = Harness()
    first = established(h)
    intruder = h.connection()
    intruder.connect(session_id=first.session_id, passwd=b"x" * 16)
    assert intruder.frames() == [("connected", 0, 0)]
    assert not intruder.conn.is_open
    assert not first.conn.is_open  # ZooKeeper drops the owner before checking the password
    assert h.core.tracker.is_open(first.session_id)  # ...but the session lives on


def test_client_ahead_of_the_server_is_closed_without_a_reply() -> None:
    h = Harness()
    client = h.connection()
    client.connect(last_zxid=99)
    assert client.frames() == []
    assert not client.conn.is_open
