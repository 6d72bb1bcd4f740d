"""The Peer's input validation and the ordering contract of its Ready output.

Each test drives one real ``Peer`` by hand — votes, packets, ``log_synced`` — playing the
other servers itself, and checks what the Ready after each input holds.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from zab.config import PeerConfig
from zab.errors import NotConnected, NotLeader
from zab.history import History
from zab.messages import (
    Ack,
    AckEpoch,
    Commit,
    Diff,
    FollowerInfo,
    LeaderInfo,
    Message,
    NewLeader,
    Notification,
    PeerState,
    Proposal,
    Request,
    Snap,
    Sync,
    Trunc,
    UpToDate,
)
from zab.peer import DurableState, Peer
from zab.ready import EpochUpdate, LogEntry, Phase, Ready, Role
from zab.zxid import make_zxid

Z = make_zxid
A = 4242  # the attempt of learner 1 when the test plays it


def make_peer(
    my_id: int, *, accepted: int = 0, current: int = 0, log: tuple[int, ...] = ()
) -> Peer:
    config = PeerConfig(
        my_id=my_id,
        voters=frozenset({1, 2, 3}),
        finalize_wait=1,
        notify_min=1000,
        notify_max=1000,
    )
    history = History([LogEntry(zxid, b"x") for zxid in log])
    peer = Peer(config, DurableState(accepted, current, history), random.Random(my_id))
    peer.take_ready()
    return peer


def step(peer: Peer, action: Callable[[], object]) -> Ready:
    action()
    return peer.take_ready()


def sent(ready: Ready, kind: type | None = None) -> list[tuple[int, Message]]:
    return [
        (e.to, e.message) for e in ready.messages if kind is None or isinstance(e.message, kind)
    ]


def elect(peer: Peer, leader: int) -> Ready:
    """Have ``peer`` decide for ``leader``: a vote for it from another voter, then the wait."""
    voter = (
        leader
        if leader != peer.config.my_id
        else next(v for v in sorted(peer.config.voters) if v != leader)
    )
    vote = Notification(
        leader,
        peer.history.last_zxid,
        peer.logical_clock,
        peer.current_epoch,
        PeerState.LOOKING,
    )
    peer.receive(voter, vote)
    peer.tick()
    ready = peer.take_ready()
    assert peer.leader == leader
    return ready


def leader(phase: Phase = Phase.BROADCAST) -> Peer:
    """Peer 3, leading 1 (attempt ``A``) up to ``phase``, in epoch 1."""
    peer = make_peer(3)
    elect(peer, 3)
    if phase is not Phase.DISCOVERY:
        peer.receive(1, FollowerInfo(A, 0, 0))
        peer.receive(1, AckEpoch(A, 0, 0))
    if phase is Phase.BROADCAST:
        peer.receive(1, Ack(A, Z(1, 0)))
    peer.take_ready()
    assert peer.phase is phase
    return peer


def follower(phase: Phase = Phase.BROADCAST) -> tuple[Peer, int]:
    """Peer 1, following 3 up to ``phase`` in epoch 1; returns it and its attempt."""
    peer = make_peer(1)
    (info,) = [m for _, m in sent(elect(peer, 3), FollowerInfo)]
    attempt = info.attempt  # type: ignore[union-attr]
    if phase is not Phase.DISCOVERY:
        peer.receive(3, LeaderInfo(attempt, 1))
    if phase is Phase.BROADCAST:
        for packet in (Diff(attempt, 0), NewLeader(attempt, Z(1, 0), 0), UpToDate(attempt)):
            peer.receive(3, packet)
    peer.take_ready()
    assert peer.phase is phase
    return peer, attempt


# --- input validation ----------------------------------------------------------------------

NOT_LEADERS: list[tuple[str, Callable[[], Peer]]] = [
    ("looking", lambda: make_peer(1)),
    ("follower", lambda: follower()[0]),
    ("leader-in-discovery", lambda: leader(Phase.DISCOVERY)),
    ("leader-in-synchronization", lambda: leader(Phase.SYNCHRONIZATION)),
]


@pytest.mark.parametrize("build", [b for _, b in NOT_LEADERS], ids=[n for n, _ in NOT_LEADERS])
def test_propose_on_a_peer_that_is_not_an_established_leader_raises(
    build: Callable[[], Peer],
) -> None:
    peer = build()
    with pytest.raises(NotLeader):
        peer.propose(Z(1, 1), b"x")
    with pytest.raises(NotLeader):
        peer.next_zxid()
    assert peer.take_ready().is_empty()


def test_an_established_leader_proposes_the_next_zxid_only() -> None:
    peer = leader()
    assert peer.next_zxid() == Z(1, 1)
    with pytest.raises(NotLeader, match="not the next one"):
        peer.propose(Z(1, 2), b"x")
    assert peer.take_ready().is_empty()
    ready = step(peer, lambda: peer.propose(Z(1, 1), b"x"))
    assert ready.appends == (LogEntry(Z(1, 1), b"x"),)
    assert sent(ready) == [(1, Proposal(A, Z(1, 1), b"x", 0))]
    assert peer.next_zxid() == Z(1, 2)


NOT_LEARNERS: list[tuple[str, Callable[[], Peer]]] = [
    ("looking", lambda: make_peer(1)),
    ("leader", lambda: leader()),
    ("follower-in-discovery", lambda: follower(Phase.DISCOVERY)[0]),
    ("follower-in-synchronization", lambda: follower(Phase.SYNCHRONIZATION)[0]),
]


@pytest.mark.parametrize("build", [b for _, b in NOT_LEARNERS], ids=[n for n, _ in NOT_LEARNERS])
def test_forward_on_a_peer_that_is_not_a_connected_learner_raises(
    build: Callable[[], Peer],
) -> None:
    peer = build()
    with pytest.raises(NotConnected):
        peer.forward(b"write")
    with pytest.raises(NotConnected):
        peer.sync(b"sync")
    assert peer.take_ready().is_empty()


def test_a_learner_in_broadcast_forwards_to_its_leader() -> None:
    peer, attempt = follower()
    ready = step(peer, lambda: (peer.forward(b"write"), peer.sync(b"sync")))
    assert sent(ready) == [(3, Request(attempt, b"write")), (3, Sync(attempt, b"sync"))]


# --- the Ready ordering contract -----------------------------------------------------------


def test_the_leader_persists_the_new_epoch_in_the_ready_that_sends_leaderinfo() -> None:
    peer = leader(Phase.DISCOVERY)
    ready = step(peer, lambda: peer.receive(1, FollowerInfo(A, 0, 0)))
    assert ready.epochs == EpochUpdate(1, 0)
    assert sent(ready) == [(1, LeaderInfo(A, 1))]


def test_the_leader_makes_the_epoch_current_in_the_ready_that_starts_synchronization() -> None:
    peer = leader(Phase.DISCOVERY)
    peer.receive(1, FollowerInfo(A, 0, 0))
    peer.take_ready()
    ready = step(peer, lambda: peer.receive(1, AckEpoch(A, 0, 0)))
    assert ready.epochs == EpochUpdate(1, 1)
    assert sent(ready) == [(1, Diff(A, 0)), (1, NewLeader(A, Z(1, 0), 0))]


def test_the_learner_persists_the_accepted_epoch_in_the_ready_that_sends_ackepoch() -> None:
    peer, attempt = follower(Phase.DISCOVERY)
    ready = step(peer, lambda: peer.receive(3, LeaderInfo(attempt, 1)))
    assert ready.epochs == EpochUpdate(1, 0)
    assert sent(ready) == [(3, AckEpoch(attempt, 0, 0))]


def test_a_learner_that_already_accepted_the_epoch_writes_nothing_and_says_so() -> None:
    peer = make_peer(1, accepted=1, current=1)
    (info,) = [m for _, m in sent(elect(peer, 3), FollowerInfo)]
    attempt = info.attempt  # type: ignore[union-attr]
    ready = step(peer, lambda: peer.receive(3, LeaderInfo(attempt, 1)))
    assert ready.epochs is None
    assert sent(ready) == [(3, AckEpoch(attempt, -1, 0))]


def test_a_follower_acknowledges_a_proposal_only_after_log_synced() -> None:
    peer, attempt = follower()
    ready = step(peer, lambda: peer.receive(3, Proposal(attempt, Z(1, 1), b"a", 0)))
    assert ready.appends == (LogEntry(Z(1, 1), b"a"),)
    assert sent(ready, Ack) == []
    ready = step(peer, lambda: peer.receive(3, Proposal(attempt, Z(1, 2), b"b", Z(1, 1))))
    assert sent(ready, Ack) == []
    ready = step(peer, lambda: peer.log_synced(Z(1, 1)))
    assert sent(ready) == [(3, Ack(attempt, Z(1, 1)))]
    assert step(peer, lambda: peer.log_synced(Z(1, 1))).is_empty()  # no second ACK
    ready = step(peer, lambda: peer.log_synced(Z(1, 2)))
    assert sent(ready) == [(3, Ack(attempt, Z(1, 2)))]


def test_a_follower_applies_a_commit_only_once_the_entry_is_durable() -> None:
    peer, attempt = follower()
    peer.receive(3, Proposal(attempt, Z(1, 1), b"a", 0))
    ready = step(peer, lambda: peer.receive(3, Commit(attempt, Z(1, 1))))
    assert ready.commits == ()
    ready = step(peer, lambda: peer.log_synced(Z(1, 1)))
    assert sent(ready) == [(3, Ack(attempt, Z(1, 1)))]
    assert ready.commits == (LogEntry(Z(1, 1), b"a"),)


def test_the_leader_commits_only_once_its_own_log_is_durable() -> None:
    peer = leader()
    peer.propose(Z(1, 1), b"a")
    peer.take_ready()
    ready = step(peer, lambda: peer.receive(1, Ack(A, Z(1, 1))))  # 1 of 3, and not us yet
    assert ready.commits == ()
    assert sent(ready, Commit) == []
    ready = step(peer, lambda: peer.log_synced(Z(1, 1)))
    assert ready.commits == (LogEntry(Z(1, 1), b"a"),)
    assert sent(ready) == [(1, Commit(A, Z(1, 1)))]


def synchronizing_follower() -> tuple[Peer, int]:
    """Peer 1 with 1:1 and 1:2 durable (epochs 1/1) in synchronization with leader 3 of
    epoch 2, which sends DIFF, 1:3, 1:4 and NEWLEADER; nothing of that is durable yet."""
    peer = make_peer(1, accepted=1, current=1, log=(Z(1, 1), Z(1, 2)))
    (info,) = [m for _, m in sent(elect(peer, 3), FollowerInfo)]
    attempt = info.attempt  # type: ignore[union-attr]
    ready = step(peer, lambda: peer.receive(3, LeaderInfo(attempt, 2)))
    assert ready.epochs == EpochUpdate(2, 1)
    assert sent(ready) == [(3, AckEpoch(attempt, 1, Z(1, 2)))]
    return peer, attempt


def test_newleader_is_acknowledged_only_once_every_sync_append_is_durable() -> None:
    peer, attempt = synchronizing_follower()
    packets = [
        Diff(attempt, Z(1, 4)),
        Proposal(attempt, Z(1, 3), b"c", Z(1, 2)),
        Proposal(attempt, Z(1, 4), b"d", Z(1, 3)),
        NewLeader(attempt, Z(2, 0), Z(1, 4)),
    ]
    ready = step(peer, lambda: [peer.receive(3, p) for p in packets])
    assert [e.zxid for e in ready.appends] == [Z(1, 3), Z(1, 4)]
    assert ready.epochs is None  # epoch 2 is not current before the log is durable
    assert sent(ready) == []
    assert step(peer, lambda: peer.log_synced(Z(1, 3))).is_empty()
    ready = step(peer, lambda: peer.log_synced(Z(1, 4)))
    assert ready.epochs == EpochUpdate(2, 2)  # written before the ACK leaves
    assert sent(ready) == [(3, Ack(attempt, Z(2, 0)))]
    assert peer.current_epoch == 2


def test_after_trunc_newleader_waits_for_the_appends_that_follow_it() -> None:
    peer, attempt = synchronizing_follower()
    packets = [
        Trunc(attempt, Z(1, 1)),
        Proposal(attempt, Z(2, 1), b"n", Z(1, 1)),
        NewLeader(attempt, Z(2, 0), Z(2, 1)),
    ]
    ready = step(peer, lambda: [peer.receive(3, p) for p in packets])
    assert ready.truncate_to == Z(1, 1)
    assert [e.zxid for e in ready.appends] == [Z(2, 1)]
    assert sent(ready) == []
    ready = step(peer, lambda: peer.log_synced(Z(2, 1)))
    assert ready.epochs == EpochUpdate(2, 2)
    assert sent(ready) == [(3, Ack(attempt, Z(2, 0))), (3, Ack(attempt, Z(2, 1)))]


def test_after_snap_newleader_waits_for_the_snapshot_to_be_installed() -> None:
    peer, attempt = synchronizing_follower()
    packets = [Snap(attempt, Z(1, 9)), NewLeader(attempt, Z(2, 0), Z(1, 9))]
    ready = step(peer, lambda: [peer.receive(3, p) for p in packets])
    assert ready.epochs is None
    assert sent(ready) == []
    assert step(peer, lambda: peer.snapshot_installed(Z(1, 8))).is_empty()  # not that one
    ready = step(peer, lambda: peer.snapshot_installed(Z(1, 9)))
    assert ready.epochs == EpochUpdate(2, 2)
    assert sent(ready) == [(3, Ack(attempt, Z(2, 0)))]
    assert peer.history.last_zxid == peer.history.committed == Z(1, 9)


# --- a leader whose own log is not durable yet ---------------------------------------------
#
# Suspected core bug: a follower that appended a proposal (not yet fsynced) and then loses
# its leader can win the election on that zxid and lead. Leading makes the new epoch current
# (and counts itself in the NEWLEADER quorum) without waiting for its own log to be durable,
# which Following does wait for. After a crash before the fsync its durable state says
# "current epoch e+1" over a log missing that txn, and (epoch, zxid) vote order lets it
# beat a peer that holds the txn durably — even when the txn was committed in epoch e.
# tests/zab/scripts/leader_epoch_before_fsync.txt shows the committed txn being lost.


def leader_with_an_unsynced_tail() -> tuple[Peer, int]:
    """Peer 2 got 1:2 from leader 3 (not yet durable), lost 3, and now leads 1."""
    peer = make_peer(2, accepted=1, current=1, log=(Z(1, 1),))
    (info,) = [m for _, m in sent(elect(peer, 3), FollowerInfo)]
    attempt = info.attempt  # type: ignore[union-attr]
    for packet in (
        LeaderInfo(attempt, 1),
        Diff(attempt, Z(1, 2)),
        Proposal(attempt, Z(1, 2), b"b", Z(1, 1)),
        NewLeader(attempt, Z(1, 0), Z(1, 2)),
    ):
        peer.receive(3, packet)
    peer.link_lost(3)
    peer.take_ready()
    assert peer.role is Role.LOOKING
    assert (peer.history.last_zxid, peer.synced_zxid) == (Z(1, 2), Z(1, 1))
    elect(peer, 2)
    assert peer.role is Role.LEADING
    ready = step(
        peer, lambda: peer.receive(1, FollowerInfo(A, 1, Z(1, 1), False, 0, ((1, Z(1, 1)),)))
    )
    assert ready.epochs == EpochUpdate(2, 1)
    return peer, A


def test_a_leader_makes_its_epoch_current_only_once_its_own_log_is_durable() -> None:
    peer, attempt = leader_with_an_unsynced_tail()
    ready = step(peer, lambda: peer.receive(1, AckEpoch(attempt, 1, Z(1, 1))))
    assert ready.epochs is None or ready.epochs.current_epoch == 1
    ready = step(peer, lambda: peer.log_synced(Z(1, 2)))
    updates = [ready.epochs]
    if peer.phase is Phase.DISCOVERY:
        updates.append(step(peer, lambda: peer.receive(1, AckEpoch(attempt, 1, Z(1, 1)))).epochs)
    assert EpochUpdate(2, 2) in updates


def test_a_leader_counts_itself_for_newleader_only_once_its_own_log_is_durable() -> None:
    peer, attempt = leader_with_an_unsynced_tail()
    peer.receive(1, AckEpoch(attempt, 1, Z(1, 1)))
    peer.take_ready()
    ready = step(peer, lambda: peer.receive(1, Ack(attempt, Z(2, 0))))  # 1 holds 1:2 durably
    assert peer.phase is not Phase.BROADCAST  # {1, 2} is a quorum only if 2 holds it too
    assert sent(ready, UpToDate) == []
    ready = step(peer, lambda: peer.log_synced(Z(1, 2)))
    assert peer.phase is Phase.BROADCAST
    assert sent(ready, UpToDate) == [(1, UpToDate(attempt))]
