"""Length-prefixed frames of ZooKeeper's client port, sans-IO.

Every packet is a 4-byte signed big-endian length ``N`` followed by exactly ``N`` payload bytes
(``N`` does not count itself). :class:`FrameDecoder` turns an arbitrary chunking of that byte
stream back into payloads. A length below 0 or above ``max_frame`` (``jute.maxbuffer``,
1,048,575 by default) raises :class:`~znode.errors.FrameTooLarge` as soon as the four length
bytes are at the front of the stream, before the body arrives; ZooKeeper closes the
connection in that case, so the decoder stays failed.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from znode.errors import FrameTooLarge
from znode.jute import JUTE_MAXBUFFER

_LENGTH = struct.Struct(">i")
_COMPACT_AT = 64 * 1024
_VIEW_COPY_AT = 4096


class FrameDecoder:
    """Split a byte stream into frame payloads.

    Args:
        max_frame: the largest payload length accepted.

    ``feed`` bytes as they arrive, then take payloads with :meth:`next_frame` or by
    iterating (``for payload in decoder``), which stops when no complete frame is buffered.
    Frames before a bad length are still returned; the bad length itself raises
    :class:`~znode.errors.FrameTooLarge` (its ``offset`` is the position in the whole
    stream), and every later call raises it again.
    """

    __slots__ = ("_base", "_buf", "_error", "_pos", "max_frame")

    def __init__(self, max_frame: int = JUTE_MAXBUFFER) -> None:
        if max_frame < 0:
            raise ValueError("max_frame must be >= 0")
        self.max_frame = max_frame
        self._buf = bytearray()
        self._pos = 0  # start of the unread bytes in _buf
        self._base = 0  # stream offset of _buf[0]
        self._error: FrameTooLarge | None = None

    @property
    def buffered(self) -> int:
        """How many received bytes are not yet returned as frames."""
        return len(self._buf) - self._pos

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Append received bytes.

        Raises:
            FrameTooLarge: the next frame's length (now complete) is out of range.
        """
        if self._error is not None:
            raise self._error
        buf, pos = self._buf, self._pos
        if pos:
            if pos == len(buf):
                buf.clear()
                self._base += pos
                self._pos = 0
            elif pos >= _COMPACT_AT or pos * 2 >= len(buf):
                del buf[:pos]
                self._base += pos
                self._pos = 0
        buf += data
        if len(buf) - self._pos >= 4:
            self._frame_length(self._pos)

    def _frame_length(self, pos: int) -> int:
        (length,) = _LENGTH.unpack_from(self._buf, pos)
        if 0 <= length <= self.max_frame:
            return int(length)
        self._error = FrameTooLarge(
            f"frame length {length} outside 0..{self.max_frame}", offset=self._base + pos
        )
        raise self._error

    def next_frame(self) -> bytes | None:
        """Return the next complete payload, or ``None`` if none is buffered yet.

        Raises:
            FrameTooLarge: the next frame's length is out of range.
        """
        if self._error is not None:
            raise self._error
        buf, pos = self._buf, self._pos
        if len(buf) - pos < 4:
            return None
        start = pos + 4
        end = start + self._frame_length(pos)
        if end > len(buf):
            return None
        self._pos = end
        if end - start < _VIEW_COPY_AT:
            return bytes(buf[start:end])
        with memoryview(buf) as view:  # one copy instead of two for big frames
            return view[start:end].tobytes()

    def __iter__(self) -> Iterator[bytes]:
        """Yield every complete payload buffered now."""
        while (payload := self.next_frame()) is not None:
            yield payload
