"""The async client: :func:`connect` and the :class:`Client` API.

::

    async with client.connect("zk1:2181,zk2:2181/app", session_timeout=10) as zk:
        await zk.create("/jobs/", b"payload", sequential=True, makepath=True)
        data, stat = await zk.get("/config")
        async with zk.watch("/config", "data") as events:
            async for event in events:
                ...

Paths are client paths: the chroot of the connect string is added on the way out and
removed on the way back. Every failure raises the :mod:`client.errors` class of its
ZooKeeper code (``NoNode``, ``NodeExists``, ``BadVersion``, ...). A call made while the
connection is down waits for the session to be resumed (at most the session timeout) and
then fails with ``ConnectionLoss``; a call in flight when the connection drops fails with
``ConnectionLoss`` at once (it may or may not have been applied).
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Literal, TypeVar, overload

import trio

from client.errors import MarshallingError, NodeExists, NoNode, NotEmpty, error_for
from client.hosts import Address, Chroot, parse_hosts
from client.protocol import Reply
from client.requests import check_path, create_request
from client.session import OpenStream, Session
from client.states import State, StateStream
from client.transaction import Transaction
from client.watch_table import WatchKind
from client.watches import Watch, WatchRegistry
from znode.acl import ACL, OPEN_ACL_UNSAFE
from znode.opcodes import OpCode
from znode.paths import join, parent_of
from znode.records import (
    ClientInfo,
    Create2Response,
    CreateResponse,
    DeleteRequest,
    ExistsRequest,
    ExistsResponse,
    GetACLRequest,
    GetACLResponse,
    GetAllChildrenNumberRequest,
    GetAllChildrenNumberResponse,
    GetChildren2Request,
    GetChildren2Response,
    GetDataRequest,
    GetDataResponse,
    GetEphemeralsRequest,
    GetEphemeralsResponse,
    Request,
    SetACLRequest,
    SetACLResponse,
    SetDataRequest,
    SetDataResponse,
    SyncRequest,
    SyncResponse,
    WhoAmIResponse,
)
from znode.stat import Stat

T = TypeVar("T")
_RECURSIVE_DELETE_ATTEMPTS = 5


class Client:
    """A connected ZooKeeper session; get one from :func:`connect`."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._watches = WatchRegistry(session)
        session.listener = self._watches
        self.chroot: Chroot = session.chroot

    # --- facts -------------------------------------------------------------------------------

    @property
    def state(self) -> State:
        """The session state now."""
        return self._session.state

    @property
    def alive(self) -> bool:
        """Whether the session may still be used: not expired, closed or being closed."""
        return self._session.alive

    def states(self) -> StateStream:
        """Follow the state: ``async for state in client.states():`` (current one first)."""
        return self._session.states.stream()

    @property
    def session_id(self) -> int:
        return self._session.protocol.session_id

    @property
    def session_password(self) -> bytes:
        """The session's password: with :attr:`session_id`, what resumes the session
        (kazoo's ``client_id`` pair), e.g. for :func:`server.testing.expire_session`."""
        return self._session.protocol.password

    @property
    def session_timeout(self) -> float:
        """The session timeout the server granted, in seconds."""
        return self._session.timeout

    @property
    def last_zxid(self) -> int:
        """The newest zxid seen in a reply; servers behind it are never used."""
        return self._session.protocol.last_zxid_seen

    @property
    def server(self) -> Address | None:
        """The server of the current (or last) connection."""
        return self._session.address

    @property
    def read_only(self) -> bool:
        """Whether the current server is a read-only one."""
        return self._session.protocol.read_only_server

    # --- plumbing ----------------------------------------------------------------------------

    async def _call(self, op: int, request: Request | None, path: str | None = None) -> Reply:
        reply = await self._session.call(op, request)
        if reply.err:
            raise error_for(reply.err, path=path)
        return reply

    async def _body(self, op: int, request: Request | None, path: str | None, cls: type[T]) -> T:
        reply = await self._call(op, request, path)
        if not isinstance(reply.response, cls):
            raise MarshallingError(f"op {op}: expected {cls.__name__} in the reply")
        return reply.response

    def _server(self, path: str) -> str:
        check_path(path)
        return self.chroot.to_server(path)

    # --- writes ------------------------------------------------------------------------------

    async def create(
        self,
        path: str,
        data: bytes = b"",
        *,
        ephemeral: bool = False,
        sequential: bool = False,
        container: bool = False,
        ttl: float | None = None,
        acl: Sequence[ACL] = OPEN_ACL_UNSAFE,
        makepath: bool = False,
    ) -> str:
        """Create a node; return its path (with the sequence suffix when ``sequential``).

        Args:
            ephemeral: deleted when this session ends.
            sequential: append a 10-digit, per-parent increasing number to the name.
            container: a container node, deleted by the server once its last child is.
            ttl: seconds a persistent node lives without being modified or having children
                (the server must enable TTL nodes).
            acl: the node's ACL (default: open to anyone).
            makepath: create missing parents first (persistent, with the same ACL).

        Raises:
            NodeExists, NoNode (missing parent), NoChildrenForEphemerals, InvalidACL, ...
        """
        op, request = create_request(
            self.chroot,
            path,
            data,
            ephemeral=ephemeral,
            sequential=sequential,
            container=container,
            ttl=ttl,
            acl=acl,
        )
        try:
            reply = await self._call(op, request, path)
        except NoNode:
            if not makepath or parent_of(path) == "/":
                raise
            await self._make_parents(path, tuple(acl))
            reply = await self._call(op, request, path)
        if not isinstance(reply.response, CreateResponse | Create2Response):
            raise MarshallingError("create reply without a path")
        return self.chroot.from_server(reply.response.path)

    async def _make_parents(self, path: str, acl: tuple[ACL, ...]) -> None:
        parts = path.split("/")[1:-1]
        for depth in range(1, len(parts) + 1):
            parent = "/" + "/".join(parts[:depth])
            with contextlib.suppress(NodeExists):
                await self.create(parent, acl=acl)

    async def set(self, path: str, data: bytes, version: int = -1) -> Stat:
        """Replace a node's data (``version`` -1: whatever it is); return the new Stat."""
        request = SetDataRequest(self._server(path), data, version)
        return (await self._body(OpCode.SET_DATA, request, path, SetDataResponse)).stat

    async def delete(self, path: str, version: int = -1, recursive: bool = False) -> None:
        """Delete a node (``version`` -1: any).

        With ``recursive``, its descendants are deleted first (without version checks;
        nodes that vanish meanwhile are skipped, children added meanwhile are deleted too).

        Raises:
            NoNode, BadVersion, NotEmpty (not recursive and the node has children).
        """
        if not recursive:
            await self._call(OpCode.DELETE, DeleteRequest(self._server(path), version), path)
            return
        for attempt in range(_RECURSIVE_DELETE_ATTEMPTS):
            for child in await self.children(path):
                await self._delete_tree(join(path, child))
            try:
                await self.delete(path, version)
                return
            except NotEmpty:
                if attempt == _RECURSIVE_DELETE_ATTEMPTS - 1:
                    raise

    async def _delete_tree(self, path: str) -> None:
        try:
            for child in await self.children(path):
                await self._delete_tree(join(path, child))
            await self.delete(path)
        except NoNode:
            pass

    def transaction(self) -> Transaction:
        """A new :class:`~client.transaction.Transaction` (create / set / delete / check)."""
        return Transaction(self._session)

    async def set_acl(self, path: str, acl: Sequence[ACL], version: int = -1) -> Stat:
        """Replace a node's ACL (``version`` is the ACL version, ``aversion``)."""
        request = SetACLRequest(self._server(path), tuple(acl), version)
        return (await self._body(OpCode.SET_ACL, request, path, SetACLResponse)).stat

    # --- reads -------------------------------------------------------------------------------

    async def get(self, path: str) -> tuple[bytes, Stat]:
        """A node's data and Stat. Raises ``NoNode``."""
        request = GetDataRequest(self._server(path), False)
        response = await self._body(OpCode.GET_DATA, request, path, GetDataResponse)
        return response.data or b"", response.stat

    async def exists(self, path: str) -> Stat | None:
        """A node's Stat, or ``None`` if it does not exist."""
        reply = await self._session.call(OpCode.EXISTS, ExistsRequest(self._server(path), False))
        if isinstance(reply.response, ExistsResponse):
            return reply.response.stat
        if reply.err in (0, NoNode.code):
            return None
        raise error_for(reply.err, path=path)

    @overload
    async def children(self, path: str, *, stat: Literal[False] = False) -> list[str]: ...
    @overload
    async def children(self, path: str, *, stat: Literal[True]) -> tuple[list[str], Stat]: ...
    async def children(
        self, path: str, *, stat: bool = False
    ) -> list[str] | tuple[list[str], Stat]:
        """A node's children names (unordered), with the node's Stat when ``stat``."""
        request = GetChildren2Request(self._server(path), False)
        response = await self._body(OpCode.GET_CHILDREN2, request, path, GetChildren2Response)
        names = list(response.children)
        return (names, response.stat) if stat else names

    async def get_acl(self, path: str) -> tuple[list[ACL], Stat]:
        """A node's ACL and Stat."""
        request = GetACLRequest(self._server(path))
        response = await self._body(OpCode.GET_ACL, request, path, GetACLResponse)
        return list(response.acl), response.stat

    async def sync(self, path: str = "/") -> None:
        """Wait until the server this client is connected to has caught up with the leader."""
        await self._body(OpCode.SYNC, SyncRequest(self._server(path)), path, SyncResponse)

    async def ephemerals(self, prefix: str = "/") -> list[str]:
        """This session's ephemeral nodes whose path starts with ``prefix`` (plain prefix)."""
        chroot = self.chroot
        request = GetEphemeralsRequest(self._server(prefix))
        response = await self._body(OpCode.GET_EPHEMERALS, request, prefix, GetEphemeralsResponse)
        inside = [
            p
            for p in response.ephemerals
            if not chroot.prefix or p == chroot.prefix or p.startswith(chroot.prefix + "/")
        ]
        return sorted(chroot.from_server(p) for p in inside)

    async def count_descendants(self, path: str) -> int:
        """How many nodes are below ``path`` (all depths, not counting itself)."""
        request = GetAllChildrenNumberRequest(self._server(path))
        cls = GetAllChildrenNumberResponse
        return (await self._body(OpCode.GET_ALL_CHILDREN_NUMBER, request, path, cls)).total_number

    async def whoami(self) -> list[ClientInfo]:
        """The identities the server associates with this connection."""
        return list((await self._body(OpCode.WHO_AM_I, None, None, WhoAmIResponse)).client_info)

    # --- session -----------------------------------------------------------------------------

    async def add_auth(self, scheme: str, credential: str | bytes) -> None:
        """Authenticate (e.g. ``("digest", "user:password")``); kept across reconnects.

        Raises:
            AuthFailed: the server rejected it. ZooKeeper then closes the connection; the
                client resumes the session on a new one, without that identity.
        """
        raw = credential.encode() if isinstance(credential, str) else credential
        await self._session.add_auth(scheme, raw)

    def watch(self, path: str, kind: WatchKind | str) -> Watch:
        """A watch on ``path``: ``async with client.watch(path, "data") as events:``.

        ``kind`` is one of ``data``, ``exists``, ``children``, ``persistent`` and
        ``persistent_recursive``; see :mod:`client.watches` for what each yields and when
        it ends. Entering arms it (``data`` and ``children`` raise ``NoNode`` on a missing
        node).
        """
        check_path(path)
        return Watch(self._watches, path, kind)

    async def close(self) -> None:
        """Close the session (its ephemeral nodes go); watches end, pending calls fail."""
        await self._session.close(min(self._session.timeout, 3.0))


@asynccontextmanager
async def connect(
    hosts: str | Sequence[str],
    *,
    session_timeout: float = 10.0,
    auth: Iterable[tuple[str, str | bytes]] = (),
    read_only: bool = False,
    connect_timeout: float | None = None,
    open_stream: OpenStream | None = None,
    rng: random.Random | None = None,
) -> AsyncIterator[Client]:
    """Connect to a ZooKeeper ensemble; the session is closed when the block ends.

    Args:
        hosts: a connect string ``"host:port,host:port/chroot"`` (tried in a shuffled
            order), or a sequence of ``"host:port"``.
        session_timeout: seconds asked for (the server clamps it to its limits).
        auth: ``(scheme, credential)`` pairs added before the block starts.
        read_only: accept a read-only server when no read-write one is reachable.
        connect_timeout: seconds to establish the session (default: ``session_timeout``).
        open_stream: opens a stream to ``(host, port)`` (default: TCP); for tests.
        rng: shuffles the hosts and jitters reconnects (default: a fresh ``Random``).

    Raises:
        ConnectionLoss: no server established a session within ``connect_timeout``.
        AuthFailed: an ``auth`` identity was rejected.
    """
    session = Session(
        parse_hosts(hosts),
        session_timeout=session_timeout,
        read_only=read_only,
        connect_timeout=connect_timeout,
        open_stream=open_stream,
        rng=rng,
    )
    client = Client(session)
    error: BaseException | None = None
    # The caller's exceptions are re-raised outside the nursery, so they are not wrapped
    # in an ExceptionGroup.
    async with trio.open_nursery() as nursery:
        try:
            await nursery.start(session.run)
            for scheme, credential in auth:
                await client.add_auth(scheme, credential)
        except BaseException as exc:
            error = exc
        else:
            try:
                yield client
            except BaseException as exc:
                error = exc
        await client.close()
        nursery.cancel_scope.cancel()
    if error is not None:
        raise error
