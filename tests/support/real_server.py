"""What the client tests know of a server they run against."""

from __future__ import annotations

from typing import NamedTuple


class RealServer(NamedTuple):
    """A running server: ``zookeeper`` (Apache ZooKeeper 3.8) or ``zabkeeper``."""

    kind: str
    hosts: str
    port: int
