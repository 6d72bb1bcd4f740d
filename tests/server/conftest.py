"""Fixtures for tests that need a running zabkeeper server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kazoo.client import KazooClient

from support.zabkeeper_proc import ZabkeeperServer


@pytest.fixture(scope="module")
def zk_server() -> Iterator[ZabkeeperServer]:
    """One standalone server for the module (fsync off, short ticks)."""
    server = ZabkeeperServer(tick_time=200)
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def kazoo(zk_server: ZabkeeperServer) -> Iterator[KazooClient]:
    """A started kazoo client on the module's server."""
    client = KazooClient(hosts=zk_server.hosts, timeout=10.0)
    client.start(timeout=10)
    try:
        yield client
    finally:
        client.stop()
        client.close()
