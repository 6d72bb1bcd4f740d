"""The configuration records: :class:`ServerConfig`, :class:`ServerSpec` and :class:`ConfigError`.

Validators sit on the records, so a config built in code is checked like one read from
zoo.cfg; :mod:`server.config` does the reading. Each zoo.cfg-backed field carries its key and
value kind in ``metadata``, which is where the loader finds them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import attrs

from server.config_keys import (
    INT_MIN,
    MAX_EXTENDED_SERVER_ID,
    PORTS,
    ROLES,
    SERVER_IDS,
    Bools,
    Digests,
    Hosts,
    Ints,
    Kind,
    Maybe,
    Paths,
    Role,
    Words,
    host_key,
)
from znode.errors import ZabkeeperError


class ConfigError(ZabkeeperError):
    """A configuration problem; ``str()`` is one line, ``source:line: message``.

    ``keys`` names the settings involved, so the loader can point at the line that set one.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        keys: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.line = line
        self.keys = keys

    def __str__(self) -> str:
        if self.source is None:
            return self.message
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.message}"


Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def _check(key: str, kind: Kind[Any]) -> Validator:
    def validate(_instance: Any, _attribute: attrs.Attribute[Any], value: Any) -> None:
        if not kind.valid(value):
            message = f"invalid value for {key}: '{value}' (expected {kind.expect})"
            raise ConfigError(message, keys=(key,))

    return validate


def _zoo(key: str, kind: Kind[Any], *, sysprop: bool = False) -> dict[str, Any]:
    """``attrs.field`` arguments for a setting read from zoo.cfg ``key``.

    ``sysprop``: ZooKeeper reads it as the system property ``zookeeper.<key>``, so we also
    accept that spelling in zoo.cfg.
    """
    aliases = (f"zookeeper.{key}",) if sysprop else ()
    return {
        "validator": _check(key, kind),
        "metadata": {"key": key, "kind": kind, "aliases": aliases},
    }


def _spec_check(what: str, kind: Kind[Any]) -> Validator:
    def validate(spec: ServerSpec, _attribute: attrs.Attribute[Any], value: Any) -> None:
        if not kind.valid(value):
            message = f"invalid {what} for server.{spec.id}: '{value}' (expected {kind.expect})"
            raise ConfigError(message, keys=(f"server.{spec.id}",))

    return validate


@attrs.frozen(kw_only=True)
class ServerSpec:
    """One ``server.N=host:quorumPort:electionPort[:role][;[clientAddress:]clientPort]``.

    ``host`` and ``client_address`` hold IPv6 literals without brackets.
    """

    id: int = attrs.field(validator=_check("server.N", SERVER_IDS))
    host: str = attrs.field(validator=_spec_check("host", Hosts()))
    quorum_port: int = attrs.field(validator=_spec_check("quorum port", PORTS))
    election_port: int = attrs.field(validator=_spec_check("election port", PORTS))
    role: Role = attrs.field(default="participant", validator=_spec_check("role", ROLES))
    client_address: str | None = attrs.field(
        default=None, validator=_spec_check("client address", Maybe(Hosts()))
    )
    client_port: int | None = attrs.field(
        default=None, validator=_spec_check("client port", Maybe(PORTS))
    )

    def __attrs_post_init__(self) -> None:
        problem = None
        if self.quorum_port == self.election_port:
            problem = f"quorum and election ports must differ, both are {self.quorum_port}"
        elif self.client_address is not None and self.client_port is None:
            problem = "a client address needs a client port"
        if problem is not None:
            raise ConfigError(f"server.{self.id}: {problem}", keys=(f"server.{self.id}",))

    @property
    def is_observer(self) -> bool:
        """Whether this server observes (does not vote)."""
        return self.role == "observer"

    def zoo_cfg_value(self) -> str:
        """This spec in zoo.cfg syntax, as ZooKeeper writes it (role always included)."""
        value = f"{_bracket(self.host)}:{self.quorum_port}:{self.election_port}:{self.role}"
        if self.client_port is not None:
            address = "" if self.client_address is None else f"{_bracket(self.client_address)}:"
            value += f";{address}{self.client_port}"
        return value


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _sorted_servers(servers: Iterable[ServerSpec]) -> tuple[ServerSpec, ...]:
    return tuple(sorted(servers, key=lambda spec: spec.id))


def _twice_tick(config: ServerConfig) -> int:
    return 2 * config.tick_time


def _twenty_ticks(config: ServerConfig) -> int:
    return 20 * config.tick_time


DEFAULT_DATA_DIR = Path("zabkeeper-data")


def _same_as_data_dir(config: ServerConfig) -> Path:
    return config.data_dir


@attrs.frozen(kw_only=True)
class ServerConfig:
    """Everything a server needs from zoo.cfg. Times are milliseconds unless named otherwise.

    ``init_limit`` and ``sync_limit`` count ticks of ``tick_time``. The session timeouts
    default to 2 and 20 ticks, ``data_log_dir`` to ``data_dir``. ``servers`` is sorted by
    id; ``my_id`` comes from ``dataDir/myid`` when there are ``server.N`` lines.
    """

    tick_time: int = attrs.field(default=2000, **_zoo("tickTime", Ints(1)))
    init_limit: int = attrs.field(default=10, **_zoo("initLimit", Ints(1)))
    sync_limit: int = attrs.field(default=5, **_zoo("syncLimit", Ints(1)))
    data_dir: Path = attrs.field(default=DEFAULT_DATA_DIR, **_zoo("dataDir", Paths()))
    data_log_dir: Path = attrs.field(
        default=attrs.Factory(_same_as_data_dir, takes_self=True), **_zoo("dataLogDir", Paths())
    )
    client_port: int = attrs.field(default=2181, **_zoo("clientPort", Ints(0, 65535)))
    client_port_address: str = attrs.field(
        default="127.0.0.1", **_zoo("clientPortAddress", Hosts())
    )
    max_client_cnxns: int = attrs.field(default=60, **_zoo("maxClientCnxns", Ints(0)))
    """Connections per client IP; 0 means unlimited."""
    min_session_timeout: int = attrs.field(
        default=attrs.Factory(_twice_tick, takes_self=True),
        **_zoo("minSessionTimeout", Ints(1, unset=-1)),
    )
    max_session_timeout: int = attrs.field(
        default=attrs.Factory(_twenty_ticks, takes_self=True),
        **_zoo("maxSessionTimeout", Ints(1, unset=-1)),
    )
    snap_count: int = attrs.field(
        default=100_000, **_zoo("snapCount", Ints(INT_MIN, floor=2), sysprop=True)
    )
    autopurge_snap_retain_count: int = attrs.field(
        default=3, **_zoo("autopurge.snapRetainCount", Ints(INT_MIN, floor=3))
    )
    autopurge_purge_interval: int = attrs.field(
        default=0, **_zoo("autopurge.purgeInterval", Ints(0))
    )
    """Hours between purges of old snapshots and logs; 0 turns purging off."""
    force_sync: bool = attrs.field(default=True, **_zoo("forceSync", Bools(), sysprop=True))
    global_outstanding_limit: int = attrs.field(
        default=1000, **_zoo("globalOutstandingLimit", Ints(1), sysprop=True)
    )
    four_letter_whitelist: frozenset[str] = attrs.field(
        default=frozenset({"srvr"}), **_zoo("4lw.commands.whitelist", Words(), sysprop=True)
    )
    jute_max_buffer: int = attrs.field(default=0xFFFFF, **_zoo("jute.maxbuffer", Ints(1)))
    metrics_http_port: int | None = attrs.field(
        default=None, **_zoo("metricsProvider.httpPort", Maybe(Ints(0, 65535)))
    )
    extended_types_enabled: bool = attrs.field(
        default=True, **_zoo("extendedTypesEnabled", Bools(), sysprop=True)
    )
    """TTL nodes (ZooKeeper's default is off; ours is on)."""
    super_digest: str | None = attrs.field(
        default=None, **_zoo("DigestAuthenticationProvider.superDigest", Digests(), sysprop=True)
    )
    container_check_interval_ms: int = attrs.field(
        default=60_000, **_zoo("znode.container.checkIntervalMs", Ints(1))
    )
    container_max_per_minute: int = attrs.field(
        default=10_000, **_zoo("znode.container.maxPerMinute", Ints(1))
    )
    sessionless_cnxn_timeout_ms: int = attrs.field(
        default=10_000, **_zoo("nio.sessionlessCnxnTimeout", Ints(1), sysprop=True)
    )
    """How long a connection may stay without a session (handshake)."""
    commit_log_count: int = attrs.field(
        default=500, **_zoo("commitLogCount", Ints(INT_MIN, floor=500), sysprop=True)
    )
    """Committed proposals kept in memory for DIFF sync."""
    sync_enabled: bool = attrs.field(default=True, **_zoo("syncEnabled", Bools()))
    """Whether an observer logs and snapshots to disk (ZooKeeper's ``syncEnabled``)."""
    servers: tuple[ServerSpec, ...] = attrs.field(default=(), converter=_sorted_servers)
    my_id: int | None = attrs.field(default=None, validator=_check("myid", Maybe(SERVER_IDS)))

    def __attrs_post_init__(self) -> None:
        if self.min_session_timeout > self.max_session_timeout:
            raise ConfigError(
                f"minSessionTimeout {self.min_session_timeout} must not be larger than "
                f"maxSessionTimeout {self.max_session_timeout}",
                keys=("maxSessionTimeout", "minSessionTimeout", "tickTime"),
            )
        _check_servers(self)

    @property
    def is_standalone(self) -> bool:
        """True without an ensemble: at most one participant, as ZooKeeper decides."""
        return sum(not spec.is_observer for spec in self.servers) <= 1

    @property
    def my_server(self) -> ServerSpec | None:
        """This server's own ``server.N`` entry, if any."""
        return next((spec for spec in self.servers if spec.id == self.my_id), None)

    @property
    def membership(self) -> tuple[str, ...]:
        """The ``server.N=...`` lines every member publishes, as ZooKeeper writes them."""
        return tuple(f"server.{spec.id}={spec.zoo_cfg_value()}" for spec in self.servers)

    def membership_text(self) -> str:
        """What ``/zookeeper/config`` holds in an ensemble: the lines, then the version."""
        return "".join(f"{line}\n" for line in self.membership) + "version=0"


def _check_servers(config: ServerConfig) -> None:
    """Cross-field rules on ``servers``, ``my_id`` and the client address."""
    used: dict[tuple[str, int], ServerSpec] = {}
    for previous, spec in zip((None, *config.servers), config.servers, strict=False):
        key = (f"server.{spec.id}",)
        if previous is not None and previous.id == spec.id:
            raise ConfigError(f"duplicate server id {spec.id}", keys=key)
        if config.extended_types_enabled and spec.id > MAX_EXTENDED_SERVER_ID:
            raise ConfigError(
                f"server id {spec.id} is above {MAX_EXTENDED_SERVER_ID}, the limit while "
                "extendedTypesEnabled is true (TTL session ids reserve 255)",
                keys=key,
            )
        for port in (spec.quorum_port, spec.election_port):
            other = used.setdefault((host_key(spec.host), port), spec)
            if other is not spec:
                raise ConfigError(
                    f"server.{spec.id} uses {_bracket(spec.host)}:{port}, "
                    f"as server.{other.id} does",
                    keys=key,
                )
    participants = sum(not spec.is_observer for spec in config.servers)
    observer = next((spec for spec in config.servers if spec.is_observer), None)
    if observer is not None and participants < 2:
        raise ConfigError(
            "observers need a quorum: at least two participant server.N lines",
            keys=(f"server.{observer.id}",),
        )
    if config.servers and config.my_id is not None and config.my_server is None:
        raise ConfigError(f"server id {config.my_id} has no server.N line", keys=("myid",))
    if config.my_id is None and not config.is_standalone:
        raise ConfigError("an ensemble needs this server's id (the myid file)", keys=("myid",))
    me = config.my_server
    if me is not None and me.client_port not in (None, config.client_port):
        raise ConfigError(
            f"clientPort {config.client_port} differs from the client port in "
            f"server.{me.id}={me.zoo_cfg_value()}",
            keys=("clientPort", f"server.{me.id}"),
        )
    if me is not None and me.client_address not in (None, config.client_port_address):
        raise ConfigError(
            f"clientPortAddress {config.client_port_address} differs from the client address "
            f"in server.{me.id}={me.zoo_cfg_value()}",
            keys=("clientPortAddress", f"server.{me.id}"),
        )


@attrs.frozen
class LoadedConfig:
    """The result of :func:`load_config`: the config and its warnings, one line each."""

    config: ServerConfig
    warnings: tuple[str, ...] = ()
