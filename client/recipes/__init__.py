"""Coordination recipes built on the public :class:`client.Client` API.

Each recipe takes the client, then the path: ``Lock(zk, "/locks/job")``. The ones that hold
something are async context managers (``async with lock:``), remove their nodes in a
shielded scope when cancelled, and recover a create whose reply was lost. Node layouts are
kazoo's, so kazoo and zabkeeper clients share a lock, an election or a semaphore. For
blocking code, :mod:`client.recipes.blocking` wraps them for :func:`client.blocking.connect`.
"""

from client.recipes.barrier import Barrier, DoubleBarrier
from client.recipes.config import ConfigStore, ConfigSubscription, ConfigVersion
from client.recipes.counter import Counter
from client.recipes.election import LeaderElection, LeadershipLost
from client.recipes.lock import Lock
from client.recipes.queue import Queue
from client.recipes.registry import (
    Instance,
    Membership,
    Registration,
    ServiceRegistry,
    keep_registered,
)
from client.recipes.rwlock import ReadLock, ReadWriteLock, WriteLock
from client.recipes.semaphore import Semaphore
from client.recipes.tree_cache import TreeCache, TreeEvent, TreeEventType

__all__ = [
    "Barrier",
    "ConfigStore",
    "ConfigSubscription",
    "ConfigVersion",
    "Counter",
    "DoubleBarrier",
    "Instance",
    "LeaderElection",
    "LeadershipLost",
    "Lock",
    "Membership",
    "Queue",
    "ReadLock",
    "ReadWriteLock",
    "Registration",
    "Semaphore",
    "ServiceRegistry",
    "TreeCache",
    "TreeEvent",
    "TreeEventType",
    "WriteLock",
    "keep_registered",
]
