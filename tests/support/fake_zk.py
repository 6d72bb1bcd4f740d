"""A tiny scripted ZooKeeper ensemble for client tests: memory streams, no sockets, any clock.

It speaks the real wire (``znode.codec``) and keeps just enough state to exercise a
client's shell: sessions (id, password, expiry), a flat set of nodes with zxids, standard
and persistent data watches per connection with ZooKeeper's SetWatches2 catch-up rules,
pings and auth. Tests steer it: ``server.up = False`` refuses connections,
``server.behind_at = zxid`` makes a server lag, ``server.silent = True`` stops it
answering, ``server.drop()`` cuts its connections, ``ensemble.expire(session)`` expires a
session, and ``ensemble.set_data(...)`` is a write by "another client".
"""

from __future__ import annotations

from typing import Any

import attrs
import trio
import trio.testing

from znode.codec import (
    decode_connect_request,
    decode_request,
    decode_request_header,
    encode_connect_response,
    encode_notification,
    encode_reply,
)
from znode.errors import ErrorCode
from znode.events import EventType
from znode.framing import FrameDecoder
from znode.opcodes import OpCode
from znode.paths import parent_of
from znode.records import (
    ConnectResponse,
    CreateResponse,
    ErrorResponse,
    ExistsResponse,
    GetDataResponse,
    SetDataResponse,
    WatcherEvent,
)
from znode.stat import Stat


@attrs.define
class Node:
    data: bytes
    czxid: int
    mzxid: int
    version: int = 0

    def stat(self) -> Stat:
        return Stat(self.czxid, self.mzxid, 0, 0, self.version, 0, 0, 0, len(self.data), 0, 0)


@attrs.define
class FakeSession:
    id: int
    password: bytes
    timeout_ms: int
    dead: bool = False


@attrs.define(eq=False)
class Connection:
    server: FakeServer
    scope: trio.CancelScope
    session: FakeSession | None = None
    outbox: list[bytes] = attrs.Factory(list)
    wake: trio.Event = attrs.Factory(trio.Event)
    data_watches: set[str] = attrs.Factory(set)  # one-shot (data and exist alike)
    persistent: set[str] = attrs.Factory(set)
    auths: list[tuple[str, bytes]] = attrs.Factory(list)
    closing: bool = False

    def queue(self, frame: bytes) -> None:
        self.outbox.append(frame)
        self.wake.set()

    def notify(self, type_: EventType, path: str) -> None:
        self.queue(encode_notification(WatcherEvent(type_, 3, path)))


@attrs.define(eq=False)
class FakeServer:
    ensemble: FakeEnsemble
    name: str
    up: bool = True
    silent: bool = False
    behind_at: int | None = None
    #: answer the next request with a wrong xid (a protocol violation)
    mangle_next_xid: bool = False
    connections: list[Connection] = attrs.Factory(list)
    #: (time, xid, op, record) of every request received, in order
    received: list[tuple[float, int, int, Any]] = attrs.Factory(list)
    #: the ConnectRequests received
    connects: list[Any] = attrs.Factory(list)

    @property
    def zxid(self) -> int:
        return self.ensemble.zxid if self.behind_at is None else self.behind_at

    def drop(self) -> None:
        """Close every connection to this server abruptly."""
        for conn in list(self.connections):
            conn.scope.cancel()

    def ops(self, op: int) -> list[tuple[float, int, int, Any]]:
        return [r for r in self.received if r[2] == op]

    async def handle(self, stream: trio.testing.MemoryStream | Any) -> None:
        with trio.CancelScope() as scope:
            conn = Connection(self, scope)
            self.connections.append(conn)
            try:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._writer, stream, conn)
                    await self._reader(stream, conn)
                    if conn.closing:
                        conn.wake.set()  # the writer flushes, then returns
                    else:
                        nursery.cancel_scope.cancel()
            finally:
                self.connections.remove(conn)
        await trio.aclose_forcefully(stream)

    async def _writer(self, stream: Any, conn: Connection) -> None:
        while True:
            await conn.wake.wait()
            conn.wake = trio.Event()
            data, conn.outbox = b"".join(conn.outbox), []
            if data:
                await stream.send_all(data)
            if conn.closing and not conn.outbox:
                return

    async def _reader(self, stream: Any, conn: Connection) -> None:
        decoder = FrameDecoder()
        while True:
            try:
                data = await stream.receive_some()
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                return
            if not data:
                return
            decoder.feed(data)
            for payload in decoder:
                if self.silent:
                    continue
                if conn.session is None:
                    ok = self._connect(conn, payload)
                else:
                    ok = self._request(conn, payload)
                if not ok:
                    conn.closing = True
                    return

    def _connect(self, conn: Connection, payload: bytes) -> bool:
        request = decode_connect_request(payload)
        self.connects.append(request)
        if request.last_zxid_seen > self.zxid:
            return False  # behind the client: close without a word
        ensemble = self.ensemble
        if request.session_id:
            session = ensemble.sessions.get(request.session_id)
            if session is None or session.dead or session.password != request.passwd:
                conn.queue(encode_connect_response(ConnectResponse(0, 0, 0, bytes(16), False)))
                return False
            for other in ensemble.connections_of(session):
                other.scope.cancel()
        else:
            session = ensemble.new_session(ensemble.grant_ms or request.timeout)
        conn.session = session
        response = ConnectResponse(0, session.timeout_ms, session.id, session.password, False)
        conn.queue(encode_connect_response(response))
        return True

    def _request(self, conn: Connection, payload: bytes) -> bool:
        header = decode_request_header(payload)
        xid, op = header.xid, header.type
        if self.mangle_next_xid and xid > 0:
            self.mangle_next_xid = False
            xid += 1000
        record = decode_request(op, payload)
        self.received.append((trio.current_time(), xid, op, record))
        ensemble = self.ensemble
        zxid = ensemble.zxid
        if op == OpCode.PING:
            conn.queue(encode_reply(-2, zxid, 0, None))
        elif op == OpCode.AUTH:
            ok = record.scheme != "bad"
            if ok:
                conn.auths.append((record.scheme, record.auth))
            conn.queue(encode_reply(-4, 0, 0 if ok else ErrorCode.AUTHFAILED, None))
            return ok
        elif op in (OpCode.EXISTS, OpCode.GET_DATA):
            node = ensemble.nodes.get(record.path)
            if record.watch and (node is not None or op == OpCode.EXISTS):
                conn.data_watches.add(record.path)
            if node is None:
                conn.queue(encode_reply(xid, zxid, ErrorCode.NONODE, None))
            elif op == OpCode.EXISTS:
                conn.queue(encode_reply(xid, zxid, 0, ExistsResponse(node.stat())))
            else:
                conn.queue(encode_reply(xid, zxid, 0, GetDataResponse(node.data, node.stat())))
        elif op == OpCode.SET_DATA:
            try:
                stat = ensemble.set_data(record.path, record.data or b"")
            except KeyError:
                conn.queue(encode_reply(xid, ensemble.zxid, ErrorCode.NONODE, None))
            else:
                conn.queue(encode_reply(xid, ensemble.zxid, 0, SetDataResponse(stat)))
        elif op == OpCode.CREATE:
            err = ensemble.create(record.path, record.data or b"")
            response = None if err else CreateResponse(record.path)
            conn.queue(encode_reply(xid, ensemble.zxid, err, response))
        elif op == OpCode.DELETE:
            err = ensemble.delete(record.path)
            conn.queue(encode_reply(xid, ensemble.zxid, err, None))
        elif op == OpCode.SET_WATCHES2:
            self._set_watches(conn, record)
            conn.queue(encode_reply(xid, zxid, 0, None))
        elif op == OpCode.ADD_WATCH:
            conn.persistent.add(record.path)
            conn.queue(encode_reply(xid, zxid, 0, ErrorResponse(0)))
        elif op == OpCode.CLOSE_SESSION:
            assert conn.session is not None
            conn.session.dead = True
            conn.queue(encode_reply(xid, ensemble.bump(), 0, None))
            return False
        else:
            conn.queue(encode_reply(xid, zxid, ErrorCode.UNIMPLEMENTED, None))
            return False
        return True

    def _set_watches(self, conn: Connection, record: Any) -> None:
        nodes = self.ensemble.nodes
        for path in record.data_watches:
            node = nodes.get(path)
            if node is None:
                conn.notify(EventType.NODE_DELETED, path)
            elif node.mzxid > record.relative_zxid:
                conn.notify(EventType.NODE_DATA_CHANGED, path)
            else:
                conn.data_watches.add(path)
        for path in record.exist_watches:
            if path in nodes:
                conn.notify(EventType.NODE_CREATED, path)
            else:
                conn.data_watches.add(path)
        conn.persistent.update(record.persistent_watches)


@attrs.define(eq=False)
class FakeEnsemble:
    """Shared state of the fake servers; :meth:`open_stream` is the client's connector."""

    nursery: trio.Nursery
    names: tuple[str, ...] = ("a", "b", "c")
    #: the negotiated timeout (``None``: whatever the client asks for)
    grant_ms: int | None = None
    zxid: int = 0
    nodes: dict[str, Node] = attrs.Factory(lambda: {"/": Node(b"", 0, 0)})
    sessions: dict[int, FakeSession] = attrs.Factory(dict)
    servers: dict[str, FakeServer] = attrs.Factory(dict)

    def __attrs_post_init__(self) -> None:
        self.servers = {name: FakeServer(self, name) for name in self.names}

    @property
    def hosts(self) -> str:
        return ",".join(f"{name}:2181" for name in self.names)

    async def open_stream(self, host: str, port: int) -> trio.abc.Stream:
        server = self.servers[host]
        if not server.up:
            raise OSError(f"connection to {host}:{port} refused")
        client_end, server_end = trio.testing.memory_stream_pair()
        self.nursery.start_soon(server.handle, server_end)
        return client_end

    @property
    def connected_to(self) -> list[str]:
        return [name for name, server in self.servers.items() if server.connections]

    def new_session(self, timeout_ms: int) -> FakeSession:
        session_id = 0x100 + len(self.sessions)
        session = FakeSession(session_id, session_id.to_bytes(16, "big"), timeout_ms)
        self.sessions[session_id] = session
        self.bump()
        return session

    def connections_of(self, session: FakeSession) -> list[Connection]:
        return [
            conn
            for server in self.servers.values()
            for conn in server.connections
            if conn.session is session
        ]

    def expire(self, session_id: int) -> None:
        session = self.sessions[session_id]
        session.dead = True
        for conn in self.connections_of(session):
            conn.scope.cancel()

    def bump(self) -> int:
        self.zxid += 1
        return self.zxid

    def _fire(self, type_: EventType, path: str) -> None:
        for server in self.servers.values():
            for conn in server.connections:
                if path in conn.data_watches:
                    conn.data_watches.discard(path)
                    conn.notify(type_, path)
                elif path in conn.persistent:
                    conn.notify(type_, path)

    def set_data(self, path: str, data: bytes) -> Stat:
        node = self.nodes[path]
        node.data, node.mzxid, node.version = data, self.bump(), node.version + 1
        self._fire(EventType.NODE_DATA_CHANGED, path)
        return node.stat()

    def create(self, path: str, data: bytes = b"") -> int:
        if path in self.nodes:
            return ErrorCode.NODEEXISTS
        if parent_of(path) not in self.nodes:
            return ErrorCode.NONODE
        zxid = self.bump()
        self.nodes[path] = Node(data, zxid, zxid)
        self._fire(EventType.NODE_CREATED, path)
        return 0

    def delete(self, path: str) -> int:
        if path not in self.nodes:
            return ErrorCode.NONODE
        del self.nodes[path]
        self.bump()
        self._fire(EventType.NODE_DELETED, path)
        return 0
