"""ClientProtocol without sockets: bytes in, events out (h11-style tests).

The server's side is written by hand with ``znode.codec``, so every test states exactly
which frames the server sends and in which chunks.
"""

from __future__ import annotations

from typing import Any

import pytest

from client.errors import ProtocolViolation, UsageError
from client.protocol import (
    MAX_XID,
    NEED_DATA,
    AuthReply,
    ClientProtocol,
    ConnectionClosed,
    ConnState,
    Reply,
    SessionEstablished,
    SessionExpired,
    WatchFired,
)
from client.watch_table import SET_WATCHES_MAX_LENGTH
from znode.codec import (
    decode_connect_request,
    decode_request,
    decode_request_header,
    encode_connect_response,
    encode_notification,
    encode_reply,
)
from znode.errors import ErrorCode
from znode.events import EventType
from znode.framing import FrameDecoder
from znode.opcodes import AddWatchMode, OpCode
from znode.records import (
    AddWatchRequest,
    AuthPacket,
    ConnectRequest,
    ConnectResponse,
    ErrorResponse,
    ExistsRequest,
    ExistsResponse,
    GetChildrenRequest,
    GetChildrenResponse,
    GetDataRequest,
    GetDataResponse,
    SetWatches2,
    WatcherEvent,
)
from znode.stat import Stat

SESSION = 0x0100_0000_0000_0042
PASSWORD = bytes(range(16))
STAT = Stat(1, 2, 3, 4, 5, 6, 7, 0, 1, 0, 9)
RECURSIVE = AddWatchMode.PERSISTENT_RECURSIVE


class ServerEnd:
    """The server's side of one connection, by hand."""

    def __init__(self) -> None:
        self.decoder = FrameDecoder()
        self.connected = False

    def receive(self, data: bytes) -> list[Any]:
        """Decode what the client sent: a ConnectRequest, then ``(xid, op, record)``."""
        self.decoder.feed(data)
        out: list[Any] = []
        for payload in self.decoder:
            if not self.connected:
                self.connected = True
                out.append(decode_connect_request(payload))
                continue
            header = decode_request_header(payload)
            out.append((header.xid, header.type, decode_request(header.type, payload)))
        return out


def accept(timeout: int = 4000, session_id: int = SESSION) -> bytes:
    return encode_connect_response(ConnectResponse(0, timeout, session_id, PASSWORD, False))


def drain(proto: ClientProtocol) -> list[Any]:
    events = []
    while (event := proto.next_event()) is not NEED_DATA:
        events.append(event)
    return events


def connected(timeout_ms: int = 6000) -> ClientProtocol:
    proto = ClientProtocol(timeout_ms=timeout_ms)
    proto.connect()
    proto.receive_data(accept())
    assert isinstance(proto.next_event(), SessionEstablished)
    return proto


def reply(xid: int, zxid: int = 0, err: int = 0, response: Any = None) -> bytes:
    return encode_reply(xid, zxid, err, response)


def event(type_: EventType, path: str, zxid: int = -1) -> bytes:
    return encode_notification(WatcherEvent(type_, 3, path), zxid)


# --- handshake -------------------------------------------------------------------------------


def test_connect_request_for_a_new_session_is_the_45_bytes_zookeeper_expects() -> None:
    proto = ClientProtocol(timeout_ms=6000)
    # wire sheet 17: kazoo's ConnectRequest, 6 s timeout, new session
    head = bytes.fromhex("0000002d 00000000 0000000000000000 00001770 0000000000000000 00000010")
    expected = head + bytes(16) + b"\x00"
    assert proto.connect() == expected
    assert proto.state is ConnState.CONNECTING


def test_handshake_survives_any_chunking_and_records_the_session() -> None:
    proto = ClientProtocol(timeout_ms=6000)
    proto.connect()
    data = accept(timeout=4000)
    for i in range(len(data) - 1):
        proto.receive_data(data[i : i + 1])
        assert proto.next_event() is NEED_DATA
    proto.receive_data(data[-1:])
    assert proto.next_event() == SessionEstablished(SESSION, 4000, False, False)
    assert (proto.session_id, proto.password, proto.timeout_ms) == (SESSION, PASSWORD, 4000)
    assert proto.state is ConnState.CONNECTED


def test_expired_session_is_terminal() -> None:
    proto = connected()
    proto.connection_lost()
    proto.connect()
    proto.receive_data(encode_connect_response(ConnectResponse(0, 0, 0, bytes(16), False)))
    assert drain(proto) == [SessionExpired()]
    assert proto.state is ConnState.EXPIRED
    with pytest.raises(UsageError):
        proto.send(OpCode.EXISTS, ExistsRequest("/a", False))
    with pytest.raises(UsageError):
        proto.connect()


# --- requests and replies --------------------------------------------------------------------


def test_pipelined_replies_come_out_in_request_order_with_their_bodies() -> None:
    proto = connected()
    server = ServerEnd()
    server.connected = True
    sent = [
        proto.send(OpCode.GET_DATA, GetDataRequest("/a", False)),
        proto.send(OpCode.EXISTS, ExistsRequest("/b", False)),
        proto.send(OpCode.GET_CHILDREN, GetChildrenRequest("/", False)),
    ]
    assert [xid for xid, _ in sent] == [1, 2, 3]
    assert [r[:2] for r in server.receive(b"".join(d for _, d in sent))] == [
        (1, OpCode.GET_DATA),
        (2, OpCode.EXISTS),
        (3, OpCode.GET_CHILDREN),
    ]
    proto.receive_data(
        reply(1, 7, 0, GetDataResponse(b"x", STAT))
        + reply(2, 7, ErrorCode.NONODE)
        + reply(3, 7, 0, GetChildrenResponse(("a",)))
    )
    assert drain(proto) == [
        Reply(1, OpCode.GET_DATA, 7, 0, GetDataResponse(b"x", STAT)),
        Reply(2, OpCode.EXISTS, 7, ErrorCode.NONODE, None),
        Reply(3, OpCode.GET_CHILDREN, 7, 0, GetChildrenResponse(("a",))),
    ]
    assert proto.pending == 0


@pytest.mark.parametrize("bad_xid", [2, 0, 7])
def test_a_reply_out_of_fifo_order_is_a_protocol_violation(bad_xid: int) -> None:
    proto = connected()
    proto.send(OpCode.EXISTS, ExistsRequest("/a", False))
    proto.send(OpCode.EXISTS, ExistsRequest("/b", False))
    proto.receive_data(reply(bad_xid))
    with pytest.raises(ProtocolViolation):
        proto.next_event()


def test_a_reply_when_nothing_is_pending_is_a_protocol_violation() -> None:
    proto = connected()
    proto.receive_data(reply(1))
    with pytest.raises(ProtocolViolation, match="no request is pending"):
        proto.next_event()


def test_ping_and_auth_replies_are_matched_apart_from_the_fifo() -> None:
    proto = connected()
    ping = proto.ping()
    assert ping == bytes.fromhex("00000008fffffffe0000000b")  # wire sheet 17
    xid, _ = proto.send(OpCode.EXISTS, ExistsRequest("/a", False))
    proto.add_auth("digest", b"u:p")
    # Auth is answered at once by ZooKeeper, overtaking the pending reply; the ping after.
    proto.receive_data(reply(-4) + reply(xid, 3, 0, ExistsResponse(STAT)) + reply(-2, 99))
    assert drain(proto) == [
        AuthReply("digest", b"u:p", 0, False),
        Reply(xid, OpCode.EXISTS, 3, 0, ExistsResponse(STAT)),
    ]
    assert proto.auths == [("digest", b"u:p")]


def test_a_notification_comes_out_before_the_reply_behind_it() -> None:
    proto = connected()
    xid, _ = proto.send(OpCode.EXISTS, ExistsRequest("/a", True))
    proto.receive_data(event(EventType.NODE_CREATED, "/b") + reply(xid, 5, ErrorCode.NONODE))
    assert drain(proto) == [
        WatchFired(EventType.NODE_CREATED, 3, "/b", -1),
        Reply(xid, OpCode.EXISTS, 5, ErrorCode.NONODE, None),
    ]


def test_last_zxid_seen_only_grows_and_only_from_ordinary_replies() -> None:
    proto = connected()
    a, _ = proto.send(OpCode.EXISTS, ExistsRequest("/a", False))
    b, _ = proto.send(OpCode.EXISTS, ExistsRequest("/a", False))
    proto.ping()
    proto.add_auth("digest", b"u:p")
    proto.receive_data(
        reply(a, 0x50, ErrorCode.NONODE)
        + event(EventType.NODE_CREATED, "/x", 0x90)  # 3.9 puts the txn zxid here
        + reply(-2, 0x99)
        + reply(-4, 0)
        + reply(b, 0x30, ErrorCode.NONODE)  # a stale zxid never lowers it
    )
    drain(proto)
    assert proto.last_zxid_seen == 0x50
    proto.connection_lost()
    request = decode_connect_request(proto.connect()[4:])
    assert request == ConnectRequest(0, 0x50, 6000, SESSION, PASSWORD, False)


def test_a_lost_connection_fails_the_pending_requests_and_the_session_resumes() -> None:
    proto = connected()
    first, _ = proto.send(OpCode.EXISTS, ExistsRequest("/a", False))
    second, _ = proto.send(OpCode.EXISTS, ExistsRequest("/b", False))
    proto.receive_data(reply(first, 4, ErrorCode.NONODE) + b"\x00\x00")  # a torn frame
    drain(proto)
    assert proto.connection_lost() == [second]
    assert proto.state is ConnState.DISCONNECTED
    assert proto.pending == 0
    proto.connect()
    proto.receive_data(accept(timeout=5000))
    assert drain(proto) == [SessionEstablished(SESSION, 5000, False, True)]
    xid, _ = proto.send(OpCode.EXISTS, ExistsRequest("/c", False))
    assert xid == second + 1  # xids are not reset by a reconnect (as Java)


def test_eof_is_reported_after_the_frames_before_it() -> None:
    proto = connected()
    xid, _ = proto.send(OpCode.EXISTS, ExistsRequest("/a", False))
    proto.receive_data(reply(xid, 1, ErrorCode.NONODE))
    proto.receive_data(b"")
    assert drain_until_closed(proto) == [
        Reply(xid, OpCode.EXISTS, 1, ErrorCode.NONODE, None),
        ConnectionClosed(),
    ]


def drain_until_closed(proto: ClientProtocol) -> list[Any]:
    events = []
    while not isinstance(events[-1:] and events[-1], ConnectionClosed):
        events.append(proto.next_event())
    return events


def test_xids_wrap_from_the_largest_int_to_one_never_reaching_special_values() -> None:
    proto = connected()
    proto._xid = MAX_XID - 2
    xids = [proto.send(OpCode.EXISTS, ExistsRequest("/a", False))[0] for _ in range(4)]
    assert xids == [MAX_XID - 1, MAX_XID, 1, 2]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\x00\x00\x00\x04\x00\x00\x00\x01", id="truncated-reply-header"),
        pytest.param(b"\xff\xff\xff\xf0", id="negative-frame-length"),
        pytest.param(b"\x7f\x00\x00\x00", id="frame-too-large"),
    ],
)
def test_garbage_from_the_server_is_a_protocol_violation(data: bytes) -> None:
    proto = connected()
    proto.send(OpCode.EXISTS, ExistsRequest("/a", False))
    proto.receive_data(data)
    with pytest.raises(ProtocolViolation):
        proto.next_event()


def test_an_undecodable_reply_body_is_a_protocol_violation() -> None:
    proto = connected()
    xid, _ = proto.send(OpCode.GET_DATA, GetDataRequest("/a", False))
    proto.receive_data(reply(xid, 1))  # err 0 but no GetDataResponse body
    with pytest.raises(ProtocolViolation):
        proto.next_event()


def test_methods_that_the_state_does_not_allow_are_usage_errors() -> None:
    proto = ClientProtocol(timeout_ms=1000)
    with pytest.raises(UsageError):
        proto.send(OpCode.EXISTS, ExistsRequest("/a", False))
    proto.connect()
    with pytest.raises(UsageError):
        proto.ping()  # not before the session is established
    with pytest.raises(UsageError):
        proto.connect()
    proto.receive_data(accept())
    drain(proto)
    with pytest.raises(UsageError):
        proto.send(OpCode.PING)
    with pytest.raises(UsageError):
        proto.send(OpCode.AUTH, AuthPacket(0, "digest", b"x"))


# --- what every new connection re-sends ------------------------------------------------------


def arm_watches(proto: ClientProtocol) -> None:
    """Register one watch of each kind through replies, ending at zxid 0x20."""
    requests = [
        (OpCode.GET_DATA, GetDataRequest("/data", True), 0, GetDataResponse(b"", STAT)),
        (OpCode.EXISTS, ExistsRequest("/missing", True), ErrorCode.NONODE, None),
        (OpCode.EXISTS, ExistsRequest("/there", True), 0, ExistsResponse(STAT)),
        (OpCode.GET_CHILDREN, GetChildrenRequest("/kids", True), 0, GetChildrenResponse(())),
        (OpCode.ADD_WATCH, AddWatchRequest("/p", AddWatchMode.PERSISTENT), 0, ErrorResponse(0)),
        (OpCode.ADD_WATCH, AddWatchRequest("/r", RECURSIVE), 0, ErrorResponse(0)),
        (OpCode.GET_DATA, GetDataRequest("/unwatched", False), 0, GetDataResponse(b"", STAT)),
        (OpCode.GET_DATA, GetDataRequest("/gone", True), ErrorCode.NONODE, None),
    ]
    for op, request, err, response in requests:
        xid, _ = proto.send(op, request)
        proto.receive_data(reply(xid, 0x20, err, response))
    drain(proto)


def test_set_watches2_rearms_every_watch_relative_to_the_last_zxid_seen() -> None:
    proto = connected()
    arm_watches(proto)
    proto.receive_data(event(EventType.NODE_DATA_CHANGED, "/there"))  # a one-shot fired
    drain(proto)
    proto.connection_lost()
    server = ServerEnd()
    connect_request, set_watches = server.receive(proto.connect())
    assert connect_request.last_zxid_seen == 0x20
    xid, op, record = set_watches
    assert op == OpCode.SET_WATCHES2
    assert record == SetWatches2(0x20, ("/data",), ("/missing",), ("/kids",), ("/p",), ("/r",))
    # The server answers the catch-up events first, then the SetWatches2 reply, which the
    # protocol consumes itself.
    proto.receive_data(accept() + event(EventType.NODE_CREATED, "/missing") + reply(xid, 0x21))
    assert drain(proto) == [
        SessionEstablished(SESSION, 4000, False, True),
        WatchFired(EventType.NODE_CREATED, 3, "/missing", -1),
    ]
    assert proto.last_zxid_seen == 0x21
    assert proto.watches.exist == set()  # consumed by the event


def test_set_watches2_is_split_into_batches_of_about_128_kb() -> None:
    proto = connected()
    long_paths = [f"/{i:04d}" + "x" * 1000 for i in range(300)]
    for path in long_paths:
        proto.watches.data.add(path)
    proto.connection_lost()
    server = ServerEnd()
    _, *batches = server.receive(proto.connect())
    records = [record for _, op, record in batches if op == OpCode.SET_WATCHES2]
    assert len(records) == 3
    assert [p for r in records for p in r.data_watches] == long_paths
    for record in records:
        size = sum(len(p) for p in record.data_watches)
        assert size < SET_WATCHES_MAX_LENGTH + 1006


def test_identities_are_resent_before_set_watches_and_dropped_if_rejected() -> None:
    proto = connected()
    proto.add_auth("digest", b"alice:pw")
    proto.add_auth("digest", b"bob:pw")
    proto.receive_data(reply(-4) + reply(-4))
    drain(proto)
    proto.watches.data.add("/w")
    proto.connection_lost()
    sent = ServerEnd().receive(proto.connect())
    assert [type(s).__name__ if not isinstance(s, tuple) else s[1] for s in sent] == [
        "ConnectRequest",
        OpCode.AUTH,
        OpCode.AUTH,
        OpCode.SET_WATCHES2,
    ]
    assert [s[0] for s in sent[1:3]] == [-4, -4]
    proto.receive_data(accept() + reply(-4) + reply(-4, 0, ErrorCode.AUTHFAILED))
    assert drain(proto)[1:] == [
        AuthReply("digest", b"alice:pw", 0, True),
        AuthReply("digest", b"bob:pw", ErrorCode.AUTHFAILED, True),
    ]
    assert proto.auths == [("digest", b"alice:pw")]


def test_a_brand_new_session_sends_nothing_behind_the_connect_request() -> None:
    proto = ClientProtocol(timeout_ms=1000)
    assert len(ServerEnd().receive(proto.connect())) == 1
