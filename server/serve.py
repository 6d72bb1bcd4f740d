"""A standalone server: recovery, the client port, the log, snapshots, ticks — one nursery.

``await nursery.start(serve, config)`` returns a :class:`Running` with the bound ports; the
server stops when its nursery is cancelled. In-flight log writes finish first (a thread
doing a write is never abandoned), so nothing is half-written.
"""

from __future__ import annotations

import itertools
import logging
import os
import random
import secrets
import time
from pathlib import Path

import attrs
import trio

from server.client_port import ClientPort
from server.commit_step import StandaloneStep
from server.config import ServerConfig
from server.core import ServerCore
from server.settings import CoreSettings
from server.status import four_letter_answer
from server.storage.recovery import recover
from server.storage.snapshots import SnapshotFile, purge_snapshots
from server.storage.syncer import LogSyncer
from server.storage.txn_log import TxnLog
from server.wake import Wake
from znode.snapshot import iter_snapshot

log = logging.getLogger("zabkeeper.server")

_SNAPSHOT_RECORDS_PER_SLICE = 4  # records (up to 1,000 nodes each) encoded per slice


@attrs.frozen
class Running:
    """What a started server reports: where it listens."""

    client_port: int
    metrics_port: int | None = None


def core_settings(config: ServerConfig) -> CoreSettings:
    return CoreSettings(
        tick_ms=config.tick_time,
        min_session_timeout=config.min_session_timeout,
        max_session_timeout=config.max_session_timeout,
        server_id=config.my_id or 1,
        ttl_enabled=config.extended_types_enabled,
        super_digest=config.super_digest,
        container_check_interval_ms=config.container_check_interval_ms,
        container_max_per_minute=config.container_max_per_minute,
        max_frame=config.jute_max_buffer,
    )


def load_secret(data_dir: Path) -> bytes:
    """The key session passwords are derived from, created on first start."""
    path = data_dir / "session.secret"
    if path.exists():
        return path.read_bytes()
    secret = secrets.token_bytes(32)
    temp = path.with_suffix(".tmp")
    temp.write_bytes(secret)
    os.replace(temp, path)
    return secret


class Snapshotter:
    """Takes a snapshot every ~snapCount txns, in slices, without stopping clients."""

    def __init__(self, config: ServerConfig, core: ServerCore, txn_log: TxnLog) -> None:
        self.config = config
        self.core = core
        self.log = txn_log
        self.rng = random.Random()
        self.applied_at_last = core.stats.txns_applied
        self._next = self._threshold()
        self._wake = Wake()
        self.last_zxid = 0
        self.taken = 0

    def _threshold(self) -> int:
        # Randomized like ZooKeeper so ensemble members do not all snapshot at once.
        count = max(2, self.config.snap_count)
        return count // 2 + self.rng.randrange(count // 2 + 1)

    def check(self) -> None:
        """Call after commits; wakes the snapshot task when enough txns were applied."""
        if self.core.stats.txns_applied - self.applied_at_last >= self._next:
            self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            await self.take()

    async def take(self) -> None:
        """Write one snapshot of the tree as it is now."""
        core = self.core
        self.applied_at_last = core.stats.txns_applied
        self._next = self._threshold()
        view = core.tree.freeze()
        zxid = view.last_zxid
        self.log.roll()
        data_dir = self.config.data_dir
        started = time.monotonic()
        out = await trio.to_thread.run_sync(SnapshotFile, data_dir, zxid)
        try:
            chunks = iter_snapshot(view, zxid)
            while True:
                # Encoding runs here, on the tree's thread, a few records at a time; the
                # file write runs in a worker while clients are served.
                batch = list(itertools.islice(chunks, _SNAPSHOT_RECORDS_PER_SLICE))
                if not batch:
                    break
                await trio.to_thread.run_sync(out.write, batch)
            path = await trio.to_thread.run_sync(out.finish)
        except BaseException:
            view.release()
            with trio.CancelScope(shield=True):
                await trio.to_thread.run_sync(out.abort)
            raise
        view.release()
        self.last_zxid = zxid
        self.taken += 1
        log.info(
            "snapshot zxid 0x%x: %d nodes, %d bytes in %.2fs -> %s",
            zxid,
            len(view),
            out.written,
            time.monotonic() - started,
            path.name,
        )
        await trio.to_thread.run_sync(self.purge)

    def purge(self) -> None:
        retain = max(3, self.config.autopurge_snap_retain_count)
        removed, oldest = purge_snapshots(self.config.data_dir, retain)
        if oldest is not None:
            removed += self.log.purge_before(oldest + 1)
        for path in removed:
            log.info("purged %s", path.name)


async def serve(
    config: ServerConfig, *, task_status: trio.TaskStatus[Running] = trio.TASK_STATUS_IGNORED
) -> None:
    """Run a standalone server until cancelled."""
    data_dir, log_dir = config.data_dir, config.data_log_dir
    await trio.to_thread.run_sync(lambda: data_dir.mkdir(parents=True, exist_ok=True))
    recovered = await trio.to_thread.run_sync(
        lambda: recover(data_dir, log_dir, force_sync=config.force_sync)
    )
    secret = await trio.to_thread.run_sync(load_secret, data_dir)

    def clock_ms() -> int:
        return int(trio.current_time() * 1000)

    wall_offset = int(time.time() * 1000) - clock_ms()
    syncer = LogSyncer(recovered.log)
    core = ServerCore(
        core_settings(config),
        recovered.tree,
        step=StandaloneStep(syncer.propose, recovered.tree.last_zxid),
        now=clock_ms(),
        wall_offset=wall_offset,
        secret=secret,
    )
    started_at = time.time()
    port = ClientPort(
        core,
        clock_ms=clock_ms,
        four_letter=lambda word: four_letter_answer(word, core, config, started_at),
        max_per_ip=config.max_client_cnxns,
        handshake_timeout=config.sessionless_cnxn_timeout_ms / 1000,
        outstanding_limit=config.global_outstanding_limit,
        max_frame=config.jute_max_buffer,
    )
    snapshotter = Snapshotter(config, core, recovered.log)

    def durable(zxid: int, _generation: int) -> None:
        core.committed(zxid, clock_ms())
        port.check_capacity()
        snapshotter.check()

    async def ticker() -> None:
        tick = config.tick_time / 1000
        while True:
            await trio.sleep_until((trio.current_time() // tick + 1) * tick)
            core.tick(clock_ms())
            port.check_capacity()

    try:
        async with trio.open_nursery() as nursery:
            bound = await nursery.start(port.serve, config.client_port_address, config.client_port)
            nursery.start_soon(syncer.run, durable)
            nursery.start_soon(ticker)
            nursery.start_soon(snapshotter.run)
            metrics_port = None
            if config.metrics_http_port is not None:
                from server.metrics import serve_metrics

                metrics_port = await nursery.start(
                    serve_metrics,
                    config.metrics_http_port,
                    config.client_port_address,
                    lambda: _stats_for(core, config, started_at),
                )
            log.info(
                "standalone server up: zxid 0x%x, %d nodes, data in %s",
                core.tree.last_zxid,
                core.tree.node_count,
                data_dir,
            )
            task_status.started(Running(bound, metrics_port))
    finally:
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(recovered.log.close)


def _stats_for(core: ServerCore, config: ServerConfig, started_at: float) -> object:
    from server.status import server_stats

    return server_stats(core, config, started_at)
