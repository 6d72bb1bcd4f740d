"""Seeded simulation runs of the ZAB core (see the package docstring for the contract)."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest

from sim.checkers import Checker, SafetyViolation
from sim.cluster import apply_payload
from sim.options import SimOptions
from sim.simulator import Simulator, run_seed
from zab.ready import LogEntry
from znode.tree import DataTree

pytestmark = pytest.mark.sim


def test_seeds(sim_seeds: list[int], sim_steps: int | None, request: pytest.FixtureRequest) -> None:
    """Every seed keeps every invariant and recovers in the calm phase."""
    replay = request.config.getoption("--sim-seed") is not None
    for seed in sim_seeds:
        run_seed(seed, steps=sim_steps, echo=replay)


def test_replay_is_deterministic() -> None:
    first = Simulator(SimOptions.from_seed(7, steps=600))
    first.run()
    second = Simulator(SimOptions.from_seed(7, steps=600))
    second.run()
    assert first.checker.committed == second.checker.committed
    assert list(first.lines) == list(second.lines)
    assert len(first.checker.committed) > 10


class FakeNode:
    def __init__(self, sid: int) -> None:
        self.sid = sid
        self.tree = DataTree()
        self.applied: list[tuple[int, bytes]] = []

    def apply(self, checker: Checker, zxid: int, key: int, value: bytes) -> None:
        payload = msgpack.packb([key, value])
        apply_payload(self.tree, zxid, payload)
        self.applied.append((zxid, payload))
        checker.applied(self, LogEntry(zxid, payload))

    def applied_zxid(self) -> int:
        return self.applied[-1][0] if self.applied else 0


def test_checker_catches_divergent_histories() -> None:
    checker = Checker()
    a, b = FakeNode(1), FakeNode(2)
    a.apply(checker, 1, 1, b"x")
    b.apply(checker, 1, 1, b"x")
    a.apply(checker, 2, 1, b"y")
    with pytest.raises(SafetyViolation, match="was committed there"):
        b.apply(checker, 3, 1, b"z")


def test_checker_catches_two_leaders_in_one_epoch() -> None:
    from zab.ready import Phase, Role, RoleChange

    checker = Checker()

    class Leader(FakeNode):
        peer: Any

    class Peer:
        history = type("H", (), {"done": [], "pending": [], "base": 0, "memory_after": 0})()

    one, two = Leader(1), Leader(2)
    one.peer = two.peer = Peer()
    change = RoleChange(Role.LEADING, Phase.BROADCAST, 1, 5)
    checker.role_changed(one, change)
    with pytest.raises(SafetyViolation, match="two leaders"):
        checker.role_changed(two, change)
