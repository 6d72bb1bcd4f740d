"""zoo.cfg → a frozen :class:`ServerConfig`, with ZooKeeper 3.8's parsing rules.

:func:`load_config` reads a standard ``zoo.cfg`` (``java.util.Properties`` syntax, see
:mod:`server.properties`), applies overrides given as zoo.cfg key names, and returns the config
with one warning line per key it acknowledges without acting on. Errors are one
:class:`ConfigError` line naming ``file:line``. Like ZooKeeper, keys and values are trimmed,
a system property ``zookeeper.X`` may be written as ``X`` (and here also as ``zookeeper.X``),
and a config with at most one participant ``server.N`` line is standalone.

Where we differ from ZooKeeper, on purpose:

- ``tickTime`` defaults to 2000 (the shipped sample's value; ZooKeeper's code says 3000),
  ``dataDir`` to ``./zabkeeper-data`` and ``clientPort`` to 2181 (ZooKeeper requires them);
  ``clientPort=0`` asks the OS for a free port.
- ``clientPortAddress`` defaults to ``127.0.0.1``, not every interface. A ``server.N`` line
  with ``;clientPort`` but no address keeps that address (ZooKeeper would use ``0.0.0.0``);
  an address in the line replaces a wildcard ``clientPortAddress`` and must otherwise match
  it, and its port must match an explicit ``clientPort``, as in ZooKeeper.
- Booleans are ``true/false/yes/no`` in any case everywhere (ZooKeeper's ``forceSync`` is
  off only for exactly ``no``). ``myid`` may carry surrounding whitespace.
- Stricter: duplicate ``server.N`` ids or quorum/election addresses, a ``myid`` without a
  ``server.N`` line, negative limits, port 0 in ``server.N``, a host name in brackets and a
  trailing ``;`` are errors, where ZooKeeper takes the last line, accepts, or fails later.
  Unknown ``4lw.commands.whitelist`` words are dropped with a warning (ZooKeeper keeps them,
  never matching). ``myid`` is read only when there are ``server.N`` lines.
- A file that is not UTF-8 is read as Latin-1, which is how ZooKeeper reads every file.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

import attrs

from server.config_keys import SERVER_IDS, Kind, is_wildcard, parse_server, parse_server_id
from server.config_model import (
    DEFAULT_DATA_DIR,
    ConfigError,
    LoadedConfig,
    ServerConfig,
    ServerSpec,
)
from server.properties import MalformedLine, read_properties

__all__ = ["OVERRIDES", "ConfigError", "LoadedConfig", "ServerConfig", "ServerSpec", "load_config"]

OVERRIDES = "<overrides>"
"""The ``source`` of errors and warnings about overrides."""

_NO_OVERRIDES: Mapping[str, str] = MappingProxyType({})
_JAVA_SPACE = "".join(map(chr, range(33)))  # what Java's String.trim() removes


# Keys ZooKeeper knows that we accept without acting on them (also as zookeeper.<key>).
_UNSUPPORTED = """
    serverCnxnFactory secureClientPort secureClientPortAddress observerMasterPort
    clientPortListenBacklog connectToLearnerMasterLimit localSessionsEnabled
    localSessionsUpgradingEnabled electionAlg quorumListenOnAllIPs peerType dynamicConfigFile
    standaloneEnabled reconfigEnabled sslQuorum portUnification sslQuorumReloadCertFiles
    oraclePath version metricsProvider.className preAllocSize snapSizeLimitInKb
    txnLogSizeLimitInKb snapshotSizeFactor maxCnxns cnxTimeout quorumCnxnTimeoutMs
    electionPortBindRetry leaderServes skipACL sessionRequireClientSASLAuth enforceAuthEnabled
    enforceAuthSchemes fsync.warningthresholdms maxResponseCacheSize
    maxGetChildrenResponseCacheSize flushDelay maxWriteQueuePollTime maxBatchSize
    requestThrottleLimit requestThrottleStallTime requestThrottleDropStale
    request_throttle_max_requests request_throttle_stall_time request_throttle_drop_stale
    request_stale_latency_check request_stale_connection_check throttled_op_wait_time
    digest.enabled closeSessionTxn.enabled serializeLastProcessedZxid.enabled
    watchManagerName watcherCleanThreshold watcherCleanIntervalInSeconds watcherCleanThreadsNum
    maxInProcessingDeadWatchers emulate353TTLNodes enableEagerACLCheck enforceQuota
    ensembleAuthName tcpKeepAlive clientTcpKeepAlive forceSnapshotSync datadir.autocreate
    db.autocreate jute.maxbuffer.extrasize readonlymode.enabled
    X509AuthenticationProvider.superUser DigestAuthenticationProvider.enabled
    DigestAuthenticationProvider.digestAlg leaderConnectDelayDuringRetryMs
    znode.container.maxNeverUsedIntervalMs client.portUnification client.secure
    intBufferStartingSizeBytes bitHashCacheSize fips-mode
    jvm.pause.monitor jvm.pause.info-threshold.ms jvm.pause.warn-threshold.ms
    jvm.pause.sleep.time.ms
"""
UNSUPPORTED_KEYS = frozenset(_UNSUPPORTED.split())
_PREFIXES = """
    ssl. admin. authProvider. quorum. multiAddress. metricsProvider. kerberos. sasl. audit.
    connection_throttle_ commitProcessor. nio. netty. learner. leader. follower. observer.
    observerMaster. fastleader. request_throttler. snapshot. pathStats. messageTracker.
    group. weight.
"""
UNSUPPORTED_PREFIXES = tuple(_PREFIXES.split())
UNSUPPORTED_HINTS = {
    "dynamicConfigFile": "its server.N lines are not read; put them in this file",
    "standaloneEnabled": "one server.N line always means standalone",
    "group.": "hierarchical quorums are not supported; majority quorums are used",
    "weight.": "hierarchical quorums are not supported; majority quorums are used",
}


def unsupported(key: str) -> str | None:
    """None for a key ZooKeeper does not know; else a hint ('' when there is none)."""
    short = key.removeprefix("zookeeper.")
    if short in UNSUPPORTED_KEYS:
        return UNSUPPORTED_HINTS.get(short, "")
    for prefix in UNSUPPORTED_PREFIXES:
        if short.startswith(prefix):
            return UNSUPPORTED_HINTS.get(prefix, "")
    return None


def load_config(path: Path | None, overrides: Mapping[str, str] = _NO_OVERRIDES) -> LoadedConfig:
    """Read ``path`` (None: defaults only), apply ``overrides`` (zoo.cfg keys), validate.

    Raises :class:`ConfigError` naming the file and line (or ``<overrides>``) at fault.
    """
    loader = _Loader(OVERRIDES if path is None else str(path))
    if path is not None:
        try:
            entries = read_properties(_read_text(path))
        except MalformedLine as exc:
            raise ConfigError(str(exc), source=str(path), line=exc.line) from None
        for entry in entries:
            loader.add(entry.key, entry.value, _Origin(str(path), entry.line, entry.key))
    for key, value in overrides.items():
        loader.add(key, value, _Origin(OVERRIDES, None, key))
    return loader.finish()


def _read_text(path: Path) -> str:
    """The file as text: UTF-8, else Latin-1 (how ``Properties.load`` reads a stream)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", source=str(path)) from None
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


class _Origin(NamedTuple):
    """Where a setting came from: a file line, or the overrides (``line`` None)."""

    source: str
    line: int | None
    key: str

    def where(self) -> str:
        return self.source if self.line is None else f"{self.source}:{self.line}"

    def error(self, message: str) -> ConfigError:
        return ConfigError(message, source=self.source, line=self.line)


def _fields_by_key() -> dict[str, attrs.Attribute[Any]]:
    table: dict[str, attrs.Attribute[Any]] = {}
    for field in attrs.fields(ServerConfig):
        if "key" in field.metadata:
            for key in (field.metadata["key"], *field.metadata["aliases"]):
                table[key] = field
    return table


_FIELDS = _fields_by_key()


@attrs.define
class _Loader:
    """Collects settings line by line, then builds and locates errors in the config."""

    source: str
    """Where warnings about the whole config point."""
    values: dict[str, Any] = attrs.Factory(dict)
    """ServerConfig field name → value, for the keys that were set."""
    servers: dict[int, ServerSpec] = attrs.Factory(dict)
    origins: dict[str, _Origin] = attrs.Factory(dict)
    """Canonical key (``tickTime``, ``server.3``, ``myid``) → where it was last set."""
    warnings: list[str] = attrs.Factory(list)

    def add(self, raw_key: str, raw_value: str, origin: _Origin) -> None:
        """Take one ``key=value`` (trimmed, as ZooKeeper does)."""
        key, value = raw_key.strip(_JAVA_SPACE), raw_value.strip(_JAVA_SPACE)
        origin = origin._replace(key=key)
        if not key:
            raise origin.error(f"no key before the value '{value}'")
        if key.startswith("server."):
            self._add_server(key, value, origin)
            return
        field = _FIELDS.get(key)
        if field is None:
            hint = unsupported(key)
            what = "unknown" if hint is None else "unsupported"
            self._warn(origin, f"ignoring {what} key {key}" + (f" ({hint})" if hint else ""))
            return
        kind: Kind[Any] = field.metadata["kind"]
        try:
            parsed = kind.parse(value)
        except ValueError as exc:
            raise origin.error(f"invalid value for {key}: '{value}' ({exc})") from None
        name = field.metadata["key"]
        previous = self.origins.get(name)
        if previous is not None and previous.source == origin.source:
            self._warn(origin, f"duplicate key {key} overrides {_earlier(previous)}")
        if parsed is None:
            self.values.pop(field.name, None)
        else:
            parsed, note = kind.review(parsed, value)
            if note is not None:
                self._warn(origin, f"{key}: {note}")
            self.values[field.name] = parsed
        self.origins[name] = origin

    def _add_server(self, key: str, value: str, origin: _Origin) -> None:
        try:
            server_id = parse_server_id(key)
        except ValueError as exc:
            raise origin.error(f"invalid server id in {key} ({exc})") from None
        try:
            fields = parse_server(value)
        except ValueError as exc:
            raise origin.error(f"invalid value for {key}: '{value}' ({exc})") from None
        name = f"server.{server_id}"
        previous = self.origins.get(name)
        if previous is not None and previous.source == origin.source:
            raise origin.error(
                f"duplicate server id {server_id}: {key} repeats {_earlier(previous)}"
            )
        try:
            self.servers[server_id] = ServerSpec(id=server_id, **fields._asdict())
        except ConfigError as exc:
            raise origin.error(exc.message) from None
        self.origins[name] = origin

    def finish(self) -> LoadedConfig:
        """The validated config; ConfigError located at the line that set a culprit."""
        kwargs = dict(self.values)
        if self.servers:
            kwargs["servers"] = tuple(self.servers.values())
            participants = sum(not spec.is_observer for spec in self.servers.values())
            data_dir: Path = kwargs.get("data_dir", DEFAULT_DATA_DIR)
            my_id = self._read_myid(data_dir / "myid", required=participants > 1)
            kwargs["my_id"] = my_id
            me = None if my_id is None else self.servers.get(my_id)
            if me is not None and me.client_port is not None and "client_port" not in kwargs:
                kwargs["client_port"] = me.client_port
            if me is not None and me.client_address is not None:
                explicit = kwargs.get("client_port_address")
                if explicit is None or is_wildcard(explicit):
                    kwargs["client_port_address"] = me.client_address
            self._warn_quorum_size(participants)
        try:
            config = ServerConfig(**kwargs)
        except ConfigError as exc:
            raise self._locate(exc) from None
        return LoadedConfig(config, tuple(self.warnings))

    def _read_myid(self, path: Path, *, required: bool) -> int | None:
        """This server's id from ``dataDir/myid`` (its first line, whitespace ignored)."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            if not required:
                return None
            message = "missing: with server.N lines in the config it must hold this server's id"
            raise ConfigError(message, source=str(path)) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read: {exc}", source=str(path)) from None
        first = (text.splitlines() or [""])[0]
        try:
            server_id = SERVER_IDS.parse(first.strip(_JAVA_SPACE))
        except ValueError as exc:
            message = f"invalid server id '{first}' ({exc})"
            raise ConfigError(message, source=str(path), line=1) from None
        self.origins["myid"] = _Origin(str(path), 1, "myid")
        return server_id

    def _warn_quorum_size(self, participants: int) -> None:
        whole = _Origin(self.source, None, "")
        if participants == 1:
            self._warn(whole, "one participant server.N line only: running standalone")
        elif participants == 2:
            self._warn(whole, "2 participants tolerate no server failure; use at least 3")
        elif participants % 2 == 0:
            self._warn(
                whole,
                f"{participants} participants tolerate no more failures than "
                f"{participants - 1}; consider an odd number",
            )

    def _warn(self, origin: _Origin, text: str) -> None:
        self.warnings.append(f"{origin.where()}: {text}")

    def _locate(self, exc: ConfigError) -> ConfigError:
        for key in exc.keys:
            origin = self.origins.get(key)
            if origin is not None:
                return ConfigError(
                    exc.message, source=origin.source, line=origin.line, keys=exc.keys
                )
        return ConfigError(exc.message, source=self.source, keys=exc.keys)


def _earlier(origin: _Origin) -> str:
    return origin.key if origin.line is None else f"{origin.key} on line {origin.line}"
