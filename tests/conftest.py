"""Shared pytest configuration: options of the ZAB simulator."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sim", "ZAB simulator")
    group.addoption(
        "--sim-seed", type=int, default=None, help="replay this one seed, with its trace"
    )
    group.addoption("--sim-seeds", type=int, default=300, help="how many seeds to run (from 1)")
    group.addoption("--sim-first", type=int, default=1, help="first seed of the run")
    group.addoption("--sim-steps", type=int, default=None, help="fault steps per seed")
    parser.addoption(
        "--rewrite-transcripts",
        action="store_true",
        help="regenerate the expected output of tests/zab/scripts/*.txt instead of comparing",
    )


@pytest.fixture
def sim_seeds(request: pytest.FixtureRequest) -> list[int]:
    one = request.config.getoption("--sim-seed")
    if one is not None:
        return [one]
    first = request.config.getoption("--sim-first")
    return list(range(first, first + request.config.getoption("--sim-seeds")))


@pytest.fixture
def sim_steps(request: pytest.FixtureRequest) -> int | None:
    steps: int | None = request.config.getoption("--sim-steps")
    return steps
