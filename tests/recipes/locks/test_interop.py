"""Mixed fleets: our recipes and kazoo's on the same paths exclude (or share) correctly.

kazoo is blocking, so its calls run in worker threads (``trio.to_thread``); a kazoo call
that blocks waiting for a lock is abandoned if the test is cancelled. Every test runs
against zabkeeper and Apache ZooKeeper 3.8.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import pytest
import trio
from contention import SESSION_TIMEOUT, WAIT, connect, wait_for_children
from kazoo.client import KazooClient

from client.errors import UsageError
from client.recipes import LeaderElection, Lock, ReadWriteLock, Semaphore
from support.real_server import RealServer

T = TypeVar("T")


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking kazoo call in a worker thread (abandoned if cancelled)."""
    return await trio.to_thread.run_sync(
        functools.partial(fn, *args, **kwargs), abandon_on_cancel=True
    )


@asynccontextmanager
async def kazoo(hosts: str) -> AsyncIterator[KazooClient]:
    kz = KazooClient(hosts=hosts, timeout=SESSION_TIMEOUT)
    await in_thread(kz.start, timeout=WAIT)
    try:
        yield kz
    finally:
        await in_thread(kz.stop)
        await in_thread(kz.close)


async def test_our_lock_and_kazoos_exclude_each_other(recipe_server: RealServer, base: str) -> None:
    async with kazoo(recipe_server.hosts) as kz, connect(recipe_server.hosts) as zk:
        ours, theirs = Lock(zk, base, "ours"), kz.Lock(base, "theirs")
        await ours.acquire()
        assert await in_thread(theirs.acquire, blocking=False) is False
        async with trio.open_nursery() as nursery:
            nursery.start_soon(in_thread, theirs.acquire)  # queues behind ours
            await wait_for_children(zk, base, lambda names: len(names) == 2)
            assert await ours.contenders() == ["ours", "theirs"]
            await ours.release()
        assert theirs.is_acquired
        assert await Lock(zk, base).acquire(timeout=0.2) is False
        waiter = Lock(zk, base, "ours-again")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(waiter.acquire)  # queues behind kazoo's
            await wait_for_children(zk, base, lambda names: len(names) == 2)
            assert await in_thread(theirs.contenders) == ["theirs", "ours-again"]
            assert not waiter.is_acquired
            await in_thread(theirs.release)
        assert waiter.is_acquired
        await waiter.release()
        assert await zk.children(base) == []


async def test_read_write_locks_mix_with_kazoos(recipe_server: RealServer, base: str) -> None:
    async with kazoo(recipe_server.hosts) as kz, connect(recipe_server.hosts) as zk:
        ours = ReadWriteLock(zk, base, "ours")
        their_read, their_write = kz.ReadLock(base, "r"), kz.WriteLock(base, "w")
        # Readers share: ours and kazoo's together; a writer of either kind is kept out.
        await ours.read_lock.acquire()
        assert await in_thread(their_read.acquire, blocking=False) is True
        assert await in_thread(their_write.acquire, blocking=False) is False
        assert await ReadWriteLock(zk, base).write_lock.acquire(timeout=0.2) is False
        await in_thread(their_read.release)
        await ours.read_lock.release()
        # kazoo's writer excludes our readers and writers.
        assert await in_thread(their_write.acquire, blocking=False) is True
        assert await ours.read_lock.acquire(timeout=0.2) is False
        assert await ours.write_lock.acquire(timeout=0.2) is False
        # Our writer queued behind kazoo's writer: kazoo's reader queues behind ours.
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ours.write_lock.acquire)
            await wait_for_children(zk, base, lambda names: len(names) == 2)
            assert await in_thread(their_read.acquire, blocking=False) is False
            await in_thread(their_write.release)
        assert ours.write_lock.is_acquired
        assert await in_thread(their_read.acquire, blocking=False) is False
        await ours.write_lock.release()
        assert await in_thread(their_read.acquire, blocking=False) is True
        await in_thread(their_read.release)


async def test_semaphore_leases_are_shared_with_kazoo(recipe_server: RealServer, base: str) -> None:
    async with kazoo(recipe_server.hosts) as kz, connect(recipe_server.hosts) as zk:
        ours = Semaphore(zk, base, 2, "ours")
        theirs = kz.Semaphore(base, "theirs", max_leases=2)
        assert await ours.acquire()
        assert await in_thread(theirs.acquire, blocking=False) is True
        assert sorted(await ours.lease_holders()) == ["ours", "theirs"]
        assert await Semaphore(zk, base, 2).acquire(blocking=False) is False
        assert await in_thread(kz.Semaphore(base, max_leases=2).acquire, blocking=False) is False
        # The lease count is stored where kazoo stores it, and checked by both.
        with pytest.raises(ValueError, match="Inconsistent max leases"):
            await in_thread(kz.Semaphore(base, max_leases=3).acquire, blocking=False)
        with pytest.raises(UsageError):
            await Semaphore(zk, base, 5).acquire(blocking=False)
        waiter = Semaphore(zk, base, 2, "waiter")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(waiter.acquire)
            await wait_for_children(zk, f"{base}-__lock__", lambda names: len(names) == 1)
            await in_thread(theirs.release)
        assert waiter.is_acquired
        assert sorted(await in_thread(theirs.lease_holders)) == ["ours", "waiter"]
        await ours.release()
        await waiter.release()
        assert await zk.children(base) == []


async def test_elections_mix_with_kazoos(recipe_server: RealServer, base: str) -> None:
    async with kazoo(recipe_server.hosts) as kz, connect(recipe_server.hosts) as zk:
        ours, theirs = LeaderElection(zk, base, "ours"), kz.Election(base, "theirs")
        led: list[str] = []
        kazoo_may_finish = trio.Event()
        token = trio.lowlevel.current_trio_token()

        def kazoo_leads() -> None:
            led.append("theirs")
            trio.from_thread.run(kazoo_may_finish.wait, trio_token=token)

        async def we_lead() -> str | None:
            led.append("ours")
            return await ours.leader()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(in_thread, theirs.run, kazoo_leads)
            await wait_for_children(zk, base, lambda names: len(names) == 1)
            assert await ours.leader() == "theirs"
            nursery.start_soon(ours.run, we_lead)
            await wait_for_children(zk, base, lambda names: len(names) == 2)
            assert await in_thread(theirs.contenders) == ["theirs", "ours"]
            assert led == ["theirs"]
            kazoo_may_finish.set()
        assert led == ["theirs", "ours"]
        # And the other way round: kazoo waits while ours leads.
        kazoo_led = trio.Event()

        def kazoo_follows() -> None:
            trio.from_thread.run_sync(kazoo_led.set, trio_token=token)

        async with trio.open_nursery() as nursery:

            async def lead_until_kazoo_queues() -> None:
                nursery.start_soon(in_thread, theirs.run, kazoo_follows)
                await wait_for_children(zk, base, lambda names: len(names) == 2)
                assert await ours.contenders() == ["ours", "theirs"]
                assert not kazoo_led.is_set()

            await ours.run(lead_until_kazoo_queues)
            with trio.fail_after(WAIT):
                await kazoo_led.wait()
