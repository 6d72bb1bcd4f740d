"""What the client tests know of a server they run against, and starting one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import NamedTuple

from support.apache_zk import ApacheZooKeeper, require_apache_zookeeper
from support.zabkeeper_proc import ZabkeeperServer


class RealServer(NamedTuple):
    """A running server: ``zookeeper`` (Apache ZooKeeper 3.8) or ``zabkeeper``."""

    kind: str
    hosts: str
    port: int


@contextlib.contextmanager
def running_real_server(
    kind: str, *, tick_time: int, zabkeeper_config: dict[str, str] | None = None
) -> Iterator[RealServer]:
    """Start a ``kind`` server on 127.0.0.1 and stop it on exit.

    ``zookeeper`` skips the test when Apache ZooKeeper is not installed;
    ``zabkeeper_config`` is extra configuration for a zabkeeper server.
    """
    if kind == "zookeeper":
        require_apache_zookeeper()
        theirs = ApacheZooKeeper(tick_time=tick_time).start()
        try:
            yield RealServer("zookeeper", theirs.hosts, theirs.port)
        finally:
            theirs.stop()
        return
    ours = ZabkeeperServer(tick_time=tick_time, extra_config=zabkeeper_config).start()
    try:
        yield RealServer("zabkeeper", ours.hosts, ours.port)
    finally:
        ours.cleanup()
