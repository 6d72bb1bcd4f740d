"""The learner roles: FOLLOWING (a voter) and OBSERVING (no vote), one class.

Discovery: send FOLLOWERINFO (with an epoch summary of the log), accept the leader's new
epoch (persisted before ACKEPOCH), then synchronize: DIFF / TRUNC / SNAP and the
proposals that follow make the log equal to the leader's history. NEWLEADER is
acknowledged only once everything received so far is durable — the step ZooKeeper got
wrong in ZOOKEEPER-3911. UPTODATE commits the old history and starts broadcast:
proposals are logged and acknowledged once durable, commits are applied in zxid order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from zab.errors import NotConnected, ProtocolViolation
from zab.messages import (
    Ack,
    AckEpoch,
    Commit,
    Diff,
    FollowerInfo,
    Inform,
    LeaderInfo,
    Message,
    NewLeader,
    Notification,
    PeerState,
    Ping,
    Proposal,
    Request,
    Snap,
    Sync,
    Trunc,
    UpToDate,
)
from zab.ready import LogEntry, Phase, Role
from zab.zxid import counter_of, epoch_of, make_zxid

if TYPE_CHECKING:
    from zab.peer import Peer

_RESEND_FOLLOWERINFO = 5


class Following:
    """Learner of ``leader``; an observer when this peer is one."""

    def __init__(self, peer: Peer, leader: int) -> None:
        self.peer = peer
        self.leader = leader
        self.observer = peer.config.is_observer
        self.role = Role.OBSERVING if self.observer else Role.FOLLOWING
        self.phase = Phase.DISCOVERY
        self.attempt = peer.rng.getrandbits(32)
        self.silence = 0
        self.elapsed = 0
        self.new_epoch: int | None = None
        self.sync_started = False
        self.awaiting_snapshot: int | None = None
        self.newleader_zxid: int | None = None
        self.newleader_acked = False
        self.commit_target = 0
        self.unacked: list[int] = []  # new-epoch proposals to acknowledge once durable
        self.pending_syncs: list[tuple[int, bytes]] = []  # (commit target when received, payload)
        self.touches: list[bytes] = []
        self._send_info()

    # --- helpers ---------------------------------------------------------------------------

    def _send(self, message: Message) -> None:
        self.peer.send(self.leader, message)

    def _send_info(self) -> None:
        peer = self.peer
        summary = peer.history.summary()
        self._send(
            FollowerInfo(
                self.attempt,
                peer.accepted_epoch,
                summary.last_zxid,
                self.observer,
                summary.base,
                summary.segments,
            )
        )

    def _violation(self, message: Message, reason: str) -> ProtocolViolation:
        return ProtocolViolation(self.leader, message, self.phase.value, reason)

    def _enter(self, phase: Phase) -> None:
        self.phase = phase
        self.peer.announce()

    # --- role interface --------------------------------------------------------------------

    def on_tick(self) -> None:
        self.silence += 1
        self.elapsed += 1
        if self.phase is not Phase.BROADCAST and self.elapsed > self.peer.config.init_limit:
            # pings keep a link alive, not a synchronization that lost a packet
            self.peer.look(f"no synchronization with leader {self.leader} within initLimit")
            return
        limit = (
            self.peer.config.sync_limit
            if self.phase is Phase.BROADCAST
            else self.peer.config.init_limit
        )
        if self.silence > limit:
            self.peer.look(f"no word from leader {self.leader} for {self.silence} ticks")
            return
        if self.phase is Phase.DISCOVERY and self.silence % _RESEND_FOLLOWERINFO == 0:
            self._send_info()

    def on_notification(self, sender: int, note: Notification) -> None:
        if note.state == PeerState.LOOKING:
            self.peer.send(sender, self.peer.state_notification(self.leader, 0))

    def on_link_lost(self, peer: int) -> None:
        if peer == self.leader:
            self.peer.look(f"lost the link to leader {peer}")

    def on_synced(self) -> None:
        self._flush_acks()
        self._maybe_ack_newleader()
        if self.phase is Phase.BROADCAST:
            self._apply()

    def on_snapshot_installed(self, zxid: int) -> None:
        if self.awaiting_snapshot != zxid:
            return
        peer = self.peer
        peer.history.reset(zxid)
        peer.synced_zxid = peer.applied_zxid = zxid
        self.awaiting_snapshot = None
        self._maybe_ack_newleader()

    def on_packet(self, sender: int, message: Message) -> None:
        if sender != self.leader or getattr(message, "attempt", None) != self.attempt:
            return  # another leader's, or a stale attempt's packet
        self.silence = 0
        handler: Callable[[Following, Any], None] | None = _HANDLERS.get(type(message))
        if handler is None:
            raise self._violation(message, "unexpected packet")
        handler(self, message)

    # --- discovery -------------------------------------------------------------------------

    def _leader_info(self, message: LeaderInfo) -> None:
        if self.phase is not Phase.DISCOVERY:
            return  # a duplicate
        peer = self.peer
        epoch = message.epoch
        if epoch > peer.accepted_epoch:
            current = peer.current_epoch
            peer.set_epochs(accepted=epoch)  # persisted before ACKEPOCH leaves (Ready order)
        elif epoch == peer.accepted_epoch:
            current = -1  # already accepted this epoch: not counted again by the leader
        else:
            raise self._violation(message, f"epoch {epoch} < accepted {peer.accepted_epoch}")
        self.new_epoch = epoch
        self._send(AckEpoch(self.attempt, current, peer.history.last_zxid))
        self._enter(Phase.SYNCHRONIZATION)

    # --- synchronization -------------------------------------------------------------------

    def _diff(self, message: Diff) -> None:
        self._start_sync(message)

    def _trunc(self, message: Trunc) -> None:
        self._start_sync(message)
        if message.zxid < self.peer.history.committed:
            raise self._violation(message, "truncation below the committed history")
        self.peer.truncate(message.zxid)

    def _snap(self, message: Snap) -> None:
        self._start_sync(message)
        self.awaiting_snapshot = message.zxid

    def _start_sync(self, message: Message) -> None:
        if self.phase is not Phase.SYNCHRONIZATION or self.sync_started:
            raise self._violation(message, "sync packet out of place")
        self.sync_started = True

    def _proposal(self, message: Proposal) -> None:
        if not self.sync_started or self.awaiting_snapshot is not None:
            raise self._violation(message, "proposal before the sync point")
        if self.observer and self.phase is Phase.BROADCAST:
            raise self._violation(message, "observers get INFORM, not PROPOSAL")
        self._log(message, message.zxid, message.payload, message.prev)
        if not self.observer and epoch_of(message.zxid) == self.new_epoch:
            self.unacked.append(message.zxid)
            self._flush_acks()

    def _log(self, message: Message, zxid: int, payload: bytes, prev: int) -> None:
        history = self.peer.history
        last = history.last_zxid
        if prev != last or zxid <= last:
            raise self._violation(message, f"zxid {zxid:#x} does not follow {last:#x}")
        # Every epoch's proposals start at counter 1 and have no gaps, so a log's next zxid
        # is exactly known; anything else was lost, reordered or duplicated on the way.
        expected = counter_of(last) + 1 if epoch_of(zxid) == epoch_of(last) else 1
        if counter_of(zxid) != expected:
            raise self._violation(message, f"gap after {last:#x}")
        self.peer.append(LogEntry(zxid, payload))

    def _commit(self, message: Commit) -> None:
        if not self.sync_started:
            raise self._violation(message, "commit before the sync point")
        self.commit_target = max(self.commit_target, message.zxid)
        if self.phase is Phase.BROADCAST:
            self._apply()

    def _inform(self, message: Inform) -> None:
        if not self.observer or not self.sync_started or self.awaiting_snapshot is not None:
            raise self._violation(message, "INFORM is for synchronized observers")
        if message.zxid > self.peer.history.last_zxid:  # else it came as a sync proposal
            self._log(message, message.zxid, message.payload, message.prev)
        self.commit_target = max(self.commit_target, message.zxid)
        if self.phase is Phase.BROADCAST:
            self._apply()

    def _new_leader(self, message: NewLeader) -> None:
        if not self.sync_started or self.newleader_zxid is not None:
            raise self._violation(message, "NEWLEADER out of place")
        assert self.new_epoch is not None
        if message.zxid != make_zxid(self.new_epoch, 0):
            raise self._violation(message, "NEWLEADER for another epoch")
        expected = self.awaiting_snapshot
        if expected is None:
            expected = self.peer.history.last_zxid
        if expected != message.target:
            raise self._violation(message, f"log ends at {expected:#x}, not at the sync target")
        self.newleader_zxid = message.zxid
        self._maybe_ack_newleader()

    def _maybe_ack_newleader(self) -> None:
        peer = self.peer
        if (
            self.newleader_zxid is None
            or self.newleader_acked
            or self.awaiting_snapshot is not None
            or peer.synced_zxid < peer.history.last_zxid
        ):
            return
        # The epoch becomes current only once the history is durable: a crash in between
        # must not leave a log that lacks entries under an epoch that says it has them.
        assert self.new_epoch is not None
        peer.set_epochs(current=self.new_epoch)  # persisted before the ACK leaves
        self.newleader_acked = True
        self._send_ack(self.newleader_zxid)
        self._flush_acks()

    def _up_to_date(self, message: UpToDate) -> None:
        if not self.newleader_acked or self.phase is not Phase.SYNCHRONIZATION:
            raise self._violation(message, "UPTODATE before NEWLEADER was acknowledged")
        assert self.new_epoch is not None
        # Everything before the new epoch is the established history: committed.
        self.commit_target = max(self.commit_target, make_zxid(self.new_epoch, 0))
        self._enter(Phase.BROADCAST)
        self._apply()

    # --- broadcast -------------------------------------------------------------------------

    def _send_ack(self, zxid: int) -> None:
        self._send(Ack(self.attempt, zxid))

    def _flush_acks(self) -> None:
        if not self.newleader_acked:
            return  # acknowledge new-epoch proposals only once the epoch is ours too
        synced = self.peer.synced_zxid
        while self.unacked and self.unacked[0] <= synced:
            self._send_ack(self.unacked.pop(0))

    def _apply(self) -> None:
        peer = self.peer
        peer.apply_through(self.commit_target)
        while self.pending_syncs and self.pending_syncs[0][0] <= peer.applied_zxid:
            peer.emit_sync_reply(self.pending_syncs.pop(0)[1])

    def _ping(self, message: Ping) -> None:
        payload = b"".join(self.touches)
        self.touches.clear()
        self._send(Ping(self.attempt, payload))

    def _sync_reply(self, message: Sync) -> None:
        if self.phase is not Phase.BROADCAST:
            raise self._violation(message, "sync reply outside broadcast")
        self.pending_syncs.append((self.commit_target, message.payload))
        self._apply()

    # --- requests from the shell -------------------------------------------------------------

    def forward(self, payload: bytes) -> None:
        if self.phase is not Phase.BROADCAST:
            raise NotConnected("not in broadcast")
        self._send(Request(self.attempt, payload))

    def sync(self, payload: bytes) -> None:
        if self.phase is not Phase.BROADCAST:
            raise NotConnected("not in broadcast")
        self._send(Sync(self.attempt, payload))


_HANDLERS: dict[type, Callable[[Following, Any], None]] = {
    LeaderInfo: Following._leader_info,
    Diff: Following._diff,
    Trunc: Following._trunc,
    Snap: Following._snap,
    Proposal: Following._proposal,
    Commit: Following._commit,
    Inform: Following._inform,
    NewLeader: Following._new_leader,
    UpToDate: Following._up_to_date,
    Ping: Following._ping,
    Sync: Following._sync_reply,
}
