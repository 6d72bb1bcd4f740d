"""The client port byte by byte, against Apache ZooKeeper 3.8 and against our server.

Every test here runs twice: once on Apache ZooKeeper (the oracle) and once on zabkeeper,
both started by the module on a free port with a temporary data directory, configured
alike (tickTime 200, the same super digest, no container reaping), and both must show the
same observable result. The client is a raw socket speaking the wire with ``znode.codec``,
so what is checked is exactly what goes over the wire: reply headers, xids, zxids, the
order of frames, and when the server closes the connection.

Waiting never sleeps: replies and events are read from blocking sockets with timeouts,
and "no (more) events" is proved with a ping round trip, because a server queues a
notification on a connection before any later reply on it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
import socket
import struct
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import pytest

from support.apache_zk import (
    SUPER_DIGEST,
    ApacheZooKeeper,
    four_letter_word,
    require_apache_zookeeper,
)
from support.zabkeeper_proc import ZabkeeperServer
from znode.acl import ACL, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, Id, digest_id
from znode.codec import (
    decode_connect_response,
    decode_notification,
    decode_reply_header,
    decode_response,
    encode_connect_request,
    encode_record,
    encode_request,
)
from znode.errors import ErrorCode
from znode.events import EventType
from znode.framing import FrameDecoder
from znode.opcodes import OpCode
from znode.records import (
    AddWatchRequest,
    AuthPacket,
    CheckVersionRequest,
    CheckWatchesRequest,
    ClientInfo,
    ConnectRequest,
    ConnectResponse,
    CreateRequest,
    CreateTTLRequest,
    DeleteRequest,
    ExistsRequest,
    GetACLRequest,
    GetAllChildrenNumberRequest,
    GetChildrenRequest,
    GetDataRequest,
    GetEphemeralsRequest,
    GetSASLRequest,
    MultiOp,
    MultiRequest,
    ReconfigRequest,
    RemoveWatchesRequest,
    SetACLRequest,
    SetDataRequest,
    SetWatches,
    SetWatches2,
    SyncRequest,
)

TICK = 200
#: Configured on our server as ApacheZooKeeper configures the reference.
SAME_AS_REFERENCE = {
    "zookeeper.DigestAuthenticationProvider.superDigest": SUPER_DIGEST,
    "znode.container.checkIntervalMs": "2147483647",
}
SERVERS = [pytest.param("zookeeper", marks=pytest.mark.interop), "zabkeeper"]
WAIT = 5.0  # seconds any single reply or event may take
#: how soon a close must follow; well below the 4 s (maximum) session timeout, so a close
#: caused by the session expiring does not pass for the close under test
CLOSE_WAIT = 2.0
JUTE_MAXBUFFER = 0xFFFFF

C = EventType.NODE_CREATED
D = EventType.NODE_DELETED
DC = EventType.NODE_DATA_CHANGED
CC = EventType.NODE_CHILDREN_CHANGED


# --- servers ---------------------------------------------------------------------------------


class Server(NamedTuple):
    kind: str
    port: int
    stop: Callable[[], None]


def start_server(
    kind: str,
    *,
    zoo_cfg: dict[str, str] | None = None,
    system_properties: dict[str, str] | None = None,
) -> Server:
    """Start one server of ``kind``; ``system_properties`` are JVM ``-D`` flags for
    ZooKeeper and plain zoo.cfg keys for ours (which reads both spellings)."""
    zoo_cfg = dict(zoo_cfg or {})
    props = dict(system_properties or {})
    if kind == "zookeeper":
        require_apache_zookeeper()
        flags = tuple(f"-D{k}={v}" for k, v in props.items())
        zk = ApacheZooKeeper(tick_time=TICK, extra_config=zoo_cfg, jvm_flags=flags).start()
        return Server(kind, zk.port, zk.stop)
    ours = ZabkeeperServer(
        tick_time=TICK, extra_config={**SAME_AS_REFERENCE, **zoo_cfg, **props}
    ).start()
    return Server(kind, ours.port, ours.cleanup)


@pytest.fixture(scope="module", params=SERVERS)
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """Apache ZooKeeper or zabkeeper, default limits, shared by the module's tests."""
    srv = start_server(request.param)
    try:
        yield srv
    finally:
        srv.stop()


# --- a raw client ----------------------------------------------------------------------------


class Closed(Exception):
    """The server closed the connection."""


class Reply(NamedTuple):
    xid: int
    zxid: int
    err: int
    body: Any
    raw: bytes


class Event(NamedTuple):
    type: int
    path: str
    zxid: int
    state: int


class Raw:
    """One TCP connection to the client port, spoken with our codec."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        self.decoder = FrameDecoder(max_frame=1 << 24)
        self.xid = 0
        self.pending: dict[int, int] = {}
        self.events: list[Event] = []
        self.session_id = 0
        self.passwd = bytes(16)
        self.timeout = 0
        self.closed = False

    # transport
    def send_bytes(self, data: bytes) -> None:
        self.sock.sendall(data)

    def frame(self, timeout: float = WAIT) -> bytes:
        """The next frame's payload; raises :class:`Closed` at EOF."""
        while True:
            payload = self.decoder.next_frame()
            if payload is not None:
                return payload
            self.sock.settimeout(timeout)
            try:
                data = self.sock.recv(1 << 16)
            except ConnectionResetError:
                data = b""
            if not data:
                self.closed = True
                raise Closed()
            self.decoder.feed(data)

    def assert_closed(self, timeout: float = CLOSE_WAIT) -> None:
        """The server closes the connection without sending anything (more)."""
        try:
            payload = self.frame(timeout)
        except Closed:
            return
        pytest.fail(f"expected the server to close the connection, got a frame {payload!r}")

    def close(self) -> None:
        self.sock.close()

    # handshake
    def connect_frame(
        self,
        *,
        timeout: int = 10_000,
        session_id: int = 0,
        passwd: bytes = bytes(16),
        last_zxid: int = 0,
        read_only: bool | None = False,
    ) -> bytes:
        return encode_connect_request(
            ConnectRequest(0, last_zxid, timeout, session_id, passwd, read_only)
        )

    def connect(self, **kwargs: Any) -> ConnectResponse:
        self.send_bytes(self.connect_frame(**kwargs))
        return self.connect_response()

    def connect_response(self) -> ConnectResponse:
        payload = self.frame()
        assert len(payload) in (36, 37), payload
        resp = decode_connect_response(payload)
        if resp.timeout > 0:
            self.session_id, self.passwd, self.timeout = (
                resp.session_id,
                resp.passwd,
                resp.timeout,
            )
        return resp

    # requests
    def request_frame(self, op: int, request: Any, xid: int | None = None) -> bytes:
        if xid is None:
            self.xid += 1
            xid = self.xid
        if op != OpCode.PING:
            self.pending[xid] = op
        return encode_request(xid, op, request)

    def send(self, op: int, request: Any = None, xid: int | None = None) -> int:
        frame = self.request_frame(op, request, xid)
        self.send_bytes(frame)
        return struct.unpack_from(">i", frame, 4)[0]

    def read(self, timeout: float = WAIT) -> Reply | Event:
        """The next frame: a notification or a reply (body decoded when err is 0)."""
        payload = self.frame(timeout)
        header = decode_reply_header(payload)
        if header.xid == -1:
            event = decode_notification(payload)
            return Event(event.type, event.path, header.zxid, event.state)
        op = self.pending.pop(header.xid, OpCode.PING)
        body = None
        if header.err == 0 and len(payload) > 16:
            body = decode_response(op, payload)
        return Reply(header.xid, header.zxid, header.err, body, payload)

    def reply(self, timeout: float = WAIT) -> Reply:
        """The next reply; notifications before it are kept in :attr:`events`."""
        while True:
            frame = self.read(timeout)
            if isinstance(frame, Reply):
                return frame
            self.events.append(frame)

    def call(self, op: int, request: Any = None, xid: int | None = None) -> Reply:
        sent = self.send(op, request, xid)
        reply = self.reply()
        expected = -2 if op == OpCode.PING else sent
        assert reply.xid == expected, (reply, op)
        return reply

    def ok(self, op: int, request: Any = None) -> Any:
        reply = self.call(op, request)
        assert reply.err == 0, (op, request, ErrorCode(reply.err))
        return reply.body

    def err(self, op: int, request: Any = None) -> ErrorCode:
        return ErrorCode(self.call(op, request).err)

    def event(self, timeout: float = WAIT) -> tuple[int, str]:
        """The next notification as ``(type, path)``; a reply instead is a failure."""
        if not self.events:
            frame = self.read(timeout)
            assert isinstance(frame, Event), f"expected an event, got {frame}"
            self.events.append(frame)
        event = self.events.pop(0)
        return (event.type, event.path)

    def drain(self) -> list[tuple[int, str]]:
        """Every notification that arrives before the reply to a ping sent now."""
        self.call(OpCode.PING)
        events = [(e.type, e.path) for e in self.events]
        self.events.clear()
        return events

    # conveniences
    def create(
        self,
        path: str,
        data: bytes = b"",
        flags: int = 0,
        acl: tuple[ACL, ...] = OPEN_ACL_UNSAFE,
    ) -> str:
        return str(self.ok(OpCode.CREATE, CreateRequest(path, data, acl, flags)).path)

    def create_err(self, path: str, flags: int = 0, acl: tuple[ACL, ...] = OPEN_ACL_UNSAFE) -> int:
        return self.err(OpCode.CREATE, CreateRequest(path, b"", acl, flags))

    def set_data(self, path: str, data: bytes, version: int = -1) -> Any:
        return self.ok(OpCode.SET_DATA, SetDataRequest(path, data, version)).stat

    def delete(self, path: str, version: int = -1) -> None:
        self.ok(OpCode.DELETE, DeleteRequest(path, version))

    def stat(self, path: str) -> Any:
        return self.ok(OpCode.EXISTS, ExistsRequest(path, False)).stat

    def exists(self, path: str, watch: bool = False) -> bool:
        reply = self.call(OpCode.EXISTS, ExistsRequest(path, watch))
        assert reply.err in (0, ErrorCode.NONODE), ErrorCode(reply.err)
        return reply.err == 0

    def auth(self, credential: str, scheme: str = "digest") -> Reply:
        return self.call(OpCode.AUTH, AuthPacket(0, scheme, credential.encode()), xid=-4)


@pytest.fixture
def clients(server: Server) -> Iterator[Callable[..., Raw]]:
    """``clients()`` opens a connection with a new session (``connect=False``: just TCP).

    At teardown every connection that still has its session closes it, so no test leaves
    ephemerals behind to expire in a later one.
    """
    opened: list[Raw] = []

    def open_client(*, connect: bool = True, **kwargs: Any) -> Raw:
        client = Raw(server.port)
        opened.append(client)
        if connect:
            client.connect(**kwargs)
        return client

    yield open_client
    for client in opened:
        if client.session_id and not client.closed:
            try:
                client.call(OpCode.CLOSE_SESSION)
                client.assert_closed()
            except (OSError, Closed, AssertionError):
                pass
        client.close()


@pytest.fixture
def base(request: pytest.FixtureRequest, clients: Callable[..., Raw]) -> str:
    """A fresh persistent node for the test's own paths."""
    path = "/" + re.sub(r"[^A-Za-z0-9_-]", "_", request.node.name)
    clients().create(path)
    return path


def srvr_value(port: int, label: str) -> str:
    for line in four_letter_word(port, "srvr").splitlines():
        if line.startswith(label + ": "):
            return line.split(": ", 1)[1]
    raise AssertionError(f"no {label} in srvr")


DIGEST_ACL = (ACL(31, Id("digest", digest_id("alice", "secret"))),)


def known_difference(request: pytest.FixtureRequest, server: Server, reason: str) -> None:
    """Mark the test a strict xfail on our server: ZooKeeper's behaviour that we lack."""
    if server.kind == "zabkeeper":
        request.node.add_marker(pytest.mark.xfail(reason=reason, strict=True))


# --- handshake ---------------------------------------------------------------------------------


def test_read_only_byte_is_echoed_only_when_the_client_sent_it(
    clients: Callable[..., Raw],
) -> None:
    for sent, length in ((None, 36), (False, 37), (True, 37)):
        client = clients(connect=False)
        client.send_bytes(client.connect_frame(read_only=sent))
        payload = client.frame()
        assert len(payload) == length, sent
        resp = decode_connect_response(payload)
        assert resp.read_only is (None if sent is None else False)
        assert resp.timeout > 0
        assert len(resp.passwd) == 16
        client.session_id = resp.session_id
        assert client.err(OpCode.EXISTS, ExistsRequest("/", False)) == 0


@pytest.mark.parametrize(
    ("requested", "negotiated"),
    [(0, 2 * TICK), (-5, 2 * TICK), (100, 2 * TICK), (1000, 1000), (10**9, 20 * TICK)],
)
def test_session_timeout_is_clamped_to_2_and_20_ticks(
    clients: Callable[..., Raw], requested: int, negotiated: int
) -> None:
    assert clients(timeout=requested).timeout == negotiated


def test_client_that_has_seen_a_newer_zxid_is_closed_without_a_reply(
    clients: Callable[..., Raw],
) -> None:
    client = clients(connect=False)
    client.send_bytes(client.connect_frame(last_zxid=1 << 40))
    client.assert_closed()


def test_requests_pipelined_behind_the_handshake_are_answered_in_order(
    clients: Callable[..., Raw], base: str
) -> None:
    client = clients(connect=False)
    path = f"{base}/p"
    frames = [
        client.connect_frame(),
        client.request_frame(OpCode.CREATE, CreateRequest(path, b"1", OPEN_ACL_UNSAFE, 0)),
        client.request_frame(OpCode.GET_DATA, GetDataRequest(path, False)),
        client.request_frame(OpCode.SET_DATA, SetDataRequest(path, b"2", -1)),
        client.request_frame(OpCode.GET_DATA, GetDataRequest(path, False)),
        client.request_frame(OpCode.PING, None, xid=99),
        client.request_frame(OpCode.EXISTS, ExistsRequest(f"{path}/none", False)),
        client.request_frame(OpCode.DELETE, DeleteRequest(path, 5)),
        client.request_frame(OpCode.GET_CHILDREN, GetChildrenRequest(base, False)),
        client.request_frame(OpCode.DELETE, DeleteRequest(path, 1)),
        client.request_frame(OpCode.EXISTS, ExistsRequest(path, False)),
    ]
    client.send_bytes(b"".join(frames))  # one write: everything arrives at once
    assert client.connect_response().timeout > 0
    replies = [client.reply() for _ in range(len(frames) - 1)]
    assert [r.xid for r in replies] == [1, 2, 3, 4, -2, 5, 6, 7, 8, 9]
    assert [r.err for r in replies] == [0, 0, 0, 0, 0, -101, -103, 0, 0, -101]
    assert replies[0].body.path == path
    assert replies[1].body.data == b"1"  # each read sees the session's earlier writes
    assert replies[3].body.data == b"2"
    assert replies[3].body.stat.version == 1
    assert replies[7].body.children == ("p",)
    # the zxid in each reply never goes backwards
    zxids = [r.zxid for r in replies]
    assert zxids == sorted(zxids)
    assert client.events == []


def test_negative_frame_length_closes_without_a_reply(clients: Callable[..., Raw]) -> None:
    """Not a frame length a server accepts: the connection is closed without a reply."""
    client = clients(connect=False)
    client.send_bytes(struct.pack(">i", -5))
    client.assert_closed()


# --- resuming sessions ---------------------------------------------------------------------------


def test_resume_on_a_new_connection_closes_the_old_one(
    clients: Callable[..., Raw], base: str
) -> None:
    first = clients()
    first.create(f"{base}/e", flags=1)
    second = clients(connect=False)
    resp = second.connect(session_id=first.session_id, passwd=first.passwd, timeout=1000)
    assert (resp.timeout, resp.session_id, resp.passwd) == (1000, first.session_id, first.passwd)
    first.assert_closed()
    assert second.stat(f"{base}/e").ephemeral_owner == first.session_id
    second.create(f"{base}/f", flags=1)  # the resumed session is fully usable


@pytest.mark.parametrize("read_only", [False, None])
def test_resume_with_a_bad_password_is_refused_and_disconnects_the_live_owner(
    clients: Callable[..., Raw], base: str, read_only: bool | None
) -> None:
    owner = clients()
    owner.create(f"{base}/e", flags=1)
    intruder = clients(connect=False)
    wrong = bytes(b ^ 0xFF for b in owner.passwd)
    intruder.send_bytes(
        intruder.connect_frame(session_id=owner.session_id, passwd=wrong, read_only=read_only)
    )
    payload = intruder.frame()
    assert payload == bytes(4) + bytes(4) + bytes(8) + struct.pack(">i", 16) + bytes(16) + (
        b"" if read_only is None else b"\x00"
    )
    intruder.assert_closed()
    owner.assert_closed()  # dropped before the password was checked...
    again = clients(connect=False)
    resp = again.connect(session_id=owner.session_id, passwd=owner.passwd)
    assert resp.session_id == owner.session_id  # ...but not expired
    assert again.stat(f"{base}/e").ephemeral_owner == owner.session_id


def test_resume_of_an_unknown_session_is_refused(clients: Callable[..., Raw]) -> None:
    client = clients(connect=False)
    resp = client.connect(session_id=0x0123456789ABCDEF, passwd=bytes(16))
    assert (resp.timeout, resp.session_id, resp.passwd) == (0, 0, bytes(16))
    client.assert_closed()


# --- request envelope ------------------------------------------------------------------------


def test_ping_is_answered_with_xid_minus_two(clients: Callable[..., Raw]) -> None:
    client = clients()
    last = client.call(OpCode.EXISTS, ExistsRequest("/", False)).zxid
    for xid in (7, -2, 0):
        client.send(OpCode.PING, None, xid=xid)
        reply = client.reply()
        assert (reply.xid, reply.err, len(reply.raw)) == (-2, 0, 16)
        assert reply.zxid == last
    assert client.call(OpCode.EXISTS, ExistsRequest("/", False), xid=7).xid == 7


@pytest.mark.parametrize("op", [999, 10, 0, -1])
def test_unknown_op_code_gets_unimplemented_then_the_connection_closes(
    clients: Callable[..., Raw], op: int
) -> None:
    client = clients()
    client.send_bytes(struct.pack(">iii", 8, 5, op))
    header = decode_reply_header(client.frame())
    assert (header.xid, header.err) == (5, ErrorCode.UNIMPLEMENTED)
    client.assert_closed()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="no-path"),
        pytest.param(b"/x", id="raw-path"),
        pytest.param(struct.pack(">i", 2) + b"/x", id="length-prefixed-path"),
    ],
)
def test_delete_container_from_a_client_is_bad_arguments(
    clients: Callable[..., Raw], base: str, body: bytes
) -> None:
    client = clients()
    client.ok(OpCode.CREATE_CONTAINER, CreateRequest(f"{base}/x", b"", OPEN_ACL_UNSAFE, 4))
    z0 = client.call(OpCode.SYNC, SyncRequest(base)).zxid
    path = f"{base}/x".encode()
    raw = body.replace(b"/x", path)
    raw = raw.replace(struct.pack(">i", 2), struct.pack(">i", len(path)))
    client.send_bytes(struct.pack(">iii", 8 + len(raw), 7, OpCode.DELETE_CONTAINER) + raw)
    reply = client.reply()
    assert (reply.xid, reply.zxid, reply.err) == (7, z0 + 1, ErrorCode.BADARGUMENTS)
    assert client.exists(f"{base}/x")  # an empty container, but still there
    assert client.call(OpCode.PING).err == 0


def test_create_session_op_from_a_client_is_a_marshalling_error(
    request: pytest.FixtureRequest, clients: Callable[..., Raw], server: Server
) -> None:
    """ZooKeeper 3.8.0 takes the internal createSession op (-10) from a client: without a
    body it fails to decode it (MARSHALLINGERROR, a zxid consumed) and stays open."""
    known_difference(request, server, "ours answers UNIMPLEMENTED and closes")
    client = clients()
    z0 = client.call(OpCode.SYNC, SyncRequest("/")).zxid
    client.send_bytes(struct.pack(">iii", 8, 5, OpCode.CREATE_SESSION))
    reply = client.reply()
    assert (reply.xid, reply.zxid, reply.err) == (5, z0 + 1, ErrorCode.MARSHALLINGERROR)
    assert client.call(OpCode.PING).err == 0


def _multi_frame(xid: int, op: int, ops: list[tuple[int, Any]]) -> bytes:
    """A multi request built by hand, so read and write ops can be mixed."""
    body = bytearray(struct.pack(">ii", xid, op))
    for sub_op, record in ops:
        body += struct.pack(">i?i", sub_op, False, -1) + encode_record(record)
    body += struct.pack(">i?i", -1, True, -1)
    return struct.pack(">i", len(body)) + bytes(body)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(struct.pack(">ii", 1, 4) + struct.pack(">i", 50) + b"/a", id="getData"),
        pytest.param(struct.pack(">ii", 1, 1) + struct.pack(">i", 2) + b"/a", id="create"),
        pytest.param(struct.pack(">ii", 1, 5) + struct.pack(">i", 2) + b"/a", id="setData"),
        pytest.param(struct.pack(">ii", 1, 8), id="getChildren-empty"),
        pytest.param(
            _multi_frame(
                1,
                14,
                [
                    (1, CreateRequest("/mixed", b"", OPEN_ACL_UNSAFE, 0)),
                    (4, GetDataRequest("/", False)),
                ],
            )[4:],
            id="multi-with-a-read",
        ),
        pytest.param(
            _multi_frame(1, 22, [(4, GetDataRequest("/", False)), (2, DeleteRequest("/x", -1))])[
                4:
            ],
            id="multiRead-with-a-write",
        ),
    ],
)
def test_undecodable_body_gets_marshalling_error_and_the_connection_stays_open(
    clients: Callable[..., Raw], body: bytes
) -> None:
    client = clients()
    client.send_bytes(struct.pack(">i", len(body)) + body)
    header = decode_reply_header(client.frame())
    assert (header.xid, header.err) == (1, ErrorCode.MARSHALLINGERROR)
    assert client.call(OpCode.PING).err == 0
    assert client.exists("/mixed") is False


def test_replies_follow_request_order_and_failed_writes_consume_a_zxid(
    clients: Callable[..., Raw], base: str
) -> None:
    client = clients()
    z0 = client.call(OpCode.SYNC, SyncRequest(base)).zxid
    failed = client.call(OpCode.CREATE, CreateRequest(base, b"", OPEN_ACL_UNSAFE, 0))
    assert (failed.err, failed.zxid) == (ErrorCode.NODEEXISTS, z0 + 1)
    reconfig = client.call(OpCode.RECONFIG, ReconfigRequest("", "", "", -1))
    assert (reconfig.err, reconfig.zxid) == (ErrorCode.RECONFIGDISABLED, z0 + 2)
    empty = client.call(OpCode.MULTI, MultiRequest(()))
    assert (empty.err, empty.zxid, empty.body.results) == (0, z0 + 3, ())
    read = client.call(OpCode.EXISTS, ExistsRequest(base, False))
    assert (read.err, read.zxid) == (0, z0 + 3)


def test_reconfig_is_disabled_and_the_connection_stays_open(clients: Callable[..., Raw]) -> None:
    client = clients()
    assert client.err(OpCode.RECONFIG, ReconfigRequest("", "", "", -1)) == (
        ErrorCode.RECONFIGDISABLED
    )
    assert client.err(OpCode.RECONFIG, ReconfigRequest("", "", "server.2=x:1:2", 5)) == (
        ErrorCode.RECONFIGDISABLED
    )
    assert client.call(OpCode.PING).err == 0


def test_sasl_without_sasl_configured_answers_ok_and_a_null_token(
    clients: Callable[..., Raw],
) -> None:
    client = clients()
    reply = client.call(OpCode.SASL, GetSASLRequest(b"token"))
    assert reply.raw == struct.pack(">iqi", reply.xid, 0, 0) + b"\xff\xff\xff\xff"
    assert reply.body.token is None
    assert client.call(OpCode.PING).err == 0


def test_sync_echoes_the_path(clients: Callable[..., Raw], base: str) -> None:
    client = clients()
    assert client.ok(OpCode.SYNC, SyncRequest(base)).path == base
    assert client.ok(OpCode.SYNC, SyncRequest("/no/such/node")).path == "/no/such/node"


# --- auth and identities ---------------------------------------------------------------------


def test_digest_auth_is_answered_with_xid_minus_four_and_zxid_zero(
    clients: Callable[..., Raw], base: str
) -> None:
    client = clients()
    client.create(f"{base}/n")  # the server's zxid is well above 0
    reply = client.auth("alice:secret")
    assert reply.raw == struct.pack(">iqi", -4, 0, 0)
    assert client.call(OpCode.AUTH, AuthPacket(0, "digest", b"bob:pw"), xid=9).raw == (
        struct.pack(">iqi", 9, 0, 0)  # the xid is echoed, whatever it is
    )


@pytest.mark.parametrize(
    ("scheme", "credential"),
    [
        ("foo", b"alice:secret"),
        ("world", b"anyone"),
        ("super", b"super:superpw"),
        ("auth", b""),
        ("sasl", b"alice"),
        ("x509", b"CN=alice"),
        ("digest", None),
    ],
)
def test_auth_with_an_unknown_scheme_fails_and_closes(
    clients: Callable[..., Raw], scheme: str, credential: bytes | None
) -> None:
    client = clients()
    reply = client.call(OpCode.AUTH, AuthPacket(0, scheme, credential), xid=-4)
    assert reply.raw == struct.pack(">iqi", -4, 0, ErrorCode.AUTHFAILED)
    client.assert_closed()


@pytest.mark.parametrize(
    ("credential", "user"),
    [
        (b"alice:secret", "alice"),
        (b"nocolon", "nocolon"),
        (b"a:b:c", "a"),
        (b":pw", ""),
        (b"", ""),
        (b"\xff\xfeab:c", "\ufffd\ufffdab"),  # not UTF-8: decoded with replacement
    ],
)
def test_digest_credentials_that_zookeeper_accepts(
    clients: Callable[..., Raw], base: str, credential: bytes, user: str
) -> None:
    client = clients()
    reply = client.call(OpCode.AUTH, AuthPacket(0, "digest", credential), xid=-4)
    assert reply.err == 0
    assert ClientInfo("digest", user) in client.ok(OpCode.WHO_AM_I).client_info
    # the identity is the digest of the (decoded) credential: a digest ACL made from it
    # admits the connection
    text = credential.decode("utf-8", "replace")
    digest = base64.b64encode(hashlib.sha1(text.encode()).digest()).decode()
    ident = f"{text.split(':', 1)[0]}:{digest}"
    path = client.create(f"{base}/n", acl=(ACL(31, Id("digest", ident)),))
    assert client.ok(OpCode.GET_DATA, GetDataRequest(path, False)).data == b""


#: ZooKeeper 3.8.0's whoAmI order after authenticating these users (password "pw"),
#: captured live: the identity set is resized at 12 entries (both cases) and 24 (userN);
#: at the resize, the kN set splits a bucket whose head ConcurrentHashMap reverses.
WHO_AM_I_ORDERS = {
    "user0-29": "27 25 2 26 10 ip 29 18 11 13 15 22 19 4 6 23 5 28 8 9 24 12 3 14 20 21 7 16 1 "
    "17 0",
    "k0-10": "0 6 10 9 7 ip 4 3 8 5 1 2",
}


@pytest.mark.parametrize(
    ("prefix", "count", "order"),
    [
        pytest.param("user", 30, WHO_AM_I_ORDERS["user0-29"], id="30-users"),
        pytest.param("k", 11, WHO_AM_I_ORDERS["k0-10"], id="11-users"),
    ],
)
def test_who_am_i_order_survives_the_identity_set_growing(
    clients: Callable[..., Raw], prefix: str, count: int, order: str
) -> None:
    client = clients()
    users = [f"{prefix}{i}" for i in range(count)]
    for user in users:
        assert client.auth(f"{user}:pw").err == 0
    infos = client.ok(OpCode.WHO_AM_I).client_info
    assert set(infos) == {ClientInfo("ip", "127.0.0.1")} | {
        ClientInfo("digest", user) for user in users
    }
    assert [i.user for i in infos] == [
        "127.0.0.1" if n == "ip" else f"{prefix}{n}" for n in order.split()
    ]


def test_auth_acl_lists_identities_in_zookeepers_order(
    clients: Callable[..., Raw], base: str
) -> None:
    client = clients()
    for credential in ("zed:1", "bob:x", "alice:secret", "carl:2"):
        client.auth(credential)
    path = client.create(f"{base}/n", acl=(ACL(31, Id("auth", "")),))
    acl = client.ok(OpCode.GET_ACL, GetACLRequest(path)).acl
    assert [a.id.id.split(":")[0] for a in acl] == ["alice", "zed", "bob", "carl"]
    assert acl[0] == DIGEST_ACL[0]
    users = [i.user for i in client.ok(OpCode.WHO_AM_I).client_info]
    assert users == ["alice", "zed", "bob", "127.0.0.1", "carl"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(struct.pack(">iiii", -4, 100, 0, 10) + b"dig", id="auth-truncated"),
        pytest.param(struct.pack(">iii", 3, 102, 10) + b"ab", id="sasl-truncated"),
        pytest.param(struct.pack(">iii", 3, 102, -1), id="sasl-null-token"),
    ],
)
def test_out_of_band_request_that_does_not_decode_closes_without_a_reply(
    clients: Callable[..., Raw], body: bytes
) -> None:
    client = clients()
    client.send_bytes(struct.pack(">i", len(body)) + body)
    client.assert_closed()


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param((OpCode.ADD_WATCH, AddWatchRequest("/", 2)), id="addWatch-mode-2"),
        pytest.param((OpCode.CHECK_WATCHES, CheckWatchesRequest("/", 4)), id="check-type-4"),
        pytest.param((OpCode.CHECK_WATCHES, CheckWatchesRequest("/", 0)), id="check-type-0"),
        pytest.param((OpCode.REMOVE_WATCHES, RemoveWatchesRequest("/", 5)), id="remove-type-5"),
    ],
)
def test_bad_watch_mode_or_type_is_a_marshalling_error(
    clients: Callable[..., Raw], request_: tuple[int, Any]
) -> None:
    client = clients()
    assert client.err(*request_) == ErrorCode.MARSHALLINGERROR
    assert client.call(OpCode.PING).err == 0


def test_ip_auth_adds_the_connections_address(clients: Callable[..., Raw]) -> None:
    client = clients()
    assert client.auth("whatever", scheme="ip").err == 0
    assert client.ok(OpCode.WHO_AM_I).client_info == (ClientInfo("ip", "127.0.0.1"),)


def test_who_am_i_lists_the_connections_identities(clients: Callable[..., Raw]) -> None:
    client = clients()
    assert client.ok(OpCode.WHO_AM_I).client_info == (ClientInfo("ip", "127.0.0.1"),)
    client.auth("alice:secret")
    client.auth("alice:secret")  # identities are a set
    client.auth("super:superpw")  # super has no provider: listed with user ""
    # in the order of ZooKeeper's identity set (a Java hash set), not in the order added
    assert client.ok(OpCode.WHO_AM_I).client_info == (
        ClientInfo("digest", "alice"),
        ClientInfo("digest", "super"),
        ClientInfo("super", ""),
        ClientInfo("ip", "127.0.0.1"),
    )
    other = clients()  # identities belong to the connection
    assert other.ok(OpCode.WHO_AM_I).client_info == (ClientInfo("ip", "127.0.0.1"),)


def test_digest_acl_needs_the_matching_identity_and_super_bypasses_it(
    clients: Callable[..., Raw], base: str
) -> None:
    owner = clients()
    owner.auth("alice:secret")
    path = owner.create(f"{base}/secret", b"s", acl=DIGEST_ACL)
    stranger = clients()
    assert stranger.err(OpCode.GET_DATA, GetDataRequest(path, False)) == ErrorCode.NOAUTH
    assert stranger.exists(path)  # exists checks no ACL in 3.8.0
    stranger.auth("bob:secret")
    assert stranger.err(OpCode.SET_DATA, SetDataRequest(path, b"x", -1)) == ErrorCode.NOAUTH
    stranger.auth("alice:secret")  # identities accumulate
    assert stranger.ok(OpCode.GET_DATA, GetDataRequest(path, False)).data == b"s"
    root = clients()
    root.auth("super:superpw")
    assert root.ok(OpCode.GET_DATA, GetDataRequest(path, False)).data == b"s"


def test_get_acl_masks_digests_without_admin(clients: Callable[..., Raw], base: str) -> None:
    owner = clients()
    owner.auth("alice:secret")
    acl = (ACL(1, Id("world", "anyone")), *DIGEST_ACL)
    path = owner.create(f"{base}/n", acl=acl)
    assert owner.ok(OpCode.GET_ACL, GetACLRequest(path)).acl == acl
    reader = clients()
    masked = reader.ok(OpCode.GET_ACL, GetACLRequest(path)).acl
    assert masked == (ACL(1, Id("world", "anyone")), ACL(31, Id("digest", "alice:x")))


def test_auth_scheme_acl_becomes_the_callers_identities(
    clients: Callable[..., Raw], base: str
) -> None:
    client = clients()
    assert client.create_err(f"{base}/n", acl=((ACL(31, Id("auth", ""))),)) == (
        ErrorCode.INVALIDACL
    )
    client.auth("alice:secret")
    path = client.create(f"{base}/n", acl=(ACL(31, Id("auth", "")),))
    assert client.ok(OpCode.GET_ACL, GetACLRequest(path)).acl == DIGEST_ACL


# --- errors --------------------------------------------------------------------------------------


def _op(op: int, request: Any) -> Callable[[Raw, str], int]:
    return lambda c, b: c.err(op, request(b) if callable(request) else request)


def _setup(*steps: Callable[[Raw, str], object]) -> Callable[[Raw, str], None]:
    def run(c: Raw, b: str) -> None:
        for step in steps:
            step(c, b)

    return run


def _mk(rel: str, flags: int = 0, acl: tuple[ACL, ...] = OPEN_ACL_UNSAFE) -> Any:
    return lambda c, b: c.create(b + rel, flags=flags, acl=acl)


def _create(rel: str, flags: int = 0, acl: tuple[ACL, ...] = OPEN_ACL_UNSAFE) -> Any:
    return _op(OpCode.CREATE, lambda b: CreateRequest(b + rel, b"", acl, flags))


def _ttl(rel: str, flags: int, ttl: int) -> Any:
    return _op(
        OpCode.CREATE_TTL, lambda b: CreateTTLRequest(b + rel, b"", OPEN_ACL_UNSAFE, flags, ttl)
    )


_NO_DELETE = (ACL(1 | 2 | 4 | 16, Id("world", "anyone")),)
_WRITE_ONLY = (ACL(2, Id("world", "anyone")),)

ERROR_CASES: list[Any] = [
    ("create-parent-missing", _setup(), _create("/x/y"), ErrorCode.NONODE),
    ("create-exists", _setup(_mk("/x")), _create("/x"), ErrorCode.NODEEXISTS),
    ("create-bad-flags", _setup(), _create("/x", flags=9), ErrorCode.BADARGUMENTS),
    ("create-ttl-mode-with-create", _setup(), _create("/x", flags=5), ErrorCode.BADARGUMENTS),
    ("create-ttl-zero", _setup(), _ttl("/x", 5, 0), ErrorCode.BADARGUMENTS),
    ("create-ttl-too-big", _setup(), _ttl("/x", 5, 1 << 40), ErrorCode.BADARGUMENTS),
    ("create-ttl-not-a-ttl-mode", _setup(), _ttl("/x", 0, 1000), ErrorCode.BADARGUMENTS),
    ("create-trailing-slash", _setup(_mk("/x")), _create("/x/"), ErrorCode.BADARGUMENTS),
    ("create-dot-dot", _setup(_mk("/x")), _create("/x/../y"), ErrorCode.NONODE),
    ("create-dot", _setup(_mk("/x")), _create("/x/."), ErrorCode.BADARGUMENTS),
    ("create-control-char", _setup(), _create("/x\x01"), ErrorCode.BADARGUMENTS),
    (
        "create-under-ephemeral",
        _setup(_mk("/e", flags=1)),
        _create("/e/c"),
        ErrorCode.NOCHILDRENFOREPHEMERALS,
    ),
    ("create-empty-acl", _setup(), _create("/x", acl=()), ErrorCode.INVALIDACL),
    (
        "create-unknown-scheme",
        _setup(),
        _create("/x", acl=(ACL(31, Id("nope", "x")),)),
        ErrorCode.INVALIDACL,
    ),
    (
        "create-bad-ip",
        _setup(),
        _create("/x", acl=(ACL(31, Id("ip", "10.0.0.0/99")),)),
        ErrorCode.INVALIDACL,
    ),
    (
        "create-bad-digest",
        _setup(),
        _create("/x", acl=(ACL(31, Id("digest", "nocolon")),)),
        ErrorCode.INVALIDACL,
    ),
    (
        "create-auth-without-identity",
        _setup(),
        _create("/x", acl=(ACL(31, Id("auth", "")),)),
        ErrorCode.INVALIDACL,
    ),
    (
        "create-no-create-perm",
        _setup(_mk("/r", acl=READ_ACL_UNSAFE)),
        _create("/r/x"),
        ErrorCode.NOAUTH,
    ),
    ("delete-system-node", _setup(), _op(OpCode.DELETE, DeleteRequest("/zookeeper", -1)), -8),
    ("delete-quota-node", _setup(), _op(OpCode.DELETE, DeleteRequest("/zookeeper/quota", -1)), -8),
    (
        "delete-missing",
        _setup(),
        _op(OpCode.DELETE, lambda b: DeleteRequest(b + "/x", -1)),
        ErrorCode.NONODE,
    ),
    (
        "delete-bad-version",
        _setup(_mk("/x")),
        _op(OpCode.DELETE, lambda b: DeleteRequest(b + "/x", 3)),
        ErrorCode.BADVERSION,
    ),
    (
        "delete-not-empty",
        _setup(_mk("/x"), _mk("/x/y")),
        _op(OpCode.DELETE, lambda b: DeleteRequest(b + "/x", -1)),
        ErrorCode.NOTEMPTY,
    ),
    (
        "delete-bad-version-before-not-empty",
        _setup(_mk("/x"), _mk("/x/y")),
        _op(OpCode.DELETE, lambda b: DeleteRequest(b + "/x", 3)),
        ErrorCode.BADVERSION,
    ),
    (
        "delete-no-delete-perm-on-parent",
        _setup(_mk("/p", acl=_NO_DELETE), _mk("/p/c")),
        _op(OpCode.DELETE, lambda b: DeleteRequest(b + "/p/c", -1)),
        ErrorCode.NOAUTH,
    ),
    (
        "set-data-missing",
        _setup(),
        _op(OpCode.SET_DATA, lambda b: SetDataRequest(b + "/x", b"", -1)),
        ErrorCode.NONODE,
    ),
    (
        "set-data-bad-version",
        _setup(_mk("/x")),
        _op(OpCode.SET_DATA, lambda b: SetDataRequest(b + "/x", b"", 1)),
        ErrorCode.BADVERSION,
    ),
    (
        "set-data-zookeeper-config",
        _setup(),
        _op(OpCode.SET_DATA, SetDataRequest("/zookeeper/config", b"x", -1)),
        ErrorCode.NOAUTH,
    ),
    (
        "set-data-no-write-perm",
        _setup(_mk("/r", acl=READ_ACL_UNSAFE)),
        _op(OpCode.SET_DATA, lambda b: SetDataRequest(b + "/r", b"", -1)),
        ErrorCode.NOAUTH,
    ),
    (
        "set-acl-bad-version",
        _setup(_mk("/x")),
        _op(OpCode.SET_ACL, lambda b: SetACLRequest(b + "/x", OPEN_ACL_UNSAFE, 2)),
        ErrorCode.BADVERSION,
    ),
    (
        "set-acl-no-admin",
        _setup(_mk("/r", acl=READ_ACL_UNSAFE)),
        _op(OpCode.SET_ACL, lambda b: SetACLRequest(b + "/r", OPEN_ACL_UNSAFE, -1)),
        ErrorCode.NOAUTH,
    ),
    (
        "set-acl-invalid",
        _setup(_mk("/x")),
        _op(OpCode.SET_ACL, lambda b: SetACLRequest(b + "/x", (), -1)),
        ErrorCode.INVALIDACL,
    ),
    (
        "set-acl-missing",
        _setup(),
        _op(OpCode.SET_ACL, lambda b: SetACLRequest(b + "/x", OPEN_ACL_UNSAFE, -1)),
        ErrorCode.NONODE,
    ),
    (
        "get-data-missing",
        _setup(),
        _op(OpCode.GET_DATA, lambda b: GetDataRequest(b + "/x", True)),
        ErrorCode.NONODE,
    ),
    (
        "get-data-no-read-perm",
        _setup(_mk("/w", acl=_WRITE_ONLY)),
        _op(OpCode.GET_DATA, lambda b: GetDataRequest(b + "/w", False)),
        ErrorCode.NOAUTH,
    ),
    (
        "get-children-missing",
        _setup(),
        _op(OpCode.GET_CHILDREN, lambda b: GetChildrenRequest(b + "/x", True)),
        ErrorCode.NONODE,
    ),
    (
        "get-children-no-read-perm",
        _setup(_mk("/w", acl=_WRITE_ONLY)),
        _op(OpCode.GET_CHILDREN, lambda b: GetChildrenRequest(b + "/w", False)),
        ErrorCode.NOAUTH,
    ),
    (
        "get-acl-no-read-or-admin",
        _setup(_mk("/w", acl=_WRITE_ONLY)),
        _op(OpCode.GET_ACL, lambda b: GetACLRequest(b + "/w")),
        ErrorCode.NOAUTH,
    ),
    (
        "get-acl-missing",
        _setup(),
        _op(OpCode.GET_ACL, lambda b: GetACLRequest(b + "/x")),
        ErrorCode.NONODE,
    ),
    (
        "exists-missing",
        _setup(),
        _op(OpCode.EXISTS, lambda b: ExistsRequest(b + "/x", False)),
        ErrorCode.NONODE,
    ),
    (
        "exists-nul",
        _setup(),
        _op(OpCode.EXISTS, lambda b: ExistsRequest(b + "/x\x00", False)),
        ErrorCode.BADARGUMENTS,
    ),
    (
        "get-all-children-number-missing",
        _setup(),
        _op(OpCode.GET_ALL_CHILDREN_NUMBER, lambda b: GetAllChildrenNumberRequest(b + "/x")),
        ErrorCode.NONODE,
    ),
    (
        "check-watches-none",
        _setup(),
        _op(OpCode.CHECK_WATCHES, lambda b: CheckWatchesRequest(b, 3)),
        ErrorCode.NOWATCHER,
    ),
    (
        "remove-watches-none",
        _setup(),
        _op(OpCode.REMOVE_WATCHES, lambda b: RemoveWatchesRequest(b, 3)),
        ErrorCode.NOWATCHER,
    ),
    (
        "reconfig",
        _setup(),
        _op(OpCode.RECONFIG, ReconfigRequest("", "", "", -1)),
        ErrorCode.RECONFIGDISABLED,
    ),
]


@pytest.mark.parametrize(
    ("setup", "request_", "code"),
    [pytest.param(s, r, c, id=name) for name, s, r, c in ERROR_CASES],
)
def test_error_code(
    clients: Callable[..., Raw],
    base: str,
    setup: Callable[[Raw, str], None],
    request_: Callable[[Raw, str], int],
    code: int,
) -> None:
    client = clients()
    setup(client, base)
    assert request_(client, base) == code
    assert client.call(OpCode.PING).err == 0  # an error reply does not close the connection


def test_ttl_create_works_with_extended_types(clients: Callable[..., Raw], base: str) -> None:
    client = clients()
    reply = client.ok(
        OpCode.CREATE_TTL, CreateTTLRequest(f"{base}/t-", b"", OPEN_ACL_UNSAFE, 6, 60_000)
    )
    assert reply.path == f"{base}/t-0000000000"
    assert reply.stat.ephemeral_owner == 0  # TTL nodes report owner 0


def test_get_children_lists_names_in_zookeepers_hash_order(
    request: pytest.FixtureRequest, clients: Callable[..., Raw], server: Server, base: str
) -> None:
    """ZooKeeper keeps a node's children in a Java HashSet and lists them in its order."""
    known_difference(request, server, "ours lists children sorted")
    client = clients()
    names = ["b", "a", "zz", "p1", "p0", "x10"]
    for name in names:
        client.create(f"{base}/{name}")
    children = client.ok(OpCode.GET_CHILDREN, GetChildrenRequest(base, False)).children
    assert sorted(children) == sorted(names)
    assert children == ("zz", "p0", "a", "p1", "b", "x10")  # captured from ZooKeeper 3.8.0


def test_empty_path_reads_the_root(clients: Callable[..., Raw]) -> None:
    client = clients()
    root = client.ok(OpCode.GET_DATA, GetDataRequest("/", False))
    assert client.ok(OpCode.GET_DATA, GetDataRequest("", False)) == root
    assert client.ok(OpCode.EXISTS, ExistsRequest("", False)).stat == root.stat
    children = client.ok(OpCode.GET_CHILDREN, GetChildrenRequest("", False)).children
    assert "zookeeper" in children


def test_create_container_and_create2(clients: Callable[..., Raw], base: str) -> None:
    client = clients()
    reply = client.ok(OpCode.CREATE_CONTAINER, CreateRequest(f"{base}/c", b"d", OPEN_ACL_UNSAFE, 4))
    assert reply.path == f"{base}/c"
    assert (reply.stat.ephemeral_owner, reply.stat.data_length) == (0, 1)  # owner shows 0
    assert reply.stat.czxid == reply.stat.mzxid == reply.stat.pzxid
    plain = client.ok(OpCode.CREATE2, CreateRequest(f"{base}/p", b"", OPEN_ACL_UNSAFE, 4))
    assert plain.path == f"{base}/p"  # flags 4 with create2: an ordinary persistent node
    seq = client.ok(OpCode.CREATE2, CreateRequest(f"{base}/s-", b"", OPEN_ACL_UNSAFE, 3))
    assert seq.path == f"{base}/s-0000000002"
    assert seq.stat.ephemeral_owner == client.session_id


# --- multi -------------------------------------------------------------------------------------


def test_multi_rollback_reports_ok_the_failure_then_runtime_inconsistency(
    clients: Callable[..., Raw], base: str
) -> None:
    client = clients()
    client.create(f"{base}/a", b"a")
    watcher = clients()
    assert watcher.exists(f"{base}/b", watch=True) is False
    reply = client.call(
        OpCode.MULTI,
        MultiRequest(
            (
                MultiOp(1, CreateRequest(f"{base}/b", b"", OPEN_ACL_UNSAFE, 0)),
                MultiOp(13, CheckVersionRequest(f"{base}/a", 0)),
                MultiOp(2, DeleteRequest(f"{base}/nope", -1)),
                MultiOp(5, SetDataRequest(f"{base}/a", b"x", -1)),
            )
        ),
    )
    assert reply.err == 0  # the header says OK; the results carry the failure
    assert [(r.type, r.err) for r in reply.body.results] == [(-1, 0), (-1, 0), (-1, -101), (-1, -2)]
    assert client.exists(f"{base}/b") is False
    assert client.ok(OpCode.GET_DATA, GetDataRequest(f"{base}/a", False)).data == b"a"
    assert watcher.drain() == []  # nothing was applied, nothing fired


def test_multi_applies_all_ops_at_one_zxid(clients: Callable[..., Raw], base: str) -> None:
    client = clients()
    reply = client.call(
        OpCode.MULTI,
        MultiRequest(
            (
                MultiOp(1, CreateRequest(f"{base}/s-", b"", OPEN_ACL_UNSAFE, 2)),
                MultiOp(1, CreateRequest(f"{base}/s-", b"", OPEN_ACL_UNSAFE, 2)),
                MultiOp(5, SetDataRequest(f"{base}/s-0000000000", b"v", 0)),
                MultiOp(13, CheckVersionRequest(f"{base}/s-0000000000", 1)),
                MultiOp(2, DeleteRequest(f"{base}/s-0000000001", 0)),
            )
        ),
    )
    results = reply.body.results
    assert [(r.type, r.err) for r in results] == [(1, 0), (1, 0), (5, 0), (13, 0), (2, 0)]
    assert [r.body.path for r in results[:2]] == [f"{base}/s-0000000000", f"{base}/s-0000000001"]
    stat = results[2].body.stat
    assert stat.version == 1
    assert stat.mzxid == stat.czxid == reply.zxid  # one txn, one zxid
    children = client.ok(OpCode.GET_CHILDREN, GetChildrenRequest(base, False)).children
    assert children == ("s-0000000000",)


def test_multi_read_answers_each_op_on_its_own(clients: Callable[..., Raw], base: str) -> None:
    client = clients()
    client.create(f"{base}/a", b"A")
    reply = client.call(
        OpCode.MULTI_READ,
        MultiRequest(
            (
                MultiOp(4, GetDataRequest(f"{base}/a", False)),
                MultiOp(8, GetChildrenRequest(f"{base}/missing", False)),
                MultiOp(8, GetChildrenRequest(base, False)),
            )
        ),
    )
    results = reply.body.results
    assert [(r.type, r.err) for r in results] == [(4, 0), (-1, -101), (8, 0)]
    assert results[0].body.data == b"A"
    assert results[2].body.children == ("a",)


# --- reads beyond kazoo ------------------------------------------------------------------------


def test_get_ephemerals_lists_the_sessions_own_by_plain_prefix(
    clients: Callable[..., Raw], base: str
) -> None:
    client = clients()
    client.create(f"{base}/x")
    mine = {client.create(f"{base}/e1", flags=1), client.create(f"{base}/e2", flags=1)}
    mine.add(client.create(f"{base}/x/e3", flags=1))
    clients().create(f"{base}/other", flags=1)  # another session's

    def ephemerals(prefix: str) -> set[str]:
        found = client.ok(OpCode.GET_EPHEMERALS, GetEphemeralsRequest(prefix)).ephemerals
        assert len(found) == len(set(found))
        return set(found)

    assert ephemerals("/") == mine
    assert ephemerals("") == mine
    assert ephemerals(" / ") == mine
    assert ephemerals(f"{base}/e") == {f"{base}/e1", f"{base}/e2"}
    assert ephemerals(f"{base}/x") == {f"{base}/x/e3"}
    assert ephemerals(f"{base}/x/") == {f"{base}/x/e3"}
    assert ephemerals(f" {base}/e") == set()  # only a blank or "/" prefix is trimmed
    assert ephemerals("/nothing") == set()
    assert clients().ok(OpCode.GET_EPHEMERALS, GetEphemeralsRequest("/")).ephemerals == ()


def test_get_all_children_number_counts_descendants(
    clients: Callable[..., Raw], server: Server, base: str
) -> None:
    client = clients()
    for rel in ("/a", "/a/b", "/a/b/c", "/a/b2", "/d", "/a-sibling"):
        client.create(base + rel)

    def count(path: str) -> int:
        return int(
            client.ok(
                OpCode.GET_ALL_CHILDREN_NUMBER, GetAllChildrenNumberRequest(path)
            ).total_number
        )

    assert count(base) == 6
    assert count(f"{base}/a") == 3  # not /a-sibling
    assert count(f"{base}/d") == 0
    nodes = int(srvr_value(server.port, "Node count"))  # counts the root twice
    assert count("/") == nodes - 2
    assert count("") == nodes - 1  # "" is the root's other key; every other key starts "/"
    assert count("/zookeeper") == 2


# --- watches -----------------------------------------------------------------------------------


def test_own_write_notification_arrives_before_its_reply(
    clients: Callable[..., Raw], base: str
) -> None:
    client = clients()
    path = f"{base}/w"
    assert client.exists(path, watch=True) is False
    xid = client.send(OpCode.CREATE, CreateRequest(path, b"", OPEN_ACL_UNSAFE, 0))
    first, second = client.read(), client.read()
    assert isinstance(first, Event)
    assert (first.type, first.path, first.state, first.zxid) == (C, path, 3, -1)
    assert isinstance(second, Reply)
    assert second.xid == xid
    client.ok(OpCode.GET_DATA, GetDataRequest(path, True))
    xid = client.send(OpCode.SET_DATA, SetDataRequest(path, b"x", -1))
    first, second = client.read(), client.read()
    assert isinstance(first, Event)
    assert (first.type, first.path) == (DC, path)
    assert isinstance(second, Reply)
    assert second.xid == xid


def test_watch_event_arrives_before_the_new_data(clients: Callable[..., Raw], base: str) -> None:
    reader, writer = clients(), clients()
    path = reader.create(f"{base}/d", b"old")
    assert reader.ok(OpCode.GET_DATA, GetDataRequest(path, True)).data == b"old"
    writer.set_data(path, b"new")
    xid = reader.send(OpCode.GET_DATA, GetDataRequest(path, False))
    first, second = reader.read(), reader.read()
    assert isinstance(first, Event)
    assert (first.type, first.path) == (DC, path)
    assert isinstance(second, Reply)
    assert (second.xid, second.body.data) == (xid, b"new")


def test_standard_watches_fire_once(clients: Callable[..., Raw], base: str) -> None:
    watcher, writer = clients(), clients()
    node, missing = f"{base}/n", f"{base}/m"
    writer.create(node)
    watcher.ok(OpCode.GET_DATA, GetDataRequest(node, True))
    watcher.ok(OpCode.GET_CHILDREN, GetChildrenRequest(node, True))
    assert watcher.exists(missing, watch=True) is False
    writer.set_data(node, b"1")
    writer.set_data(node, b"2")
    writer.create(f"{node}/c")
    writer.create(f"{node}/c2")
    writer.create(missing)
    writer.delete(missing)
    assert watcher.drain() == [(DC, node), (CC, node), (C, missing)]


def test_exists_watch_on_a_missing_node_is_set_but_get_data_watch_is_not(
    clients: Callable[..., Raw], base: str
) -> None:
    watcher, writer = clients(), clients()
    a, b = f"{base}/a", f"{base}/b"
    assert watcher.exists(a, watch=True) is False
    assert watcher.err(OpCode.GET_DATA, GetDataRequest(b, True)) == ErrorCode.NONODE
    assert watcher.err(OpCode.GET_CHILDREN, GetChildrenRequest(b, True)) == ErrorCode.NONODE
    writer.create(a)
    writer.create(b)
    assert watcher.drain() == [(C, a)]


def test_delete_notifies_a_connection_once_even_with_data_and_child_watches(
    clients: Callable[..., Raw], base: str
) -> None:
    watcher, writer = clients(), clients()
    node = writer.create(f"{base}/n")
    watcher.ok(OpCode.GET_DATA, GetDataRequest(node, True))
    watcher.ok(OpCode.GET_CHILDREN, GetChildrenRequest(node, True))
    watcher.ok(OpCode.GET_CHILDREN, GetChildrenRequest(base, True))
    writer.delete(node)
    assert watcher.drain() == [(D, node), (CC, base)]


def test_set_acl_fires_no_watch(clients: Callable[..., Raw], base: str) -> None:
    watcher, writer = clients(), clients()
    node = writer.create(f"{base}/n")
    watcher.ok(OpCode.GET_DATA, GetDataRequest(node, True))
    stat = writer.ok(OpCode.SET_ACL, SetACLRequest(node, READ_ACL_UNSAFE, 0)).stat
    assert (stat.aversion, stat.version, stat.mzxid) == (1, 0, stat.czxid)
    assert watcher.drain() == []


def test_persistent_watch(clients: Callable[..., Raw], base: str) -> None:
    client = clients()
    p = f"{base}/p"
    assert client.ok(OpCode.ADD_WATCH, AddWatchRequest(p, 0)).err == 0  # path need not exist
    client.create(p)
    client.set_data(p, b"1")
    client.create(f"{p}/c")
    client.create(f"{p}/c/d")  # a grandchild: not watched
    client.set_data(f"{p}/c", b"1")  # a child's data: not watched
    client.delete(f"{p}/c/d")
    client.delete(f"{p}/c")
    client.delete(p)
    client.create(p)  # still registered after the delete
    client.set_data(p, b"2")
    assert client.drain() == [(C, p), (DC, p), (CC, p), (CC, p), (D, p), (C, p), (DC, p)]
    assert client.ok(OpCode.CHECK_WATCHES, CheckWatchesRequest(p, 1)) is None
    assert client.ok(OpCode.CHECK_WATCHES, CheckWatchesRequest(p, 2)) is None


def test_persistent_recursive_watch(clients: Callable[..., Raw], base: str) -> None:
    client = clients()
    r = f"{base}/r"
    reply = client.call(OpCode.ADD_WATCH, AddWatchRequest(r, 1))
    assert reply.raw == struct.pack(">iqi", reply.xid, reply.zxid, 0) + bytes(4)
    client.create(r)
    client.create(f"{r}/a")
    client.create(f"{r}/a/b")
    client.set_data(f"{r}/a/b", b"1")
    client.create(f"{base}/r2")  # a sibling sharing the prefix is not below r
    client.delete(f"{r}/a/b")
    client.delete(f"{r}/a")
    client.set_data(r, b"x")
    assert client.drain() == [
        (C, r),
        (C, f"{r}/a"),
        (C, f"{r}/a/b"),
        (DC, f"{r}/a/b"),
        (D, f"{r}/a/b"),
        (D, f"{r}/a"),
        (DC, r),
    ]
    assert client.ok(OpCode.CHECK_WATCHES, CheckWatchesRequest(r, 2)) is None


def test_one_frame_per_change_even_when_several_watches_match(
    clients: Callable[..., Raw], base: str
) -> None:
    client = clients()
    w = client.create(f"{base}/w2")
    client.ok(OpCode.ADD_WATCH, AddWatchRequest(w, 0))
    client.ok(OpCode.ADD_WATCH, AddWatchRequest(base, 1))
    client.set_data(w, b"x")
    assert client.drain() == [(DC, w)]


def test_a_later_standard_watch_replaces_a_persistent_one_in_its_table(
    clients: Callable[..., Raw], base: str
) -> None:
    """ZooKeeper 3.8 keeps one mode per (connection, path, table)."""
    client, writer = clients(), clients()
    p = client.create(f"{base}/p")
    client.ok(OpCode.ADD_WATCH, AddWatchRequest(p, 0))
    client.ok(OpCode.GET_DATA, GetDataRequest(p, True))  # data table: now one-shot
    writer.set_data(p, b"1")
    writer.set_data(p, b"2")
    writer.create(f"{p}/c")  # child table: still persistent
    writer.create(f"{p}/d")
    assert client.drain() == [(DC, p), (CC, p), (CC, p)]


def test_check_and_remove_watches(clients: Callable[..., Raw], base: str) -> None:
    client, writer = clients(), clients()
    n = writer.create(f"{base}/n")
    client.ok(OpCode.GET_DATA, GetDataRequest(n, True))
    assert client.ok(OpCode.CHECK_WATCHES, CheckWatchesRequest(n, 2)) is None
    assert client.ok(OpCode.CHECK_WATCHES, CheckWatchesRequest(n, 3)) is None
    assert client.err(OpCode.CHECK_WATCHES, CheckWatchesRequest(n, 1)) == ErrorCode.NOWATCHER
    assert writer.err(OpCode.REMOVE_WATCHES, RemoveWatchesRequest(n, 2)) == ErrorCode.NOWATCHER
    assert client.err(OpCode.REMOVE_WATCHES, RemoveWatchesRequest(n, 1)) == ErrorCode.NOWATCHER
    assert client.ok(OpCode.REMOVE_WATCHES, RemoveWatchesRequest(n, 3)) is None
    assert client.err(OpCode.CHECK_WATCHES, CheckWatchesRequest(n, 3)) == ErrorCode.NOWATCHER
    assert client.err(OpCode.REMOVE_WATCHES, RemoveWatchesRequest(n, 2)) == ErrorCode.NOWATCHER
    client.ok(OpCode.GET_CHILDREN, GetChildrenRequest(n, True))
    assert client.ok(OpCode.REMOVE_WATCHES, RemoveWatchesRequest(n, 1)) is None
    writer.set_data(n, b"1")
    writer.create(f"{n}/c")
    assert client.drain() == []  # removed watches do not fire, and removal sends nothing


def test_check_watches_answers_ok_if_any_connection_watches_the_path(
    request: pytest.FixtureRequest, clients: Callable[..., Raw], server: Server, base: str
) -> None:
    """ZooKeeper 3.8's WatchManager.containsWatcher ignores which connection watches."""
    watcher, other = clients(), clients()
    n = watcher.create(f"{base}/n")
    watcher.ok(OpCode.GET_DATA, GetDataRequest(n, True))
    assert watcher.ok(OpCode.CHECK_WATCHES, CheckWatchesRequest(n, 2)) is None
    assert other.err(OpCode.REMOVE_WATCHES, RemoveWatchesRequest(n, 2)) == ErrorCode.NOWATCHER
    assert other.ok(OpCode.CHECK_WATCHES, CheckWatchesRequest(n, 2)) is None


def test_recursive_watch_is_registered_in_both_watch_tables(
    request: pytest.FixtureRequest, clients: Callable[..., Raw], server: Server, base: str
) -> None:
    """ZooKeeper 3.8's DataTree.addWatch files every persistent watch in both tables."""
    client, writer = clients(), clients()
    r = f"{base}/r"
    client.ok(OpCode.ADD_WATCH, AddWatchRequest(r, 1))
    writer.create(r)
    writer.create(f"{r}/a")
    assert client.drain() == [(C, r), (C, f"{r}/a")]  # never NodeChildrenChanged
    assert client.ok(OpCode.CHECK_WATCHES, CheckWatchesRequest(r, 1)) is None
    assert client.ok(OpCode.REMOVE_WATCHES, RemoveWatchesRequest(r, 2)) is None
    writer.create(f"{r}/b")  # the data-table part is gone...
    writer.set_data(r, b"x")
    writer.delete(f"{r}/a")  # ...but the child-table part still reports deletes
    assert client.drain() == [(D, f"{r}/a")]


def test_set_watches_replays_what_the_client_missed(clients: Callable[..., Raw], base: str) -> None:
    writer = clients()
    names = ("changed", "same", "gone", "born", "kids", "quiet")
    for name in names[:3] + names[4:]:
        writer.create(f"{base}/{name}")
    relative = writer.call(OpCode.SYNC, SyncRequest(base)).zxid
    writer.set_data(f"{base}/changed", b"x")
    writer.delete(f"{base}/gone")
    writer.create(f"{base}/born")
    writer.create(f"{base}/kids/k")
    p = {name: f"{base}/{name}" for name in names}
    client = clients()
    xid = client.send(
        OpCode.SET_WATCHES,
        SetWatches(
            relative,
            (p["changed"], p["same"], p["gone"]),
            (p["born"], f"{base}/unborn"),
            (p["kids"], p["quiet"], p["gone"]),
        ),
    )
    frames = [client.read() for _ in range(6)]
    assert [(f.type, f.path, f.zxid, f.state) for f in frames[:5]] == [  # type: ignore[union-attr]
        (DC, p["changed"], -1, 3),
        (D, p["gone"], -1, 3),
        (C, p["born"], -1, 3),
        (CC, p["kids"], -1, 3),
        (D, p["gone"], -1, 3),
    ]
    assert isinstance(frames[5], Reply)
    assert (frames[5].xid, frames[5].err, len(frames[5].raw)) == (xid, 0, 16)
    # what did not fire was registered, what fired was not
    for name in ("changed", "same", "born"):
        writer.set_data(p[name], b"y")
    writer.create(f"{base}/unborn")
    writer.create(f"{base}/quiet/q")
    writer.create(f"{base}/kids/k2")
    assert client.drain() == [(DC, p["same"]), (C, f"{base}/unborn"), (CC, p["quiet"])]


def test_set_watches2_registers_persistent_watches_without_catch_up(
    clients: Callable[..., Raw], base: str
) -> None:
    writer = clients()
    a = writer.create(f"{base}/a")
    relative = writer.call(OpCode.SYNC, SyncRequest(base)).zxid
    writer.set_data(a, b"1")  # changed since relative: still no event for persistent watches
    writer.create(f"{a}/c")
    client = clients()
    reply = client.call(
        OpCode.SET_WATCHES2, SetWatches2(relative, (), (), (), (a,), (f"{base}/r",))
    )
    assert (reply.err, client.events) == (0, [])
    writer.set_data(a, b"2")
    writer.create(f"{a}/d")
    writer.create(f"{base}/r")
    writer.create(f"{base}/r/x")
    writer.set_data(a, b"3")
    assert client.drain() == [(DC, a), (CC, a), (C, f"{base}/r"), (C, f"{base}/r/x"), (DC, a)]


def test_watches_belong_to_the_connection(clients: Callable[..., Raw], base: str) -> None:
    first = clients()
    n = first.create(f"{base}/n")
    first.ok(OpCode.GET_DATA, GetDataRequest(n, True))
    resumed = clients(connect=False)
    resumed.connect(session_id=first.session_id, passwd=first.passwd)
    first.assert_closed()
    resumed.set_data(n, b"x")
    assert resumed.drain() == []


# --- closing and expiry --------------------------------------------------------------------------


def test_close_session_deletes_ephemerals_fires_watches_and_closes(
    clients: Callable[..., Raw], base: str
) -> None:
    owner, watcher = clients(), clients()
    e = owner.create(f"{base}/e", flags=1)
    s = owner.create(f"{base}/s-", flags=3)
    assert watcher.exists(e, watch=True)
    watcher.ok(OpCode.GET_CHILDREN, GetChildrenRequest(base, True))
    xid = owner.send(OpCode.CLOSE_SESSION)
    reply = owner.reply()
    assert (reply.xid, reply.err, len(reply.raw)) == (xid, 0, 16)
    owner.assert_closed()
    assert sorted(watcher.drain()) == sorted([(D, e), (CC, base)])
    assert not watcher.exists(e)
    assert not watcher.exists(s)
    again = clients(connect=False)
    resp = again.connect(session_id=owner.session_id, passwd=owner.passwd)
    assert (resp.timeout, resp.session_id) == (0, 0)
    again.assert_closed()


def test_dropped_connection_keeps_the_session_and_its_ephemerals(
    clients: Callable[..., Raw], base: str
) -> None:
    owner = clients()
    e = owner.create(f"{base}/e", flags=1)
    owner.close()
    other = clients()
    assert other.stat(e).ephemeral_owner == owner.session_id
    resumed = clients(connect=False)
    assert resumed.connect(session_id=owner.session_id, passwd=owner.passwd).timeout > 0


def test_session_expiry_deletes_ephemerals_fires_watches_and_closes_silently(
    clients: Callable[..., Raw], base: str
) -> None:
    owner = clients(timeout=2 * TICK)
    assert owner.timeout == 2 * TICK
    e = owner.create(f"{base}/e", flags=1)
    watcher = clients()
    assert watcher.exists(e, watch=True)
    started = time.monotonic()
    # the owner now says nothing: the server must expire it and close its connection
    owner.assert_closed(timeout=WAIT)
    assert watcher.event(timeout=WAIT) == (D, e)
    assert time.monotonic() - started < 3.0  # 400 ms, not the 4 s maximum
    assert not watcher.exists(e)
    again = clients(connect=False)
    resp = again.connect(session_id=owner.session_id, passwd=owner.passwd)
    assert (resp.timeout, resp.session_id, resp.passwd) == (0, 0, bytes(16))


def test_pings_keep_a_short_session_alive(clients: Callable[..., Raw], base: str) -> None:
    owner = clients(timeout=2 * TICK)
    e = owner.create(f"{base}/e", flags=1)
    deadline = time.monotonic() + 8 * TICK / 1000  # well past the 400 ms timeout
    while time.monotonic() < deadline:
        assert owner.call(OpCode.PING).err == 0
        with pytest.raises(TimeoutError):  # idle for half a tick, then ping again
            owner.read(timeout=TICK / 2000)
    assert owner.stat(e).ephemeral_owner == owner.session_id


# --- frame size --------------------------------------------------------------------------------


def test_largest_frame_is_accepted_and_one_byte_more_closes_only_that_connection(
    clients: Callable[..., Raw], base: str
) -> None:
    client, bystander = clients(), clients()
    path = f"{base}/big"
    overhead = len(encode_request(1, OpCode.CREATE, CreateRequest(path, b"", OPEN_ACL_UNSAFE, 0)))
    data = b"x" * (JUTE_MAXBUFFER + 4 - overhead)
    frame = encode_request(1, OpCode.CREATE, CreateRequest(path, data, OPEN_ACL_UNSAFE, 0))
    assert len(frame) - 4 == JUTE_MAXBUFFER
    assert client.ok(OpCode.CREATE, CreateRequest(path, data, OPEN_ACL_UNSAFE, 0)).path == path
    # one more byte: only the length field needs to arrive for the server to give up
    client.send_bytes(struct.pack(">i", JUTE_MAXBUFFER + 1) + bytes(64))
    client.assert_closed()
    assert bystander.stat(path).data_length == len(data)
    assert bystander.call(OpCode.PING).err == 0
    resumed = clients(connect=False)  # the session itself survives
    assert resumed.connect(session_id=client.session_id, passwd=client.passwd).timeout > 0


def test_two_mebibyte_request_closes_only_its_connection(
    clients: Callable[..., Raw], base: str
) -> None:
    client, bystander = clients(), clients()
    frame = encode_request(
        1, OpCode.CREATE, CreateRequest(f"{base}/huge", b"x" * (2 << 20), OPEN_ACL_UNSAFE, 0)
    )
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        client.send_bytes(frame)  # the server may close before it has read everything
    client.assert_closed()
    assert bystander.exists(f"{base}/huge") is False
    assert bystander.call(OpCode.PING).err == 0


# --- transport limits (their own servers) --------------------------------------------------------


@pytest.fixture(scope="module", params=SERVERS)
def limited(request: pytest.FixtureRequest) -> Iterator[Server]:
    """A server with a 500 ms handshake timeout and at most 2 connections per address."""
    srv = start_server(
        request.param,
        zoo_cfg={"maxClientCnxns": "2"},
        system_properties={"zookeeper.nio.sessionlessCnxnTimeout": "500"},
    )
    try:
        yield srv
    finally:
        srv.stop()


def test_connection_without_a_handshake_is_closed_after_the_timeout(limited: Server) -> None:
    client = Raw(limited.port)
    try:
        started = time.monotonic()
        client.assert_closed(timeout=WAIT)
        assert 0.3 < time.monotonic() - started < 4.0  # ~0.5-1 s, not the 10 s default
    finally:
        client.close()


def test_handshake_in_time_keeps_the_connection(limited: Server) -> None:
    client = Raw(limited.port)
    try:
        client.connect()
        with pytest.raises(TimeoutError):  # well past the handshake timeout: no close
            client.read(timeout=1.2)
        assert client.call(OpCode.PING).err == 0
        client.call(OpCode.CLOSE_SESSION)
    finally:
        client.close()


def test_third_connection_from_an_address_is_closed_at_once(limited: Server) -> None:
    first, second = Raw(limited.port), Raw(limited.port)
    third = None
    try:
        first.connect()
        second.connect()
        try:
            third = Raw(limited.port)
            third.send_bytes(third.connect_frame())
            third.assert_closed()  # closed at accept: the handshake is never answered
        except OSError:
            pass  # closed so fast that connect() or send() already saw it
        assert first.call(OpCode.PING).err == 0
        assert second.call(OpCode.PING).err == 0
        for client in (first, second):
            client.call(OpCode.CLOSE_SESSION)
            client.assert_closed()
        fourth = Raw(limited.port)  # the slots are free again
        try:
            assert fourth.connect().timeout > 0
            fourth.call(OpCode.CLOSE_SESSION)
        finally:
            fourth.close()
    finally:
        for client in (first, second, third):
            if client is not None:
                client.close()


# --- four-letter-word counters ---------------------------------------------------------------


def test_packet_counters_count_every_frame(
    clients: Callable[..., Raw], server: Server, base: str
) -> None:
    assert four_letter_word(server.port, "srst") == "Server stats reset.\n"
    client = clients()  # the ConnectRequest and its response count too
    path = f"{base}/n"
    client.exists(path, watch=True)
    client.call(OpCode.PING)
    client.create(path)  # a notification and a reply
    client.delete(path)
    port = client.sock.getsockname()[1]
    expected = rf" /127\.0\.0\.1:{port}\[[01]\]\(queued=\d+,recved=5,sent=6,sid=0x"
    # ZooKeeper counts a packet sent once its writer thread has passed it, which can be just
    # after the client read it: poll (each cons is counted too)
    deadline = time.monotonic() + WAIT
    polls = 0
    while True:
        cons = four_letter_word(server.port, "cons")
        polls += 1
        line = next(x for x in cons.splitlines() if x.startswith(f" /127.0.0.1:{port}["))
        if re.match(expected, line) or time.monotonic() > deadline:
            break
    assert re.match(expected, line), line
    asking = [x for x in cons.splitlines() if "sid=" not in x and x.strip()]
    assert len(asking) == 1
    assert asking[0].endswith("[0](queued=0,recved=1,sent=0)")  # the cons connection itself
    srvr = four_letter_word(server.port, "srvr")
    # received: the client's 5, each cons and this srvr; sent: srst's answer (written after
    # the reset), the client's 6 and each cons's answer
    assert f"\nReceived: {5 + polls + 1}\nSent: {1 + 6 + polls}\n" in srvr
