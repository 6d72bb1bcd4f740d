"""The client-port codec: jute records of :mod:`znode.records` to bytes and back.

Conventions:

* every ``encode_*`` function that produces something sent on a socket (connect request and
  response, requests, replies, notifications) returns a **complete frame**: the 4-byte length
  prefix followed by the payload;
* every ``decode_*`` function takes a frame **payload** (what :class:`znode.framing.FrameDecoder`
  yields) and an offset into it; bytes after the record are ignored, as Java's server and
  client ignore them;
* empty strings are written as length 0 and null strings (-1) read as ``""``; data buffers map
  ``None`` <-> -1 and ``b""`` <-> 0. The one exception is :class:`ReconfigRequest`, whose empty
  strings are written as null: ZooKeeper reads a null field as "not given" and an empty one
  as a value (the Java client and kazoo send null too);
* malformed input raises :class:`~znode.errors.CodecError` (with the byte offset), and so does a
  value that cannot be encoded (an int out of range, a record that does not match the op).

:func:`encode_record` / :func:`decode_record` handle any single record, including ``MultiOp``
and ``MultiResult`` (encoded as their ``MultiHeader`` plus body). The hot server paths (replies
to getData/exists/setData/create, decoding getData/setData/create) are a few ``struct`` calls.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeAlias, TypeVar

import attrs

from znode import records as rec
from znode.acl import ACL, Id
from znode.errors import CodecError
from znode.jute import (
    INT,
    LONG,
    Buffer,
    append_bool,
    append_buffer,
    append_ustring,
    append_ustring_vector,
    bool_at,
    buffer_at,
    encode_utf8,
    int_at,
    long_at,
    struct_at,
    ustring_at,
    ustring_vector_at,
    vector_count_at,
)
from znode.opcodes import MULTI_READ_OPS, MULTI_WRITE_OPS, OpCode
from znode.stat import Stat

#: Anything :func:`encode_record` accepts.
Record: TypeAlias = (
    rec.Request
    | rec.Response
    | rec.ConnectRequest
    | rec.ConnectResponse
    | rec.RequestHeader
    | rec.ReplyHeader
    | rec.MultiHeader
    | rec.MultiOp
    | rec.MultiResult
    | rec.WatcherEvent
    | rec.ClientInfo
    | Stat
    | ACL
    | Id
)
R = TypeVar("R")
_Decoder: TypeAlias = Callable[[Buffer, int], tuple[Any, int]]
_Writer: TypeAlias = Callable[[bytearray, Any], None]

_STAT_FMT = "qqqqiiiqiiq"
#: The 68-byte ``Stat`` record.
STAT = struct.Struct(">" + _STAT_FMT)
_REQ_HDR = struct.Struct(">ii")
_REPLY_HDR = struct.Struct(">iqi")
_MULTI_HDR = struct.Struct(">iBi")
_FRAME_REQ = struct.Struct(">iii")  # length, xid, type
_FRAME_REPLY = struct.Struct(">iiqi")  # length, xid, zxid, err
_FRAME_REPLY_LEN = struct.Struct(">iiqii")  # ... + a buffer/string length
_FRAME_REPLY_STAT = struct.Struct(">iiqi" + _STAT_FMT)
_FRAME_REPLY_NULL_STAT = struct.Struct(">iiqii" + _STAT_FMT)
_FRAME_EVENT = struct.Struct(">iiqiiii")  # length, xid, zxid, err, type, state, path length
_MULTI_DONE = _MULTI_HDR.pack(-1, 1, -1)
_ERROR = int(OpCode.ERROR)

_stat_unpack_from = STAT.unpack_from
_stat_pack = STAT.pack
_int_pack = INT.pack
_new_tuple = tuple.__new__


# --- field readers and writers beyond the jute primitives -----------------------------------


def _stat_at(data: Buffer, pos: int) -> tuple[Stat, int]:
    try:
        return _new_tuple(Stat, _stat_unpack_from(data, pos)), pos + 68
    except struct.error:
        left = max(len(data) - pos, 0)
        raise CodecError(f"truncated Stat: {left} of 68 bytes", offset=pos) from None


def _append_stat(buf: bytearray, stat: Stat) -> None:
    buf += _stat_pack(*stat)


def _acl_at(data: Buffer, pos: int) -> tuple[ACL, int]:
    perms, pos = int_at(data, pos)
    scheme, pos = ustring_at(data, pos)
    ident, pos = ustring_at(data, pos)
    return _new_tuple(ACL, (perms, _new_tuple(Id, (scheme, ident)))), pos


def _acls_at(data: Buffer, pos: int) -> tuple[tuple[ACL, ...], int]:
    count, pos = vector_count_at(data, pos, 12)
    if count == 1 and data[pos : pos + _OPEN_ACL_SIZE] == _OPEN_ACL_BYTES:  # the usual one
        return _OPEN_ACL, pos + _OPEN_ACL_SIZE
    acl = []
    for _ in range(count):
        entry, pos = _acl_at(data, pos)
        acl.append(entry)
    return tuple(acl), pos


def _append_acl(buf: bytearray, acl: ACL) -> None:
    buf += _int_pack(acl.perms)
    append_ustring(buf, acl.id.scheme)
    append_ustring(buf, acl.id.id)


def _vector_codec(read: _Decoder, write: _Writer, min_size: int) -> tuple[_Decoder, _Writer]:
    """Decoder and writer of a vector of records (a null vector reads as ``()``)."""

    def decode(data: Buffer, pos: int) -> tuple[tuple[Any, ...], int]:
        count, pos = vector_count_at(data, pos, min_size)
        items = []
        for _ in range(count):
            item, pos = read(data, pos)
            items.append(item)
        return tuple(items), pos

    def append(buf: bytearray, items: tuple[Any, ...]) -> None:
        buf += _int_pack(len(items))
        for item in items:
            write(buf, item)

    return decode, append


def _password_at(data: Buffer, pos: int) -> tuple[bytes, int]:
    value, pos = buffer_at(data, pos)
    return (b"" if value is None else value), pos


def _optional_bool_at(data: Buffer, pos: int) -> tuple[bool | None, int]:
    return bool_at(data, pos) if pos < len(data) else (None, pos)


def _append_optional_bool(buf: bytearray, value: bool | None) -> None:
    if value is not None:
        append_bool(buf, value)


def _append_int(buf: bytearray, value: int) -> None:
    buf += _int_pack(value)


def _append_long(buf: bytearray, value: int) -> None:
    buf += LONG.pack(value)


def _append_string_or_null(buf: bytearray, value: str) -> None:
    append_ustring(buf, value or None)


_append_acls = _vector_codec(_acl_at, _append_acl, 12)[1]
_OPEN_ACL = (ACL(31, Id("world", "anyone")),)
_OPEN_ACL_BYTES = _int_pack(31) + _int_pack(5) + b"world" + _int_pack(6) + b"anyone"
_OPEN_ACL_SIZE = len(_OPEN_ACL_BYTES)

# Field kinds: s ustring, S ustring written as null when empty, i int, l long, z boolean,
# o optional trailing boolean, b buffer, B buffer read as b"" when null, a vector<ACL>,
# v vector<ustring>, t Stat, c vector<ClientInfo>.
_KINDS: dict[str, tuple[_Decoder, _Writer]] = {
    "s": (ustring_at, append_ustring),
    "S": (ustring_at, _append_string_or_null),
    "i": (int_at, _append_int),
    "l": (long_at, _append_long),
    "z": (bool_at, append_bool),
    "o": (_optional_bool_at, _append_optional_bool),
    "b": (buffer_at, append_buffer),
    "B": (_password_at, append_buffer),
    "a": (_acls_at, _append_acls),
    "v": (ustring_vector_at, append_ustring_vector),
    "t": (_stat_at, _append_stat),
}


def _schema_codec(cls: type[Any], kinds: str) -> tuple[_Decoder, _Writer]:
    """A decoder and writer for a record (attrs or NamedTuple) whose fields have these kinds."""
    names = getattr(cls, "_fields", None) or [field.name for field in attrs.fields(cls)]
    if len(names) != len(kinds):  # pragma: no cover - guards the table below
        raise TypeError(f"{cls.__name__}: {len(names)} fields, schema {kinds!r}")
    readers = tuple(_KINDS[k][0] for k in kinds)
    fields = tuple(zip(names, (_KINDS[k][1] for k in kinds), strict=True))

    def decode(data: Buffer, pos: int) -> tuple[Any, int]:
        values = []
        for read in readers:
            value, pos = read(data, pos)
            values.append(value)
        return cls(*values), pos

    def write(buf: bytearray, record: Any) -> None:
        for name, append in fields:
            append(buf, getattr(record, name))

    return decode, write


_KINDS["c"] = _vector_codec(*_schema_codec(rec.ClientInfo, "ss"), 8)
_SCHEMAS: dict[type[Any], str] = {
    rec.ConnectRequest: "ililBo",
    rec.ConnectResponse: "iilBo",
    rec.RequestHeader: "ii",
    rec.ReplyHeader: "ili",
    rec.MultiHeader: "izi",
    rec.CreateRequest: "sbai",
    rec.CreateTTLRequest: "sbail",
    rec.DeleteRequest: "si",
    rec.ExistsRequest: "sz",
    rec.GetDataRequest: "sz",
    rec.SetDataRequest: "sbi",
    rec.GetACLRequest: "s",
    rec.SetACLRequest: "sai",
    rec.GetChildrenRequest: "sz",
    rec.GetChildren2Request: "sz",
    rec.CheckVersionRequest: "si",
    rec.SyncRequest: "s",
    rec.ReconfigRequest: "SSSl",
    rec.AuthPacket: "isb",
    rec.GetSASLRequest: "b",
    rec.SetWatches: "lvvv",
    rec.SetWatches2: "lvvvvv",
    rec.AddWatchRequest: "si",
    rec.CheckWatchesRequest: "si",
    rec.RemoveWatchesRequest: "si",
    rec.GetEphemeralsRequest: "s",
    rec.GetAllChildrenNumberRequest: "s",
    rec.CreateResponse: "s",
    rec.Create2Response: "st",
    rec.ExistsResponse: "t",
    rec.GetDataResponse: "bt",
    rec.SetDataResponse: "t",
    rec.GetACLResponse: "at",
    rec.SetACLResponse: "t",
    rec.GetChildrenResponse: "v",
    rec.GetChildren2Response: "vt",
    rec.SyncResponse: "s",
    rec.SetSASLResponse: "b",
    rec.GetEphemeralsResponse: "v",
    rec.GetAllChildrenNumberResponse: "i",
    rec.ClientInfo: "ss",
    Id: "ss",
    rec.WhoAmIResponse: "c",
    rec.WatcherEvent: "iis",
    rec.ErrorResponse: "i",
}
_DECODERS: dict[type[Any], _Decoder] = {Stat: _stat_at, ACL: _acl_at}
_WRITERS: dict[type[Any], _Writer] = {Stat: _append_stat, ACL: _append_acl}
for _cls, _kinds in _SCHEMAS.items():
    _DECODERS[_cls], _WRITERS[_cls] = _schema_codec(_cls, _kinds)


# --- hand-written hot paths ------------------------------------------------------------------


def _path_watch_decoder(cls: type[Any]) -> _Decoder:
    def decode(data: Buffer, pos: int) -> tuple[Any, int]:
        path, pos = ustring_at(data, pos)
        if pos < len(data):
            return cls(path, data[pos] != 0), pos + 1
        raise CodecError("truncated boolean: need 1 byte, 0 left", offset=pos)

    return decode


def _set_data_at(data: Buffer, pos: int) -> tuple[rec.SetDataRequest, int]:
    path, pos = ustring_at(data, pos)
    value, pos = buffer_at(data, pos)
    version, pos = int_at(data, pos)
    return rec.SetDataRequest(path, value, version), pos


def _create_at(data: Buffer, pos: int) -> tuple[rec.CreateRequest, int]:
    path, pos = ustring_at(data, pos)
    value, pos = buffer_at(data, pos)
    acl, pos = _acls_at(data, pos)
    flags, pos = int_at(data, pos)
    return rec.CreateRequest(path, value, acl, flags), pos


def _get_data_response_at(data: Buffer, pos: int) -> tuple[rec.GetDataResponse, int]:
    value, pos = buffer_at(data, pos)
    stat, pos = _stat_at(data, pos)
    return rec.GetDataResponse(value, stat), pos


for _cls in (
    rec.ExistsRequest,
    rec.GetDataRequest,
    rec.GetChildrenRequest,
    rec.GetChildren2Request,
):
    _DECODERS[_cls] = _path_watch_decoder(_cls)
_DECODERS[rec.SetDataRequest] = _set_data_at
_DECODERS[rec.CreateRequest] = _create_at
_DECODERS[rec.GetDataResponse] = _get_data_response_at


def _reply_get_data(xid: int, zxid: int, err: int, r: rec.GetDataResponse) -> bytes:
    data = r.data
    if data is None:
        return _FRAME_REPLY_NULL_STAT.pack(88, xid, zxid, err, -1, *r.stat)
    head = _FRAME_REPLY_LEN.pack(88 + len(data), xid, zxid, err, len(data))
    return b"".join((head, data, _stat_pack(*r.stat)))


def _reply_stat(xid: int, zxid: int, err: int, r: rec.ExistsResponse) -> bytes:
    return _FRAME_REPLY_STAT.pack(84, xid, zxid, err, *r.stat)


def _reply_path(xid: int, zxid: int, err: int, r: rec.CreateResponse) -> bytes:
    raw = encode_utf8(r.path)
    return _FRAME_REPLY_LEN.pack(20 + len(raw), xid, zxid, err, len(raw)) + raw


def _reply_path_stat(xid: int, zxid: int, err: int, r: rec.Create2Response) -> bytes:
    raw = encode_utf8(r.path)
    head = _FRAME_REPLY_LEN.pack(88 + len(raw), xid, zxid, err, len(raw))
    return b"".join((head, raw, _stat_pack(*r.stat)))


_FAST_REPLIES: dict[type[Any], Callable[[int, int, int, Any], bytes]] = {
    rec.GetDataResponse: _reply_get_data,
    rec.ExistsResponse: _reply_stat,
    rec.SetDataResponse: _reply_stat,
    rec.SetACLResponse: _reply_stat,
    rec.CreateResponse: _reply_path,
    rec.SyncResponse: _reply_path,
    rec.Create2Response: _reply_path_stat,
}


# --- multi (wire sheet 13.1 / 13.2) ----------------------------------------------------------

#: Request record of each op allowed inside multi (14) or multiRead (22).
_MULTI_OP_RECORDS: dict[int, type[Any]] = {
    OpCode.CREATE: rec.CreateRequest,
    OpCode.CREATE2: rec.CreateRequest,
    OpCode.CREATE_CONTAINER: rec.CreateRequest,
    OpCode.CREATE_TTL: rec.CreateTTLRequest,
    OpCode.DELETE: rec.DeleteRequest,
    OpCode.SET_DATA: rec.SetDataRequest,
    OpCode.CHECK: rec.CheckVersionRequest,
    OpCode.GET_DATA: rec.GetDataRequest,
    OpCode.GET_CHILDREN: rec.GetChildrenRequest,
}
#: Body record of each multi result type (``None``: no body); -1 (error) is handled apart.
_MULTI_RESULT_RECORDS: dict[int, type[Any] | None] = {
    OpCode.CREATE: rec.CreateResponse,
    OpCode.CREATE2: rec.Create2Response,
    OpCode.DELETE: None,
    OpCode.SET_DATA: rec.SetDataResponse,
    OpCode.CHECK: None,
    OpCode.GET_CHILDREN: rec.GetChildrenResponse,
    OpCode.GET_DATA: rec.GetDataResponse,
}


def _multi_kind(op_type: int, pos: int | None = None) -> frozenset[int]:
    """The op set (write or read) that ``op_type`` belongs to."""
    for kind in (MULTI_WRITE_OPS, MULTI_READ_OPS):
        if op_type in kind:
            return kind
    raise CodecError(f"op {op_type} is not allowed in a multi", offset=pos)


def _multi_op_at(data: Buffer, pos: int, kind: frozenset[int] | None) -> tuple[Any, int]:
    """One ``MultiOp`` (``None`` at the terminator); ``kind=None`` accepts either kind."""
    (op_type, done, _), body = struct_at(data, pos, _MULTI_HDR)
    if done:
        return None, body
    if op_type not in (kind or _multi_kind(op_type, pos)):
        raise CodecError(f"op {op_type} is not allowed in this kind of multi", offset=pos)
    request, body = _DECODERS[_MULTI_OP_RECORDS[op_type]](data, body)
    return rec.MultiOp(op_type, request), body


def _multi_request_at(
    data: Buffer, pos: int, kind: frozenset[int] | None = None
) -> tuple[rec.MultiRequest, int]:
    """Sub-ops until the terminator; without ``kind`` the first op fixes it (no mixing)."""
    ops: list[rec.MultiOp] = []
    while True:
        op, pos = _multi_op_at(data, pos, kind)
        if op is None:
            return rec.MultiRequest(tuple(ops)), pos
        kind = kind or _multi_kind(op.type)
        ops.append(op)


def _append_multi_op(buf: bytearray, op: rec.MultiOp, kind: frozenset[int] | None = None) -> None:
    if op.type not in (kind or _multi_kind(op.type)):
        raise CodecError(f"op {op.type} is not allowed in this kind of multi")
    expected = _MULTI_OP_RECORDS[op.type]
    if type(op.request) is not expected:
        raise CodecError(f"multi op {op.type} needs {expected.__name__}")
    buf += _MULTI_HDR.pack(op.type, 0, -1)
    _WRITERS[expected](buf, op.request)


def _append_multi_request(
    buf: bytearray, r: rec.MultiRequest, kind: frozenset[int] | None = None
) -> None:
    for op in r.ops:
        kind = kind or _multi_kind(op.type)
        _append_multi_op(buf, op, kind)
    buf += _MULTI_DONE


def _multi_result_at(data: Buffer, pos: int) -> tuple[Any, int]:
    """One ``MultiResult`` (``None`` at the terminator)."""
    (result_type, done, err), body = struct_at(data, pos, _MULTI_HDR)
    if done:
        return None, body
    if result_type == _ERROR:
        err, body = int_at(data, body)
        return rec.MultiResult(result_type, err, None), body
    if result_type not in _MULTI_RESULT_RECORDS:
        raise CodecError(f"invalid multi result type {result_type}", offset=pos)
    cls = _MULTI_RESULT_RECORDS[result_type]
    record = None
    if cls is not None:
        record, body = _DECODERS[cls](data, body)
    return rec.MultiResult(result_type, err, record), body


def _multi_response_at(data: Buffer, pos: int) -> tuple[rec.MultiResponse, int]:
    results: list[rec.MultiResult] = []
    while True:
        result, pos = _multi_result_at(data, pos)
        if result is None:
            return rec.MultiResponse(tuple(results)), pos
        results.append(result)


def _append_multi_result(buf: bytearray, r: rec.MultiResult) -> None:
    if r.type == _ERROR:  # the body on the wire is ErrorResponse(err)
        buf += _MULTI_HDR.pack(_ERROR, 0, r.err)
        buf += _int_pack(r.err)
        return
    if r.type not in _MULTI_RESULT_RECORDS:
        raise CodecError(f"invalid multi result type {r.type}")
    cls = _MULTI_RESULT_RECORDS[r.type]
    if type(r.body) is not (type(None) if cls is None else cls):
        raise CodecError(f"multi result type {r.type} needs {cls and cls.__name__} as body")
    buf += _MULTI_HDR.pack(r.type, 0, r.err)
    if cls is not None:
        _WRITERS[cls](buf, r.body)


def _append_multi_response(buf: bytearray, r: rec.MultiResponse) -> None:
    for result in r.results:
        _append_multi_result(buf, result)
    buf += _MULTI_DONE


def _not_done(read: Callable[[Buffer, int], tuple[Any, int]]) -> _Decoder:
    def decode(data: Buffer, pos: int) -> tuple[Any, int]:
        item, end = read(data, pos)
        if item is None:
            raise CodecError("multi terminator where an entry was expected", offset=pos)
        return item, end

    return decode


_DECODERS[rec.MultiRequest], _WRITERS[rec.MultiRequest] = _multi_request_at, _append_multi_request
_DECODERS[rec.MultiResponse] = _multi_response_at
_WRITERS[rec.MultiResponse] = _append_multi_response
_DECODERS[rec.MultiOp] = _not_done(functools.partial(_multi_op_at, kind=None))
_WRITERS[rec.MultiOp] = _append_multi_op
_DECODERS[rec.MultiResult] = _not_done(_multi_result_at)
_WRITERS[rec.MultiResult] = _append_multi_result


# --- op tables -------------------------------------------------------------------------------

_OPS: dict[int, tuple[type[Any] | None, type[Any] | None]] = {
    OpCode.CREATE: (rec.CreateRequest, rec.CreateResponse),
    OpCode.DELETE: (rec.DeleteRequest, None),
    OpCode.EXISTS: (rec.ExistsRequest, rec.ExistsResponse),
    OpCode.GET_DATA: (rec.GetDataRequest, rec.GetDataResponse),
    OpCode.SET_DATA: (rec.SetDataRequest, rec.SetDataResponse),
    OpCode.GET_ACL: (rec.GetACLRequest, rec.GetACLResponse),
    OpCode.SET_ACL: (rec.SetACLRequest, rec.SetACLResponse),
    OpCode.GET_CHILDREN: (rec.GetChildrenRequest, rec.GetChildrenResponse),
    OpCode.SYNC: (rec.SyncRequest, rec.SyncResponse),
    OpCode.PING: (None, None),
    OpCode.GET_CHILDREN2: (rec.GetChildren2Request, rec.GetChildren2Response),
    OpCode.CHECK: (rec.CheckVersionRequest, None),
    OpCode.MULTI: (rec.MultiRequest, rec.MultiResponse),
    OpCode.CREATE2: (rec.CreateRequest, rec.Create2Response),
    OpCode.RECONFIG: (rec.ReconfigRequest, rec.GetDataResponse),
    OpCode.CHECK_WATCHES: (rec.CheckWatchesRequest, None),
    OpCode.REMOVE_WATCHES: (rec.RemoveWatchesRequest, None),
    OpCode.CREATE_CONTAINER: (rec.CreateRequest, rec.Create2Response),
    OpCode.CREATE_TTL: (rec.CreateTTLRequest, rec.Create2Response),
    OpCode.MULTI_READ: (rec.MultiRequest, rec.MultiResponse),
    OpCode.AUTH: (rec.AuthPacket, None),
    OpCode.SET_WATCHES: (rec.SetWatches, None),
    OpCode.SASL: (rec.GetSASLRequest, rec.SetSASLResponse),
    OpCode.GET_EPHEMERALS: (rec.GetEphemeralsRequest, rec.GetEphemeralsResponse),
    OpCode.GET_ALL_CHILDREN_NUMBER: (
        rec.GetAllChildrenNumberRequest,
        rec.GetAllChildrenNumberResponse,
    ),
    OpCode.SET_WATCHES2: (rec.SetWatches2, None),
    OpCode.ADD_WATCH: (rec.AddWatchRequest, rec.ErrorResponse),
    OpCode.WHO_AM_I: (None, rec.WhoAmIResponse),
    OpCode.CLOSE_SESSION: (None, None),
}
#: Request record of every op a client may send (``None``: the op has no body).
REQUEST_RECORDS: Mapping[int, type[Any] | None] = MappingProxyType(
    {op: req for op, (req, _) in _OPS.items()}
)
#: Success-reply body record of every op in :data:`REQUEST_RECORDS` (``None``: no body).
RESPONSE_RECORDS: Mapping[int, type[Any] | None] = MappingProxyType(
    {op: resp for op, (_, resp) in _OPS.items()}
)
_RESPONSE_CLASSES = frozenset(cls for cls in RESPONSE_RECORDS.values() if cls is not None)
_MULTI_KINDS: dict[int, frozenset[int]] = {
    OpCode.MULTI: MULTI_WRITE_OPS,
    OpCode.MULTI_READ: MULTI_READ_OPS,
}
_REQUEST_DECODERS: dict[int, _Decoder | None] = {
    op: None if cls is None else _DECODERS[cls] for op, cls in REQUEST_RECORDS.items()
}
for _op, _kind in _MULTI_KINDS.items():
    _REQUEST_DECODERS[_op] = functools.partial(_multi_request_at, kind=_kind)
_RESPONSE_DECODERS: dict[int, _Decoder | None] = {
    op: None if cls is None else _DECODERS[cls] for op, cls in RESPONSE_RECORDS.items()
}


# --- public API ------------------------------------------------------------------------------


def _encode_into(buf: bytearray, record: Any) -> bytearray:
    write = _WRITERS.get(type(record))
    if write is None:
        raise CodecError(f"not a jute record: {type(record).__name__}")
    try:
        write(buf, record)
    except struct.error as exc:
        raise CodecError(f"cannot encode {type(record).__name__}: {exc}") from None
    return buf


def encode_record(record: Record) -> bytes:
    """Encode one record alone (no frame, no header)."""
    return bytes(_encode_into(bytearray(), record))


def decode_record(cls: type[R], payload: Buffer, offset: int = 0) -> tuple[R, int]:
    """Decode one ``cls`` record at ``offset``; return it and the offset just after it."""
    decode = _DECODERS.get(cls)
    if decode is None:
        raise CodecError(f"not a jute record: {cls.__name__}")
    if offset < 0:
        raise CodecError("negative offset", offset=offset)
    return decode(payload, offset)


def _frame(record: rec.ConnectRequest | rec.ConnectResponse) -> bytes:
    buf = _encode_into(bytearray(4), record)
    INT.pack_into(buf, 0, len(buf) - 4)
    return bytes(buf)


def encode_connect_request(req: rec.ConnectRequest) -> bytes:
    """Frame a ConnectRequest (45 payload bytes with a 16-byte password and ``read_only``)."""
    return _frame(req)


def decode_connect_request(payload: Buffer, offset: int = 0) -> rec.ConnectRequest:
    """Decode a ConnectRequest payload; ``read_only`` is ``None`` when the byte is absent."""
    return decode_record(rec.ConnectRequest, payload, offset)[0]


def encode_connect_response(resp: rec.ConnectResponse) -> bytes:
    """Frame a ConnectResponse (the ``read_only`` byte only when it is not ``None``)."""
    return _frame(resp)


def decode_connect_response(payload: Buffer, offset: int = 0) -> rec.ConnectResponse:
    """Decode a ConnectResponse payload; ``read_only`` is ``None`` when the byte is absent."""
    return decode_record(rec.ConnectResponse, payload, offset)[0]


def encode_request(xid: int, op: int, request: rec.Request | None) -> bytes:
    """Frame a request: length, ``RequestHeader(xid, op)`` and the op's record.

    Raises:
        CodecError: unknown op, a record that does not belong to ``op`` (or a body for an op
            without one), a multi sub-op not allowed in that kind of multi, or a value out
            of range.
    """
    if op not in REQUEST_RECORDS:
        raise CodecError(f"unknown op {op}")
    expected = REQUEST_RECORDS[op]
    if type(request) is not (type(None) if expected is None else expected):
        want = "no body" if expected is None else expected.__name__
        raise CodecError(f"op {op} takes {want}, not {type(request).__name__}")
    try:
        if request is None:
            return _FRAME_REQ.pack(8, xid, op)
        buf = bytearray(12)
        if expected is rec.MultiRequest:
            _append_multi_request(buf, request, _MULTI_KINDS[op])
        else:
            _WRITERS[type(request)](buf, request)
        _FRAME_REQ.pack_into(buf, 0, len(buf) - 4, xid, op)
    except struct.error as exc:
        raise CodecError(f"cannot encode op {op}: {exc}") from None
    return bytes(buf)


def decode_request_header(payload: Buffer) -> rec.RequestHeader:
    """Decode the ``RequestHeader`` at the start of a request payload."""
    (xid, op), _ = struct_at(payload, 0, _REQ_HDR)
    return rec.RequestHeader(xid, op)


def decode_request(op: int, payload: Buffer, offset: int = 8) -> rec.Request | None:
    """Decode the body of a request of type ``op`` (``None`` for ping, closeSession, whoAmI).

    Raises:
        CodecError: unknown op, or a body that does not parse (including a multi sub-op not
            allowed in that kind of multi).
    """
    try:
        decode = _REQUEST_DECODERS[op]
    except KeyError:
        raise CodecError(f"unknown op {op}") from None
    if decode is None:
        return None
    if offset < 0:
        raise CodecError("negative offset", offset=offset)
    return decode(payload, offset)[0]  # type: ignore[no-any-return]


def encode_reply(xid: int, zxid: int, err: int, response: rec.Response | None) -> bytes:
    """Frame a reply: length, ``ReplyHeader(xid, zxid, err)`` and, when ``err == 0``, the body."""
    try:
        if err or response is None:
            return _FRAME_REPLY.pack(16, xid, zxid, err)
        fast = _FAST_REPLIES.get(type(response))
        if fast is not None:
            return fast(xid, zxid, err, response)
        if type(response) not in _RESPONSE_CLASSES:
            raise CodecError(f"not a response record: {type(response).__name__}")
        buf = bytearray(20)
        _WRITERS[type(response)](buf, response)
        _FRAME_REPLY.pack_into(buf, 0, len(buf) - 4, xid, zxid, err)
    except struct.error as exc:
        raise CodecError(f"cannot encode reply: {exc}") from None
    return bytes(buf)


def decode_reply_header(payload: Buffer) -> rec.ReplyHeader:
    """Decode the ``ReplyHeader`` at the start of a reply payload."""
    (xid, zxid, err), _ = struct_at(payload, 0, _REPLY_HDR)
    return rec.ReplyHeader(xid, zxid, err)


def decode_response(op: int, payload: Buffer, offset: int = 16) -> rec.Response | None:
    """Decode the success body of a reply to a request of type ``op``.

    Call it only when the reply header's ``err`` is 0 (error replies have no body). Returns
    ``None`` for ops whose success reply has no body.
    """
    try:
        decode = _RESPONSE_DECODERS[op]
    except KeyError:
        raise CodecError(f"unknown op {op}") from None
    if decode is None:
        return None
    if offset < 0:
        raise CodecError("negative offset", offset=offset)
    return decode(payload, offset)[0]  # type: ignore[no-any-return]


def encode_notification(event: rec.WatcherEvent, zxid: int = -1) -> bytes:
    """Frame a watch notification: ``ReplyHeader(-1, zxid, 0)`` + ``WatcherEvent``."""
    raw = encode_utf8(event.path)
    try:
        head = _FRAME_EVENT.pack(28 + len(raw), -1, zxid, 0, event.type, event.state, len(raw))
    except struct.error as exc:
        raise CodecError(f"cannot encode notification: {exc}") from None
    return head + raw


def decode_notification(payload: Buffer, offset: int = 16) -> rec.WatcherEvent:
    """Decode the ``WatcherEvent`` body of a notification (a reply with xid -1)."""
    return decode_record(rec.WatcherEvent, payload, offset)[0]
