"""ConfigStore: subscribers never go back in time and always end on the latest value."""

from __future__ import annotations

import json

import trio

import client
from client import blocking
from client.recipes import ConfigStore, ConfigVersion
from client.recipes import blocking_data as blocking_recipes
from support.lost_replies import LostReplies
from znode.opcodes import OpCode

SUBSCRIBERS = 10
PUBLISHES = 50


async def test_ten_subscribers_follow_fifty_rapid_publishes_in_order_to_the_last(
    recipe_hosts: str, base: str
) -> None:
    seen: list[list[ConfigVersion]] = [[] for _ in range(SUBSCRIBERS)]
    last = PUBLISHES - 1

    async def subscriber(i: int, task_status: trio.TaskStatus[None]) -> None:
        async with (
            client.connect(recipe_hosts) as zk,
            ConfigStore(zk, base).subscribe() as updates,
        ):
            task_status.started()
            async for config in updates:
                seen[i].append(config)
                if config.version == last:
                    return

    with trio.fail_after(60):
        async with client.connect(recipe_hosts) as zk, trio.open_nursery() as nursery:
            await ConfigStore(zk, base).publish({"n": 0})  # the first of the fifty
            for i in range(SUBSCRIBERS):
                await nursery.start(subscriber, i)
            store = ConfigStore(zk, base)
            versions = [await store.publish({"n": n}) for n in range(1, PUBLISHES)]
            assert versions == list(range(1, PUBLISHES))

    for sequence in seen:
        versions = [config.version for config in sequence]
        assert versions == sorted(set(versions))  # strictly increasing
        assert sequence[-1] == ConfigVersion({"n": last}, last, sequence[-1].mzxid)
        assert all(config.value == {"n": config.version} for config in sequence)


async def test_publish_stores_json_whose_version_is_the_nodes(recipe_hosts: str, base: str) -> None:
    path = f"{base}/app/config"
    async with client.connect(recipe_hosts) as zk:
        store = ConfigStore(zk, path)
        assert await store.get() is None
        assert await store.publish({"workers": 8}) == 0
        assert await store.publish(["a", 1, None, True]) == 1
        data, stat = await zk.get(path)
        assert json.loads(data) == {"value": ["a", 1, None, True], "version": 1}
        assert stat.version == 1
        current = await store.get()
        assert current == ConfigVersion(["a", 1, None, True], 1, stat.mzxid)


async def test_concurrent_publishers_each_get_their_own_version(
    recipe_hosts: str, base: str
) -> None:
    got: list[int] = []

    async def publisher(name: str) -> None:
        async with client.connect(recipe_hosts) as zk:
            store = ConfigStore(zk, base)
            got.extend([await store.publish(f"{name}{i}") for i in range(10)])

    async with trio.open_nursery() as nursery:
        for name in "abcd":
            nursery.start_soon(publisher, name)
    assert sorted(got) == list(range(40))
    async with client.connect(recipe_hosts) as zk:
        current = await ConfigStore(zk, base).get()
        assert current is not None
        assert current.version == 39


async def test_a_publish_whose_reply_is_lost_is_written_once(recipe_hosts: str, base: str) -> None:
    losses = LostReplies()
    async with client.connect(recipe_hosts, open_stream=losses.open_stream) as zk:
        store = ConfigStore(zk, base)
        losses.lose_reply(OpCode.CREATE)
        assert await store.publish("first") == 0
        losses.lose_reply(OpCode.SET_DATA)
        assert await store.publish("second") == 1
        assert losses.lost == 2
        _, stat = await zk.get(base)
        assert stat.version == 1


async def test_a_subscriber_follows_the_node_through_deletion_and_recreation(
    recipe_hosts: str, base: str
) -> None:
    async with client.connect(recipe_hosts) as zk, client.connect(recipe_hosts) as other:
        publisher = ConfigStore(other, base)
        async with ConfigStore(zk, base).subscribe() as updates:
            await publisher.publish("v0")
            await publisher.publish("v1")
            first = await updates.__anext__()
            if first.value == "v0":
                first = await updates.__anext__()
            assert (first.value, first.version) == ("v1", 1)
            await other.delete(base)
            await publisher.publish("again")  # version 0 of a new node
            recreated = await updates.__anext__()
            assert (recreated.value, recreated.version) == ("again", 0)
            assert recreated.mzxid > first.mzxid


async def test_the_blocking_facade_publishes_and_subscribes(recipe_hosts: str, base: str) -> None:
    def scenario() -> list[ConfigVersion]:
        with blocking.connect(recipe_hosts) as zk, blocking.connect(recipe_hosts) as other:
            store = blocking_recipes.ConfigStore(zk, base)
            assert store.get() is None
            publisher = blocking_recipes.ConfigStore(other, base)
            seen = []
            with store.subscribe() as updates:
                assert updates.next(timeout=0.2) is None  # nothing published yet
                for n in range(5):
                    assert publisher.publish({"n": n}) == n
                for config in updates:
                    seen.append(config)
                    if config.version == 4:
                        break
            current = store.get()
            assert current is not None
            assert current.value == {"n": 4}
            return seen

    seen = await trio.to_thread.run_sync(scenario)
    versions = [config.version for config in seen]
    assert versions == sorted(set(versions))
    assert seen[-1].value == {"n": 4}
