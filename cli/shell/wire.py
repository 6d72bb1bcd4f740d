"""The few requests the shell sends itself, as records from :mod:`znode.records`.

The public :class:`client.Client` API covers almost everything zkCli.sh does, but not
quite: zkCli keeps a node's *null* data apart from empty data (``create /a`` stores null
and ``get /a`` prints ``null``), removes watches on the server with removeWatches, and
sends reconfig. Those requests are built here and sent through the client's one request
entry point, ``Client._call`` (chroot and path checks are done here, as the client does
for its own calls); everything else in the shell uses the public API. Keeping every such
call in this module leaves one place to change if the client grows public calls for them.
"""

from __future__ import annotations

from collections.abc import Sequence

from client import Client
from client.protocol import Reply
from znode.acl import ACL
from znode.errors import MarshallingError
from znode.opcodes import CreateMode, OpCode, WatcherType
from znode.records import (
    Create2Response,
    CreateRequest,
    CreateResponse,
    CreateTTLRequest,
    GetDataRequest,
    GetDataResponse,
    ReconfigRequest,
    RemoveWatchesRequest,
    Request,
)
from znode.stat import Stat


async def _send(zk: Client, op: OpCode, request: Request | None, path: str | None) -> Reply:
    return await zk._call(op, request, path)


async def get_data(zk: Client, path: str) -> tuple[bytes | None, Stat]:
    """A node's data (``None`` when the node holds null) and Stat, without a watch."""
    reply = await _send(zk, OpCode.GET_DATA, GetDataRequest(zk.chroot.to_server(path), False), path)
    if not isinstance(reply.response, GetDataResponse):
        raise MarshallingError("getData reply without data")
    return reply.response.data, reply.response.stat


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
