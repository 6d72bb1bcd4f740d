"""Safety checks run after every simulation step (see the package docstring)."""

from __future__ import annotations

from typing import Any

from zab.ready import EpochUpdate, LogEntry, Phase, Role, RoleChange
from zab.zxid import epoch_of


class SafetyViolation(AssertionError):
    """A ZAB invariant broke."""


class Checker:
    """Watches every node's outputs; raises :class:`SafetyViolation` on the first breach."""

    def __init__(self) -> None:
        self.leaders: dict[int, int] = {}  # epoch -> established leader
        self.committed: list[tuple[int, bytes]] = []  # the one committed sequence
        self.digests: dict[int, int] = {}  # zxid -> tree digest after applying it
        self.epochs: dict[int, tuple[int, int]] = {}  # node -> durable (accepted, current)
        self.acked: dict[bytes, int] = {}  # client payload -> zxid it was acknowledged at

    def fail(self, message: str) -> None:
        raise SafetyViolation(message)

    def role_changed(self, node: Any, change: RoleChange) -> None:
        if change.role is Role.LEADING and change.phase is Phase.BROADCAST:
            epoch = change.epoch
            other = self.leaders.setdefault(epoch, node.sid)
            if other != node.sid:
                self.fail(f"two leaders established in epoch {epoch}: {other} and {node.sid}")
            # primary integrity: the new leader's log holds every txn committed before
            history = node.peer.history
            have = {e.zxid: e.payload for e in list(history.done) + list(history.pending)}
            applied = dict(node.applied)
            for zxid, payload in self.committed:
                if epoch_of(zxid) >= epoch:
                    continue
                if zxid <= history.base:
                    if applied.get(zxid, payload) != payload:
                        self.fail(f"leader {node.sid} e{epoch} has a different txn at {zxid:#x}")
                    continue
                if zxid <= history.memory_after:
                    continue  # on its disk, no longer in memory: checked when applied
                if have.get(zxid) != payload:
                    self.fail(f"leader {node.sid} of e{epoch} lacks committed txn {zxid:#x}")

    def epochs_written(self, node: Any, update: EpochUpdate) -> None:
        old = self.epochs.get(node.sid, (0, 0))
        new = (update.accepted_epoch, update.current_epoch)
        if new[0] < old[0] or new[1] < old[1]:
            self.fail(f"node {node.sid}: epochs went back from {old} to {new}")
        if new[1] > new[0]:
            self.fail(f"node {node.sid}: current epoch {new[1]} above accepted {new[0]}")
        self.epochs[node.sid] = new

    def truncated(self, node: Any, zxid: int) -> None:
        if node.applied_zxid() > zxid:
            self.fail(
                f"node {node.sid} truncates to {zxid:#x} below applied {node.applied_zxid():#x}"
            )

    def applied(self, node: Any, entry: LogEntry) -> None:
        seq = node.applied
        index = len(seq) - 1
        if index > 0 and seq[index - 1][0] >= entry.zxid:
            self.fail(f"node {node.sid}: applied zxids not increasing at {entry.zxid:#x}")
        if index < len(self.committed):
            if self.committed[index] != (entry.zxid, entry.payload):
                self.fail(
                    f"node {node.sid} applied {entry.zxid:#x} at position {index}, "
                    f"but {self.committed[index][0]:#x} was committed there"
                )
        elif index == len(self.committed):
            self.committed.append((entry.zxid, entry.payload))
        else:
            self.fail(f"node {node.sid} skipped committed positions")
        digest = node.tree.digest()
        known = self.digests.setdefault(entry.zxid, digest)
        if known != digest:
            self.fail(f"node {node.sid}: tree differs from others after {entry.zxid:#x}")

    def snapshot_installed(self, node: Any, zxid: int) -> None:
        for index, item in enumerate(node.applied):
            if index >= len(self.committed) or self.committed[index] != item:
                self.fail(f"node {node.sid} installed a snapshot that is not a committed prefix")

    def acknowledged(self, payload: bytes, zxid: int) -> None:
        self.acked[payload] = zxid

    def check_acked_survive(self) -> None:
        committed = {payload for _, payload in self.committed}
        lost = [p for p in self.acked if p not in committed]
        if lost:
            self.fail(f"acknowledged writes lost: {lost[:3]}")
