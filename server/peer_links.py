"""Links between ensemble members: one TCP connection per peer and port.

Every pair of servers keeps two connections, one on the quorum port (leader/learner
packets, snapshots) and one on the election port (notifications). The server with the
larger id connects; the smaller one accepts, after a handshake naming a configured server
id with the right port kind — anything else is closed at once.

Frames are ``u32 length | u8 kind | body``: kind 0 is a msgpack packet
(:mod:`zab.codec`), kind 1 a chunk of a snapshot that follows a SNAP packet, kind 2 the end
of that snapshot. Links are FIFO: when a connection breaks, or its send queue overflows,
the link is closed (never a packet silently skipped) and the quorum loop is told
``link_lost``; the connector retries with backoff.
"""

from __future__ import annotations

import logging
import struct
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import msgpack
import trio
import trio.lowlevel

from zab.codec import MalformedPacket, decode_message, encode_message
from zab.messages import Message, Notification, Snap
from znode.errors import CodecError, CorruptRecord
from znode.framing import FrameDecoder
from znode.snapshot import SnapshotLoader

log = logging.getLogger("zabkeeper.quorum")

QUORUM, ELECTION = "quorum", "election"
_MESSAGE, _CHUNK, _END = 0, 1, 2
_HEADER = struct.Struct(">IB")
_MAX_FRAME = 64 * 1024 * 1024
_MAX_QUEUED = 256 * 1024 * 1024  # bytes waiting to be sent on one link before it is cut
_SEND_BATCH = 256 * 1024  # bytes of queued packets joined into one send
_HELLO = b"zabkeeper-peer"


@attrs.frozen
class PeerAddress:
    host: str
    quorum_port: int
    election_port: int


@attrs.frozen
class Received:
    sender: int
    message: Message


@attrs.frozen
class LinkLost:
    peer: int


@attrs.frozen
class SnapshotReceived:
    sender: int
    zxid: int
    loaded: Any  # znode.snapshot.LoadedSnapshot


@attrs.frozen
class SnapshotFailed:
    sender: int
    reason: str


class _Link:
    """One established connection: an outbound queue and the tasks that drain it."""

    def __init__(self, peer: int, kind: str, stream: trio.abc.Stream) -> None:
        self.peer = peer
        self.kind = kind
        self.stream = stream
        self.queue: deque[bytes | Iterator[bytes]] = deque()
        self.queued = 0
        self.wake = trio.Event()
        self.closed = False
        self.cancel = trio.CancelScope()

    def push(self, item: bytes | Iterator[bytes]) -> None:
        if self.closed:
            return
        self.queue.append(item)
        if isinstance(item, bytes):
            self.queued += len(item)
            if self.queued > _MAX_QUEUED:
                self.close("send queue overflow")
                return
        self.wake.set()

    def close(self, reason: str) -> None:
        if not self.closed:
            self.closed = True
            log.info("link to server %d (%s) closed: %s", self.peer, self.kind, reason)
            self.cancel.cancel()


def _frame(kind: int, body: bytes) -> bytes:
    return _HEADER.pack(len(body) + 1, kind) + body


class PeerLinks:
    """Keeps links to every other member and delivers what arrives to ``deliver``.

    Args:
        my_id: this server's id.
        peers: every other member's addresses.
        deliver: called (synchronously, in order per link) with :class:`Received`,
            :class:`LinkLost`, :class:`SnapshotReceived` or :class:`SnapshotFailed`.
        bind_host: the address to listen on.
    """

    def __init__(
        self,
        my_id: int,
        peers: dict[int, PeerAddress],
        deliver: Callable[[object], None],
        *,
        bind_host: str,
        my_address: PeerAddress,
    ) -> None:
        self.my_id = my_id
        self.peers = peers
        self.deliver = deliver
        self.bind_host = bind_host
        self.my_address = my_address
        self.links: dict[tuple[int, str], _Link] = {}

    # --- sending ---------------------------------------------------------------------------

    def send(self, to: int, message: Message) -> None:
        """Queue a packet for ``to``; dropped if there is no link (the loop was told)."""
        kind = ELECTION if isinstance(message, Notification) else QUORUM
        link = self.links.get((to, kind))
        if link is not None:
            link.push(_frame(_MESSAGE, encode_message(message)))

    def send_snapshot(self, to: int, message: Snap, chunks: Iterator[bytes]) -> bool:
        """Queue a SNAP packet and the snapshot stream after it; False if no link."""
        link = self.links.get((to, QUORUM))
        if link is None:
            return False
        link.push(_frame(_MESSAGE, encode_message(message)))
        link.push(chunks)
        return True

    def drop_quorum_links(self, reason: str) -> None:
        """Close every quorum link, so learners notice at once rather than by timeout.

        The links come back by themselves (the connecting side redials), fresh and empty.
        """
        for (_peer, kind), link in list(self.links.items()):
            if kind == QUORUM:
                link.close(reason)

    def connected(self, peer: int) -> bool:
        return (peer, QUORUM) in self.links

    # --- running ---------------------------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Listen on both ports and keep a connection to every peer with a smaller id."""
        async with trio.open_nursery() as nursery:
            for kind, port in (
                (QUORUM, self.my_address.quorum_port),
                (ELECTION, self.my_address.election_port),
            ):
                listeners = await trio.open_tcp_listeners(port, host=self.bind_host)
                nursery.start_soon(self._accept_loop, listeners, kind, nursery)
            for peer in sorted(self.peers):
                if peer < self.my_id:
                    for kind in (QUORUM, ELECTION):
                        nursery.start_soon(self._connect_loop, peer, kind, nursery)
            task_status.started()

    async def _accept_loop(self, listeners: list[Any], kind: str, nursery: trio.Nursery) -> None:
        async def handle(stream: trio.SocketStream) -> None:
            peer = await self._read_hello(stream, kind)
            if peer is None:
                await trio.aclose_forcefully(stream)
                return
            await self._serve_link(peer, kind, stream)

        await trio.serve_listeners(handle, listeners, handler_nursery=nursery)

    async def _read_hello(self, stream: trio.SocketStream, kind: str) -> int | None:
        decoder = FrameDecoder(1024)
        with trio.move_on_after(10):
            while True:
                try:
                    data = await stream.receive_some(1024)
                except trio.BrokenResourceError:
                    return None
                if not data:
                    return None
                try:
                    decoder.feed(data)
                except CodecError:
                    return None
                frame = decoder.next_frame()
                if frame is None:
                    continue
                try:
                    hello, peer, their_kind = msgpack.unpackb(frame, raw=False)
                except Exception:
                    hello = None
                if hello != "zabkeeper-peer" or their_kind != kind:
                    log.warning("closing a %s connection that is not a zabkeeper peer", kind)
                    return None
                if peer not in self.peers or peer <= self.my_id:
                    log.warning("closing a %s connection from unknown server %r", kind, peer)
                    return None
                return int(peer)
        log.warning("closing a %s connection that never identified itself", kind)
        return None

    async def _connect_loop(self, peer: int, kind: str, nursery: trio.Nursery) -> None:
        address = self.peers[peer]
        port = address.quorum_port if kind == QUORUM else address.election_port
        delay = 0.05
        while True:
            try:
                stream = await trio.open_tcp_stream(address.host, port)
            except OSError:
                await trio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            delay = 0.05
            hello = msgpack.packb([_HELLO.decode(), self.my_id, kind])
            try:
                await stream.send_all(struct.pack(">i", len(hello)) + hello)
            except trio.BrokenResourceError:
                await trio.aclose_forcefully(stream)
                continue
            await self._serve_link(peer, kind, stream)
            await trio.sleep(0.05)

    async def _serve_link(self, peer: int, kind: str, stream: trio.abc.Stream) -> None:
        old = self.links.get((peer, kind))
        if old is not None:
            old.close("replaced by a new connection")
        link = _Link(peer, kind, stream)
        self.links[(peer, kind)] = link
        log.info("link to server %d (%s) up", peer, kind)
        try:
            with link.cancel:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._write_loop, link)
                    await self._read_loop(link)
                    link.close("peer closed the connection")
        finally:
            link.close("gone")
            if self.links.get((peer, kind)) is link:
                del self.links[(peer, kind)]
            if kind == QUORUM:
                self.deliver(LinkLost(peer))
            with trio.CancelScope(shield=True):
                await trio.aclose_forcefully(stream)

    async def _write_loop(self, link: _Link) -> None:
        try:
            while True:
                await link.wake.wait()
                # One scheduling round before sending lets the loop queue what the rest of
                # its current burst of events produces, so it goes out in the same send.
                await trio.lowlevel.checkpoint()
                link.wake = trio.Event()
                while link.queue:
                    item = link.queue.popleft()
                    if isinstance(item, bytes):
                        # Under load many small packets queue up (a PROPOSAL and a COMMIT
                        # per write): one send for all of them saves a syscall per packet.
                        batch = [item]
                        size = len(item)
                        queue = link.queue
                        while queue and isinstance(queue[0], bytes) and size < _SEND_BATCH:
                            more = queue.popleft()
                            assert isinstance(more, bytes)
                            batch.append(more)
                            size += len(more)
                        link.queued -= size
                        await link.stream.send_all(item if len(batch) == 1 else b"".join(batch))
                    else:
                        for chunk in item:  # a snapshot: one record at a time, in order
                            await link.stream.send_all(_frame(_CHUNK, chunk))
                        await link.stream.send_all(_frame(_END, b""))
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            link.close("broken while sending")

    async def _read_loop(self, link: _Link) -> None:
        decoder = FrameDecoder(_MAX_FRAME)
        loader: SnapshotLoader | None = None
        snap_zxid = 0
        while not link.closed:
            try:
                data = await link.stream.receive_some(1 << 16)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return
            if not data:
                return
            try:
                decoder.feed(data)
                for frame in decoder:
                    kind, body = frame[0], bytes(frame[1:])
                    if kind == _MESSAGE:
                        message = decode_message(body)
                        self.deliver(Received(link.peer, message))
                        if isinstance(message, Snap):
                            loader = SnapshotLoader(f"snapshot from server {link.peer}")
                            snap_zxid = message.zxid
                    elif kind == _CHUNK and loader is not None:
                        loader.feed(body)
                    elif kind == _END and loader is not None:
                        loaded = loader.finish()
                        loader = None
                        self.deliver(SnapshotReceived(link.peer, snap_zxid, loaded))
                    else:
                        raise MalformedPacket(f"unexpected frame kind {kind}")
                await trio.lowlevel.checkpoint()
            except (CodecError, MalformedPacket, CorruptRecord) as exc:
                if loader is not None:
                    self.deliver(SnapshotFailed(link.peer, str(exc)))
                link.close(f"bad data: {exc}")
                return
