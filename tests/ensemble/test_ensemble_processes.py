"""Real ensembles of ``zabkeeper server`` processes, each started from its own zoo.cfg.

Every test starts from a healthy ensemble (all members up, one leader, all at one zxid)
and leaves it healthy; the ensembles are module-scoped, so a test that crashes members
restarts them before it ends (and the ``healthy`` fixture repairs what a failed test
left behind). Nothing sleeps a fixed time: every wait polls ``srvr``, the logs or the
data with a deadline.
"""

from __future__ import annotations

import contextlib
import re
import struct
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import ConnectionLoss, KazooException, NodeExistsError
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.protocol import serialization as ks
from kazoo.protocol.states import EventType, WatchedEvent
from kazoo.recipe.watchers import ChildrenWatch, DataWatch
from kazoo.retry import KazooRetry

from support.ensemble_proc import ZabkeeperEnsemble

# --- fixtures and helpers ----------------------------------------------------------------

TICK_MS = 1000
# Snapshots every 50-100 txns (and purges beyond three of them), so a leader soon no
# longer has the log from the start and must SNAP a learner with an empty dataDir.
SNAP_COUNT = 100


@pytest.fixture(scope="module")
def cluster() -> Iterator[ZabkeeperEnsemble]:
    """Three voters."""
    with ZabkeeperEnsemble(3, tick_time=TICK_MS, extra_config={"snapCount": str(SNAP_COUNT)}) as e:
        yield e


@pytest.fixture(scope="module")
def observed() -> Iterator[ZabkeeperEnsemble]:
    """Three voters and one observer (server 4)."""
    with ZabkeeperEnsemble(3, observers=1, tick_time=TICK_MS) as e:
        yield e


def _heal(ensemble: ZabkeeperEnsemble) -> None:
    for sid in ensemble.ids:
        if not ensemble.members[sid].running:
            ensemble.start_member(sid)
    ensemble.wait_for_quorum(timeout=60)


@pytest.fixture
def healthy(cluster: ZabkeeperEnsemble) -> ZabkeeperEnsemble:
    """The three-voter ensemble with every member up and in sync."""
    _heal(cluster)
    return cluster


@pytest.fixture
def healthy_observed(observed: ZabkeeperEnsemble) -> ZabkeeperEnsemble:
    _heal(observed)
    return observed


def fast_retry() -> KazooRetry:
    """Reconnect quickly: a member that is down or electing is skipped within a second."""
    return KazooRetry(max_tries=-1, delay=0.05, backoff=1.5, max_delay=1.0, max_jitter=0.1)


@contextlib.contextmanager
def client(hosts: str, *, timeout: float = 10.0) -> Iterator[KazooClient]:
    """A started kazoo client that tries ``hosts`` in the order given."""
    zk = KazooClient(
        hosts=hosts, timeout=timeout, randomize_hosts=False, connection_retry=fast_retry()
    )
    zk.start(timeout=30)
    try:
        yield zk
    finally:
        zk.stop()
        zk.close()


def rotated(ensemble: ZabkeeperEnsemble, first: int) -> str:
    """A connect string of every member, starting at ``first``."""
    ids = ensemble.ids
    start = ids.index(first)
    return ensemble.hosts(ids[start:] + ids[:start])


def children_on(ensemble: ZabkeeperEnsemble, sid: int, path: str) -> set[str]:
    """``path``'s children as member ``sid`` has them after a sync (client on it alone)."""
    with client(ensemble.hosts([sid])) as zk:
        zk.sync(path)
        return set(zk.get_children(path))


def session_server(ensemble: ZabkeeperEnsemble, session_id: int) -> int | None:
    """The member a session is connected to, from each member's ``cons``."""
    needle = f"sid=0x{session_id:x},"
    for sid in ensemble.running_ids():
        with contextlib.suppress(OSError):
            if needle in ensemble.four_letter(sid, "cons"):
                return sid
    return None


def write_nodes(zk: KazooClient, parent: str, names: list[str], window: int = 64) -> None:
    """Create ``parent/name`` for each name, pipelined ``window`` at a time (a create cut
    off by an election is retried until it is known to be there)."""
    for start in range(0, len(names), window):
        batch = [f"{parent}/{n}" for n in names[start : start + window]]
        pending = [(path, zk.create_async(path, b"v")) for path in batch]
        for path, result in pending:
            try:
                result.get(timeout=30)
            except ConnectionLoss:
                create_once(zk, path)


def retrying(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a kazoo call, retrying connection losses while the ensemble elects."""
    retry = KazooRetry(max_tries=-1, delay=0.05, max_delay=0.5, deadline=30, ignore_expire=False)
    return retry(func, *args, **kwargs)


def create_once(zk: KazooClient, path: str) -> None:
    """Create ``path`` through elections (a retry may find the first attempt applied)."""
    with contextlib.suppress(NodeExistsError):
        retrying(zk.create, path, b"")


def log_matches(ensemble: ZabkeeperEnsemble, sid: int, since: int, pattern: str) -> list[str]:
    return re.findall(pattern, ensemble.log_since(sid, since))


def assert_kept_leading(
    e: ZabkeeperEnsemble, leader: int, mark: int, now_leading: int, event: str
) -> None:
    """The leader stayed leader (never went looking) from ``mark`` through ``event``."""
    lines = [
        line
        for line in e.log_since(leader, mark).splitlines()
        if f"server {leader}: " in line and "zabkeeper.quorum" in line
    ]
    left = [line for line in lines if f"server {leader}: leading" not in line]
    kept_leading = now_leading == leader and not left
    assert kept_leading, (
        f"server {leader} stopped leading when {event} (leader now {now_leading}):\n"
        + "\n".join(lines)
    )


# --- srvr / mntr ---------------------------------------------------------------------------


def test_srvr_and_mntr_show_each_role(healthy_observed: ZabkeeperEnsemble) -> None:
    e = healthy_observed
    leader = e.wait_for_quorum()
    assert leader in e.voters
    followers = [sid for sid in e.voters if sid != leader]
    assert {sid: e.srvr(sid)[0] for sid in e.ids} == {
        leader: "leader",
        followers[0]: "follower",
        followers[1]: "follower",
        4: "observer",
    }
    assert e.leader() == leader
    assert sorted(e.followers()) == followers

    # The leader's learner counts are polled: the last learner may still be finishing its
    # sync when srvr first shows every mode.
    def leader_counts() -> dict[str, str] | None:
        m = e.mntr(leader)
        counts = {k: m.get(k) for k in ("zk_synced_followers", "zk_synced_observers")}
        return m if counts == {"zk_synced_followers": "2", "zk_synced_observers": "1"} else None

    mntr = e.wait_until(leader_counts, timeout=10, what="leader mntr learner counts")
    assert mntr["zk_server_state"] == "leader"
    assert mntr["zk_peer_state"] == "leading - broadcast"
    # ZooKeeper 3.8 says zk_learners (followers and observers); older servers and the
    # docs say zk_followers for the same count.
    assert mntr["zk_learners"] == "3"
    assert mntr["zk_followers"] == "3"
    assert mntr["zk_synced_non_voting_followers"] == "0"
    assert mntr["zk_pending_syncs"] == "0"
    assert int(mntr["zk_leader_uptime"]) >= 0

    for sid, mode in [(followers[0], "follower"), (followers[1], "follower"), (4, "observer")]:
        m = e.mntr(sid)
        assert m["zk_server_state"] == mode, (sid, m)
        state = "following" if mode == "follower" else "observing"
        assert m["zk_peer_state"] == f"{state} - broadcast", (sid, m)
        # leader-only keys, as in ZooKeeper
        for key in ("zk_learners", "zk_followers", "zk_synced_followers", "zk_pending_syncs"):
            assert key not in m, (sid, key)


def test_a_busy_session_on_a_follower_does_not_expire(healthy: ZabkeeperEnsemble) -> None:
    """Requests keep a session alive: the follower reports them to the leader, which
    expires sessions, with every ping, however many ticks' worth of reports it holds."""
    follower = healthy.followers()[0]
    lost: list[KazooState] = []
    with client(healthy.hosts([follower]), timeout=2.0) as zk:
        zk.add_listener(lambda state: lost.append(state) if state == KazooState.LOST else None)
        session_id = zk.client_id[0]
        negotiated = zk._session_timeout / 1000  # what the server granted
        end = time.monotonic() + 3 * negotiated
        while time.monotonic() < end:
            for request in [zk.exists_async("/") for _ in range(16)]:
                request.get(timeout=10)
        assert zk.exists("/") is not None
        assert zk.client_id[0] == session_id
        assert lost == []


# --- the observer --------------------------------------------------------------------------


def test_observer_serves_reads_and_forwards_writes(healthy_observed: ZabkeeperEnsemble) -> None:
    e = healthy_observed
    leader = e.wait_for_quorum()
    assert e.srvr(4)[0] == "observer"
    with client(e.hosts([leader])) as on_leader, client(e.hosts([4])) as on_observer:
        assert session_server(e, on_observer.client_id[0]) == 4
        # a write through the observer is forwarded, committed and visible everywhere
        on_observer.ensure_path("/observed")
        path = on_observer.create("/observed/item-", b"from the observer", sequence=True)
        on_leader.sync("/observed")
        assert on_leader.get(path)[0] == b"from the observer"
        # a write elsewhere reaches the observer
        on_leader.set(path, b"from the leader")
        on_observer.sync(path)
        assert on_observer.get(path)[0] == b"from the leader"
        for sid in e.ids:
            assert children_on(e, sid, "/observed") == {path.rsplit("/", 1)[1]}, sid

        # reads are answered by the observer itself: the voters see none of them
        received_before = {sid: int(e.mntr(sid)["zk_packets_received"]) for sid in e.voters}
        for _ in range(200):
            assert on_observer.get(path)[0] == b"from the leader"
            assert on_observer.get_children("/observed")
        received_after = {sid: int(e.mntr(sid)["zk_packets_received"]) for sid in e.voters}
        for sid in e.voters:
            assert received_after[sid] - received_before[sid] < 50, (sid, received_after)

        # the observer is no voter: the quorum survives its loss, and it catches up
        e.kill(4)
        on_leader.create("/observed/while-observer-down", b"")
        leader_mark = e.log_size(leader)
        e.start_member(4)
        now_leading = e.wait_for_quorum()
        assert "while-observer-down" in children_on(e, 4, "/observed")
    assert_kept_leading(e, leader, leader_mark, now_leading, "the observer rejoined")


# --- crashes and catch-up ------------------------------------------------------------------


class Writer(threading.Thread):
    """Creates ``/load/<name>-<n>`` nodes, ``window`` in flight, until told to stop.

    ``acked`` holds every create the server acknowledged (path, when); a create that
    failed or timed out is in ``unsure`` (it may or may not have been applied).
    """

    def __init__(self, name: str, hosts: str, stop: threading.Event, window: int = 16) -> None:
        super().__init__(name=f"writer-{name}", daemon=True)
        self.label = name
        self.hosts = hosts
        self.stop_event = stop
        self.window = window
        self.acked: list[tuple[str, float]] = []
        self.unsure: list[str] = []
        self.errors: list[str] = []
        self.zk = KazooClient(
            hosts=hosts, timeout=10.0, randomize_hosts=False, connection_retry=fast_retry()
        )

    def run(self) -> None:
        n = 0
        while not self.stop_event.is_set():
            batch = []
            for _ in range(self.window):
                path = f"/load/{self.label}-{n:06d}"
                n += 1
                try:
                    batch.append((path, self.zk.create_async(path, b"x")))
                except KazooException as exc:
                    self.unsure.append(path)
                    self.errors.append(f"{path}: {exc!r}")
            for path, result in batch:
                try:
                    result.get(timeout=20)
                except (KazooException, KazooTimeoutError) as exc:
                    self.unsure.append(path)
                    self.errors.append(f"{path}: {exc!r}")
                else:
                    self.acked.append((path, time.monotonic()))

    def acked_after(self, moment: float) -> int:
        return sum(1 for _, when in list(self.acked) if when > moment)


def test_leader_kill_under_write_load_loses_no_acknowledged_write(
    healthy: ZabkeeperEnsemble,
) -> None:
    e = healthy
    old_leader = e.wait_for_quorum()
    with client(e.hosts()) as zk:
        zk.ensure_path("/load")
    stop = threading.Event()
    # one writer per member, each starting there and failing over in id order
    writers = [Writer(f"w{sid}", rotated(e, sid), stop) for sid in e.ids]
    try:
        for w in writers:
            w.zk.start(timeout=30)
        for w in writers:
            w.start()
        e.wait_until(
            lambda: all(len(w.acked) >= 100 for w in writers), timeout=60, what="load running"
        )
        e.kill(old_leader)
        killed_at = time.monotonic()
        survivors = [sid for sid in e.ids if sid != old_leader]
        new_leader = e.wait_for_quorum(timeout=30, ids=survivors, same_zxid=False)
        assert new_leader != old_leader
        # every writer, wherever it was connected, gets writes acknowledged again
        e.wait_until(
            lambda: all(w.acked_after(killed_at) >= 50 for w in writers),
            timeout=60,
            what="writes acknowledged after the leader's crash",
        )
    finally:
        stop.set()
        for w in writers:
            if w.is_alive():
                w.join(timeout=60)
            w.zk.stop()
            w.zk.close()
    assert all(not w.is_alive() for w in writers)

    e.start_member(old_leader)
    e.wait_for_quorum()
    acked = {path.rsplit("/", 1)[1] for w in writers for path, _ in w.acked}
    unsure = {path.rsplit("/", 1)[1] for w in writers for path in w.unsure}
    contents = {sid: children_on(e, sid, "/load") for sid in e.ids}
    for sid, names in contents.items():
        missing = acked - names
        assert not missing, (
            f"server {sid} lacks {len(missing)} acked creates: {sorted(missing)[:10]}"
        )
        assert names <= acked | unsure, f"server {sid} has nodes nobody created"
    assert contents[1] == contents[2] == contents[3]


def test_restarted_follower_catches_up_by_diff(healthy: ZabkeeperEnsemble) -> None:
    e = healthy
    leader = e.wait_for_quorum()
    follower = next(sid for sid in e.ids if sid != leader)
    with client(e.hosts([leader])) as zk:
        zk.ensure_path("/diff")
        write_nodes(zk, "/diff", [f"before-{i}" for i in range(20)])
        e.wait_for_quorum()
        e.stop_member(follower)
        # the leader counts the follower gone
        e.wait_until(
            lambda: e.mntr(leader).get("zk_synced_followers") == "1",
            timeout=15,
            what="zk_synced_followers 1",
        )
        missed = [f"missed-{i}" for i in range(200)]
        write_nodes(zk, "/diff", missed)
        marks = {sid: e.log_size(sid) for sid in e.ids}
        e.start_member(follower)
        now_leading = e.wait_for_quorum()
    assert set(missed) <= children_on(e, follower, "/diff")
    follower_log = e.log_since(follower, marks[follower])
    assert "following broadcast" in follower_log
    assert "installing a snapshot" not in follower_log
    for sid in e.ids:
        sent = log_matches(e, sid, marks[sid], rf"sending a snapshot at \S+ to server {follower}")
        assert not sent, f"server {sid} sent a SNAP: {sent}"
    assert "truncating" not in follower_log
    # a follower rejoining is no reason for a new election
    assert_kept_leading(e, leader, marks[leader], now_leading, f"follower {follower} rejoined")
    assert e.mntr(leader)["zk_synced_followers"] == "2"


def test_wiped_follower_catches_up_by_snap(healthy: ZabkeeperEnsemble) -> None:
    e = healthy
    leader = e.wait_for_quorum()
    follower = next(sid for sid in e.ids if sid != leader)
    with client(e.hosts([leader])) as zk:
        zk.ensure_path("/snap")
        # Enough txns that the leader has snapshotted and purged the log's beginning: it
        # cannot send an empty learner a DIFF from zxid 0 and must SNAP.
        written: list[str] = []
        while len(written) < 4000:
            batch = [f"n-{i}" for i in range(len(written), len(written) + 300)]
            write_nodes(zk, "/snap", batch)
            written += batch
            if len(written) >= 600 and "purged log." in e.log_text(leader):
                break
        assert "purged log." in e.log_text(leader), "the leader never purged its log"
        e.wait_for_quorum()
        e.stop_member(follower)
        e.wipe(follower)
        assert [p.name for p in e.members[follower].data_dir.iterdir()] == ["myid"]
        late = [f"late-{i}" for i in range(50)]
        write_nodes(zk, "/snap", late)
        marks = {sid: e.log_size(sid) for sid in e.ids}
        e.start_member(follower)
        # (whether the leader stays leader is test_restarted_follower_catches_up_by_diff's)
        e.wait_for_quorum()
    assert children_on(e, follower, "/snap") == set(written + late)
    senders = [
        sid
        for sid in e.ids
        if log_matches(e, sid, marks[sid], rf"sending a snapshot at \S+ to server {follower}")
    ]
    assert senders, "no leader sent the wiped follower a snapshot"
    installed = log_matches(
        e, follower, marks[follower], r"installing a snapshot at \S+ from server (\d+)"
    )
    assert installed, "the wiped follower installed no snapshot"
    assert {int(x) for x in installed} <= set(senders)
    # the snapshot was written to the wiped dataDir, so a restart recovers from it
    e.restart(follower, kill=True)
    e.wait_for_quorum()
    assert children_on(e, follower, "/snap") == set(written + late)


def test_rolling_restart_keeps_data_and_sessions(healthy: ZabkeeperEnsemble) -> None:
    e = healthy
    leader = e.wait_for_quorum()
    # followers first, the leader last (as operators do); every step waits for the quorum
    order = [sid for sid in e.ids if sid != leader] + [leader]
    states: list[KazooState] = []
    with client(e.hosts(), timeout=20.0) as keeper, client(e.hosts()) as writer:
        keeper.add_listener(states.append)
        session = keeper.client_id[0]
        writer.ensure_path("/rolling")
        keeper.create("/rolling/ephemeral", b"mine", ephemeral=True)
        expected: set[str] = set()
        for step, sid in enumerate(order):
            e.stop_member(sid)
            names = [f"step{step}-{i}" for i in range(30)]
            write_nodes(writer, "/rolling", names)
            expected |= set(names)
            e.start_member(sid)
            e.wait_for_quorum()
        assert e.leader() is not None
        assert keeper.client_id[0] == session
        assert KazooState.LOST not in states
        keeper.sync("/rolling")
        assert keeper.get("/rolling/ephemeral")[1].ephemeralOwner == session
        write_nodes(keeper, "/rolling", ["after"])
        expected |= {"after", "ephemeral"}
    for sid in e.ids:
        assert children_on(e, sid, "/rolling") >= expected - {"ephemeral"}, sid


class SetWatchesRequest:
    """ZooKeeper's SetWatches (opcode 101), which its Java and C clients send after every
    reconnect; kazoo drops its watches on a connection loss instead (its recipes re-read)."""

    type = 101

    def __init__(self, relative_zxid: int, data: list[str], exist: list[str], child: list[str]):
        self.relative_zxid = relative_zxid
        self.lists = (data, exist, child)

    def serialize(self) -> bytearray:
        out = bytearray(struct.pack(">q", self.relative_zxid))
        for paths in self.lists:
            out += struct.pack(">i", len(paths))
            for path in paths:
                out += ks.write_string(path)
        return out

    @classmethod
    def deserialize(cls, data: bytes, offset: int) -> None:
        return None


@pytest.mark.parametrize("victim", ["follower", "leader"])
def test_client_fails_over_keeping_session_and_watches(
    healthy: ZabkeeperEnsemble, victim: str
) -> None:
    e = healthy
    leader = e.wait_for_quorum()
    target = leader if victim == "leader" else next(sid for sid in e.ids if sid != leader)
    base = f"/failover-{victim}"
    states: list[KazooState] = []
    recipe_data: list[bytes | None] = []
    recipe_children: list[list[str]] = []
    raw_events: list[tuple[str, str | None]] = []
    survivors = [sid for sid in e.ids if sid != target]

    with client(rotated(e, target)) as zk, client(e.hosts(survivors)) as changer:
        zk.add_listener(states.append)
        session, password = zk.client_id
        assert session_server(e, session) == target
        for name in ("recipe", "raw", "quiet", "raw-dir"):
            zk.ensure_path(f"{base}/{name}")
        zk.create(f"{base}/mine", b"", ephemeral=True)
        # watches as kazoo users keep them: the DataWatch / ChildrenWatch recipes
        DataWatch(zk, f"{base}/recipe", lambda data, stat: recipe_data.append(data))
        ChildrenWatch(zk, f"{base}/recipe", lambda children: recipe_children.append(children))
        e.wait_until(lambda: recipe_data and recipe_children, what="recipes primed")
        zk.sync(base)
        relative = zk.last_zxid  # what a ZooKeeper client remembers for SetWatches

        e.kill(target)
        # changes made while the client is cut off, reconnecting, or just reconnected
        retrying(changer.set, f"{base}/recipe", b"changed")
        create_once(changer, f"{base}/recipe/child")
        retrying(changer.set, f"{base}/raw", b"changed")
        create_once(changer, f"{base}/raw-dir/child")

        e.wait_until(
            lambda: recipe_data[-1] == b"changed" and recipe_children[-1] == ["child"],
            what=f"the recipes to see the changes (data {recipe_data}, children "
            f"{recipe_children}, states {states})",
        )
        e.wait_until(lambda: zk.state == KazooState.CONNECTED, what="the client reconnected")

        # SetWatches on the new server: what changed after `relative` fires at once, the
        # rest stays registered
        def on_raw(event: WatchedEvent) -> None:
            raw_events.append((event.type, event.path))

        zk._data_watchers[f"{base}/raw"].add(on_raw)
        zk._data_watchers[f"{base}/quiet"].add(on_raw)
        zk._child_watchers[f"{base}/raw-dir"].add(on_raw)
        request = SetWatchesRequest(
            relative, [f"{base}/raw", f"{base}/quiet"], [], [f"{base}/raw-dir"]
        )
        result = zk.handler.async_result()
        zk._call(request, result)
        result.get(timeout=10)
        e.wait_until(lambda: len(raw_events) >= 2, what=f"SetWatches events ({raw_events})")
        assert sorted(raw_events) == [
            (EventType.CHANGED, f"{base}/raw"),
            (EventType.CHILD, f"{base}/raw-dir"),
        ]
        retrying(changer.set, f"{base}/quiet", b"now")
        e.wait_until(lambda: len(raw_events) >= 3, what=f"the quiet watch firing ({raw_events})")
        assert raw_events[2] == (EventType.CHANGED, f"{base}/quiet")

        assert zk.client_id == (session, password)
        assert KazooState.LOST not in states
        assert session_server(e, session) in survivors
        # the session lives on: its ephemeral is still its own and it writes
        assert retrying(changer.exists, f"{base}/mine").ephemeralOwner == session
        retrying(zk.set, f"{base}/recipe", b"written after failover")
        e.start_member(target)
        e.wait_for_quorum()
    # the closed session's ephemeral is gone everywhere
    for sid in e.ids:
        assert "mine" not in children_on(e, sid, base), sid
