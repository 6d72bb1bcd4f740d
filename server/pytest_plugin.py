"""pytest fixtures with real zabkeeper servers (entry point ``pytest11``: loaded by pytest
once zabkeeper is installed, or explicitly with ``-p zabkeeper``).

* ``zk_server`` — one standalone server for the test session
  (:class:`server.testing.ServerProcess`);
* ``zk_hosts`` — its connect string, e.g. for ``KazooClient(hosts=zk_hosts)``;
* ``zk_ensemble`` — a 3-server ensemble for the session
  (:class:`server.testing.EnsembleProcess`: ``.hosts``, ``.kill(i)``, ``.restart(i)``,
  ``.leader()``; ``await .restart_async(i)`` in trio tests). A server a test killed or
  stopped is started again after that test, so the next one gets all three;
* ``zk_expire_session`` — ``zk_expire_session(hosts, session_id, password)`` ends a
  client's session as an expiry would (kazoo: ``*client.client_id``; zabkeeper's client:
  ``zk.session_id, zk.session_password``; in trio code, run it with
  ``trio.to_thread.run_sync`` or use :func:`server.testing.expire_session_async`).

Servers use free loopback ports and temporary directories, and are always stopped and
removed, when tests fail too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from server.testing import EnsembleProcess, ServerProcess, expire_session


@pytest.fixture(scope="session")
def zk_server() -> Iterator[ServerProcess]:
    """A standalone zabkeeper server shared by the test session."""
    with ServerProcess() as server:
        yield server


@pytest.fixture
def zk_hosts(zk_server: ServerProcess) -> str:
    """The connect string of ``zk_server``."""
    return zk_server.hosts


@pytest.fixture(scope="session")
def _zk_ensemble_for_session() -> Iterator[EnsembleProcess]:
    with EnsembleProcess(3) as ensemble:
        yield ensemble


@pytest.fixture
def zk_ensemble(_zk_ensemble_for_session: EnsembleProcess) -> Iterator[EnsembleProcess]:
    """A 3-server zabkeeper ensemble shared by the test session."""
    yield _zk_ensemble_for_session
    _zk_ensemble_for_session.revive()  # what the test killed or stopped, a failure too


@pytest.fixture
def zk_expire_session() -> Callable[[str, int, bytes], None]:
    """End a session from outside: ``zk_expire_session(hosts, session_id, passwd)``."""
    return expire_session
