"""Table tests of the log the core keeps (History), common_point and plan_sync."""

from __future__ import annotations

import pytest

from zab.history import EpochSummary, History, common_point, segments_of
from zab.messages import Diff, Snap, Trunc
from zab.ready import LogEntry
from zab.sync_plan import SyncKind, plan_sync
from zab.zxid import make_zxid


def z(text: str) -> int:
    """``"e:c"`` -> zxid, as transcripts print them."""
    epoch, counter = text.split(":")
    return make_zxid(int(epoch), int(counter))


def entry(text: str) -> LogEntry:
    return LogEntry(z(text), text.encode())


def log(*zxids: str) -> list[LogEntry]:
    return [entry(x) for x in zxids]


def zxids(entries: list[LogEntry] | tuple[LogEntry, ...] | None) -> list[str] | None:
    if entries is None:
        return None
    return [f"{e.zxid >> 32}:{e.zxid & 0xFFFFFFFF}" for e in entries]


class FakeReader:
    """The shell's durable log: entries after a snapshot at ``base``."""

    def __init__(self, entries: list[LogEntry], base: int = 0) -> None:
        self.entries = entries
        self.base = base
        self.calls: list[int] = []

    def read_after(self, zxid: int, limit: int) -> list[LogEntry] | None:
        self.calls.append(zxid)
        if zxid < self.base:
            return None
        return [e for e in self.entries if e.zxid > zxid][:limit]


# --- append --------------------------------------------------------------------------------


def test_append_keeps_zxid_order_and_the_epoch_segments() -> None:
    h = History()
    for e in log("1:1", "1:2", "2:1", "4:1", "4:2"):
        h.append(e)
    assert h.last_zxid == z("4:2")
    assert h.segments == {1: z("1:2"), 2: z("2:1"), 4: z("4:2")}
    assert h.summary() == EpochSummary(0, ((1, z("1:2")), (2, z("2:1")), (4, z("4:2"))))
    assert zxids(h.uncommitted()) == ["1:1", "1:2", "2:1", "4:1", "4:2"]


@pytest.mark.parametrize("late", ["1:2", "1:1", "0:9"])
def test_append_refuses_a_zxid_that_does_not_follow(late: str) -> None:
    h = History(log("1:1", "1:2"))
    with pytest.raises(ValueError, match="does not follow"):
        h.append(entry(late))
    assert h.last_zxid == z("1:2")


def test_append_refuses_a_zxid_at_or_below_the_snapshot_base() -> None:
    h = History(base=z("1:5"))
    with pytest.raises(ValueError, match="does not follow"):
        h.append(entry("1:5"))
    h.append(entry("1:6"))
    assert h.last_zxid == z("1:6")


# --- truncate ------------------------------------------------------------------------------

TRUNCATE_CASES = [
    # (base, log, committed, truncate to, remaining, segments after)
    (0, ["1:1", "1:2", "1:3"], 0, "1:2", ["1:1", "1:2"], {1: "1:2"}),
    (0, ["1:1", "1:2", "2:1", "2:2"], 0, "2:1", ["1:1", "1:2", "2:1"], {1: "1:2", 2: "2:1"}),
    (0, ["1:1", "1:2", "2:1", "3:1"], 0, "1:2", ["1:1", "1:2"], {1: "1:2"}),  # epochs dropped
    (0, ["1:1", "1:2", "2:1"], "1:1", "1:1", ["1:1"], {1: "1:1"}),  # down to committed
    (0, ["1:1"], 0, "0:0", [], {}),
    (0, ["1:1", "1:2"], 0, "1:2", ["1:1", "1:2"], {1: "1:2"}),  # nothing after: no-op
    ("1:5", ["1:6", "1:7", "2:1"], 0, "1:6", ["1:6"], {1: "1:6"}),
    ("1:5", ["1:6", "1:7"], 0, "1:5", [], {}),  # back to the snapshot base
]


@pytest.mark.parametrize(
    ("base", "entries", "committed", "point", "remaining", "segments"), TRUNCATE_CASES
)
def test_truncate_drops_the_tail_and_fixes_the_segments(
    base: str | int,
    entries: list[str],
    committed: str | int,
    point: str,
    remaining: list[str],
    segments: dict[int, str],
) -> None:
    base_zxid = z(base) if isinstance(base, str) else base
    h = History(log(*entries), base=base_zxid)
    if committed:
        h.commit_through(z(str(committed)))
    h.truncate(z(point))
    assert zxids(list(h.done) + h.uncommitted()) == remaining
    assert h.segments == {epoch: z(last) for epoch, last in segments.items()}
    assert h.last_zxid == (z(remaining[-1]) if remaining else base_zxid)


def test_truncate_never_goes_below_the_committed_point() -> None:
    h = History(log("1:1", "1:2", "1:3"), committed=z("1:2"))
    with pytest.raises(ValueError, match="cannot truncate committed history"):
        h.truncate(z("1:1"))
    assert h.last_zxid == z("1:3")
    assert h.committed == z("1:2")


# --- commit --------------------------------------------------------------------------------


def test_commit_through_returns_only_the_newly_committed_entries() -> None:
    h = History(log("1:1", "1:2", "1:3", "2:1"))
    assert zxids(h.commit_through(z("1:2"))) == ["1:1", "1:2"]
    assert zxids(h.commit_through(z("1:2"))) == []
    assert zxids(h.commit_through(z("2:1"))) == ["1:3", "2:1"]
    assert h.committed == z("2:1")
    assert h.uncommitted() == []


def test_the_committed_point_stays_on_a_real_zxid() -> None:
    h = History(log("1:1", "1:2", "2:1"))
    # UPTODATE commits "everything before epoch 2": make_zxid(2, 0) is not in the log
    assert zxids(h.commit_through(z("2:0"))) == ["1:1", "1:2"]
    assert h.committed == z("1:2")
    assert zxids(h.commit_through(z("9:0"))) == ["2:1"]
    assert h.committed == z("2:1")


def test_committing_nothing_keeps_the_committed_point() -> None:
    h = History(log("1:3"), base=z("1:2"))
    assert h.commit_through(z("1:2")) == []
    assert h.committed == z("1:2")


# --- memory window -------------------------------------------------------------------------


def test_the_window_keeps_only_the_newest_committed_entries_in_memory() -> None:
    h = History(log("1:1", "1:2", "1:3", "1:4", "1:5", "1:6"), window=2)
    assert h.memory_after == 0
    h.commit_through(z("1:5"))
    assert zxids(list(h.done)) == ["1:4", "1:5"]
    assert h.memory_after == z("1:3")
    assert zxids(h.uncommitted()) == ["1:6"]  # the uncommitted tail is always in memory
    assert h.last_zxid == z("1:6")


ENTRIES_AFTER_CASES = [
    # (reader, after, expected) for a log 1:1..1:5 with 1:1..1:4 committed, window 2
    # (memory after 1:2) and a snapshot at 0 unless the reader says otherwise
    pytest.param(None, "1:2", ["1:3", "1:4", "1:5"], id="memory"),
    pytest.param(None, "1:4", ["1:5"], id="memory-uncommitted-tail"),
    pytest.param(None, "1:5", [], id="memory-nothing-after"),
    pytest.param(None, "1:1", None, id="no-reader"),
    pytest.param(FakeReader(log("1:1", "1:2", "1:3", "1:4")), "1:1", ["1:2", "1:3", "1:4", "1:5"],
                 id="reader"),
    pytest.param(FakeReader(log("1:1", "1:2", "1:3", "1:4")), "0:0",
                 ["1:1", "1:2", "1:3", "1:4", "1:5"], id="reader-from-the-start"),
    pytest.param(FakeReader(log("1:2", "1:3"), base=z("1:1")), "0:0", None,
                 id="reader-snapshot-after-it"),
    pytest.param(FakeReader(log("1:1")), "0:0", None, id="reader-falls-short"),
]  # fmt: skip


@pytest.mark.parametrize(("reader", "after", "expected"), ENTRIES_AFTER_CASES)
def test_entries_after(reader: FakeReader | None, after: str, expected: list[str] | None) -> None:
    h = History(log("1:1", "1:2", "1:3", "1:4", "1:5"), window=2, reader=reader)
    h.commit_through(z("1:4"))
    assert h.memory_after == z("1:2")
    assert zxids(h.entries_after(z(after))) == expected
    if reader is not None:
        assert reader.calls == [z(after)]


def test_entries_after_below_the_base_are_unavailable() -> None:
    h = History(log("1:6"), base=z("1:5"), reader=FakeReader(log("1:6"), base=z("1:5")))
    assert h.entries_after(z("1:4")) is None
    assert zxids(h.entries_after(z("1:5"))) == ["1:6"]


def test_reset_forgets_everything_for_a_snapshot() -> None:
    h = History(log("1:1", "1:2", "2:1"), committed=z("1:2"), window=1)
    h.reset(z("3:4"))
    assert (h.base, h.committed, h.memory_after, h.last_zxid) == (z("3:4"),) * 4
    assert h.summary() == EpochSummary(z("3:4"), ())
    assert h.uncommitted() == []
    assert list(h.done) == []
    assert h.entries_after(z("3:4")) == []
    h.append(entry("3:5"))
    assert h.last_zxid == z("3:5")


# --- epoch summaries and the common point --------------------------------------------------


def summary(base: str, *lasts: str) -> EpochSummary:
    return EpochSummary(z(base), tuple((z(x) >> 32, z(x)) for x in lasts))


def test_a_summary_counts_its_base_as_an_entry_of_its_epoch() -> None:
    assert summary("0:0").epochs() == {}
    assert summary("2:3").epochs() == {2: z("2:3")}
    assert summary("2:3", "2:5", "3:1").epochs() == {2: z("2:5"), 3: z("3:1")}
    assert summary("2:3").last_zxid == z("2:3")
    assert summary("2:3", "3:1").last_zxid == z("3:1")


def test_segments_of() -> None:
    assert segments_of(log("1:1", "1:2", "3:1")) == ((1, z("1:2")), (3, z("3:1")))
    assert segments_of([]) == ()


COMMON_POINT_CASES = [
    # (learner, leader, common point)
    pytest.param(summary("0:0"), summary("0:0", "1:5"), "0:0", id="empty-learner"),
    pytest.param(summary("0:0", "1:3"), summary("0:0", "1:5", "2:2"), "1:3", id="prefix"),
    pytest.param(summary("0:0", "1:5", "2:2"), summary("0:0", "1:5", "2:2"), "2:2", id="equal"),
    pytest.param(summary("0:0", "1:7"), summary("0:0", "1:5", "2:1"), "1:5",
                 id="ahead-in-the-same-epoch"),
    pytest.param(summary("0:0", "1:3", "2:4"), summary("0:0", "1:3", "3:1"), "1:3",
                 id="divergent-newer-epoch"),
    pytest.param(summary("0:0", "1:5", "2:1"), summary("0:0", "1:3", "3:2"), "1:3",
                 id="divergent-epoch-over-a-longer-older-one"),
    pytest.param(summary("0:0", "2:4"), summary("0:0", "1:3", "3:1"), "0:0",
                 id="nothing-shared"),
    pytest.param(summary("0:0", "1:2", "2:3"), summary("3:4", "3:6"), None,
                 id="unknown-epoch-below-the-leader-base"),
    pytest.param(summary("0:0", "1:2", "2:3"), summary("2:3", "3:6"), "2:3",
                 id="leader-base-closes-the-epoch"),
    pytest.param(summary("0:0", "2:7"), summary("2:3", "3:1"), "2:3",
                 id="leader-base-is-an-entry-of-its-epoch"),
    pytest.param(summary("1:5"), summary("0:0", "1:9"), "1:5", id="learner-base"),
    pytest.param(summary("1:5", "2:2"), summary("0:0", "1:9", "3:1"), "1:5",
                 id="learner-base-under-a-divergent-epoch"),
]  # fmt: skip


@pytest.mark.parametrize(("learner", "leader", "point"), COMMON_POINT_CASES)
def test_common_point(learner: EpochSummary, leader: EpochSummary, point: str | None) -> None:
    assert common_point(learner, leader) == (None if point is None else z(point))


# --- plan_sync -----------------------------------------------------------------------------


def leader_history(
    entries: list[str], committed: str, *, window: int = 500, reader: FakeReader | None = None
) -> History:
    return History(log(*entries), committed=z(committed), window=window, reader=reader)


LEADER = ["1:1", "1:2", "1:3", "2:1", "2:2"]
PLAN_CASES = [
    # (learner, leader history, applied, kind, packet zxid, start, entries)
    pytest.param(summary("0:0", "1:2"), leader_history(LEADER, "2:2"), "2:2",
                 SyncKind.DIFF, "2:2", "1:2", ["1:3", "2:1", "2:2"], id="diff"),
    pytest.param(summary("0:0"), leader_history(LEADER, "2:2"), "2:2",
                 SyncKind.DIFF, "2:2", "0:0", LEADER, id="diff-empty-learner"),
    pytest.param(summary("0:0", "1:3", "2:2"), leader_history(LEADER, "2:2"), "2:2",
                 SyncKind.DIFF, "2:2", "2:2", [], id="diff-nothing-missing"),
    pytest.param(summary("0:0", "1:3", "2:1"), leader_history(LEADER, "2:1"), "2:1",
                 SyncKind.DIFF, "2:2", "2:1", ["2:2"], id="diff-with-uncommitted-tail"),
    pytest.param(summary("0:0", "1:5"), leader_history(LEADER, "2:2"), "2:2",
                 SyncKind.TRUNC, "1:3", "1:3", ["2:1", "2:2"], id="trunc-ahead-in-epoch"),
    pytest.param(summary("0:0", "1:4"), leader_history(LEADER, "2:2"), "2:2",
                 SyncKind.TRUNC, "1:3", "1:3", ["2:1", "2:2"], id="trunc-one-ahead"),
    pytest.param(summary("0:0", "1:2", "3:1"), leader_history(["1:1", "1:2", "4:1"], "4:1"),
                 "4:1", SyncKind.TRUNC, "1:2", "1:2", ["4:1"], id="trunc-divergent-epoch"),
    pytest.param(summary("0:0", "1:3", "2:4"), leader_history(LEADER, "2:2"), "2:2",
                 SyncKind.TRUNC, "2:2", "2:2", [], id="trunc-nothing-to-send"),
    pytest.param(summary("0:0"), leader_history(LEADER, "2:2", window=2), "2:2",
                 SyncKind.SNAP, "2:2", "2:2", [], id="snap-window"),
    pytest.param(summary("0:0"), leader_history([*LEADER, "2:3"], "2:2", window=2), "2:2",
                 SyncKind.SNAP, "2:2", "2:2", ["2:3"], id="snap-then-uncommitted-tail"),
    pytest.param(summary("0:0", "1:5"), leader_history(LEADER, "2:2", window=1), "2:2",
                 SyncKind.SNAP, "2:2", "2:2", [], id="snap-instead-of-trunc"),
    pytest.param(summary("0:0"),
                 leader_history(LEADER, "2:2", window=1, reader=FakeReader(log(*LEADER))),
                 "2:2", SyncKind.DIFF, "2:2", "0:0", LEADER, id="diff-from-the-reader"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("learner", "history", "applied", "kind", "zxid", "start", "entries"), PLAN_CASES
)
def test_plan_sync(
    learner: EpochSummary,
    history: History,
    applied: str,
    kind: SyncKind,
    zxid: str,
    start: str,
    entries: list[str],
) -> None:
    plan = plan_sync(learner, history, applied=z(applied))
    assert (plan.kind, plan.zxid, plan.start) == (kind, z(zxid), z(start))
    assert zxids(plan.entries) == entries
    packet = {SyncKind.DIFF: Diff, SyncKind.TRUNC: Trunc, SyncKind.SNAP: Snap}[kind]
    assert plan.packet(42) == packet(42, z(zxid))


def test_snap_when_the_leader_cannot_tell_where_the_logs_part() -> None:
    leader = History(log("3:5", "3:6"), base=z("3:4"), committed=z("3:6"))
    plan = plan_sync(summary("0:0", "1:2", "2:3"), leader, applied=z("3:6"))
    assert (plan.kind, plan.zxid, plan.entries) == (SyncKind.SNAP, z("3:6"), ())
