"""The same fixtures from a suite that uses zabkeeper's own client, async (pytest-trio) and
blocking.

The async tests carry ``pytest.mark.trio`` (pytest-trio), so they run whether or not the
project sets ``trio_mode = true`` in its pytest configuration.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
import trio

import client
from client import blocking
from client.states import State
from server.testing import EnsembleProcess


@pytest.mark.trio
async def test_create_and_get(zk_hosts: str) -> None:
    async with client.connect(zk_hosts) as zk:
        await zk.create("/ours/config", b"v1", makepath=True)
        data, stat = await zk.get("/ours/config")
        assert (data, stat.version) == (b"v1", 0)


@pytest.mark.trio
async def test_a_watch_sees_a_change(zk_hosts: str) -> None:
    async with client.connect(zk_hosts) as zk, client.connect(zk_hosts) as other:
        await zk.create("/ours/watched", b"old", makepath=True)
        async with zk.watch("/ours/watched", "data") as events:
            assert events.data == b"old"
            await other.set("/ours/watched", b"new")
            with trio.fail_after(10):
                event = await anext(events)
            assert (event.type, event.path) == (client.EventType.NODE_DATA_CHANGED, "/ours/watched")
        assert (await zk.get("/ours/watched"))[0] == b"new"


@pytest.mark.trio
async def test_an_expired_session_raises_session_expired(
    zk_hosts: str, zk_expire_session: Callable[[str, int, bytes], None]
) -> None:
    async with client.connect(zk_hosts) as zk:
        await zk.create("/ours/worker", ephemeral=True, makepath=True)
        # The helper blocks (it is the one kazoo suites use), so it runs in a thread here.
        await trio.to_thread.run_sync(
            zk_expire_session, zk_hosts, zk.session_id, zk.session_password
        )
        with trio.fail_after(10):
            async with zk.states() as states:
                async for state in states:
                    if state is State.EXPIRED:
                        break
        with pytest.raises(client.SessionExpired):
            await zk.get("/ours")
    async with client.connect(zk_hosts) as fresh:
        assert await fresh.exists("/ours/worker") is None


@pytest.mark.trio
async def test_our_client_fails_over_when_the_leader_dies(zk_ensemble: EnsembleProcess) -> None:
    async with client.connect(zk_ensemble.hosts) as zk:
        await zk.create("/ours-failover/before", b"x", makepath=True)
        leader = zk_ensemble.leader()
        assert leader is not None
        zk_ensemble.kill(leader)
        # The create may be cut in flight while the rest elect a new leader: a retry is
        # safe if it may find the node already there.
        with contextlib.suppress(client.NodeExists):
            await client.Retry(max_tries=20).call(zk.create, "/ours-failover/after", b"y")
        assert (await zk.get("/ours-failover/before"))[0] == b"x"
        assert (await zk.get("/ours-failover/after"))[0] == b"y"
        await zk_ensemble.restart_async(leader)  # waits without stalling the client
        await zk.sync()


def test_the_blocking_client(zk_hosts: str) -> None:
    with blocking.connect(zk_hosts) as zk:
        zk.create("/ours-blocking/job", b"queued", makepath=True)
        with zk.watch("/ours-blocking/job", "data") as events:
            zk.set("/ours-blocking/job", b"done")
            event = events.next_event(timeout=10)
        assert event is not None
        assert event.type is client.EventType.NODE_DATA_CHANGED
        assert zk.get("/ours-blocking/job")[0] == b"done"
