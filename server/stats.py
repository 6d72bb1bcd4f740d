"""The server's statistics snapshot: what the four-letter words and ``/metrics`` report.

Plain values, built by the server from its state and passed to the pure formatters in
``server.four_letter`` and ``server.metrics``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

import attrs

Mode = Literal["standalone", "leader", "follower", "observer", "read-only"]


@attrs.frozen(kw_only=True)
class ConnectionStats:
    """One client connection, as ``stat``, ``cons`` and ``dump`` show it.

    Defaults are ZooKeeper's values right after ``crst``. ZooKeeper lists the connection
    asking the question too (no session, ``recved=1``, ``sent=0``), so callers should include it.
    """

    address: str
    port: int
    queued: int = 0
    """Requests in flight."""
    received: int = 0
    sent: int = 0
    session_id: int | None = None
    """``None`` (or 0) until the handshake completes; then ``cons`` prints the session fields."""
    last_operation: str = "NA"
    """ZooKeeper's 4-char op name: GETD, SETD, PING, CREA, DELE, EXIS, GETC, MULT, SESS, NA..."""
    established_ms: int = 0
    """Wall clock, ms since the epoch."""
    timeout_ms: int = 0
    last_cxid: int = -1
    """-1 (after ``crst``) leaves ``lcxid`` out, as ZooKeeper does."""
    last_zxid: int = -1
    last_response_ms: int = 0
    """When the last reply went out; ZooKeeper 3.8 prints its monotonic ms clock here."""
    last_latency_ms: int = 0
    min_latency_ms: int = 0
    avg_latency_ms: float = 0.0
    """Printed truncated to an integer, as ZooKeeper's long division does."""
    max_latency_ms: int = 0
    expires_ms: int = 0
    """Wall clock ms at which the idle connection would be closed (``dump``'s connection sets)."""


@attrs.frozen(kw_only=True)
class SessionEntry:
    """A session in the ``dump`` session tracker section."""

    session_id: int
    timeout_ms: int
    expires_ms: int
    """Wall clock ms of the session's expiry bucket."""


def _session_paths(
    value: Mapping[int, Iterable[str]] | Iterable[tuple[int, Iterable[str]]],
) -> tuple[tuple[int, tuple[str, ...]], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple(sorted((sid, tuple(sorted(paths))) for sid, paths in items))


def _sessions(value: Iterable[SessionEntry]) -> tuple[SessionEntry, ...]:
    return tuple(sorted(value, key=lambda s: s.session_id))


@attrs.frozen(kw_only=True)
class ServerStats:
    """A snapshot of the server for the four-letter words and ``/metrics``.

    Mappings are stored as sorted tuples, so a snapshot is a hashable value.
    """

    version: str
    """Printed after ``Zookeeper version:`` and as ``zookeeper.version`` (see ZABKEEPER_VERSION)."""
    mode: Mode
    zxid: int
    node_count: int
    """ZooKeeper counts the root twice (as "" and "/"): pass ``len(nodes) + 1``."""
    serving: bool = True
    """False while no quorum is formed: most words then answer NOT_SERVING."""
    min_latency_ms: int = 0
    avg_latency_ms: float = 0.0
    """The raw mean; rendering rounds it to 4 places (half up) as ZooKeeper does."""
    max_latency_ms: int = 0
    packets_received: int = 0
    packets_sent: int = 0
    outstanding_requests: int = 0
    connections: tuple[ConnectionStats, ...] = ()
    watch_count: int = 0
    """Data plus child watches (``zk_watch_count``); ``wchs`` counts data watches only."""
    watches_by_session: tuple[tuple[int, tuple[str, ...]], ...] = attrs.field(
        default=(), converter=_session_paths
    )
    """Data and exists watches, session id -> paths (``wchc``; ``wchp`` and ``wchs`` derive)."""
    ephemerals_count: int = 0
    approximate_data_size: int = 0
    open_file_descriptor_count: int = 0
    max_file_descriptor_count: int = 0
    uptime_ms: int = 0
    global_sessions: int = 0
    local_sessions: int = 0
    last_client_response_size: int = -1
    min_client_response_size: int = -1
    max_client_response_size: int = -1
    auth_failed_count: int = 0
    connection_drop_probability: float = 0.0
    data_dir_size: int = 0
    log_dir_size: int = 0
    config: tuple[tuple[str, str], ...] = ()
    """``conf`` lines in order: clientPort, secureClientPort, dataDir, dataDirSize, ..."""
    membership: tuple[str, ...] | None = None
    """Quorum ``conf`` tail: ``server.N=host:quorum:election:participant`` lines."""
    config_version: int = 0
    environment: tuple[tuple[str, str], ...] = ()
    """``envi`` lines after ``zookeeper.version`` (which comes from ``version``)."""
    sessions: tuple[SessionEntry, ...] = attrs.field(default=(), converter=_sessions)
    ephemerals: tuple[tuple[int, tuple[str, ...]], ...] = attrs.field(
        default=(), converter=_session_paths
    )
    """Session id -> paths of its ephemeral nodes."""
    digest_log: tuple[tuple[int, int], ...] = ()
    """(zxid, tree digest) history for ``hash``."""
    trace_mask: int = 0
    peer_state: str | None = None
    """Quorum members: e.g. "leading - broadcast", "following - broadcast"."""
    quorum_size: int | None = None
    learners: int | None = None
    """Leader-only fields below: printed when mode is "leader" (None as 0)."""
    synced_followers: int | None = None
    synced_non_voting_followers: int | None = None
    synced_observers: int | None = None
    pending_syncs: int | None = None
    leader_uptime_ms: int | None = None
    proposal_sizes: tuple[int, int, int] | None = None
    """Last/min/max proposal size; None prints ZooKeeper's -1/-1/-1."""

    @property
    def watches_by_path(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        """Data watches, path -> session ids, sorted."""
        by_path: dict[str, list[int]] = {}
        for sid, paths in self.watches_by_session:
            for path in paths:
                by_path.setdefault(path, []).append(sid)
        return tuple(sorted((p, tuple(sorted(s))) for p, s in by_path.items()))
