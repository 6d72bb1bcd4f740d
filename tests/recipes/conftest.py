"""Servers for the data-recipe tests: zabkeeper, and Apache ZooKeeper 3.8 as the oracle.

Each runs once per test session with tickTime 200 ms (session timeouts clamp to 0.4-4 s).
``recipe_hosts`` runs a test against both; ``base`` gives each test its own top-level path;
``session_killer`` expires a client's session. ``zabkeeper_server`` is one zabkeeper server
process for the tests here and in ``locks/`` that need no other kind (the examples' tests).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
import trio

from server.testing import ServerProcess
from support.apache_zk import ApacheZooKeeper, require_apache_zookeeper
from support.expiry import SessionKiller
from support.real_server import RealServer, running_real_server
from support.tcp_proxy import Proxy

_names = itertools.count()


@pytest.fixture(scope="session")
def apache_zookeeper_hosts() -> Iterator[str]:
    """An Apache ZooKeeper 3.8 server shared by the session (skips if not installed)."""
    require_apache_zookeeper()
    zk = ApacheZooKeeper(tick_time=200).start()
    try:
        yield zk.hosts
    finally:
        zk.stop()


@pytest.fixture(scope="session")
def zabkeeper_server() -> Iterator[RealServer]:
    """One zabkeeper server (tickTime 200 ms) for the tests that do not need both kinds."""
    with running_real_server("zabkeeper", tick_time=200) as server:
        yield server


@pytest.fixture(params=["zabkeeper", pytest.param("zookeeper", marks=pytest.mark.interop)])
def recipe_hosts(request: pytest.FixtureRequest) -> str:
    """The connect string of zabkeeper's session server, or of Apache ZooKeeper's."""
    if request.param == "zookeeper":
        hosts: str = request.getfixturevalue("apache_zookeeper_hosts")
        return hosts
    server: ServerProcess = request.getfixturevalue("zk_server")
    return server.hosts


@pytest.fixture
def base() -> str:
    """A fresh top-level path for one test (the servers are shared by the session)."""
    return f"/data{next(_names)}"


@pytest.fixture
async def session_killer(recipe_hosts: str, nursery: trio.Nursery) -> SessionKiller:
    """A :class:`SessionKiller` for ``recipe_hosts``."""
    proxy = Proxy(int(recipe_hosts.rsplit(":", 1)[1]))
    await nursery.start(proxy.run)
    return SessionKiller(recipe_hosts, proxy)
