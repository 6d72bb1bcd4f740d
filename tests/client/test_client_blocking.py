"""The blocking facade: the same client from plain (non-async) code, on both servers."""

from __future__ import annotations

import threading

import pytest

from client import EventType, State, WatchEvent, blocking
from client.errors import BadVersion, ConnectionLoss, NoNode
from client.transaction import CreateResult, SetResult
from support.apache_zk import free_port
from support.real_server import RealServer


def test_the_blocking_client_does_what_the_async_one_does(
    real_server: RealServer, base: str
) -> None:
    with blocking.connect(real_server.hosts, session_timeout=4.0) as zk:
        assert zk.state is State.CONNECTED
        assert zk.create(f"{base}/a/b", b"1", makepath=True) == f"{base}/a/b"
        data, stat = zk.get(f"{base}/a/b")
        assert (data, stat.version) == (b"1", 0)
        assert zk.set(f"{base}/a/b", b"2").version == 1
        names, parent = zk.children(f"{base}/a", stat=True)
        assert (names, parent.num_children) == (["b"], 1)
        with pytest.raises(NoNode):
            zk.get(f"{base}/missing")
        results = zk.transaction().create(f"{base}/t").set(f"{base}/t", b"x").commit()
        assert isinstance(results[0], CreateResult)
        assert isinstance(results[1], SetResult)
        failing = zk.transaction().check(f"{base}/t", 0)
        with pytest.raises(BadVersion):
            failing.commit()
        assert zk.exists(f"{base}/nothing") is None
        assert zk.count_descendants(base) == 3
        zk.delete(base, recursive=True)
        assert zk.exists(base) is None


def test_blocking_watches_and_states(real_server: RealServer, base: str) -> None:
    with blocking.connect(real_server.hosts, session_timeout=4.0) as zk:
        states = zk.states()
        assert next(states) is State.CONNECTED
        zk.create(base, b"0")
        with zk.watch(base, "data") as events:
            assert events.data == b"0"
            assert events.next_event(timeout=0.05) is None
            zk.set(base, b"1")
            assert events.next_event(timeout=5) == WatchEvent(EventType.NODE_DATA_CHANGED, base)
            assert events.data == b"1"
            zk.delete(base)
            assert list(events) == [WatchEvent(EventType.NODE_DELETED, base)]
        zk.close()
        assert list(states) == [State.CLOSED]
        zk.close()  # idempotent


def test_calls_may_come_from_several_threads(real_server: RealServer, base: str) -> None:
    with blocking.connect(real_server.hosts, session_timeout=4.0) as zk:
        zk.create(base)
        errors: list[BaseException] = []

        def work(i: int) -> None:
            try:
                for j in range(5):
                    zk.create(f"{base}/{i}-{j}")
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(zk.children(base)) == 20


def test_a_failed_connect_raises_in_the_caller_and_leaves_no_thread() -> None:
    before = threading.active_count()
    with pytest.raises(ConnectionLoss):
        blocking.connect(f"127.0.0.1:{free_port()}", connect_timeout=0.3)
    assert threading.active_count() == before
