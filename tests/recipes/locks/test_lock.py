"""Lock: layout, fairness, timeouts, cancellation, lost replies and the fencing token.

Every test runs against zabkeeper and Apache ZooKeeper 3.8. Waiting never sleeps: a
contender's arrival is seen through a children watch on the lock node.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from typing import Any

import pytest
import trio
from contention import WAIT, connect, run_contention, wait_for_children
from reply_dropper import ReplyDropper

from client import Client, WatchKind
from client.errors import UsageError
from client.recipes import Lock
from support.real_server import RealServer

NODE = re.compile(r"^[0-9a-f]{32}__lock__\d{10}$")


async def test_acquire_release_and_kazoo_node_layout(recipe_server: RealServer, base: str) -> None:
    async with connect(recipe_server.hosts) as zk:
        lock = Lock(zk, f"{base}/job", "worker-1")
        assert await lock.acquire() is True
        assert lock.is_acquired
        names = await zk.children(f"{base}/job")
        assert names == [lock.node]
        assert NODE.match(names[0])
        assert (await zk.get(f"{base}/job/{names[0]}"))[0] == b"worker-1"
        stat = await zk.exists(f"{base}/job/{names[0]}")
        assert stat is not None
        assert stat.ephemeral_owner == zk.session_id
        assert await lock.contenders() == ["worker-1"]
        assert await lock.release() is True
        assert not lock.is_acquired
        assert await zk.children(f"{base}/job") == []
        assert await lock.release() is False


async def test_a_held_lock_is_not_reentrant(recipe_server: RealServer, base: str) -> None:
    async with connect(recipe_server.hosts) as zk:
        lock = Lock(zk, base)
        async with lock:
            with pytest.raises(UsageError):
                await lock.acquire()
        assert await zk.children(base) == []


async def test_waiters_are_served_in_order_and_time_out_cleanly(
    recipe_server: RealServer, base: str
) -> None:
    async with connect(recipe_server.hosts) as a, connect(recipe_server.hosts) as b:
        first = Lock(a, base, "a")
        await first.acquire()
        second = Lock(b, base, "b")
        assert await second.acquire(blocking=False) is False
        assert await second.acquire(timeout=0.2) is False
        assert await a.children(base) == [first.node]  # both attempts left no node
        order: list[str] = []

        async def contend(zk: Client, name: str) -> None:
            async with Lock(zk, base, name):
                order.append(name)

        async with connect(recipe_server.hosts) as c, trio.open_nursery() as nursery:
            nursery.start_soon(contend, b, "b")
            await wait_for_children(a, base, lambda names: len(names) == 2)
            nursery.start_soon(contend, c, "c")
            await wait_for_children(a, base, lambda names: len(names) == 3)
            assert await first.contenders() == ["a", "b", "c"]
            await first.release()
        assert order == ["b", "c"]
        assert await a.children(base) == []


async def test_each_waiter_watches_only_its_predecessor(
    recipe_server: RealServer, base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with connect(recipe_server.hosts) as a, connect(recipe_server.hosts) as b:
        holder = Lock(a, base, "holder")
        await holder.acquire()
        async with connect(recipe_server.hosts) as c:
            watched: list[str] = []
            watching = trio.Event()
            watch = c.watch

            def recording_watch(path: str, kind: WatchKind | str) -> Any:
                watched.append(path)
                watching.set()
                return watch(path, kind)

            monkeypatch.setattr(c, "watch", recording_watch)
            middle, last = Lock(b, base, "middle"), Lock(c, base, "last")
            middle_holds = trio.Event()

            async def acquire_middle() -> None:
                await middle.acquire()
                middle_holds.set()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(acquire_middle)
                await wait_for_children(a, base, lambda names: len(names) == 2)
                nursery.start_soon(last.acquire)
                with trio.fail_after(WAIT):
                    await watching.wait()
                assert watched == [f"{base}/{middle.node}"]  # not the holder's node
                await holder.release()
                with trio.fail_after(WAIT):
                    await middle_holds.wait()
                assert not last.is_acquired
                await middle.release()
            assert last.is_acquired
            await last.release()


async def test_contention_of_eight_clients_loses_no_increment(
    recipe_server: RealServer, base: str
) -> None:
    async def in_lock(zk: Client, path: str, i: int, body: Callable[[], Any]) -> None:
        async with Lock(zk, path, f"w{i}"):
            await body()

    counter = await run_contention(recipe_server.hosts, base, in_lock, workers=8, rounds=6)
    assert counter.max_holders == 1
    assert sorted(counter.written) == list(range(1, 49))
    assert counter.maybe == []


async def test_fencing_token_strictly_increases_across_clients(
    recipe_server: RealServer, base: str
) -> None:
    tokens: list[tuple[int, int]] = []  # (token, client), in the order the lock was held

    async def contend(hosts: str, i: int) -> None:
        async with connect(hosts) as zk:
            for _ in range(5):
                lock = Lock(zk, base, f"c{i}")
                async with lock:
                    assert lock.fencing_token is not None
                    tokens.append((lock.fencing_token, i))
                    await trio.lowlevel.checkpoint()

    async with trio.open_nursery() as nursery:
        for i in range(4):
            nursery.start_soon(contend, recipe_server.hosts, i)
    # The lock node deleted and made again: its sequence numbers restart, tokens do not.
    async with connect(recipe_server.hosts) as zk:
        await zk.delete(base)
        for _ in range(3):
            lock = Lock(zk, base, "after")
            async with lock:
                assert lock.fencing_token is not None
                tokens.append((lock.fencing_token, 99))
    values = [token for token, _ in tokens]
    assert len({i for _, i in tokens}) == 5
    assert all(earlier < later for earlier, later in itertools.pairwise(values))


async def test_cancelling_a_waiter_removes_its_node(recipe_server: RealServer, base: str) -> None:
    async with connect(recipe_server.hosts) as a, connect(recipe_server.hosts) as b:
        holder = Lock(a, base)
        await holder.acquire()
        waiter = Lock(b, base)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(waiter.acquire)
            await wait_for_children(a, base, lambda names: len(names) == 2)
            nursery.cancel_scope.cancel()
        assert waiter.node is None
        assert await a.children(base) == [holder.node]
        await holder.release()


async def test_cancelling_while_the_create_reply_is_awaited_removes_the_node(
    recipe_server: RealServer, base: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with connect(recipe_server.hosts) as zk:
        created = trio.Event()
        real_create = zk.create

        async def create_whose_reply_never_comes(path: str, *args: Any, **kwargs: Any) -> str:
            await real_create(path, *args, **kwargs)
            created.set()
            await trio.sleep_forever()
            raise AssertionError("unreachable")

        await zk.create(base)
        monkeypatch.setattr(zk, "create", create_whose_reply_never_comes)
        lock = Lock(zk, base)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(lock.acquire)
            with trio.fail_after(WAIT):
                await created.wait()
            assert len(await zk.children(base)) == 1
            nursery.cancel_scope.cancel()
        assert await zk.children(base) == []  # found by its uuid prefix and deleted


async def test_leaving_the_block_by_cancellation_still_releases(
    recipe_server: RealServer, base: str
) -> None:
    async with connect(recipe_server.hosts) as zk:
        lock = Lock(zk, base)
        with trio.CancelScope() as scope:
            async with lock:
                scope.cancel()
                await trio.sleep_forever()
        assert scope.cancelled_caught
        assert not lock.is_acquired
        assert await zk.children(base) == []


async def test_a_lost_create_reply_is_recovered(recipe_server: RealServer, base: str) -> None:
    async with trio.open_nursery() as nursery:
        dropper = ReplyDropper(recipe_server.port)
        await nursery.start(dropper.run)
        async with connect(dropper.hosts) as zk, connect(recipe_server.hosts) as other:
            lock = Lock(zk, base, "through-the-dropper")
            await zk.create(base)
            dropper.drop_create("__lock__")
            with trio.fail_after(WAIT):
                await lock.acquire()
            assert dropper.dropped == 1
            names = await other.children(base)
            assert names == [lock.node]  # the one create, found again: no orphan node
            rival = Lock(other, base)
            assert await rival.acquire(timeout=0.2) is False
            await lock.release()
            with trio.fail_after(WAIT):
                await rival.acquire()
            await rival.release()
        nursery.cancel_scope.cancel()
