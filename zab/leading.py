"""The LEADING role: discovery, synchronization of each learner, then broadcast.

1. Discovery: gather FOLLOWERINFO from a quorum of voters (itself included); the new
   epoch is one more than any epoch they accepted. It is persisted, then sent in
   LEADERINFO; a quorum of ACKEPOCH (re-acks of an already accepted epoch do not count)
   establishes it. A learner ahead of the leader makes it step down.
2. Synchronization: per learner, :func:`zab.sync_plan.plan_sync` picks DIFF, TRUNC or SNAP
   from the learner's epoch summary; the packets, then NEWLEADER, go out at once, and the
   learner receives every later proposal in order after them. A quorum of NEWLEADER acks
   commits the leader's whole history and starts broadcast (UPTODATE).
3. Broadcast: PROPOSAL to followers, ACK counted per zxid, COMMIT strictly in zxid order
   once a quorum (the leader counts after its own log is durable) has acknowledged it;
   observers get INFORM. A leader that cannot hear a quorum for ``sync_limit`` ticks
   steps down.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import attrs

from zab.errors import NotLeader
from zab.history import EpochSummary
from zab.messages import (
    Ack,
    AckEpoch,
    Commit,
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
    Sync,
    UpToDate,
)
from zab.quorum import has_quorum
from zab.ready import LogEntry, Phase, Role
from zab.sync_plan import plan_sync
from zab.zxid import MAX_COUNTER, counter_of, make_zxid

if TYPE_CHECKING:
    from zab.peer import Peer


@attrs.define
class LearnerProgress:
    """The leader's view of one learner (the analogue of etcd's tracker.Progress)."""

    sid: int
    attempt: int
    observer: bool
    summary: EpochSummary
    accepted_epoch: int
    epoch_acked: bool = False
    forwarding: bool = False  # gets every proposal/commit from now on
    synced: bool = False  # acknowledged NEWLEADER
    silence: int = 0
    age: int = 0  # ticks since its FOLLOWERINFO
    target: int = 0  # the last zxid its synchronization sent


@attrs.define
class InFlight:
    zxid: int
    payload: bytes
    prev: int
    acks: set[int] = attrs.field(factory=set)


class Leading:
    """Leader of the ensemble (once established) for :attr:`epoch`."""

    role = Role.LEADING

    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        self.phase = Phase.DISCOVERY
        self.epoch: int | None = None
        self.learners: dict[int, LearnerProgress] = {}
        self.epoch_acks: set[int] = {peer.config.my_id}
        # The leader counts for NEWLEADER, and makes the epoch current, only once its own
        # log is durable: it may have been elected on appends still waiting for fsync.
        self.newleader_acks: set[int] = set()
        self.in_flight: deque[InFlight] = deque()
        self.quorum_committed = peer.history.committed
        self.counter = 0
        self.elapsed = 0
        self.until_ping = 0
        self.pending_syncs: list[tuple[int, int, bytes]] = []  # (after zxid, learner, payload)
        peer.leader = peer.config.my_id
        self._maybe_establish_epoch()

    # --- helpers ---------------------------------------------------------------------------

    @property
    def config(self):  # type: ignore[no-untyped-def]
        return self.peer.config

    def _send(self, learner: LearnerProgress, message: Message) -> None:
        self.peer.send(learner.sid, message)

    def _voters(self) -> frozenset[int]:
        voters: frozenset[int] = self.peer.config.voters
        return voters

    def _step_down(self, reason: str) -> None:
        self.peer.look(reason)

    def _enter(self, phase: Phase) -> None:
        self.phase = phase
        self.peer.announce()

    # --- role interface --------------------------------------------------------------------

    def on_tick(self) -> None:
        config = self.peer.config
        self.elapsed += 1
        for learner in list(self.learners.values()):
            learner.silence += 1
            learner.age += 1
            limit = config.sync_limit if learner.synced else config.init_limit
            if learner.silence > limit or (not learner.synced and learner.age > config.init_limit):
                del self.learners[learner.sid]
        if self.phase is not Phase.BROADCAST:
            if self.elapsed > config.init_limit:
                self._step_down(f"no quorum {self.phase.value} within initLimit")
            return
        alive = [x.sid for x in self.learners.values() if x.synced and not x.observer]
        if not has_quorum([self.peer.config.my_id, *alive], self._voters()):
            self._step_down("lost the quorum")
            return
        self.until_ping -= 1
        if self.until_ping <= 0:
            self.until_ping = config.ping_interval
            for learner in self.learners.values():
                if learner.forwarding:
                    self._send(learner, Ping(learner.attempt))

    def on_notification(self, sender: int, note: Notification) -> None:
        if note.state == PeerState.LOOKING:
            peer = self.peer
            self.peer.send(
                sender, peer.state_notification(peer.config.my_id, peer.history.last_zxid)
            )

    def on_link_lost(self, peer: int) -> None:
        self.learners.pop(peer, None)

    def on_synced(self) -> None:
        if self.phase is Phase.BROADCAST:
            self._try_commit()
        elif self.phase is Phase.DISCOVERY:
            self._maybe_finish_discovery()
        else:
            self._maybe_finish_sync()

    def _own_log_durable(self) -> bool:
        return self.peer.synced_zxid >= self.peer.history.last_zxid

    def on_packet(self, sender: int, message: Message) -> None:
        if isinstance(message, FollowerInfo):
            self._follower_info(sender, message)
            return
        learner = self.learners.get(sender)
        if learner is None or getattr(message, "attempt", None) != learner.attempt:
            return
        learner.silence = 0
        if isinstance(message, AckEpoch):
            self._ack_epoch(learner, message)
        elif isinstance(message, Ack):
            self._ack(learner, message)
        elif isinstance(message, Ping):
            if message.payload:
                self.peer.emit_touch(sender, message.payload)
        elif isinstance(message, Request):
            if self.phase is Phase.BROADCAST and learner.synced:
                self.peer.emit_request(sender, message.payload)
        elif isinstance(message, Sync):
            self._sync(learner, message)

    # --- discovery -------------------------------------------------------------------------

    def _follower_info(self, sender: int, info: FollowerInfo) -> None:
        known = self.learners.get(sender)
        if known is not None and known.attempt == info.attempt:
            known.silence = 0
            return  # a resend
        observer = sender in self.peer.config.observers
        summary = EpochSummary(info.base, tuple(tuple(s) for s in info.segments))  # type: ignore[misc]
        learner = LearnerProgress(sender, info.attempt, observer, summary, info.accepted_epoch)
        self.learners[sender] = learner
        self.epoch_acks.discard(sender)
        self.newleader_acks.discard(sender)
        if self.epoch is None:
            self._maybe_establish_epoch()
        elif info.accepted_epoch > self.epoch:
            # It promised a newer epoch (from a leader that never established): it can
            # never join ours. A new election moves the whole ensemble past that epoch.
            # An equal epoch is a member of ours reconnecting: it simply rejoins.
            self._step_down(f"learner {sender} accepted epoch {info.accepted_epoch}")
        else:
            self._send(learner, LeaderInfo(learner.attempt, self.epoch))

    def _maybe_establish_epoch(self) -> None:
        peer = self.peer
        voters_in = [
            x.sid for x in self.learners.values() if not x.observer and x.sid in self._voters()
        ]
        if not has_quorum([peer.config.my_id, *voters_in], self._voters()):
            return
        accepted = [peer.accepted_epoch, *(x.accepted_epoch for x in self.learners.values())]
        self.epoch = max(accepted) + 1
        peer.set_epochs(accepted=self.epoch)  # persisted before LEADERINFO leaves
        for learner in self.learners.values():
            self._send(learner, LeaderInfo(learner.attempt, self.epoch))
        self._maybe_finish_discovery()

    def _ack_epoch(self, learner: LearnerProgress, ack: AckEpoch) -> None:
        if learner.epoch_acked:
            return
        peer = self.peer
        if ack.current_epoch != -1:
            mine = (peer.current_epoch, peer.history.last_zxid)
            if (ack.current_epoch, ack.last_zxid) > mine:
                self._step_down(f"learner {learner.sid} is ahead of the leader")
                return
            if not learner.observer:
                self.epoch_acks.add(learner.sid)
        learner.epoch_acked = True
        if self.phase is Phase.DISCOVERY:
            self._maybe_finish_discovery()
        else:
            self._start_sync(learner)

    def _maybe_finish_discovery(self) -> None:
        if self.phase is not Phase.DISCOVERY or self.epoch is None:
            return
        if not has_quorum(self.epoch_acks, self._voters()) or not self._own_log_durable():
            return
        self.peer.set_epochs(current=self.epoch)
        self.elapsed = 0
        self._enter(Phase.SYNCHRONIZATION)
        for learner in list(self.learners.values()):
            if learner.epoch_acked:
                self._start_sync(learner)
        self._maybe_finish_sync()

    # --- synchronization -------------------------------------------------------------------

    def _start_sync(self, learner: LearnerProgress) -> None:
        assert self.epoch is not None
        peer = self.peer
        plan = plan_sync(learner.summary, peer.history, applied=peer.handed_applied)
        attempt = learner.attempt
        self._send(learner, plan.packet(attempt))
        prev = plan.start
        for entry in plan.entries:
            self._send(learner, Proposal(attempt, entry.zxid, entry.payload, prev))
            prev = entry.zxid
        if self.phase is Phase.BROADCAST:
            # what is committed so far, including entries the learner already held
            self._send(learner, Commit(attempt, self.quorum_committed))
        target = plan.entries[-1].zxid if plan.entries else plan.start
        learner.target = target
        self._send(learner, NewLeader(attempt, make_zxid(self.epoch, 0), target))
        learner.forwarding = True

    def _ack(self, learner: LearnerProgress, ack: Ack) -> None:
        assert self.epoch is not None
        if ack.zxid == make_zxid(self.epoch, 0):
            if learner.synced:
                return
            learner.synced = True
            if not learner.observer:
                self.newleader_acks.add(learner.sid)
                # The ack proves the learner durably holds our log up to its sync target:
                # it acknowledges every proposal in flight up to there (some it may hold
                # from an earlier attempt, whose ACKs were lost with that attempt).
                for proposal in self.in_flight:
                    if proposal.zxid <= learner.target:
                        proposal.acks.add(learner.sid)
            if self.phase is Phase.BROADCAST:
                self._send(learner, UpToDate(learner.attempt))
                self._try_commit()
            else:
                self._maybe_finish_sync()
            return
        if learner.observer or self.phase is not Phase.BROADCAST:
            return
        for proposal in self.in_flight:
            if proposal.zxid == ack.zxid:
                proposal.acks.add(learner.sid)
                break
        self._try_commit()

    def _maybe_finish_sync(self) -> None:
        if self.phase is not Phase.SYNCHRONIZATION:
            return
        if self._own_log_durable():
            self.newleader_acks.add(self.peer.config.my_id)
        if not has_quorum(self.newleader_acks, self._voters()):
            return
        peer = self.peer
        # A quorum holds the leader's history: all of it is committed now.
        self.quorum_committed = peer.history.last_zxid
        peer.apply_through(self.quorum_committed)
        self.elapsed = 0
        self._enter(Phase.BROADCAST)
        for learner in self.learners.values():
            if learner.synced:
                self._send(learner, UpToDate(learner.attempt))

    # --- broadcast -------------------------------------------------------------------------

    def next_zxid(self) -> int:
        assert self.epoch is not None
        if self.counter >= MAX_COUNTER - 1:
            self._step_down("zxid counter exhausted: a new epoch is needed")
            raise NotLeader("zxid counter exhausted")
        return make_zxid(self.epoch, self.counter + 1)

    def propose(self, zxid: int, payload: bytes) -> None:
        if zxid != self.next_zxid():
            raise NotLeader(f"proposal zxid {zxid:#x} is not the next one")
        self.counter = counter_of(zxid)
        prev = self.peer.history.last_zxid
        self.peer.append(LogEntry(zxid, payload))
        self.in_flight.append(InFlight(zxid, payload, prev))
        for learner in self.learners.values():
            if learner.forwarding and not learner.observer:
                self._send(learner, Proposal(learner.attempt, zxid, payload, prev))

    def _try_commit(self) -> None:
        peer = self.peer
        me = peer.config.my_id
        while self.in_flight:
            head = self.in_flight[0]
            acks = set(head.acks)
            if peer.synced_zxid >= head.zxid:
                acks.add(me)
            if not has_quorum(acks, self._voters()):
                break
            self.in_flight.popleft()
            self.quorum_committed = head.zxid
            for learner in self.learners.values():
                if not learner.forwarding:
                    continue
                if learner.observer:
                    inform = Inform(learner.attempt, head.zxid, head.payload, head.prev)
                    self._send(learner, inform)
                else:
                    self._send(learner, Commit(learner.attempt, head.zxid))
        peer.apply_through(self.quorum_committed)
        self._answer_syncs()

    def _sync(self, learner: LearnerProgress, message: Sync) -> None:
        if self.phase is not Phase.BROADCAST:
            return
        after = self.in_flight[-1].zxid if self.in_flight else self.quorum_committed
        self.pending_syncs.append((after, learner.sid, message.payload))
        self.peer.emit_sync(learner.sid, message.payload)
        self._answer_syncs()

    def _answer_syncs(self) -> None:
        still: list[tuple[int, int, bytes]] = []
        for after, sid, payload in self.pending_syncs:
            learner = self.learners.get(sid)
            if learner is None:
                continue
            if after <= self.quorum_committed:
                self._send(learner, Sync(learner.attempt, payload))
            else:
                still.append((after, sid, payload))
        self.pending_syncs = still
