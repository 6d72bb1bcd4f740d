"""A sample test suite using zabkeeper's pytest fixtures, as another project would.

Run it with ``pytest -p zabkeeper examples/pytest_plugin`` (the plugin also
loads by itself once zabkeeper is installed).
"""

from __future__ import annotations

import threading

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import SessionExpiredError


@pytest.fixture
def kazoo(zk_hosts: str):  # type: ignore[no-untyped-def]
    client = KazooClient(hosts=zk_hosts, timeout=10)
    client.start(timeout=10)
    yield client
    client.stop()
    client.close()


def test_kazoo_against_the_fixture_server(kazoo: KazooClient) -> None:
    kazoo.ensure_path("/app/config")
    kazoo.set("/app/config", b"v1")
    assert kazoo.get("/app/config")[0] == b"v1"


def test_expiring_a_session_drops_its_ephemerals(zk_hosts, zk_expire_session, kazoo) -> None:  # type: ignore[no-untyped-def]
    kazoo.create("/worker", b"", ephemeral=True)
    gone = threading.Event()
    watcher = KazooClient(hosts=zk_hosts, timeout=10)
    watcher.start(timeout=10)
    try:
        watcher.exists("/worker", watch=lambda event: gone.set())
        session_id, passwd = kazoo.client_id
        zk_expire_session(zk_hosts, session_id, passwd)
        assert gone.wait(10)
        assert watcher.exists("/worker") is None
    finally:
        watcher.stop()
        watcher.close()
    with pytest.raises(SessionExpiredError):
        kazoo.get("/")


def test_an_ensemble_survives_losing_its_leader(zk_ensemble) -> None:  # type: ignore[no-untyped-def]
    client = KazooClient(hosts=zk_ensemble.hosts, timeout=10)
    client.start(timeout=20)
    try:
        client.create("/before", b"x")
        leader = zk_ensemble.leader()
        assert leader is not None
        zk_ensemble.kill(leader)
        client.retry(client.create, "/after", b"y")
        assert client.get("/before")[0] == b"x"
        zk_ensemble.restart(leader)
    finally:
        client.stop()
        client.close()
