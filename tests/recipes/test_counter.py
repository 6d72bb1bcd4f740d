"""Counter: exact under concurrent adders, kazoo's encoding both ways, no double add."""

from __future__ import annotations

import trio
from kazoo.client import KazooClient

import client
from client.recipes import Counter
from support.lost_replies import LostReplies
from znode.opcodes import OpCode

CLIENTS = 8
ADDS = 25


async def test_concurrent_adds_from_many_clients_are_all_counted(
    recipe_hosts: str, base: str
) -> None:
    results: list[int] = []

    async def adder(amount: int) -> None:
        async with client.connect(recipe_hosts) as zk, Counter(zk, base) as counter:
            results.extend([await counter.add(amount) for _ in range(ADDS)])

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            for i in range(CLIENTS):
                nursery.start_soon(adder, i + 1)
    expected = ADDS * sum(range(1, CLIENTS + 1))
    async with client.connect(recipe_hosts) as zk:
        assert await Counter(zk, base).value() == expected
        # each add saw a distinct total: no two adds were applied on the same version
        assert len(set(results)) == CLIENTS * ADDS
        assert max(results) == expected
        # every receipt was removed when its counter's block ended
        assert await zk.children(base) == []


async def test_the_value_is_stored_as_kazoo_stores_it(recipe_hosts: str, base: str) -> None:
    async with client.connect(recipe_hosts) as zk:
        counter = Counter(zk, base)
        assert await counter.value() == 0
        assert (await zk.get(base))[0] == b""  # an empty node holds the default
        assert await counter.add(5) == 5
        assert await counter.add(-7) == -2
        assert (await zk.get(base))[0] == b"-2"
        floats = Counter(zk, f"{base}-float", 1.5)
        assert await floats.add(0.25) == 1.75
        assert (await zk.get(f"{base}-float"))[0] == b"1.75"


async def test_kazoo_and_zabkeeper_counters_share_a_path(recipe_hosts: str, base: str) -> None:
    kz = KazooClient(hosts=recipe_hosts)
    await trio.to_thread.run_sync(kz.start)
    try:
        theirs = kz.Counter(base)

        def kazoo_adds(times: int) -> None:
            for _ in range(times):
                theirs.__add__(3)

        async with client.connect(recipe_hosts) as zk, Counter(zk, base) as ours:
            await trio.to_thread.run_sync(kazoo_adds, 2)
            assert await ours.value() == 6
            await ours.add(4)
            assert await trio.to_thread.run_sync(lambda: theirs.value) == 10
            # both at once, contending on the version
            async with trio.open_nursery() as nursery:
                nursery.start_soon(trio.to_thread.run_sync, kazoo_adds, 20)
                for _ in range(20):
                    await ours.add(1)
            assert await ours.value() == 10 + 20 * 3 + 20
            assert await trio.to_thread.run_sync(lambda: theirs.value) == 90

        their_floats = kz.Counter(f"{base}-f", default=0.5)
        async with client.connect(recipe_hosts) as zk:
            assert await Counter(zk, f"{base}-f", 0.0).add(2.0) == 2.0
            await trio.to_thread.run_sync(their_floats.__add__, 0.25)
            assert await Counter(zk, f"{base}-f", 0.0).value() == 2.25
    finally:
        await trio.to_thread.run_sync(kz.stop)
        await trio.to_thread.run_sync(kz.close)


async def test_an_add_whose_reply_is_lost_is_applied_once(recipe_hosts: str, base: str) -> None:
    losses = LostReplies()
    async with client.connect(recipe_hosts, open_stream=losses.open_stream) as zk:
        counter = Counter(zk, base)
        await counter.add(1)
        losses.lose_reply(OpCode.MULTI)
        assert await counter.add(10) == 11
        assert losses.lost == 1
        assert await counter.value() == 11
        (_, stat) = await zk.get(base)
        assert stat.version == 2


async def test_a_cancelled_add_is_either_done_or_not_started(recipe_hosts: str, base: str) -> None:
    losses = LostReplies()
    async with client.connect(recipe_hosts, open_stream=losses.open_stream) as zk:
        async with Counter(zk, base) as counter:
            losses.lose_reply(OpCode.MULTI)
            with trio.CancelScope() as scope:

                async def cancel_when_lost() -> None:
                    await losses.lost_event.wait()
                    scope.cancel()

                async with trio.open_nursery() as nursery:
                    nursery.start_soon(cancel_when_lost)
                    await counter.add(5)
            # the add was in flight when cancelled: it was seen through, once
            assert await counter.value() == 5
        assert await zk.children(base) == []
