"""The simulation loop: ticks, deliveries, faults, a fault-free calm phase, liveness."""

from __future__ import annotations

import random
from collections import deque

from sim.checkers import Checker, SafetyViolation
from sim.cluster import SimNode, make_nodes
from sim.network import Network
from sim.options import SimOptions
from sim.workload import Workload
from zab.ready import Phase, Role
from zab.zxid import format_zxid


class LivenessFailure(AssertionError):
    """The calm phase did not end with an established leader and all writes done."""


class Simulator:
    """One seeded run. Everything random comes from ``self.rng``."""

    def __init__(self, options: SimOptions, *, keep_trace: int = 60, echo: bool = False) -> None:
        self.options = options
        self.rng = random.Random(options.seed)
        self.network = Network(random.Random(self.rng.getrandbits(64)), options)
        self.checker = Checker()
        self.workload = Workload(self)
        self.now = 0
        self.lines: deque[str] = deque(maxlen=keep_trace)
        self.echo = echo
        self.calm = False
        self.calm_start = 0
        self.nodes: dict[int, SimNode] = make_nodes(options, self)

    def trace(self, node: SimNode, text: str) -> None:
        if node.up and hasattr(node, "peer"):
            peer = node.peer
            state = (
                f"{peer.role.value[:4].upper()} e{peer.current_epoch} "
                f"{format_zxid(peer.history.last_zxid)}/{format_zxid(node.applied_zxid())}"
            )
        else:
            state = "DOWN"
        line = f"t={self.now} n{node.sid} {state} {text}"
        self.lines.append(line)
        if self.echo:
            print(line)

    def run(self) -> None:
        for node in self.nodes.values():
            node.start()
        for _ in range(self.options.fault_steps):
            self.step(faults=True)
        self.calm = True
        self.network.calm = True
        self.network.heal()
        for node in self.nodes.values():
            if not node.up:
                node.start()
        self.workload.outstanding.clear()
        self.calm_start = calm_start = self.now
        for _ in range(self.options.calm_steps):
            self.step(faults=False)
            if self.now - calm_start > 200 and self._converged():
                break
        self._check_liveness()

    def step(self, *, faults: bool) -> None:
        self.now += 1
        options = self.options
        for delivery in self.network.due(self.now):
            self.nodes[delivery.dst].deliver(delivery.src, delivery.message, delivery.attachment)
        self._signal_resets()
        for sid in sorted(self.nodes):
            self.nodes[sid].tick()
        if faults or (self.now % 7 == 0 and self.now - self.calm_start < 2000):
            self.workload.maybe_submit()
        if not faults:
            if self.now % 50 == 0:
                self.workload.retry_stale(150)
            return
        rng = self.rng
        ids = sorted(self.nodes)
        for sid in ids:
            node = self.nodes[sid]
            if node.up and rng.random() < options.crash_rate:
                node.crash()
                self.network.drop_node(sid, ids)
            elif not node.up and rng.random() < options.restart_rate:
                node.start()
            elif node.up and rng.random() < 0.002:
                node.maybe_snapshot()
        if rng.random() < options.partition_rate:
            a, b = rng.sample(ids, 2)
            if rng.random() < 0.5:
                self.network.isolate(a, ids)
                self.lines.append(f"t={self.now} isolate n{a}")
            else:
                self.network.cut(a, b)
                self.lines.append(f"t={self.now} cut n{a}-n{b}")
        if self.network.cut_links and rng.random() < options.heal_rate:
            self.network.heal()
            self.lines.append(f"t={self.now} heal")

    def _signal_resets(self) -> None:
        resets, self.network.resets = self.network.resets, []
        for a, b in resets:
            for here, there in ((a, b), (b, a)):
                node = self.nodes[here]
                if node.up:
                    node.peer.link_lost(there)
                    node.drain()

    def _converged(self) -> bool:
        up = [n for n in self.nodes.values() if n.up]
        leaders = [n for n in up if n.established_leader]
        if len(leaders) != 1 or self.workload.outstanding:
            return False
        target = leaders[0].applied_zxid()
        return all(n.applied_zxid() == target and n.peer.phase is Phase.BROADCAST for n in up)

    def _check_liveness(self) -> None:
        up = [n for n in self.nodes.values() if n.up]
        leaders = [n for n in up if n.established_leader]
        if len(leaders) != 1:
            raise LivenessFailure(f"no single established leader after the calm phase: {leaders}")
        if self.workload.outstanding:
            raise LivenessFailure(f"{len(self.workload.outstanding)} writes never completed")
        for node in up:
            if node.applied_zxid() != leaders[0].applied_zxid():
                raise LivenessFailure(f"node {node.sid} did not catch up")
            if node.peer.role is Role.LOOKING:
                raise LivenessFailure(f"node {node.sid} still looking")
        self.checker.check_acked_survive()


def run_seed(seed: int, *, steps: int | None = None, echo: bool = False) -> Simulator:
    """Run one seed; on failure the exception message holds the options and the trace."""
    options = SimOptions.from_seed(seed, steps=steps)
    sim = Simulator(options, echo=echo)
    try:
        sim.run()
    except (SafetyViolation, LivenessFailure, AssertionError) as exc:
        trace = "\n".join(sim.lines)
        raise type(exc)(f"seed {seed}: {exc}\n{options}\nlast events:\n{trace}") from exc
    return sim
