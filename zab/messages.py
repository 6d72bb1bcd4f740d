"""Packets between peers, named after ZooKeeper's (``Leader.java``) with its numbers.

Every leader-learner packet carries the ``attempt`` number the learner chose when it
sent FOLLOWERINFO: each side ignores packets of another attempt, so a packet delayed or
duplicated from an earlier synchronization can never act on a later one.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TypeAlias

import attrs


class PacketType(IntEnum):
    REQUEST = 1
    PROPOSAL = 2
    ACK = 3
    COMMIT = 4
    PING = 5
    SYNC = 7
    INFORM = 8
    NEWLEADER = 10
    FOLLOWERINFO = 11
    UPTODATE = 12
    DIFF = 13
    TRUNC = 14
    SNAP = 15
    LEADERINFO = 17
    ACKEPOCH = 18
    NOTIFICATION = 100  # election port (ZooKeeper sends these on a separate channel)


class PeerState(IntEnum):
    """ZooKeeper's ServerState, as notifications carry it."""

    LOOKING = 0
    FOLLOWING = 1
    LEADING = 2
    OBSERVING = 3


@attrs.frozen
class Notification:
    """An election vote: ``leader`` with its ``zxid`` and ``peer_epoch`` in round
    ``election_epoch`` (the logical clock), sent by a peer in ``state``."""

    leader: int
    zxid: int
    election_epoch: int
    peer_epoch: int
    state: PeerState


@attrs.frozen
class FollowerInfo:
    """A learner introduces itself: its accepted epoch and its log in brief (its base and
    the last zxid of each epoch after it; see :class:`zab.history.EpochSummary`)."""

    attempt: int
    accepted_epoch: int
    last_zxid: int
    observer: bool = False
    base: int = 0
    segments: tuple[tuple[int, int], ...] = ()


@attrs.frozen
class LeaderInfo:
    attempt: int
    epoch: int


@attrs.frozen
class AckEpoch:
    """``current_epoch`` is -1 when the learner had already accepted this epoch."""

    attempt: int
    current_epoch: int
    last_zxid: int


@attrs.frozen
class Diff:
    """Synchronize by the proposals that follow, up to ``zxid``."""

    attempt: int
    zxid: int


@attrs.frozen
class Trunc:
    """Drop every logged txn after ``zxid``; proposals may follow."""

    attempt: int
    zxid: int


@attrs.frozen
class Snap:
    """The leader's state as of ``zxid`` follows on the link (streamed by the shell)."""

    attempt: int
    zxid: int


@attrs.frozen
class Proposal:
    """A txn to log; ``prev`` is the zxid right before it in the leader's log, so a
    learner detects any gap or reordering whatever the channel does."""

    attempt: int
    zxid: int
    payload: bytes
    prev: int = 0


@attrs.frozen
class Ack:
    attempt: int
    zxid: int


@attrs.frozen
class Commit:
    attempt: int
    zxid: int


@attrs.frozen
class Inform:
    """A committed txn for an observer; ``prev`` as in :class:`Proposal`."""

    attempt: int
    zxid: int
    payload: bytes
    prev: int = 0


@attrs.frozen
class NewLeader:
    """End of synchronization: the learner's log must now end at ``target`` (the last
    zxid the leader sent it), and is acknowledged once that is durable."""

    attempt: int
    zxid: int
    target: int = 0


@attrs.frozen
class UpToDate:
    attempt: int


@attrs.frozen
class Ping:
    """Liveness both ways; a learner's ping carries its sessions' touches."""

    attempt: int
    payload: bytes = b""


@attrs.frozen
class Request:
    """A client write a learner forwards to the leader."""

    attempt: int
    payload: bytes


@attrs.frozen
class Sync:
    """A client ``sync``: forwarded to the leader, answered once what it committed before is
    delivered."""

    attempt: int
    payload: bytes


Message: TypeAlias = (
    Notification
    | FollowerInfo
    | LeaderInfo
    | AckEpoch
    | Diff
    | Trunc
    | Snap
    | Proposal
    | Ack
    | Commit
    | Inform
    | NewLeader
    | UpToDate
    | Ping
    | Request
    | Sync
)

PACKET_TYPES: dict[type, PacketType] = {
    Notification: PacketType.NOTIFICATION,
    FollowerInfo: PacketType.FOLLOWERINFO,
    LeaderInfo: PacketType.LEADERINFO,
    AckEpoch: PacketType.ACKEPOCH,
    Diff: PacketType.DIFF,
    Trunc: PacketType.TRUNC,
    Snap: PacketType.SNAP,
    Proposal: PacketType.PROPOSAL,
    Ack: PacketType.ACK,
    Commit: PacketType.COMMIT,
    Inform: PacketType.INFORM,
    NewLeader: PacketType.NEWLEADER,
    UpToDate: PacketType.UPTODATE,
    Ping: PacketType.PING,
    Request: PacketType.REQUEST,
    Sync: PacketType.SYNC,
}
