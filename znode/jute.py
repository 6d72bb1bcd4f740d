"""Jute, ZooKeeper's binary record encoding: the primitives.

Byte grammar (every integer big-endian, signed, two's complement)::

    byte     = 1 byte
    boolean  = 1 byte                      ; written 0x00 / 0x01, read: any non-zero is true
    int      = 4 bytes
    long     = 8 bytes
    buffer   = int L, then L raw bytes     ; L = -1: null (None), L = 0: empty
    ustring  = int L, then L bytes UTF-8   ; L counts bytes; L = -1: null string
    vector   = int C, then C elements      ; C = -1: null vector, C = 0: empty
    record   = its fields in declaration order, no tags, no padding, no length

Reading rules (what Java's ``BinaryInputArchive`` enforces, plus what Python needs):

* a length or count below -1, or above ``max_buffer`` (default ``jute.maxbuffer +
  jute.maxbuffer.extrasize`` = 2 x 1,048,575), is rejected;
* a vector count larger than the bytes left could possibly hold is rejected before the
  elements are read;
* strings decode as UTF-8 with malformed bytes replaced by U+FFFD, as Java does; a null
  string reads as ``""`` unless the caller asks for ``None``;
* every malformed input raises :class:`~znode.errors.CodecError` carrying the byte offset
  where the bad item starts, never ``IndexError``, ``struct.error`` or ``UnicodeDecodeError``.

Writing uses standard UTF-8 (lone surrogates are passed through) and writes an empty
string as length 0 and ``None`` as -1.

Two layers: the ``*_at`` functions read one item at an offset and return ``(value,
new_offset)``, the ``append_*`` functions append one item to a ``bytearray``; the record
codec (:mod:`znode.codec`) uses them directly on its hot paths. :class:`JuteReader` and
:class:`JuteWriter` are the stateful conveniences built on them.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeAlias, TypeVar, overload

from znode.errors import CodecError

#: What the readers accept: any contiguous byte sequence (memoryviews must be format "B").
Buffer: TypeAlias = bytes | bytearray | memoryview

#: ``jute.maxbuffer`` default: the largest frame a ZooKeeper server accepts.
JUTE_MAXBUFFER = 1_048_575
#: Largest buffer/string length or vector count a reader accepts (maxbuffer + extrasize).
MAX_BUFFER = 2 * JUTE_MAXBUFFER

BYTE = struct.Struct(">b")
INT = struct.Struct(">i")
LONG = struct.Struct(">q")

_int_unpack_from = INT.unpack_from
_long_unpack_from = LONG.unpack_from
_int_pack = INT.pack
_NULL = _int_pack(-1)
_FALSE = b"\x00"
_TRUE = b"\x01"

T = TypeVar("T")


def _short(what: str, pos: int, need: int, have: int) -> CodecError:
    return CodecError(f"truncated {what}: need {need} bytes, {max(have, 0)} left", offset=pos)


def _check_start(data: Buffer, pos: int) -> None:
    if pos < 0 or pos > len(data):
        raise CodecError(f"offset outside the data (length {len(data)})", offset=pos)


# --- reading at an offset ------------------------------------------------------------------


def byte_at(data: Buffer, pos: int) -> tuple[int, int]:
    """Read a signed ``byte`` at ``pos``; return ``(value, pos + 1)``."""
    try:
        (value,) = BYTE.unpack_from(data, pos)
    except struct.error:
        raise _short("byte", pos, 1, len(data) - pos) from None
    return value, pos + 1


def int_at(data: Buffer, pos: int) -> tuple[int, int]:
    """Read an ``int`` at ``pos``; return ``(value, pos + 4)``."""
    try:
        (value,) = _int_unpack_from(data, pos)
    except struct.error:
        raise _short("int", pos, 4, len(data) - pos) from None
    return value, pos + 4


def long_at(data: Buffer, pos: int) -> tuple[int, int]:
    """Read a ``long`` at ``pos``; return ``(value, pos + 8)``."""
    try:
        (value,) = _long_unpack_from(data, pos)
    except struct.error:
        raise _short("long", pos, 8, len(data) - pos) from None
    return value, pos + 8


def bool_at(data: Buffer, pos: int) -> tuple[bool, int]:
    """Read a ``boolean`` at ``pos`` (any non-zero byte is true); return ``(value, pos + 1)``."""
    if 0 <= pos < len(data):
        return data[pos] != 0, pos + 1
    raise _short("boolean", pos, 1, len(data) - pos)


def struct_at(data: Buffer, pos: int, fmt: struct.Struct) -> tuple[tuple[Any, ...], int]:
    """Unpack a fixed-size ``fmt`` at ``pos``; return ``(values, pos + fmt.size)``."""
    try:
        values = fmt.unpack_from(data, pos)
    except struct.error:
        raise _short("record", pos, fmt.size, len(data) - pos) from None
    return values, pos + fmt.size


def _length_at(data: Buffer, pos: int, what: str, max_len: int) -> tuple[int, int]:
    """Read a length prefix; -1 is returned as is, other bad values raise."""
    try:
        (length,) = _int_unpack_from(data, pos)
    except struct.error:
        raise _short(f"{what} length", pos, 4, len(data) - pos) from None
    if length < -1:
        raise CodecError(f"negative {what} length {length}", offset=pos)
    if length > max_len:
        raise CodecError(f"{what} length {length} exceeds the limit {max_len}", offset=pos)
    end = pos + 4 + length
    if end > len(data):
        raise _short(what, pos, 4 + length, len(data) - pos)
    return length, pos + 4


def buffer_at(data: Buffer, pos: int, max_len: int = MAX_BUFFER) -> tuple[bytes | None, int]:
    """Read a ``buffer`` at ``pos``: ``None`` for null (-1); return ``(value, new_pos)``."""
    length, pos = _length_at(data, pos, "buffer", max_len)
    if length < 0:
        return None, pos
    end = pos + length
    chunk = data[pos:end]
    return (chunk if type(chunk) is bytes else bytes(chunk)), end


def ustring_at(data: Buffer, pos: int, max_len: int = MAX_BUFFER) -> tuple[str, int]:
    """Read a ``ustring`` at ``pos``; null (-1) reads as ``""``. Return ``(value, new_pos)``."""
    try:
        (length,) = _int_unpack_from(data, pos)
    except struct.error:
        raise _short("ustring length", pos, 4, len(data) - pos) from None
    start = pos + 4
    end = start + length
    if 0 <= length <= max_len and end <= len(data):
        return str(data[start:end], "utf-8", "replace"), end
    if length == -1:
        return "", start
    # Let the general check raise the precise error.
    _length_at(data, pos, "ustring", max_len)
    raise AssertionError("unreachable")  # pragma: no cover


def nullable_ustring_at(
    data: Buffer, pos: int, max_len: int = MAX_BUFFER
) -> tuple[str | None, int]:
    """Read a ``ustring`` at ``pos``, ``None`` for null (-1); return ``(value, new_pos)``."""
    length, pos = _length_at(data, pos, "ustring", max_len)
    if length < 0:
        return None, pos
    end = pos + length
    return str(data[pos:end], "utf-8", "replace"), end


def vector_count_at(
    data: Buffer, pos: int, min_item_size: int = 1, max_len: int = MAX_BUFFER
) -> tuple[int, int]:
    """Read a vector count at ``pos`` (-1 for null); return ``(count, new_pos)``.

    Rejects counts below -1, above ``max_len``, or larger than the remaining bytes could hold
    with elements of at least ``min_item_size`` bytes.
    """
    try:
        (count,) = _int_unpack_from(data, pos)
    except struct.error:
        raise _short("vector count", pos, 4, len(data) - pos) from None
    if count < -1:
        raise CodecError(f"negative vector count {count}", offset=pos)
    if count > max_len:
        raise CodecError(f"vector count {count} exceeds the limit {max_len}", offset=pos)
    if count * min_item_size > len(data) - pos - 4:
        raise CodecError(
            f"vector count {count} does not fit in {len(data) - pos - 4} remaining bytes",
            offset=pos,
        )
    return count, pos + 4


def ustring_vector_at(
    data: Buffer, pos: int, max_len: int = MAX_BUFFER
) -> tuple[tuple[str, ...], int]:
    """Read a ``vector<ustring>`` at ``pos``; null vectors and null strings read as empty."""
    count, pos = vector_count_at(data, pos, 4, max_len)
    items: list[str] = []
    append = items.append
    for _ in range(count):
        item, pos = ustring_at(data, pos, max_len)
        append(item)
    return tuple(items), pos


# --- appending to a bytearray --------------------------------------------------------------


def encode_utf8(text: str) -> bytes:
    """UTF-8 bytes of ``text``; lone surrogates are encoded as-is rather than rejected."""
    try:
        return text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def append_bool(buf: bytearray, value: bool) -> None:
    """Append a ``boolean`` as 0x00 / 0x01."""
    buf += _TRUE if value else _FALSE


def append_buffer(buf: bytearray, value: bytes | bytearray | memoryview | None) -> None:
    """Append a ``buffer``; ``None`` is written as length -1."""
    if value is None:
        buf += _NULL
    else:
        buf += _int_pack(len(value))
        buf += value


def append_ustring(buf: bytearray, value: str | None) -> None:
    """Append a ``ustring``; ``""`` is length 0 and ``None`` is length -1."""
    if value is None:
        buf += _NULL
        return
    raw = encode_utf8(value)
    buf += _int_pack(len(raw))
    buf += raw


def append_ustring_vector(buf: bytearray, values: Sequence[str] | None) -> None:
    """Append a ``vector<ustring>``; ``None`` is count -1."""
    if values is None:
        buf += _NULL
        return
    buf += _int_pack(len(values))
    for value in values:
        append_ustring(buf, value)


# --- stateful wrappers ---------------------------------------------------------------------


class JuteWriter:
    """Appends jute primitives to a growing ``bytearray``."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def __len__(self) -> int:
        return len(self._buf)

    @property
    def buffer(self) -> bytearray:
        """The underlying ``bytearray`` (shared, not a copy)."""
        return self._buf

    def getvalue(self) -> bytes:
        """Everything written so far, as ``bytes``."""
        return bytes(self._buf)

    def write_raw(self, data: bytes | bytearray | memoryview) -> None:
        """Append bytes with no length prefix."""
        self._buf += data

    def write_byte(self, value: int) -> None:
        """Append a signed ``byte``."""
        self._buf += BYTE.pack(value)

    def write_int(self, value: int) -> None:
        """Append an ``int``."""
        self._buf += _int_pack(value)

    def write_long(self, value: int) -> None:
        """Append a ``long``."""
        self._buf += LONG.pack(value)

    def write_bool(self, value: bool) -> None:
        """Append a ``boolean`` (0 or 1)."""
        self._buf += _TRUE if value else _FALSE

    def write_struct(self, fmt: struct.Struct, *values: Any) -> None:
        """Append ``values`` packed with a precompiled big-endian ``fmt``."""
        self._buf += fmt.pack(*values)

    def write_buffer(self, value: bytes | bytearray | memoryview | None) -> None:
        """Append a ``buffer`` (``None`` = -1)."""
        append_buffer(self._buf, value)

    def write_ustring(self, value: str | None) -> None:
        """Append a ``ustring`` (``None`` = -1, ``""`` = 0)."""
        append_ustring(self._buf, value)

    def write_ustring_vector(self, values: Sequence[str] | None) -> None:
        """Append a ``vector<ustring>`` (``None`` = -1)."""
        append_ustring_vector(self._buf, values)

    def write_vector(
        self, values: Sequence[T] | None, write_item: Callable[[JuteWriter, T], None]
    ) -> None:
        """Append a vector: the count (``None`` = -1), then ``write_item(self, v)`` for each."""
        if values is None:
            self._buf += _NULL
            return
        self._buf += _int_pack(len(values))
        for value in values:
            write_item(self, value)


class JuteReader:
    """Reads jute primitives from ``data`` starting at ``offset``.

    Args:
        data: the bytes to read (not copied).
        offset: where reading starts.
        max_buffer: largest buffer/string length and vector count accepted.

    Raises:
        CodecError: on any malformed or truncated input, with the offset of the bad item.
    """

    __slots__ = ("_data", "_max", "_pos")

    def __init__(self, data: Buffer, offset: int = 0, *, max_buffer: int = MAX_BUFFER) -> None:
        if isinstance(data, memoryview) and (data.format != "B" or data.ndim != 1):
            data = data.cast("B")
        _check_start(data, offset)
        self._data = data
        self._pos = offset
        self._max = max_buffer

    @property
    def offset(self) -> int:
        """The offset of the next byte to read."""
        return self._pos

    @property
    def remaining(self) -> int:
        """How many bytes are left after :attr:`offset`."""
        return len(self._data) - self._pos

    def read_raw(self, size: int) -> bytes:
        """Read exactly ``size`` bytes with no length prefix."""
        pos = self._pos
        if size < 0 or size > len(self._data) - pos:
            raise _short("raw bytes", pos, size, len(self._data) - pos)
        self._pos = pos + size
        return bytes(self._data[pos : pos + size])

    def read_byte(self) -> int:
        """Read a signed ``byte``."""
        value, self._pos = byte_at(self._data, self._pos)
        return value

    def read_int(self) -> int:
        """Read an ``int``."""
        value, self._pos = int_at(self._data, self._pos)
        return value

    def read_long(self) -> int:
        """Read a ``long``."""
        value, self._pos = long_at(self._data, self._pos)
        return value

    def read_bool(self) -> bool:
        """Read a ``boolean``; any non-zero byte is true (as Java's ``readBoolean``)."""
        value, self._pos = bool_at(self._data, self._pos)
        return value

    def read_struct(self, fmt: struct.Struct) -> tuple[Any, ...]:
        """Unpack a precompiled fixed-size ``fmt``."""
        values, self._pos = struct_at(self._data, self._pos, fmt)
        return values

    def read_buffer(self) -> bytes | None:
        """Read a ``buffer``; ``None`` when null (-1)."""
        value, self._pos = buffer_at(self._data, self._pos, self._max)
        return value

    @overload
    def read_ustring(self, nullable: Literal[False] = False) -> str: ...

    @overload
    def read_ustring(self, nullable: Literal[True]) -> str | None: ...

    @overload
    def read_ustring(self, nullable: bool) -> str | None: ...

    def read_ustring(self, nullable: bool = False) -> str | None:
        """Read a ``ustring``; a null string is ``""``, or ``None`` with ``nullable=True``."""
        if nullable:
            text, self._pos = nullable_ustring_at(self._data, self._pos, self._max)
            return text
        value, self._pos = ustring_at(self._data, self._pos, self._max)
        return value

    def read_vector_count(self, min_item_size: int = 1) -> int:
        """Read a vector count (-1 = null), checked against the bytes left."""
        count, self._pos = vector_count_at(self._data, self._pos, min_item_size, self._max)
        return count

    def read_ustring_vector(self) -> tuple[str, ...]:
        """Read a ``vector<ustring>``; a null vector reads as ``()``."""
        values, self._pos = ustring_vector_at(self._data, self._pos, self._max)
        return values

    def read_vector(
        self, read_item: Callable[[JuteReader], T], min_item_size: int = 1
    ) -> tuple[T, ...]:
        """Read a vector with ``read_item(self)`` per element; a null vector reads as ``()``."""
        count = self.read_vector_count(min_item_size)
        return tuple(read_item(self) for _ in range(count))

    def expect_end(self) -> None:
        """Raise :class:`CodecError` unless every byte has been read."""
        if self._pos != len(self._data):
            raise CodecError(f"{len(self._data) - self._pos} trailing bytes", offset=self._pos)
