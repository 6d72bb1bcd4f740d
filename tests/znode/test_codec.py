"""The client wire codec: jute primitives, records, frames.

Oracles: round trips for every record, kazoo's own serializer and deserializers (an
independent implementation of the same wire format), and the bytes captured from a real
ZooKeeper 3.8.0 in the wire sheet (``zookeeper-wire-protocol.md`` section 17).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import struct
from collections.abc import Callable
from typing import Any

import attrs
import kazoo.exceptions as kex
import kazoo.protocol.serialization as kz
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kazoo.security import ACL as KazooACL
from kazoo.security import Id as KazooId

from znode import codec
from znode import records as rec
from znode.acl import ACL, Id
from znode.codec import (
    decode_connect_request,
    decode_connect_response,
    decode_notification,
    decode_record,
    decode_reply_header,
    decode_request,
    decode_request_header,
    decode_response,
    encode_connect_request,
    encode_connect_response,
    encode_notification,
    encode_record,
    encode_reply,
    encode_request,
)
from znode.errors import CodecError, FrameTooLarge
from znode.framing import FrameDecoder
from znode.jute import JuteReader, JuteWriter
from znode.stat import Stat

INT = struct.Struct(">i")

# --- strategies ------------------------------------------------------------------------------

I32 = st.integers(-(2**31), 2**31 - 1)
I64 = st.integers(-(2**63), 2**63 - 1)
TEXT = st.text(max_size=12)  # no lone surrogates: those cannot round-trip (Java neither)
DATA = st.none() | st.binary(max_size=40)
BOOL = st.booleans()
NAMES = st.lists(TEXT, max_size=4).map(tuple)
STATS = st.builds(Stat, I64, I64, I64, I64, I32, I32, I32, I64, I32, I32, I64)
IDS = st.builds(Id, TEXT, TEXT)
ACLS = st.lists(st.builds(ACL, I32, IDS), max_size=3).map(tuple)
CLIENT_INFOS = st.lists(st.builds(rec.ClientInfo, TEXT, TEXT), max_size=3).map(tuple)


def _b(cls: type[Any], *fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.builds(cls, *fields)


STRATEGIES: dict[type[Any], st.SearchStrategy[Any]] = {
    rec.CreateRequest: _b(rec.CreateRequest, TEXT, DATA, ACLS, I32),
    rec.CreateTTLRequest: _b(rec.CreateTTLRequest, TEXT, DATA, ACLS, I32, I64),
    rec.DeleteRequest: _b(rec.DeleteRequest, TEXT, I32),
    rec.ExistsRequest: _b(rec.ExistsRequest, TEXT, BOOL),
    rec.GetDataRequest: _b(rec.GetDataRequest, TEXT, BOOL),
    rec.SetDataRequest: _b(rec.SetDataRequest, TEXT, DATA, I32),
    rec.GetACLRequest: _b(rec.GetACLRequest, TEXT),
    rec.SetACLRequest: _b(rec.SetACLRequest, TEXT, ACLS, I32),
    rec.GetChildrenRequest: _b(rec.GetChildrenRequest, TEXT, BOOL),
    rec.GetChildren2Request: _b(rec.GetChildren2Request, TEXT, BOOL),
    rec.CheckVersionRequest: _b(rec.CheckVersionRequest, TEXT, I32),
    rec.SyncRequest: _b(rec.SyncRequest, TEXT),
    rec.ReconfigRequest: _b(rec.ReconfigRequest, TEXT, TEXT, TEXT, I64),
    rec.AuthPacket: _b(rec.AuthPacket, I32, TEXT, DATA),
    rec.GetSASLRequest: _b(rec.GetSASLRequest, DATA),
    rec.SetWatches: _b(rec.SetWatches, I64, NAMES, NAMES, NAMES),
    rec.SetWatches2: _b(rec.SetWatches2, I64, NAMES, NAMES, NAMES, NAMES, NAMES),
    rec.AddWatchRequest: _b(rec.AddWatchRequest, TEXT, I32),
    rec.CheckWatchesRequest: _b(rec.CheckWatchesRequest, TEXT, I32),
    rec.RemoveWatchesRequest: _b(rec.RemoveWatchesRequest, TEXT, I32),
    rec.GetEphemeralsRequest: _b(rec.GetEphemeralsRequest, TEXT),
    rec.GetAllChildrenNumberRequest: _b(rec.GetAllChildrenNumberRequest, TEXT),
    rec.CreateResponse: _b(rec.CreateResponse, TEXT),
    rec.Create2Response: _b(rec.Create2Response, TEXT, STATS),
    rec.ExistsResponse: _b(rec.ExistsResponse, STATS),
    rec.GetDataResponse: _b(rec.GetDataResponse, DATA, STATS),
    rec.SetDataResponse: _b(rec.SetDataResponse, STATS),
    rec.GetACLResponse: _b(rec.GetACLResponse, ACLS, STATS),
    rec.SetACLResponse: _b(rec.SetACLResponse, STATS),
    rec.GetChildrenResponse: _b(rec.GetChildrenResponse, NAMES),
    rec.GetChildren2Response: _b(rec.GetChildren2Response, NAMES, STATS),
    rec.SyncResponse: _b(rec.SyncResponse, TEXT),
    rec.SetSASLResponse: _b(rec.SetSASLResponse, DATA),
    rec.GetEphemeralsResponse: _b(rec.GetEphemeralsResponse, NAMES),
    rec.GetAllChildrenNumberResponse: _b(rec.GetAllChildrenNumberResponse, I32),
    rec.ClientInfo: _b(rec.ClientInfo, TEXT, TEXT),
    rec.WhoAmIResponse: _b(rec.WhoAmIResponse, CLIENT_INFOS),
    rec.WatcherEvent: _b(rec.WatcherEvent, I32, I32, TEXT),
    rec.ErrorResponse: _b(rec.ErrorResponse, I32),
    rec.ConnectRequest: _b(
        rec.ConnectRequest, I32, I64, I32, I64, st.binary(max_size=20), st.none() | BOOL
    ),
    rec.ConnectResponse: _b(
        rec.ConnectResponse, I32, I32, I64, st.binary(max_size=20), st.none() | BOOL
    ),
    rec.RequestHeader: _b(rec.RequestHeader, I32, I32),
    rec.ReplyHeader: _b(rec.ReplyHeader, I32, I64, I32),
    rec.MultiHeader: _b(rec.MultiHeader, I32, BOOL, I32),
    Stat: STATS,
    ACL: st.builds(ACL, I32, IDS),
    Id: IDS,
}

# Wire sheet 13.1: the ops allowed in multi (14) and multiRead (22), with their records.
MULTI_WRITE_OPS = {
    1: rec.CreateRequest,
    15: rec.CreateRequest,
    19: rec.CreateRequest,
    21: rec.CreateTTLRequest,
    2: rec.DeleteRequest,
    5: rec.SetDataRequest,
    13: rec.CheckVersionRequest,
}
MULTI_READ_OPS = {8: rec.GetChildrenRequest, 4: rec.GetDataRequest}
# Wire sheet 13.2: result type -> body record (None: no body).
RESULT_BODIES: dict[int, type[Any] | None] = {
    1: rec.CreateResponse,
    15: rec.Create2Response,
    2: None,
    5: rec.SetDataResponse,
    13: None,
    8: rec.GetChildrenResponse,
    4: rec.GetDataResponse,
}


def _multi_op(table: dict[int, type[Any]]) -> st.SearchStrategy[rec.MultiOp]:
    return st.sampled_from(sorted(table)).flatmap(
        lambda op: STRATEGIES[table[op]].map(functools.partial(rec.MultiOp, op))
    )


def _multi(table: dict[int, type[Any]]) -> st.SearchStrategy[rec.MultiRequest]:
    return st.lists(_multi_op(table), max_size=4).map(lambda ops: rec.MultiRequest(tuple(ops)))


def _result(result_type: int) -> st.SearchStrategy[rec.MultiResult]:
    body = RESULT_BODIES[result_type]
    return st.builds(
        rec.MultiResult,
        st.just(result_type),
        I32,
        st.none() if body is None else STRATEGIES[body],
    )


MULTI_WRITE = _multi(MULTI_WRITE_OPS)
MULTI_READ = _multi(MULTI_READ_OPS)
RESULTS = st.builds(rec.MultiResult, st.just(-1), I32, st.none()) | st.sampled_from(
    sorted(RESULT_BODIES)
).flatmap(_result)
STRATEGIES[rec.MultiRequest] = MULTI_WRITE | MULTI_READ
STRATEGIES[rec.MultiOp] = _multi_op(MULTI_WRITE_OPS) | _multi_op(MULTI_READ_OPS)
STRATEGIES[rec.MultiResult] = RESULTS
STRATEGIES[rec.MultiResponse] = st.lists(RESULTS, max_size=4).map(
    lambda results: rec.MultiResponse(tuple(results))
)

# Wire sheet section 5: request record and success body of every client op.
OPS: dict[int, tuple[type[Any] | None, type[Any] | None]] = {
    1: (rec.CreateRequest, rec.CreateResponse),
    2: (rec.DeleteRequest, None),
    3: (rec.ExistsRequest, rec.ExistsResponse),
    4: (rec.GetDataRequest, rec.GetDataResponse),
    5: (rec.SetDataRequest, rec.SetDataResponse),
    6: (rec.GetACLRequest, rec.GetACLResponse),
    7: (rec.SetACLRequest, rec.SetACLResponse),
    8: (rec.GetChildrenRequest, rec.GetChildrenResponse),
    9: (rec.SyncRequest, rec.SyncResponse),
    11: (None, None),
    12: (rec.GetChildren2Request, rec.GetChildren2Response),
    13: (rec.CheckVersionRequest, None),
    14: (rec.MultiRequest, rec.MultiResponse),
    15: (rec.CreateRequest, rec.Create2Response),
    16: (rec.ReconfigRequest, rec.GetDataResponse),
    17: (rec.CheckWatchesRequest, None),
    18: (rec.RemoveWatchesRequest, None),
    19: (rec.CreateRequest, rec.Create2Response),
    21: (rec.CreateTTLRequest, rec.Create2Response),
    22: (rec.MultiRequest, rec.MultiResponse),
    100: (rec.AuthPacket, None),
    101: (rec.SetWatches, None),
    102: (rec.GetSASLRequest, rec.SetSASLResponse),
    103: (rec.GetEphemeralsRequest, rec.GetEphemeralsResponse),
    104: (rec.GetAllChildrenNumberRequest, rec.GetAllChildrenNumberResponse),
    105: (rec.SetWatches2, None),
    106: (rec.AddWatchRequest, rec.ErrorResponse),
    107: (None, rec.WhoAmIResponse),
    -11: (None, None),
}
UNKNOWN_OPS = [0, 10, 20, 23, 99, 108, 999, -1, -10, -12]


def request_strategy(op: int) -> st.SearchStrategy[Any]:
    if op == 14:
        return MULTI_WRITE
    if op == 22:
        return MULTI_READ
    cls = OPS[op][0]
    return st.none() if cls is None else STRATEGIES[cls]


def response_strategy(op: int) -> st.SearchStrategy[Any]:
    cls = OPS[op][1]
    return st.none() if cls is None else STRATEGIES[cls]


def payload(frame: bytes) -> bytes:
    """Check a frame's length prefix and return its payload."""
    assert INT.unpack_from(frame)[0] == len(frame) - 4
    return frame[4:]


# --- tables ----------------------------------------------------------------------------------


def test_every_record_class_has_a_strategy() -> None:
    classes = {
        cls
        for _, cls in inspect.getmembers(rec, inspect.isclass)
        if attrs.has(cls) and cls.__module__ == rec.__name__
    }
    assert classes - set(STRATEGIES) == set()


def test_op_tables_match_the_wire_sheet() -> None:
    assert dict(codec.REQUEST_RECORDS) == {op: req for op, (req, _) in OPS.items()}
    assert dict(codec.RESPONSE_RECORDS) == {op: resp for op, (_, resp) in OPS.items()}


# --- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("cls", list(STRATEGIES), ids=lambda c: c.__name__)
@given(data=st.data())
def test_record_round_trip(cls: type[Any], data: st.DataObject) -> None:
    record = data.draw(STRATEGIES[cls])
    raw = encode_record(record)
    assert decode_record(cls, raw) == (record, len(raw))
    # at an offset, from every buffer type, ignoring what follows (except for the connect
    # records, whose optional last byte is exactly "what follows")
    tail = b"" if cls in (rec.ConnectRequest, rec.ConnectResponse) else b"\xbb"
    shifted = b"\xaa" * 3 + raw + tail
    for buf in (shifted, bytearray(shifted), memoryview(shifted)):
        assert decode_record(cls, buf, 3) == (record, 3 + len(raw))


@pytest.mark.parametrize("op", sorted(OPS))
@given(data=st.data(), xid=I32)
def test_request_frame_round_trip(op: int, data: st.DataObject, xid: int) -> None:
    request = data.draw(request_strategy(op))
    body = payload(encode_request(xid, op, request))
    assert decode_request_header(body) == rec.RequestHeader(xid, op)
    assert decode_request(op, body) == request
    assert decode_request(op, memoryview(body)) == request


@pytest.mark.parametrize("op", sorted(OPS))
@given(data=st.data(), xid=I32, zxid=I64)
def test_reply_frame_round_trip(op: int, data: st.DataObject, xid: int, zxid: int) -> None:
    response = data.draw(response_strategy(op))
    body = payload(encode_reply(xid, zxid, 0, response))
    assert decode_reply_header(body) == rec.ReplyHeader(xid, zxid, 0)
    assert decode_response(op, body) == response
    if response is None:
        assert len(body) == 16


RESPONSE_CLASSES = sorted({c for _, c in OPS.values() if c is not None}, key=lambda c: c.__name__)


@given(response=st.one_of(*(STRATEGIES[c] for c in RESPONSE_CLASSES)))
def test_error_reply_has_no_body(response: Any) -> None:
    frame = encode_reply(7, 0x9C, -101, response)
    assert frame == INT.pack(16) + struct.pack(">iqi", 7, 0x9C, -101)


@given(event=STRATEGIES[rec.WatcherEvent], zxid=I64)
def test_notification_round_trip(event: rec.WatcherEvent, zxid: int) -> None:
    body = payload(encode_notification(event, zxid))
    assert decode_reply_header(body) == rec.ReplyHeader(-1, zxid, 0)
    assert decode_notification(body) == event


@given(req=STRATEGIES[rec.ConnectRequest], resp=STRATEGIES[rec.ConnectResponse])
def test_connect_round_trip(req: rec.ConnectRequest, resp: rec.ConnectResponse) -> None:
    req_body = payload(encode_connect_request(req))
    resp_body = payload(encode_connect_response(resp))
    assert decode_connect_request(req_body) == req
    assert decode_connect_response(resp_body) == resp
    extra = 0 if req.read_only is None else 1
    assert len(req_body) == 28 + len(req.passwd) + extra
    extra = 0 if resp.read_only is None else 1
    assert len(resp_body) == 20 + len(resp.passwd) + extra


def test_connect_sizes_and_optional_read_only() -> None:
    req = rec.ConnectRequest(0, 5, 6000, 0, bytes(16), None)
    old = payload(encode_connect_request(req))
    new = payload(encode_connect_request(attrs.evolve(req, read_only=True)))
    assert (len(old), len(new)) == (44, 45)
    assert new == old + b"\x01"
    assert decode_connect_request(old).read_only is None
    assert decode_connect_request(new[:-1] + b"\x07").read_only is True  # any non-zero
    resp = rec.ConnectResponse(0, 4000, 1, bytes(16), None)
    old = payload(encode_connect_response(resp))
    new = payload(encode_connect_response(attrs.evolve(resp, read_only=False)))
    assert (len(old), len(new)) == (36, 37)
    assert decode_connect_response(old).read_only is None
    assert decode_connect_response(new).read_only is False


# --- specific encodings ----------------------------------------------------------------------


def test_strings_and_buffers_null_versus_empty() -> None:
    body = payload(encode_request(1, 5, rec.SetDataRequest("", b"", 0)))[8:]
    assert body == bytes(4) + bytes(4) + INT.pack(0)  # Java style: "" is length 0
    body = payload(encode_request(1, 5, rec.SetDataRequest("/a", None, 0)))[8:]
    assert body[6:10] == b"\xff\xff\xff\xff"
    null_path = INT.pack(-1) + INT.pack(-1) + INT.pack(3)
    assert decode_request(5, null_path, 0) == rec.SetDataRequest("", None, 3)


def test_reconfig_writes_empty_strings_as_null() -> None:
    raw = encode_record(rec.ReconfigRequest("server.4=h:1:2;3", "", "", -1))
    assert raw[4 + 16 :] == INT.pack(-1) * 2 + struct.pack(">q", -1)


def test_booleans_write_one_and_read_any_nonzero_as_true() -> None:
    assert encode_record(rec.GetDataRequest("/", True))[-1:] == b"\x01"
    assert encode_record(rec.GetDataRequest("/", False))[-1:] == b"\x00"
    raw = INT.pack(1) + b"/" + b"\x80"
    assert decode_request(4, raw, 0) == rec.GetDataRequest("/", True)
    assert decode_record(rec.MultiHeader, INT.pack(1) + b"\x02" + INT.pack(0))[0].done is True


def test_stat_is_68_bytes_in_jute_order() -> None:
    stat = Stat(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
    assert encode_record(stat) == struct.pack(">qqqqiiiqiiq", *range(1, 12))
    assert len(encode_record(stat)) == 68


def test_multi_error_result_carries_an_error_response_body() -> None:
    raw = encode_record(rec.MultiResponse((rec.MultiResult(-1, -110, None),)))
    assert raw == struct.pack(">iBi", -1, 0, -110) + INT.pack(-110) + struct.pack(">iBi", -1, 1, -1)
    # the err of an error result comes from its ErrorResponse body
    raw = struct.pack(">iBi", -1, 0, 0) + INT.pack(-103) + struct.pack(">iBi", -1, 1, -1)
    assert decode_record(rec.MultiResponse, raw)[0].results == (rec.MultiResult(-1, -103, None),)


def test_multi_request_framing() -> None:
    req = rec.MultiRequest((rec.MultiOp(2, rec.DeleteRequest("/a", 3)),))
    body = payload(encode_request(9, 14, req))[8:]
    expected = struct.pack(">iBi", 2, 0, -1) + INT.pack(2) + b"/a" + INT.pack(3)
    assert body == expected + struct.pack(">iBi", -1, 1, -1)
    assert payload(encode_request(9, 14, rec.MultiRequest(())))[8:] == struct.pack(
        ">iBi", -1, 1, -1
    )


@pytest.mark.parametrize(
    ("op", "sub_op", "record"),
    [
        (14, 4, rec.GetDataRequest("/a", False)),
        (14, 8, rec.GetChildrenRequest("/a", False)),
        (22, 2, rec.DeleteRequest("/a", -1)),
        (22, 1, rec.CreateRequest("/a", None, (), 0)),
        (14, 3, rec.ExistsRequest("/a", False)),
        (22, 14, rec.MultiRequest(())),
    ],
)
def test_multi_rejects_ops_of_the_wrong_kind(op: int, sub_op: int, record: Any) -> None:
    raw = (
        struct.pack(">iBi", sub_op, 0, -1) + encode_record(record) + struct.pack(">iBi", -1, 1, -1)
    )
    with pytest.raises(CodecError):
        decode_request(op, raw, 0)
    with pytest.raises(CodecError):
        encode_request(1, op, rec.MultiRequest((rec.MultiOp(sub_op, record),)))


def test_multi_rejects_mixing_read_and_write_ops() -> None:
    mixed = rec.MultiRequest(
        (
            rec.MultiOp(5, rec.SetDataRequest("/a", b"", -1)),
            rec.MultiOp(4, rec.GetDataRequest("/a", False)),
        )
    )
    raw = b"".join(encode_record(op) for op in mixed.ops) + struct.pack(">iBi", -1, 1, -1)
    for op in (14, 22):
        with pytest.raises(CodecError):
            decode_request(op, raw, 0)
        with pytest.raises(CodecError):
            encode_request(1, op, mixed)
    with pytest.raises(CodecError):
        decode_record(rec.MultiRequest, raw)
    with pytest.raises(CodecError):
        encode_record(mixed)


def test_multi_sub_op_record_must_match_its_type() -> None:
    with pytest.raises(CodecError):
        encode_request(1, 14, rec.MultiRequest((rec.MultiOp(2, rec.CheckVersionRequest("/a", 1)),)))
    with pytest.raises(CodecError):
        encode_record(rec.MultiResult(1, 0, rec.SyncResponse("/a")))
    with pytest.raises(CodecError):
        encode_record(rec.MultiResult(2, 0, rec.CreateResponse("/a")))
    with pytest.raises(CodecError):
        encode_record(rec.MultiResult(19, 0, rec.Create2Response("/a", Stat(*range(11)))))
    bad_type = struct.pack(">iBi", 19, 0, 0) + encode_record(rec.CreateResponse("/a"))
    with pytest.raises(CodecError):
        decode_record(rec.MultiResponse, bad_type)


def test_request_record_must_match_the_op() -> None:
    with pytest.raises(CodecError):
        encode_request(1, 4, rec.ExistsRequest("/a", False))
    with pytest.raises(CodecError):
        encode_request(1, 11, rec.SyncRequest("/"))
    with pytest.raises(CodecError):
        encode_request(1, 4, None)
    with pytest.raises(CodecError):
        encode_reply(1, 1, 0, rec.GetDataRequest("/a", False))  # type: ignore[arg-type]
    with pytest.raises(CodecError):
        encode_record(object())  # type: ignore[arg-type]
    with pytest.raises(CodecError):
        decode_record(object, b"")


@pytest.mark.parametrize("op", UNKNOWN_OPS)
def test_unknown_ops_are_codec_errors(op: int) -> None:
    with pytest.raises(CodecError):
        decode_request(op, b"", 0)
    with pytest.raises(CodecError):
        decode_response(op, b"", 0)
    with pytest.raises(CodecError):
        encode_request(1, op, None)


def test_values_out_of_range_are_codec_errors() -> None:
    with pytest.raises(CodecError):
        encode_request(1, 5, rec.SetDataRequest("/a", b"", 2**31))
    with pytest.raises(CodecError):
        encode_reply(2**31, 0, 0, None)
    with pytest.raises(CodecError):
        encode_reply(1, 0, 0, rec.GetDataResponse(b"", Stat(2**63, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)))
    with pytest.raises(CodecError):
        encode_notification(rec.WatcherEvent(2**40, 3, "/a"))
    with pytest.raises(CodecError):
        encode_connect_request(rec.ConnectRequest(0, 2**64, 0, 0, b""))


def test_non_bmp_and_bad_utf8() -> None:
    text = "/\U0001f600é"
    assert decode_record(rec.SyncRequest, encode_record(rec.SyncRequest(text)))[0].path == text
    bad = INT.pack(3) + b"/\xff\xfe"
    assert decode_record(rec.SyncRequest, bad)[0].path == "/\ufffd\ufffd"
    lone = encode_record(rec.SyncRequest("/\ud800"))  # lone surrogate: encoded, not rejected
    assert decode_record(rec.SyncRequest, lone)[0].path.startswith("/")


# --- kazoo as an independent oracle ----------------------------------------------------------


def kazoo_frame(xid: int | None, request: Any) -> bytes:
    """What kazoo's ``ConnectionHandler._submit`` writes to the socket."""
    out = bytearray()
    if xid:
        out += INT.pack(xid)
    if request.type:
        out += INT.pack(request.type)
    out += request.serialize()
    return INT.pack(len(out)) + bytes(out)


K_ACLS = [KazooACL(31, KazooId("world", "anyone")), KazooACL(5, KazooId("digest", "u:h"))]
ACLS_2 = (ACL(31, Id("world", "anyone")), ACL(5, Id("digest", "u:h")))
KAZOO_REQUESTS: list[tuple[str, int, Any, int, Any]] = [
    (
        "create",
        3,
        kz.Create("/a", b"data", K_ACLS, 3),
        1,
        rec.CreateRequest("/a", b"data", ACLS_2, 3),
    ),
    (
        "create-null",
        3,
        kz.Create("/a", None, K_ACLS[:1], 0),
        1,
        rec.CreateRequest("/a", None, ACLS_2[:1], 0),
    ),
    ("create2", 4, kz.Create2("/b", b"", K_ACLS, 1), 15, rec.CreateRequest("/b", b"", ACLS_2, 1)),
    ("delete", 5, kz.Delete("/a", -1), 2, rec.DeleteRequest("/a", -1)),
    ("exists", 6, kz.Exists("/a", True), 3, rec.ExistsRequest("/a", True)),
    ("exists-nowatch", 6, kz.Exists("/a", None), 3, rec.ExistsRequest("/a", False)),
    ("getdata", 7, kz.GetData("/jc", True), 4, rec.GetDataRequest("/jc", True)),
    ("setdata", 8, kz.SetData("/a", b"xy", 4), 5, rec.SetDataRequest("/a", b"xy", 4)),
    ("getacl", 9, kz.GetACL("/a"), 6, rec.GetACLRequest("/a")),
    ("setacl", 10, kz.SetACL("/a", K_ACLS, 2), 7, rec.SetACLRequest("/a", ACLS_2, 2)),
    ("getchildren", 11, kz.GetChildren("/", False), 8, rec.GetChildrenRequest("/", False)),
    ("getchildren2", 12, kz.GetChildren2("/", True), 12, rec.GetChildren2Request("/", True)),
    ("sync", 13, kz.Sync("/a"), 9, rec.SyncRequest("/a")),
    (
        "transaction",
        14,
        kz.Transaction(
            [
                kz.Create("/t", b"v", K_ACLS[:1], 2),
                kz.Delete("/u", 3),
                kz.SetData("/w", b"", -1),
                kz.CheckVersion("/x", 7),
            ]
        ),
        14,
        rec.MultiRequest(
            (
                rec.MultiOp(1, rec.CreateRequest("/t", b"v", ACLS_2[:1], 2)),
                rec.MultiOp(2, rec.DeleteRequest("/u", 3)),
                rec.MultiOp(5, rec.SetDataRequest("/w", b"", -1)),
                rec.MultiOp(13, rec.CheckVersionRequest("/x", 7)),
            )
        ),
    ),
    (
        "reconfig",
        15,
        kz.Reconfig("server.4=h:2888:3888;2181", None, None, -1),
        16,
        rec.ReconfigRequest("server.4=h:2888:3888;2181", "", "", -1),
    ),
    ("reconfig-all", 15, kz.Reconfig("a", "b", "c", 9), 16, rec.ReconfigRequest("a", "b", "c", 9)),
    ("auth", -4, kz.Auth(0, "digest", "user:pw"), 100, rec.AuthPacket(0, "digest", b"user:pw")),
    ("sasl", 16, kz.SASL(b"\x01token"), 102, rec.GetSASLRequest(b"\x01token")),
    ("sasl-null", 16, kz.SASL(None), 102, rec.GetSASLRequest(None)),
    ("ping", -2, kz.Ping, 11, None),
    ("close", 17, kz.Close, -11, None),
]


@pytest.mark.parametrize(
    ("xid", "kazoo_request", "op", "ours"),
    [case[1:] for case in KAZOO_REQUESTS],
    ids=[case[0] for case in KAZOO_REQUESTS],
)
def test_requests_match_kazoo(xid: int, kazoo_request: Any, op: int, ours: Any) -> None:
    expected = kazoo_frame(xid, kazoo_request)
    assert encode_request(xid, op, ours) == expected
    assert decode_request_header(expected[4:]) == rec.RequestHeader(xid, op)
    assert decode_request(op, expected[4:]) == ours


@pytest.mark.parametrize("read_only", [False, True])
def test_connect_request_matches_kazoo(read_only: bool) -> None:
    kazoo = kz.Connect(0, 0x1234, 10000, 0x0100_0007_7A5E_001A, bytes(range(16)), read_only)
    ours = rec.ConnectRequest(0, 0x1234, 10000, 0x0100_0007_7A5E_001A, bytes(range(16)), read_only)
    expected = kazoo_frame(None, kazoo)
    assert encode_connect_request(ours) == expected
    assert decode_connect_request(expected[4:]) == ours


@given(
    path=st.text(min_size=1, max_size=20),
    data=DATA,
    perms=I32,
    ident=st.text(min_size=1, max_size=10),
    flags=I32,
    version=I32,
    xid=st.integers(1, 2**31 - 1),
)
def test_requests_match_kazoo_for_any_nonempty_strings(
    path: str, data: bytes | None, perms: int, ident: str, flags: int, version: int, xid: int
) -> None:
    k_acl = [KazooACL(perms, KazooId("digest", ident))]
    acl = (ACL(perms, Id("digest", ident)),)
    cases = [
        (kz.Create(path, data, k_acl, flags), 1, rec.CreateRequest(path, data, acl, flags)),
        (kz.SetData(path, data, version), 5, rec.SetDataRequest(path, data, version)),
        (kz.SetACL(path, k_acl, version), 7, rec.SetACLRequest(path, acl, version)),
        (kz.GetData(path, flags % 2 == 1), 4, rec.GetDataRequest(path, flags % 2 == 1)),
        (kz.Delete(path, version), 2, rec.DeleteRequest(path, version)),
    ]
    for kazoo_request, op, ours in cases:
        assert encode_request(xid, op, ours) == kazoo_frame(xid, kazoo_request)


def test_decodes_kazoos_null_strings() -> None:
    """kazoo writes "" as a null string (-1); we write length 0 but accept both."""
    k_acl = [KazooACL(31, KazooId("auth", ""))]
    ours = rec.CreateRequest("/a", b"", (ACL(31, Id("auth", "")),), 0)
    kazoo = kazoo_frame(1, kz.Create("/a", b"", k_acl, 0))
    assert decode_request(1, kazoo[4:]) == ours
    assert encode_request(1, 1, ours) == kazoo[:-8] + INT.pack(0) + INT.pack(0)
    assert kazoo[-8:-4] == b"\xff\xff\xff\xff"
    assert decode_request(9, kazoo_frame(1, kz.Sync(""))[4:]) == rec.SyncRequest("")
    assert decode_request(100, kazoo_frame(-4, kz.Auth(0, "x", ""))[4:]) == rec.AuthPacket(
        0, "x", None
    )


STAT = Stat(
    0x10, 0x11, 1_700_000_000_000, 1_700_000_000_001, 3, 4, 5, 0x0100_0007_7A5E_001A, 2, 6, 0x12
)


def _kazoo_response(response: Any) -> bytes:
    body = payload(encode_reply(3, 0x20, 0, response))
    assert kz.ReplyHeader.deserialize(body, 0) == ((3, 0x20, 0), 16)
    return body


@pytest.mark.parametrize(
    ("kazoo_type", "op", "response", "expected"),
    [
        (kz.Create, 1, rec.CreateResponse("/a0000000001"), "/a0000000001"),
        (kz.Create2, 15, rec.Create2Response("/b", STAT), ("/b", STAT)),
        (kz.Exists, 3, rec.ExistsResponse(STAT), STAT),
        (kz.GetData, 4, rec.GetDataResponse(b"hi", STAT), (b"hi", STAT)),
        (kz.GetData, 4, rec.GetDataResponse(None, STAT), (None, STAT)),
        (kz.SetData, 5, rec.SetDataResponse(STAT), STAT),
        (kz.GetACL, 6, rec.GetACLResponse(ACLS_2, STAT), (list(ACLS_2), STAT)),
        (kz.SetACL, 7, rec.SetACLResponse(STAT), STAT),
        (kz.GetChildren, 8, rec.GetChildrenResponse(("x", "yz")), ["x", "yz"]),
        (kz.GetChildren2, 12, rec.GetChildren2Response(("x",), STAT), (["x"], STAT)),
        (kz.Sync, 9, rec.SyncResponse("/s"), "/s"),
        (kz.Reconfig, 16, rec.GetDataResponse(b"server.1=h", STAT), (b"server.1=h", STAT)),
    ],
)
def test_kazoo_deserializes_our_responses(
    kazoo_type: Any, op: int, response: Any, expected: Any
) -> None:
    body = _kazoo_response(response)
    assert kazoo_type.deserialize(body, 16) == expected  # namedtuples compare as tuples
    assert decode_response(op, body) == response


def test_kazoo_deserializes_our_sasl_and_notifications() -> None:
    body = _kazoo_response(rec.SetSASLResponse(b"challenge"))
    assert kz.SASL.deserialize(body, 16)[0] == b"challenge"
    event = rec.WatcherEvent(4, 3, "/jc/x")
    body = payload(encode_notification(event))
    assert kz.ReplyHeader.deserialize(body, 0)[0] == (-1, -1, 0)
    assert kz.Watch.deserialize(body, 16)[0] == (4, 3, "/jc/x")


def test_kazoo_deserializes_our_multi_responses() -> None:
    ok = rec.MultiResponse(
        (
            rec.MultiResult(1, 0, rec.CreateResponse("/t")),
            rec.MultiResult(2, 0, None),
            rec.MultiResult(5, 0, rec.SetDataResponse(STAT)),
            rec.MultiResult(13, 0, None),
        )
    )
    got = kz.Transaction.deserialize(_kazoo_response(ok), 16)
    assert got[:2] == ["/t", True]
    assert tuple(got[2]) == tuple(STAT)
    assert got[3] is True
    failed = rec.MultiResponse(
        (
            rec.MultiResult(-1, 0, None),
            rec.MultiResult(-1, -101, None),
            rec.MultiResult(-1, -2, None),
        )
    )
    got = kz.Transaction.deserialize(_kazoo_response(failed), 16)
    assert [type(e) for e in got] == [
        kex.RolledBackError,
        kex.NoNodeError,
        kex.RuntimeInconsistency,
    ]


@pytest.mark.parametrize("read_only", [None, False, True])
def test_kazoo_deserializes_our_connect_response(read_only: bool | None) -> None:
    resp = rec.ConnectResponse(0, 6000, 0x0100_0007_7A5E_001A, bytes(range(16)), read_only)
    got, _end = kz.Connect.deserialize(payload(encode_connect_response(resp)), 0)
    assert (got.time_out, got.session_id, got.passwd, got.read_only) == (
        6000,
        0x0100_0007_7A5E_001A,
        bytes(range(16)),
        bool(read_only),
    )


# --- the captured bytes of wire sheet section 17 ---------------------------------------------


def hx(text: str) -> bytes:
    return bytes.fromhex(text.replace("|", " "))


def test_sheet_connect() -> None:
    request = (
        hx("0000002D 00000000 0000000000000000 00001770 0000000000000000 00000010")
        + bytes(16)
        + b"\0"
    )
    ours = rec.ConnectRequest(0, 0, 6000, 0, bytes(16), False)
    assert encode_connect_request(ours) == request
    assert decode_connect_request(request[4:]) == ours
    passwd = bytes.fromhex("00112233445566778899aabbccddeeff")
    reply = hx("00000025 00000000 00001770 0100 0007 7A5E 001A 00000010") + passwd + b"\0"
    resp = rec.ConnectResponse(0, 6000, 0x0100_0007_7A5E_001A, passwd, False)
    assert encode_connect_response(resp) == reply
    assert decode_connect_response(reply[4:]) == resp


def test_sheet_get_data() -> None:
    request = hx("00000010 00000004 00000004 00000003 2F6A63 01")
    assert encode_request(4, 4, rec.GetDataRequest("/jc", True)) == request
    assert decode_request(4, request[4:]) == rec.GetDataRequest("/jc", True)
    stat = Stat(0x9B, 0x9C, 1, 2, 1, 0, 0, 0, 1, 0, 0x9B)
    reply = encode_reply(4, 0x9C, 0, rec.GetDataResponse(b"d", stat))
    assert reply == hx("00000059 00000004 000000000000009C 00000000 00000001 64") + encode_record(
        stat
    )
    assert len(reply) == 4 + 89


def test_sheet_ping_and_close() -> None:
    assert encode_request(-2, 11, None) == hx("00000008 FFFFFFFE 0000000B")
    assert decode_request(11, hx("FFFFFFFE 0000000B")) is None
    zxid = 0x0102030405060708
    assert encode_reply(-2, zxid, 0, None) == hx("00000010 FFFFFFFE 0102030405060708 00000000")
    assert encode_request(9, -11, None) == hx("00000008 00000009 FFFFFFF5")
    assert decode_request(-11, hx("00000009 FFFFFFF5")) is None
    assert decode_request(107, hx("00000009 0000006B")) is None


def test_sheet_notification() -> None:
    frame = hx(
        "00000021 | FFFFFFFF | FFFFFFFFFFFFFFFF | 0000000000000001 | 00000003 | 00000005 2F6A632F78"
    )
    event = rec.WatcherEvent(1, 3, "/jc/x")
    assert encode_notification(event) == frame
    assert decode_notification(frame[4:]) == event


def test_sheet_set_watches2() -> None:
    request = rec.SetWatches2(0x9C, ("/jc",), ("/jc-missing",), ("/jc",), (), ("/jc",))
    jc = hx("00000001 00000003 2F6A63")
    expected = (
        hx("00000008 00000069 000000000000009C")
        + jc
        + hx("00000001 0000000B")
        + b"/jc-missing"
        + jc
        + hx("00000000")
        + jc
    )
    frame = encode_request(8, 105, request)
    assert frame == INT.pack(len(expected)) + expected
    assert decode_request(105, expected) == request


def test_sheet_failed_multi() -> None:
    body = hx(
        "FFFFFFFF 00 00000000 | 00000000"
        "FFFFFFFF 00 00000000 | 00000000"
        "FFFFFFFF 00 FFFFFF9B | FFFFFF9B"
        "FFFFFFFF 01 FFFFFFFF"
    )
    response = rec.MultiResponse(
        (
            rec.MultiResult(-1, 0, None),
            rec.MultiResult(-1, 0, None),
            rec.MultiResult(-1, -101, None),
        )
    )
    frame = encode_reply(5, 0x30, 0, response)
    assert frame == INT.pack(16 + len(body)) + struct.pack(">iqi", 5, 0x30, 0) + body
    assert decode_response(14, frame[4:]) == response


def test_sheet_add_watch_reply_is_an_error_response() -> None:
    frame = encode_reply(6, 0x31, 0, rec.ErrorResponse(0))
    assert frame[20:] == hx("00000000")
    assert len(frame) == 24
    assert decode_response(106, frame[4:]) == rec.ErrorResponse(0)


@pytest.mark.parametrize(
    ("op", "response"),
    [
        (1, rec.CreateResponse("/a")),
        (15, rec.Create2Response("/a", STAT)),
        (19, rec.Create2Response("/a", STAT)),
        (21, rec.Create2Response("/a", STAT)),
        (3, rec.ExistsResponse(STAT)),
        (16, rec.GetDataResponse(b"cfg", STAT)),
        (103, rec.GetEphemeralsResponse(("/e1", "/e2"))),
        (104, rec.GetAllChildrenNumberResponse(12)),
        (107, rec.WhoAmIResponse((rec.ClientInfo("ip", "127.0.0.1"),))),
    ],
)
def test_response_record_chosen_by_op(op: int, response: Any) -> None:
    assert decode_response(op, payload(encode_reply(1, 2, 0, response))) == response


# --- jute primitives -------------------------------------------------------------------------


def test_jute_writer_and_reader() -> None:
    w = JuteWriter()
    w.write_int(-2)
    w.write_long(2**40)
    w.write_bool(True)
    w.write_byte(-1)
    w.write_buffer(None)
    w.write_buffer(b"ab")
    w.write_ustring("")
    w.write_ustring(None)
    w.write_ustring("é")
    w.write_ustring_vector(["a", ""])
    w.write_ustring_vector(None)
    w.write_vector([1, 2], lambda wr, v: wr.write_int(v))
    raw = w.getvalue()
    assert len(w) == len(raw)
    r = JuteReader(raw)
    assert r.read_int() == -2
    assert r.read_long() == 2**40
    assert r.read_bool() is True
    assert r.read_byte() == -1
    assert r.read_buffer() is None
    assert r.read_buffer() == b"ab"
    assert r.read_ustring() == ""
    assert r.read_ustring(nullable=True) is None
    assert r.read_ustring() == "é"
    assert r.read_ustring_vector() == ("a", "")
    assert r.read_ustring_vector() == ()
    assert r.read_vector(lambda rd: rd.read_int(), 4) == (1, 2)
    assert r.remaining == 0
    assert r.offset == len(raw)
    r.expect_end()


def test_jute_empty_and_null_bytes() -> None:
    w = JuteWriter()
    w.write_ustring("")
    w.write_ustring(None)
    w.write_buffer(b"")
    w.write_bool(False)
    assert w.getvalue() == hx("00000000 FFFFFFFF 00000000 00")
    r = JuteReader(hx("FFFFFFFF 02"))
    assert r.read_ustring() == ""
    assert r.read_bool() is True


@pytest.mark.parametrize(
    ("raw", "read", "offset"),
    [
        (hx("0000"), JuteReader.read_int, 0),
        (hx("00000000 000000"), JuteReader.read_long, 0),
        (b"", JuteReader.read_bool, 0),
        (hx("FFFFFFFE"), JuteReader.read_buffer, 0),
        (hx("FFFFFFFE"), JuteReader.read_ustring, 0),
        (hx("00000005 61"), JuteReader.read_ustring, 0),
        (hx("00000005 61"), JuteReader.read_buffer, 0),
        (hx("7FFFFFFF"), JuteReader.read_buffer, 0),
        (hx("80000000"), JuteReader.read_ustring_vector, 0),
        (hx("00000003 00000000"), JuteReader.read_ustring_vector, 0),  # 3 strings need 12 bytes
        (hx("00000002 00000000 00000009"), JuteReader.read_ustring_vector, 8),
    ],
)
def test_jute_malformed_input(raw: bytes, read: Callable[[JuteReader], Any], offset: int) -> None:
    with pytest.raises(CodecError) as info:
        read(JuteReader(raw))
    assert info.value.offset == offset


def test_jute_max_buffer() -> None:
    raw = INT.pack(5) + b"hello"
    assert JuteReader(raw, max_buffer=5).read_buffer() == b"hello"
    for read in (JuteReader.read_buffer, JuteReader.read_ustring):
        with pytest.raises(CodecError):
            read(JuteReader(raw, max_buffer=4))
    with pytest.raises(CodecError):
        JuteReader(INT.pack(5) + bytes(5), max_buffer=4).read_vector(JuteReader.read_bool)
    # the default limit is jute.maxbuffer + extrasize, whatever data follows
    with pytest.raises(CodecError):
        JuteReader(INT.pack(2 * 1_048_575 + 1) + bytes(2 * 1_048_575 + 1)).read_buffer()
    assert (
        len(JuteReader(INT.pack(2 * 1_048_575) + bytes(2 * 1_048_575)).read_buffer() or b"")
        == 2 * 1_048_575
    )


def test_jute_reader_offsets() -> None:
    r = JuteReader(b"\x00" * 3 + INT.pack(7), 3)
    assert (r.offset, r.remaining) == (3, 4)
    assert r.read_int() == 7
    with pytest.raises(CodecError):
        JuteReader(b"", 1)
    with pytest.raises(CodecError):
        decode_request(4, b"", -1)


JUTE_READS: list[Callable[[JuteReader], Any]] = [
    JuteReader.read_int,
    JuteReader.read_long,
    JuteReader.read_bool,
    JuteReader.read_byte,
    JuteReader.read_buffer,
    JuteReader.read_ustring,
    functools.partial(JuteReader.read_ustring, nullable=True),
    JuteReader.read_ustring_vector,
    functools.partial(JuteReader.read_vector, read_item=JuteReader.read_buffer),
    functools.partial(JuteReader.read_raw, size=3),
]


@given(raw=st.binary(max_size=64), reads=st.lists(st.sampled_from(JUTE_READS), max_size=10))
def test_jute_fuzz_only_codec_errors(raw: bytes, reads: list[Callable[[JuteReader], Any]]) -> None:
    reader = JuteReader(raw, max_buffer=40)
    error: CodecError | None = None
    for read in reads:
        before = reader.offset
        try:
            read(reader)
        except CodecError as exc:
            error = exc
            break
        assert before <= reader.offset <= len(raw)
    if error is not None:
        assert error.offset is not None
        assert 0 <= error.offset <= len(raw)


# --- fuzzing the decoders --------------------------------------------------------------------

DECODERS: dict[str, Callable[[bytes], Any]] = {
    "connect_request": decode_connect_request,
    "connect_response": decode_connect_response,
    "request_header": decode_request_header,
    "reply_header": decode_reply_header,
    "notification": functools.partial(decode_notification, offset=0),
}
for _op in [*OPS, *UNKNOWN_OPS]:
    DECODERS[f"request_{_op}"] = functools.partial(decode_request, _op, offset=0)
    DECODERS[f"response_{_op}"] = functools.partial(decode_response, _op, offset=0)
for _cls in STRATEGIES:
    DECODERS[f"record_{_cls.__name__}"] = functools.partial(decode_record, _cls)


@pytest.mark.parametrize("name", sorted(DECODERS))
@given(raw=st.binary(max_size=200))
def test_random_bytes_only_codec_errors(name: str, raw: bytes) -> None:
    with contextlib.suppress(CodecError):
        DECODERS[name](raw)


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """``original`` with a few bytes overwritten, inserted, or cut off."""
    raw = bytearray(original)
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(raw)))
        how = draw(st.sampled_from(["set", "insert", "truncate"]))
        if how == "set" and at < len(raw):
            raw[at] = draw(st.sampled_from([0x00, 0x01, 0x7F, 0x80, 0xFF]) | st.integers(0, 255))
        elif how == "insert":
            raw[at:at] = draw(st.binary(min_size=1, max_size=4))
        else:
            del raw[at:]
    return bytes(raw)


@pytest.mark.parametrize("op", sorted(OPS))
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_requests_and_replies_only_codec_errors(op: int, data: st.DataObject) -> None:
    request = data.draw(request_strategy(op))
    raw = data.draw(mutated(encode_request(1, op, request)[4:]))
    with contextlib.suppress(CodecError):
        decode_request(op, raw)
    response = data.draw(response_strategy(op))
    raw = data.draw(mutated(encode_reply(1, 2, 0, response)[4:]))
    with contextlib.suppress(CodecError):
        decode_response(op, raw)


@given(data=st.data())
def test_mutated_connect_only_codec_errors(data: st.DataObject) -> None:
    for cls, encode, decode in [
        (rec.ConnectRequest, encode_connect_request, decode_connect_request),
        (rec.ConnectResponse, encode_connect_response, decode_connect_response),
    ]:
        raw = data.draw(mutated(encode(data.draw(STRATEGIES[cls]))[4:]))
        with contextlib.suppress(CodecError):
            decode(raw)


# --- framing ---------------------------------------------------------------------------------


def drain(chunks: list[bytes], max_frame: int) -> tuple[list[bytes], bool, int | None]:
    """Feed chunks one by one, collecting frames; stop at the first error."""
    decoder = FrameDecoder(max_frame)
    frames: list[bytes] = []
    try:
        for chunk in chunks:
            decoder.feed(chunk)
            while (frame := decoder.next_frame()) is not None:
                frames.append(frame)
    except FrameTooLarge:
        return frames, True, None
    return frames, False, decoder.buffered


def framed(payloads: list[bytes]) -> bytes:
    return b"".join(INT.pack(len(p)) + p for p in payloads)


STREAMS = st.binary(max_size=120) | st.builds(
    lambda payloads, tail: framed(payloads) + tail,
    st.lists(st.binary(max_size=40), max_size=8),
    st.binary(max_size=10),
)


@given(
    stream=STREAMS, cuts=st.lists(st.integers(0, 400), max_size=12), max_frame=st.integers(0, 48)
)
def test_frame_decoder_chunking_does_not_matter(
    stream: bytes, cuts: list[int], max_frame: int
) -> None:
    points = sorted({min(c, len(stream)) for c in cuts})
    chunks = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    assert drain(chunks, max_frame) == drain([stream], max_frame)


@given(
    payloads=st.lists(st.binary(max_size=30), max_size=10),
    partial=st.binary(max_size=20),
    cut=st.integers(0, 400),
)
def test_frame_decoder_returns_every_payload(
    payloads: list[bytes], partial: bytes, cut: int
) -> None:
    stream = framed(payloads) + INT.pack(30) + partial  # an unfinished 30-byte frame at the end
    cut = min(cut, len(stream))
    frames, failed, buffered = drain([stream[:cut], stream[cut:]], 30)
    assert (frames, failed, buffered) == (payloads, False, 4 + len(partial))


def test_frame_size_limit() -> None:
    decoder = FrameDecoder()
    decoder.feed(INT.pack(1_048_575))
    assert decoder.next_frame() is None
    decoder.feed(bytes(1_048_574))
    assert decoder.next_frame() is None
    assert decoder.buffered == 4 + 1_048_574
    decoder.feed(b"\x01" + INT.pack(0))
    assert decoder.next_frame() == bytes(1_048_574) + b"\x01"
    assert decoder.next_frame() == b""
    assert decoder.buffered == 0
    with pytest.raises(FrameTooLarge):
        FrameDecoder().feed(INT.pack(1_048_576))  # before any body byte arrives


def test_frame_too_large_is_raised_in_order_and_stays() -> None:
    decoder = FrameDecoder(max_frame=10)
    decoder.feed(INT.pack(3) + b"abc" + INT.pack(-1) + b"zz")
    assert decoder.next_frame() == b"abc"
    with pytest.raises(FrameTooLarge) as info:
        decoder.next_frame()
    assert isinstance(info.value, CodecError)
    assert info.value.offset == 7
    with pytest.raises(FrameTooLarge):
        decoder.next_frame()
    with pytest.raises(FrameTooLarge):
        decoder.feed(b"more")
    split = FrameDecoder(max_frame=10)
    split.feed(b"\x00\x00")
    with pytest.raises(FrameTooLarge):
        split.feed(b"\x00\x0b")


@pytest.mark.parametrize("leftover", [b"", b"\xff"])
def test_frame_error_offset_counts_the_whole_stream(leftover: bytes) -> None:
    decoder = FrameDecoder(max_frame=100_000)
    decoder.feed(framed([bytes(70_000)]) + leftover)
    assert decoder.next_frame() == bytes(70_000)
    with pytest.raises(FrameTooLarge) as info:
        decoder.feed(b"\xff" * (4 - len(leftover)))  # the buffer is compacted first
    assert info.value.offset == 70_004


def test_frame_decoder_many_small_frames_and_compaction() -> None:
    payloads = [bytes([i % 251]) * (i % 7) for i in range(30_000)]
    stream = framed(payloads)
    decoder = FrameDecoder()
    got: list[bytes] = []
    for start in range(0, len(stream), 70_001):  # chunks that cut frames and the 64 KiB mark
        decoder.feed(stream[start : start + 70_001])
        got.extend(decoder)  # iteration stops at the first incomplete frame
    assert got == payloads
    assert decoder.buffered == 0
