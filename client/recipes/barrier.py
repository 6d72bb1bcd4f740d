"""Barriers on kazoo's layout: a simple :class:`Barrier` and a :class:`DoubleBarrier`.

::

    barrier = Barrier(zk, "/barriers/deploy")
    await barrier.set()            # workers' wait() now blocks
    ...
    await barrier.remove()         # every wait() returns

    async with DoubleBarrier(zk, "/barriers/step", num_clients=5):
        ...                        # entered once 5 members are in; left once all are out

A :class:`Barrier` is up while its node exists. A :class:`DoubleBarrier`'s members are
ephemeral ``<path>/<uuid hex>`` nodes holding an identifier; the member that brings the
count to ``num_clients`` creates ``<path>/ready``, which lets everyone in. Leaving follows
kazoo's protocol: ``ready`` is deleted, the lowest member waits for the highest to go,
every other member deletes its node and waits for the lowest, so nobody leaves before all
have finished their work.
"""

from __future__ import annotations

import contextlib
import os
import socket
from types import TracebackType
from typing import Self

from client.client import Client
from client.errors import ConnectionLoss, NodeExists, NoNode, SessionExpired
from client.recipes._nodes import (
    cleanup_scope,
    create_protected,
    deadline_scope,
    ensure_path,
    join,
    list_children,
    new_prefix,
    next_event,
    remove_node,
    retry,
    wait_deleted,
)
from client.watch_table import WatchKind
from znode.events import EventType

READY = "ready"


class Barrier:
    """A barrier that is up while the node ``path`` exists.

    Args:
        client: the connected client.
        path: the barrier's node.
    """

    def __init__(self, client: Client, path: str) -> None:
        self.client = client
        self.path = path

    async def set(self) -> None:
        """Put the barrier up (create its node, and missing parents); no-op if it is up."""
        await ensure_path(self.client, self.path)

    #: kazoo's name for :meth:`set`
    create = set

    async def remove(self) -> bool:
        """Take the barrier down; ``False`` if it was not up."""
        try:
            await retry(self.client, self.client.delete, self.path)
        except NoNode:
            return False
        return True

    async def wait(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109 - kazoo's signature
        """Wait until the barrier is down; ``False`` if ``timeout`` seconds passed first."""
        with deadline_scope(timeout):
            while True:
                async with self.client.watch(self.path, WatchKind.EXISTS) as events:
                    if events.stat is None:
                        return True
                    await next_event(events)  # then look again with a fresh watch
        return False

    def __repr__(self) -> str:
        return f"<Barrier {self.path!r}>"


class DoubleBarrier:
    """``num_clients`` members enter together and leave together (kazoo's ``DoubleBarrier``).

    Use it as ``async with barrier:`` (enter, then leave when the block ends; a block that
    raises only removes this member, without waiting for the others), or call
    :meth:`enter` and :meth:`leave`.

    Args:
        client: the connected client.
        path: the barrier's node (created when missing).
        num_clients: how many members must enter before any proceeds.
        identifier: stored in this member's node (default: host name and process id).
    """

    def __init__(
        self, client: Client, path: str, num_clients: int, identifier: str | None = None
    ) -> None:
        self.client = client
        self.path = path
        self.num_clients = num_clients
        self.identifier = identifier or f"{socket.gethostname()}-{os.getpid()}"
        #: this member's node name (under ``path``)
        self.node_name = new_prefix()
        #: whether this member has entered and not yet left
        self.participating = False

    @property
    def _ready_path(self) -> str:
        return join(self.path, READY)

    async def enter(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109 - kazoo's signature
        """Join, and wait until ``num_clients`` members have; ``False`` after ``timeout``.

        On a timeout, cancellation or error this member's node is removed again.
        """
        with deadline_scope(timeout):
            try:
                await self._enter()
            except BaseException:
                await self._remove_own_node()
                raise
            self.participating = True
            return True
        return False

    async def _enter(self) -> None:
        await create_protected(
            self.client,
            self.path,
            self.node_name,
            self.identifier.encode("utf-8"),
            sequential=False,
        )
        while True:
            async with self.client.watch(self._ready_path, WatchKind.EXISTS) as events:
                if events.stat is not None:
                    return
                members = await self._members()
                if len(members) >= self.num_clients:
                    with contextlib.suppress(NodeExists):
                        await retry(self.client, self.client.create, self._ready_path)
                    return
                event = await next_event(events)
            if event is not None and event.type is EventType.NODE_CREATED:
                return

    async def leave(self) -> None:
        """Leave, and wait until every member has left (their nodes are gone)."""
        try:
            await self._leave()
        except BaseException:
            await self._remove_own_node()
            raise
        finally:
            self.participating = False

    async def _leave(self) -> None:
        with contextlib.suppress(NoNode):
            await retry(self.client, self.client.delete, self._ready_path)
        me = self.node_name
        while True:
            members = sorted(await self._members())
            if not members:
                return
            if members == [me]:
                await self._remove_own_node()
                await self._remove_ready_if_empty()
                return
            if members[0] == me:
                await wait_deleted(self.client, join(self.path, members[-1]))
                continue
            if me in members:
                with contextlib.suppress(NoNode):
                    await retry(self.client, self.client.delete, join(self.path, me))
            await wait_deleted(self.client, join(self.path, members[0]))

    async def _members(self) -> list[str]:
        return [name for name in await list_children(self.client, self.path) if name != READY]

    async def _remove_own_node(self) -> None:
        await remove_node(self.client, self.path, self.node_name, None)

    async def _remove_ready_if_empty(self) -> None:
        """The last member out removes ``ready``: a member whose create of it was still in
        flight when another one left (and deleted it) has made it again."""
        if not await self._members():
            with contextlib.suppress(NoNode):
                await retry(self.client, self.client.delete, self._ready_path)

    async def __aenter__(self) -> Self:
        await self.enter()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            await self.leave()
        else:
            self.participating = False
            await self._remove_own_node()
            # The block's own exception is what the caller must see, not a cleanup error.
            with cleanup_scope(self.client), contextlib.suppress(ConnectionLoss, SessionExpired):
                await self._remove_ready_if_empty()

    def __repr__(self) -> str:
        return f"<DoubleBarrier {self.path!r} num_clients={self.num_clients}>"


__all__ = ["Barrier", "DoubleBarrier"]
