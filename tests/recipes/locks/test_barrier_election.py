"""Barrier, DoubleBarrier and LeaderElection."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import trio
import trio.testing
from contention import WAIT, connect, wait_for_children

from client import Client, State
from client.recipes import Barrier, DoubleBarrier, LeaderElection, LeadershipLost
from support.real_server import RealServer
from support.tcp_proxy import Proxy

MEMBER = re.compile(r"^[0-9a-f]{32}$")


async def test_barrier_holds_waiters_until_removed(recipe_server: RealServer, base: str) -> None:
    async with connect(recipe_server.hosts) as a, connect(recipe_server.hosts) as b:
        barrier = Barrier(a, f"{base}/gate")
        assert await barrier.wait(timeout=0.2)  # not up: nothing to wait for
        await barrier.set()
        await barrier.create()  # kazoo's name; already up is fine
        assert await barrier.wait(timeout=0.2) is False
        passed: list[str] = []

        async def wait(zk: Client, name: str) -> None:
            assert await Barrier(zk, f"{base}/gate").wait(timeout=WAIT)
            passed.append(name)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(wait, a, "a")
            nursery.start_soon(wait, b, "b")
            await trio.testing.wait_all_tasks_blocked()
            assert passed == []
            assert await barrier.remove() is True
        assert sorted(passed) == ["a", "b"]
        assert await barrier.remove() is False


async def test_double_barrier_enters_and_leaves_together(
    recipe_server: RealServer, base: str
) -> None:
    members = 4
    joining, leaving = [0], [0]
    events: list[str] = []

    async def member(i: int) -> None:
        async with connect(recipe_server.hosts) as zk:
            barrier = DoubleBarrier(zk, base, members, f"m{i}")
            joining[0] += 1
            async with barrier:
                assert joining[0] == members  # nobody gets in before everyone arrived
                assert barrier.participating
                events.append(f"in-{i}")
                for _ in range(i * 3):  # unequal amounts of work
                    await zk.exists(base)
                leaving[0] += 1
            assert leaving[0] == members  # nobody gets out before everyone finished
            events.append(f"out-{i}")

    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            for i in range(members):
                nursery.start_soon(member, i)
    assert len(events) == 2 * members
    assert all(e.startswith("in-") for e in events[:members])
    async with connect(recipe_server.hosts) as zk:
        assert await zk.children(base) == []


async def test_double_barrier_layout_timeout_and_failing_member(
    recipe_server: RealServer, base: str
) -> None:
    async with connect(recipe_server.hosts) as a, connect(recipe_server.hosts) as b:
        lone = DoubleBarrier(a, base, 2, "lone")
        assert await lone.enter(timeout=0.2) is False
        assert await a.children(base) == []  # its node went with the timeout
        first, second = DoubleBarrier(a, base, 2, "first"), DoubleBarrier(b, base, 2, "second")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(first.enter)
            await wait_for_children(b, base, lambda names: len(names) == 1)
            assert MEMBER.match((await b.children(base))[0])
            assert (await b.get(f"{base}/{first.node_name}"))[0] == b"first"
            await second.enter()
        assert "ready" in await a.children(base)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(first.leave)
            nursery.start_soon(second.leave)
        assert await a.children(base) == []

        # A member whose block fails leaves at once; the other one still leaves normally.
        async def failing_member() -> None:
            with pytest.raises(RuntimeError, match="work failed"):
                async with DoubleBarrier(b, base, 2, "failing"):
                    raise RuntimeError("work failed")

        async def good_member() -> None:
            async with DoubleBarrier(a, base, 2, "good") as barrier:
                assert barrier.participating
            assert not barrier.participating

        with trio.fail_after(WAIT):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(failing_member)
                nursery.start_soon(good_member)
        assert await a.children(base) == []


async def test_a_ready_node_made_again_by_a_late_create_is_removed_by_the_last_member_out(
    recipe_server: RealServer, base: str
) -> None:
    """A member's create of ``ready`` can land after another member, leaving, deleted it;
    the member that leaves last removes it, whether the other one failed or left."""
    for other_fails in (True, False):
        path = f"{base}/{other_fails}"
        async with connect(recipe_server.hosts) as a, connect(recipe_server.hosts) as b:
            first, second = DoubleBarrier(a, path, 2, "first"), DoubleBarrier(b, path, 2, "second")
            async with trio.open_nursery() as nursery:
                nursery.start_soon(first.enter)
                await second.enter()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(second.leave)
                await wait_for_children(a, path, lambda names: "ready" not in names)
                await a.create(f"{path}/ready")  # the late create
                if other_fails:
                    await first.__aexit__(RuntimeError, RuntimeError("work failed"), None)
                else:
                    await first.leave()
            assert await a.children(path) == []


async def test_the_elected_leader_runs_alone_and_is_observable(
    recipe_server: RealServer, base: str
) -> None:
    async with connect(recipe_server.hosts) as a, connect(recipe_server.hosts) as b:
        first, second = LeaderElection(a, base, "first"), LeaderElection(b, base, "second")
        assert await first.leader() is None
        release_first = trio.Event()
        seen: list[tuple[str, str | None]] = []

        async def lead(name: str, election: LeaderElection, until: trio.Event | None) -> str:
            seen.append((name, await election.leader()))
            assert election.is_leader
            assert election.fencing_token is not None
            if until is not None:
                await until.wait()
            return f"{name} done"

        async with trio.open_nursery() as nursery:

            async def run(name: str, election: LeaderElection, until: trio.Event | None) -> None:
                assert await election.run(lead, name, election, until) == f"{name} done"

            nursery.start_soon(run, "first", first, release_first)
            await wait_for_children(a, base, lambda names: len(names) == 1)
            nursery.start_soon(run, "second", second, None)
            await wait_for_children(a, base, lambda names: len(names) == 2)
            assert await second.contenders() == ["first", "second"]
            assert await second.leader() == "first"
            assert not second.is_leader
            release_first.set()
        assert seen == [("first", "first"), ("second", "second")]
        assert await first.leader() is None


async def test_an_error_of_the_leader_propagates_unwrapped(
    recipe_server: RealServer, base: str
) -> None:
    async def fail() -> None:
        raise KeyError("boom")

    async with connect(recipe_server.hosts) as zk:
        with pytest.raises(KeyError):
            await LeaderElection(zk, base).run(fail)
        assert await zk.children(base) == []


async def test_a_leader_whose_node_is_deleted_is_cancelled(
    recipe_server: RealServer, base: str
) -> None:
    async with connect(recipe_server.hosts) as a, connect(recipe_server.hosts) as b:
        election = LeaderElection(a, base, "doomed")
        cancelled = trio.Event()

        async def lead() -> None:
            try:
                await trio.sleep_forever()
            finally:
                cancelled.set()

        async def depose() -> None:
            await wait_for_children(b, base, lambda names: len(names) == 1)
            await b.delete(f"{base}/{(await b.children(base))[0]}")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(depose)
            with pytest.raises(LeadershipLost, match="deleted"), trio.fail_after(WAIT):
                await election.run(lead)
        assert cancelled.is_set()


@pytest.mark.parametrize("fault", ["expired", "suspended"])
async def test_a_leader_that_loses_its_session_is_cancelled(
    recipe_server: RealServer,
    base: str,
    fault: str,
    zk_expire_session: Callable[[str, int, bytes], None],
) -> None:
    """The leader reaches the server through a proxy, which is cut. "expired": its session
    is expired before it may reconnect. "suspended": it reconnects at once, but was
    created with ``suspended_is_lost``, so losing the connection is enough."""
    async with trio.open_nursery() as nursery:
        proxy = Proxy(recipe_server.port)
        await nursery.start(proxy.run)
        async with connect(proxy.hosts) as zk, connect(recipe_server.hosts) as other:
            election = LeaderElection(zk, base, "leader", suspended_is_lost=fault == "suspended")
            leading = trio.Event()

            async def lead() -> None:
                leading.set()
                await trio.sleep_forever()

            async def partition() -> None:
                await leading.wait()
                if fault == "expired":
                    proxy.up = False
                    proxy.cut()
                    password = zk.session_password
                    await trio.to_thread.run_sync(
                        zk_expire_session, recipe_server.hosts, zk.session_id, password
                    )
                    proxy.up = True
                else:
                    proxy.cut()

            async with trio.open_nursery() as inner:
                inner.start_soon(partition)
                with pytest.raises(LeadershipLost), trio.fail_after(WAIT):
                    await election.run(lead)
            assert not election.is_leader
            if fault == "suspended":
                assert zk.state is State.CONNECTED
            await wait_for_children(other, base, lambda names: names == [])
        nursery.cancel_scope.cancel()
