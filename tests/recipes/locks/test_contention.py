"""Every exclusive recipe under contention: eight clients, separate sessions, each making
read-then-write increments of one znode counter while holding the recipe. Then the same
with one holder's session expired between its read and its write, and with the server a
holder is connected to killed at that moment (a 3-server ensemble).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import trio
from contention import RECIPES, Fault, run_contention

from client import Address, Client
from server.testing import EnsembleProcess
from support.real_server import RealServer
from support.tcp_proxy import Proxy

WORKERS = 8
ROUNDS = 6


@pytest.mark.parametrize("recipe", RECIPES)
async def test_contending_clients_lose_no_increment(
    recipe_server: RealServer, base: str, recipe: str
) -> None:
    counter = await run_contention(
        recipe_server.hosts, base, RECIPES[recipe], workers=WORKERS, rounds=ROUNDS
    )
    assert counter.max_holders == 1  # never two holders at once
    assert sorted(counter.written) == list(range(1, WORKERS * ROUNDS + 1))
    assert counter.maybe == []


@pytest.mark.parametrize("recipe", RECIPES)
async def test_a_holder_whose_session_expires_mid_way_loses_nothing(
    recipe_server: RealServer,
    base: str,
    recipe: str,
    zk_expire_session: Callable[[str, int, bytes], None],
) -> None:
    """Worker 0 reaches the server through a proxy. Between its read and its write it is
    cut off and its session is expired (the classic partitioned holder); it comes back
    only then, so its client cannot resume the session before the expiry lands."""
    expired: list[int] = []
    async with trio.open_nursery() as nursery:
        proxy = Proxy(recipe_server.port)
        await nursery.start(proxy.run)

        async def partition_and_expire_the_holder(zk: Client, worker: int, round_: int) -> None:
            if worker == 0 and round_ == 2 and not expired:
                expired.append(zk.session_id)
                proxy.up = False
                proxy.cut()
                await trio.to_thread.run_sync(
                    zk_expire_session, recipe_server.hosts, zk.session_id, zk.session_password
                )
                proxy.up = True

        counter = await run_contention(
            recipe_server.hosts,
            base,
            RECIPES[recipe],
            workers=WORKERS,
            rounds=ROUNDS,
            fault=partition_and_expire_the_holder,
            hosts_of=lambda i: proxy.hosts if i == 0 else recipe_server.hosts,
        )
        nursery.cancel_scope.cancel()
    assert len(expired) == 1
    # The expired holder's write was refused: its value is the one unknown outcome, and
    # the others went on from the value before it.
    assert len(counter.maybe) == 1
    assert len(counter.written) == WORKERS * ROUNDS - 1
    assert sorted(counter.written) == list(range(1, WORKERS * ROUNDS))


@pytest.mark.parametrize("recipe", RECIPES)
async def test_killing_a_holders_server_loses_nothing(
    zk_ensemble: EnsembleProcess, base: str, recipe: str
) -> None:
    killed: list[int] = []

    def sid_of(address: Address | None) -> int:
        assert address is not None
        return next(m.sid for m in zk_ensemble.members if m.client_port == address.port)

    async def kill_the_holders_server(zk: Client, worker: int, round_: int) -> None:
        if worker == 0 and round_ == 2 and not killed:
            killed.append(sid_of(zk.server))
            await trio.to_thread.run_sync(zk_ensemble.kill, killed[0])

    fault: Fault = kill_the_holders_server
    try:
        counter = await run_contention(
            zk_ensemble.hosts, base, RECIPES[recipe], workers=WORKERS, rounds=ROUNDS, fault=fault
        )
    finally:
        for sid in killed:
            await trio.to_thread.run_sync(zk_ensemble.restart, sid)
    assert len(killed) == 1
    # Sessions outlive the server: the holder resumed elsewhere and finished its write.
    # (Had a session expired, run_contention's check would still hold.)
    assert len(counter.written) + len(counter.maybe) >= WORKERS * ROUNDS
