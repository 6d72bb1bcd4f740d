"""Golden transcripts of the ZAB core, after etcd's ``testdata/*.txt`` interaction tests.

A script is a list of commands, one per line. Beneath each command, indented by two
spaces, is everything that happened while it ran; ``#`` lines are comments. Running a
script re-executes its commands and regenerates the indented lines, so a transcript test is
``run_script(text) == text`` and ``--rewrite-transcripts`` writes the new text back.

Commands (``[...]`` optional; ``i``/``j`` are server ids)::

    add-nodes N [observers=K] [window=W] [<PeerConfig field>=V ...]
    tick [n] [node=i]           deliver [from=i] [to=j]      drop [from=i] [to=j]
    sync [node=i]               crash i                      restart i
    propose PAYLOAD [node=i]    stabilize [ticks=N]          state
    log i                       snapshot i                   cut i j        heal

Each node is handled like the real shell handles a ``Ready``: epochs written at once,
truncation and appends to a log whose appends stay unsynced until ``sync`` (then
``log_synced``), messages queued (a SNAP carries the sender's applied state), commits
applied. ``crash`` loses unsynced appends and breaks the node's links; ``restart``
rebuilds the peer from the durable epochs, log and snapshot alone. A queued packet is
printed as ``src->dst PACKET ...`` when delivered, with its effects indented below; the
attempt of a learner's FOLLOWERINFO is printed as a small per-learner counter. Lines
starting ``!!`` are invariant breaches the interpreter noticed (none are expected).
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import attrs

from zab.config import PeerConfig
from zab.errors import UsageError
from zab.history import History
from zab.messages import PACKET_TYPES, FollowerInfo, Message, Notification, Snap
from zab.peer import DurableState, Peer
from zab.ready import LogEntry, Phase, Ready, Role
from zab.zxid import format_zxid as z

SMALL_LIMITS = {
    "init_limit": 10,
    "sync_limit": 6,
    "ping_interval": 3,
    "finalize_wait": 2,
    "notify_min": 2,
    "notify_max": 8,
}
_ZXID_FIELDS = {"last_zxid": "last", "prev": "prev", "target": "target", "base": "base"}
_RENAMED = {"accepted_epoch": "accepted", "current_epoch": "current"}


def entries(items: Any) -> str:
    return " ".join(f"{z(e[0])}={e[1].decode()}" for e in items)


@attrs.define
class Node:
    """A server: its peer (``None`` while down), its disk and its applied state."""

    sid: int
    config: PeerConfig
    peer: Peer | None = None
    incarnation: int = 0
    accepted: int = 0
    current: int = 0
    log: list[LogEntry] = attrs.Factory(list)  # durable
    unsynced: list[LogEntry] = attrs.Factory(list)
    snapshot: tuple[int, list[tuple[int, bytes]]] = (0, [])
    applied: list[tuple[int, bytes]] = attrs.Factory(list)

    def read_after(self, zxid: int, limit: int) -> list[LogEntry] | None:
        """The History's LogReader: the durable log after the snapshot."""
        if zxid < self.snapshot[0]:
            return None
        return [e for e in self.log if e.zxid > zxid][:limit]

    def applied_zxid(self) -> int:
        return self.applied[-1][0] if self.applied else 0


class Env:
    def __init__(self) -> None:
        self.nodes: dict[int, Node] = {}
        self.queue: list[tuple[int, int, Message, Any]] = []
        self.cuts: set[frozenset[int]] = set()
        self.attempts: dict[int, int] = {}
        self.attempt_counts: Counter[int] = Counter()
        self.committed: list[tuple[int, bytes]] = []  # the one committed sequence
        self.out: list[str] = []
        self.depth = 1

    def emit(self, text: str) -> None:
        self.out.append("  " * self.depth + text)

    def run(self, line: str) -> list[str]:
        self.out = []
        words = line.split()
        args = [w for w in words[1:] if "=" not in w]
        opts = dict(w.split("=", 1) for w in words[1:] if "=" in w)
        handler = getattr(self, "cmd_" + words[0].replace("-", "_"), None)
        if handler is None:
            raise ValueError(f"unknown command {words[0]!r}")
        handler(*args, **{k: int(v) for k, v in opts.items()})
        return self.out

    # --- the shell -------------------------------------------------------------------------

    def up(self, node: int | None = None) -> list[Node]:
        return [n for n in self.nodes.values() if n.peer and node in (None, n.sid)]

    def drain(self, node: Node) -> None:
        while node.peer is not None and not (ready := node.peer.take_ready()).is_empty():
            self.handle(node, ready)

    def handle(self, node: Node, ready: Ready) -> None:
        peer, me = node.peer, f"n{node.sid}"
        assert peer is not None
        if (role := ready.role) is not None:
            text = f"{me} {role.role.value} {role.phase.value}"
            if role.role is not Role.LOOKING:
                text += f" leader={role.leader} epoch={role.epoch}"
            elif hasattr(peer, "last_reason"):
                text += f" ({peer.last_reason})"
            self.emit(text)
            if peer.last_violation is not None:
                self.emit(f"{me} violation: {peer.last_violation}")
                peer.last_violation = None
        if ready.epochs is not None:
            node.accepted, node.current = ready.epochs.accepted_epoch, ready.epochs.current_epoch
            self.emit(f"{me} epochs accepted={node.accepted} current={node.current}")
        if (cut := ready.truncate_to) is not None:
            node.log = [e for e in node.log if e.zxid <= cut]
            node.unsynced = [e for e in node.unsynced if e.zxid <= cut]
            self.emit(f"{me} truncate after {z(cut)}")
            if node.applied_zxid() > cut:
                self.emit(f"!! {me} truncates below its applied {z(node.applied_zxid())}")
        if ready.appends:
            node.unsynced.extend(ready.appends)
            self.emit(f"{me} append {entries((e.zxid, e.payload) for e in ready.appends)}")
        for envelope in ready.messages:
            message, attachment = envelope.message, None
            if isinstance(message, FollowerInfo) and message.attempt not in self.attempts:
                self.attempt_counts[node.sid] += 1
                self.attempts[message.attempt] = self.attempt_counts[node.sid]
            if isinstance(message, Snap):
                attachment = list(node.applied)
                if node.applied_zxid() != message.zxid:
                    self.emit(
                        f"!! {me} SNAP at {z(message.zxid)} of state {z(node.applied_zxid())}"
                    )
            if self.nodes[envelope.to].peer and {node.sid, envelope.to} not in self.cuts:
                self.queue.append((node.sid, envelope.to, message, attachment))
        if ready.commits:
            self.emit(f"{me} commit {entries((e.zxid, e.payload) for e in ready.commits)}")
            for entry in ready.commits:
                self.apply(node, entry.zxid, entry.payload)
        for sender, payload in ready.requests:
            self.emit(f"{me} request from {sender}: {payload.decode()}")
            self.propose(node, payload)
        for sender, payload in ready.syncs:
            self.emit(f"{me} sync from {sender}: {payload.decode()}")
        for payload in ready.sync_replies:
            self.emit(f"{me} sync reply: {payload.decode()}")
        for sender, payload in ready.session_touches:
            self.emit(f"{me} touch from {sender}: {payload.decode()}")

    def apply(self, node: Node, zxid: int, payload: bytes) -> None:
        if zxid <= node.applied_zxid():
            self.emit(f"!! n{node.sid} applies {z(zxid)} after {z(node.applied_zxid())}")
        node.applied.append((zxid, payload))
        index = len(node.applied) - 1
        if index == len(self.committed):
            self.committed.append((zxid, payload))
        elif index > len(self.committed) or self.committed[index] != (zxid, payload):
            self.emit(f"!! n{node.sid} applies {z(zxid)} at position {index}: divergence")

    def propose(self, node: Node, payload: bytes) -> None:
        peer = node.peer
        assert peer is not None
        try:
            if peer.role is Role.LEADING:
                peer.propose(peer.next_zxid(), payload)
            else:
                peer.forward(payload)
        except UsageError as exc:
            self.emit(f"n{node.sid} {type(exc).__name__}: {exc}")

    def format(self, message: Message) -> str:
        if isinstance(message, Notification):
            state = message.state.name.lower()
            if message.leader < 0:
                return f"VOTE {state} (no vote) round={message.election_epoch}"
            return (
                f"VOTE {state} leader={message.leader} zxid={z(message.zxid)} "
                f"epoch={message.peer_epoch} round={message.election_epoch}"
            )
        parts = [PACKET_TYPES[type(message)].name]
        for field in attrs.fields(type(message)):
            value = getattr(message, field.name)
            if field.name == "attempt":
                parts.append(f"a={self.attempts.get(value, hex(value))}")
            elif field.name == "zxid":
                parts.append(z(value))
            elif field.name == "payload":
                if hasattr(message, "zxid"):
                    parts[-1] += f"={value.decode()}"
                elif value:
                    parts.append(f"payload={value.decode()}")
            elif field.name == "segments":
                parts.append("segments=[" + " ".join(z(last) for _, last in value) + "]")
            elif field.name == "observer":
                parts.extend(["observer"] if value else [])
            elif field.name in _ZXID_FIELDS:
                parts.append(f"{_ZXID_FIELDS[field.name]}={z(value)}")
            else:
                parts.append(f"{_RENAMED.get(field.name, field.name)}={value}")
        return " ".join(parts)

    def deliver_one(self, src: int, dst: int, message: Message, attachment: Any) -> None:
        node = self.nodes[dst]
        assert node.peer is not None
        self.emit(f"{src}->{dst} {self.format(message)}")
        self.depth += 1
        node.peer.receive(src, message)
        self.drain(node)
        following = node.peer.role_state if node.peer else None
        if isinstance(message, Snap) and getattr(following, "awaiting_snapshot", None) == (
            message.zxid
        ):
            node.snapshot, node.log, node.unsynced = (message.zxid, attachment), [], []
            node.applied = list(attachment)
            self.emit(f"n{dst} snapshot installed at {z(message.zxid)}")
            node.peer.snapshot_installed(message.zxid)
            self.drain(node)
        self.depth -= 1

    def lose_links(self, sid: int, others: list[int]) -> None:
        """``sid``'s links to ``others`` broke: packets in flight are lost, both ends told."""
        self.queue = [
            m for m in self.queue if not (sid in m[:2] and ({m[0], m[1]} - {sid}) <= set(others))
        ]
        for other in others:
            if (node := self.nodes[other]).peer is not None:
                node.peer.link_lost(sid)
                self.drain(node)

    # --- commands --------------------------------------------------------------------------

    def cmd_add_nodes(self, count: str, observers: int = 0, **limits: int) -> None:
        if "window" in limits:
            limits["committed_window"] = limits.pop("window")
        voters = frozenset(range(1, int(count) + 1))
        watchers = frozenset(range(int(count) + 1, int(count) + 1 + observers))
        for sid in sorted(voters | watchers):
            config = PeerConfig(
                my_id=sid, voters=voters, observers=watchers, **{**SMALL_LIMITS, **limits}
            )
            self.nodes[sid] = Node(sid, config)
        for sid in sorted(voters | watchers):
            self.start(self.nodes[sid])

    def start(self, node: Node) -> None:
        node.incarnation += 1
        base, applied = node.snapshot
        node.applied = list(applied)
        history = History(
            [e for e in node.log if e.zxid > base],
            base=base,
            window=node.config.committed_window,
            reader=node,
        )
        durable = DurableState(node.accepted, node.current, history)
        node.peer = Peer(node.config, durable, random.Random(node.sid * 1000 + node.incarnation))
        self.drain(node)

    def cmd_tick(self, count: str = "1", node: int | None = None) -> None:
        for _ in range(int(count)):
            for target in self.up(node):
                if target.peer is not None:
                    target.peer.tick()
                    self.drain(target)

    def select(self, src: int | None, dst: int | None) -> list[tuple[int, int, Message, Any]]:
        return [m for m in self.queue if src in (None, m[0]) and dst in (None, m[1])]

    def cmd_deliver(self, **where: int) -> bool:
        chosen = self.select(where.get("from"), where.get("to"))
        for item in chosen:
            if item in self.queue:  # not dropped by a link lost meanwhile
                self.queue.remove(item)
                self.deliver_one(*item)
        return bool(chosen)

    def cmd_drop(self, **where: int) -> None:
        for item in self.select(where.get("from"), where.get("to")):
            self.queue.remove(item)
            self.emit(f"dropped {item[0]}->{item[1]} {self.format(item[2])}")

    def cmd_sync(self, node: int | None = None) -> bool:
        synced = False
        for target in self.up(node):
            if target.unsynced and target.peer is not None:
                last = target.unsynced[-1].zxid
                target.log.extend(target.unsynced)
                target.unsynced = []
                self.emit(f"n{target.sid} synced through {z(last)}")
                target.peer.log_synced(last)
                self.drain(target)
                synced = True
        return synced

    def cmd_crash(self, sid: str) -> None:
        node = self.nodes[int(sid)]
        lost = f", lost unsynced {entries((e.zxid, e.payload) for e in node.unsynced)}"
        self.emit(f"n{sid} down" + (lost if node.unsynced else ""))
        node.peer, node.unsynced, node.applied = None, [], []
        self.lose_links(node.sid, sorted(self.nodes))

    def cmd_restart(self, sid: str) -> None:
        node = self.nodes[int(sid)]
        last = node.log[-1].zxid if node.log else node.snapshot[0]
        self.emit(
            f"n{sid} up: accepted={node.accepted} current={node.current} "
            f"snapshot={z(node.snapshot[0])} log to {z(last)}"
        )
        self.start(node)

    def cmd_propose(self, payload: str, node: int | None = None) -> None:
        if node is None:
            leaders = [n for n in self.up() if n.peer and n.peer.role is Role.LEADING]
            node = leaders[0].sid if leaders else next(iter(self.nodes))
        self.propose(self.nodes[node], payload.encode())
        self.drain(self.nodes[node])

    def settled(self) -> bool:
        return all(n.peer is not None and n.peer.phase is Phase.BROADCAST for n in self.up())

    def cmd_stabilize(self, ticks: int = 100) -> None:
        elapsed = 0
        while True:
            before = len(self.out)
            if self.cmd_sync() or self.cmd_deliver():
                continue
            if self.settled() or elapsed >= ticks:
                break
            self.cmd_tick()
            elapsed += 1
            if len(self.out) > before or self.queue:
                self.out.insert(before, f"  tick {elapsed}")
        if not self.settled():
            self.emit(f"not settled after {elapsed} ticks")

    def cmd_state(self) -> None:
        for node in self.nodes.values():
            peer = node.peer
            if peer is None:
                self.emit(f"n{node.sid} down accepted={node.accepted} current={node.current}")
                continue
            self.emit(
                f"n{node.sid} {peer.role.value} {peer.phase.value} leader={peer.leader} "
                f"accepted={peer.accepted_epoch} current={peer.current_epoch} "
                f"last={z(peer.history.last_zxid)} committed={z(peer.history.committed)} "
                f"applied={z(node.applied_zxid())}"
            )

    def cmd_log(self, sid: str) -> None:
        node = self.nodes[int(sid)]
        committed = node.peer.history.committed if node.peer else -1
        self.emit(f"n{sid} snapshot={z(node.snapshot[0])}")
        for entry in node.log + node.unsynced:
            status = "durable" if entry in node.log else "unsynced"
            status += ", committed" if entry.zxid <= committed else ""
            self.emit(f"{z(entry.zxid)}={entry.payload.decode()} ({status})")

    def cmd_snapshot(self, sid: str) -> None:
        node = self.nodes[int(sid)]
        zxid = node.applied_zxid()
        node.snapshot = (zxid, list(node.applied))
        node.log = [e for e in node.log if e.zxid > zxid]
        self.emit(f"n{sid} snapshot at {z(zxid)}, log before it dropped")

    def cmd_cut(self, a: str, b: str) -> None:
        self.cuts.add(frozenset({int(a), int(b)}))
        self.lose_links(int(a), [int(b)])
        self.lose_links(int(b), [int(a)])

    def cmd_heal(self) -> None:
        self.cuts.clear()


def run_script(text: str) -> str:
    """Run every command of ``text``; return the text with freshly generated output."""
    env = Env()
    out: list[str] = []
    for line in text.splitlines():
        if line.startswith(" "):
            continue  # the old output
        out.append(line)
        if line.strip() and not line.startswith("#"):
            out.extend(env.run(line))
    return "\n".join(out) + "\n"
