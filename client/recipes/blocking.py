"""The lock-family recipes for blocking code, on a :func:`client.blocking.connect` client.

::

    from client import blocking
    from client.recipes import blocking as recipes

    with blocking.connect("127.0.0.1:2181") as zk:
        lock = recipes.Lock(zk, "/locks/job")
        with lock:
            ...

Each class wraps its async twin from :mod:`client.recipes` and runs every call on the
client's trio loop, blocking the calling thread until it is done; behaviour, node layout
and arguments are the async recipe's. A blocking wait can only end by its ``timeout``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar, TypeVarTuple

from client.blocking import BlockingClient, _Portal, _Twin
from client.client import Client
from client.recipes import barrier as _barrier
from client.recipes import election as _election
from client.recipes import lock as _lock
from client.recipes import rwlock as _rwlock
from client.recipes import semaphore as _semaphore

T = TypeVar("T")
Ts = TypeVarTuple("Ts")
Q = TypeVar("Q", _lock.Lock, _semaphore.Semaphore)


def _loop_of(zk: BlockingClient) -> tuple[_Portal, Client]:
    """The portal onto ``zk``'s trio loop and the async client living there.

    :class:`~client.blocking.BlockingClient` offers no public way to run an arbitrary
    coroutine on its loop, so this reads its two private attributes, here only.
    """
    return zk._portal, zk._client


class _Acquirable(_Twin[Q]):
    """``acquire`` / ``release`` and ``with`` for :class:`Lock` and :class:`Semaphore`."""

    @property
    def is_acquired(self) -> bool:
        return self._twin.is_acquired

    def acquire(self, timeout: float | None = None, *, blocking: bool = True) -> bool:
        """Block until held (``True``), or ``False`` after ``timeout`` seconds."""
        return self._portal.run(self._twin.acquire, timeout, blocking=blocking)

    def release(self) -> bool:
        """Release it; ``False`` if it was not held."""
        return self._portal.run(self._twin.release)


class Lock(_Acquirable[_lock.Lock]):
    """A blocking :class:`client.recipes.Lock`: ``with lock:``, or acquire / release."""

    def __init__(
        self,
        zk: BlockingClient,
        path: str,
        identifier: str = "",
        *,
        extra_lock_patterns: Iterable[str] = (),
    ) -> None:
        portal, client = _loop_of(zk)
        lock = _lock.Lock(client, path, identifier, extra_lock_patterns=extra_lock_patterns)
        super().__init__(portal, lock)

    @classmethod
    def _wrap(cls, portal: _Portal, lock: _lock.Lock) -> Lock:
        wrapper = cls.__new__(cls)
        _Twin.__init__(wrapper, portal, lock)
        return wrapper

    @property
    def path(self) -> str:
        return self._twin.path

    @property
    def fencing_token(self) -> int | None:
        """See :attr:`client.recipes.Lock.fencing_token`."""
        return self._twin.fencing_token

    def contenders(self) -> list[str]:
        """The identifiers of every contender, in queue order."""
        return self._portal.run(self._twin.contenders)


class ReadWriteLock:
    """A blocking :class:`client.recipes.ReadWriteLock`: ``read_lock`` and ``write_lock``."""

    def __init__(self, zk: BlockingClient, path: str, identifier: str = "") -> None:
        portal, client = _loop_of(zk)
        self._portal = portal
        self._rw = _rwlock.ReadWriteLock(client, path, identifier)
        #: the shared side
        self.read_lock = Lock._wrap(portal, self._rw.read_lock)
        #: the exclusive side
        self.write_lock = Lock._wrap(portal, self._rw.write_lock)

    def contenders(self) -> list[str]:
        return self._portal.run(self._rw.contenders)


class Semaphore(_Acquirable[_semaphore.Semaphore]):
    """A blocking :class:`client.recipes.Semaphore`."""

    def __init__(
        self, zk: BlockingClient, path: str, max_leases: int = 1, identifier: str = ""
    ) -> None:
        portal, client = _loop_of(zk)
        super().__init__(portal, _semaphore.Semaphore(client, path, max_leases, identifier))

    def lease_holders(self) -> list[str]:
        return self._portal.run(self._twin.lease_holders)


class Barrier:
    """A blocking :class:`client.recipes.Barrier`."""

    def __init__(self, zk: BlockingClient, path: str) -> None:
        portal, client = _loop_of(zk)
        self._portal = portal
        self._barrier = _barrier.Barrier(client, path)

    def set(self) -> None:
        self._portal.run(self._barrier.set)

    create = set

    def remove(self) -> bool:
        return self._portal.run(self._barrier.remove)

    def wait(self, timeout: float | None = None) -> bool:
        return self._portal.run(self._barrier.wait, timeout)


class DoubleBarrier(_Twin[_barrier.DoubleBarrier]):
    """A blocking :class:`client.recipes.DoubleBarrier`: ``with barrier:``, or enter / leave."""

    def __init__(
        self, zk: BlockingClient, path: str, num_clients: int, identifier: str | None = None
    ) -> None:
        portal, client = _loop_of(zk)
        super().__init__(portal, _barrier.DoubleBarrier(client, path, num_clients, identifier))

    def enter(self, timeout: float | None = None) -> bool:
        return self._portal.run(self._twin.enter, timeout)

    def leave(self) -> None:
        self._portal.run(self._twin.leave)


class LeaderElection:
    """A blocking :class:`client.recipes.LeaderElection` whose leader function is plain.

    A plain function cannot be cancelled: if the session expires while it leads, it runs
    on; check :attr:`fencing_token` where it matters.
    """

    def __init__(self, zk: BlockingClient, path: str, identifier: str = "") -> None:
        portal, client = _loop_of(zk)
        self._portal = portal
        self._election = _election.LeaderElection(client, path, identifier)
        self._lock = Lock._wrap(portal, self._election.lock)

    @property
    def fencing_token(self) -> int | None:
        return self._election.fencing_token

    def run(self, fn: Callable[[*Ts], T], *args: *Ts) -> T:
        """Block until elected, call ``fn(*args)`` as the leader, then step down."""
        with self._lock:
            return fn(*args)

    def leader(self) -> str | None:
        return self._portal.run(self._election.leader)

    def contenders(self) -> list[str]:
        return self._portal.run(self._election.contenders)


__all__ = ["Barrier", "DoubleBarrier", "LeaderElection", "Lock", "ReadWriteLock", "Semaphore"]
