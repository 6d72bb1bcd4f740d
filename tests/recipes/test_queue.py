"""Queue: exactly once across many consumers, FIFO, kazoo's LockingQueue layout, lost replies."""

from __future__ import annotations

import collections

import pytest
import trio
from kazoo.client import KazooClient

import client
from client.recipes import Queue
from support.lost_replies import LostReplies
from znode.opcodes import OpCode

PRODUCERS = 8
CONSUMERS = 8
ITEMS = 25


async def test_every_item_is_delivered_exactly_once_and_in_order_per_producer(
    recipe_hosts: str, base: str
) -> None:
    received: dict[int, list[bytes]] = {c: [] for c in range(CONSUMERS)}
    total = PRODUCERS * ITEMS

    async def producer(p: int) -> None:
        async with client.connect(recipe_hosts) as zk, Queue(zk, base) as queue:
            for i in range(ITEMS):
                await queue.put(f"{p}:{i}".encode())

    stops: list[trio.CancelScope] = []

    async def consumer(c: int) -> None:
        async with client.connect(recipe_hosts) as zk:
            queue = Queue(zk, base)
            # Only the loop is cancelled: the client stays up to close its session.
            with trio.CancelScope() as stop:
                stops.append(stop)
                while True:
                    received[c].append(await queue.get())
                    if sum(len(items) for items in received.values()) == total:
                        for scope in stops:
                            scope.cancel()

    with trio.fail_after(90):
        async with trio.open_nursery() as nursery:
            for c in range(CONSUMERS):
                nursery.start_soon(consumer, c)
            for p in range(PRODUCERS):
                nursery.start_soon(producer, p)

    everything = [item for items in received.values() for item in items]
    counts = collections.Counter(everything)
    assert len(everything) == total
    assert set(counts.values()) == {1}
    assert set(counts) == {f"{p}:{i}".encode() for p in range(PRODUCERS) for i in range(ITEMS)}
    # each consumer got each producer's items in the order they were put
    for items in received.values():
        for p in range(PRODUCERS):
            mine = [int(item.split(b":")[1]) for item in items if item.startswith(f"{p}:".encode())]
            assert mine == sorted(mine)
    assert sum(1 for items in received.values() if items) > 1  # the work was shared
    async with client.connect(recipe_hosts) as zk:
        assert await zk.children(f"{base}/entries") == []
        assert await zk.children(f"{base}/taken") == []
        assert await zk.children(f"{base}/receipts") == []


async def test_one_consumer_takes_items_by_priority_then_in_put_order(
    recipe_hosts: str, base: str
) -> None:
    async with client.connect(recipe_hosts) as zk, Queue(zk, base) as queue:
        for i in range(5):
            await queue.put(b"low%d" % i, priority=500)
            await queue.put(b"high%d" % i, priority=5)
        assert await queue.size() == 10
        names = sorted(await zk.children(f"{base}/entries"))
        assert names[0].startswith("entry-005-")
        assert names[-1].startswith("entry-500-")
        got = [await queue.get() for _ in range(10)]
        assert got == [b"high%d" % i for i in range(5)] + [b"low%d" % i for i in range(5)]
        assert await queue.size() == 0


async def test_get_waits_for_a_put_and_times_out_on_an_empty_queue(
    recipe_hosts: str, base: str
) -> None:
    async with client.connect(recipe_hosts) as zk, client.connect(recipe_hosts) as other:
        queue = Queue(zk, base)
        assert await queue.get(timeout=0.3) is None
        async with trio.open_nursery() as nursery:
            got: list[bytes] = []

            async def wait_for_item(task_status: trio.TaskStatus[None]) -> None:
                task_status.started()
                got.append(await queue.get())

            await nursery.start(wait_for_item)
            await Queue(other, base).put(b"late")
        assert got == [b"late"]


async def test_take_consumes_on_success_and_gives_back_on_error(
    recipe_hosts: str, base: str
) -> None:
    async with client.connect(recipe_hosts) as zk, Queue(zk, base) as queue:
        await queue.put(b"first")
        await queue.put(b"second")

        async def fail_while_holding() -> None:
            async with queue.take() as item:
                assert item == b"first"
                assert await zk.children(f"{base}/taken") != []
                raise RuntimeError("processing failed")

        with pytest.raises(RuntimeError):
            await fail_while_holding()
        assert await zk.children(f"{base}/taken") == []
        async with queue.take() as item:
            assert item == b"first"  # given back, in its place
        assert await queue.get() == b"second"
        with pytest.raises(trio.TooSlowError):
            async with queue.take(timeout=0.2):
                pytest.fail("the queue is empty")


async def test_a_cancelled_get_leaves_no_claim_behind(recipe_hosts: str, base: str) -> None:
    async with client.connect(recipe_hosts) as zk, Queue(zk, base) as queue:
        with trio.move_on_after(0.3) as scope:
            await queue.get()
        assert scope.cancelled_caught
        await queue.put(b"x")
        with trio.CancelScope() as cancelled:
            async with queue.take() as item:
                cancelled.cancel()
                await trio.lowlevel.checkpoint()
        assert item == b"x"
        assert await zk.children(f"{base}/taken") == []
        assert await queue.get() == b"x"  # given back
        assert await zk.children(f"{base}/entries") == []


async def test_lost_replies_neither_duplicate_nor_lose_items(recipe_hosts: str, base: str) -> None:
    losses = LostReplies()
    async with client.connect(recipe_hosts, open_stream=losses.open_stream) as zk:
        async with Queue(zk, base) as queue:
            for i in range(3):
                losses.lose_reply(OpCode.MULTI)  # the put's
                await queue.put(b"%d" % i)
            assert losses.lost == 3
            assert await queue.size() == 3
            for i in range(3):
                losses.lose_reply(OpCode.CREATE)  # the claim's
                losses.lose_reply(OpCode.MULTI)  # the consume's
                assert await queue.get() == b"%d" % i
            assert losses.lost == 9
            assert await queue.size() == 0
            assert await zk.children(f"{base}/taken") == []
        assert await zk.children(f"{base}/receipts") == []


async def test_kazoo_locking_queues_and_ours_share_a_queue(recipe_hosts: str, base: str) -> None:
    kz = KazooClient(hosts=recipe_hosts)
    await trio.to_thread.run_sync(kz.start)
    try:
        theirs = kz.LockingQueue(base)
        async with client.connect(recipe_hosts) as zk, Queue(zk, base) as ours:
            await trio.to_thread.run_sync(theirs.put, b"from kazoo")
            await ours.put(b"from us")
            assert await ours.get() == b"from kazoo"
            assert await trio.to_thread.run_sync(theirs.get, 5) == b"from us"
            # kazoo's claim holds the item: we skip it until kazoo consumes it
            await trio.to_thread.run_sync(theirs.put, b"held by kazoo")
            await ours.put(b"free")
            assert await trio.to_thread.run_sync(theirs.consume)
            assert await trio.to_thread.run_sync(theirs.get, 5) == b"held by kazoo"
            assert await ours.get() == b"free"
            assert await ours.get(timeout=0.2) is None
            assert await trio.to_thread.run_sync(theirs.consume)
            # a claim kazoo releases gives the item back to us
            await trio.to_thread.run_sync(theirs.put, b"released")
            assert await trio.to_thread.run_sync(theirs.get, 5) == b"released"
            async with trio.open_nursery() as nursery:
                got: list[bytes] = []

                async def take() -> None:
                    got.append(await ours.get())

                nursery.start_soon(take)
                await trio.to_thread.run_sync(theirs.release)
            assert got == [b"released"]
            assert await trio.to_thread.run_sync(len, theirs) == 0
    finally:
        await trio.to_thread.run_sync(kz.stop)
        await trio.to_thread.run_sync(kz.close)
