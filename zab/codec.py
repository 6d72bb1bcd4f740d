"""Peer packets on the wire: one msgpack array ``[tag, *fields]`` per packet.

``tag`` is the packet's :class:`~zab.messages.PacketType` number; the fields follow in
declaration order (positional and compact). Tuples of pairs (an epoch summary) travel as
arrays of arrays. Decoding checks the tag, the arity and every field's type, and any
malformed body raises :class:`MalformedPacket` — never a msgpack or Python error.
"""

from __future__ import annotations

from typing import Any

import attrs
import msgpack

from zab.errors import ZabError
from zab.messages import PACKET_TYPES, Message, PeerState

_CLASSES: dict[int, type] = {int(tag): cls for cls, tag in PACKET_TYPES.items()}
_FIELDS: dict[type, tuple[attrs.Attribute[Any], ...]] = {
    cls: attrs.fields(cls) for cls in PACKET_TYPES
}
_INT64 = (-(2**63), 2**63 - 1)


class MalformedPacket(ZabError):
    """Bytes from a peer that are not a valid packet."""


def encode_message(message: Message) -> bytes:
    """The msgpack body of ``message``."""
    cls = type(message)
    values = [int(PACKET_TYPES[cls])]
    for field in _FIELDS[cls]:
        value = getattr(message, field.name)
        if isinstance(value, PeerState):
            value = int(value)
        values.append(value)
    return msgpack.packb(values, use_bin_type=True)  # type: ignore[no-any-return]


def _type_name(field: attrs.Attribute[Any]) -> str:
    kind = field.type
    return kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))


#: each packet class's fields as (name, type name), worked out once rather than per packet
_CHECKS: dict[type, tuple[tuple[str, str], ...]] = {
    cls: tuple((f.name, _type_name(f)) for f in fields) for cls, fields in _FIELDS.items()
}


def _check(name: str, text: str, value: Any) -> Any:
    if text in ("int", "PeerState"):
        if type(value) is not int or not _INT64[0] <= value <= _INT64[1]:
            raise MalformedPacket(f"{name} is not a 64-bit integer")
        return PeerState(value) if text == "PeerState" else value
    if text == "bytes":
        if type(value) is not bytes:
            raise MalformedPacket(f"{name} is not bytes")
        return value
    if text == "bool":
        if type(value) is not bool:
            raise MalformedPacket(f"{name} is not a boolean")
        return value
    if text.startswith("tuple"):
        if type(value) is not list or not all(
            type(pair) is list
            and len(pair) == 2
            and all(type(x) is int and _INT64[0] <= x <= _INT64[1] for x in pair)
            for pair in value
        ):
            raise MalformedPacket(f"{name} is not a list of integer pairs")
        return tuple((pair[0], pair[1]) for pair in value)
    raise MalformedPacket(f"{name}: unsupported field type {text}")  # pragma: no cover


def decode_message(body: bytes) -> Message:
    """Decode one packet body.

    Raises:
        MalformedPacket: garbage, an unknown tag, a wrong arity or a wrong field type.
    """
    try:
        values = msgpack.unpackb(body, use_list=True, raw=False, strict_map_key=True)
    except Exception as exc:  # msgpack raises several unrelated types
        raise MalformedPacket(f"not msgpack: {exc}") from None
    if type(values) is not list or not values or type(values[0]) is not int:
        raise MalformedPacket("a packet is an array starting with its tag")
    cls = _CLASSES.get(values[0])
    if cls is None:
        raise MalformedPacket(f"unknown packet tag {values[0]}")
    checks = _CHECKS[cls]
    if len(values) - 1 != len(checks):
        raise MalformedPacket(f"{cls.__name__} takes {len(checks)} fields, got {len(values) - 1}")
    try:
        return cls(*(_check(n, t, v) for (n, t), v in zip(checks, values[1:], strict=True)))  # type: ignore[no-any-return]
    except ValueError as exc:
        raise MalformedPacket(str(exc)) from None
