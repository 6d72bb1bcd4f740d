"""ZooKeeper's four-letter words (``ruok``, ``srvr``, ``mntr``, ...) as pure text formatting.

The server takes a :class:`ServerStats` snapshot and writes ``render(word, stats)`` to the socket,
then closes it; nothing here touches a socket or a clock. Formats follow Apache ZooKeeper 3.8.0
byte for byte (captured live; see ``tests/server/test_four_letter.py``), except that lists
ZooKeeper prints in hash order (watches, sessions, ephemerals) are sorted here, and
connections are printed in the order given.

Detection (:func:`word_for`): on a new connection ZooKeeper reads the first 4 bytes as a
big-endian int; if that equals a command code it is a command, otherwise it is the length of
the ConnectRequest frame. ``stmk`` is not supported (it needs 8 more bytes), so it reads as a
(too large) frame length and the connection is closed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from server.stats import ConnectionStats, Mode, ServerStats, SessionEntry
from znode.version import __version__

__all__ = [
    "DEFAULT_WHITELIST",
    "KNOWN_WORDS",
    "NOT_SERVING",
    "TELNET_CLOSE",
    "ZABKEEPER_VERSION",
    "ConnectionStats",
    "Mode",
    "ServerStats",
    "SessionEntry",
    "connection_line",
    "java_date",
    "java_double",
    "monitor_values",
    "not_whitelisted",
    "parse_whitelist",
    "render",
    "word_for",
    "zk_average",
]

MonitorValue = int | float | str

# The protocol level first: clients and tools compare this version to decide which
# features a server has (kazoo's server_version(), for one), and we speak 3.8's protocol.
ZABKEEPER_VERSION = f"3.8.0-zabkeeper-{__version__}"
"""Our ``Zookeeper version:``; kazoo's ``server_version()`` reads its leading digits."""

NOT_SERVING = "This ZooKeeper instance is not currently serving requests"
TELNET_CLOSE = "telnet close"
"""ZooKeeper's name for the telnet close sequence FF F4 FF FD (answers nothing, then closes)."""

_WORDS = (
    "conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "hash", "isro", "mntr",
    "ruok", "srst", "srvr", "stat", "wchc", "wchp", "wchs",
)  # fmt: skip
_CODES: dict[int, str] = {int.from_bytes(w.encode("ascii"), "big"): w for w in _WORDS}
_CODES[0xFFF4FFFD] = TELNET_CLOSE
KNOWN_WORDS: frozenset[str] = frozenset(_CODES.values())
DEFAULT_WHITELIST: frozenset[str] = frozenset({"srvr"})

_MASK64 = (1 << 64) - 1


def word_for(first4: bytes) -> str | None:
    """The command named by a new connection's first 4 bytes, or ``None`` for a frame length."""
    if len(first4) != 4:
        return None
    return _CODES.get(int.from_bytes(first4, "big"))


def not_whitelisted(word: str) -> str:
    """ZooKeeper's answer to a known command left out of ``4lw.commands.whitelist``."""
    return f"{word} is not executed because it is not in the whitelist.\n"


def parse_whitelist(setting: str | None, *, read_only_enabled: bool = False) -> frozenset[str]:
    """``4lw.commands.whitelist`` as ZooKeeper reads it: ``*`` is all; ``srvr`` is always in."""
    words = {w.strip() for w in (setting or "").split(",") if w.strip()}
    if "*" in words:
        words = set(KNOWN_WORDS)
    if read_only_enabled:
        words.add("isro")
    return frozenset(words | DEFAULT_WHITELIST)


def _hex(value: int) -> str:
    """Java's ``Long.toHexString`` (two's complement for negatives)."""
    return format(value & _MASK64, "x")


def zk_average(mean: float) -> float:
    """Round a mean as ZooKeeper's AvgMinMaxCounter does: 4 places, half up."""
    return float(Decimal(mean).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def java_double(value: float) -> str:
    """Java's ``Double.toString``: plain in [1e-3, 1e7), else ``d.dddE±n``."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        return repr(float(value))
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    mantissa = f"{text[0]}.{text[1:] or '0'}"
    return f"{'-' if sign else ''}{mantissa}E{exponent + len(digits) - 1}"


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def java_date(ms: int) -> str:
    """Java's ``Date.toString`` in UTC, e.g. ``Thu Nov 26 06:58:08 UTC 2026``."""
    t = _EPOCH + timedelta(milliseconds=ms)
    return (
        f"{_DAYS[t.weekday()]} {_MONTHS[t.month - 1]} {t.day:02d} "
        f"{t.hour:02d}:{t.minute:02d}:{t.second:02d} UTC {t.year}"
    )


def _remote(c: ConnectionStats) -> str:
    host = f"[{c.address}]" if ":" in c.address else c.address
    return f"/{host}:{c.port}"


def connection_line(c: ConnectionStats, *, brief: bool) -> str:
    """One ``stat`` (brief) or ``cons`` line, without the newline."""
    ops = "1" if c.session_id else "0"
    text = f" {_remote(c)}[{ops}](queued={c.queued},recved={c.received},sent={c.sent}"
    if not brief and c.session_id:
        text += (
            f",sid=0x{_hex(c.session_id)},lop={c.last_operation},est={c.established_ms}"
            f",to={c.timeout_ms}"
        )
        if c.last_cxid >= 0:
            text += f",lcxid=0x{_hex(c.last_cxid)}"
        text += (
            f",lzxid=0x{_hex(c.last_zxid)},lresp={c.last_response_ms},llat={c.last_latency_ms}"
            f",minlat={c.min_latency_ms},avglat={int(c.avg_latency_ms)},maxlat={c.max_latency_ms}"
        )
    return text + ")"


def _srvr(stats: ServerStats, *, clients: bool) -> str:
    lines = [f"Zookeeper version: {stats.version}"]
    if stats.mode == "read-only":
        lines.append("READ-ONLY mode; serving only read-only clients")
    if clients:
        lines.append("Clients:")
        lines.extend(connection_line(c, brief=True) for c in stats.connections)
        lines.append("")
    avg = java_double(zk_average(stats.avg_latency_ms))
    lines += [
        f"Latency min/avg/max: {stats.min_latency_ms}/{avg}/{stats.max_latency_ms}",
        f"Received: {stats.packets_received}",
        f"Sent: {stats.packets_sent}",
        f"Connections: {len(stats.connections)}",
        f"Outstanding: {stats.outstanding_requests}",
        f"Zxid: 0x{_hex(stats.zxid)}",
        f"Mode: {stats.mode}",
        f"Node count: {stats.node_count}",
    ]
    if stats.mode == "leader":
        last, low, high = stats.proposal_sizes or (-1, -1, -1)
        lines.append(f"Proposal sizes last/min/max: {last}/{low}/{high}")
    return "".join(f"{line}\n" for line in lines)


def _cons(stats: ServerStats) -> str:
    return "".join(f"{connection_line(c, brief=False)}\n" for c in stats.connections) + "\n"


def _session_dump(stats: ServerStats) -> str:
    if stats.mode in ("follower", "observer", "read-only"):
        head = f"Global Sessions({len(stats.sessions)}):\n"
        return head + "".join(f"0x{_hex(s.session_id)}\t{s.timeout_ms}ms\n" for s in stats.sessions)
    buckets: dict[int, list[str]] = {}
    for s in stats.sessions:
        buckets.setdefault(s.expires_ms, []).append(f"0x{_hex(s.session_id)}")
    return "Session " + _expiry_sets(buckets, len(stats.sessions))


def _expiry_sets(buckets: Mapping[int, list[str]], total: int) -> str:
    """ZooKeeper's ``ExpiryQueue.dump``: sets sorted by expiry time."""
    text = f"Sets ({len(buckets)})/({total}):\n"
    for when in sorted(buckets):
        members = buckets[when]
        text += f"{len(members)} expire at {java_date(when)}:\n"
        text += "".join(f"\t{m}\n" for m in members)
    return text


def _dump(stats: ServerStats) -> str:
    ephemerals = "".join(
        f"0x{_hex(sid)}:\n" + "".join(f"\t{p}\n" for p in paths) for sid, paths in stats.ephemerals
    )
    cnxns: dict[int, list[str]] = {}
    for c in stats.connections:
        cnxns.setdefault(c.expires_ms, []).append(
            f"ip: {_remote(c)} sessionId: 0x{_hex(c.session_id or 0)}"
        )
    return (
        "SessionTracker dump:\n"
        + _session_dump(stats)
        + "ephemeral nodes dump:\n"
        + f"Sessions with Ephemerals ({len(stats.ephemerals)}):\n"
        + ephemerals
        + "Connections dump:\nConnections "
        + _expiry_sets(cnxns, len(stats.connections))
    )


def _wchs(stats: ServerStats) -> str:
    by_path = stats.watches_by_path
    total = sum(len(sids) for _, sids in by_path)
    return (
        f"{len(stats.watches_by_session)} connections watching {len(by_path)} paths\n"
        f"Total watches:{total}\n"
    )


def _wchc(stats: ServerStats) -> str:
    return (
        "".join(
            f"0x{_hex(sid)}\n" + "".join(f"\t{p}\n" for p in paths)
            for sid, paths in stats.watches_by_session
        )
        + "\n"
    )


def _wchp(stats: ServerStats) -> str:
    return (
        "".join(
            f"{path}\n" + "".join(f"\t0x{_hex(s)}\n" for s in sids)
            for path, sids in stats.watches_by_path
        )
        + "\n"
    )


def _conf(stats: ServerStats) -> str:
    text = "".join(f"{key}={value}\n" for key, value in stats.config)
    if stats.membership is not None:
        # ZooKeeper's QuorumVerifier.toString: no newline after the version line.
        text += "membership: \n" + "".join(f"{line}\n" for line in stats.membership)
        text += f"version={_hex(stats.config_version)}"
    return text


def _envi(stats: ServerStats) -> str:
    items = (("zookeeper.version", stats.version), *stats.environment)
    return "Environment:\n" + "".join(f"{key}={value}\n" for key, value in items)


# mntr's order in ZooKeeper 3.8 (a HashMap's, stable for this key set), leader keys included.
_MNTR_ORDER = (
    "ephemerals_count", "num_alive_connections", "avg_latency", "min_proposal_size",
    "outstanding_requests", "znode_count", "global_sessions", "non_mtls_remote_conn_count",
    "last_client_response_size", "packets_sent", "packets_received", "max_proposal_size",
    "max_client_response_size", "synced_followers", "connection_drop_probability",
    "watch_count", "synced_non_voting_followers", "synced_observers", "auth_failed_count",
    "min_latency", "max_file_descriptor_count", "approximate_data_size",
    "open_file_descriptor_count", "last_proposal_size", "pending_syncs", "leader_uptime",
    "local_sessions", "uptime", "max_latency", "outstanding_tls_handshake", "learners",
    "min_client_response_size", "non_mtls_local_conn_count", "quorum_size",
)  # fmt: skip


def monitor_values(stats: ServerStats) -> tuple[tuple[str, MonitorValue], ...]:
    """``mntr``'s keys (without ``zk_``) and values, in ZooKeeper's order."""
    values: dict[str, MonitorValue] = {
        "ephemerals_count": stats.ephemerals_count,
        "num_alive_connections": len(stats.connections),
        "avg_latency": zk_average(stats.avg_latency_ms),
        "outstanding_requests": stats.outstanding_requests,
        "znode_count": stats.node_count,
        "global_sessions": stats.global_sessions,
        "non_mtls_remote_conn_count": 0,
        "last_client_response_size": stats.last_client_response_size,
        "packets_sent": stats.packets_sent,
        "packets_received": stats.packets_received,
        "max_client_response_size": stats.max_client_response_size,
        "connection_drop_probability": stats.connection_drop_probability,
        "watch_count": stats.watch_count,
        "auth_failed_count": stats.auth_failed_count,
        "min_latency": stats.min_latency_ms,
        "max_file_descriptor_count": stats.max_file_descriptor_count,
        "approximate_data_size": stats.approximate_data_size,
        "open_file_descriptor_count": stats.open_file_descriptor_count,
        "local_sessions": stats.local_sessions,
        "uptime": stats.uptime_ms,
        "max_latency": stats.max_latency_ms,
        "outstanding_tls_handshake": 0,
        "min_client_response_size": stats.min_client_response_size,
        "non_mtls_local_conn_count": 0,
    }
    if stats.mode == "leader":
        last, low, high = stats.proposal_sizes or (-1, -1, -1)
        values |= {
            "last_proposal_size": last,
            "min_proposal_size": low,
            "max_proposal_size": high,
            "learners": stats.learners or 0,
            "synced_followers": stats.synced_followers or 0,
            "synced_non_voting_followers": stats.synced_non_voting_followers or 0,
            "synced_observers": stats.synced_observers or 0,
            "pending_syncs": stats.pending_syncs or 0,
            "leader_uptime": stats.leader_uptime_ms or 0,
        }
    if stats.quorum_size is not None:
        values["quorum_size"] = stats.quorum_size
    tail: list[tuple[str, MonitorValue]] = []
    if stats.mode == "leader":
        # ZooKeeper's docs (and older servers) name the learner count zk_followers;
        # monitoring scripts still look for it beside zk_learners.
        tail.append(("followers", stats.learners or 0))
    head: list[tuple[str, MonitorValue]] = [
        ("version", stats.version),
        ("server_state", stats.mode),
    ]
    if stats.peer_state is not None:
        head.append(("peer_state", stats.peer_state))
    return (*head, *((key, values[key]) for key in _MNTR_ORDER if key in values), *tail)


def _mntr(stats: ServerStats) -> str:
    def text(value: MonitorValue) -> str:
        return java_double(value) if isinstance(value, float) else str(value)

    return "".join(f"zk_{key}\t{text(value)}\n" for key, value in monitor_values(stats))


_SERVING_ONLY: dict[str, Callable[[ServerStats], str]] = {
    "srvr": lambda s: _srvr(s, clients=False),
    "stat": lambda s: _srvr(s, clients=True),
    "cons": _cons,
    "crst": lambda s: "Connection stats reset.\n",
    "srst": lambda s: "Server stats reset.\n",
    "dump": _dump,
    "wchs": _wchs,
    "wchc": _wchc,
    "wchp": _wchp,
    "mntr": _mntr,
    "conf": _conf,
    "dirs": lambda s: f"datadir_size: {s.data_dir_size}\nlogdir_size: {s.log_dir_size}\n",
    "hash": lambda s: "".join(f"{_hex(z)}: {d}\n" for z, d in s.digest_log),
}
_ALWAYS: dict[str, Callable[[ServerStats], str]] = {
    "ruok": lambda s: "imok",
    "envi": _envi,
    "gtmk": lambda s: str(s.trace_mask),
    "isro": lambda s: "null" if not s.serving else "ro" if s.mode == "read-only" else "rw",
    TELNET_CLOSE: lambda s: "",
}


def render(word: str, stats: ServerStats) -> str:
    """The text ZooKeeper 3.8 writes for ``word`` (the caller resets counters for crst/srst)."""
    if word in _ALWAYS:
        return _ALWAYS[word](stats)
    if word not in _SERVING_ONLY:
        raise ValueError(f"unknown four-letter word {word!r}")
    if not stats.serving:
        # ZooKeeper's DigestCommand uses print, the others println.
        return NOT_SERVING if word == "hash" else NOT_SERVING + "\n"
    return _SERVING_ONLY[word](stats)
