"""The recipes from blocking code, over :func:`client.blocking.connect`.

Each worker is plain blocking code run in its own thread (``trio.to_thread``, so the test
still owns every thread it starts); each worker has its own client and session.
"""

from __future__ import annotations

import threading

import trio
from contention import SESSION_TIMEOUT, WAIT

from client import blocking
from client.recipes import blocking as recipes
from support.real_server import RealServer

WORKERS = 8
ROUNDS = 5


async def test_blocking_lock_contention_loses_no_increment(
    recipe_server: RealServer, base: str
) -> None:
    hosts = recipe_server.hosts
    bookkeeping = threading.Lock()
    inside, most_inside, written = [0], [0], []

    def worker(i: int) -> None:
        with blocking.connect(hosts, session_timeout=SESSION_TIMEOUT) as zk:
            lock = recipes.Lock(zk, f"{base}/lock", f"w{i}")
            tokens = []
            for _ in range(ROUNDS):
                with lock:
                    with bookkeeping:
                        inside[0] += 1
                        most_inside[0] = max(most_inside[0], inside[0])
                    value = int(zk.get(f"{base}/counter")[0]) + 1
                    zk.set(f"{base}/counter", str(value).encode())
                    assert lock.fencing_token is not None
                    tokens.append(lock.fencing_token)
                    with bookkeeping:
                        written.append(value)
                        inside[0] -= 1
            assert tokens == sorted(set(tokens))

    def setup() -> None:
        with blocking.connect(hosts, session_timeout=SESSION_TIMEOUT) as zk:
            zk.create(f"{base}/counter", b"0", makepath=True)

    def final() -> tuple[bytes, list[str]]:
        with blocking.connect(hosts, session_timeout=SESSION_TIMEOUT) as zk:
            return zk.get(f"{base}/counter")[0], zk.children(f"{base}/lock")

    await trio.to_thread.run_sync(setup)
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            for i in range(WORKERS):
                nursery.start_soon(trio.to_thread.run_sync, worker, i)
    assert most_inside[0] == 1
    assert sorted(written) == list(range(1, WORKERS * ROUNDS + 1))
    assert await trio.to_thread.run_sync(final) == (str(WORKERS * ROUNDS).encode(), [])


def test_every_recipe_has_a_blocking_twin(recipe_server: RealServer, base: str) -> None:
    hosts = recipe_server.hosts
    with (
        blocking.connect(hosts, session_timeout=SESSION_TIMEOUT) as a,
        blocking.connect(hosts, session_timeout=SESSION_TIMEOUT) as b,
    ):
        lock = recipes.Lock(a, f"{base}/lock", "a")
        assert lock.acquire(timeout=WAIT)
        assert lock.contenders() == ["a"]
        assert recipes.Lock(b, f"{base}/lock").acquire(timeout=0.2) is False
        assert lock.release()

        rw = recipes.ReadWriteLock(a, f"{base}/rw", "a")
        with rw.read_lock:
            assert recipes.ReadWriteLock(b, f"{base}/rw").read_lock.acquire(timeout=WAIT)
            assert rw.contenders() == ["a", ""]
            assert recipes.ReadWriteLock(b, f"{base}/rw").write_lock.acquire(timeout=0.2) is False

        semaphore = recipes.Semaphore(a, f"{base}/sem", 1, "a")
        with semaphore:
            assert semaphore.is_acquired
            assert semaphore.lease_holders() == ["a"]
            assert recipes.Semaphore(b, f"{base}/sem", 1).acquire(blocking=False) is False
        assert not semaphore.is_acquired

        barrier = recipes.Barrier(a, f"{base}/gate")
        barrier.set()
        assert recipes.Barrier(b, f"{base}/gate").wait(timeout=0.2) is False
        assert barrier.remove()
        assert recipes.Barrier(b, f"{base}/gate").wait(timeout=WAIT)

        alone = recipes.DoubleBarrier(a, f"{base}/double", 1, "a")
        with alone:
            assert a.children(f"{base}/double") != []
        assert a.children(f"{base}/double") == []

        election = recipes.LeaderElection(a, f"{base}/election", "a")
        assert election.run(election.leader) == "a"
        assert election.contenders() == []
        assert election.fencing_token is not None
