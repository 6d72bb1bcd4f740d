"""The client against real servers: every test runs on Apache ZooKeeper 3.8 and on zabkeeper.

Waiting never sleeps: events are awaited with a deadline, and "nothing else happened" is
checked with :attr:`client.Watch.queued` right after a reply, since a server sends a
notification before any later reply on the same connection.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
import trio

import client
from client import ACL, EventType, Id, State, WatchEvent, digest_id
from client.errors import (
    BadArguments,
    BadVersion,
    NoAuth,
    NoChildrenForEphemerals,
    NodeExists,
    NoNode,
    NotEmpty,
    SessionExpired,
)
from client.transaction import CheckResult, CreateResult, DeleteResult, ErrorResult, SetResult
from support.real_server import RealServer
from support.tcp_proxy import Proxy

WAIT = 5.0
C, D, DC, CC = (
    EventType.NODE_CREATED,
    EventType.NODE_DELETED,
    EventType.NODE_DATA_CHANGED,
    EventType.NODE_CHILDREN_CHANGED,
)


def connect(hosts: str, **kwargs: Any) -> AbstractAsyncContextManager[client.Client]:
    kwargs.setdefault("session_timeout", 4.0)
    return client.connect(hosts, **kwargs)


async def next_event(events: client.Watch) -> WatchEvent:
    with trio.fail_after(WAIT):
        return await events.__anext__()


async def wait_for_state(zk: client.Client, wanted: State) -> None:
    with trio.fail_after(WAIT):
        async with zk.states() as states:
            async for state in states:
                if state is wanted:
                    return


# --- operations ------------------------------------------------------------------------------


async def test_create_get_set_exists_delete(real_server: RealServer, base: str) -> None:
    async with connect(real_server.hosts) as zk:
        assert await zk.create(base, b"v0") == base
        data, stat = await zk.get(base)
        assert (data, stat.version, stat.data_length) == (b"v0", 0, 2)
        assert stat.czxid == stat.mzxid <= zk.last_zxid
        stat = await zk.set(base, b"v1", version=0)
        assert stat.version == 1
        assert (await zk.exists(base)) == stat
        await zk.delete(base, version=1)
        assert await zk.exists(base) is None
        await zk.create(base)
        assert await zk.get(base) == (b"", await zk.exists(base))


async def test_failures_raise_the_class_of_their_error_code(
    real_server: RealServer, base: str
) -> None:
    async with connect(real_server.hosts) as zk:
        with pytest.raises(NoNode) as info:
            await zk.get(f"{base}/missing")
        assert info.value.path == f"{base}/missing"
        await zk.create(base)
        with pytest.raises(NodeExists):
            await zk.create(base)
        with pytest.raises(BadVersion):
            await zk.set(base, b"x", version=7)
        with pytest.raises(NoNode):
            await zk.create(f"{base}/a/b")
        await zk.create(f"{base}/e", ephemeral=True)
        with pytest.raises(NoChildrenForEphemerals):
            await zk.create(f"{base}/e/x")
        with pytest.raises(NotEmpty):
            await zk.delete(base)
        with pytest.raises(BadVersion):
            await zk.delete(f"{base}/e", version=3)
        with pytest.raises(BadArguments):
            await zk.get("no/slash")  # checked before sending, as ZooKeeper's clients do


async def test_create_modes(real_server: RealServer, base: str) -> None:
    async with connect(real_server.hosts) as zk:
        await zk.create(base)
        first = await zk.create(f"{base}/s-", sequential=True)
        second = await zk.create(f"{base}/s-", sequential=True, ephemeral=True)
        assert (first, second) == (f"{base}/s-0000000000", f"{base}/s-0000000001")
        assert await zk.create(f"{base}/", sequential=True) == f"{base}/0000000002"
        stat = await zk.exists(second)
        assert stat is not None
        assert stat.ephemeral_owner == zk.session_id
        await zk.create(f"{base}/container", container=True)
        await zk.create(f"{base}/ttl", ttl=60)
        for path in (f"{base}/container", f"{base}/ttl"):
            stat = await zk.exists(path)
            assert stat is not None
            assert stat.ephemeral_owner == 0
        assert await zk.ephemerals(base) == [second]


async def test_makepath_and_recursive_delete(real_server: RealServer, base: str) -> None:
    async with connect(real_server.hosts) as zk:
        assert await zk.create(f"{base}/a/b/c", b"deep", makepath=True) == f"{base}/a/b/c"
        await zk.create(f"{base}/a/b2")
        assert sorted(await zk.children(f"{base}/a")) == ["b", "b2"]
        names, stat = await zk.children(f"{base}/a", stat=True)
        assert (sorted(names), stat.num_children) == (["b", "b2"], 2)
        assert await zk.count_descendants(base) == 4
        await zk.delete(f"{base}/a", recursive=True)
        assert await zk.children(base) == []
        with pytest.raises(NoNode):
            await zk.delete(f"{base}/a", recursive=True)


async def test_acls_and_identities(real_server: RealServer, base: str) -> None:
    alice = ACL(31, Id("digest", digest_id("alice", "pw")))
    async with connect(real_server.hosts) as zk, connect(real_server.hosts) as anon:
        await zk.create(base, b"secret", acl=[alice])
        with pytest.raises(NoAuth):
            await anon.get(base)
        await zk.add_auth("digest", "alice:pw")
        assert await zk.get(base) == (b"secret", await zk.exists(base))
        assert ("digest", "alice") in [(i.auth_scheme, i.user) for i in await zk.whoami()]
        acl, stat = await zk.get_acl(base)
        assert (acl, stat.aversion) == ([alice], 0)
        with pytest.raises(BadVersion):
            await zk.set_acl(base, client.OPEN_ACL_UNSAFE, version=5)
        assert (await zk.set_acl(base, client.OPEN_ACL_UNSAFE, version=0)).aversion == 1
        assert (await anon.get(base))[0] == b"secret"
        await zk.sync(base)


async def test_transactions_commit_atomically(real_server: RealServer, base: str) -> None:
    async with connect(real_server.hosts) as zk:
        await zk.create(base, b"0")
        txn = zk.transaction()
        txn.check(base, 0).set(base, b"1").create(f"{base}/k-", sequential=True)
        txn.create(f"{base}/gone").delete(f"{base}/gone")
        results = await txn.commit()
        assert isinstance(results[1], SetResult)
        assert (results[1].stat.version, results[1].stat.num_children) == (1, 0)  # then
        assert results == [
            CheckResult(),
            results[1],
            CreateResult(f"{base}/k-0000000000"),
            CreateResult(f"{base}/gone"),
            DeleteResult(),
        ]
        failing = zk.transaction().create(f"{base}/new").check(base, 0).delete(f"{base}/x")
        with pytest.raises(BadVersion) as info:
            await failing.commit()
        assert info.value.path == base
        assert failing.results == [ErrorResult(0), ErrorResult(-103), ErrorResult(-2)]
        assert await zk.exists(f"{base}/new") is None
        async with zk.transaction() as txn:
            txn.set(base, b"2")
        assert (await zk.get(base))[0] == b"2"


async def test_a_chroot_is_invisible_to_its_client(real_server: RealServer, base: str) -> None:
    async with connect(real_server.hosts) as root:
        await root.create(base)
        async with connect(real_server.hosts + base) as zk:
            assert await zk.create("/x", b"1") == "/x"
            assert await zk.create("/s-", sequential=True, ephemeral=True) == "/s-0000000001"
            assert sorted(await zk.children("/")) == ["s-0000000001", "x"]
            assert await zk.ephemerals() == ["/s-0000000001"]
            txn = zk.transaction().create("/t-", sequential=True)
            assert await txn.commit() == [CreateResult("/t-0000000002")]
            async with zk.watch("/", "persistent_recursive") as events:
                await root.set(f"{base}/x", b"2")
                assert await next_event(events) == WatchEvent(DC, "/x")
        assert (await root.get(f"{base}/x"))[0] == b"2"


# --- watches ---------------------------------------------------------------------------------


async def test_a_data_watch_follows_one_node_until_it_is_deleted(
    real_server: RealServer, base: str
) -> None:
    async with connect(real_server.hosts) as zk:
        await zk.create(base, b"0")
        async with zk.watch(base, "data") as events:
            assert events.data == b"0"
            await zk.set(base, b"1")
            assert events.queued == 1  # queued before set() returned
            assert await next_event(events) == WatchEvent(DC, base)
            assert events.data == b"1"
            await zk.set(base, b"2")  # re-armed after the first event
            assert await next_event(events) == WatchEvent(DC, base)
            await zk.delete(base)
            assert [event async for event in events] == [WatchEvent(D, base)]
        with pytest.raises(NoNode):
            async with zk.watch(base, "data"):
                pass


async def test_an_exists_watch_follows_a_path(real_server: RealServer, base: str) -> None:
    async with connect(real_server.hosts) as zk, zk.watch(base, "exists") as events:
        assert events.stat is None
        await zk.create(base)
        await zk.set(base, b"x")
        await zk.delete(base)
        await zk.create(base)
        got = [await next_event(events) for _ in range(4)]
        assert [e.type for e in got] == [C, DC, D, C]
        assert events.stat is not None


async def test_a_children_watch(real_server: RealServer, base: str) -> None:
    async with connect(real_server.hosts) as zk:
        await zk.create(base)
        async with zk.watch(base, "children") as events:
            assert events.children == []
            await zk.create(f"{base}/a")
            assert await next_event(events) == WatchEvent(CC, base)
            assert events.children == ["a"]
            await zk.set(f"{base}/a", b"not a children change")
            await zk.delete(f"{base}/a")
            assert await next_event(events) == WatchEvent(CC, base)
            await zk.delete(base)
            assert [event async for event in events] == [WatchEvent(D, base)]


async def test_persistent_watches(real_server: RealServer, base: str) -> None:
    # Two clients: on ZooKeeper 3.8 one connection cannot hold both kinds on one path.
    async with (
        connect(real_server.hosts) as zk,
        connect(real_server.hosts) as other,
        zk.watch(base, "persistent") as node,
        other.watch(base, "persistent_recursive") as tree,
    ):
        await zk.create(base)
        await zk.create(f"{base}/x")
        await zk.set(f"{base}/x", b"1")
        await zk.set(base, b"1")
        await zk.delete(f"{base}/x")
        await zk.delete(base)
        assert node.queued == 5
        assert [await next_event(node) for _ in range(5)] == [
            WatchEvent(C, base),
            WatchEvent(CC, base),
            WatchEvent(DC, base),
            WatchEvent(CC, base),
            WatchEvent(D, base),
        ]
        await other.exists("/")  # its notifications come before this reply
        assert tree.queued == 6
        assert [await next_event(tree) for _ in range(6)] == [
            WatchEvent(C, base),
            WatchEvent(C, f"{base}/x"),
            WatchEvent(DC, f"{base}/x"),
            WatchEvent(DC, base),
            WatchEvent(D, f"{base}/x"),
            WatchEvent(D, base),
        ]


@pytest.mark.parametrize("persistent_first", [True, False])
async def test_a_one_shot_watch_does_not_downgrade_a_persistent_one_on_the_same_path(
    real_server: RealServer, base: str, persistent_first: bool
) -> None:
    """ZooKeeper 3.8 keeps one watch mode per path: the client must not ask for both."""
    async with connect(real_server.hosts) as zk:
        await zk.create(base)
        kinds = ["persistent", "data"] if persistent_first else ["data", "persistent"]
        async with zk.watch(base, kinds[0]) as first:
            watches = {kinds[0]: first}
            async with zk.watch(base, kinds[1]) as second:
                watches[kinds[1]] = second
                for value in (b"1", b"2"):
                    await zk.set(base, value)
                    for events in watches.values():
                        assert await next_event(events) == WatchEvent(DC, base)
            persistent = watches["persistent"]
            if persistent is first:
                await zk.set(base, b"3")
                assert await next_event(persistent) == WatchEvent(DC, base)


# --- connection loss, resume, expiry ---------------------------------------------------------


async def test_a_session_resumes_and_replays_what_changed_while_cut_off(
    real_server: RealServer, base: str, nursery: trio.Nursery
) -> None:
    proxy = Proxy(real_server.port)
    await nursery.start(proxy.run)
    async with connect(real_server.hosts) as other, connect(proxy.hosts) as zk:
        await zk.create(base, b"0")
        ephemeral = await zk.create(f"{base}/e", ephemeral=True)
        async with (
            zk.watch(base, "data") as data,
            zk.watch(f"{base}/new", "exists") as created,
            zk.watch(base, "persistent_recursive") as tree,
        ):
            session = zk.session_id
            proxy.up = False
            proxy.cut()
            await wait_for_state(zk, State.SUSPENDED)
            await other.set(base, b"1")
            await other.create(f"{base}/new")
            proxy.up = True
            assert await next_event(data) == WatchEvent(DC, base)
            assert data.data == b"1"
            assert await next_event(created) == WatchEvent(C, f"{base}/new")
            # persistent watches are re-armed without catch-up: they say so
            assert await next_event(tree) == WatchEvent(EventType.NONE, base)
            assert zk.session_id == session
            assert await zk.exists(ephemeral) is not None


async def test_expiry_ends_watches_and_the_ephemeral_nodes_go(
    real_server: RealServer, base: str, nursery: trio.Nursery
) -> None:
    proxy = Proxy(real_server.port)
    await nursery.start(proxy.run)
    async with connect(real_server.hosts) as other:
        await other.create(base)
        async with connect(proxy.hosts, session_timeout=0.8) as zk:
            ephemeral = await zk.create(f"{base}/e", ephemeral=True)
            async with (
                zk.watch(base, "children") as events,
                other.watch(ephemeral, "exists") as gone,
            ):
                proxy.up = False
                proxy.cut()
                await wait_for_state(zk, State.EXPIRED)
                with pytest.raises(SessionExpired):
                    await next_event(events)
                assert await next_event(gone) == WatchEvent(D, ephemeral)
            with pytest.raises(SessionExpired):
                await zk.exists(base)


async def test_close_removes_the_ephemeral_nodes_at_once(
    real_server: RealServer, base: str
) -> None:
    async with connect(real_server.hosts) as other:
        await other.create(base)
        async with connect(real_server.hosts) as zk:
            ephemeral = await zk.create(f"{base}/e", ephemeral=True)
        assert zk.state is State.CLOSED
        assert await other.exists(ephemeral) is None
