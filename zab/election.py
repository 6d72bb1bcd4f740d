"""Fast leader election (ZooKeeper's FastLeaderElection) as a tick-driven object.

A peer in LOOKING votes for the best candidate it knows — votes are ordered by
(epoch, zxid, server id), :func:`vote_supersedes` — and tells every voter. Rounds are
numbered by a logical clock; a vote from a newer round resets the tally. Once a quorum
agrees with its vote, the peer waits ``finalize_wait`` ticks for a better vote and then
settles. A peer that hears from an established ensemble (FOLLOWING / LEADING
notifications) joins the leader a quorum of them names. Observers never vote and are
never voted for; they only learn the leader.
"""

from __future__ import annotations

import attrs

from zab.config import PeerConfig
from zab.messages import Notification, PeerState
from zab.quorum import has_quorum


@attrs.frozen
class Vote:
    """A candidate: ``leader`` with its last ``zxid`` and current ``epoch``."""

    leader: int
    zxid: int
    epoch: int


def vote_supersedes(new: Vote, current: Vote) -> bool:
    """ZooKeeper's ``totalOrderPredicate``: is ``new`` a better leader than ``current``?"""
    return (new.epoch, new.zxid, new.leader) > (current.epoch, current.zxid, current.leader)


@attrs.frozen
class Decided:
    """The election is over: follow (or lead, if it is us) ``leader``."""

    leader: int
    election_epoch: int


class Election:
    """One peer's LOOKING state. Owned by the peer; ``outbox`` holds notifications to send."""

    def __init__(self, config: PeerConfig, *, epoch: int, zxid: int, logical_clock: int) -> None:
        self.config = config
        self.own = Vote(config.my_id, zxid, epoch)
        self.logical_clock = logical_clock + 1
        self.proposal: Vote | None = None if config.is_observer else self.own
        self.received: dict[int, Vote] = {}  # votes of LOOKING voters this round
        self.established: dict[int, tuple[Vote, int, PeerState]] = {}  # from outside the election
        self.outbox: list[tuple[int, Notification]] = []
        self.interval = config.notify_min
        self.until_resend = config.notify_min
        self.finalize_left: int | None = None
        if self.proposal is not None:
            self.received[config.my_id] = self.proposal
            if has_quorum([config.my_id], config.voters):  # a one-voter ensemble
                self.finalize_left = config.finalize_wait
        self._broadcast()

    def notification(self) -> Notification:
        vote = self.proposal or Vote(-1, -1, -1)
        return Notification(
            vote.leader, vote.zxid, self.logical_clock, vote.epoch, PeerState.LOOKING
        )

    def _broadcast(self) -> None:
        note = self.notification()
        self.outbox.extend(
            (peer, note) for peer in sorted(self.config.members) if peer != self.config.my_id
        )

    def tick(self) -> Decided | None:
        """Time passes: resend with backoff, and finish a finalize wait."""
        if self.finalize_left is not None:
            self.finalize_left -= 1
            if self.finalize_left <= 0:
                return self._settle()
        self.until_resend -= 1
        if self.until_resend <= 0:
            self.interval = min(self.interval * 2, self.config.notify_max)
            self.until_resend = self.interval
            self._broadcast()
        return None

    def receive(self, sender: int, note: Notification) -> Decided | None:
        """Handle a notification; may decide the election."""
        config = self.config
        is_voter = sender in config.voters
        if note.state == PeerState.LOOKING:
            if not is_voter or note.leader not in config.voters:
                # observers' queries: answer with our vote, never count them
                self.outbox.append((sender, self.notification()))
                return None
            self._looking_vote(sender, note)
            return None
        # The sender follows or leads an established ensemble.
        if not is_voter or note.leader not in config.voters or note.leader == config.my_id:
            return None
        self.established[sender] = (
            Vote(note.leader, note.zxid, note.peer_epoch),
            note.election_epoch,
            note.state,
        )
        # Members of a running ensemble may have joined it in different election rounds:
        # as ZooKeeper does for votes out of election, compare only leader and epoch.
        key = (note.leader, note.peer_epoch)
        supporters = [
            peer
            for peer, (vote, _, _) in self.established.items()
            if (vote.leader, vote.epoch) == key
        ]
        leader_entry = self.established.get(note.leader)
        leader_claims = leader_entry is not None and leader_entry[2] == PeerState.LEADING
        if leader_claims and has_quorum(supporters, config.voters):
            self.logical_clock = max(self.logical_clock, note.election_epoch)
            return Decided(note.leader, self.logical_clock)
        return None

    def _looking_vote(self, sender: int, note: Notification) -> None:
        config = self.config
        vote = Vote(note.leader, note.zxid, note.peer_epoch)
        changed = False
        if note.election_epoch > self.logical_clock:
            self.logical_clock = note.election_epoch
            self.received = {}
            if self.proposal is not None:
                self.proposal = vote if vote_supersedes(vote, self.own) else self.own
                self.received[config.my_id] = self.proposal
            changed = True
            self._broadcast()
        elif note.election_epoch < self.logical_clock:
            self.outbox.append((sender, self.notification()))
            return
        elif self.proposal is not None and vote_supersedes(vote, self.proposal):
            self.proposal = vote
            self.received[config.my_id] = vote
            changed = True
            self._broadcast()
        self.received[sender] = vote
        if self.proposal is None:
            return
        backers = [p for p, v in self.received.items() if v == self.proposal]
        if not has_quorum(backers, config.voters):
            self.finalize_left = None
        elif self.finalize_left is None or changed:
            # ZooKeeper's finalizeWait: a better vote meanwhile restarts the wait
            self.finalize_left = config.finalize_wait

    def _settle(self) -> Decided | None:
        if self.proposal is None:
            return None
        backers = [p for p, v in self.received.items() if v == self.proposal]
        if not has_quorum(backers, self.config.voters):
            self.finalize_left = None
            return None
        return Decided(self.proposal.leader, self.logical_clock)
