"""The log as the core sees it: committed prefix, uncommitted tail, per-epoch summary.

Only the leader of epoch ``e`` proposes zxids of epoch ``e``, in order, and a learner
appends them only after synchronizing with that leader's history ``H_e``. So every log
that holds entries of epoch ``e`` equals ``H_e`` followed by a prefix of the same
sequence of epoch-``e`` proposals: two logs agree up to the smaller of their last
epoch-``e`` zxids. A snapshot base counts as an entry of its epoch (the state it holds is
such a prefix). The :class:`EpochSummary` (the last zxid of each epoch in the log) is
therefore enough for a leader to find the exact common prefix with a learner — no
guessing from a single "last zxid", which is where ZooKeeper's own TRUNC logic has
gone wrong.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from typing import Protocol

import attrs

from zab.ready import LogEntry
from zab.zxid import epoch_of


class LogReader(Protocol):
    """Older log entries the core no longer keeps in memory (the shell's log on disk)."""

    def read_after(self, zxid: int, limit: int) -> list[LogEntry] | None:
        """Entries with zxid > ``zxid`` in order (at most ``limit``), or ``None`` when the
        log does not reach back to ``zxid``."""


@attrs.frozen
class EpochSummary:
    """A log in brief: its base (a committed zxid: a snapshot, or 0) and the last zxid of
    each epoch present after it, oldest epoch first."""

    base: int
    segments: tuple[tuple[int, int], ...]

    @property
    def last_zxid(self) -> int:
        return self.segments[-1][1] if self.segments else self.base

    def epochs(self) -> dict[int, int]:
        """Epoch -> last zxid, counting the base as an entry of its epoch."""
        out = {epoch_of(self.base): self.base} if self.base else {}
        out.update(self.segments)
        return out


class History:
    """The peer's log. Owned by its :class:`~zab.peer.Peer`.

    Memory holds every entry after :attr:`memory_after`: the uncommitted tail and up to
    ``window`` committed entries; older committed entries come from ``reader``.
    """

    def __init__(
        self,
        entries: Iterable[LogEntry] = (),
        *,
        base: int = 0,
        committed: int | None = None,
        window: int = 500,
        reader: LogReader | None = None,
    ) -> None:
        self.base = base
        self.window = window
        self.reader = reader
        self.done: deque[LogEntry] = deque()  # committed, newest last
        self.pending: deque[LogEntry] = deque()  # uncommitted, in order
        self.segments: dict[int, int] = {}
        self.committed = base
        self.memory_after = base
        for entry in entries:
            self.append(entry)
        if committed is not None:
            self.commit_through(committed)

    @property
    def last_zxid(self) -> int:
        return max(self.segments.values(), default=self.base)

    def summary(self) -> EpochSummary:
        return EpochSummary(self.base, tuple(sorted(self.segments.items())))

    def append(self, entry: LogEntry) -> None:
        if entry.zxid <= self.last_zxid:
            raise ValueError(f"zxid {entry.zxid:#x} does not follow {self.last_zxid:#x}")
        self.pending.append(entry)
        self.segments[epoch_of(entry.zxid)] = entry.zxid

    def truncate(self, zxid: int) -> None:
        """Drop every entry after ``zxid`` (never below the committed point)."""
        if zxid < self.committed:
            raise ValueError(f"cannot truncate committed history ({zxid:#x} < {self.committed:#x})")
        while self.pending and self.pending[-1].zxid > zxid:
            self.pending.pop()
        for epoch, last in list(self.segments.items()):
            if last <= zxid:
                continue
            if epoch == epoch_of(zxid) and zxid > self.base:
                self.segments[epoch] = zxid
            else:
                del self.segments[epoch]

    def reset(self, base: int) -> None:
        """Forget everything: the state is now a snapshot at ``base`` (SNAP sync)."""
        self.done.clear()
        self.pending.clear()
        self.segments.clear()
        self.base = self.committed = self.memory_after = base

    def commit_through(self, zxid: int) -> list[LogEntry]:
        """Mark entries up to ``zxid`` committed; return the newly committed ones."""
        newly: list[LogEntry] = []
        pending, done = self.pending, self.done
        while pending and pending[0].zxid <= zxid:
            entry = pending.popleft()
            done.append(entry)
            newly.append(entry)
        if newly:  # the committed point is always a real point of the log
            self.committed = newly[-1].zxid
        while len(done) > self.window:
            self.memory_after = done.popleft().zxid
        return newly

    def uncommitted(self) -> list[LogEntry]:
        return list(self.pending)

    def entries_after(self, zxid: int) -> list[LogEntry] | None:
        """Entries with zxid > ``zxid`` (a point in this log), or ``None`` when they are
        not all available (then the learner needs a snapshot)."""
        if zxid < self.base:
            return None
        if zxid >= self.memory_after:
            return [e for e in self.done if e.zxid > zxid] + [
                e for e in self.pending if e.zxid > zxid
            ]
        if self.reader is None:
            return None
        older = self.reader.read_after(zxid, 1 << 30)
        if older is None:
            return None
        older = [e for e in older if e.zxid <= self.memory_after]
        if (older[-1].zxid if older else zxid) != self.memory_after:
            return None
        return older + list(self.done) + list(self.pending)


def common_point(learner: EpochSummary, leader: EpochSummary) -> int | None:
    """The last zxid both logs agree on, or ``None`` when the leader cannot tell.

    Walks the learner's epochs newest first: the first epoch the leader also has gives
    the common point (the smaller of the two last zxids in it); an epoch the leader does
    not have is a divergent tail the learner must drop. ``None`` when a divergent-looking
    epoch lies at or below the leader's base, where the leader has no detail left.
    """
    leader_epochs = leader.epochs()
    learner_epochs = learner.epochs()
    for epoch in sorted(learner_epochs, reverse=True):
        last = learner_epochs[epoch]
        if epoch in leader_epochs:
            return min(last, leader_epochs[epoch])
        if last <= leader.base:
            return None
    return 0


def segments_of(entries: Sequence[LogEntry]) -> tuple[tuple[int, int], ...]:
    """Per-epoch last zxids of a list of entries, oldest epoch first."""
    out: dict[int, int] = {}
    for entry in entries:
        out[epoch_of(entry.zxid)] = entry.zxid
    return tuple(sorted(out.items()))
