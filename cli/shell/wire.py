"""The requests the shell builds itself, as records from :mod:`znode.records`.

The public :class:`client.Client` API covers most of what zkCli.sh does, but not all of it:
zkCli keeps a node's *null* data apart from empty data (``create /a`` stores null and
``get /a`` prints ``null``), sets one-shot watches with the read itself (getData, exists,
getChildren with the watch flag) and persistent ones with addWatch, removes them with
removeWatches, and sends reconfig. Those requests are built here and sent through the
client's one request entry point, ``Client._call``; the client still records the watches
they set, so it re-arms them after a reconnect. Everything else in the shell uses the
public API, and every such call is in this module: one place to change if the client
grows public calls for them.
"""

from __future__ import annotations

from collections.abc import Sequence

from client import Client
from client.protocol import Reply
from znode.acl import ACL
from znode.errors import MarshallingError, NoNode
from znode.opcodes import AddWatchMode, CreateMode, OpCode, WatcherType
from znode.records import (
    AddWatchRequest,
    Create2Response,
    CreateRequest,
    CreateResponse,
    CreateTTLRequest,
    ExistsRequest,
    ExistsResponse,
    GetChildren2Request,
    GetChildren2Response,
    GetDataRequest,
    GetDataResponse,
    ReconfigRequest,
    RemoveWatchesRequest,
    Request,
)
from znode.stat import Stat


async def _send(zk: Client, op: OpCode, request: Request | None, path: str | None) -> Reply:
    return await zk._call(op, request, path)


async def get_data(
    zk: Client, path: str, *, watch: bool = False, chroot: bool = True
) -> tuple[bytes | None, Stat]:
    """A node's data (``None`` when the node holds null) and Stat.

    ``chroot=False`` reads the server path as given (``getConfig`` does so).
    """
    server_path = zk.chroot.to_server(path) if chroot else path
    reply = await _send(zk, OpCode.GET_DATA, GetDataRequest(server_path, watch), path)
    if not isinstance(reply.response, GetDataResponse):
        raise MarshallingError("getData reply without data")
    return reply.response.data, reply.response.stat


async def exists(zk: Client, path: str, *, watch: bool = False) -> Stat | None:
    """A node's Stat, ``None`` if it does not exist (a watch is set either way)."""
    request = ExistsRequest(zk.chroot.to_server(path), watch)
    try:
        reply = await _send(zk, OpCode.EXISTS, request, path)
    except NoNode:
        return None
    if not isinstance(reply.response, ExistsResponse):
        raise MarshallingError("exists reply without a Stat")
    return reply.response.stat


async def children(zk: Client, path: str, *, watch: bool = False) -> tuple[list[str], Stat]:
    """A node's children (server order) and its Stat."""
    request = GetChildren2Request(zk.chroot.to_server(path), watch)
    reply = await _send(zk, OpCode.GET_CHILDREN2, request, path)
    if not isinstance(reply.response, GetChildren2Response):
        raise MarshallingError("getChildren reply without children")
    return list(reply.response.children), reply.response.stat


async def add_watch(zk: Client, path: str, mode: AddWatchMode) -> None:
    """A persistent (or persistent recursive) watch on ``path``."""
    request = AddWatchRequest(zk.chroot.to_server(path), int(mode))
    await _send(zk, OpCode.ADD_WATCH, request, path)


async def create(
    zk: Client,
    path: str,
    data: bytes | None,
    mode: CreateMode,
    acl: Sequence[ACL],
    ttl_ms: int | None = None,
) -> str:
    """Create a node as the Java client does (op 19 for containers, 21 with a TTL).

    Returns the path created, sequence suffix included.
    """
    server_path = zk.chroot.to_server(path)
    op: OpCode
    request: Request
    if ttl_ms is not None:
        op, request = (
            OpCode.CREATE_TTL,
            CreateTTLRequest(server_path, data, tuple(acl), mode, ttl_ms),
        )
    else:
        op = OpCode.CREATE_CONTAINER if mode is CreateMode.CONTAINER else OpCode.CREATE
        request = CreateRequest(server_path, data, tuple(acl), int(mode))
    reply = await _send(zk, op, request, path)
    if not isinstance(reply.response, CreateResponse | Create2Response):
        raise MarshallingError("create reply without a path")
    return zk.chroot.from_server(reply.response.path)


async def remove_watches(zk: Client, path: str, kind: WatcherType) -> None:
    """Ask the server to drop this connection's watches of ``kind`` on ``path``.

    Raises:
        NoWatcher: the server had none.
    """
    request = RemoveWatchesRequest(zk.chroot.to_server(path), int(kind))
    await _send(zk, OpCode.REMOVE_WATCHES, request, path)


async def reconfig(
    zk: Client, joining: str | None, leaving: str | None, members: str | None, version: int
) -> tuple[bytes | None, Stat]:
    """Reconfigure the ensemble; returns the new configuration and its Stat."""
    request = ReconfigRequest(joining or "", leaving or "", members or "", version)
    reply = await _send(zk, OpCode.RECONFIG, request, None)
    if not isinstance(reply.response, GetDataResponse):
        raise MarshallingError("reconfig reply without a configuration")
    return reply.response.data, reply.response.stat
