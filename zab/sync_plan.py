"""How a leader brings one learner to its history: DIFF, TRUNC or SNAP.

The counterpart of ZooKeeper's ``LearnerHandler.syncFollower``, but decided from the
learner's epoch summary (:func:`zab.history.common_point`) instead of its last zxid alone:

* the learner's log is a prefix of the leader's: **DIFF** plus the proposals after it;
* the learner has a divergent tail: **TRUNC** to the common point, then the proposals;
* the leader no longer has what the learner is missing (or cannot tell where the logs
  part): **SNAP** of the leader's applied state, then the proposals after it.
"""

from __future__ import annotations

import enum

import attrs

from zab.history import EpochSummary, History, common_point
from zab.messages import Diff, Message, Snap, Trunc
from zab.ready import LogEntry


class SyncKind(enum.Enum):
    DIFF = "diff"
    TRUNC = "trunc"
    SNAP = "snap"


@attrs.frozen
class SyncPlan:
    """The sync packet (kind and zxid), the point the learner is at after it, and the
    entries to send as proposals after it."""

    kind: SyncKind
    zxid: int
    start: int
    entries: tuple[LogEntry, ...]

    def packet(self, attempt: int) -> Message:
        if self.kind is SyncKind.DIFF:
            return Diff(attempt, self.zxid)
        if self.kind is SyncKind.TRUNC:
            return Trunc(attempt, self.zxid)
        return Snap(attempt, self.zxid)


def plan_sync(learner: EpochSummary, history: History, *, applied: int) -> SyncPlan:
    """Decide how to synchronize a learner whose log is summarized by ``learner``.

    ``applied`` is the leader's applied zxid: the state a SNAP carries.
    """
    point = common_point(learner, history.summary())
    if point is not None:
        entries = history.entries_after(point)
        if entries is not None:
            if learner.last_zxid > point:
                return SyncPlan(SyncKind.TRUNC, point, point, tuple(entries))
            return SyncPlan(SyncKind.DIFF, history.last_zxid, point, tuple(entries))
    after_snapshot = history.entries_after(applied) or []
    return SyncPlan(SyncKind.SNAP, applied, applied, tuple(after_snapshot))
