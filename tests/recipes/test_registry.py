"""ServiceRegistry: membership as instances come and go, expiry, unique names, kazoo's Party."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
import trio
from kazoo.client import KazooClient

import client
from client import blocking
from client.errors import SessionExpired
from client.recipes import Instance, Membership, ServiceRegistry, keep_registered
from client.recipes import blocking_data as blocking_recipes
from client.watch_table import WatchKind
from support.expiry import SessionKiller
from support.lost_replies import LostReplies
from znode.opcodes import OpCode

Instances = dict[str, Instance]


async def until(changes: Membership, wanted: Callable[[Instances], bool]) -> Instances:
    """The first membership ``wanted`` accepts (each one yielded is checked)."""
    async for instances in changes:
        if wanted(instances):
            return instances
    raise AssertionError("the membership watch ended")


def ids(*names: str) -> Callable[[Instances], bool]:
    return lambda instances: set(instances) == set(names)


async def test_membership_follows_instances_as_they_come_and_go(
    recipe_hosts: str, base: str, nursery: trio.Nursery
) -> None:
    async with (
        client.connect(recipe_hosts) as watcher,
        ServiceRegistry(watcher, base).watch("web") as changes,
    ):
        assert await changes.__anext__() == {}
        stops: dict[str, trio.Event] = {}

        async def instance(name: str, port: int) -> None:
            stops[name] = trio.Event()
            async with client.connect(recipe_hosts) as zk:
                registry = ServiceRegistry(zk, base)
                async with registry.register("web", {"port": port}, instance_id=name) as me:
                    assert me.instance == Instance("web", name, {"port": port})
                    await stops[name].wait()

        for i, name in enumerate(["a", "b", "c"]):
            nursery.start_soon(instance, name, 8000 + i)
            members = await until(changes, lambda got, n=name: n in got)
        assert set(members) == {"a", "b", "c"}  # each starts once the one before is seen
        assert members["b"] == Instance("web", "b", {"port": 8001})
        stops["b"].set()  # leaves: its block ends
        await until(changes, ids("a", "c"))
        async with client.connect(recipe_hosts) as zk:
            assert sorted(await ServiceRegistry(zk, base).instances("web")) == ["a", "c"]
            assert await ServiceRegistry(zk, base).instances("nothing") == {}
        stops["a"].set()
        stops["c"].set()
        assert await until(changes, ids()) == {}


async def test_a_closed_session_takes_its_instances_with_it(recipe_hosts: str, base: str) -> None:
    async with (
        client.connect(recipe_hosts) as watcher,
        ServiceRegistry(watcher, base).watch("db") as changes,
        client.connect(recipe_hosts) as zk,
        ServiceRegistry(zk, base).register("db", "primary", instance_id="p"),
    ):
        assert (await until(changes, ids("p")))["p"].payload == "primary"
        await zk.close()  # without leaving: the ephemeral node goes with the session
        await until(changes, ids())


async def test_a_deleted_registration_is_created_again(recipe_hosts: str, base: str) -> None:
    async with client.connect(recipe_hosts) as zk, client.connect(recipe_hosts) as operator:
        registry = ServiceRegistry(zk, base)
        async with (
            registry.watch("web") as changes,
            registry.register("web", {"v": 1}, instance_id="x") as me,
        ):
            await until(changes, ids("x"))
            async with operator.watch(me.path, WatchKind.EXISTS) as events:
                await operator.delete(me.path)
                async for _ in events:
                    if events.stat is not None:
                        break
            assert events.stat.ephemeral_owner == zk.session_id
            assert json.loads((await operator.get(me.path))[0]) == {"v": 1}


async def test_expiry_ends_a_registration_with_session_expired(
    session_killer: SessionKiller, recipe_hosts: str, base: str
) -> None:
    async def register_until_expired(zk: client.Client) -> None:
        async with ServiceRegistry(zk, base).register("web", 1, instance_id="e"):
            await session_killer.expire(zk)
            await trio.sleep_forever()  # cancelled by the registration's failure

    async with session_killer.connect() as zk:
        with pytest.raises(SessionExpired):
            await register_until_expired(zk)
    async with client.connect(recipe_hosts) as other:
        assert await ServiceRegistry(other, base).instances("web") == {}


async def test_keep_registered_registers_again_in_a_new_session_after_expiry(
    session_killer: SessionKiller, recipe_hosts: str, base: str, nursery: trio.Nursery
) -> None:
    sessions: list[client.Client] = []

    @asynccontextmanager
    async def connect() -> AsyncIterator[client.Client]:
        async with session_killer.connect() as zk:
            sessions.append(zk)
            yield zk

    me = await nursery.start(keep_registered, connect, base, "web", {"port": 1})
    async with client.connect(recipe_hosts) as observer:
        for expiry in range(2):
            expired = sessions[-1]
            async with observer.watch(me.path, WatchKind.EXISTS) as events:
                assert events.stat is not None
                assert events.stat.ephemeral_owner == expired.session_id
                await session_killer.expire(expired)
                async for _ in events:
                    stat = events.stat
                    if stat is not None and stat.ephemeral_owner != expired.session_id:
                        break
            assert len(sessions) == expiry + 2
            assert stat.ephemeral_owner == sessions[-1].session_id
            instances = await ServiceRegistry(observer, base).instances("web")
            assert instances == {me.instance.id: me.instance}  # the same instance id


async def test_allocated_names_are_unique_across_concurrent_clients(
    recipe_hosts: str, base: str
) -> None:
    names: list[str] = []

    async def allocate() -> None:
        async with client.connect(recipe_hosts) as zk:
            registry = ServiceRegistry(zk, base)
            names.extend([await registry.allocate_name("worker-") for _ in range(10)])

    async with trio.open_nursery() as nursery:
        for _ in range(8):
            nursery.start_soon(allocate)
    assert len(set(names)) == 80
    assert all(name.startswith("worker-") and name[7:].isdigit() for name in names)
    losses = LostReplies()
    async with client.connect(recipe_hosts, open_stream=losses.open_stream) as zk:
        losses.lose_reply(OpCode.CREATE)
        name = await ServiceRegistry(zk, base).allocate_name("worker-")
        assert losses.lost == 1
        assert name not in names
        assert await zk.children(f"{base}/__names__") == []  # each node deleted once read


async def test_kazoo_party_members_and_our_instances_see_each_other(
    recipe_hosts: str, base: str
) -> None:
    kz = KazooClient(hosts=recipe_hosts)
    await trio.to_thread.run_sync(kz.start)
    try:
        party = kz.Party(f"{base}/web", "kazoo-worker")
        await trio.to_thread.run_sync(party.join)
        async with client.connect(recipe_hosts) as zk:
            registry = ServiceRegistry(zk, base)
            async with registry.register("web", {"port": 80}, instance_id="ours"):
                members = await trio.to_thread.run_sync(lambda: sorted(party))
                assert members == sorted(["kazoo-worker", json.dumps({"port": 80})])
                instances = await registry.instances("web")
                assert instances["ours"].payload == {"port": 80}
                assert [i.payload for k, i in instances.items() if k != "ours"] == ["kazoo-worker"]
    finally:
        await trio.to_thread.run_sync(kz.stop)
        await trio.to_thread.run_sync(kz.close)


async def test_the_blocking_registry(recipe_hosts: str, base: str) -> None:
    def scenario() -> None:
        with blocking.connect(recipe_hosts) as zk, blocking.connect(recipe_hosts) as other:
            registry = blocking_recipes.ServiceRegistry(zk, base)
            with blocking_recipes.ServiceRegistry(other, base).watch("web") as changes:
                assert changes.next() == {}
                with registry.register("web", [1, 2], instance_id="b") as me:
                    assert me.instance.payload == [1, 2]
                    assert set(changes.next() or ()) == {"b"}
                    assert set(registry.instances("web")) == {"b"}
                assert changes.next() == {}
            assert registry.allocate_name("n") != registry.allocate_name("n")

    await trio.to_thread.run_sync(scenario)
