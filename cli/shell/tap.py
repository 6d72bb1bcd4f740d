"""A client connection that also tells the shell, in order, what the server sent.

zkCli.sh prints each watch notification once, in the order the server sent them, and
updates its watch tables at the moment a reply arrives. The public client hands
notifications only to per-watch iterators, where that order across watches is lost, so the
shell opens its connections through :func:`tapping_opener` (the ``open_stream`` hook of
:func:`client.connect`): every frame received is reported to ``on_frame`` as it arrives,
before the client acts on it — a notification as ``(type, path)``, any other reply as
``None`` — and passed on unchanged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import trio

from client.hosts import Chroot
from znode.codec import decode_notification, decode_reply_header
from znode.errors import ZabkeeperError
from znode.framing import FrameDecoder

#: What a frame was: a notification ``(event type, client path)``, or ``None`` for a reply.
Frame = tuple[int, str] | None
OnFrame = Callable[[Frame], None]

_NOTIFICATION, _PING, _AUTH = -1, -2, -4


class TapStream(trio.abc.Stream):
    """``inner``, reporting the frames it receives (the first is the connect response)."""

    def __init__(self, inner: trio.abc.Stream, chroot: Chroot, on_frame: OnFrame) -> None:
        self.inner = inner
        self.chroot = chroot
        self.on_frame = on_frame
        self._frames = FrameDecoder()
        self._connected = False
        self._broken = False

    def _see(self, data: bytes | bytearray) -> None:
        if self._broken:
            return
        try:
            self._frames.feed(data)
            for payload in self._frames:
                if not self._connected:
                    self._connected = True  # the ConnectResponse
                    continue
                xid = decode_reply_header(payload).xid
                if xid == _NOTIFICATION:
                    event = decode_notification(payload)
                    self.on_frame((event.type, self.chroot.from_server(event.path)))
                elif xid not in (_PING, _AUTH):
                    self.on_frame(None)
        except ZabkeeperError:
            # The client will find the same bytes bad and drop the connection.
            self._broken = True

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        data = await self.inner.receive_some(max_bytes)
        self._see(data)
        return data

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.inner.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        await self.inner.aclose()


def tapping_opener(
    chroot: Chroot, on_frame: OnFrame
) -> Callable[[str, int], Awaitable[trio.abc.Stream]]:
    """An ``open_stream`` for :func:`client.connect`: TCP, tapped."""

    async def open_stream(host: str, port: int) -> trio.abc.Stream:
        return TapStream(await trio.open_tcp_stream(host, port), chroot, on_frame)

    return open_stream
