"""Gathering the running server's state into :class:`~server.stats.ServerStats`.

The four-letter words and ``/metrics`` render that snapshot; this module only reads the
core and the configuration (and, for ``dirs``/``conf``, the size of the data directories).
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

import attrs

from server.config import ServerConfig
from server.core import ServerCore
from server.four_letter import ZABKEEPER_VERSION, render
from server.stats import ConnectionStats, ServerStats, SessionEntry

__all__ = ["four_letter_answer", "server_stats"]

_MODES = {"standalone": "standalone", "leader": "leader", "learner": "follower"}


def _dir_size(path: Path) -> int:
    try:
        return sum(entry.stat().st_size for entry in path.iterdir() if entry.is_file())
    except OSError:
        return 0


def _open_fds() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 0


@attrs.frozen(kw_only=True)
class QuorumInfo:
    """An ensemble member's side of the status: its role and, on a leader, its learners."""

    mode: str  # leader | follower | observer
    peer_state: str  # e.g. "leading - broadcast"
    quorum_size: int
    learners: int | None = None
    synced_followers: int | None = None
    synced_observers: int | None = None
    pending_syncs: int | None = None
    leader_uptime_ms: int | None = None


def server_stats(
    core: ServerCore,
    config: ServerConfig,
    started_at: float,
    *,
    mode: str | None = None,
    quorum: QuorumInfo | None = None,
) -> ServerStats:
    """A snapshot of everything the four-letter words and metrics show."""
    tree = core.tree
    connections = []
    watcher_sessions: dict[int, int] = {}
    for conn in core.connections.values():
        watcher_sessions[conn.conn_id] = conn.session_id
        session = core.tracker.sessions.get(conn.session_id)
        connections.append(
            ConnectionStats(
                address=conn.address,
                port=conn.port,
                queued=conn.outstanding,
                received=conn.received,
                sent=conn.sent,
                session_id=conn.session_id or None,
                last_operation=conn.last_op,
                established_ms=conn.established_ms,
                timeout_ms=conn.timeout,
                last_cxid=conn.last_cxid,
                last_zxid=conn.last_zxid,
                last_response_ms=conn.last_response_ms,
                last_latency_ms=conn.last_latency,
                min_latency_ms=conn.min_latency,
                avg_latency_ms=conn.total_latency / conn.latency_count if conn.latency_count else 0,
                max_latency_ms=conn.max_latency,
                expires_ms=(session.expires_at + core.wall_offset) if session else 0,
            )
        )
    watches: dict[int, list[str]] = {}
    for watcher, paths in core.watches.data.by_watcher.items():
        session_id = watcher_sessions.get(watcher)  # type: ignore[call-overload]
        if session_id:
            watches.setdefault(session_id, []).extend(paths)
    stats = core.stats
    soft_limit, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    data_size = _dir_size(config.data_dir)
    log_size = _dir_size(config.data_log_dir)
    stats_value = ServerStats(
        version=ZABKEEPER_VERSION,
        mode=mode or (quorum.mode if quorum else _MODES.get(core.mode, "standalone")),  # type: ignore[arg-type]
        zxid=tree.last_zxid,
        node_count=tree.node_count + 1,  # ZooKeeper counts the root twice
        serving=core.serving,
        min_latency_ms=stats.min_latency,
        avg_latency_ms=stats.total_latency / stats.latency_count if stats.latency_count else 0,
        max_latency_ms=stats.max_latency,
        packets_received=stats.received,
        packets_sent=stats.sent,
        outstanding_requests=core.outstanding,
        connections=tuple(connections),
        watch_count=core.watches.count(),
        watches_by_session=watches,
        ephemerals_count=tree.session_ephemeral_count(),
        approximate_data_size=tree.approximate_data_size(),
        open_file_descriptor_count=_open_fds(),
        max_file_descriptor_count=soft_limit,
        uptime_ms=int((time.time() - started_at) * 1000),
        global_sessions=len(core.tracker.sessions),
        auth_failed_count=stats.auth_failed,
        data_dir_size=data_size,
        log_dir_size=log_size,
        config=(
            ("clientPort", str(config.client_port)),
            ("secureClientPort", "-1"),
            ("dataDir", str(config.data_dir.resolve())),
            ("dataDirSize", str(data_size)),
            ("dataLogDir", str(config.data_log_dir.resolve())),
            ("dataLogSize", str(log_size)),
            ("tickTime", str(config.tick_time)),
            ("maxClientCnxns", str(config.max_client_cnxns)),
            ("minSessionTimeout", str(config.min_session_timeout)),
            ("maxSessionTimeout", str(config.max_session_timeout)),
            ("clientPortListenBacklog", "-1"),
            ("serverId", str(config.my_id or 0)),
        ),
        environment=(
            ("host.name", platform.node()),
            ("python.version", platform.python_version()),
            ("python.implementation", platform.python_implementation()),
            ("os.name", platform.system()),
            ("os.arch", platform.machine()),
            ("os.version", platform.release()),
            ("user.dir", os.getcwd()),
            ("python.executable", sys.executable),
        ),
        sessions=[
            SessionEntry(
                session_id=s.session_id,
                timeout_ms=s.timeout,
                expires_ms=s.expires_at + core.wall_offset,
            )
            for s in core.tracker.sessions.values()
        ],
        ephemerals={sid: sorted(paths) for sid, paths in tree.ephemerals.items()},
        digest_log=((tree.last_zxid, tree.digest()),),
    )
    if quorum is None:
        return stats_value
    me = config.my_server
    assert me is not None
    return attrs.evolve(
        stats_value,
        config=(
            *stats_value.config,
            ("initLimit", str(config.init_limit)),
            ("syncLimit", str(config.sync_limit)),
            ("electionAlg", "3"),
            ("electionPort", str(me.election_port)),
            ("quorumPort", str(me.quorum_port)),
            ("peerType", "1" if me.is_observer else "0"),
        ),
        membership=config.membership,
        config_version=0,
        peer_state=quorum.peer_state,
        quorum_size=quorum.quorum_size,
        learners=quorum.learners,
        synced_followers=quorum.synced_followers,
        synced_observers=quorum.synced_observers,
        pending_syncs=quorum.pending_syncs,
        leader_uptime_ms=quorum.leader_uptime_ms,
    )


def four_letter_answer(
    word: str,
    core: ServerCore,
    config: ServerConfig,
    started_at: float,
    quorum: Callable[[], QuorumInfo] | None = None,
) -> str:
    """The text answering a four-letter word on the client port."""
    if word == "telnet close":
        return ""
    if word not in config.four_letter_whitelist:
        return f"{word} is not executed because it is not in the whitelist.\n"
    if word == "crst":
        for conn in core.connections.values():
            conn.reset_stats()
    elif word == "srst":
        core.stats.reset()
    info = quorum() if quorum is not None else None
    return render(word, server_stats(core, config, started_at, quorum=info))
