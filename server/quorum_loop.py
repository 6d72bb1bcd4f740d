"""An ensemble member: one task owns the zab.Peer and carries out what it decides.

Every input — a packet, a broken link, a finished fsync, a tick, a snapshot received —
is an event on one channel. After each, the loop drains the peer's Ready and executes it
in the order :class:`zab.ready.Ready` prescribes: epochs (durably), truncation (durably),
log appends (group-committed by the syncer, which reports back), messages (a SNAP is
followed by a stream of the state frozen right then), commits (applied by the server
core, which answers clients), and then the role, which decides whether clients are
served and how writes are committed.
"""

from __future__ import annotations

import logging
import math
import random
import secrets
import time
from collections.abc import Iterator
from typing import Any

import attrs
import trio

from server.client_port import ClientPort
from server.commit_step import LeaderStep, LearnerStep
from server.config import ServerConfig
from server.core import ServerCore
from server.peer_links import (
    LinkLost,
    PeerAddress,
    PeerLinks,
    Received,
    SnapshotFailed,
    SnapshotReceived,
)
from server.serve import Running, Snapshotter, core_settings, load_secret
from server.status import QuorumInfo, four_letter_answer
from server.storage.epochs import write_epochs
from server.storage.recovery import recover_member
from server.storage.snapshots import SnapshotFile
from server.storage.syncer import LogSyncer
from zab.config import PeerConfig
from zab.messages import Snap
from zab.peer import Peer
from zab.ready import Phase, Ready, Role, RoleChange
from znode.snapshot import iter_snapshot
from znode.tree import FrozenView
from znode.txn_codec import decode_txn

log = logging.getLogger("zabkeeper.quorum")


@attrs.frozen
class LogSynced:
    zxid: int
    generation: int


@attrs.frozen
class Tick:
    pass


@attrs.frozen
class Kick:
    pass


def core_tick_ms(config: ServerConfig) -> int:
    """The ZAB core's tick: much finer than tickTime, so elections are not slowed by it."""
    return max(5, min(50, config.tick_time // 20))


def peer_config(config: ServerConfig) -> PeerConfig:
    """ZooKeeper's tickTime / initLimit / syncLimit, converted to core ticks."""
    tick = core_tick_ms(config)
    voters = frozenset(s.id for s in config.servers if s.role != "observer")
    observers = frozenset(s.id for s in config.servers if s.role == "observer")
    assert config.my_id is not None
    return PeerConfig(
        my_id=config.my_id,
        voters=voters,
        observers=observers,
        init_limit=max(4, config.init_limit * config.tick_time // tick),
        sync_limit=max(4, config.sync_limit * config.tick_time // tick),
        ping_interval=max(1, config.tick_time // 2 // tick),
        finalize_wait=max(1, 200 // tick),
        notify_min=max(1, 200 // tick),
        notify_max=max(2, 2000 // tick),
        committed_window=config.commit_log_count,
    )


def _snapshot_stream(view: FrozenView, zxid: int) -> Iterator[bytes]:
    try:
        yield from iter_snapshot(view, zxid)
    finally:
        view.release()


class QuorumServer:
    """One member of an ensemble (participant or observer), built from its zoo.cfg."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.send_event, self.events = trio.open_memory_channel[object](math.inf)
        self.core: ServerCore
        self.peer: Peer
        self.role = RoleChange(Role.LOOKING, Phase.ELECTION, None, 0)
        self._kicked = False
        self._became_leader = time.time()
        self._serving = trio.Event()

    def clock_ms(self) -> int:
        return int(trio.current_time() * 1000)

    def deliver(self, event: object) -> None:
        """Any task: hand an event to the loop."""
        self.send_event.send_nowait(event)

    def kick(self) -> None:
        """The core called into the peer (propose, forward): the loop must drain it."""
        if not self._kicked:
            self._kicked = True
            self.deliver(Kick())

    async def run(
        self, *, task_status: trio.TaskStatus[Running] = trio.TASK_STATUS_IGNORED
    ) -> None:
        config = self.config
        me = config.my_server
        assert me is not None
        assert config.my_id is not None
        recovered = await trio.to_thread.run_sync(
            lambda: recover_member(config.data_dir, config.data_log_dir, config)
        )
        secret = await trio.to_thread.run_sync(load_secret, config.data_dir)
        self.syncer = LogSyncer(recovered.log)
        rng = random.Random(secrets.randbits(64))
        self.peer = Peer(peer_config(config), recovered.durable, rng)
        wall_offset = int(time.time() * 1000) - self.clock_ms()
        self.core = ServerCore(
            core_settings(config),
            recovered.tree,
            step=None,
            now=self.clock_ms(),
            wall_offset=wall_offset,
            secret=secret,
        )
        self._publish_membership()
        started_at = time.time()
        self.port = ClientPort(
            self.core,
            clock_ms=self.clock_ms,
            four_letter=lambda word: four_letter_answer(
                word, self.core, config, started_at, self.quorum_info
            ),
            max_per_ip=config.max_client_cnxns,
            handshake_timeout=config.sessionless_cnxn_timeout_ms / 1000,
            outstanding_limit=config.global_outstanding_limit,
            max_frame=config.jute_max_buffer,
        )
        peers = {
            s.id: PeerAddress(s.host, s.quorum_port, s.election_port)
            for s in config.servers
            if s.id != config.my_id
        }
        self.links = PeerLinks(
            config.my_id,
            peers,
            self.deliver,
            bind_host=me.host,
            my_address=PeerAddress(me.host, me.quorum_port, me.election_port),
        )
        self.snapshotter = Snapshotter(config, self.core, recovered.log)
        client_host = me.client_address or config.client_port_address
        client_port = me.client_port or config.client_port
        async with trio.open_nursery() as nursery:
            await nursery.start(self.links.run)
            bound = await nursery.start(self.port.serve, client_host, client_port)
            nursery.start_soon(self.syncer.run, self._durable)
            nursery.start_soon(self._ticker)
            nursery.start_soon(self.snapshotter.run)
            log.info(
                "server %d up: log to 0x%x, epochs %d/%d, %d voters, %d observers",
                config.my_id,
                self.peer.history.last_zxid,
                self.peer.accepted_epoch,
                self.peer.current_epoch,
                len(self.peer.config.voters),
                len(self.peer.config.observers),
            )
            task_status.started(Running(bound))
            await self._loop()

    def _publish_membership(self) -> None:
        text = self.config.membership_text().encode()
        self.core.tree.set_config(text, 0, int(time.time() * 1000))

    async def wait_serving(self) -> None:
        """Return once this member serves clients (it is in broadcast)."""
        await self._serving.wait()

    def quorum_info(self) -> QuorumInfo:
        """This member's role for srvr / mntr, and its learners when it leads."""
        from zab.leading import Leading

        peer = self.peer
        role = peer.role_state
        mode = {Role.LEADING: "leader", Role.OBSERVING: "observer"}.get(peer.role, "follower")
        state = {
            Role.LEADING: "leading",
            Role.FOLLOWING: "following",
            Role.OBSERVING: "observing",
            Role.LOOKING: "looking",
        }[peer.role]
        info = QuorumInfo(
            mode=mode,
            peer_state=f"{state} - {peer.phase.value}",
            quorum_size=len(peer.config.voters),
        )
        if isinstance(role, Leading):
            learners = list(role.learners.values())
            info = attrs.evolve(
                info,
                learners=len(learners),
                synced_followers=sum(1 for x in learners if x.synced and not x.observer),
                synced_observers=sum(1 for x in learners if x.synced and x.observer),
                pending_syncs=len(role.pending_syncs),
                leader_uptime_ms=int((time.time() - self._became_leader) * 1000),
            )
        return info

    def _durable(self, zxid: int, generation: int) -> None:
        self.deliver(LogSynced(zxid, generation))

    async def _ticker(self) -> None:
        period = core_tick_ms(self.config) / 1000
        while True:
            await trio.sleep(period)
            self.deliver(Tick())

    # --- the loop ----------------------------------------------------------------------------

    async def _loop(self) -> None:
        peer = self.peer
        next_core_tick = 0
        async for event in self.events:
            now = self.clock_ms()
            if isinstance(event, Received):
                peer.receive(event.sender, event.message)
            elif isinstance(event, LogSynced):
                if event.generation == self.syncer.generation:
                    peer.log_synced(event.zxid)
            elif isinstance(event, Tick):
                peer.tick()
                if self.core.serving and self.role.role in (Role.FOLLOWING, Role.OBSERVING):
                    touches = self.core.take_touches()
                    if touches:
                        peer.touch_sessions(touches)
                if now >= next_core_tick:
                    next_core_tick = now + self.config.tick_time
                    self.core.tick(now)
            elif isinstance(event, LinkLost):
                peer.link_lost(event.peer)
            elif isinstance(event, SnapshotReceived):
                await self._install_snapshot(event, now)
            elif isinstance(event, SnapshotFailed):
                log.warning("snapshot from server %d failed: %s", event.sender, event.reason)
                peer.link_lost(event.sender)
            elif isinstance(event, Kick):
                self._kicked = False
            await self._drain()

    async def _drain(self) -> None:
        while True:
            ready = self.peer.take_ready()
            if ready.is_empty():
                break
            await self._handle(ready, self.clock_ms())
        self.port.check_capacity()
        self.snapshotter.check()

    async def _handle(self, ready: Ready, now: int) -> None:
        config = self.config
        core = self.core
        if ready.epochs is not None:
            epochs = ready.epochs
            await trio.to_thread.run_sync(
                write_epochs, config.data_dir, epochs.accepted_epoch, epochs.current_epoch
            )
        if ready.truncate_to is not None:
            log.info("truncating the log after 0x%x (TRUNC)", ready.truncate_to)
            await self.syncer.truncate(ready.truncate_to)
        for entry in ready.appends:
            self.syncer.append(entry.zxid, entry.payload)
        for envelope in ready.messages:
            message = envelope.message
            if isinstance(message, Snap):
                view = core.tree.freeze()
                if not self.links.send_snapshot(
                    envelope.to, message, _snapshot_stream(view, message.zxid)
                ):
                    view.release()
                else:
                    log.info("sending a snapshot at 0x%x to server %d", message.zxid, envelope.to)
            else:
                self.links.send(envelope.to, message)
        for entry in ready.commits:
            header, txn = decode_txn(entry.payload, source="log", offset=entry.zxid)
            core.apply_committed(header, txn, now)
        for _sender, payload in ready.requests:
            core.submit_forwarded(payload, now)
        for _sender, payload in ready.session_touches:
            core.touch_sessions(payload, now)
        for payload in ready.sync_replies:
            core.sync_reply(payload, now)
        if ready.role is not None:
            self._role_changed(ready.role, now)

    def _role_changed(self, change: RoleChange, now: int) -> None:
        before = self.role
        self.role = change
        serving = change.phase is Phase.BROADCAST
        was_serving = before.phase is Phase.BROADCAST
        log.info(
            "server %d: %s %s, leader %s, epoch %d, zxid 0x%x",
            self.config.my_id,
            change.role.value,
            change.phase.value,
            change.leader,
            change.epoch,
            self.peer.history.last_zxid,
        )
        if change.role is Role.LEADING and before.role is not Role.LEADING:
            self._became_leader = time.time()
        if before.role is Role.LEADING and change.role is not Role.LEADING:
            # Followers would otherwise wait out syncLimit before looking for a new leader.
            self.links.drop_quorum_links("this server stopped leading")
        if serving and (not was_serving or before.role is not change.role):
            step: Any = (
                LeaderStep(self.peer, self.kick)
                if change.role is Role.LEADING
                else LearnerStep(self.peer, self.kick)
            )
            self.core.set_step(step, now)
            self._serving.set()
        elif was_serving and not serving:
            self.core.set_step(None, now)
            self._serving = trio.Event()

    async def _install_snapshot(self, event: SnapshotReceived, now: int) -> None:
        loaded = event.loaded
        log.info("installing a snapshot at 0x%x from server %d", event.zxid, event.sender)
        self.core.install_tree(loaded.tree, now)
        self._publish_membership()
        view = loaded.tree.freeze()
        try:
            out = await trio.to_thread.run_sync(SnapshotFile, self.config.data_dir, event.zxid)
            await trio.to_thread.run_sync(out.write, iter_snapshot(view, event.zxid))
            await trio.to_thread.run_sync(out.finish)
        finally:
            view.release()
        await self.syncer.reset()
        self.peer.snapshot_installed(event.zxid)
