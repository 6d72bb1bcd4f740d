"""A counting semaphore on kazoo's ``Semaphore`` layout, so mixed fleets share the leases.

::

    sem = Semaphore(zk, "/limits/downloads", max_leases=4)
    async with sem:
        ...

**Layout** (kazoo's): ``<path>`` holds ``max_leases`` as decimal text; each holder has an
ephemeral ``<path>/<uuid hex>`` lease node holding its identifier. Contenders queue on a
:class:`~client.recipes.lock.Lock` at ``<path>-__lock__``; only the contender at the head
of that queue watches the lease children, and takes a lease as soon as fewer than
``max_leases`` exist. So waiters are served in order and a released lease wakes one task.
"""

from __future__ import annotations

from client.client import Client
from client.errors import NodeExists, NoNode, UsageError
from client.recipes._nodes import (
    Acquirable,
    create_protected,
    list_children,
    new_prefix,
    next_event,
    read_each,
    remove_node,
    retry,
)
from client.recipes.lock import Lock
from client.watch_table import WatchKind


class Semaphore(Acquirable):
    """At most ``max_leases`` holders at once; kazoo's ``Semaphore`` on the same path counts.

    Use it as ``async with semaphore:``, or :meth:`acquire` / :meth:`release`
    (:meth:`acquire` returns ``False`` after its ``timeout``).

    Args:
        client: the connected client.
        path: the semaphore's node (created with ``max_leases`` as its data when missing).
        max_leases: how many holders at once; must equal the number stored at ``path``
            (:meth:`acquire` raises ``UsageError`` when it does not).
        identifier: stored in the lease node, listed by :meth:`lease_holders`.
    """

    def __init__(
        self, client: Client, path: str, max_leases: int = 1, identifier: str = ""
    ) -> None:
        if max_leases < 1:
            raise UsageError("max_leases must be at least 1")
        self.client = client
        self.path = path
        self.max_leases = max_leases
        self.identifier = identifier
        self.data = identifier.encode("utf-8")
        #: the lock contenders queue on (kazoo's name for it)
        self.lock_path = path + "-__lock__"
        #: whether this object holds a lease now
        self.is_acquired = False
        self._lease: str | None = None
        self._busy = False

    async def _acquire(self, blocking: bool) -> bool:
        await self._ensure_path()
        lock = Lock(self.client, self.lock_path, self.identifier)
        if not await lock.acquire(blocking=blocking):
            return False
        try:
            return await self._take_lease(blocking)
        finally:
            await lock.release()

    async def _ensure_path(self) -> None:
        try:
            await retry(
                self.client,
                self.client.create,
                self.path,
                str(self.max_leases).encode(),
                makepath=True,
            )
            return
        except NodeExists:
            pass
        try:
            data, _stat = await retry(self.client, self.client.get, self.path)
        except NoNode:
            return  # deleted meanwhile; _take_lease creates it again
        try:
            stored = int(data.decode("utf-8"))
        except ValueError:
            return  # kazoo ignores data that is not a number, too
        if stored != self.max_leases:
            raise UsageError(
                f"semaphore {self.path} has {stored} leases, this object expects {self.max_leases}"
            )

    async def _take_lease(self, blocking: bool) -> bool:
        """Holding the queue's lock: take a lease once one is free."""
        lease = new_prefix()
        while True:
            try:
                async with self.client.watch(self.path, WatchKind.CHILDREN) as events:
                    children = events.children or []
                    if lease in children:
                        return True
                    if len(children) < self.max_leases:
                        self._lease = lease  # from here on there may be a node to remove
                        await create_protected(
                            self.client, self.path, lease, self.data, sequential=False
                        )
                        return True
                    if not blocking:
                        return False
                    # Any change (or the node's deletion): look again with a fresh watch.
                    await next_event(events)
            except NoNode:
                await self._ensure_path()

    async def _remove(self) -> None:
        lease, self._lease = self._lease, None
        await remove_node(self.client, self.path, lease, None)

    async def lease_holders(self) -> list[str]:
        """The identifiers of the current lease holders (unordered)."""
        children = await list_children(self.client, self.path)
        found = await read_each(self.client, self.path, children)
        return [data.decode("utf-8", "replace") for _, data in found]

    def __repr__(self) -> str:
        return f"<Semaphore {self.path!r} max_leases={self.max_leases}>"


__all__ = ["Semaphore"]
