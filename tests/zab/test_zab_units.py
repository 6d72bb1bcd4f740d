"""Table tests of the ZAB core's pure pieces: zxids, quorums, vote order and the election."""

from __future__ import annotations

import pytest

from zab.config import PeerConfig
from zab.election import Decided, Election, Vote, vote_supersedes
from zab.messages import Notification, PeerState
from zab.quorum import has_quorum, quorum_size
from zab.zxid import MAX_COUNTER, counter_of, epoch_of, format_zxid, make_zxid

# --- zxids ---------------------------------------------------------------------------------

ZXID_CASES = [
    # (epoch, counter, zxid, formatted)
    (0, 0, 0, "0:0"),
    (0, 1, 1, "0:1"),
    (1, 0, 1 << 32, "1:0"),
    (1, 5, (1 << 32) | 5, "1:5"),
    (7, MAX_COUNTER, (7 << 32) | 0xFFFF_FFFF, "7:4294967295"),
    (0x7FFF_FFFF, 2, (0x7FFF_FFFF << 32) | 2, "2147483647:2"),
]


@pytest.mark.parametrize(("epoch", "counter", "zxid", "text"), ZXID_CASES)
def test_zxid_maths(epoch: int, counter: int, zxid: int, text: str) -> None:
    assert make_zxid(epoch, counter) == zxid
    assert epoch_of(zxid) == epoch
    assert counter_of(zxid) == counter
    assert format_zxid(zxid) == text


def test_a_counter_never_spills_into_the_epoch() -> None:
    assert make_zxid(1, (1 << 33) | 3) == make_zxid(1, 3)


ZXID_ORDER = [
    # zxids order by epoch first, then counter
    (make_zxid(1, MAX_COUNTER), make_zxid(2, 0)),
    (make_zxid(2, 0), make_zxid(2, 1)),
    (make_zxid(0, 9), make_zxid(1, 1)),
]


@pytest.mark.parametrize(("lower", "higher"), ZXID_ORDER)
def test_zxids_order_by_epoch_then_counter(lower: int, higher: int) -> None:
    assert lower < higher


# --- quorums -------------------------------------------------------------------------------

QUORUM_SIZES = [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (6, 4), (7, 4)]


@pytest.mark.parametrize(("voters", "size"), QUORUM_SIZES)
def test_quorum_size(voters: int, size: int) -> None:
    assert quorum_size(range(1, voters + 1)) == size


HAS_QUORUM_CASES = [
    # (acks, voters, expected)
    ([1], {1}, True),
    ([], {1}, False),
    ([1, 2], {1, 2, 3}, True),
    ([3], {1, 2, 3}, False),
    ([1, 1, 1], {1, 2, 3}, False),  # an ack counts once
    ([1, 4, 5], {1, 2, 3}, False),  # non-voters (observers) never count
    ([1, 2], {1, 2, 3, 4}, False),  # half is not a majority
    ([1, 2, 3], {1, 2, 3, 4}, True),
    ([2, 4, 5], {1, 2, 3, 4, 5}, True),
]


@pytest.mark.parametrize(("acks", "voters", "expected"), HAS_QUORUM_CASES)
def test_has_quorum(acks: list[int], voters: set[int], expected: bool) -> None:
    assert has_quorum(acks, voters) is expected


# --- vote order ----------------------------------------------------------------------------

E1, E2 = 1, 2
VOTE_CASES = [
    # (new, current, new supersedes current)  Vote(leader, zxid, epoch)
    (Vote(1, make_zxid(1, 1), E2), Vote(3, make_zxid(1, 9), E1), True),  # epoch first
    (Vote(3, make_zxid(1, 9), E1), Vote(1, make_zxid(1, 1), E2), False),
    (Vote(1, make_zxid(1, 5), E1), Vote(3, make_zxid(1, 4), E1), True),  # then zxid
    (Vote(3, make_zxid(1, 4), E1), Vote(1, make_zxid(1, 5), E1), False),
    (Vote(3, make_zxid(1, 4), E1), Vote(2, make_zxid(1, 4), E1), True),  # then server id
    (Vote(2, make_zxid(1, 4), E1), Vote(3, make_zxid(1, 4), E1), False),
    (Vote(2, make_zxid(1, 4), E1), Vote(2, make_zxid(1, 4), E1), False),  # equal: no
]


@pytest.mark.parametrize(("new", "current", "expected"), VOTE_CASES)
def test_vote_supersedes(new: Vote, current: Vote, expected: bool) -> None:
    assert vote_supersedes(new, current) is expected


# --- election ------------------------------------------------------------------------------

LOOKING, FOLLOWING, LEADING = PeerState.LOOKING, PeerState.FOLLOWING, PeerState.LEADING


def election(
    my_id: int,
    voters: int = 3,
    observers: frozenset[int] = frozenset(),
    *,
    zxid: int = 0,
    epoch: int = 0,
    finalize_wait: int = 4,
) -> Election:
    config = PeerConfig(
        my_id=my_id,
        voters=frozenset(range(1, voters + 1)),
        observers=observers,
        finalize_wait=finalize_wait,
        notify_min=1000,  # no resends to get in the way
        notify_max=1000,
    )
    return Election(config, epoch=epoch, zxid=zxid, logical_clock=0)


def note(
    leader: int, state: PeerState = LOOKING, *, round: int = 1, zxid: int = 0, epoch: int = 0
) -> Notification:
    return Notification(leader, zxid, round, epoch, state)


def ticks_until_decided(el: Election, limit: int = 50) -> tuple[int, Decided | None]:
    for n in range(1, limit + 1):
        decided = el.tick()
        if decided is not None:
            return n, decided
    return limit, None


def test_a_one_voter_ensemble_decides_alone_after_the_finalize_wait() -> None:
    el = election(1, voters=1, finalize_wait=3)
    assert el.outbox == []  # nobody to tell
    assert ticks_until_decided(el) == (3, Decided(1, 1))


def test_a_lone_voter_of_three_never_decides() -> None:
    el = election(1)
    assert ticks_until_decided(el) == (50, None)


def test_the_first_round_announces_our_own_vote_to_every_member() -> None:
    el = election(2, observers=frozenset({4}), zxid=make_zxid(1, 3), epoch=1)
    mine = Notification(2, make_zxid(1, 3), 1, 1, LOOKING)
    assert el.outbox == [(1, mine), (3, mine), (4, mine)]


def test_a_quorum_for_our_vote_decides_after_the_finalize_wait() -> None:
    el = election(3)
    assert el.receive(1, note(3)) is None
    assert ticks_until_decided(el) == (4, Decided(3, 1))


def test_a_better_vote_replaces_the_proposal_and_restarts_the_finalize_wait() -> None:
    el = election(1, finalize_wait=4)
    el.receive(2, note(2))  # 2 beats 1: switch; {1, 2} back 2, the wait starts
    assert el.proposal == Vote(2, 0, 0)
    assert el.tick() is None
    assert el.tick() is None  # two ticks of the wait left
    el.outbox.clear()
    el.receive(3, note(3))  # better still, and {1, 3} back it at once
    assert el.proposal == Vote(3, 0, 0)
    assert el.outbox == [(2, el.notification()), (3, el.notification())]  # announced
    assert ticks_until_decided(el) == (4, Decided(3, 1))  # a full wait, not the rest


def test_a_vote_moving_away_cancels_the_finalize_wait() -> None:
    el = election(1, voters=5)
    el.receive(2, note(3))
    el.receive(3, note(3))  # {1, 2, 3} back 3
    assert el.finalize_left is not None
    el.receive(2, note(2))  # 2's older vote, delivered late: 3 lost its quorum
    assert el.proposal == Vote(3, 0, 0)
    assert el.finalize_left is None
    assert ticks_until_decided(el) == (50, None)


def test_a_newer_round_resets_the_tally() -> None:
    el = election(1, voters=5)
    el.receive(2, note(3))
    el.receive(3, note(3))  # {1, 2, 3} back 3 in round 1
    assert el.finalize_left is not None
    el.outbox.clear()
    el.receive(4, note(4, round=2))
    assert el.logical_clock == 2
    assert el.received == {1: Vote(4, 0, 0), 4: Vote(4, 0, 0)}  # round 1 forgotten
    assert el.finalize_left is None
    assert {to for to, n in el.outbox if n.election_epoch == 2} == {2, 3, 4, 5}
    assert ticks_until_decided(el) == (50, None)


def test_a_newer_round_keeps_our_own_vote_when_it_is_better() -> None:
    el = election(5, voters=5)
    el.receive(1, note(1, round=3))
    assert el.logical_clock == 3
    assert el.proposal == Vote(5, 0, 0)
    assert el.received == {5: Vote(5, 0, 0), 1: Vote(1, 0, 0)}


def test_a_vote_of_an_older_round_is_answered_not_counted() -> None:
    el = election(1)
    el.receive(2, note(2, round=2))
    el.outbox.clear()
    el.receive(3, note(3, round=1))
    assert el.outbox == [(3, el.notification())]
    assert 3 not in el.received
    assert el.proposal == Vote(2, 0, 0)


OBSERVER_VOTES = [
    # (sender, notification): none of these counts or changes our vote
    (4, note(-1)),  # an observer asking who leads
    (4, note(4)),  # an observer's vote for itself
    (2, note(4)),  # a voter's vote for an observer
]


@pytest.mark.parametrize(("sender", "notification"), OBSERVER_VOTES)
def test_observers_are_never_counted_nor_elected(sender: int, notification: Notification) -> None:
    el = election(1, observers=frozenset({4}))
    el.outbox.clear()
    assert el.receive(sender, notification) is None
    assert el.received == {1: Vote(1, 0, 0)}
    assert el.proposal == Vote(1, 0, 0)
    assert el.outbox == [(sender, el.notification())]  # answered with our vote


def test_an_observer_never_votes_and_does_not_decide_from_looking_votes() -> None:
    el = election(4, observers=frozenset({4}))
    assert el.proposal is None
    assert {n.leader for _, n in el.outbox} == {-1}
    for voter in (1, 2, 3):
        assert el.receive(voter, note(3)) is None
    assert ticks_until_decided(el) == (50, None)


def test_an_observer_follows_the_leader_the_established_voters_name() -> None:
    el = election(4, observers=frozenset({4}))
    assert el.receive(1, note(3, FOLLOWING, epoch=1)) is None
    assert el.receive(3, note(3, LEADING, epoch=1, round=2)) == Decided(3, 2)


E = 5  # the running ensemble's epoch
JOIN_CASES = [
    # (notifications (sender, leader, state, epoch), decision) for peer 1 of 5 voters
    pytest.param([(3, 3, LEADING, E), (2, 3, FOLLOWING, E), (4, 3, FOLLOWING, E)], 3, id="join"),
    pytest.param([(2, 3, FOLLOWING, E), (4, 3, FOLLOWING, E), (5, 3, FOLLOWING, E)], None,
                 id="quorum-names-3-but-3-does-not-claim-to-lead"),
    pytest.param([(3, 3, LEADING, E), (2, 3, FOLLOWING, E)], None, id="leader-without-quorum"),
    pytest.param([(3, 3, LEADING, E), (2, 3, FOLLOWING, E), (4, 3, FOLLOWING, E - 1),
                  (5, 3, FOLLOWING, E - 1)], None, id="supporters-of-another-epoch"),
    pytest.param([(3, 3, LEADING, E), (2, 3, FOLLOWING, E), (6, 3, FOLLOWING, E)], None,
                 id="observers-do-not-support"),
    pytest.param([(4, 2, FOLLOWING, E), (3, 3, LEADING, E), (2, 3, FOLLOWING, E)], None,
                 id="split-naming"),
    pytest.param([(2, 1, FOLLOWING, E), (3, 1, FOLLOWING, E), (1, 1, LEADING, E)], None,
                 id="others-following-me"),
]  # fmt: skip


@pytest.mark.parametrize(("notes", "leader"), JOIN_CASES)
def test_joining_an_established_ensemble(
    notes: list[tuple[int, int, PeerState, int]], leader: int | None
) -> None:
    el = election(1, voters=5, observers=frozenset({6}))
    decisions = [el.receive(s, note(ld, st, epoch=ep, round=7)) for s, ld, st, ep in notes]
    assert decisions[:-1] == [None] * (len(notes) - 1)
    assert decisions[-1] == (None if leader is None else Decided(leader, 7))


def test_joining_keeps_the_newer_logical_clock() -> None:
    el = election(1)
    el.receive(2, note(2, round=9))  # we are in round 9
    el.receive(3, note(3, LEADING, epoch=1, round=4))
    assert el.receive(2, note(3, FOLLOWING, epoch=1, round=4)) == Decided(3, 9)
