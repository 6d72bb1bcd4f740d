"""Service discovery: instances register under their service's name, others find them.

::

    registry = ServiceRegistry(zk, "/services")
    async with registry.register("web", {"host": "10.0.0.7", "port": 8080}) as me:
        ...                                   # discoverable while the block runs

    instances = await registry.instances("web")          # {id: Instance}
    async with registry.watch("web") as changes:
        async for instances in changes:                   # the current set, then each change
            route_to(instances)
    name = await registry.allocate_name("worker-")       # "worker-0000000042", never reused

**Layout** (kazoo ``Party``): an instance is the ephemeral node
``<path>/<service>/<instance id>__party__`` holding its payload as UTF-8 JSON, so
``kazoo.recipe.party.Party(kz, "/services/web")`` lists our payloads, and kazoo's party
members appear here (their identifier, when not JSON, as a string payload).

**Sessions.** A registration lives as long as the session: the node is ephemeral. While the
block runs, a registration whose node is deleted (by an operator, say) creates it again. A
:class:`~client.Client` whose session expired is dead (``EXPIRED`` then ``CLOSED``; calls
raise ``SessionExpired``), so nothing can be registered with it again: the registration's
block is cancelled and ``SessionExpired`` is raised from it. To stay registered across
expiries, run :func:`keep_registered`, which connects a new client and registers again,
under the same instance id, each time the session expires.
"""

from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import NoReturn

import attrs
import trio

from client.client import Client
from client.errors import ConnectionLoss, NodeExists, NoNode, SessionExpired, UsageError
from client.recipes._nodes import (
    cleanup_scope,
    closed_by_user,
    create_protected,
    ended,
    ensure_path,
    join,
    list_children,
    read_each,
    remove_node,
    retry,
)
from client.recipes.config import Json
from client.recipes.supervised import supervised
from client.recipes.tree_cache import TreeCache, TreeEvents
from client.watch_table import WatchKind
from znode.events import EventType

__all__ = ["Instance", "Membership", "Registration", "ServiceRegistry", "keep_registered"]

log = logging.getLogger("zabkeeper.recipes")

NODE_SUFFIX = "__party__"
NAMES = "__names__"


@attrs.frozen
class Instance:
    """A registered instance of a service: its id and its payload."""

    service: str
    id: str
    payload: Json


@attrs.frozen
class Registration:
    """This process's registration: the instance and the node that announces it."""

    instance: Instance
    path: str


def _encode(payload: Json) -> bytes:
    return json.dumps(payload, sort_keys=True).encode("utf-8")


def _decode(data: bytes) -> Json:
    text = data.decode("utf-8", "replace")
    try:
        payload: Json = json.loads(text)
    except json.JSONDecodeError:
        return text  # a kazoo party member's plain identifier
    return payload


def _check_name(kind: str, name: str) -> None:
    if not name or "/" in name or name in (".", ".."):
        raise ValueError(f"invalid {kind} {name!r}")


class ServiceRegistry:
    """Services' instances under ``path``; see the module docstring.

    Args:
        client: the connected client.
        path: the registry's root; it and the services' nodes are created when missing.
    """

    def __init__(self, client: Client, path: str) -> None:
        self.client = client
        self.path = path

    def service_path(self, service: str) -> str:
        """The node under which ``service``'s instances register."""
        _check_name("service name", service)
        return join(self.path, service)

    # --- registering -----------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def register(
        self, service: str, payload: Json, *, instance_id: str | None = None
    ) -> AsyncIterator[Registration]:
        """Register an instance of ``service`` for the duration of the block.

        Args:
            payload: what others read about the instance (JSON-serializable).
            instance_id: the instance's id (default: a fresh uuid). A node of that id left
                by an earlier session is waited for until the server removes it.

        Raises:
            SessionExpired: the session expired (the block is cancelled first).
        """
        instance_id = instance_id or uuid.uuid4().hex
        _check_name("instance id", instance_id)
        data = _encode(payload)
        path = join(self.service_path(service), instance_id + NODE_SUFFIX)
        registration = Registration(Instance(service, instance_id, payload), path)
        try:
            await self._create(path, data)

            async def keep(ready: trio.Event) -> None:
                async with self.client.watch(path, WatchKind.EXISTS) as events:
                    if events.stat is None:
                        await self._create(path, data)
                    ready.set()
                    async for event in events:  # raises SessionExpired on expiry
                        if event.type is not EventType.NODE_DELETED:
                            continue
                        if closed_by_user(self.client):
                            return  # the node went with the session, as it should
                        log.info("registration %s was deleted: registering again", path)
                        try:
                            await self._create(path, data)
                        except ConnectionLoss:
                            if closed_by_user(self.client):
                                return
                            raise

            async with supervised(keep):
                yield registration
        finally:
            with cleanup_scope(self.client):
                await self._remove_own(path)

    async def _create(self, path: str, data: bytes) -> None:
        """Create our ephemeral node, waiting out one an earlier session left."""
        while True:
            try:
                await self.client.create(path, data, ephemeral=True, makepath=True)
                return
            except ConnectionLoss:
                if ended(self.client):
                    raise
                continue  # sent again; a lost create shows up as NodeExists of ours
            except NodeExists:
                pass
            stat = await retry(self.client, self.client.exists, path)
            if stat is None:
                continue
            if stat.ephemeral_owner == self.client.session_id:
                return
            log.info("%s is held by session 0x%x: waiting", path, stat.ephemeral_owner)
            async with self.client.watch(path, WatchKind.EXISTS) as events:
                if events.stat is not None:
                    async for event in events:
                        if event.type is EventType.NODE_DELETED:
                            break

    async def _remove_own(self, path: str) -> None:
        if ended(self.client):
            return
        with contextlib.suppress(NoNode, ConnectionLoss, SessionExpired):
            stat = await retry(self.client, self.client.exists, path)
            if stat is not None and stat.ephemeral_owner == self.client.session_id:
                await retry(self.client, self.client.delete, path)

    # --- discovering -----------------------------------------------------------------------

    async def instances(self, service: str) -> dict[str, Instance]:
        """The instances of ``service`` registered now, by id."""
        parent = self.service_path(service)
        names = sorted(
            n for n in await list_children(self.client, parent) if n.endswith(NODE_SUFFIX)
        )
        found: dict[str, Instance] = {}
        for name, data in await read_each(self.client, parent, names):
            instance_id = name.removesuffix(NODE_SUFFIX)
            found[instance_id] = Instance(service, instance_id, _decode(data))
        return found

    def watch(self, service: str) -> Membership:
        """Follow ``service``'s instances: ``async with registry.watch(name) as changes:``."""
        return Membership(self, service)

    # --- names -----------------------------------------------------------------------------

    async def allocate_name(self, prefix: str) -> str:
        """A name ``prefix + <10-digit number>`` that no other call here ever returns.

        The number comes from a sequential node under ``<path>/__names__``, created with
        a uuid (so a lost reply cannot allocate twice) and deleted once read.
        """
        _check_name("name prefix", prefix + "0")
        parent = join(self.path, NAMES)
        marker = uuid.uuid4().hex + "-"
        created: str | None = None
        try:
            created = await create_protected(
                self.client, parent, marker + prefix, b"", sequential=True
            )
            return prefix + created[-10:]
        finally:
            await remove_node(self.client, parent, created, marker)

    def __repr__(self) -> str:
        return f"<ServiceRegistry {self.path!r}>"


class Membership:
    """An async iterator of a service's instances (``{id: Instance}``): the current ones,
    then the set after each change. Built on a :class:`TreeCache` of the service's node.

    Use it as ``async with registry.watch(service) as changes: async for instances in
    changes:``. It raises ``SessionExpired`` when the session expires.
    """

    def __init__(self, registry: ServiceRegistry, service: str) -> None:
        self._registry = registry
        self.service = service
        self._path = registry.service_path(service)
        self._cache = TreeCache(registry.client, self._path)
        self._stack: contextlib.AsyncExitStack | None = None
        self._events: TreeEvents | None = None
        self._last: dict[str, Instance] | None = None

    def current(self) -> dict[str, Instance]:
        """The instances as the cache has them now."""
        found: dict[str, Instance] = {}
        for name in self._cache.children(self._path) or ():
            node = self._cache.get(join(self._path, name))
            if name.endswith(NODE_SUFFIX) and node is not None:
                instance_id = name.removesuffix(NODE_SUFFIX)
                found[instance_id] = Instance(self.service, instance_id, _decode(node[0]))
        return found

    async def __aenter__(self) -> Membership:
        if self._stack is not None:
            raise UsageError("a Membership can be entered only once")
        await ensure_path(self._registry.client, self._path)
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(self._cache)
            self._events = await stack.enter_async_context(self._cache.events())
            await self._cache.wait_synced()
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._stack is not None
        return await self._stack.__aexit__(exc_type, exc, tb)

    def __aiter__(self) -> Membership:
        return self

    async def __anext__(self) -> dict[str, Instance]:
        events = self._events
        if events is None:
            raise UsageError("use it as 'async with registry.watch(service) as changes'")
        while True:
            current = self.current()
            if current != self._last:
                self._last = current
                return current
            await events.__anext__()
            while events.queued:
                await events.__anext__()


async def keep_registered(
    connect: Callable[[], AbstractAsyncContextManager[Client]],
    path: str,
    service: str,
    payload: Json,
    *,
    instance_id: str | None = None,
    task_status: trio.TaskStatus[Registration] = trio.TASK_STATUS_IGNORED,
) -> NoReturn:
    """Stay registered across session expiries, with a new client for each session.

    ``connect()`` must open a new client, e.g. ``lambda: client.connect(hosts)``. The
    instance keeps one id throughout; ``task_status`` reports the first registration
    (``await nursery.start(keep_registered, ...)``). Runs until cancelled.
    """
    instance_id = instance_id or uuid.uuid4().hex
    started = False
    while True:
        try:
            async with connect() as zk:
                registry = ServiceRegistry(zk, path)
                async with registry.register(service, payload, instance_id=instance_id) as me:
                    if not started:
                        started = True
                        task_status.started(me)
                    await trio.sleep_forever()
        except SessionExpired:
            log.warning("session expired: registering %s/%s again", service, instance_id)
