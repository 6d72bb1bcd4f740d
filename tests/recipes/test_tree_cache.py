"""TreeCache: an exact mirror of a churning subtree, across reconnects, restarts and failover.

"Exact" means: for every node under the root, the cache has the same data, the same Stat
(versions, zxids, child counts) and the same children as a full read of the server.
"""

from __future__ import annotations

import random

import pytest
import trio

import client
from client import blocking
from client.errors import NodeExists, NoNode, NotEmpty, SessionExpired
from client.recipes import TreeCache, TreeEvent, TreeEventType
from client.recipes import blocking_data as blocking_recipes
from server.testing import EnsembleProcess, ServerProcess
from support.expiry import SessionKiller
from support.tcp_proxy import Proxy
from znode.stat import Stat

Snapshot = dict[str, tuple[bytes, Stat, list[str]]]


async def full_read(zk: client.Client, root: str) -> Snapshot:
    """Every node under ``root``, read from the server."""
    found: Snapshot = {}

    async def visit(path: str) -> None:
        try:
            data, stat = await zk.get(path)
            names = sorted(await zk.children(path))
        except NoNode:
            return
        found[path] = (data, stat, names)
        for name in names:
            await visit(f"{path.rstrip('/')}/{name}")

    await visit(root)
    return found


def cached(cache: TreeCache, root: str) -> Snapshot:
    """Every node the cache has, walked from ``root``."""
    found: Snapshot = {}

    def visit(path: str) -> None:
        node = cache.get(path)
        names = cache.children(path)
        if node is None or names is None:
            return
        found[path] = (node[0], node[1], names)
        for name in names:
            visit(f"{path.rstrip('/')}/{name}")

    visit(root)
    assert len(found) == len(cache)  # nothing cached outside the walk
    return found


class Churn:
    """Random creates, sets and deletes under ``root`` from one writer (seeded)."""

    def __init__(self, zk: client.Client, root: str, seed: int) -> None:
        self.zk = zk
        self.root = root
        self.rng = random.Random(seed)
        self.count = 0

    async def run(self, steps: int) -> None:
        for _ in range(steps):
            await self.step()

    async def step(self) -> None:
        tree = await full_read(self.zk, self.root)
        paths = sorted(tree)
        action = self.rng.random()
        target = self.rng.choice(paths) if paths else self.root
        self.count += 1
        try:
            if not paths:
                await self.zk.create(self.root, b"root")
            elif action < 0.45 and target.count("/") - self.root.count("/") < 3:
                await self.zk.create(f"{target}/n{self.count}", b"%d" % self.count)
            elif action < 0.75:
                await self.zk.set(target, self.rng.randbytes(self.rng.randrange(8)))
            elif target != self.root or self.rng.random() < 0.05:
                await self.zk.delete(target, recursive=True)
            else:
                await self.zk.create(f"{target}/n{self.count}", b"")
        except (NoNode, NodeExists, NotEmpty):
            pass


async def assert_mirrors(cache: TreeCache, zk: client.Client, root: str) -> None:
    await cache.wait_synced()
    assert cached(cache, root) == await full_read(zk, root)


async def test_the_cache_mirrors_random_churn_exactly(recipe_hosts: str, base: str) -> None:
    async with client.connect(recipe_hosts) as writer, client.connect(recipe_hosts) as zk:
        churn = Churn(writer, base, seed=7)
        await churn.run(20)
        async with TreeCache(zk, base) as cache:
            await assert_mirrors(cache, writer, base)
            for _ in range(8):
                await churn.run(25)
                await assert_mirrors(cache, writer, base)
            # churn while the cache is busy catching up, then check once
            async with trio.open_nursery() as nursery:
                nursery.start_soon(churn.run, 100)
                nursery.start_soon(cache.wait_synced)
            await assert_mirrors(cache, writer, base)


async def test_a_missing_root_is_an_empty_cache_until_it_is_created(
    recipe_hosts: str, base: str
) -> None:
    async with client.connect(recipe_hosts) as zk, TreeCache(zk, f"{base}/r") as cache:
        await cache.wait_synced()
        assert len(cache) == 0
        assert cache.get(f"{base}/r") is None
        assert cache.children(f"{base}/r") is None
        await zk.create(f"{base}/r/a", b"x", makepath=True)
        await assert_mirrors(cache, zk, f"{base}/r")
        assert cache.children(f"{base}/r") == ["a"]
        with pytest.raises(ValueError, match="outside"):
            cache.get(base)


async def test_the_events_say_what_changed_in_the_cache(recipe_hosts: str, base: str) -> None:
    async with client.connect(recipe_hosts) as zk:
        await zk.create(base)
        async with TreeCache(zk, base) as cache, cache.events() as events:
            await cache.wait_synced()
            assert events.queued == 1  # the root, added by the first read
            # (changes the cache has not read yet are folded into one read)
            await zk.create(f"{base}/a", b"1")
            await cache.wait_synced()
            await zk.set(f"{base}/a", b"2")
            await cache.wait_synced()
            await zk.delete(f"{base}/a")
            await cache.wait_synced()
            got = [await events.__anext__() for _ in range(events.queued)]
        a, root = f"{base}/a", base
        assert [e for e in got if e.path == a] == [
            TreeEvent(TreeEventType.ADDED, a),
            TreeEvent(TreeEventType.UPDATED, a),
            TreeEvent(TreeEventType.REMOVED, a),
        ]
        assert {e for e in got if e.path == root} <= {
            TreeEvent(TreeEventType.ADDED, root),
            TreeEvent(TreeEventType.UPDATED, root),  # its Stat: cversion, numChildren, pzxid
        }


async def test_changes_made_while_disconnected_are_caught_up(
    zk_server: ServerProcess, base: str, nursery: trio.Nursery
) -> None:
    proxy = Proxy(zk_server.port)
    await nursery.start(proxy.run)
    async with (
        client.connect(zk_server.hosts) as writer,
        client.connect(proxy.hosts, session_timeout=4) as zk,
        TreeCache(zk, base) as cache,
    ):
        churn = Churn(writer, base, seed=11)
        await churn.run(30)
        await assert_mirrors(cache, writer, base)
        for _ in range(3):
            proxy.up = False
            proxy.cut()
            await churn.run(15)  # unseen: the cache's connection is down
            proxy.up = True
            await assert_mirrors(cache, writer, base)


async def test_the_cache_converges_after_the_server_restarts(base: str) -> None:
    with ServerProcess(tick_time=500) as server:
        async with (
            client.connect(server.hosts, session_timeout=10) as writer,
            client.connect(server.hosts, session_timeout=10) as zk,
            TreeCache(zk, base) as cache,
        ):
            churn = Churn(writer, base, seed=3)
            await churn.run(30)
            await assert_mirrors(cache, writer, base)
            for _ in range(2):
                await trio.to_thread.run_sync(server.stop_server, 1)
                await trio.to_thread.run_sync(server.restart, 1)
                await churn.run(20)
                await assert_mirrors(cache, writer, base)


async def test_the_cache_converges_after_its_ensemble_member_is_killed(
    zk_ensemble: EnsembleProcess, base: str
) -> None:
    async with (
        client.connect(zk_ensemble.hosts) as writer,
        client.connect(zk_ensemble.hosts) as zk,
        TreeCache(zk, base) as cache,
    ):
        churn = Churn(writer, base, seed=5)
        await churn.run(30)
        await assert_mirrors(cache, writer, base)
        assert zk.server is not None
        member = next(m.sid for m in zk_ensemble.members if m.client_port == zk.server.port)
        try:
            await trio.to_thread.run_sync(zk_ensemble.kill, member)
            await churn.run(30)
            await assert_mirrors(cache, writer, base)
            assert zk.server is not None
            assert zk.server.port != zk_ensemble.members[member - 1].client_port
        finally:
            await trio.to_thread.run_sync(zk_ensemble.restart, member)


async def test_an_expired_session_ends_the_cache_with_session_expired(
    session_killer: SessionKiller, base: str
) -> None:
    async def cache_until_expired(zk: client.Client) -> None:
        async with TreeCache(zk, base) as cache:
            await cache.wait_synced()
            await session_killer.expire(zk)
            await trio.sleep_forever()  # ended by the cache's failure

    async with session_killer.connect() as zk:
        with pytest.raises(SessionExpired):
            await cache_until_expired(zk)


async def test_the_blocking_tree_cache(recipe_hosts: str, base: str) -> None:
    def scenario() -> None:
        with blocking.connect(recipe_hosts) as zk:
            zk.create(f"{base}/a", b"1", makepath=True)
            with blocking_recipes.TreeCache(zk, base) as cache:
                cache.wait_synced()
                assert cache.children(base) == ["a"]
                zk.set(f"{base}/a", b"2")
                cache.wait_synced()
                node = cache.get(f"{base}/a")
                assert node is not None
                assert node[0] == b"2"

    await trio.to_thread.run_sync(scenario)
