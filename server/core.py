"""The server's core: ZooKeeper's request processors as one plain object.

:class:`ServerCore` owns the tree, the prepare view, the watches, the session tracker and
the connections, and is driven by the trio shell through synchronous calls:

* :meth:`receive` — events decoded by a :class:`~server.client_conn.ClientConnection`;
* :meth:`committed` — the commit step reports that txns up to a zxid are durable
  (standalone: fsynced to the log; in an ensemble: committed by a quorum);
* :meth:`tick` — time passes: sessions expire, containers and TTL nodes are reaped.

Writes are prepared at once (PrepRequestProcessor), handed to ``propose`` (the seam the
ensemble replaces), and applied when committed (FinalRequestProcessor): watches fire, the
writer gets its reply. Replies and events are encoded into each connection's outbox, in
the order the client must see them. Nothing here awaits, so no other task can observe a
half-done change.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable

from server.client_conn import ClientConnection, Connect, ConnState, Received
from server.local_ops import authenticate, set_watches, who_am_i
from server.pipeline import CommitQueue, HeldRequest, PendingWrite, WriteKind
from server.sessions import SessionTracker
from server.settings import CoreSettings
from znode.codec import encode_notification
from znode.errors import ErrorCode, ZooKeeperError
from znode.events import EventType, KeeperState, WatchTrigger
from znode.opcodes import WRITE_OPS, OpCode
from znode.prepare import (
    PrepView,
    prepare,
    prepare_close_session,
    prepare_create_session,
    prepare_delete_container,
)
from znode.reads import read, write_response
from znode.records import (
    AddWatchRequest,
    AuthPacket,
    CheckWatchesRequest,
    ConnectResponse,
    ErrorResponse,
    RemoveWatchesRequest,
    Response,
    SetSASLResponse,
    SetWatches,
    SetWatches2,
    WatcherEvent,
)
from znode.tree import DataTree
from znode.txn import CONTAINER_OWNER, ErrorTxn, Txn, TxnHeader
from znode.watches import WatchKind, WatchTable

Propose = Callable[[TxnHeader, Txn], None]

_NO_PASSWORD = bytes(16)
_MASK64 = 2**64 - 1

#: ZooKeeper's four-character names of ops, shown by ``cons``.
OP_NAMES: dict[int, str] = {
    OpCode.CREATE: "CREA",
    OpCode.CREATE2: "CREA",
    OpCode.CREATE_CONTAINER: "CREA",
    OpCode.CREATE_TTL: "CREA",
    OpCode.DELETE: "DELE",
    OpCode.EXISTS: "EXIS",
    OpCode.GET_DATA: "GETD",
    OpCode.SET_DATA: "SETD",
    OpCode.GET_ACL: "GETA",
    OpCode.SET_ACL: "SETA",
    OpCode.GET_CHILDREN: "GETC",
    OpCode.GET_CHILDREN2: "GETC",
    OpCode.SYNC: "SYNC",
    OpCode.PING: "PING",
    OpCode.MULTI: "MULT",
    OpCode.MULTI_READ: "MLTR",
    OpCode.CLOSE_SESSION: "CLOS",
    OpCode.SET_WATCHES: "SETW",
    OpCode.SET_WATCHES2: "STW2",
    OpCode.ADD_WATCH: "ADDW",
    OpCode.CHECK_WATCHES: "CHKW",
    OpCode.REMOVE_WATCHES: "REMW",
    OpCode.GET_EPHEMERALS: "GETE",
    OpCode.GET_ALL_CHILDREN_NUMBER: "GETACN",
    OpCode.WHO_AM_I: "HOMI",
    OpCode.RECONFIG: "RECO",
    OpCode.SASL: "SASL",
    OpCode.AUTH: "AUTH",
}

_WATCHED_READS: dict[int, WatchKind] = {
    OpCode.GET_DATA: WatchKind.DATA,
    OpCode.GET_CHILDREN: WatchKind.CHILD,
    OpCode.GET_CHILDREN2: WatchKind.CHILD,
}


class ServerCore:
    """Everything a standalone server (or an ensemble member's client side) decides."""

    def __init__(
        self,
        settings: CoreSettings,
        tree: DataTree,
        *,
        propose: Propose,
        now: int,
        wall_offset: int,
        secret: bytes,
    ) -> None:
        self.settings = settings
        self.tree = tree
        self.view = PrepView(tree)
        self.watches = WatchTable()
        self.tracker = SessionTracker(settings.tick_ms)
        self.queue = CommitQueue()
        self.propose = propose
        self.wall_offset = wall_offset
        self.secret = secret
        self.connections: dict[int, ClientConnection] = {}
        self.session_conns: dict[int, ClientConnection] = {}
        self.last_proposed = tree.last_zxid
        self._next_session = _first_session_id(settings.server_id, now + wall_offset)
        self._next_reap = now + settings.container_check_interval_ms
        self.serving = True
        self.stats = CoreStats()
        for session_id, timeout in tree.sessions.items():
            self.tracker.add(session_id, timeout, now)

    # --- sessions -----------------------------------------------------------------------

    def password(self, session_id: int) -> bytes:
        """The session's password: a keyed hash only servers holding the secret can make."""
        raw = (session_id & _MASK64).to_bytes(8, "big")
        return hmac.new(self.secret, raw, hashlib.sha256).digest()[:16]

    def _new_session_id(self) -> int:
        while True:
            candidate = _signed64(self._next_session)
            self._next_session += 1
            if candidate not in (0, CONTAINER_OWNER) and candidate not in self.tree.sessions:
                return candidate

    def negotiate_timeout(self, requested: int) -> int:
        low, high = self.settings.min_session_timeout, self.settings.max_session_timeout
        return max(low, min(high, requested))

    # --- connections ----------------------------------------------------------------------

    def open(self, conn: ClientConnection, now: int) -> None:
        self.connections[conn.conn_id] = conn
        conn.established_ms = now + self.wall_offset
        conn.totals = self.stats  # the connection counts its packets server-wide too

    def lost(self, conn: ClientConnection) -> None:
        """The socket is gone: forget the connection (its session lives on until expiry)."""
        self.connections.pop(conn.conn_id, None)
        conn.state = ConnState.CLOSED
        self.watches.drop_watcher(conn.conn_id)
        if self.session_conns.get(conn.session_id) is conn:
            del self.session_conns[conn.session_id]

    def receive(self, conn: ClientConnection, events: Iterable[object], now: int) -> None:
        """Handle what a connection decoded."""
        for event in events:
            if not conn.is_open:
                return
            if isinstance(event, Received):
                if conn.state is ConnState.CONNECTING:
                    conn.held_requests.append(event)
                else:
                    self._request(conn, event, now)
            elif isinstance(event, Connect):
                self._connect(conn, event, now)

    def _connect(self, conn: ClientConnection, event: Connect, now: int) -> None:
        req = event.request
        if not self.serving or req.last_zxid_seen > self.tree.last_zxid:
            reason = "not serving" if not self.serving else "client has seen a newer zxid"
            conn.close(reason)
            return
        conn.read_only_flag = req.read_only
        timeout = self.negotiate_timeout(req.timeout)
        if req.session_id == 0:
            session_id = self._new_session_id()
            conn.session_id, conn.timeout = session_id, timeout
            self.tracker.add(session_id, timeout, now)
            header, txn = prepare_create_session(
                session_id, timeout, zxid=self._next_zxid(), time=now + self.wall_offset
            )
            self._submit(PendingWrite(header, txn, WriteKind.CREATE_SESSION, conn, 0, 0, now), None)
            return
        session_id = req.session_id
        other = self.session_conns.get(session_id)
        if other is not None and other is not conn:
            other.close("session resumed on another connection")
        if not self.tracker.is_open(session_id) or not hmac.compare_digest(
            req.passwd, self.password(session_id)
        ):
            conn.send_connect_response(ConnectResponse(0, 0, 0, _NO_PASSWORD, req.read_only))
            conn.close("session expired or bad password")
            return
        conn.session_id, conn.timeout = session_id, timeout
        self.tracker.set_timeout(session_id, timeout, now)
        self._established(conn, now)

    def _established(self, conn: ClientConnection, now: int) -> None:
        # The readOnly byte is answered iff the client sent it; we are never read-only.
        read_only = None if conn.read_only_flag is None else False
        password = self.password(conn.session_id)
        conn.send_connect_response(
            ConnectResponse(0, conn.timeout, conn.session_id, password, read_only)
        )
        conn.state = ConnState.CONNECTED
        self.session_conns[conn.session_id] = conn
        held, conn.held_requests = conn.held_requests, []
        for event in held:
            if conn.is_open:
                self._request(conn, event, now)

    # --- requests -------------------------------------------------------------------------

    def _request(self, conn: ClientConnection, event: Received, now: int) -> None:
        session_id = conn.session_id
        conn.last_op = OP_NAMES.get(event.op, "NA")
        conn.last_cxid = event.xid
        if not self.tracker.touch(session_id, now):
            conn.send_reply(event.xid, self.tree.last_zxid, ErrorCode.SESSIONEXPIRED, None)
            conn.close("session expired")
            return
        op = event.op
        if op == OpCode.AUTH:  # out of band, as in ZooKeeper
            self._auth(conn, event)
            return
        if op == OpCode.SASL and (event.error or getattr(event.request, "token", None) is None):
            # Fix (test_out_of_band_request_that_does_not_decode_closes_without_a_reply):
            # ZooKeeper reads SASL requests outside its request pipeline too; a body that
            # does not decode, or a null token, throws there and drops the connection.
            conn.close("malformed sasl request")
            return
        if op in WRITE_OPS or op == OpCode.CLOSE_SESSION:
            self._write(conn, event, now)
            return
        if self.queue.must_wait(session_id):
            self.queue.hold(session_id, HeldRequest(conn, event, now))
            return
        self._answer(conn, event, now)

    def _write(self, conn: ClientConnection, event: Received, now: int) -> None:
        zxid = self._next_zxid()
        wall = now + self.wall_offset
        kind = WriteKind.REQUEST
        if event.error:
            header = TxnHeader(conn.session_id, event.xid, zxid, wall, OpCode.ERROR)
            txn: Txn = ErrorTxn(event.error)
        elif event.op == OpCode.CLOSE_SESSION:
            kind = WriteKind.CLOSE_SESSION
            self.tracker.set_closing(conn.session_id)
            header, txn = prepare_close_session(
                self.view, conn.session_id, cxid=event.xid, zxid=zxid, time=wall
            )
        else:
            header, txn = prepare(
                self.view,
                event.op,
                event.request,
                session_id=conn.session_id,
                cxid=event.xid,
                zxid=zxid,
                time=wall,
                identities=conn.identities,
                ttl_enabled=self.settings.ttl_enabled,
            )
        conn.outstanding += 1
        write = PendingWrite(header, txn, kind, conn, event.xid, event.op, now)
        self._submit(write, conn.session_id)

    def _submit(self, write: PendingWrite, session_id: int | None) -> None:
        self.queue.add_write(write, session_id)
        self.last_proposed = write.header.zxid
        self.propose(write.header, write.txn)

    def _next_zxid(self) -> int:
        return self.last_proposed + 1

    def _auth(self, conn: ClientConnection, event: Received) -> None:
        packet = event.request
        if not isinstance(packet, AuthPacket):
            # Fix (test_out_of_band_request_that_does_not_decode_closes_without_a_reply):
            # ZooKeeper reads AuthPackets outside its request pipeline; a body that does not
            # decode throws there and drops the connection without a reply.
            conn.close("malformed auth packet")
            return
        try:
            conn.identities = authenticate(
                conn.identities, packet, super_digest=self.settings.super_digest
            )
        except ZooKeeperError:
            self.stats.auth_failed += 1
            conn.send_reply(event.xid, 0, ErrorCode.AUTHFAILED, None)
            conn.close("authentication failed")
            return
        conn.send_reply(event.xid, 0, 0, None)

    def _answer(self, conn: ClientConnection, event: Received, now: int) -> None:
        """Answer a request that needs no txn, against the tree as it is now."""
        op, request, xid = event.op, event.request, event.xid
        zxid = self.tree.last_zxid
        err = event.error
        body: Response | None = None
        if err:
            pass
        elif op == OpCode.PING:
            xid = -2
        elif op in (OpCode.SET_WATCHES, OpCode.SET_WATCHES2):
            assert isinstance(request, (SetWatches, SetWatches2))
            for trigger in set_watches(self.tree, self.watches, conn.conn_id, request):
                event_type, path = trigger
                conn.send_event(WatcherEvent(event_type, KeeperState.SYNC_CONNECTED, path))
        elif op == OpCode.ADD_WATCH:
            assert isinstance(request, AddWatchRequest)
            kind = WatchKind.PERSISTENT if request.mode == 0 else WatchKind.PERSISTENT_RECURSIVE
            if request.mode not in (0, 1):
                # Fix (test_bad_watch_mode_or_type_is_a_marshalling_error): ZooKeeper's
                # WatcherMode.fromZooDef throws, which it answers as MARSHALLINGERROR.
                err = ErrorCode.MARSHALLINGERROR
            else:
                self.watches.add(request.path, conn.conn_id, kind)
                body = ErrorResponse(0)
        elif op in (OpCode.CHECK_WATCHES, OpCode.REMOVE_WATCHES):
            assert isinstance(request, (CheckWatchesRequest, RemoveWatchesRequest))
            if request.type not in (1, 2, 3):
                # Fix (test_bad_watch_mode_or_type_is_a_marshalling_error): ZooKeeper's
                # WatcherType.fromInt throws, which it answers as MARSHALLINGERROR.
                err = ErrorCode.MARSHALLINGERROR
            elif op == OpCode.CHECK_WATCHES:
                if not self.watches.contains(request.path, conn.conn_id, request.type):
                    err = ErrorCode.NOWATCHER
            elif not self.watches.remove(request.path, conn.conn_id, request.type):
                err = ErrorCode.NOWATCHER
        elif op == OpCode.WHO_AM_I:
            body = who_am_i(conn.identities)
        elif op == OpCode.SASL:
            # No SASL configured: ZooKeeper answers a null token. Fix (test_sasl_without_
            # sasl_configured_answers_ok_and_a_null_token): out of band, as auth is, so with
            # zxid 0 and without touching the connection's lzxid or latency stats.
            conn.send_reply(xid, 0, 0, SetSASLResponse(None))
            return
        else:
            try:
                body = read(
                    self.tree, op, request, identities=conn.identities, session_id=conn.session_id
                )
            except ZooKeeperError as exc:
                err = exc.code
            watch_kind = _WATCHED_READS.get(op)
            if op == OpCode.EXISTS and getattr(request, "watch", False):
                if err in (0, ErrorCode.NONODE):
                    self.watches.add(request.path, conn.conn_id, WatchKind.EXIST)  # type: ignore[union-attr]
            elif watch_kind is not None and not err and getattr(request, "watch", False):
                self.watches.add(request.path, conn.conn_id, watch_kind)  # type: ignore[union-attr]
        conn.send_reply(xid, zxid, err, body)
        self._answered(conn, zxid, now, now)

    def _answered(self, conn: ClientConnection, zxid: int, received_ms: int, now: int) -> None:
        latency = max(0, now - received_ms)
        conn.record_latency(latency)
        conn.last_zxid = zxid
        conn.last_response_ms = now + self.wall_offset
        self.stats.record_latency(latency)

    # --- commits ----------------------------------------------------------------------------

    def committed(self, zxid: int, now: int) -> None:
        """Apply every pending write with a zxid up to ``zxid``, in order."""
        while True:
            write = self.queue.pop_committed(zxid)
            if write is None:
                return
            self._apply(write, now)

    def _apply(self, write: PendingWrite, now: int) -> None:
        header = write.header
        result = self.tree.apply(header, write.txn)
        self.view.applied(header.zxid)
        self.stats.txns_applied += 1
        if result.triggers:
            self._fire(result.triggers)
        conn = write.conn
        kind = write.kind
        if kind is WriteKind.CREATE_SESSION:
            if conn is not None and conn.is_open:
                self._established(conn, now)
            return
        if kind in (WriteKind.CLOSE_SESSION, WriteKind.EXPIRE_SESSION):
            session_id = header.session_id
            self.tracker.remove(session_id)
            owner = self.session_conns.pop(session_id, None)
            if kind is WriteKind.EXPIRE_SESSION:
                if owner is not None:
                    owner.close("session expired")
                return
        if conn is None:
            return
        conn.outstanding -= 1
        if conn.is_open:
            err, body = write_response(write.op, result)
            conn.send_reply(write.xid, header.zxid, err, body)
            self._answered(conn, header.zxid, write.received_ms, now)
            if kind is WriteKind.CLOSE_SESSION:
                conn.close("session closed")
        for held in self.queue.release(conn.session_id, write):
            if held.conn.is_open:
                self._answer(held.conn, held.request, now)

    def _fire(self, triggers: tuple[WatchTrigger, ...]) -> None:
        frames: dict[WatchTrigger, bytes] = {}
        connections = self.connections
        for watcher, trigger in self.watches.fire(triggers):
            conn = connections.get(watcher)  # type: ignore[call-overload]
            if conn is None or not conn.is_open:
                continue
            frame = frames.get(trigger)
            if frame is None:
                frame = encode_notification(
                    WatcherEvent(trigger.type, KeeperState.SYNC_CONNECTED, trigger.path)
                )
                frames[trigger] = frame
            conn.send_raw(frame)

    # --- time -----------------------------------------------------------------------------

    def tick(self, now: int) -> None:
        """Expire sessions whose bucket is due, and reap containers / TTL nodes when due."""
        for session_id in self.tracker.expire(now):
            header, txn = prepare_close_session(
                self.view, session_id, cxid=0, zxid=self._next_zxid(), time=now + self.wall_offset
            )
            self._submit(PendingWrite(header, txn, WriteKind.EXPIRE_SESSION), None)
            self.stats.sessions_expired += 1
        if now >= self._next_reap:
            self._next_reap = now + self.settings.container_check_interval_ms
            self._reap(now)

    def _reap(self, now: int) -> None:
        wall = now + self.wall_offset
        budget = self.settings.container_max_per_minute
        for path in self.tree.reap_candidates(wall):
            if budget <= 0:
                break
            if self.view.lookup(path) is None:
                continue  # already on its way out
            header, txn = prepare_delete_container(
                self.view, path, zxid=self._next_zxid(), time=wall
            )
            self._submit(PendingWrite(header, txn, WriteKind.REAP), None)
            budget -= 1

    def next_deadline(self) -> int | None:
        """When :meth:`tick` next has something to do (monotonic ms)."""
        expiry = self.tracker.next_expiry()
        return self._next_reap if expiry is None else min(expiry, self._next_reap)

    @property
    def outstanding(self) -> int:
        return self.queue.outstanding


class CoreStats:
    """Server-wide counters for the four-letter words and metrics."""

    def __init__(self) -> None:
        self.reset()
        self.txns_applied = 0
        self.sessions_expired = 0
        self.auth_failed = 0

    def reset(self) -> None:
        self.received = 0
        self.sent = 0
        self.min_latency = 0
        self.max_latency = 0
        self.total_latency = 0
        self.latency_count = 0

    def record_latency(self, latency: int) -> None:
        if self.latency_count == 0 or latency < self.min_latency:
            self.min_latency = latency
        self.max_latency = max(self.max_latency, latency)
        self.total_latency += latency
        self.latency_count += 1


def _first_session_id(server_id: int, wall_ms: int) -> int:
    """ZooKeeper's layout: server id in the top byte, then the clock in ms, then a counter."""
    base = ((wall_ms << 24) & _MASK64) >> 8
    return base | ((server_id & 0xFF) << 56)


def _signed64(value: int) -> int:
    value &= _MASK64
    return value - 2**64 if value >= 2**63 else value


__all__ = ["OP_NAMES", "CoreStats", "EventType", "ServerCore"]
