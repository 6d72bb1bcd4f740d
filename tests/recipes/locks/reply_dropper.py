"""A TCP proxy that loses the reply to one create: "the create succeeded, the reply did not
arrive", the failure the recipes' protected (uuid-named) nodes are for.

Clients connect to ``dropper.hosts``; frames are forwarded both ways. ``drop_create(marker)``
arms it: the next create request whose path contains ``marker`` reaches the server, the
server applies it and answers, and the proxy then closes the connection instead of
delivering that answer. The client sees ``ConnectionLoss`` and resumes its session on a new
connection through the same proxy.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import trio

from znode.framing import FrameDecoder
from znode.opcodes import OpCode

CREATES = {OpCode.CREATE, OpCode.CREATE2, OpCode.CREATE_CONTAINER, OpCode.CREATE_TTL}


class ReplyDropper:
    """Forwards 127.0.0.1:<port> to ``target_port``; loses one create reply when armed."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.dropped = 0
        self._marker: bytes | None = None
        self.done = trio.Event()

    @property
    def hosts(self) -> str:
        return f"127.0.0.1:{self.port}"

    def drop_create(self, marker: str) -> None:
        """Lose the reply to the next create whose path contains ``marker``."""
        self._marker = marker.encode()
        self.done = trio.Event()

    async def run(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started(self.port)
        await trio.serve_listeners(self._handle, listeners)

    async def _handle(self, downstream: trio.SocketStream) -> None:
        doomed: set[int] = set()  # xids whose reply is to be lost

        def note(frame: bytes) -> bool:  # a request: doom it if it is the armed create
            if self._marker is not None and len(frame) >= 12:
                xid, op, length = struct.unpack(">iii", frame[:12])
                if op in CREATES and self._marker in frame[12 : 12 + length]:
                    doomed.add(xid)
                    self._marker = None
            return True

        def deliver(frame: bytes) -> bool:  # a reply: False loses it
            if struct.unpack(">i", frame[:4])[0] not in doomed:
                return True
            self.dropped += 1
            self.done.set()
            return False

        try:
            upstream = await trio.open_tcp_stream("127.0.0.1", self.target_port)
        except OSError:
            await trio.aclose_forcefully(downstream)
            return
        try:
            async with trio.open_nursery() as nursery:
                scope = nursery.cancel_scope
                nursery.start_soon(_pump, downstream, upstream, note, scope)
                nursery.start_soon(_pump, upstream, downstream, deliver, scope)
        finally:
            await trio.aclose_forcefully(upstream)
            await trio.aclose_forcefully(downstream)


async def _pump(
    source: trio.SocketStream,
    sink: trio.SocketStream,
    forward: Callable[[bytes], bool],
    scope: trio.CancelScope,
) -> None:
    """Pass frames on until either side closes or ``forward`` refuses one (the handshake,
    which has no header, is passed on unasked); then close both sides."""
    frames, first = FrameDecoder(), True
    try:
        while data := await source.receive_some(65536):
            frames.feed(data)
            for frame in frames:
                if not first and not forward(frame):
                    return
                first = False
                await sink.send_all(struct.pack(">i", len(frame)) + frame)
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        pass
    finally:
        scope.cancel()
