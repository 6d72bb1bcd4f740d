"""Servers and clients for the recipe tests.

``recipe_server`` is zabkeeper or Apache ZooKeeper 3.8 (marked ``interop``), each started
once per test session with tickTime 200 ms, so session timeouts clamp to 0.4-4 s and an
expired session is noticed quickly. Every test gets a fresh top-level path from ``base``.
``zabkeeper_server`` (zabkeeper alone) comes from ``tests/recipes/conftest.py``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from support.real_server import RealServer, running_real_server

TICK = 200
SERVERS = ["zabkeeper", pytest.param("zookeeper", marks=pytest.mark.interop)]
_names = itertools.count()


@pytest.fixture(scope="session", params=SERVERS)
def recipe_server(request: pytest.FixtureRequest) -> Iterator[RealServer]:
    """zabkeeper or Apache ZooKeeper 3.8, started once per test session."""
    with running_real_server(request.param, tick_time=TICK) as server:
        yield server


@pytest.fixture
def base() -> str:
    """A fresh top-level path for one test (servers are shared by the session)."""
    return f"/r{next(_names)}"
