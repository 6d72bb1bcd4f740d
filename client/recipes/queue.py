"""A FIFO work queue whose nodes are kazoo's ``LockingQueue``'s, so mixed fleets share it.

::

    queue = Queue(zk, "/jobs")
    await queue.put(b"resize 17.jpg")
    item = await queue.get()                 # taken: nobody else gets it
    async with queue.take() as item:         # consumed only if the block succeeds
        await process(item)

**Layout** (kazoo ``LockingQueue``): items are persistent sequential nodes
``<path>/entries/entry-<priority:03d>-<sequence>`` holding the bytes; lower priorities come
first, then the order of the puts. A consumer *claims* an item by creating the ephemeral
``<path>/taken/<entry name>`` holding a fresh claim id, and *consumes* it by deleting the
entry and the claim in one transaction. kazoo consumers skip claimed items and kazoo
producers' items are taken here, in the same order.

**Exactly once.** This is kazoo's LockingQueue semantics, not ``Queue``'s delete-to-claim:
a lost reply to a delete cannot tell "I deleted it" from "someone else did", whereas a
claim node holds its owner's id and can be read again. So every step survives a lost reply:

* a claim whose reply was lost is found again by its id (``NodeExists`` holding our id);
* a consume whose reply was lost is settled by reading the entry after a ``sync``: gone
  means consumed (only the claim's owner consumes);
* a put whose reply was lost is settled by a receipt committed with it
  (:mod:`client.recipes.receipts`): the uuid-named node trick cannot work here, because
  another consumer may have consumed the entry before its producer looks for it.

**Cancellation.** A cancelled :meth:`Queue.get` or :meth:`Queue.take` removes its claim in
a shielded scope, leaving the item for others. Once an item is claimed and read, ``get``
consumes it shielded, so an item is never lost between the queue and the caller. If the
session expires while an item is claimed, the claim goes with it and another consumer may
take the item: :meth:`Queue.take`'s block should then not report its work done.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from types import TracebackType
from typing import overload

import attrs
import trio

from client.client import Client
from client.errors import ConnectionLoss, NodeExists, NoNode, SessionExpired
from client.recipes._nodes import cleanup_scope, deadline_scope, ended, ensure_path, join, retry
from client.recipes.receipts import Receipts, wait_connected
from client.watch_table import WatchKind

__all__ = ["Queue"]


@attrs.frozen
class _Claim:
    name: str
    claim_id: bytes
    value: bytes


class Queue:
    """A FIFO queue of byte strings at ``path``; see the module docstring.

    Methods work on their own; ``async with queue:`` also deletes this object's last put
    receipt when the block ends.

    Args:
        client: the connected client.
        path: the queue's node; it and its ``entries`` and ``taken`` children are created
            (persistent) when missing.
    """

    ENTRY_PREFIX = "entry-"

    def __init__(self, client: Client, path: str) -> None:
        self.client = client
        self.path = path
        self.entries_path = join(path, "entries")
        self.taken_path = join(path, "taken")
        self._receipts = Receipts(client, join(path, "receipts"))
        self._ensured = False

    async def _ensure(self) -> None:
        if self._ensured:
            return
        for path in (self.entries_path, self.taken_path):
            await ensure_path(self.client, path)
        self._ensured = True

    # --- producing -----------------------------------------------------------------------

    async def put(self, value: bytes, priority: int = 100) -> None:
        """Append ``value``; lower ``priority`` values (0-999) are taken first.

        Exactly once, even if the reply is lost (see the module docstring).
        """
        if not isinstance(value, bytes):
            raise TypeError("a queue item must be bytes")
        if not 0 <= priority <= 999:
            raise ValueError("priority must be between 0 and 999")
        await self._ensure()
        prefix = join(self.entries_path, f"{self.ENTRY_PREFIX}{priority:03d}-")
        await self._receipts.commit(lambda txn: txn.create(prefix, value, sequential=True))

    async def size(self) -> int:
        """How many items are in the queue, claimed ones included."""
        await self._ensure()
        _, stat = await retry(self.client, self.client.get, self.entries_path)
        return stat.num_children

    # --- consuming -----------------------------------------------------------------------

    @overload
    async def get(self, timeout: None = None) -> bytes: ...  # noqa: ASYNC109
    @overload
    async def get(self, timeout: float) -> bytes | None: ...  # noqa: ASYNC109
    async def get(self, timeout: float | None = None) -> bytes | None:  # noqa: ASYNC109 - kazoo's signature
        """Take the first item, waiting for one; ``None`` if none came within ``timeout`` s.

        The item is removed from the queue: no other consumer ever gets it.
        """
        claim = None
        with deadline_scope(timeout):
            claim = await self._claim()
        if claim is None:
            return None
        await self._settle(claim, consume=True)
        return claim.value

    @contextlib.asynccontextmanager
    async def take(self, timeout: float | None = None) -> AsyncIterator[bytes]:  # noqa: ASYNC109 - as get()
        """Claim the first item for the block; consume it if the block ends without error.

        ``async with queue.take() as item:`` — if the block raises (or is cancelled) the
        claim is released and the item goes back to the queue, in its place.

        Raises:
            trio.TooSlowError: no item came within ``timeout`` seconds.
        """
        claim = None
        with deadline_scope(timeout):
            claim = await self._claim()
        if claim is None:
            raise trio.TooSlowError
        try:
            yield claim.value
        except BaseException:
            await self._settle(claim, consume=False)
            raise
        await self._settle(claim, consume=True)

    async def _claim(self) -> _Claim | None:
        """Claim and read the first unclaimed item, waiting for one (cancellable)."""
        await self._ensure()
        claim_id = uuid.uuid4().hex.encode()
        claim = await self._try_claim(claim_id)
        if claim is not None:
            return claim
        # Armed before the next listing, so no put or release after it goes unseen.
        async with self.client.watch(self.path, WatchKind.PERSISTENT_RECURSIVE) as events:
            while (claim := await self._try_claim(claim_id)) is None:
                await events.__anext__()
                while events.queued:
                    await events.__anext__()
        return claim

    async def _try_claim(self, claim_id: bytes) -> _Claim | None:
        entries = await retry(self.client, self.client.children, self.entries_path)
        taken = set(await retry(self.client, self.client.children, self.taken_path))
        # kazoo's order: the names sort by priority, then by sequence.
        for name in sorted(entries):
            if name in taken or not name.startswith(self.ENTRY_PREFIX):
                continue
            claim = await self._claim_entry(name, claim_id)
            if claim is not None:
                return claim
        return None

    async def _claim_entry(self, name: str, claim_id: bytes) -> _Claim | None:
        lock = join(self.taken_path, name)
        attempts = 0
        try:
            while True:
                attempts += 1
                try:
                    if not await self._create_claim(lock, claim_id, retried=attempts > 1):
                        return None
                    break
                except ConnectionLoss:
                    if ended(self.client):
                        raise
            try:
                value, _ = await retry(self.client, self.client.get, join(self.entries_path, name))
            except NoNode:  # consumed between the listing and the claim
                await self._release(name, claim_id)
                return None
        except BaseException:
            await self._release(name, claim_id)
            raise
        return _Claim(name, claim_id, value)

    async def _create_claim(self, lock: str, claim_id: bytes, *, retried: bool) -> bool:
        try:
            await self.client.create(lock, claim_id, ephemeral=True)
            return True
        except NodeExists:
            if not retried:
                return False  # someone else's: only a resent create can meet our own
            try:
                owner, _ = await self.client.get(lock)
            except NoNode:
                return False  # released meanwhile: the next listing sees the item again
            return owner == claim_id  # ours when our create's reply was lost

    async def _release(self, name: str, claim_id: bytes) -> None:
        """Delete our claim on ``name`` if it is there (shielded)."""
        lock = join(self.taken_path, name)
        with cleanup_scope(self.client):
            if ended(self.client):
                return
            with contextlib.suppress(NoNode, ConnectionLoss, SessionExpired):
                owner, stat = await retry(self.client, self.client.get, lock)
                if owner == claim_id:
                    await retry(self.client, self.client.delete, lock, stat.version)

    async def _settle(self, claim: _Claim, *, consume: bool) -> None:
        """Consume the claimed item, or release it (shielded, exactly once)."""
        if not consume:
            await self._release(claim.name, claim.claim_id)
            return
        entry = join(self.entries_path, claim.name)
        lock = join(self.taken_path, claim.name)
        await wait_connected(self.client)
        with trio.CancelScope(shield=True):
            while True:
                txn = self.client.transaction().delete(entry).delete(lock)
                try:
                    await txn.commit()
                    return
                except ConnectionLoss:
                    if ended(self.client):
                        raise
                # The reply was lost: consumed if the entry is gone, since only the
                # claim's owner consumes (the sync keeps a lagging server from lying).
                await retry(self.client, self.client.sync, self.path)
                if await retry(self.client, self.client.exists, entry) is None:
                    return

    # --- the context manager ---------------------------------------------------------------

    async def __aenter__(self) -> Queue:
        await self._ensure()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._receipts.close()

    def __repr__(self) -> str:
        return f"<Queue {self.path!r}>"
