"""Real servers for the client's integration tests: Apache ZooKeeper 3.8 and zabkeeper.

Each runs once per test session (tickTime 200 ms, so session timeouts clamp to 0.4-4 s),
configured alike, and every integration test runs against both.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from support.apache_zk import SUPER_DIGEST
from support.real_server import RealServer, running_real_server

TICK = 200
SERVERS = [pytest.param("zookeeper", marks=pytest.mark.interop), "zabkeeper"]
_names = itertools.count()


@pytest.fixture(scope="session", params=SERVERS)
def real_server(request: pytest.FixtureRequest) -> Iterator[RealServer]:
    """Apache ZooKeeper 3.8 (the oracle) or zabkeeper, started once per session."""
    with running_real_server(
        request.param,
        tick_time=TICK,
        zabkeeper_config={
            "zookeeper.DigestAuthenticationProvider.superDigest": SUPER_DIGEST,
            "znode.container.checkIntervalMs": "2147483647",
        },
    ) as server:
        yield server


@pytest.fixture
def base() -> str:
    """A fresh top-level path for one test (servers are shared by the session)."""
    return f"/c{next(_names)}"
