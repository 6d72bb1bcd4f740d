"""The trio shell without sockets: memory streams to a scripted ensemble, virtual time.

Every test runs on trio's ``MockClock`` (``autojump_clock``), so timeouts of seconds take
microseconds and times can be asserted exactly. The servers are
:class:`support.fake_zk.FakeEnsemble`: real wire bytes, steerable faults.
"""

from __future__ import annotations

import random
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
import trio
from trio.testing import MockClock

import client
from client import EventType, State, WatchEvent
from client.errors import AuthFailed, ConnectionLoss, SessionExpired
from support.fake_zk import FakeEnsemble
from znode.opcodes import OpCode


@pytest.fixture
async def ens(nursery: trio.Nursery) -> FakeEnsemble:
    return FakeEnsemble(nursery, grant_ms=3000)


def connect(ens: FakeEnsemble, **kwargs: Any) -> AbstractAsyncContextManager[client.Client]:
    kwargs.setdefault("session_timeout", 3.0)
    return client.connect(ens.hosts, open_stream=ens.open_stream, rng=random.Random(0), **kwargs)


def current(ens: FakeEnsemble, zk: client.Client) -> Any:
    assert zk.server is not None
    return ens.servers[zk.server.host]


def cut_off(ens: FakeEnsemble) -> None:
    """Every server refuses connections, and the current ones are dropped."""
    for server in ens.servers.values():
        server.up = False
        server.drop()


def restore(ens: FakeEnsemble) -> None:
    for server in ens.servers.values():
        server.up = True


async def collect_states(zk: client.Client, into: list[State]) -> None:
    into.extend([state async for state in zk.states()])


# --- handshake, calls, pipelining ------------------------------------------------------------


async def test_handshake_negotiates_the_timeout_and_calls_work(
    ens: FakeEnsemble, autojump_clock: MockClock
) -> None:
    async with connect(ens, session_timeout=10.0) as zk:
        assert zk.state is State.CONNECTED
        assert zk.session_timeout == 3.0  # what the server granted
        (request,) = current(ens, zk).connects
        assert (request.timeout, request.session_id, request.last_zxid_seen) == (10_000, 0, 0)
        assert await zk.create("/a", b"1") == "/a"
        data, stat = await zk.get("/a")
        assert (data, stat.czxid) == (b"1", zk.last_zxid)


async def test_concurrent_calls_are_pipelined_and_each_gets_its_own_reply(
    ens: FakeEnsemble, autojump_clock: MockClock
) -> None:
    for i in range(10):
        ens.create(f"/n{i}", str(i).encode())
    results: dict[int, bytes] = {}
    async with connect(ens) as zk:

        async def get(i: int) -> None:
            results[i] = (await zk.get(f"/n{i}"))[0]

        before = trio.current_time()
        async with trio.open_nursery() as nursery:
            for i in range(10):
                nursery.start_soon(get, i)
        assert trio.current_time() - before < 0.01  # one round trip, no timeout waited for
        assert results == {i: str(i).encode() for i in range(10)}
        assert len(current(ens, zk).ops(OpCode.GET_DATA)) == 10


async def test_connect_fails_with_connection_loss_when_no_server_answers(
    ens: FakeEnsemble, autojump_clock: MockClock
) -> None:
    for server in ens.servers.values():
        server.up = False
    start = trio.current_time()
    with pytest.raises(ConnectionLoss, match="within 5 s"):
        async with connect(ens, connect_timeout=5.0):
            pass
    assert trio.current_time() - start == pytest.approx(5.0)


# --- pings and timeouts ----------------------------------------------------------------------


async def test_pings_go_out_after_a_third_of_the_timeout_without_sending(
    ens: FakeEnsemble, autojump_clock: MockClock
) -> None:
    async with connect(ens) as zk:
        start = trio.current_time()
        await trio.sleep(2.5)
        await zk.exists("/a")  # sending postpones the next ping
        await trio.sleep(3.2)
        server = current(ens, zk)
        pings = [t - start for t, *_ in server.ops(OpCode.PING)]
        assert pings == pytest.approx([1.0, 2.0, 3.5, 4.5, 5.5])


async def test_a_silent_server_is_left_after_two_thirds_of_the_timeout(
    ens: FakeEnsemble, autojump_clock: MockClock
) -> None:
    states: list[tuple[State, float]] = []

    async def follow(zk: client.Client) -> None:
        async for state in zk.states():
            states.append((state, trio.current_time()))  # noqa: PERF401 - filled live

    async with connect(ens) as zk, trio.open_nursery() as nursery:
        nursery.start_soon(follow, zk)
        session, first = zk.session_id, current(ens, zk)
        await trio.sleep(0.5)
        first.silent = True
        silent_at = trio.current_time()
        await trio.sleep(3.0)
        assert current(ens, zk) is not first
        assert zk.session_id == session
        nursery.cancel_scope.cancel()
    assert [state for state, _ in states] == [State.CONNECTED, State.SUSPENDED, State.CONNECTED]
    # The last ping reply came 0.5 s before the silence; nothing heard for 2/3 T after it.
    assert states[1][1] - silent_at == pytest.approx(2.0 - 0.5)


# --- reconnecting ----------------------------------------------------------------------------


async def test_a_drop_fails_the_calls_in_flight_with_connection_loss(
    ens: FakeEnsemble, autojump_clock: MockClock
) -> None:
    async with connect(ens) as zk:
        ens.create("/a")
        current(ens, zk).silent = True  # the request is received but never answered
        with pytest.RaisesGroup(ConnectionLoss):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(zk.get, "/a")
                await trio.sleep(0.5)
                current(ens, zk).drop()
        assert (await zk.get("/a"))[0] == b""  # the session resumed elsewhere


async def test_calls_made_while_suspended_wait_for_the_resume(
    ens: FakeEnsemble, autojump_clock: MockClock
) -> None:
    ens.create("/a", b"x")
    async with connect(ens) as zk:
        session = zk.session_id
        cut_off(ens)
        await trio.sleep(0.1)
        assert zk.state is State.SUSPENDED
        start = trio.current_time()

        async def bring_back() -> None:
            await trio.sleep(1.5)
            restore(ens)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(bring_back)
            assert await zk.get("/a") == (b"x", ens.nodes["/a"].stat())
        assert 1.5 <= trio.current_time() - start <= 2.0
        assert zk.session_id == session
        resume = ens.servers[zk.server.host].connects[-1]  # type: ignore[union-attr]
        assert (resume.session_id, resume.passwd) == (session, ens.sessions[session].password)


async def test_calls_made_while_suspended_give_up_after_the_session_timeout(
    ens: FakeEnsemble, autojump_clock: MockClock
) -> None:
    async with connect(ens) as zk:
        cut_off(ens)
        await trio.sleep(0.1)
        start = trio.current_time()
        with pytest.raises(ConnectionLoss, match="not connected"):
            await zk.get("/a")
        assert trio.current_time() - start == pytest.approx(3.0)


async def test_resume_never_goes_back_to_a_server_behind_the_last_zxid_seen(
    ens: FakeEnsemble, autojump_clock: MockClock
) -> None:
    async with connect(ens) as zk:
        first = current(ens, zk)
        others = [s for s in ens.servers.values() if s is not first]
        for server in others:
            server.behind_at = ens.zxid  # they stop here
        await zk.create("/a")
        await zk.create("/b")
        seen = zk.last_zxid
        first.up = False
        first.drop()
        await trio.sleep(1.0)
        assert zk.state is State.SUSPENDED  # both refused: they are behind
        refused = [c for s in others for c in s.connects if c.session_id]
        assert refused
        assert all(c.last_zxid_seen == seen for c in refused)
        others[0].behind_at = None  # caught up
        with trio.fail_after(1.0):
            await zk.exists("/a")
        assert current(ens, zk) is others[0]


async def test_a_protocol_violation_drops_the_connection_and_the_session_resumes(
    ens: FakeEnsemble, autojump_clock: MockClock
) -> None:
    async with connect(ens) as zk:
        first = current(ens, zk)
        first.mangle_next_xid = True
        with pytest.raises(ConnectionLoss):
            await zk.exists("/a")
        assert await zk.exists("/a") is None
        assert zk.state is State.CONNECTED


async def test_identities_are_sent_again_on_every_new_connection(
    ens: FakeEnsemble, autojump_clock: MockClock
) -> None:
    async with connect(ens, auth=[("digest", "u:p")]) as zk:
        current(ens, zk).drop()
        await trio.sleep(0.1)
        await zk.exists("/a")
        auths = [r for s in ens.servers.values() for r in s.ops(OpCode.AUTH)]
        assert [(r[1], r[3].scheme, r[3].auth) for r in auths] == [(-4, "digest", b"u:p")] * 2


async def test_a_rejected_identity_raises_auth_failed_and_the_session_goes_on(
    ens: FakeEnsemble, autojump_clock: MockClock
) -> None:
    async with connect(ens) as zk:
        session = zk.session_id
        with pytest.raises(AuthFailed):
            await zk.add_auth("bad", "x")
        assert await zk.exists("/a") is None
        assert zk.session_id == session


# --- watches across reconnects ---------------------------------------------------------------


async def test_a_change_made_while_disconnected_is_replayed_by_set_watches2(
    ens: FakeEnsemble, autojump_clock: MockClock
) -> None:
    ens.create("/a", b"1")
    async with (
        connect(ens) as zk,
        zk.watch("/a", "data") as data,
        zk.watch("/b", "exists") as exists,
    ):
        seen = zk.last_zxid
        cut_off(ens)
        ens.set_data("/a", b"2")  # by another client, while we are away
        ens.create("/b")
        restore(ens)
        with trio.fail_after(1.0):
            assert await data.__anext__() == WatchEvent(EventType.NODE_DATA_CHANGED, "/a")
            assert await exists.__anext__() == WatchEvent(EventType.NODE_CREATED, "/b")
        assert data.data == b"2"
        assert exists.stat is not None
        (_, _, _, record) = current(ens, zk).ops(OpCode.SET_WATCHES2)[0]
        assert (record.relative_zxid, record.data_watches, record.exist_watches) == (
            seen,
            ("/a",),
            ("/b",),
        )


async def test_persistent_watches_say_none_after_a_resume(
    ens: FakeEnsemble, autojump_clock: MockClock
) -> None:
    async with connect(ens) as zk, zk.watch("/p", "persistent") as events:
        current(ens, zk).drop()
        with trio.fail_after(1.0):
            assert await events.__anext__() == WatchEvent(EventType.NONE, "/p")
        ens.create("/p")
        with trio.fail_after(1.0):
            assert await events.__anext__() == WatchEvent(EventType.NODE_CREATED, "/p")


async def test_an_event_is_queued_before_the_write_that_caused_it_returns(
    ens: FakeEnsemble, autojump_clock: MockClock
) -> None:
    async with connect(ens) as zk, zk.watch("/a", "exists") as events:
        assert events.queued == 0
        await zk.create("/a")
        assert events.queued == 1


async def test_one_shot_watches_re_arm_and_fill_in_what_happened_in_between(
    ens: FakeEnsemble, autojump_clock: MockClock
) -> None:
    ens.create("/e")
    async with connect(ens) as zk, zk.watch("/e", "exists") as events:
        await zk.delete("/e")
        ens.create("/e")  # not seen by the server's watch: it fired and was not re-armed yet
        assert await events.__anext__() == WatchEvent(EventType.NODE_DELETED, "/e")
        assert await events.__anext__() == WatchEvent(EventType.NODE_CREATED, "/e")
        assert events.queued == 0
        await zk.set("/e", b"x")  # re-armed: the next change is an event again
        assert await events.__anext__() == WatchEvent(EventType.NODE_DATA_CHANGED, "/e")


async def test_a_data_watch_ends_when_its_node_is_replaced(
    ens: FakeEnsemble, autojump_clock: MockClock
) -> None:
    ens.create("/d")
    async with connect(ens) as zk, zk.watch("/d", "data") as events:
        await zk.set("/d", b"1")
        ens.delete("/d")
        ens.create("/d")
        got = [event.type async for event in events]
        assert got == [EventType.NODE_DATA_CHANGED, EventType.NODE_DELETED]


# --- endings ---------------------------------------------------------------------------------


async def test_expiry_reported_by_the_server_ends_everything(
    ens: FakeEnsemble, autojump_clock: MockClock
) -> None:
    states: list[State] = []
    async with trio.open_nursery() as nursery, connect(ens) as zk:
        nursery.start_soon(collect_states, zk, states)
        async with zk.watch("/a", "exists") as events:
            await trio.sleep(0.1)
            session = zk.session_id
            current(ens, zk).drop()
            ens.expire(session)
            with pytest.raises(SessionExpired):
                async for _ in events:
                    pass
        assert zk.state is State.EXPIRED is State.LOST
        with pytest.raises(SessionExpired):
            await zk.get("/a")
        with pytest.raises(SessionExpired):
            async with zk.watch("/b", "exists"):
                pass
    assert states == [State.CONNECTED, State.SUSPENDED, State.EXPIRED, State.CLOSED]


async def test_no_server_for_longer_than_the_session_lives_expires_it_locally(
    ens: FakeEnsemble, autojump_clock: MockClock
) -> None:
    async with connect(ens) as zk:
        await trio.sleep(0.3)
        heard = trio.current_time()
        cut_off(ens)
        async with zk.states() as states:
            async for state in states:
                if state is State.EXPIRED:
                    break
        assert 4.0 <= trio.current_time() - heard <= 4.0 + 0.6  # 4/3 of 3 s, +pause


async def test_close_sends_close_session_and_ends_watches_quietly(
    ens: FakeEnsemble, autojump_clock: MockClock
) -> None:
    async with connect(ens) as zk:
        server = current(ens, zk)
        async with zk.watch("/a", "exists") as events:
            await zk.close()
            assert [e async for e in events] == []
        assert zk.state is State.CLOSED
        assert len(server.ops(OpCode.CLOSE_SESSION)) == 1
        assert ens.sessions[zk.session_id].dead
        with pytest.raises(ConnectionLoss, match="closed"):
            await zk.exists("/a")


async def test_the_state_stream_starts_with_the_current_state(
    ens: FakeEnsemble, autojump_clock: MockClock
) -> None:
    async with connect(ens) as zk:
        states = zk.states()
        async with states:
            assert await states.__anext__() is State.CONNECTED


async def test_retry_sends_a_call_again_after_connection_loss(
    ens: FakeEnsemble, autojump_clock: MockClock
) -> None:
    ens.create("/a", b"x")
    async with connect(ens) as zk:
        first = current(ens, zk)
        first.silent = True  # the first try is received, never answered, then dropped
        tries: list[str] = []

        async def get() -> tuple[bytes, client.Stat]:
            tries.append(zk.server.host if zk.server else "")
            return await zk.get("/a")

        assert (await client.Retry(max_tries=2).call(get))[0] == b"x"
        assert len(tries) == 2
        assert current(ens, zk) is not first
        first.silent = False
        current(ens, zk).silent = True
        current(ens, zk).up = False
        with pytest.raises(ConnectionLoss):
            await client.Retry(max_tries=1).call(get)
