"""The data recipes for blocking code, on a :func:`client.blocking.connect` client.

::

    from client import blocking
    from client.recipes import blocking_data as recipes

    with blocking.connect("127.0.0.1:2181") as zk:
        store = recipes.ConfigStore(zk, "/config/app")
        store.publish({"workers": 8})
        with store.subscribe() as updates:
            for config in updates:
                ...

Each class wraps its async twin from :mod:`client.recipes` and runs every call on the
client's trio loop, blocking the calling thread until it is done; behaviour, node layout
and arguments are the async recipe's.

:class:`TreeCache`, a registration and a membership watch keep a task running for as long
as they are open, and a trio task must leave the nursery it entered. The blocking client
lends no nursery of its loop, so each of these runs its async context manager in a *system
task* of that loop: entered and left by that one task, cancelled when the client closes,
and whose failure (``SessionExpired``, say) is raised in the calling thread when the
``with`` block ends.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Generic, TypeVar, overload

import trio

from client.blocking import BlockingClient, _IteratingTwin, _Portal, _Twin
from client.recipes import config as _config
from client.recipes import counter as _counter
from client.recipes import queue as _queue
from client.recipes import registry as _registry
from client.recipes import tree_cache as _tree_cache
from client.recipes.blocking import _loop_of
from client.recipes.config import ConfigVersion, Json
from client.recipes.registry import Instance, Registration
from znode.stat import Stat

__all__ = ["ConfigStore", "Counter", "Queue", "ServiceRegistry", "TreeCache"]

T = TypeVar("T")
N = TypeVar("N", int, float)


class _Held(Generic[T]):
    """An async context manager entered, held and left by one system task of the loop.

    ``with`` it blocks until the manager is entered, giving what it gave.
    """

    def __init__(self, portal: _Portal, make: Callable[[], AbstractAsyncContextManager[T]]):
        self._portal = portal
        self._make = make
        self._value: T | None = None
        self._error: Exception | None = None
        self._stop = trio.Event()
        self._done = trio.Event()

    def __enter__(self) -> T:
        return self._portal.run(self._start)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._portal.run(self._finish)

    async def _start(self) -> T:
        entered = trio.Event()
        trio.lowlevel.spawn_system_task(self._own, entered)
        await entered.wait()
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value

    async def _own(self, entered: trio.Event) -> None:
        try:
            async with self._make() as value:
                self._value = value
                entered.set()
                await self._stop.wait()
        except Exception as exc:
            self._error = exc
        finally:
            entered.set()
            self._done.set()

    async def _finish(self) -> None:
        self._stop.set()
        await self._done.wait()
        if self._error is not None:
            raise self._error


class ConfigSubscription(_IteratingTwin[_config.ConfigSubscription, ConfigVersion]):
    """A blocking :class:`client.recipes.ConfigSubscription`: ``with`` it, iterate it."""


class ConfigStore:
    """A blocking :class:`client.recipes.ConfigStore`."""

    def __init__(self, zk: BlockingClient, path: str) -> None:
        self._portal, client = _loop_of(zk)
        self._store = _config.ConfigStore(client, path)

    def get(self) -> ConfigVersion | None:
        return self._portal.run(self._store.get)

    def publish(self, value: Json) -> int:
        return self._portal.run(self._store.publish, value)

    def subscribe(self) -> ConfigSubscription:
        """``with store.subscribe() as updates: for config in updates:``."""
        return ConfigSubscription(self._portal, self._store.subscribe())


class Queue(_Twin[_queue.Queue]):
    """A blocking :class:`client.recipes.Queue`; ``with queue:`` drops its last receipt."""

    def __init__(self, zk: BlockingClient, path: str) -> None:
        portal, client = _loop_of(zk)
        super().__init__(portal, _queue.Queue(client, path))

    def put(self, value: bytes, priority: int = 100) -> None:
        self._portal.run(self._twin.put, value, priority)

    def get(self, timeout: float | None = None) -> bytes | None:
        """The first item (taken for good); ``None`` if none came within ``timeout`` s."""
        return self._portal.run(self._get, timeout)

    async def _get(self, timeout: float | None) -> bytes | None:  # noqa: ASYNC109 - as get()
        return await self._twin.get(timeout)

    def size(self) -> int:
        return self._portal.run(self._twin.size)

    def take(self, timeout: float | None = None) -> _Take:
        """``with queue.take() as item:``: consumed if the block succeeds, else given back."""
        return _Take(self._portal, self._twin.take(timeout))


class _Take:
    def __init__(self, portal: _Portal, manager: AbstractAsyncContextManager[bytes]) -> None:
        self._portal = portal
        self._manager = manager

    def __enter__(self) -> bytes:
        return self._portal.run(self._manager.__aenter__)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        return self._portal.run(self._manager.__aexit__, exc_type, exc, tb)


class Counter(_Twin[_counter.Counter[N]]):
    """A blocking :class:`client.recipes.Counter`; ``with counter:`` drops its receipt."""

    @overload
    def __init__(self: Counter[int], zk: BlockingClient, path: str) -> None: ...
    @overload
    def __init__(self, zk: BlockingClient, path: str, default: N) -> None: ...
    def __init__(self, zk: BlockingClient, path: str, default: N | int = 0) -> None:
        portal, client = _loop_of(zk)
        counter: _counter.Counter[N] = _counter.Counter(client, path, default)
        _Twin.__init__(self, portal, counter)  # not super(): mypy loses N there

    def value(self) -> N:
        return self._portal.run(self._twin.value)

    def add(self, amount: N) -> N:
        return self._portal.run(self._twin.add, amount)


class Membership(_IteratingTwin[_registry.Membership, dict[str, Instance]]):
    """A blocking :class:`client.recipes.Membership`: ``with`` it, iterate it."""

    def __init__(self, portal: _Portal, membership: _registry.Membership) -> None:
        super().__init__(portal, membership)
        self._held = _Held(portal, lambda: membership)

    def __enter__(self) -> Membership:
        self._held.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._held.__exit__(exc_type, exc, tb)


class ServiceRegistry:
    """A blocking :class:`client.recipes.ServiceRegistry`."""

    def __init__(self, zk: BlockingClient, path: str) -> None:
        self._portal, client = _loop_of(zk)
        self._registry = _registry.ServiceRegistry(client, path)

    def register(
        self, service: str, payload: Json, *, instance_id: str | None = None
    ) -> _Held[Registration]:
        """``with registry.register(service, payload) as me:``; see the async one."""
        make = self._registry.register
        return _Held(self._portal, lambda: make(service, payload, instance_id=instance_id))

    def instances(self, service: str) -> dict[str, Instance]:
        return self._portal.run(self._registry.instances, service)

    def watch(self, service: str) -> Membership:
        """``with registry.watch(service) as changes: for instances in changes:``."""
        return Membership(self._portal, self._registry.watch(service))

    def allocate_name(self, prefix: str) -> str:
        return self._portal.run(self._registry.allocate_name, prefix)


class TreeCache:
    """A blocking :class:`client.recipes.TreeCache`: ``with TreeCache(zk, path) as cache:``."""

    def __init__(self, zk: BlockingClient, path: str) -> None:
        self._portal, client = _loop_of(zk)
        self._cache = _tree_cache.TreeCache(client, path)
        self._held = _Held(self._portal, lambda: self._cache)

    def get(self, path: str) -> tuple[bytes, Stat] | None:
        return self._portal.run_sync(self._cache.get, path)

    def children(self, path: str) -> list[str] | None:
        return self._portal.run_sync(self._cache.children, path)

    def wait_synced(self) -> None:
        self._portal.run(self._cache.wait_synced)

    def __enter__(self) -> TreeCache:
        self._held.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._held.__exit__(exc_type, exc, tb)
