"""A node's simulated disk: durable records, and appends still waiting for their fsync.

A crash keeps what was durable and loses everything else. An fsync completes a random
number of ticks after the append, in order.
"""

from __future__ import annotations

import random

from zab.ready import LogEntry
from znode.tree import DataTree


class SimDisk:
    """Durable state of one node; survives crashes."""

    def __init__(self) -> None:
        self.accepted_epoch = 0
        self.current_epoch = 0
        self.log: list[LogEntry] = []  # durable
        self.pending: list[tuple[int, LogEntry]] = []  # (tick it becomes durable, entry)
        self.snapshot_zxid = 0
        self.snapshot_tree = DataTree()
        self.snapshot_applied: list[tuple[int, bytes]] = []

    def write_epochs(self, accepted: int, current: int) -> None:
        self.accepted_epoch, self.current_epoch = accepted, current

    def truncate(self, zxid: int) -> None:
        self.log = [e for e in self.log if e.zxid <= zxid]
        self.pending = [(t, e) for t, e in self.pending if e.zxid <= zxid]

    def append(self, entry: LogEntry, now: int, rng: random.Random, fsync_max: int) -> None:
        ready_at = now + rng.randint(0, fsync_max)
        if self.pending:
            ready_at = max(ready_at, self.pending[-1][0])  # fsyncs complete in order
        self.pending.append((ready_at, entry))

    def sync_due(self, now: int) -> int | None:
        """Make appends due at ``now`` durable; the last durable zxid if any became so."""
        done = None
        while self.pending and self.pending[0][0] <= now:
            _, entry = self.pending.pop(0)
            self.log.append(entry)
            done = entry.zxid
        return done

    def install_snapshot(self, zxid: int, tree: DataTree, applied: list[tuple[int, bytes]]) -> None:
        self.snapshot_zxid = zxid
        self.snapshot_tree = tree
        self.snapshot_applied = applied
        self.log = []
        self.pending = []

    def crash(self) -> None:
        self.pending = []

    def entries_after_snapshot(self) -> list[LogEntry]:
        return [e for e in self.log if e.zxid > self.snapshot_zxid]
