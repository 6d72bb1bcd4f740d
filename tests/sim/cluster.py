"""Simulated nodes: a zab.Peer, a SimDisk and a DataTree, driven like the real shell.

Each node handles its peer's Ready in the shell's order — epochs, truncation, appends,
messages (a SNAP carries a copy of the state), commits — and restarts from its disk only.
"""

from __future__ import annotations

import random
from typing import Any

import msgpack

from sim.disk import SimDisk
from sim.network import Network
from zab.config import PeerConfig
from zab.history import History
from zab.messages import Snap
from zab.peer import DurableState, Peer
from zab.ready import LogEntry, Phase, Role
from znode.acl import OPEN_ACL_UNSAFE
from znode.opcodes import OpCode
from znode.tree import DataTree, Node
from znode.txn import CreateTxn, SetDataTxn, TxnHeader

WINDOW = 20  # small, so that DIFF from disk and SNAP happen often


def apply_payload(tree: DataTree, zxid: int, payload: bytes) -> None:
    """The simulated state machine: a payload sets key ``k`` to value ``v``."""
    key, value = msgpack.unpackb(payload)
    path = f"/k{key}"
    node = tree.node(path)
    if node is None:
        root = tree.node("/")
        assert root is not None
        txn: Any = CreateTxn(path, value, OPEN_ACL_UNSAFE, 0, root.cversion + 1)
        op = OpCode.CREATE
    else:
        txn = SetDataTxn(path, value, node.version + 1)
        op = OpCode.SET_DATA
    result = tree.apply(TxnHeader(0, 0, zxid, 0, op), txn)
    assert result.err == 0


def clone_tree(tree: DataTree) -> DataTree:
    fresh = DataTree(empty=True)
    for path, node in tree.walk():
        fresh.restore_node(path, node.copy())
    fresh.sessions = dict(tree.sessions)
    fresh.last_zxid = tree.last_zxid
    return fresh


class DiskReader:
    """The peer's view of older log entries: the durable log after the snapshot."""

    def __init__(self, disk: SimDisk) -> None:
        self.disk = disk

    def read_after(self, zxid: int, limit: int) -> list[LogEntry] | None:
        disk = self.disk
        if zxid < disk.snapshot_zxid:
            return None
        return [e for e in disk.log if e.zxid > zxid][:limit]


class SimNode:
    """One server: up or down; its disk survives crashes."""

    def __init__(self, sid: int, config: PeerConfig, sim: Any) -> None:
        self.sid = sid
        self.config = config
        self.sim = sim
        self.disk = SimDisk()
        self.up = False
        self.peer: Peer
        self.tree = DataTree()
        self.applied: list[tuple[int, bytes]] = []
        self.incarnation = 0

    def start(self) -> None:
        disk = self.disk
        self.incarnation += 1
        self.tree = clone_tree(disk.snapshot_tree)
        self.applied = list(disk.snapshot_applied)
        history = History(
            disk.entries_after_snapshot(),
            base=disk.snapshot_zxid,
            window=WINDOW,
            reader=DiskReader(disk),
        )
        rng = random.Random(self.sim.rng.getrandbits(64))
        self.peer = Peer(
            self.config, DurableState(disk.accepted_epoch, disk.current_epoch, history), rng
        )
        self.up = True
        self.sim.trace(self, f"start (log to {history.last_zxid:#x}, base {disk.snapshot_zxid:#x})")
        self.drain()

    def crash(self) -> None:
        self.up = False
        self.disk.crash()
        self.sim.trace(self, "crash")

    # --- the shell ------------------------------------------------------------------------

    def drain(self) -> None:
        """Handle Ready until the peer has nothing more to say."""
        while self.up:
            ready = self.peer.take_ready()
            if ready.is_empty():
                return
            self.handle(ready)

    def handle(self, ready: Any) -> None:
        sim = self.sim
        disk = self.disk
        if ready.role is not None:
            role = ready.role
            why = ""
            if role.role is Role.LOOKING and hasattr(self.peer, "last_reason"):
                why = f" ({self.peer.last_reason}; {self.peer.last_violation})"
                self.peer.last_violation = None
            sim.trace(
                self,
                f"{role.role.value} {role.phase.value} leader={role.leader} e{role.epoch}{why}",
            )
            sim.checker.role_changed(self, ready.role)
        if ready.epochs is not None:
            sim.checker.epochs_written(self, ready.epochs)
            disk.write_epochs(ready.epochs.accepted_epoch, ready.epochs.current_epoch)
        if ready.truncate_to is not None:
            sim.checker.truncated(self, ready.truncate_to)
            disk.truncate(ready.truncate_to)
        for entry in ready.appends:
            disk.append(entry, sim.now, sim.rng, sim.options.fsync_max)
        for envelope in ready.messages:
            attachment = None
            if isinstance(envelope.message, Snap):
                assert self.applied_zxid() == envelope.message.zxid, "SNAP of the wrong state"
                attachment = (clone_tree(self.tree), list(self.applied))
            sim.network.send(sim.now, self.sid, envelope.to, envelope.message, attachment)
        for entry in ready.commits:
            apply_payload(self.tree, entry.zxid, entry.payload)
            self.applied.append((entry.zxid, entry.payload))
            sim.checker.applied(self, entry)
            sim.workload.applied_at_leader(self, entry.zxid, entry.payload)
        for _sender, payload in ready.requests:
            sim.workload.propose_at(self, payload)

    def applied_zxid(self) -> int:
        return self.applied[-1][0] if self.applied else 0

    def deliver(self, src: int, message: Any, attachment: Any) -> None:
        if not self.up:
            return
        self.peer.receive(src, message)
        self.drain()
        if isinstance(message, Snap) and attachment is not None:
            following = self.peer.role_state
            if getattr(following, "awaiting_snapshot", None) == message.zxid:
                tree, applied = attachment
                self.tree = clone_tree(tree)
                self.applied = list(applied)
                self.disk.install_snapshot(message.zxid, clone_tree(tree), list(applied))
                self.sim.checker.snapshot_installed(self, message.zxid)
                self.peer.snapshot_installed(message.zxid)
                self.drain()

    def tick(self) -> None:
        if not self.up:
            return
        synced = self.disk.sync_due(self.sim.now)
        if synced is not None:
            self.peer.log_synced(synced)
        self.peer.tick()
        self.drain()

    def maybe_snapshot(self) -> None:
        """Take a local snapshot of the applied state and drop the log before it."""
        zxid = self.applied_zxid()
        if zxid > self.disk.snapshot_zxid:
            disk = self.disk
            disk.snapshot_zxid = zxid
            disk.snapshot_tree = clone_tree(self.tree)
            disk.snapshot_applied = list(self.applied)
            disk.log = [e for e in disk.log if e.zxid > zxid]

    @property
    def established_leader(self) -> bool:
        return self.up and self.peer.role is Role.LEADING and self.peer.phase is Phase.BROADCAST


def make_nodes(options: Any, sim: Any) -> dict[int, SimNode]:
    voters = frozenset(range(1, options.voters + 1))
    observers = frozenset(range(options.voters + 1, options.voters + options.observers + 1))
    nodes = {}
    for sid in sorted(voters | observers):
        config = PeerConfig(
            my_id=sid,
            voters=voters,
            observers=observers,
            init_limit=200,
            sync_limit=80,
            ping_interval=5,
            finalize_wait=3,
            notify_min=3,
            notify_max=40,
            committed_window=WINDOW,
        )
        nodes[sid] = SimNode(sid, config, sim)
    return nodes


__all__ = ["Network", "Node", "SimNode", "apply_payload", "clone_tree", "make_nodes"]
