"""Lose the reply to a chosen request, after the server has applied it.

``client.connect(hosts, open_stream=losses.open_stream)`` routes the client's connections
through :class:`LostReplies`. After ``losses.lose_reply(OpCode.MULTI)``, the next request of
that type is sent as usual, but when its reply arrives the connection breaks instead of
delivering it: the server applied the request and the client gets ``ConnectionLoss``,
exactly the case a recipe must settle without doing the write twice. The client then
reconnects (through a fresh, faithful stream) and resumes its session.
"""

from __future__ import annotations

import struct

import trio

from znode.framing import FrameDecoder

_LENGTH = struct.Struct(">i")
_HEADER = struct.Struct(">ii")  # xid, op (requests) or the start of xid, zxid (replies)


class LostReplies:
    """Opens TCP streams that lose the reply to the next request of each armed type."""

    def __init__(self) -> None:
        self._armed: list[int] = []
        #: how many replies were lost so far
        self.lost = 0
        #: set each time a reply is lost
        self.lost_event = trio.Event()

    def lose_reply(self, op: int) -> None:
        """Lose the reply to the next request of type ``op`` (arm several for several)."""
        self._armed.append(op)

    @property
    def pending(self) -> int:
        """Armed losses that have not happened yet."""
        return len(self._armed)

    def _take(self, op: int) -> bool:
        if op in self._armed:
            self._armed.remove(op)
            return True
        return False

    def _note_lost(self) -> None:
        self.lost += 1
        self.lost_event.set()
        self.lost_event = trio.Event()

    async def open_stream(self, host: str, port: int) -> trio.abc.Stream:
        """The ``open_stream`` to give :func:`client.connect`."""
        return _LossyStream(await trio.open_tcp_stream(host, port), self)


class _LossyStream(trio.abc.Stream):
    def __init__(self, stream: trio.abc.Stream, losses: LostReplies) -> None:
        self._stream = stream
        self._losses = losses
        self._sent = FrameDecoder()
        self._received = FrameDecoder()
        self._handshake_sent = False
        self._handshake_received = False
        self._doomed: set[int] = set()  # xids whose replies are to be lost
        self._broken = False

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        self._sent.feed(data)
        for frame in self._sent:
            if not self._handshake_sent:  # the ConnectRequest has no request header
                self._handshake_sent = True
                continue
            xid, op = _HEADER.unpack_from(frame)
            if xid > 0 and self._losses._take(op):
                self._doomed.add(xid)
        await self._stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._stream.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        while True:
            if self._broken:
                raise trio.BrokenResourceError("the reply was lost")
            data = await self._stream.receive_some(max_bytes)
            if not data:
                return b""
            self._received.feed(data)
            # Pass on whole frames up to a doomed reply; then break the connection.
            delivered = bytearray()
            for frame in self._received:
                if not self._handshake_received:  # the ConnectResponse has no header
                    self._handshake_received = True
                elif _LENGTH.unpack_from(frame)[0] in self._doomed:
                    self._broken = True
                    self._losses._note_lost()
                    await trio.aclose_forcefully(self._stream)
                    break
                delivered += _LENGTH.pack(len(frame)) + frame
            if delivered:
                return bytes(delivered)

    async def aclose(self) -> None:
        await self._stream.aclose()
