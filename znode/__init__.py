"""The replicated state of zabkeeper: the znode tree, transactions, and ZooKeeper's wire codec.

Everything here is pure: no sockets, threads, clocks or global randomness.
"""

from znode.acl import ACL, CREATOR_ALL_ACL, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, Id, Perms
from znode.errors import ErrorCode, ZabkeeperError, ZooKeeperError, error_for
from znode.events import EventType, KeeperState, WatchTrigger
from znode.opcodes import CreateMode, OpCode
from znode.prepare import PrepView, prepare
from znode.stat import Stat
from znode.tree import DataTree, TxnResult
from znode.txn import TxnHeader
from znode.version import __version__

__all__ = [
    "ACL",
    "CREATOR_ALL_ACL",
    "OPEN_ACL_UNSAFE",
    "READ_ACL_UNSAFE",
    "CreateMode",
    "DataTree",
    "ErrorCode",
    "EventType",
    "Id",
    "KeeperState",
    "OpCode",
    "Perms",
    "PrepView",
    "Stat",
    "TxnHeader",
    "TxnResult",
    "WatchTrigger",
    "ZabkeeperError",
    "ZooKeeperError",
    "__version__",
    "error_for",
    "prepare",
]
