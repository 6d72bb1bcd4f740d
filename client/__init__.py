"""The zabkeeper client: a trio client for ZooKeeper-protocol servers.

::

    import client

    async with client.connect("127.0.0.1:2181/app") as zk:
        path = await zk.create("/jobs/job-", b"...", sequential=True, makepath=True)
        async with zk.watch("/jobs", client.WatchKind.CHILDREN) as events:
            async for event in events:
                print(event.type, sorted(events.children or ()))

Code that is not async uses :func:`client.blocking.connect`, the same API run in a
background thread. The protocol itself is :class:`client.protocol.ClientProtocol`, sans-IO.
"""

from client import blocking, errors, states
from client.client import Client, connect
from client.errors import (
    AuthFailed,
    BadArguments,
    BadVersion,
    ConnectionLoss,
    InvalidACL,
    NoAuth,
    NoChildrenForEphemerals,
    NodeExists,
    NoNode,
    NotEmpty,
    ProtocolViolation,
    SessionExpired,
    UsageError,
    ZabkeeperError,
    ZooKeeperError,
)
from client.hosts import Address, Chroot, ConnectString, parse_hosts
from client.retry import Retry, retrying
from client.states import State, StateStream
from client.transaction import (
    CheckResult,
    CreateResult,
    DeleteResult,
    ErrorResult,
    OpResult,
    SetResult,
    Transaction,
)
from client.watch_table import WatchKind
from client.watches import Watch, WatchEvent
from znode.acl import ACL, CREATOR_ALL_ACL, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, Id, Perms, digest_id
from znode.events import EventType
from znode.records import ClientInfo
from znode.stat import Stat

__all__ = [
    "ACL",
    "CREATOR_ALL_ACL",
    "OPEN_ACL_UNSAFE",
    "READ_ACL_UNSAFE",
    "Address",
    "AuthFailed",
    "BadArguments",
    "BadVersion",
    "CheckResult",
    "Chroot",
    "Client",
    "ClientInfo",
    "ConnectString",
    "ConnectionLoss",
    "CreateResult",
    "DeleteResult",
    "ErrorResult",
    "EventType",
    "Id",
    "InvalidACL",
    "NoAuth",
    "NoChildrenForEphemerals",
    "NoNode",
    "NodeExists",
    "NotEmpty",
    "OpResult",
    "Perms",
    "ProtocolViolation",
    "Retry",
    "SessionExpired",
    "SetResult",
    "Stat",
    "State",
    "StateStream",
    "Transaction",
    "UsageError",
    "Watch",
    "WatchEvent",
    "WatchKind",
    "ZabkeeperError",
    "ZooKeeperError",
    "blocking",
    "connect",
    "digest_id",
    "errors",
    "parse_hosts",
    "retrying",
    "states",
]
