"""The contention workload shared by the recipe tests: clients increment a znode counter by
read-then-write, each increment inside a recipe that should make it exclusive.

If the recipe lets two holders in, two of them read the same value and one increment is
lost: the final count falls short of the increments made, and two writers record the same
value. Faults (an expired session, a killed server) are injected between the read and the
write, the worst place. A write whose outcome cannot be known (its session died) is kept
apart as "maybe" and checked against the final value.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager

import attrs
import trio

import client
from client import Client, WatchKind
from client.errors import ConnectionLoss, SessionExpired
from client.recipes import LeaderElection, LeadershipLost, Lock, ReadWriteLock, Semaphore

Body = Callable[[], Awaitable[None]]
#: runs ``body`` inside the recipe for one client (worker ``i``)
Exclusive = Callable[[Client, str, int, Body], Awaitable[None]]
#: called between the read and the write of an increment: (client, worker, round)
Fault = Callable[[Client, int, int], Awaitable[None]]

SESSION_TIMEOUT = 4.0
#: seconds any single wait of a test may take
WAIT = 10.0


def connect(hosts: str) -> AbstractAsyncContextManager[Client]:
    return client.connect(hosts, session_timeout=SESSION_TIMEOUT)


async def wait_for_children(zk: Client, path: str, ready: Callable[[list[str]], bool]) -> None:
    """Return once ``path`` exists and its children satisfy ``ready`` (watches, no polling)."""
    with trio.fail_after(WAIT):
        while True:
            async with zk.watch(path, WatchKind.EXISTS) as exists:
                if exists.stat is not None:
                    break
                await exists.__anext__()
        while True:
            async with zk.watch(path, WatchKind.CHILDREN) as events:
                if ready(events.children or []):
                    return
                await events.__anext__()


async def _in_lock(zk: Client, path: str, i: int, body: Body) -> None:
    async with Lock(zk, path, f"w{i}"):
        await body()


async def _in_semaphore(zk: Client, path: str, i: int, body: Body) -> None:
    async with Semaphore(zk, path, 1, f"w{i}"):
        await body()


async def _in_write_lock(zk: Client, path: str, i: int, body: Body) -> None:
    async with ReadWriteLock(zk, path, f"w{i}").write_lock:
        await body()


async def _as_leader(zk: Client, path: str, i: int, body: Body) -> None:
    await LeaderElection(zk, path, f"w{i}").run(body)


RECIPES: dict[str, Exclusive] = {
    "lock": _in_lock,
    "semaphore": _in_semaphore,
    "write_lock": _in_write_lock,
    "election": _as_leader,
}


@attrs.define
class Counter:
    """The shared counter node and what the workers saw of it."""

    path: str
    holders: int = 0  # tasks of this process inside an increment now
    max_holders: int = 0
    written: list[int] = attrs.Factory(list)  # values whose write succeeded
    maybe: list[int] = attrs.Factory(list)  # values whose write's outcome is unknown
    attempts: dict[int, int] = attrs.Factory(dict)  # per worker

    async def increment(self, zk: Client, worker: int, fault: Fault | None) -> None:
        """Read, (fault), write value + 1; record the outcome."""
        self.holders += 1
        self.max_holders = max(self.max_holders, self.holders)
        round_ = self.attempts.get(worker, 0)
        self.attempts[worker] = round_ + 1
        value: int | None = None
        try:
            value = int((await _read(zk, self.path)).decode()) + 1
            if fault is not None:
                await fault(zk, worker, round_)
            await trio.lowlevel.checkpoint()  # let every other task run in between
            await _write_once(zk, self.path, value)
            self.written.append(value)
        except BaseException:
            if value is not None:
                self.maybe.append(value)
            raise
        finally:
            self.holders -= 1

    def check(self, final: int, increments: int) -> None:
        """Every increment made counted once: nothing lost, nothing doubled."""
        assert len(self.written) == len(set(self.written)), "two holders wrote one value"
        assert sorted(self.written) == sorted(set(self.written) & set(range(1, final + 1)))
        missing = set(range(1, final + 1)) - set(self.written)
        assert missing <= set(self.maybe), f"lost increments: {sorted(missing - set(self.maybe))}"
        assert final >= increments


async def _read(zk: Client, path: str) -> bytes:
    while True:
        try:
            data, _stat = await zk.get(path)
            return data
        except ConnectionLoss:
            continue  # the session is resumed by the next call


async def _write_once(zk: Client, path: str, value: int) -> None:
    """``set`` the value; after a lost reply, find out whether it was applied."""
    while True:
        try:
            await zk.set(path, str(value).encode())
            return
        except ConnectionLoss:
            if int((await _read(zk, path)).decode()) == value:
                return


async def run_contention(
    hosts: str,
    path: str,
    recipe: Exclusive,
    *,
    workers: int = 8,
    rounds: int = 6,
    fault: Fault | None = None,
    connect: Callable[[str], AbstractAsyncContextManager[Client]] | None = None,
    hosts_of: Callable[[int], str] | None = None,
) -> Counter:
    """``workers`` clients (separate sessions) each make ``rounds`` increments; returns the
    counter once all are done, after checking the final value.

    ``hosts_of(i)`` gives worker ``i`` its own connect string (default: ``hosts``).
    """
    counter = Counter(f"{path}-counter")
    opener = connect or (lambda h: client.connect(h, session_timeout=SESSION_TIMEOUT))
    async with opener(hosts) as zk:
        await zk.create(counter.path, b"0", makepath=True)

    async def worker(i: int) -> None:
        while counter.attempts.get(i, 0) < rounds:
            try:
                async with opener(hosts_of(i) if hosts_of else hosts) as zk:
                    while counter.attempts.get(i, 0) < rounds:
                        await recipe(zk, path, i, lambda: counter.increment(zk, i, fault))
            except (SessionExpired, LeadershipLost):
                continue  # this session is gone: carry on with a new one

    with trio.fail_after(120):
        async with trio.open_nursery() as nursery:
            for i in range(workers):
                nursery.start_soon(worker, i)
    async with opener(hosts) as zk:
        final = int((await zk.get(counter.path))[0].decode())
    counter.check(final, len(counter.written))
    return counter
