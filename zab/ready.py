"""The core's output: what the shell must do, and in which order.

The shell handles one :class:`Ready` at a time, field by field in this order: ``epochs``,
``truncate_to``, ``appends``, ``messages``, ``commits`` — each field's docstring states
when it may be acted on.
"""

from __future__ import annotations

import enum

import attrs

from zab.messages import Message


class Role(enum.Enum):
    LOOKING = "looking"
    LEADING = "leading"
    FOLLOWING = "following"
    OBSERVING = "observing"


class Phase(enum.Enum):
    ELECTION = "election"
    DISCOVERY = "discovery"
    SYNCHRONIZATION = "synchronization"
    BROADCAST = "broadcast"


@attrs.frozen
class LogEntry:
    """One txn in the history: its zxid and the opaque payload (the encoded txn)."""

    zxid: int
    payload: bytes


@attrs.frozen
class Envelope:
    to: int
    message: Message


@attrs.frozen
class EpochUpdate:
    accepted_epoch: int
    current_epoch: int


@attrs.frozen
class RoleChange:
    role: Role
    phase: Phase
    leader: int | None
    epoch: int


@attrs.frozen(kw_only=True)
class Ready:
    """Everything the core decided since the last :meth:`Peer.take_ready`."""

    epochs: EpochUpdate | None = None
    """Write both epochs durably before sending any message of this Ready."""

    truncate_to: int | None = None
    """Drop every logged txn after this zxid, durably, before the appends below. If the
    state machine applied any of them it must be rebuilt (reload snapshot + log)."""

    appends: tuple[LogEntry, ...] = ()
    """Append to the log in order; report durability with ``log_synced(zxid)``. The
    messages of this Ready may be sent before the appends are durable: the core only
    emits packets that promise durability (ACKs) after ``log_synced``."""

    messages: tuple[Envelope, ...] = ()
    """Send now, in order, per destination. A :class:`~zab.messages.Snap` to a learner is
    followed on that link by the state as of its zxid — the state once the previous
    Readies' commits are applied and before this Ready's — and then by later messages."""

    commits: tuple[LogEntry, ...] = ()
    """Apply in order, after this Ready's messages (a Snap captures the state first).
    Every entry was reported durable by ``log_synced`` before it appears here."""

    role: RoleChange | None = None
    """The peer's new role and phase (for logs, status and the client port)."""

    requests: tuple[tuple[int, bytes], ...] = ()
    """Leader: client writes forwarded by learners (sender, payload), to prepare and
    propose in this order."""

    session_touches: tuple[tuple[int, bytes], ...] = ()
    """Leader: session activity reported by learners in their pings."""

    syncs: tuple[tuple[int, bytes], ...] = ()
    """Leader: (learner, payload) syncs from learners, already answered by the core;
    informational. Learner: see ``sync_replies``."""

    sync_replies: tuple[bytes, ...] = ()
    """Learner: client syncs the leader answered; deliver after this Ready's commits."""

    def is_empty(self) -> bool:
        return self == _EMPTY


_EMPTY = Ready()
