"""The server's core: ZooKeeper's request processors as one plain object.

:class:`ServerCore` owns the tree, the prepare view, the watches, the session tracker and
the connections, and is driven by the trio shell through synchronous calls:

* :meth:`receive` — events decoded by a :class:`~server.client_conn.ClientConnection`;
* :meth:`committed` (standalone) / :meth:`apply_committed` (ensemble) — txns are durable
  and agreed on: apply them, fire watches, answer their writers;
* :meth:`tick` — time passes: sessions expire, containers and TTL nodes are reaped.

Writes are prepared at once (PrepRequestProcessor) and handed to the commit step
(:mod:`server.commit_step`): a standalone log, an ensemble leader's ZAB proposal, or —
on a learner — forwarded to the leader unprepared. Each session's requests are answered
in order (:class:`~server.pipeline.CommitQueue`). Replies and events go into each
connection's outbox, in the order the client must see them. Nothing here awaits, so no
other task can observe a half-done change.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from server.answers import answer
from server.client_conn import ClientConnection, Connect, ConnState, Received
from server.commit_step import (
    FORWARD_CREATE_SESSION,
    FORWARD_WRITE,
    LEARNER,
    STANDALONE,
    CommitStep,
    Forwarded,
    decode_forward,
    decode_sync,
    decode_touches,
    encode_forward,
    encode_sync,
    encode_touches,
)
from server.counters import OP_NAMES, CoreStats
from server.local_ops import authenticate
from server.pipeline import CommitQueue, HeldRequest, PendingWrite, WriteKind
from server.sessions import SessionTracker
from server.settings import CoreSettings
from znode.acl import Id
from znode.codec import (
    decode_request,
    decode_request_header,
    encode_notification,
    encode_request,
)
from znode.errors import CodecError, ErrorCode, ZooKeeperError
from znode.events import KeeperState, WatchTrigger
from znode.opcodes import WRITE_OPS, OpCode
from znode.prepare import (
    PrepView,
    prepare,
    prepare_close_session,
    prepare_create_session,
    prepare_delete_container,
)
from znode.reads import write_response
from znode.records import AuthPacket, ConnectResponse, SyncRequest, SyncResponse, WatcherEvent
from znode.tree import DataTree
from znode.txn import CONTAINER_OWNER, CreateSessionTxn, ErrorTxn, Txn, TxnHeader
from znode.watches import WatchTable

_NO_PASSWORD = bytes(16)
_MASK64 = 2**64 - 1


class ServerCore:
    """Everything a standalone server, or an ensemble member's client side, decides."""

    def __init__(
        self,
        settings: CoreSettings,
        tree: DataTree,
        *,
        step: CommitStep | None,
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
        self.wall_offset = wall_offset
        self.secret = secret
        self.connections: dict[int, ClientConnection] = {}
        self.session_conns: dict[int, ClientConnection] = {}
        self._next_session = _first_session_id(settings.server_id, now + wall_offset)
        self._next_reap = now + settings.container_check_interval_ms
        self.stats = CoreStats()
        self.touched: set[int] = set()  # learner: sessions active since the last report
        self.step: CommitStep | None = None
        self.serving = False
        self.set_step(step, now)

    # --- role ------------------------------------------------------------------------------

    def set_step(self, step: CommitStep | None, now: int) -> None:
        """Serve clients through ``step`` (``None``: stop serving, e.g. during an election).

        Stopping closes every client connection — its client reconnects, to this server
        once it serves again or to another one — and abandons what was pending; sessions
        live on in the replicated tree.
        """
        self.step = step
        self.serving = step is not None
        self.queue.clear()
        self.view.clear()
        if step is None:
            for conn in list(self.connections.values()):
                conn.close("this server is not serving (no quorum or a leader election)")
            self.session_conns.clear()
        self.tracker = SessionTracker(self.settings.tick_ms)
        for session_id, timeout in self.tree.sessions.items():
            self.tracker.add(session_id, timeout, now)

    def install_tree(self, tree: DataTree, now: int) -> None:
        """Replace the whole state (a learner received a snapshot)."""
        self.tree = tree
        self.view = PrepView(tree)
        self.watches = WatchTable()
        self.set_step(self.step, now)

    @property
    def prepares(self) -> bool:
        """Whether writes are prepared here (standalone or leader) rather than forwarded."""
        return self.step is not None and self.step.kind != LEARNER

    # --- sessions -----------------------------------------------------------------------

    def password(self, session_id: int) -> bytes:
        """A new session's password: a keyed hash of its id (stored in its txn)."""
        raw = (session_id & _MASK64).to_bytes(8, "big")
        return hmac.new(self.secret, raw, hashlib.sha256).digest()[:16]

    def _password_ok(self, session_id: int, passwd: bytes) -> bool:
        stored = self.tree.session_passwords.get(session_id)
        if stored is None:
            stored = self.password(session_id)
        return hmac.compare_digest(passwd, stored)

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
            passwd = self.password(session_id)
            write = PendingWrite(None, None, WriteKind.CREATE_SESSION, conn, 0, 0, now)
            if self.prepares:
                write.header, write.txn = prepare_create_session(
                    session_id,
                    timeout,
                    zxid=self._next_zxid(),
                    time=now + self.wall_offset,
                    passwd=passwd,
                )
                self._submit(write, session_id)
            else:
                self.queue.add_write(write, session_id)
                self._forward(
                    Forwarded(FORWARD_CREATE_SESSION, session_id, 0, 0, b"", (), timeout, passwd)
                )
            return
        session_id = req.session_id
        other = self.session_conns.get(session_id)
        if other is not None and other is not conn:
            other.close("session resumed on another connection")
        if not self.tracker.is_open(session_id) or not self._password_ok(session_id, req.passwd):
            conn.send_connect_response(ConnectResponse(0, 0, 0, _NO_PASSWORD, req.read_only))
            conn.close("session expired or bad password")
            return
        conn.session_id, conn.timeout = session_id, timeout
        self.tracker.set_timeout(session_id, timeout, now)
        self._established(conn, now)

    def _established(self, conn: ClientConnection, now: int) -> None:
        # The readOnly byte is answered iff the client sent it; we are never read-only.
        read_only = None if conn.read_only_flag is None else False
        passwd = self.tree.session_passwords.get(conn.session_id) or self.password(conn.session_id)
        conn.send_connect_response(
            ConnectResponse(0, conn.timeout, conn.session_id, passwd, read_only)
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
        if not self.prepares:  # a learner: the leader hears of it with the next ping
            self.touched.add(session_id)
        op = event.op
        if op == OpCode.AUTH:  # out of band, as in ZooKeeper
            self._auth(conn, event)
            return
        if op == OpCode.SASL and (event.error or getattr(event.request, "token", None) is None):
            # ZooKeeper reads SASL requests outside its request pipeline too; a body that
            # does not decode, or a null token, throws there and drops the connection.
            conn.close("malformed sasl request")
            return
        if op in WRITE_OPS or op == OpCode.CLOSE_SESSION:
            self._write(conn, event, now)
            return
        if op == OpCode.SYNC and not self.prepares and not event.error:
            self._forward_sync(conn, event, now)
            return
        if self.queue.must_wait(session_id):
            self.queue.hold(session_id, HeldRequest(conn, event, now))
            return
        answer(self, conn, event, now)

    def _write(self, conn: ClientConnection, event: Received, now: int) -> None:
        kind = WriteKind.CLOSE_SESSION if event.op == OpCode.CLOSE_SESSION else WriteKind.REQUEST
        if kind is WriteKind.CLOSE_SESSION:
            self.tracker.set_closing(conn.session_id)
        conn.outstanding += 1
        write = PendingWrite(None, None, kind, conn, event.xid, event.op, now, event.request)
        if not self.prepares:
            self.queue.add_write(write, conn.session_id)
            frame = b""
            if not event.error and event.op != OpCode.CLOSE_SESSION:
                frame = encode_request(event.xid, event.op, event.request)
            self._forward(
                Forwarded(
                    FORWARD_WRITE,
                    conn.session_id,
                    event.xid,
                    event.op,
                    frame,
                    conn.identities,
                    error=event.error,
                )
            )
            return
        write.header, write.txn = self._prepare(
            conn.session_id, event.xid, event.op, event.request, event.error, conn.identities, now
        )
        self._submit(write, conn.session_id)

    def _prepare(
        self,
        session_id: int,
        xid: int,
        op: int,
        request: object,
        error: int,
        identities: tuple[Id, ...],
        now: int,
    ) -> tuple[TxnHeader, Txn]:
        zxid = self._next_zxid()
        wall = now + self.wall_offset
        if error:
            return TxnHeader(session_id, xid, zxid, wall, OpCode.ERROR), ErrorTxn(error)
        if op == OpCode.CLOSE_SESSION:
            return prepare_close_session(self.view, session_id, cxid=xid, zxid=zxid, time=wall)
        return prepare(
            self.view,
            op,
            request,  # type: ignore[arg-type]
            session_id=session_id,
            cxid=xid,
            zxid=zxid,
            time=wall,
            identities=identities,
            ttl_enabled=self.settings.ttl_enabled,
        )

    def _submit(self, write: PendingWrite, session_id: int | None) -> None:
        assert self.step is not None
        assert write.header is not None
        assert write.txn is not None
        self.queue.add_write(write, session_id)
        self.step.propose(write.header, write.txn)

    def _next_zxid(self) -> int:
        assert self.step is not None
        return self.step.next_zxid()

    def _forward(self, item: Forwarded) -> None:
        assert self.step is not None
        self.step.forward(encode_forward(item))

    def _forward_sync(self, conn: ClientConnection, event: Received, now: int) -> None:
        assert self.step is not None
        write = PendingWrite(
            None, None, WriteKind.SYNC, conn, event.xid, event.op, now, event.request
        )
        conn.outstanding += 1
        self.queue.add_write(write, conn.session_id)
        self.step.forward_sync(encode_sync(conn.session_id, event.xid))

    def _auth(self, conn: ClientConnection, event: Received) -> None:
        packet = event.request
        if not isinstance(packet, AuthPacket):
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

    def answered(self, conn: ClientConnection, zxid: int, received_ms: int, now: int) -> None:
        """Account one reply (latency and last-response statistics)."""
        latency = max(0, now - received_ms)
        conn.record_latency(latency)
        conn.last_zxid = zxid
        conn.last_response_ms = now + self.wall_offset
        self.stats.record_latency(latency)

    # --- the leader's side of forwarded traffic ---------------------------------------------

    def submit_forwarded(self, payload: bytes, now: int) -> None:
        """Leader: prepare and propose a write a learner forwarded."""
        item = decode_forward(payload)
        if item is None or not self.prepares:
            return
        if item.kind == FORWARD_CREATE_SESSION:
            header, created = prepare_create_session(
                item.session_id,
                item.timeout,
                zxid=self._next_zxid(),
                time=now + self.wall_offset,
                passwd=item.passwd,
            )
            self.tracker.add(item.session_id, item.timeout, now)
            self._submit(PendingWrite(header, created, WriteKind.CREATE_SESSION), None)
            return
        self.tracker.touch(item.session_id, now)
        op, request, error = item.op, None, item.error
        if item.frame and not error:
            try:
                if decode_request_header(item.frame[4:]).type != op:
                    raise CodecError("forwarded op does not match its frame")
                request = decode_request(op, item.frame[4:], 8)
            except CodecError:
                error = ErrorCode.MARSHALLINGERROR
        if op == OpCode.CLOSE_SESSION:
            self.tracker.set_closing(item.session_id)
        header, txn = self._prepare(
            item.session_id, item.cxid, op, request, error, item.identities, now
        )
        self._submit(PendingWrite(header, txn, WriteKind.REQUEST, None, item.cxid, op, now), None)

    def touch_sessions(self, payload: bytes, now: int) -> None:
        """Leader: sessions a learner reported active."""
        for session_id in decode_touches(payload):
            self.tracker.touch(session_id, now)

    def take_touches(self) -> bytes:
        """Learner: the sessions active since the last call, for the next ping."""
        payload = encode_touches(self.touched)
        self.touched = set()
        return payload

    def sync_reply(self, payload: bytes, now: int) -> None:
        """Learner: the leader answered a client's sync; everything before it is applied."""
        key = decode_sync(payload)
        if key is None:
            return
        write = self.queue.pending_sync(*key)
        if write is None or write.conn is None:
            return
        conn = write.conn
        conn.outstanding -= 1
        if conn.is_open and isinstance(write.request, SyncRequest):
            conn.send_reply(write.xid, self.tree.last_zxid, 0, SyncResponse(write.request.path))
            self.answered(conn, self.tree.last_zxid, write.received_ms, now)
        self._release(conn.session_id, write, now)

    # --- commits ----------------------------------------------------------------------------

    def committed(self, zxid: int, now: int) -> None:
        """Standalone: apply every pending write with a zxid up to ``zxid``, in order."""
        while True:
            write = self.queue.pop_committed(zxid)
            if write is None:
                return
            assert write.header is not None
            assert write.txn is not None
            self._apply(write, write.header, write.txn, now)

    def apply_committed(self, header: TxnHeader, txn: Txn, now: int) -> None:
        """Ensemble: apply a committed txn, answering its writer if it is ours."""
        self._apply(self.queue.match(header), header, txn, now)

    def _apply(self, write: PendingWrite | None, header: TxnHeader, txn: Txn, now: int) -> None:
        result = self.tree.apply(header, txn)
        self.view.applied(header.zxid)
        self.stats.txns_applied += 1
        if result.triggers:
            self._fire(result.triggers)
        session_id = header.session_id
        if header.type == OpCode.CREATE_SESSION and isinstance(txn, CreateSessionTxn):
            if not self.tracker.is_open(session_id):
                self.tracker.add(session_id, txn.timeout, now)
            if write is not None and write.conn is not None:
                self._release(session_id, write, now)
                if write.conn.is_open:
                    self._established(write.conn, now)
            return
        if header.type == OpCode.CLOSE_SESSION:
            self.tracker.remove(session_id)
            owner = self.session_conns.pop(session_id, None)
            if owner is not None and (write is None or write.conn is not owner):
                owner.close("session expired")
        if write is None or write.conn is None:
            return
        conn = write.conn
        conn.outstanding -= 1
        if conn.is_open:
            err, body = write_response(write.op, result)
            conn.send_reply(write.xid, header.zxid, err, body)
            self.answered(conn, header.zxid, write.received_ms, now)
            if write.kind is WriteKind.CLOSE_SESSION:
                conn.close("session closed")
        self._release(conn.session_id, write, now)

    def _release(self, session_id: int, write: PendingWrite, now: int) -> None:
        for held in self.queue.release(session_id, write):
            if held.conn.is_open:
                answer(self, held.conn, held.request, now)

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
        """Expire sessions whose bucket is due, and reap containers / TTL nodes when due.

        Only where writes are prepared (standalone, leader): learners report activity.
        """
        if not self.prepares:
            return
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

    @property
    def mode(self) -> str:
        return self.step.kind if self.step is not None else "not serving"


def _first_session_id(server_id: int, wall_ms: int) -> int:
    """ZooKeeper's layout: server id in the top byte, then the clock in ms, then a counter."""
    base = ((wall_ms << 24) & _MASK64) >> 8
    return base | ((server_id & 0xFF) << 56)


def _signed64(value: int) -> int:
    value &= _MASK64
    return value - 2**64 if value >= 2**63 else value


__all__ = ["OP_NAMES", "STANDALONE", "CoreStats", "ServerCore"]
