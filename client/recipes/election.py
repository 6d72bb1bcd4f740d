"""Leader election on kazoo's ``Election`` layout: a :class:`~client.recipes.lock.Lock`
whose holder is the leader.

::

    election = LeaderElection(zk, "/election/scheduler", "host-3")

    async def lead() -> None:
        ...                               # runs while this contender leads

    await election.run(lead)              # contend, lead, then step down
    print(await election.leader())        # the identifier of whoever leads now

Contenders are the lock's ``<uuid>__lock__<seq>`` nodes holding their identifiers, so
kazoo's ``Election`` on the same path takes part in the same election, and
:meth:`LeaderElection.contenders` lists kazoo's contenders too.

While the leader's coroutine runs, the election watches the session: if it expires, or
this contender's node is deleted, the coroutine is cancelled and :meth:`~LeaderElection.run`
raises :class:`LeadershipLost`. With ``suspended_is_lost``, a dropped connection
(``SUSPENDED``) counts as lost too: stricter, at the cost of stepping down on every
reconnect. A leader whose session expires learns it only once it talks to a server again;
:attr:`LeaderElection.fencing_token` guards writes elsewhere against that window.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar, TypeVarTuple

import trio

from client.client import Client
from client.errors import SessionExpired, ZabkeeperError
from client.recipes._nodes import join, wait_deleted
from client.recipes.lock import Lock
from client.states import State

T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class LeadershipLost(ZabkeeperError):
    """The leader's session expired (or its node was deleted) while it was leading."""


class LeaderElection:
    """Contend for leadership at ``path``; see the module docstring.

    Args:
        client: the connected client.
        path: the election's node (created when missing).
        identifier: this contender's name, shown by :meth:`leader` and :meth:`contenders`.
        suspended_is_lost: step down as soon as the connection drops.
    """

    def __init__(
        self,
        client: Client,
        path: str,
        identifier: str = "",
        *,
        suspended_is_lost: bool = False,
    ) -> None:
        self.client = client
        self.path = path
        self.identifier = identifier
        self.suspended_is_lost = suspended_is_lost
        self.lock = Lock(client, path, identifier)

    @property
    def is_leader(self) -> bool:
        """Whether this contender leads now (its coroutine is running)."""
        return self.lock.is_acquired

    @property
    def fencing_token(self) -> int | None:
        """The lock's fencing token of this contender's (last) term; see :class:`Lock`."""
        return self.lock.fencing_token

    async def run(self, fn: Callable[[*Ts], Awaitable[T]], *args: *Ts) -> T:
        """Wait to be elected, run ``await fn(*args)`` as the leader, then step down.

        Returns what ``fn`` returns. Stepping down (deleting this contender's node) happens
        however ``fn`` ends, cancellation included.

        Raises:
            LeadershipLost: the session expired or the node was deleted while leading
                (``fn`` was cancelled).
            SessionExpired: the session expired while waiting to be elected.
        """
        async with self.lock:
            return await self._lead(fn, *args)

    async def _lead(self, fn: Callable[[*Ts], Awaitable[T]], *args: *Ts) -> T:
        lost: list[str] = []
        error: BaseException | None = None
        result: T | None = None
        async with trio.open_nursery() as nursery:

            def lose(why: str) -> None:
                lost.append(why)
                nursery.cancel_scope.cancel()

            await nursery.start(self._watch_session, lose)
            await nursery.start(self._watch_node, lose)
            try:
                result = await fn(*args)
            except BaseException as exc:
                error = exc
            nursery.cancel_scope.cancel()
        if lost:
            raise LeadershipLost(f"{self.path}: {lost[0]}") from error
        if error is not None:
            raise error  # outside the nursery, so not wrapped in an ExceptionGroup
        return result  # type: ignore[return-value]

    async def _watch_session(
        self, lose: Callable[[str], None], *, task_status: trio.TaskStatus[None]
    ) -> None:
        async with self.client.states() as states:
            task_status.started()
            async for state in states:
                if state in (State.EXPIRED, State.CLOSED):
                    lose(f"the session is {state.value}")
                    return
                if state is State.SUSPENDED and self.suspended_is_lost:
                    lose("the connection dropped")
                    return

    async def _watch_node(
        self, lose: Callable[[str], None], *, task_status: trio.TaskStatus[None]
    ) -> None:
        assert self.lock.node is not None
        path = join(self.path, self.lock.node)
        task_status.started()  # a deletion before the watch is armed is seen when arming
        try:
            await wait_deleted(self.client, path)
        except SessionExpired:
            return  # reported by _watch_session
        if self.client.state is State.CONNECTED:
            lose("its node was deleted")

    async def leader(self) -> str | None:
        """The identifier of the current leader, ``None`` if nobody contends."""
        contenders = await self.lock.contenders()
        return contenders[0] if contenders else None

    async def contenders(self) -> list[str]:
        """Every contender's identifier: the leader first, then the queue in order."""
        return await self.lock.contenders()

    def __repr__(self) -> str:
        return f"<LeaderElection {self.path!r} {self.identifier!r}>"


__all__ = ["LeaderElection", "LeadershipLost"]
