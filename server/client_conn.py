"""One client connection as a sans-IO protocol object.

The shell feeds received bytes to :meth:`ClientConnection.receive_data` and gets events back:
a four-letter word, the ConnectRequest, or decoded requests. Replies, watch events and the
ConnectResponse are encoded into :attr:`ClientConnection.outbox`; the shell sends the whole
outbox in one write, so replies to pipelined requests leave in one send.

Framing rules (ZooKeeper's): the first four bytes of a new connection may spell a
four-letter word; otherwise every packet is a length-prefixed frame, the first one a
ConnectRequest without a request header. A frame longer than ``jute.maxbuffer`` or a
malformed ConnectRequest closes the connection without a reply. An unknown op code is
answered with UNIMPLEMENTED and the connection is closed; an undecodable request body is
answered with MARSHALLINGERROR and the connection stays open.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Protocol

import attrs

from znode.acl import Id
from znode.codec import (
    decode_connect_request,
    decode_request,
    decode_request_header,
    encode_connect_response,
    encode_notification,
    encode_reply,
)
from znode.errors import CodecError, ErrorCode
from znode.framing import FrameDecoder
from znode.opcodes import OpCode
from znode.records import ConnectRequest, ConnectResponse, Request, Response, WatcherEvent

#: Words ZooKeeper answers on the client port (recognized even when not whitelisted).
FOUR_LETTER_WORDS = frozenset(
    {
        "ruok",
        "srvr",
        "stat",
        "mntr",
        "conf",
        "cons",
        "crst",
        "dump",
        "envi",
        "srst",
        "wchs",
        "wchc",
        "wchp",
        "isro",
        "dirs",
        "gtmk",
        "stmk",
        "hash",
    }
)
_TELNET_CLOSE = b"\xff\xf4\xff\xfd"
_KNOWN_OPS = frozenset(int(op) for op in OpCode) - {
    OpCode.NOTIFICATION,
    OpCode.CREATE_SESSION,
    OpCode.ERROR,
    OpCode.DELETE_CONTAINER,
    OpCode.CHECK,
}


class PacketCounters(Protocol):
    """Server-wide packet counters (the core's stats) a connection also counts into."""

    received: int
    sent: int


class ConnState(enum.Enum):
    """Where a connection is in its life."""

    HANDSHAKE = "handshake"  # waiting for the first bytes
    CONNECTING = "connecting"  # ConnectRequest received, session not yet set up
    CONNECTED = "connected"
    CLOSING = "closing"  # flush the outbox, then close
    CLOSED = "closed"


@attrs.frozen
class FourLetterWord:
    """The connection is a four-letter-word command."""

    word: str


@attrs.frozen
class Connect:
    request: ConnectRequest


@attrs.frozen
class Received:
    """A request; ``error`` is MARSHALLINGERROR when its body did not decode."""

    xid: int
    op: int
    request: Request | None
    error: int = 0


Event = FourLetterWord | Connect | Received


class ClientConnection:
    """Protocol state of one client connection. Owned by the server core."""

    def __init__(
        self, conn_id: int, address: str, port: int, *, max_frame: int, max_outbox: int = 1 << 26
    ) -> None:
        self.conn_id = conn_id
        self.max_outbox = max_outbox
        #: called when the outbox goes from empty to non-empty (the shell wakes its writer)
        self.notify: Callable[[], None] | None = None
        self.address = address
        self.port = port
        self.state = ConnState.HANDSHAKE
        self.decoder = FrameDecoder(max_frame)
        self.outbox = bytearray()
        self.session_id = 0
        self.timeout = 0
        self.identities: tuple[Id, ...] = (Id("ip", address),)
        self.read_only_flag: bool | None = None
        #: requests pipelined behind the ConnectRequest, answered once the session is up
        self.held_requests: list[Received] = []
        self.close_reason = ""
        # statistics for stat / cons
        self.received = 0
        self.sent = 0
        #: the server-wide counters, set by the core when it takes the connection
        self.totals: PacketCounters | None = None
        self.outstanding = 0
        self.last_op = "NA"
        self.last_cxid = -1
        self.last_zxid = -1
        self.last_response_ms = 0
        self.last_latency = 0
        self.min_latency = 0
        self.max_latency = 0
        self.total_latency = 0
        self.latency_count = 0
        self.established_ms = 0

    # --- input ---------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> list[Event]:
        """Feed received bytes; return the events they complete.

        Sets :attr:`state` to CLOSING (with :attr:`close_reason`) on a fatal protocol error;
        events decoded before the error are still returned.
        """
        if self.state in (ConnState.CLOSING, ConnState.CLOSED):
            return []
        events: list[Event] = []
        if self.state is ConnState.HANDSHAKE and self.decoder.buffered == 0 and len(data) >= 4:
            word = _four_letter_word(data[:4])
            if word is not None:
                self._count_received()
                self.state = ConnState.CLOSING
                self.close_reason = f"four-letter word {word}"
                return [FourLetterWord(word)]
        try:
            self.decoder.feed(data)
            for payload in self.decoder:
                if self.state is ConnState.HANDSHAKE:
                    self._count_received()
                    events.append(Connect(decode_connect_request(payload)))
                    self.state = ConnState.CONNECTING
                    continue
                event = self._decode_request(payload)
                if event is None:
                    break
                events.append(event)
        except CodecError as exc:
            self.close(f"bad frame: {exc}")
        return events

    def _count_received(self) -> None:
        # Fix (test_packet_counters_count_every_frame): ZooKeeper counts every packet, the
        # ConnectRequest and a four-letter word included, per connection and server-wide.
        self.received += 1
        if self.totals is not None:
            self.totals.received += 1

    def _count_sent(self) -> None:
        # Fix (test_packet_counters_count_every_frame): likewise every packet sent: the
        # ConnectResponse, replies, notifications and a four-letter word's answer.
        self.sent += 1
        if self.totals is not None:
            self.totals.sent += 1

    def _decode_request(self, payload: bytes) -> Received | None:
        self._count_received()
        try:
            header = decode_request_header(payload)
        except CodecError as exc:
            self.close(f"bad request header: {exc}")
            return None
        if header.type == OpCode.DELETE_CONTAINER:
            # Fix (test_delete_container_from_a_client_is_bad_arguments): ZooKeeper 3.8
            # accepts this internal op from clients, but reads the path from the whole
            # packet, request header included, whose zero bytes always fail the path check:
            # a failed write (BADARGUMENTS, a zxid consumed), the connection stays open.
            return Received(header.xid, header.type, None, ErrorCode.BADARGUMENTS)
        if header.type not in _KNOWN_OPS:
            self.send_reply(header.xid, 0, ErrorCode.UNIMPLEMENTED, None)
            self.close(f"unknown op code {header.type}")
            return None
        try:
            record = decode_request(header.type, payload, 8)
        except CodecError:
            return Received(header.xid, header.type, None, ErrorCode.MARSHALLINGERROR)
        return Received(header.xid, header.type, record)

    # --- output --------------------------------------------------------------------------

    def _queue(self, frame: bytes) -> None:
        if self.state is ConnState.CLOSED:
            return
        was_empty = not self.outbox
        self.outbox += frame
        if len(self.outbox) > self.max_outbox:
            # A client that does not read its replies is cut off, not buffered forever.
            self.outbox.clear()
            self.close("slow reader: too many unread replies")
        if was_empty and self.notify is not None:
            self.notify()

    def send_connect_response(self, response: ConnectResponse) -> None:
        self._queue(encode_connect_response(response))
        self._count_sent()

    def send_reply(self, xid: int, zxid: int, err: int, response: Response | None) -> None:
        """Queue one reply frame."""
        self._queue(encode_reply(xid, zxid, err, response))
        self._count_sent()

    def send_raw(self, frame: bytes) -> None:
        """Queue an already encoded frame (e.g. a notification shared by many connections)."""
        self._queue(frame)
        self._count_sent()

    def send_text(self, text: str) -> None:
        """Queue plain text (a four-letter word's answer)."""
        self._queue(text.encode("utf-8"))
        self._count_sent()

    def send_event(self, event: WatcherEvent, zxid: int = -1) -> None:
        self.send_raw(encode_notification(event, zxid))

    def take_outbox(self) -> bytes:
        """Everything queued for sending; the outbox is empty afterwards."""
        data = bytes(self.outbox)
        self.outbox.clear()
        return data

    def close(self, reason: str) -> None:
        """Stop taking input; the shell flushes the outbox, then closes the socket."""
        if self.state is not ConnState.CLOSED:
            self.state = ConnState.CLOSING
            self.close_reason = self.close_reason or reason
            if self.notify is not None:
                self.notify()

    @property
    def is_open(self) -> bool:
        return self.state not in (ConnState.CLOSING, ConnState.CLOSED)

    # --- statistics ----------------------------------------------------------------------

    def record_latency(self, latency_ms: int) -> None:
        self.last_latency = latency_ms
        if self.latency_count == 0 or latency_ms < self.min_latency:
            self.min_latency = latency_ms
        self.max_latency = max(self.max_latency, latency_ms)
        self.total_latency += latency_ms
        self.latency_count += 1

    def reset_stats(self) -> None:
        self.received = self.sent = 0
        self.last_latency = self.min_latency = self.max_latency = 0
        self.total_latency = self.latency_count = 0
        self.last_op = "NA"
        self.last_cxid = self.last_zxid = -1
        self.last_response_ms = 0


def _four_letter_word(first4: bytes) -> str | None:
    if first4 == _TELNET_CLOSE:
        return "telnet close"
    try:
        text = first4.decode("ascii")
    except UnicodeDecodeError:
        return None
    return text if text in FOUR_LETTER_WORDS else None
