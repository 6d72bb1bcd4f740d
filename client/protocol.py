"""The client side of ZooKeeper's wire protocol for one session, sans-IO (h11's shape).

Theory of operation
-------------------
A session outlives its connections. :class:`ClientProtocol` keeps what survives them (the
session id and password, the negotiated timeout, the last zxid seen, the next xid, the
identities to re-send and the watches to re-arm) and, for the current connection, the frame
decoder and the requests still waiting for their replies. It never touches a socket or a
clock: the caller moves the bytes and decides when to ping or give up::

    sock.send(proto.connect())          # ConnectRequest, then auth and SetWatches2 (pipelined)
    proto.receive_data(sock.recv())     # b"" means EOF
    while (event := proto.next_event()) is not NEED_DATA:
        ...                             # SessionEstablished, Reply, WatchFired, ...
    xid, data = proto.send(OpCode.GET_DATA, GetDataRequest("/a", False))
    sock.send(proto.ping())             # when nothing was sent for a third of the timeout
    failed = proto.connection_lost()    # the connection died: these xids get no reply

Rules it enforces (wire sheet sections in brackets):

* the first frame of a connection is the ConnectResponse; ``timeOut <= 0`` means the session
  expired [3.3]; it is then dead for good;
* replies come back in request order; anything else is a :class:`ProtocolViolation` [4.3].
  Pings (xid -2) and auth (xid -4) are answered out of band and matched separately;
* ``last_zxid_seen`` only grows, from ordinary replies with a positive zxid [4.3]; it goes in
  every ConnectRequest, so a server that is behind refuses us instead of going back in time;
* xids run 1, 2, ... 2**31-1, 1, ... across reconnects, never -1, -2, -4 or -8 [4.2];
* on every connection, after the ConnectRequest: one AuthPacket per identity added so far,
  then SetWatches2 batches re-arming the :class:`~client.watch_table.WatchTable` relative
  to ``last_zxid_seen`` [3.4, 12.6]. Their replies are consumed here.

Connection states and the moves allowed between them are in :data:`ALLOWED_TRANSITIONS`;
calling a method in a state that does not allow it raises :class:`UsageError`.
"""

from __future__ import annotations

import contextlib
import enum
from collections import deque
from typing import TypeAlias

import attrs

from client.errors import CodecError, ProtocolViolation, UsageError
from client.watch_table import WatchTable
from znode.codec import (
    decode_connect_response,
    decode_notification,
    decode_reply_header,
    decode_response,
    encode_connect_request,
    encode_request,
)
from znode.framing import FrameDecoder
from znode.jute import JUTE_MAXBUFFER
from znode.opcodes import OpCode
from znode.records import AuthPacket, ConnectRequest, Request, Response

NOTIFICATION_XID = -1
PING_XID = -2
AUTH_XID = -4
MAX_XID = 2**31 - 1
#: Frames from the server may be larger than what it accepts (a getData of the largest node).
CLIENT_MAX_FRAME = 4 * JUTE_MAXBUFFER


class _Sentinel(type):
    def __repr__(cls) -> str:
        return cls.__name__


class NEED_DATA(metaclass=_Sentinel):
    """:meth:`ClientProtocol.next_event` has no complete event: feed more bytes."""


class ConnState(enum.Enum):
    """Where the protocol is with its current connection."""

    IDLE = "idle"  # never connected
    CONNECTING = "connecting"  # ConnectRequest sent, no ConnectResponse yet
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"  # the last connection is gone; the session may live on
    EXPIRED = "expired"  # the session is gone for good
    CLOSED = "closed"  # closed by us


ALLOWED_TRANSITIONS: dict[ConnState, frozenset[ConnState]] = {
    ConnState.IDLE: frozenset({ConnState.CONNECTING, ConnState.CLOSED}),
    ConnState.CONNECTING: frozenset(
        {ConnState.CONNECTED, ConnState.DISCONNECTED, ConnState.EXPIRED, ConnState.CLOSED}
    ),
    ConnState.CONNECTED: frozenset({ConnState.DISCONNECTED, ConnState.CLOSED}),
    ConnState.DISCONNECTED: frozenset({ConnState.CONNECTING, ConnState.EXPIRED, ConnState.CLOSED}),
    ConnState.EXPIRED: frozenset({ConnState.CLOSED}),
    ConnState.CLOSED: frozenset(),
}


# --- events ----------------------------------------------------------------------------------


@attrs.frozen
class SessionEstablished:
    """The ConnectResponse accepted the session (``resumed``: an existing one)."""

    session_id: int
    timeout_ms: int
    read_only: bool
    resumed: bool


@attrs.frozen
class SessionExpired:
    """The ConnectResponse said the session no longer exists. Terminal."""


@attrs.frozen
class Reply:
    """The reply to the request sent with ``xid`` (``response`` is ``None`` when ``err``)."""

    xid: int
    op: int
    zxid: int
    err: int
    response: Response | None


@attrs.frozen
class WatchFired:
    """A watch notification; ``path`` is the server path."""

    type: int
    state: int
    path: str
    zxid: int


@attrs.frozen
class AuthReply:
    """The answer to an AuthPacket; ``replayed`` when it was re-sent on a new connection."""

    scheme: str
    credential: bytes
    err: int
    replayed: bool


@attrs.frozen
class ConnectionClosed:
    """The server closed the connection (EOF after the last complete frame)."""


Event: TypeAlias = (
    SessionEstablished | SessionExpired | Reply | WatchFired | AuthReply | ConnectionClosed
)


@attrs.frozen
class _Pending:
    xid: int
    op: int
    request: Request | None
    internal: bool = False


@attrs.frozen
class _PendingAuth:
    scheme: str
    credential: bytes
    replayed: bool


class ClientProtocol:
    """One session's protocol state (see the module docstring).

    Args:
        timeout_ms: the session timeout to ask for (the server clamps it).
        read_only: accept a read-only server.
        max_frame: the largest frame accepted from the server.
    """

    def __init__(
        self, *, timeout_ms: int, read_only: bool = False, max_frame: int = CLIENT_MAX_FRAME
    ) -> None:
        self.requested_timeout_ms = timeout_ms
        self.read_only = read_only
        self.max_frame = max_frame
        self.state = ConnState.IDLE
        self.session_id = 0
        self.password = bytes(16)
        #: the timeout the server granted (0 until the first session is established)
        self.timeout_ms = 0
        #: whether the current server is a read-only one
        self.read_only_server = False
        self.last_zxid_seen = 0
        self.watches = WatchTable()
        #: identities re-sent on every connection, in the order they were added
        self.auths: list[tuple[str, bytes]] = []
        self._xid = 0
        self._pending: deque[_Pending] = deque()
        self._pending_auth: deque[_PendingAuth] = deque()
        self._decoder = FrameDecoder(max_frame)
        self._eof = False

    # --- state -------------------------------------------------------------------------------

    def _transition(self, new: ConnState) -> None:
        if new not in ALLOWED_TRANSITIONS[self.state]:
            raise UsageError(f"cannot go from {self.state.value} to {new.value}")
        self.state = new

    def _require(self, *states: ConnState) -> None:
        if self.state not in states:
            raise UsageError(f"not allowed while {self.state.value}")

    @property
    def pending(self) -> int:
        """How many ordinary requests wait for their replies on this connection."""
        return len(self._pending)

    def _next_xid(self) -> int:
        self._xid = self._xid + 1 if self._xid < MAX_XID else 1
        return self._xid

    # --- sending -----------------------------------------------------------------------------

    def connect(self) -> bytes:
        """Start a new connection: the bytes to send first.

        That is the ConnectRequest (resuming the session if there is one), then the
        identities to re-send and the SetWatches2 batches, pipelined behind it.
        """
        self._transition(ConnState.CONNECTING)
        self._decoder = FrameDecoder(self.max_frame)
        self._eof = False
        request = ConnectRequest(
            0,
            self.last_zxid_seen,
            self.requested_timeout_ms,
            self.session_id,
            self.password,
            self.read_only,
        )
        frames = [encode_connect_request(request)]
        frames.extend(self._auth_frame(scheme, cred, True) for scheme, cred in self.auths)
        frames.extend(
            self._request_frame(OpCode.SET_WATCHES2, batch, internal=True)[1]
            for batch in self.watches.set_watches(self.last_zxid_seen)
        )
        return b"".join(frames)

    def _request_frame(
        self, op: int, request: Request | None, *, internal: bool = False
    ) -> tuple[int, bytes]:
        xid = self._next_xid()
        data = encode_request(xid, op, request)
        self._pending.append(_Pending(xid, op, request, internal))
        return xid, data

    def send(self, op: int, request: Request | None = None) -> tuple[int, bytes]:
        """Encode an ordinary request; return its xid and the bytes to send.

        Raises:
            UsageError: no connection, or ``op`` is ping or auth (use :meth:`ping`,
                :meth:`add_auth`).
            CodecError: ``request`` is not ``op``'s record.
        """
        self._require(ConnState.CONNECTING, ConnState.CONNECTED)
        if op in (OpCode.PING, OpCode.AUTH):
            raise UsageError(f"op {op} has its own method")
        return self._request_frame(op, request)

    def ping(self) -> bytes:
        """A ping (xid -2); its reply is consumed here."""
        self._require(ConnState.CONNECTED)
        return encode_request(PING_XID, OpCode.PING, None)

    def _auth_frame(self, scheme: str, credential: bytes, replayed: bool) -> bytes:
        self._pending_auth.append(_PendingAuth(scheme, credential, replayed))
        return encode_request(AUTH_XID, OpCode.AUTH, AuthPacket(0, scheme, credential))

    def add_auth(self, scheme: str, credential: bytes) -> bytes:
        """An AuthPacket; once the server accepts it, it is re-sent on every connection."""
        self._require(ConnState.CONNECTING, ConnState.CONNECTED)
        return self._auth_frame(scheme, credential, False)

    # --- receiving ---------------------------------------------------------------------------

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Feed bytes received from the server; ``b""`` means the server closed (EOF)."""
        if not data:
            self._eof = True
            return
        if self.state in (ConnState.CONNECTING, ConnState.CONNECTED):
            # A bad length is raised again by next_event, after the good frames before it.
            with contextlib.suppress(CodecError):
                self._decoder.feed(data)

    def next_event(self) -> Event | type[NEED_DATA]:
        """The next event from the bytes received so far, or :class:`NEED_DATA`.

        Raises:
            ProtocolViolation: the server sent an undecodable or out-of-order frame; the
                connection must be dropped (then call :meth:`connection_lost`).
        """
        while self.state in (ConnState.CONNECTING, ConnState.CONNECTED):
            try:
                payload = self._decoder.next_frame()
            except CodecError as exc:
                raise ProtocolViolation(f"bad frame from the server: {exc}") from exc
            if payload is None:
                break
            try:
                if self.state is ConnState.CONNECTING:
                    return self._handshake(payload)
                event = self._frame(payload)
            except CodecError as exc:
                raise ProtocolViolation(f"undecodable frame from the server: {exc}") from exc
            if event is not None:
                return event
        return ConnectionClosed() if self._eof else NEED_DATA

    def _handshake(self, payload: bytes) -> Event:
        response = decode_connect_response(payload)
        if response.timeout <= 0:
            self._transition(ConnState.EXPIRED)
            self._pending.clear()
            self._pending_auth.clear()
            return SessionExpired()
        resumed = self.session_id != 0
        self.session_id = response.session_id
        self.password = response.passwd
        self.timeout_ms = response.timeout
        self.read_only_server = bool(response.read_only)
        self._transition(ConnState.CONNECTED)
        return SessionEstablished(
            response.session_id, response.timeout, self.read_only_server, resumed
        )

    def _frame(self, payload: bytes) -> Event | None:
        header = decode_reply_header(payload)
        xid = header.xid
        if xid == NOTIFICATION_XID:
            event = decode_notification(payload)
            self.watches.record_event(event.type, event.path)
            return WatchFired(event.type, event.state, event.path, header.zxid)
        if xid == PING_XID:
            return None
        if xid == AUTH_XID:
            return self._auth_reply(header.err)
        if not self._pending:
            raise ProtocolViolation(f"reply with xid {xid} but no request is pending")
        pending = self._pending[0]
        if pending.xid != xid:
            raise ProtocolViolation(f"reply with xid {xid}, expected {pending.xid}")
        self._pending.popleft()
        if header.zxid > self.last_zxid_seen:
            self.last_zxid_seen = header.zxid
        response = None if header.err else decode_response(pending.op, payload)
        self.watches.record_reply(pending.op, pending.request, header.err)
        if pending.internal:
            return None
        return Reply(xid, pending.op, header.zxid, header.err, response)

    def _auth_reply(self, err: int) -> AuthReply:
        if not self._pending_auth:
            raise ProtocolViolation("auth reply but no AuthPacket is pending")
        auth = self._pending_auth.popleft()
        entry = (auth.scheme, auth.credential)
        if err == 0 and entry not in self.auths:
            self.auths.append(entry)
        elif err and auth.replayed and entry in self.auths:
            self.auths.remove(entry)
        return AuthReply(auth.scheme, auth.credential, err, auth.replayed)

    # --- endings -----------------------------------------------------------------------------

    def connection_lost(self) -> list[int]:
        """The connection is gone; return the xids of the requests that got no reply.

        Those requests may or may not have been applied. The session lives on until the
        server expires it; call :meth:`connect` to resume it.
        """
        failed = [p.xid for p in self._pending if not p.internal]
        self._pending.clear()
        self._pending_auth.clear()
        self._eof = False
        if self.state in (ConnState.CONNECTING, ConnState.CONNECTED):
            self._transition(ConnState.DISCONNECTED)
        return failed

    def expire(self) -> None:
        """Declare the session expired without a server saying so (no server was reachable
        for longer than the session could live)."""
        if self.state is not ConnState.EXPIRED:
            self._transition(ConnState.EXPIRED)

    def close(self) -> None:
        """The session is closed by us (after closeSession, or abandoned)."""
        if self.state is not ConnState.CLOSED:
            self._transition(ConnState.CLOSED)
