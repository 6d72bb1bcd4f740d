"""What the recipes share: retries, protected creates, waits, shielded cleanup, and the
acquire / release of the lock family.

**Protected creates.** A create whose reply is lost (the connection dropped after the server
applied it) leaves a node the client does not know the name of. Every node a recipe creates
therefore starts with a fresh uuid (kazoo's and Curator's trick): after a
``ConnectionLoss`` the recipe lists the parent and finds its node again by that prefix, and
a cleanup after cancellation does the same when the name never arrived.

**Retries.** Reads, deletes and uuid-named creates are safe to send again, so they are
retried after ``ConnectionLoss`` for as long as the session may still be resumed (a call
made while the client is suspended itself waits for the reconnection, so there is nothing
to sleep for). ``SessionExpired`` and a closed client end the retrying.

**Cleanup.** A recipe's node is deleted in a *shielded* cancel scope, so cancelling a waiter
or a holder still removes its node; the shield has a deadline of one session timeout,
after which an unreachable ensemble's own expiry removes the (ephemeral) node.
"""

from __future__ import annotations

import contextlib
import math
import uuid
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import ParamSpec, Self, TypeVar

import trio

from client.client import Client
from client.errors import ConnectionLoss, NodeExists, NoNode, SessionExpired, UsageError
from client.states import State
from client.watch_table import WatchKind
from client.watches import Watch, WatchEvent
from znode.events import EventType
from znode.stat import Stat

P = ParamSpec("P")
T = TypeVar("T")

#: states from which a session never comes back
ENDED = (State.EXPIRED, State.CLOSED)


def new_prefix(suffix: str = "") -> str:
    """A fresh protected name prefix: 32 hex digits of a uuid4, then ``suffix``."""
    return uuid.uuid4().hex + suffix


def join(parent: str, name: str) -> str:
    """``parent/name`` (the root is ``/``)."""
    return f"{parent.rstrip('/')}/{name}"


def ended(client: Client) -> bool:
    """Whether the client's session is over (expired, closed or being closed)."""
    return client.state in ENDED or not client.alive


def closed_by_user(client: Client) -> bool:
    """Whether the client was closed (or is closing) by its user, not by expiry."""
    return not client.alive and client.state is not State.EXPIRED


async def retry(
    client: Client, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs
) -> T:
    """``await fn(...)``, again after ``ConnectionLoss`` while the session may come back.

    Only for calls that are safe to repeat (reads, deletes, uuid-named creates).
    """
    while True:
        try:
            return await fn(*args, **kwargs)
        except ConnectionLoss:
            if ended(client):
                raise
            await trio.lowlevel.checkpoint()


async def ensure_path(client: Client, path: str) -> None:
    """Create ``path`` (persistent and empty, with missing parents) unless it exists."""
    with contextlib.suppress(NodeExists):
        await retry(client, client.create, path, b"", makepath=True)


async def list_children(client: Client, parent: str) -> list[str]:
    """``parent``'s children (none when ``parent`` does not exist), retried across reconnects."""
    try:
        return await retry(client, client.children, parent)
    except NoNode:
        return []


async def read_each(client: Client, parent: str, names: Iterable[str]) -> list[tuple[str, bytes]]:
    """``(name, data)`` of each child ``names`` of ``parent``, in order; gone ones left out."""
    found = []
    for name in names:
        try:
            data, _stat = await retry(client, client.get, join(parent, name))
        except NoNode:
            continue  # deleted since it was listed
        found.append((name, data))
    return found


async def find_prefixed(client: Client, parent: str, prefix: str) -> str | None:
    """The name of the child of ``parent`` that starts with ``prefix``, if any."""
    children = await list_children(client, parent)
    return next((name for name in children if name.startswith(prefix)), None)


async def create_protected(
    client: Client,
    parent: str,
    prefix: str,
    data: bytes,
    *,
    sequential: bool,
    ephemeral: bool = True,
) -> str:
    """Create ``parent/prefix`` (with a sequence suffix if ``sequential``); return its name.

    Missing parents are created (persistent). A create whose reply was lost is found again
    by its prefix instead of being made twice.
    """
    tried = False
    while True:
        if tried:
            found = await find_prefixed(client, parent, prefix)
            if found is not None:
                return found
        tried = True
        try:
            path = await client.create(
                join(parent, prefix),
                data,
                ephemeral=ephemeral,
                sequential=sequential,
                makepath=True,
            )
        except NodeExists:
            if sequential:
                raise
            return prefix  # our own earlier create, whose reply was lost
        except ConnectionLoss:
            if ended(client):
                raise
            continue
        return path.rsplit("/", 1)[1]


async def children_with_stat(client: Client, parent: str) -> tuple[list[str], Stat]:
    """``parent``'s children and Stat, retried across reconnects."""
    return await retry(client, client.children, parent, stat=True)


async def wait_deleted(client: Client, path: str) -> None:
    """Return once ``path`` does not exist (a data watch, no polling).

    Each watch is used for one event only, then armed afresh: a watch whose server-side
    watch fired before its arming read was answered is not re-armed by the client (see
    :func:`next_event`), and a fresh one never depends on that.

    Raises:
        SessionExpired: the session expired meanwhile.
    """
    while True:
        try:
            async with client.watch(path, WatchKind.DATA) as events:
                event = await next_event(events)
        except NoNode:
            return
        if event is None or event.type is EventType.NODE_DELETED:
            return


async def next_event(events: Watch) -> WatchEvent | None:
    """The next event of an entered watch, or ``None`` once the watch has ended.

    The recipes take one event per watch and then look again with a new one, so they never
    rely on the client re-arming a one-shot watch between events.
    """
    async for event in events:
        return event
    return None


def cleanup_scope(client: Client) -> trio.CancelScope:
    """A shielded scope for removing a recipe's node, even while being cancelled.

    Its deadline is one session timeout: if the ensemble cannot be reached for that long,
    the session (and with it every ephemeral node) expires on its own.
    """
    return trio.move_on_after(max(client.session_timeout, 1.0), shield=True)


async def remove_node(client: Client, parent: str, name: str | None, prefix: str | None) -> None:
    """Delete ``parent/name``, or the child found by ``prefix`` when the name is unknown.

    Shielded (see :func:`cleanup_scope`). A node already gone, an expired session (its
    ephemerals are gone) and a closed client (they go with it) are not errors.
    """
    if name is None and prefix is None:
        return
    with cleanup_scope(client):
        if ended(client):
            return
        try:
            if name is None and prefix is not None:
                name = await find_prefixed(client, parent, prefix)
            if name is not None:
                await retry(client, client.delete, join(parent, name))
        except (NoNode, SessionExpired, ConnectionLoss):
            pass


def deadline_scope(timeout: float | None) -> trio.CancelScope:
    """A scope that moves on after ``timeout`` seconds (never, for ``None``)."""
    return trio.move_on_after(math.inf if timeout is None else timeout)


class Acquirable:
    """``acquire`` / ``release`` and ``async with`` for a recipe that holds a node while
    acquired (:class:`~client.recipes.lock.Lock`, :class:`~client.recipes.semaphore.Semaphore`).

    A subclass sets ``is_acquired`` and ``_busy`` to ``False`` and implements
    :meth:`_acquire` (wait, then say whether it holds) and :meth:`_remove` (delete what
    :meth:`_acquire` created, if anything; shielded, see :func:`remove_node`).
    """

    #: whether this object holds it now
    is_acquired: bool
    _busy: bool  # an acquire() is running

    async def _acquire(self, blocking: bool) -> bool:
        raise NotImplementedError

    async def _remove(self) -> None:
        raise NotImplementedError

    async def acquire(self, timeout: float | None = None, *, blocking: bool = True) -> bool:  # noqa: ASYNC109 - kazoo's signature
        """Wait until this object holds it; return ``True`` once it does.

        Returns ``False`` (having removed its node) when ``timeout`` seconds passed first,
        or at once when ``blocking`` is false and it is not free.

        Raises:
            UsageError: this object already holds it or is acquiring it (or the recipe's
                own misuse, see its class).
            SessionExpired: the session expired while waiting.
        """
        if self.is_acquired or self._busy:
            raise UsageError(f"{self!r} is already acquired or being acquired")
        self._busy = True
        try:
            with deadline_scope(timeout):
                try:
                    got = await self._acquire(blocking)
                except BaseException:
                    await self._remove()
                    raise
                if not got:
                    await self._remove()
                self.is_acquired = got
                return got
            return False
        finally:
            self._busy = False

    async def release(self) -> bool:
        """Release it (delete this object's node); ``False`` if not held.

        Runs to completion even when cancelled (shielded, for at most a session timeout).
        """
        if not self.is_acquired:
            return False
        self.is_acquired = False
        await self._remove()
        return True

    async def __aenter__(self) -> Self:
        await self.acquire()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.release()
