"""Transactions: what the commit step replicates and the tree applies.

A txn is a fully decided change: everything that depends on the state at prepare time
(sequential names, new versions, the parent's new child-creation counter, the expanded ACL)
is written into it, so applying the same txns in the same order gives the same tree on every
replica, and time only ever comes from :attr:`TxnHeader.time`.
"""

from __future__ import annotations

from typing import TypeAlias

import attrs

from znode.acl import ACL

#: Stored ``ephemeralOwner`` of a container node (``Long.MIN_VALUE``).
CONTAINER_OWNER = -(2**63)
#: High byte that marks a TTL node's stored ``ephemeralOwner``; the low 56 bits hold the TTL.
TTL_OWNER_MARK = -(2**56)  # 0xFF00000000000000 as a signed long
#: Largest TTL ZooKeeper accepts, in milliseconds (2**40 - 1).
MAX_TTL = 2**40 - 1


def ttl_owner(ttl_ms: int) -> int:
    """Stored ``ephemeralOwner`` of a TTL node with the given TTL."""
    return TTL_OWNER_MARK | ttl_ms


def ttl_of(ephemeral_owner: int) -> int | None:
    """The TTL in ms if ``ephemeral_owner`` marks a TTL node, else ``None``."""
    if ephemeral_owner != CONTAINER_OWNER and (ephemeral_owner >> 56) == -1:
        return ephemeral_owner & (2**56 - 1)
    return None


def is_session_owner(ephemeral_owner: int) -> bool:
    """Whether a stored ``ephemeralOwner`` is a real session (an ephemeral node)."""
    return (
        ephemeral_owner != 0
        and ephemeral_owner != CONTAINER_OWNER
        and ttl_of(ephemeral_owner) is None
    )


def visible_owner(ephemeral_owner: int) -> int:
    """The ``ephemeralOwner`` clients see: containers and TTL nodes report 0."""
    return ephemeral_owner if is_session_owner(ephemeral_owner) else 0


@attrs.frozen
class TxnHeader:
    """Who asked, which zxid, and the leader's wall-clock time in ms (``TxnHeader``)."""

    session_id: int
    cxid: int
    zxid: int
    time: int
    type: int


@attrs.frozen
class CreateTxn:
    """Create ``path``; ``ephemeral_owner`` is the stored value (session, container or TTL
    marker), ``parent_cversion`` the parent's child-creation counter after this create."""

    path: str
    data: bytes | None
    acl: tuple[ACL, ...]
    ephemeral_owner: int
    parent_cversion: int


@attrs.frozen
class DeleteTxn:
    """Delete ``path`` (explicit delete, container/TTL reaping)."""

    path: str


@attrs.frozen
class SetDataTxn:
    """Replace the data of ``path``; ``version`` is the node's new version."""

    path: str
    data: bytes | None
    version: int


@attrs.frozen
class SetACLTxn:
    """Replace the ACL of ``path``; ``version`` is the node's new aversion."""

    path: str
    acl: tuple[ACL, ...]
    version: int


@attrs.frozen
class CheckVersionTxn:
    """A version check that passed inside a multi; changes nothing."""

    path: str
    version: int


@attrs.frozen
class ErrorTxn:
    """A failed write: it still consumes a zxid and answers with ``err``."""

    err: int


@attrs.frozen
class CreateSessionTxn:
    """A new session (the session id is the header's) with its negotiated timeout in ms
    and its password (16 bytes, or empty), which every replica can then check."""

    timeout: int
    passwd: bytes = b""


@attrs.frozen
class CloseSessionTxn:
    """Close the header's session: delete its ephemerals, forget the session."""


@attrs.frozen
class MultiTxn:
    """An atomic group: ``(op type, txn)`` pairs sharing the header's zxid.

    A multi that failed at prepare time holds only :class:`ErrorTxn` entries: 0 before the
    failing op, the failing op's code, then RUNTIMEINCONSISTENCY.
    """

    txns: tuple[tuple[int, Txn], ...]


Txn: TypeAlias = (
    CreateTxn
    | DeleteTxn
    | SetDataTxn
    | SetACLTxn
    | CheckVersionTxn
    | ErrorTxn
    | CreateSessionTxn
    | CloseSessionTxn
    | MultiTxn
)
