"""A fair, herd-free distributed lock whose nodes are kazoo's, so mixed fleets share it.

::

    lock = Lock(zk, "/locks/job", "worker-7")
    async with lock:
        await storage.write(data, fence=lock.fencing_token)

**Layout** (kazoo's ``Lock``): each contender creates an ephemeral sequential child
``<path>/<uuid hex>__lock__<10-digit sequence>`` holding its identifier. The contender with
the lowest sequence holds the lock; every other one watches only the node just before its
own (no herd when the lock is released) and re-reads the children when it goes. kazoo
compares the sequence suffixes as strings; so does this module, so both agree on the order.

**Failures.** The uuid lets a contender find its node again after a lost create reply.
Cancelling :meth:`Lock.acquire` (or its ``timeout``) deletes the contender's node in a
shielded scope, as does leaving the ``async with`` block in any way. If the session
expires, the node is gone and the lock with it: ZooKeeper calls in the block then fail with
``SessionExpired``, and writes elsewhere should be guarded by :attr:`Lock.fencing_token`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import trio

from client.client import Client
from client.errors import UsageError
from client.recipes._nodes import (
    Acquirable,
    children_with_stat,
    create_protected,
    join,
    list_children,
    new_prefix,
    read_each,
    remove_node,
    wait_deleted,
)
from znode.stat import Stat

_Listing = tuple[list[str], Stat]


class _OwnNodeMissing:
    """The contender's own node is not among the children read."""


_MISSING = _OwnNodeMissing()


class Lock(Acquirable):
    """An exclusive, fair lock at ``path``; kazoo's ``Lock`` on the same path excludes it.

    Use it as ``async with lock:``, or call :meth:`acquire` / :meth:`release`
    (:meth:`acquire` returns ``False`` after its ``timeout``, having removed its node). Not
    re-entrant: acquiring a lock this object already holds raises ``UsageError``.

    Args:
        client: the connected client.
        path: the lock's node; created (persistent, with its parents) when missing.
        identifier: stored in the contender's node, listed by :meth:`contenders`.
        extra_lock_patterns: more node-name markers that count as contenders (kazoo's
            option of the same name).
    """

    _NODE_NAME = "__lock__"
    _EXCLUDE_NAMES: tuple[str, ...] = ("__lock__",)

    def __init__(
        self,
        client: Client,
        path: str,
        identifier: str = "",
        *,
        extra_lock_patterns: Iterable[str] = (),
    ) -> None:
        self.client = client
        self.path = path
        self.identifier = identifier
        self.data = identifier.encode("utf-8")
        names = sorted({*self._EXCLUDE_NAMES, *extra_lock_patterns})
        self._blockers_re = _contender_re(names)
        self._all_re = _contender_re(sorted({*names, self._NODE_NAME}))
        #: the name of this contender's node while it waits or holds, else ``None``
        self.node: str | None = None
        #: whether this object holds the lock now
        self.is_acquired = False
        self._token: int | None = None
        self._prefix: str | None = None
        self._busy = False

    @property
    def fencing_token(self) -> int | None:
        """A number that strictly increases with every acquisition of this lock, by anyone.

        It is the lock node's ``pzxid`` as read by the ``getChildren`` that found this
        contender first in line. Why that one: a contender is granted the lock only after
        its predecessor's node was deleted, that deletion is a transaction with a zxid
        above everything its holder had read, and the granting read sees it; so each
        holder's token is greater than the one before, across clients and servers (zxids
        are one global order). It costs no extra request, and unlike the node's sequence
        number it keeps increasing if the lock node is deleted and created again. Pass it
        with writes to other systems, which then reject any token lower than one they
        have seen: a holder whose session expired without it noticing is fenced off.

        ``None`` before the first acquisition; afterwards the last acquisition's token.
        """
        return self._token

    # --- acquiring (acquire(), release() and ``async with`` are Acquirable's) ------------

    async def _acquire(self, blocking: bool) -> bool:
        listing = await self._create_and_list()
        fresh = False  # whether `listing` was read after the create was answered
        while True:
            if listing is None:
                listing = await children_with_stat(self.client, self.path)
                fresh = True
            children, stat = listing
            assert self.node is not None
            predecessor = self._predecessor(children, self.node)
            if isinstance(predecessor, _OwnNodeMissing):
                if fresh:
                    # Deleted by someone else while the session lives: contend again.
                    self.node = None
                    listing = await self._create_and_list()
                    fresh = False
                else:
                    listing = None  # read before the create was applied
                continue
            if predecessor is None:
                self._token = stat.pzxid
                return True
            if not blocking:
                return False
            await wait_deleted(self.client, join(self.path, predecessor))
            listing = None

    async def _create_and_list(self) -> _Listing | None:
        """Create this contender's node, and read the children right behind the create.

        The read is sent while the create is in flight, so both take one round trip; the
        server answers a session's requests in order, so the read normally includes the
        new node (when it does not, the caller reads again).
        """
        self._prefix = prefix = new_prefix(self._NODE_NAME)
        listing: _Listing | None = None

        async def read_children() -> None:
            nonlocal listing
            try:
                listing = await self.client.children(self.path, stat=True)
            except Exception:  # only an optimisation: the caller reads again
                listing = None

        error: BaseException | None = None
        async with trio.open_nursery() as nursery:
            # Starts once this task blocks, i.e. after the create below has been queued.
            nursery.start_soon(read_children)
            try:
                self.node = await create_protected(
                    self.client, self.path, prefix, self.data, sequential=True
                )
            except BaseException as exc:
                error = exc
                nursery.cancel_scope.cancel()
        if error is not None:
            raise error  # outside the nursery, so not wrapped in an ExceptionGroup
        return listing

    def _predecessor(self, children: list[str], own: str) -> str | _OwnNodeMissing | None:
        """The blocking contender just before ``own``, ``None`` if none, or ``_MISSING``."""
        match = self._all_re.search(own)
        if match is None:  # pragma: no cover - our own names always match
            raise UsageError(f"not a lock node name: {own!r}")
        own_sequence = match.group(1)
        found = False
        best: tuple[str, str] | None = None
        for child in children:
            if child == own:
                found = True
                continue
            blocker = self._blockers_re.search(child)
            if (
                blocker is not None
                and blocker.group(1) < own_sequence
                and (best is None or blocker.group(1) > best[0])
            ):
                best = (blocker.group(1), child)
        if not found:
            return _MISSING
        return None if best is None else best[1]

    async def _remove(self) -> None:
        node, prefix = self.node, self._prefix
        self.node = self._prefix = None
        await remove_node(self.client, self.path, node, prefix)

    # --- observing -----------------------------------------------------------------------

    async def contenders(self) -> list[str]:
        """The identifiers of every contender (holders first, then waiters in order).

        Readers and writers both count for a read/write lock; a contender without an
        identifier appears as ``""``.
        """
        children = await list_children(self.client, self.path)
        matches = sorted(
            (m.group(1), child) for child in children if (m := self._all_re.search(child))
        )
        found = await read_each(self.client, self.path, [child for _, child in matches])
        return [data.decode("utf-8", "replace") for _, data in found]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path!r} node={self.node!r}>"


def _contender_re(names: list[str]) -> re.Pattern[str]:
    """kazoo's contender pattern: a marker, then the sequence (10 digits, maybe signed)."""
    alternatives = "|".join(re.escape(name) for name in names)
    return re.compile(rf"(?:{alternatives})(-?\d{{10}})$")


__all__ = ["Lock"]
