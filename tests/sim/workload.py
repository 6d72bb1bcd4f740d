"""Client writes: submitted to random nodes, acknowledged when the leader applies them."""

from __future__ import annotations

from typing import Any

import msgpack

from zab.errors import NotConnected, NotLeader
from zab.ready import Phase, Role


class Workload:
    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.counter = 0
        self.outstanding: dict[bytes, int] = {}  # payload -> tick submitted

    def maybe_submit(self) -> None:
        sim = self.sim
        if sim.rng.random() >= sim.options.client_rate:
            return
        up = [n for n in sim.nodes.values() if n.up]
        if not up:
            return
        node = sim.rng.choice(up)
        self.counter += 1
        payload = msgpack.packb([sim.rng.randrange(40), f"v{self.counter}".encode()])
        self.submit(node, payload)

    def retry_stale(self, age: int) -> None:
        """Resubmit writes unanswered for ``age`` ticks, as a client does after a
        connection loss (the first attempt may have been lost with a leader change)."""
        sim = self.sim
        up = [n for n in sim.nodes.values() if n.up]
        for payload, since in list(self.outstanding.items()):
            if sim.now - since >= age and up:
                del self.outstanding[payload]
                self.submit(sim.rng.choice(up), payload)

    def submit(self, node: Any, payload: bytes) -> None:
        peer = node.peer
        try:
            if peer.role is Role.LEADING and peer.phase is Phase.BROADCAST:
                self.propose_at(node, payload)
            else:
                peer.forward(payload)
                node.drain()
        except (NotLeader, NotConnected):
            return
        self.outstanding[payload] = self.sim.now

    def propose_at(self, node: Any, payload: bytes) -> None:
        peer = node.peer
        if not (peer.role is Role.LEADING and peer.phase is Phase.BROADCAST):
            return
        try:
            peer.propose(peer.next_zxid(), payload)
        except NotLeader:
            return
        node.drain()

    def applied_at_leader(self, node: Any, zxid: int, payload: bytes) -> None:
        if node.peer.role is Role.LEADING and payload in self.outstanding:
            del self.outstanding[payload]
            self.sim.checker.acknowledged(payload, zxid)
