"""server.testing: the async forms of the process helpers, the in-run servers, and
ending a session from outside (blocking and async)."""

from __future__ import annotations

import os
import time

import pytest
import trio

import client
from client import blocking
from client.states import State
from server.testing import (
    EnsembleProcess,
    ServerProcess,
    expire_session,
    expire_session_async,
    free_ports,
    running_ensemble,
    running_server,
)


async def _wait_for(zk: client.Client, wanted: State) -> None:
    with trio.fail_after(15):
        async with zk.states() as states:
            async for state in states:
                if state is wanted:
                    return


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.slow
async def test_an_ensemble_in_async_with_kills_and_restarts_without_blocking_the_loop() -> None:
    async with EnsembleProcess(3) as ensemble:
        pids = [m.process.pid for m in ensemble.members if m.process is not None]
        assert len(pids) == 3
        async with client.connect(ensemble.hosts) as zk:
            await zk.create("/a", b"1")
            leader = ensemble.leader()
            assert leader is not None
            ensemble.kill(leader)
            assert ensemble.mode(leader) == "down"
            await client.Retry(max_tries=20).call(zk.set, "/a", b"2")

            # The loop keeps running while the restart waits: a task ticks meanwhile.
            ticks = 0

            async def tick() -> None:
                nonlocal ticks
                while True:
                    ticks += 1
                    await trio.sleep(0.01)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(tick)
                await ensemble.restart_async(leader)
                nursery.cancel_scope.cancel()
            assert ticks > 1
            assert ensemble.mode(leader) in ("leader", "follower")

            await ensemble.stop_server_async(leader)
            assert await ensemble.revive_async() == [leader]
            assert (await client.retrying(zk.get, "/a"))[0] == b"2"
        root = ensemble.root
    assert not root.exists()
    assert all(_gone(pid) for pid in pids)
    assert all(m.process is None for m in ensemble.members)


async def test_a_cancelled_async_with_still_stops_and_removes_everything() -> None:
    ensemble = ServerProcess()
    with trio.move_on_after(30) as scope:
        async with ensemble:
            pid = ensemble.members[0].process.pid  # type: ignore[union-attr]
            scope.cancel()
            await trio.sleep_forever()
    assert scope.cancelled_caught
    assert not ensemble.root.exists()
    assert _gone(pid)


async def test_expire_session_async_expires_our_client() -> None:
    async with ServerProcess() as server, client.connect(server.hosts) as zk:
        await zk.create("/mine", ephemeral=True)
        await expire_session_async(server.hosts, zk.session_id, zk.session_password)
        await _wait_for(zk, State.EXPIRED)
        with pytest.raises(client.SessionExpired):
            await zk.get("/")
        async with client.connect(server.hosts) as other:
            assert await other.exists("/mine") is None


def test_expire_session_skips_servers_that_are_down() -> None:
    (dead,) = free_ports(1)
    with ServerProcess() as server, blocking.connect(server.hosts) as zk:
        zk.create("/mine", ephemeral=True)
        expire_session(f"127.0.0.1:{dead},{server.hosts}", zk.session_id, zk.session_password)
        deadline = time.monotonic() + 15
        while zk.state is not State.EXPIRED and time.monotonic() < deadline:
            time.sleep(0.05)
        assert zk.state is State.EXPIRED
        with pytest.raises(client.SessionExpired):
            zk.get("/")


def test_expire_session_gives_up_after_its_timeout() -> None:
    (dead,) = free_ports(1)
    with pytest.raises(TimeoutError):
        expire_session(f"127.0.0.1:{dead}", 1, bytes(16), timeout=0.5)


async def test_running_server_serves_inside_the_trio_run() -> None:
    async with running_server() as hosts, client.connect(hosts) as zk:
        await zk.create("/in-run", b"x")
        assert (await zk.get("/in-run"))[0] == b"x"
        await expire_session_async(hosts, zk.session_id, zk.session_password)
        await _wait_for(zk, State.EXPIRED)


@pytest.mark.slow
async def test_running_ensemble_serves_inside_the_trio_run() -> None:
    async with running_ensemble(3) as hosts:
        assert len(hosts.split(",")) == 3
        async with client.connect(hosts) as zk:
            await zk.create("/in-run", b"x")
            await zk.sync()
            assert (await zk.get("/in-run"))[0] == b"x"
