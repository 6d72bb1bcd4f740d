"""The ZAB peer: a pure state machine, the project's counterpart of etcd's RawNode.

Inputs are plain method calls — :meth:`Peer.receive`, :meth:`Peer.tick`,
:meth:`Peer.propose`, :meth:`Peer.log_synced`, :meth:`Peer.snapshot_installed`,
:meth:`Peer.link_lost` — and the one output is :meth:`Peer.take_ready`, a
:class:`~zab.ready.Ready` saying what to persist, send and apply. The peer never reads
a clock, never does IO and draws randomness only from the ``random.Random`` it is given.

The current role (looking, leading, following, observing) is an object with the same
methods, swapped on every role change, as etcd swaps ``step`` and ``tick``.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Protocol

import attrs

from zab.config import PeerConfig
from zab.errors import NotConnected, NotLeader, ProtocolViolation
from zab.history import History
from zab.messages import Message, Notification, PeerState
from zab.ready import (
    Envelope,
    EpochUpdate,
    LogEntry,
    Phase,
    Ready,
    Role,
    RoleChange,
)

if TYPE_CHECKING:
    from zab.following import Following


@attrs.frozen
class DurableState:
    """What a peer is rebuilt from after a restart: its epochs and its log."""

    accepted_epoch: int = 0
    current_epoch: int = 0
    history: History = attrs.field(factory=History)


class RoleState(Protocol):
    """The interface every role implements."""

    role: Role
    phase: Phase

    def on_tick(self) -> None: ...
    def on_packet(self, sender: int, message: Message) -> None: ...
    def on_notification(self, sender: int, note: Notification) -> None: ...
    def on_synced(self) -> None: ...
    def on_link_lost(self, peer: int) -> None: ...


class Peer:
    """One ZAB participant or observer. Owned by a single task (the shell's quorum loop)."""

    def __init__(self, config: PeerConfig, durable: DurableState, rng: random.Random) -> None:
        from zab.looking import Looking

        self.config = config
        self.rng = rng
        self.history = durable.history
        self.accepted_epoch = durable.accepted_epoch
        self.current_epoch = durable.current_epoch
        self.synced_zxid = self.history.last_zxid  # everything recovered is on disk
        self.applied_zxid = self.history.committed  # commits emitted so far
        #: what the shell has applied once it handled every Ready taken so far
        self.handed_applied = self.applied_zxid
        self.logical_clock = 0
        self.leader: int | None = None
        self.last_violation: ProtocolViolation | None = None
        self._epochs_dirty = False
        self._truncate_to: int | None = None
        self._appends: list[LogEntry] = []
        self._messages: list[Envelope] = []
        self._commits: list[LogEntry] = []
        self._role_change: RoleChange | None = None
        self._requests: list[tuple[int, bytes]] = []
        self._touches: list[tuple[int, bytes]] = []
        self._syncs: list[tuple[int, bytes]] = []
        self._sync_replies: list[bytes] = []
        self._role: RoleState = Looking(self)
        self._announce()

    # --- inputs ----------------------------------------------------------------------------

    def tick(self) -> None:
        """One core tick of time has passed."""
        self._role.on_tick()

    def receive(self, sender: int, message: Message) -> None:
        """A packet from ``sender`` arrived."""
        if sender == self.config.my_id or sender not in self.config.members:
            return
        try:
            if isinstance(message, Notification):
                self._role.on_notification(sender, message)
            else:
                self._role.on_packet(sender, message)
        except ProtocolViolation as exc:
            self.last_violation = exc
            self._role.on_link_lost(sender)

    def propose(self, zxid: int, payload: bytes) -> None:
        """Leader in BROADCAST: broadcast a txn with ``zxid`` (see :meth:`next_zxid`).

        Raises:
            NotLeader: this peer is not an established leader.
        """
        from zab.leading import Leading

        role = self._role
        if not isinstance(role, Leading) or role.phase is not Phase.BROADCAST:
            raise NotLeader("not an established leader")
        role.propose(zxid, payload)

    def next_zxid(self) -> int:
        """The zxid the next :meth:`propose` must use (leader in BROADCAST only)."""
        from zab.leading import Leading

        role = self._role
        if not isinstance(role, Leading) or role.phase is not Phase.BROADCAST:
            raise NotLeader("not an established leader")
        return role.next_zxid()

    def log_synced(self, zxid: int) -> None:
        """The shell's log holds every append up to ``zxid`` durably."""
        if zxid > self.synced_zxid:
            self.synced_zxid = zxid
            self._role.on_synced()

    def snapshot_installed(self, zxid: int) -> None:
        """Learner: the snapshot that followed SNAP is installed and durable."""
        from zab.following import Following

        if isinstance(self._role, Following):
            self._role.on_snapshot_installed(zxid)

    def link_lost(self, peer: int) -> None:
        """The connection to ``peer`` broke: packets may have been lost."""
        self._role.on_link_lost(peer)

    def forward(self, payload: bytes) -> None:
        """Learner in BROADCAST: send a client write to the leader.

        Raises:
            NotConnected: not following an established leader.
        """
        self._learner().forward(payload)

    def touch_sessions(self, payload: bytes) -> None:
        """Learner: report session activity to the leader with the next ping."""
        from zab.following import Following

        if isinstance(self._role, Following):
            self._role.touches.append(payload)

    def sync(self, payload: bytes) -> None:
        """Learner in BROADCAST: a client sync, answered in ``Ready.sync_replies``."""
        self._learner().sync(payload)

    def _learner(self) -> Following:
        from zab.following import Following

        role = self._role
        if not isinstance(role, Following) or role.phase is not Phase.BROADCAST:
            raise NotConnected("not following an established leader")
        return role

    # --- output ----------------------------------------------------------------------------

    def take_ready(self) -> Ready:
        """Everything decided since the last call (see :class:`~zab.ready.Ready`)."""
        ready = Ready(
            epochs=EpochUpdate(self.accepted_epoch, self.current_epoch)
            if self._epochs_dirty
            else None,
            truncate_to=self._truncate_to,
            appends=tuple(self._appends),
            messages=tuple(self._messages),
            commits=tuple(self._commits),
            role=self._role_change,
            requests=tuple(self._requests),
            session_touches=tuple(self._touches),
            syncs=tuple(self._syncs),
            sync_replies=tuple(self._sync_replies),
        )
        self.handed_applied = self.applied_zxid
        self._epochs_dirty = False
        self._truncate_to = None
        self._appends.clear()
        self._messages.clear()
        self._commits.clear()
        self._role_change = None
        self._requests.clear()
        self._touches.clear()
        self._syncs.clear()
        self._sync_replies.clear()
        return ready

    @property
    def role(self) -> Role:
        return self._role.role

    @property
    def phase(self) -> Phase:
        return self._role.phase

    @property
    def role_state(self) -> RoleState:
        return self._role

    # --- for the roles ---------------------------------------------------------------------

    def send(self, to: int, message: Message) -> None:
        self._messages.append(Envelope(to, message))

    def set_epochs(self, *, accepted: int | None = None, current: int | None = None) -> None:
        if accepted is not None and accepted != self.accepted_epoch:
            self.accepted_epoch = accepted
            self._epochs_dirty = True
        if current is not None and current != self.current_epoch:
            self.current_epoch = current
            self._epochs_dirty = True

    def append(self, entry: LogEntry) -> None:
        self.history.append(entry)
        self._appends.append(entry)

    def truncate(self, zxid: int) -> None:
        self.history.truncate(zxid)
        # a later truncation in the same Ready supersedes the earlier one only if lower
        self._truncate_to = zxid if self._truncate_to is None else min(self._truncate_to, zxid)
        self._appends = [e for e in self._appends if e.zxid <= zxid]
        self.synced_zxid = min(self.synced_zxid, zxid)

    def apply_through(self, zxid: int) -> None:
        """Commit and hand to the shell every logged entry up to ``zxid`` that is durable."""
        target = min(zxid, self.synced_zxid)
        if target <= self.applied_zxid:
            return
        self._commits.extend(self.history.commit_through(target))
        self.applied_zxid = max(self.applied_zxid, self.history.committed)

    def emit_request(self, sender: int, payload: bytes) -> None:
        self._requests.append((sender, payload))

    def emit_touch(self, sender: int, payload: bytes) -> None:
        self._touches.append((sender, payload))

    def emit_sync(self, sender: int, payload: bytes) -> None:
        self._syncs.append((sender, payload))

    def emit_sync_reply(self, payload: bytes) -> None:
        self._sync_replies.append(payload)

    def become(self, role: RoleState) -> None:
        self._role = role
        self._announce()

    def announce(self) -> None:
        """Report the current role/phase (after a phase change within a role)."""
        self._announce()

    def _announce(self) -> None:
        role = self._role
        self._role_change = RoleChange(role.role, role.phase, self.leader, self.current_epoch)

    def look(self, reason: str) -> None:
        """Drop the current role and start an election."""
        from zab.looking import Looking

        self.leader = None
        self.last_reason = reason
        self.become(Looking(self))

    def state_notification(self, vote_leader: int, vote_zxid: int) -> Notification:
        """Our vote as an established member (answer to a LOOKING peer)."""
        state = {
            Role.LEADING: PeerState.LEADING,
            Role.FOLLOWING: PeerState.FOLLOWING,
            Role.OBSERVING: PeerState.OBSERVING,
        }.get(self._role.role, PeerState.LOOKING)
        return Notification(vote_leader, vote_zxid, self.logical_clock, self.current_epoch, state)
