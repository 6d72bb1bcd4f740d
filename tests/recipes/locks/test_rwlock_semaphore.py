"""ReadWriteLock and Semaphore: sharing, exclusion, layout, cancellation, lost replies."""

from __future__ import annotations

import re

import pytest
import trio
from contention import WAIT, connect, wait_for_children
from reply_dropper import ReplyDropper

from client.errors import UsageError
from client.recipes import ReadWriteLock, Semaphore
from support.real_server import RealServer

LEASE = re.compile(r"^[0-9a-f]{32}$")


async def test_readers_share_and_writers_exclude(recipe_server: RealServer, base: str) -> None:
    async with connect(recipe_server.hosts) as a, connect(recipe_server.hosts) as b:
        first, second = ReadWriteLock(a, base, "a"), ReadWriteLock(b, base, "b")
        await first.read_lock.acquire()
        assert await second.read_lock.acquire(timeout=WAIT)  # readers share
        assert re.match(r"^[0-9a-f]{32}__rlock__\d{10}$", first.read_lock.node or "")
        assert await second.write_lock.acquire(timeout=0.2) is False
        await second.read_lock.release()
        await first.read_lock.release()
        await first.write_lock.acquire()
        assert re.match(r"^[0-9a-f]{32}__lock__\d{10}$", first.write_lock.node or "")
        assert await second.read_lock.acquire(timeout=0.2) is False
        assert await second.write_lock.acquire(timeout=0.2) is False
        await first.write_lock.release()
        assert await a.children(base) == []


async def test_a_queued_writer_is_not_overtaken_by_later_readers(
    recipe_server: RealServer, base: str
) -> None:
    async with (
        connect(recipe_server.hosts) as a,
        connect(recipe_server.hosts) as b,
        connect(recipe_server.hosts) as c,
    ):
        reader = ReadWriteLock(a, base, "reader")
        await reader.read_lock.acquire()
        writer, late = ReadWriteLock(b, base, "writer"), ReadWriteLock(c, base, "late")
        order: list[str] = []

        async def take(lock: ReadWriteLock, write: bool) -> None:
            side = lock.write_lock if write else lock.read_lock
            async with side:
                order.append(f"{lock.write_lock.identifier}-{'w' if write else 'r'}")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(take, writer, True)
            await wait_for_children(a, base, lambda names: len(names) == 2)
            nursery.start_soon(take, late, False)
            await wait_for_children(a, base, lambda names: len(names) == 3)
            assert await reader.contenders() == ["reader", "writer", "late"]
            assert order == []  # the late reader waits behind the writer
            await reader.read_lock.release()
        assert order == ["writer-w", "late-r"]


async def test_semaphore_admits_max_leases_and_stores_them_as_kazoo_does(
    recipe_server: RealServer, base: str
) -> None:
    async with connect(recipe_server.hosts) as zk:
        holders = [Semaphore(zk, base, 3, f"h{i}") for i in range(3)]
        for holder in holders:
            assert await holder.acquire(timeout=WAIT)
        assert (await zk.get(base))[0] == b"3"
        names = await zk.children(base)
        assert len(names) == 3
        assert all(LEASE.match(name) for name in names)
        assert sorted(await holders[0].lease_holders()) == ["h0", "h1", "h2"]
        extra = Semaphore(zk, base, 3, "extra")
        assert await extra.acquire(blocking=False) is False
        assert await extra.acquire(timeout=0.2) is False
        with pytest.raises(UsageError):
            await Semaphore(zk, base, 4).acquire(blocking=False)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(extra.acquire)
            await wait_for_children(zk, f"{base}-__lock__", lambda names: len(names) == 1)
            await holders[1].release()
        assert extra.is_acquired
        for holder in (holders[0], holders[2], extra):
            await holder.release()
        assert await zk.children(base) == []
        assert await zk.children(f"{base}-__lock__") == []


async def test_cancelling_a_semaphore_waiter_leaves_no_node(
    recipe_server: RealServer, base: str
) -> None:
    async with connect(recipe_server.hosts) as a, connect(recipe_server.hosts) as b:
        holder = Semaphore(a, base, 1)
        await holder.acquire()
        waiters = [Semaphore(b, base, 1) for _ in range(2)]
        async with trio.open_nursery() as nursery:
            for waiter in waiters:
                nursery.start_soon(waiter.acquire)
            await wait_for_children(a, f"{base}-__lock__", lambda names: len(names) == 2)
            nursery.cancel_scope.cancel()
        assert await a.children(f"{base}-__lock__") == []
        assert len(await a.children(base)) == 1
        await holder.release()


async def test_a_lost_lease_create_reply_is_recovered(recipe_server: RealServer, base: str) -> None:
    async with trio.open_nursery() as nursery:
        dropper = ReplyDropper(recipe_server.port)
        await nursery.start(dropper.run)
        async with connect(dropper.hosts) as zk, connect(recipe_server.hosts) as other:
            await other.create(base, b"2")
            semaphore = Semaphore(zk, base, 2, "dropped")
            dropper.drop_create(f"{base}/")  # the lease node, not the lock's
            with trio.fail_after(WAIT):
                assert await semaphore.acquire()
            assert dropper.dropped == 1
            assert await semaphore.lease_holders() == ["dropped"]  # one lease, not two
            assert await Semaphore(other, base, 2).acquire(timeout=WAIT)  # one lease left
            await semaphore.release()
        nursery.cancel_scope.cancel()
