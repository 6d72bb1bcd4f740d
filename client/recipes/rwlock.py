"""A read/write lock on kazoo's ``ReadLock`` / ``WriteLock`` layout.

::

    rw = ReadWriteLock(zk, "/locks/table")
    async with rw.read_lock:      # shared with other readers
        ...
    async with rw.write_lock:     # exclusive
        ...

Readers create ``<uuid>__rlock__<seq>`` nodes and wait only for write nodes
(``__lock__``) with a lower sequence; writers create ``<uuid>__lock__<seq>`` nodes and wait
for any lower node. So a writer is not starved: readers arriving after it queue behind it.
A plain :class:`~client.recipes.lock.Lock` on the same path is a writer.
"""

from __future__ import annotations

from client.client import Client
from client.recipes.lock import Lock


class ReadLock(Lock):
    """The shared side: blocks only while a writer is ahead (kazoo's ``ReadLock``).

    :attr:`~client.recipes.lock.Lock.fencing_token` increases from one writer to the next
    and from a writer to the readers after it; concurrent readers may share a value.
    """

    _NODE_NAME = "__rlock__"
    _EXCLUDE_NAMES = ("__lock__",)


class WriteLock(Lock):
    """The exclusive side: blocks while any reader or writer is ahead (kazoo's ``WriteLock``)."""

    _NODE_NAME = "__lock__"
    _EXCLUDE_NAMES = ("__lock__", "__rlock__")


class ReadWriteLock:
    """A pair of locks on one path: :attr:`read_lock` (shared) and :attr:`write_lock`.

    Args:
        client: the connected client.
        path: the lock's node (created when missing).
        identifier: stored in this object's contender nodes.
    """

    def __init__(self, client: Client, path: str, identifier: str = "") -> None:
        self.path = path
        #: the shared side
        self.read_lock = ReadLock(client, path, identifier)
        #: the exclusive side
        self.write_lock = WriteLock(client, path, identifier)

    async def contenders(self) -> list[str]:
        """Identifiers of every reader and writer, in queue order."""
        return await self.write_lock.contenders()

    def __repr__(self) -> str:
        return f"<ReadWriteLock {self.path!r}>"


__all__ = ["ReadLock", "ReadWriteLock", "WriteLock"]
