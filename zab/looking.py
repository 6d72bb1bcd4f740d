"""The LOOKING role: run fast leader election, then become leader, follower or observer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from zab.election import Decided, Election
from zab.messages import Message, Notification
from zab.ready import Phase, Role

if TYPE_CHECKING:
    from zab.peer import Peer


class Looking:
    """Election in progress; learner and leader packets are ignored meanwhile."""

    role = Role.LOOKING
    phase = Phase.ELECTION

    def __init__(self, peer: Peer) -> None:
        self.peer = peer
        self.election = Election(
            peer.config,
            epoch=peer.current_epoch,
            zxid=peer.history.last_zxid,
            logical_clock=peer.logical_clock,
        )
        peer.logical_clock = self.election.logical_clock
        self._flush()

    def _flush(self) -> None:
        for to, note in self.election.outbox:
            self.peer.send(to, note)
        self.election.outbox.clear()
        self.peer.logical_clock = self.election.logical_clock

    def on_tick(self) -> None:
        decided = self.election.tick()
        self._flush()
        if decided is not None:
            self._decide(decided)

    def on_notification(self, sender: int, note: Notification) -> None:
        decided = self.election.receive(sender, note)
        self._flush()
        if decided is not None:
            self._decide(decided)

    def on_packet(self, sender: int, message: Message) -> None:
        return None

    def on_synced(self) -> None:
        return None

    def on_link_lost(self, peer: int) -> None:
        return None

    def _decide(self, decided: Decided) -> None:
        from zab.following import Following
        from zab.leading import Leading

        peer = self.peer
        peer.logical_clock = decided.election_epoch
        peer.leader = decided.leader
        if decided.leader == peer.config.my_id:
            peer.become(Leading(peer))
        else:
            peer.become(Following(peer, decided.leader))
