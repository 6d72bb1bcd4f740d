"""The msgpack form of a txn: one packet per ``(TxnHeader, Txn)``, for log records and peers.

A txn packet is one msgpack array, positional and compact::

    [tag, session_id, cxid, zxid, time, type, *fields]

``tag`` names the txn class (see :data:`TXN_TAGS`); the next five items are the
:class:`~znode.txn.TxnHeader`; ``fields`` are the txn's attributes in declaration order:

========================  ===  =====================================================
class                     tag  fields
========================  ===  =====================================================
``CreateTxn``             1    path, data, acl, ephemeral_owner, parent_cversion
``DeleteTxn``             2    path
``SetDataTxn``            3    path, data, version
``SetACLTxn``             4    path, acl, version
``CheckVersionTxn``       5    path, version
``ErrorTxn``              6    err
``CreateSessionTxn``      7    timeout, passwd
``CloseSessionTxn``       8    (none)
``MultiTxn``              9    entries: ``[[op, tag, *fields], ...]`` (may nest)
========================  ===  =====================================================

``data`` is msgpack ``bin`` or ``nil`` (``b""`` and ``None`` stay distinct); ``acl`` is
``[[perms, [scheme, id]], ...]``, the natural msgpack form of a tuple of
:class:`~znode.acl.ACL`. Integers must fit their Java type: ``session_id``, ``zxid``,
``time`` and ``ephemeral_owner`` are 64-bit, every other integer is 32-bit. Strings are
UTF-8; a string holding lone surrogates (never a valid path) is written with
``surrogatepass`` so every value round-trips.

Errors: :func:`decode_txn` turns every malformed body (msgpack garbage, trailing bytes,
unknown tag, wrong arity, wrong field type, integer out of range) into
:class:`~znode.errors.CorruptRecord`, the error of anything read back from storage or a
peer. The caller passes ``source`` and ``offset`` (a log reader gives its file name and
the record's offset), so the error names the place without wrapping. No msgpack,
``TypeError`` or ``IndexError`` escapes. :func:`encode_txn` is given values built by this
process; a value that cannot be encoded is a bug and raises ``TypeError`` or ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgpack

from znode.acl import ACL, Id
from znode.errors import CorruptRecord
from znode.txn import (
    CheckVersionTxn,
    CloseSessionTxn,
    CreateSessionTxn,
    CreateTxn,
    DeleteTxn,
    ErrorTxn,
    MultiTxn,
    SetACLTxn,
    SetDataTxn,
    Txn,
    TxnHeader,
)

__all__ = ["TXN_TAGS", "acl_from_wire", "decode_txn", "encode_txn"]

#: txn class -> packet tag
TXN_TAGS: dict[type[Any], int] = {
    CreateTxn: 1,
    DeleteTxn: 2,
    SetDataTxn: 3,
    SetACLTxn: 4,
    CheckVersionTxn: 5,
    ErrorTxn: 6,
    CreateSessionTxn: 7,
    CloseSessionTxn: 8,
    MultiTxn: 9,
}

_I32_MIN, _I32_MAX = -(2**31), 2**31 - 1
_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1

_Packer = msgpack.Packer
_unpackb = msgpack.unpackb
_CLOSE_SESSION = CloseSessionTxn()


class _Malformed(ValueError):
    """A structural problem found while decoding; becomes :class:`CorruptRecord`."""


# --- encoding ------------------------------------------------------------------------------


def _fields(txn: Txn) -> tuple[Any, ...]:
    """``(tag, *fields)`` of one txn; ACL tuples pack as they are (tuples are arrays)."""
    if type(txn) is CreateTxn:
        return (1, txn.path, txn.data, txn.acl, txn.ephemeral_owner, txn.parent_cversion)
    if type(txn) is SetDataTxn:
        return (3, txn.path, txn.data, txn.version)
    if type(txn) is DeleteTxn:
        return (2, txn.path)
    if type(txn) is ErrorTxn:
        return (6, txn.err)
    if type(txn) is SetACLTxn:
        return (4, txn.path, txn.acl, txn.version)
    if type(txn) is CheckVersionTxn:
        return (5, txn.path, txn.version)
    if type(txn) is CreateSessionTxn:
        return (7, txn.timeout, txn.passwd)
    if type(txn) is CloseSessionTxn:
        return (8,)
    if type(txn) is MultiTxn:
        return (9, [(op, *_fields(sub)) for op, sub in txn.txns])
    raise TypeError(f"not a txn: {txn!r}")


def encode_txn(header: TxnHeader, txn: Txn) -> bytes:
    """The packet ``[tag, session_id, cxid, zxid, time, type, *fields]`` as bytes.

    Raises:
        TypeError: ``txn`` is not a txn, or a field has a type msgpack cannot hold.
        ValueError: an integer does not fit in 64 bits. Narrower ranges (32-bit fields,
            signed 64-bit) are not checked here; :func:`decode_txn` rejects them.
    """
    tag, *fields = _fields(txn)
    packet = (tag, header.session_id, header.cxid, header.zxid, header.time, header.type, *fields)
    try:
        # A fresh small Packer: packb's default 256 KiB buffer costs more than the packing.
        return _Packer(use_bin_type=True, buf_size=512).pack(packet)  # type: ignore[no-any-return]
    except UnicodeEncodeError:
        packer = _Packer(use_bin_type=True, unicode_errors="surrogatepass")
        return packer.pack(packet)  # type: ignore[no-any-return]
    except OverflowError as exc:
        raise ValueError(f"txn field out of range: {exc}") from None


# --- decoding ------------------------------------------------------------------------------

# Decoded ACL lists, keyed by their raw msgpack form: nearly every txn carries one of a few
# ACLs, and building ACL/Id named tuples dominates decoding otherwise. Bounded; a pure
# memo (equal input, equal output), so sharing it is harmless.
_ACL_CACHE: dict[tuple[Any, ...], tuple[ACL, ...]] = {}
_ACL_CACHE_MAX = 1024


def acl_from_wire(raw: object) -> tuple[ACL, ...]:
    """An ACL list from its decoded msgpack form ``((perms, (scheme, id)), ...)``.

    Arrays must have been decoded as tuples (``use_list=False``). Shared with
    :mod:`znode.snapshot`.

    Raises:
        ValueError: ``raw`` is not a well-formed ACL list.
    """
    if type(raw) is not tuple:
        raise _Malformed("ACL is not an array")
    try:
        cached = _ACL_CACHE.get(raw)
    except TypeError:  # an unhashable element, such as a map
        raise _Malformed("ACL holds a map") from None
    if cached is not None:
        # Equal-but-differently-typed keys (1.0 == 1 == True) must not hit the cache.
        for entry in raw:
            if type(entry[0]) is not int:
                break
        else:
            return cached
    entries = []
    for entry in raw:
        if type(entry) is not tuple or len(entry) != 2:
            raise _Malformed("ACL entry is not [perms, [scheme, id]]")
        perms, ident = entry
        if type(ident) is not tuple or len(ident) != 2:
            raise _Malformed("ACL id is not [scheme, id]")
        scheme, id_ = ident
        if type(scheme) is not str or type(id_) is not str:
            raise _Malformed("ACL scheme or id is not a string")
        if type(perms) is not int or not _I32_MIN <= perms <= _I32_MAX:
            raise _Malformed("ACL perms is not a 32-bit integer")
        entries.append(ACL(perms, Id(scheme, id_)))
    acl = tuple(entries)
    if len(_ACL_CACHE) >= _ACL_CACHE_MAX:
        _ACL_CACHE.clear()
    _ACL_CACHE[raw] = acl
    return acl


def _i32(value: object) -> int:
    if type(value) is not int or not _I32_MIN <= value <= _I32_MAX:
        raise _Malformed(f"expected a 32-bit integer, got {value!r:.40}")
    return value


def _i64(value: object) -> int:
    if type(value) is not int or not _I64_MIN <= value <= _I64_MAX:
        raise _Malformed(f"expected a 64-bit integer, got {value!r:.40}")
    return value


def _path(value: object) -> str:
    if type(value) is not str:
        raise _Malformed(f"expected a path string, got {value!r:.40}")
    return value


def _data(value: object) -> bytes | None:
    if value is not None and type(value) is not bytes:
        raise _Malformed(f"expected bytes or nil, got {value!r:.40}")
    return value


# Each decoder gets the packet and the index of its first field; a wrong arity surfaces as
# the ValueError of tuple unpacking.
_Decoder = Callable[[tuple[Any, ...], int], Txn]


def _create(f: tuple[Any, ...], i: int) -> Txn:
    path, data, acl, owner, parent_cversion = f[i:]
    if type(path) is not str:
        raise _Malformed("create path is not a string")
    if data is not None and type(data) is not bytes:
        raise _Malformed("create data is not bytes or nil")
    if (
        type(owner) is not int
        or type(parent_cversion) is not int
        or not _I64_MIN <= owner <= _I64_MAX
        or not _I32_MIN <= parent_cversion <= _I32_MAX
    ):
        raise _Malformed("create owner or parent cversion is not an integer in range")
    return CreateTxn(path, data, acl_from_wire(acl), owner, parent_cversion)


def _delete(f: tuple[Any, ...], i: int) -> Txn:
    (path,) = f[i:]
    return DeleteTxn(_path(path))


def _set_data(f: tuple[Any, ...], i: int) -> Txn:
    path, data, version = f[i:]
    return SetDataTxn(_path(path), _data(data), _i32(version))


def _set_acl(f: tuple[Any, ...], i: int) -> Txn:
    path, acl, version = f[i:]
    return SetACLTxn(_path(path), acl_from_wire(acl), _i32(version))


def _check(f: tuple[Any, ...], i: int) -> Txn:
    path, version = f[i:]
    return CheckVersionTxn(_path(path), _i32(version))


def _error(f: tuple[Any, ...], i: int) -> Txn:
    (err,) = f[i:]
    return ErrorTxn(_i32(err))


def _create_session(f: tuple[Any, ...], i: int) -> Txn:
    timeout, passwd = f[i:]
    if type(passwd) is not bytes:
        raise _Malformed("passwd is not bytes")
    return CreateSessionTxn(_i32(timeout), passwd)


def _close_session(f: tuple[Any, ...], i: int) -> Txn:
    if len(f) != i:
        raise _Malformed("closeSession has no fields")
    return _CLOSE_SESSION


def _multi(f: tuple[Any, ...], i: int) -> Txn:
    (entries,) = f[i:]
    if type(entries) is not tuple:
        raise _Malformed("multi entries are not an array")
    txns = []
    for entry in entries:
        if type(entry) is not tuple or len(entry) < 2:
            raise _Malformed("multi entry is not [op, tag, *fields]")
        txns.append((_i32(entry[0]), _txn(entry, 1, 2)))
    return MultiTxn(tuple(txns))


_DECODERS: dict[int, _Decoder] = {
    1: _create,
    2: _delete,
    3: _set_data,
    4: _set_acl,
    5: _check,
    6: _error,
    7: _create_session,
    8: _close_session,
    9: _multi,
}


def _txn(f: tuple[Any, ...], at: int, first: int) -> Txn:
    """Decode the txn whose tag is ``f[at]`` and whose fields are ``f[first:]``."""
    tag = f[at]
    decoder = _DECODERS.get(tag) if type(tag) is int else None
    if decoder is None:
        raise _Malformed(f"unknown txn tag {tag!r:.40}")
    return decoder(f, first)


def decode_txn(body: bytes, *, source: str = "txn", offset: int = 0) -> tuple[TxnHeader, Txn]:
    """Decode a packet made by :func:`encode_txn`.

    Args:
        body: exactly one packet (any bytes-like object); trailing bytes are an error.
        source: names the log file or peer in the error.
        offset: where ``body`` starts in ``source``, reported in the error.

    Raises:
        CorruptRecord: ``body`` is not a well-formed txn packet.
    """
    try:
        packet = _unpackb(
            body,
            use_list=False,
            raw=False,
            strict_map_key=True,
            unicode_errors="surrogatepass",
        )
        if type(packet) is not tuple or len(packet) < 6:
            raise _Malformed("not an array [tag, header..., fields...]")
        _, session_id, cxid, zxid, time, op = packet[:6]
        if not (
            int is type(session_id) is type(cxid) is type(zxid) is type(time) is type(op)
            and _I64_MIN <= session_id <= _I64_MAX
            and _I32_MIN <= cxid <= _I32_MAX
            and _I64_MIN <= zxid <= _I64_MAX
            and _I64_MIN <= time <= _I64_MAX
            and _I32_MIN <= op <= _I32_MAX
        ):
            raise _Malformed("txn header fields are not integers in range")
        return TxnHeader(session_id, cxid, zxid, time, op), _txn(packet, 0, 6)
    except Exception as exc:  # every decoding failure means a corrupt body
        raise CorruptRecord(
            f"malformed txn: {_describe(exc)}", source=source, offset=offset
        ) from exc


def _describe(exc: Exception) -> str:
    if isinstance(exc, _Malformed):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"[:200]
