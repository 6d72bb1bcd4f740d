"""zoo.cfg loading (:mod:`server.config`): defaults, every key, errors with file:line, warnings.

``server.N``, ``myid`` and the client-address rules are in ``test_config_servers.py``; the
``java.util.Properties`` syntax is in ``test_config_properties.py``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from server.config import OVERRIDES, ConfigError, ServerConfig, load_config
from server.config_keys import FOUR_LETTER_WORDS

SAMPLE = Path("/etc/zookeeper/conf/zoo.cfg")
DIGEST = "super:g9oN2HttPfn8MMWJZ2r45Np/LIA="


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "zoo.cfg"
    path.write_text(text, encoding="utf-8")
    return path


DEFAULTS: list[tuple[str, Any]] = [
    ("tick_time", 2000),
    ("init_limit", 10),
    ("sync_limit", 5),
    ("data_dir", Path("zabkeeper-data")),
    ("data_log_dir", Path("zabkeeper-data")),
    ("client_port", 2181),
    ("client_port_address", "127.0.0.1"),
    ("max_client_cnxns", 60),
    ("min_session_timeout", 4000),
    ("max_session_timeout", 40000),
    ("snap_count", 100_000),
    ("autopurge_snap_retain_count", 3),
    ("autopurge_purge_interval", 0),
    ("force_sync", True),
    ("global_outstanding_limit", 1000),
    ("four_letter_whitelist", frozenset({"srvr"})),
    ("jute_max_buffer", 1_048_575),
    ("metrics_http_port", None),
    ("extended_types_enabled", True),
    ("super_digest", None),
    ("container_check_interval_ms", 60_000),
    ("container_max_per_minute", 10_000),
    ("sessionless_cnxn_timeout_ms", 10_000),
    ("commit_log_count", 500),
    ("sync_enabled", True),
    ("servers", ()),
    ("my_id", None),
]


@pytest.mark.parametrize(("field", "expected"), DEFAULTS)
def test_defaults(field: str, expected: object) -> None:
    loaded = load_config(None)
    assert getattr(loaded.config, field) == expected
    assert getattr(ServerConfig(), field) == expected
    assert loaded.warnings == ()
    assert loaded.config.is_standalone


def test_derived_defaults_follow_their_source() -> None:
    config = ServerConfig(tick_time=1000, data_dir=Path("/srv/zk"))
    assert (config.min_session_timeout, config.max_session_timeout) == (2000, 20000)
    assert config.data_log_dir == Path("/srv/zk")


# (key as written, value text, ServerConfig field, expected value)
SUPPORTED: list[tuple[str, str, str, Any]] = [
    ("tickTime", "3000", "tick_time", 3000),
    ("tickTime", "+3000", "tick_time", 3000),
    ("initLimit", "7", "init_limit", 7),
    ("syncLimit", "4", "sync_limit", 4),
    ("dataDir", "/var/lib/zookeeper", "data_dir", Path("/var/lib/zookeeper")),
    ("dataDir", "./data", "data_dir", Path("data")),
    ("dataLogDir", "/var/log/zk", "data_log_dir", Path("/var/log/zk")),
    ("clientPort", "2182", "client_port", 2182),
    ("clientPort", "0", "client_port", 0),
    ("clientPortAddress", "0.0.0.0", "client_port_address", "0.0.0.0"),
    ("clientPortAddress", "zk1.example.com", "client_port_address", "zk1.example.com"),
    ("clientPortAddress", "::1", "client_port_address", "::1"),
    ("clientPortAddress", "[::1]", "client_port_address", "::1"),
    ("maxClientCnxns", "0", "max_client_cnxns", 0),
    ("minSessionTimeout", "1000", "min_session_timeout", 1000),
    ("maxSessionTimeout", "60000", "max_session_timeout", 60000),
    ("snapCount", "50000", "snap_count", 50000),
    ("zookeeper.snapCount", "50000", "snap_count", 50000),
    ("autopurge.snapRetainCount", "5", "autopurge_snap_retain_count", 5),
    ("autopurge.purgeInterval", "24", "autopurge_purge_interval", 24),
    ("forceSync", "no", "force_sync", False),
    ("forceSync", "false", "force_sync", False),
    ("forceSync", "NO", "force_sync", False),
    ("zookeeper.forceSync", "no", "force_sync", False),
    ("globalOutstandingLimit", "5000", "global_outstanding_limit", 5000),
    ("zookeeper.globalOutstandingLimit", "5000", "global_outstanding_limit", 5000),
    ("4lw.commands.whitelist", "ruok", "four_letter_whitelist", frozenset({"ruok", "srvr"})),
    ("zookeeper.4lw.commands.whitelist", "*", "four_letter_whitelist", FOUR_LETTER_WORDS),
    ("jute.maxbuffer", "4194304", "jute_max_buffer", 4_194_304),
    ("metricsProvider.httpPort", "7000", "metrics_http_port", 7000),
    ("zookeeper.extendedTypesEnabled", "false", "extended_types_enabled", False),
    ("extendedTypesEnabled", "FALSE", "extended_types_enabled", False),
    ("zookeeper.DigestAuthenticationProvider.superDigest", DIGEST, "super_digest", DIGEST),
    ("DigestAuthenticationProvider.superDigest", DIGEST, "super_digest", DIGEST),
    ("znode.container.checkIntervalMs", "1000", "container_check_interval_ms", 1000),
    ("znode.container.maxPerMinute", "20", "container_max_per_minute", 20),
    ("zookeeper.nio.sessionlessCnxnTimeout", "3000", "sessionless_cnxn_timeout_ms", 3000),
    ("nio.sessionlessCnxnTimeout", "3000", "sessionless_cnxn_timeout_ms", 3000),
    ("zookeeper.commitLogCount", "1000", "commit_log_count", 1000),
    ("commitLogCount", "1000", "commit_log_count", 1000),
    ("syncEnabled", "false", "sync_enabled", False),
]


@pytest.mark.parametrize(("key", "text", "field", "expected"), SUPPORTED)
def test_every_supported_key(
    tmp_path: Path, key: str, text: str, field: str, expected: object
) -> None:
    assert getattr(ServerConfig(), field) != expected  # the test shows the key took effect
    loaded = load_config(write(tmp_path, f"# a comment\n{key}={text}\n"))
    assert getattr(loaded.config, field) == expected
    assert loaded.warnings == ()
    assert getattr(load_config(None, {key: text}).config, field) == expected


def test_the_shipped_sample_loads() -> None:
    if not SAMPLE.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {SAMPLE} is missing (install Debian's zookeeper package)")
        pytest.skip(f"{SAMPLE} is missing (Debian's zookeeper package is not installed)")
    loaded = load_config(SAMPLE)
    config = loaded.config
    assert loaded.warnings == ()
    assert (config.tick_time, config.init_limit, config.sync_limit) == (2000, 10, 5)
    assert (config.data_dir, config.client_port) == (Path("/tmp/zookeeper"), 2181)
    assert config.is_standalone


PRODUCTION = """\
# zoo.cfg as a 3.8 ensemble member might carry it
tickTime=2000
initLimit=10
syncLimit=5
dataDir={data}
dataLogDir={data}/log
clientPort=2181
maxClientCnxns=0
autopurge.snapRetainCount=10
autopurge.purgeInterval=1
4lw.commands.whitelist=ruok, srvr, mntr, stat
serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory
secureClientPort=2281
ssl.keyStore.location=/etc/zk/keystore.jks
ssl.keyStore.password=secret
ssl.quorum.trustStore.location=/etc/zk/truststore.jks
authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider
authProvider.sasl=org.apache.zookeeper.server.auth.SASLAuthenticationProvider
admin.enableServer=false
admin.serverPort=8080
reconfigEnabled=false
standaloneEnabled=false
localSessionsEnabled=true
localSessionsUpgradingEnabled=true
peerType=participant
quorumListenOnAllIPs=true
electionAlg=3
metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider
metricsProvider.httpPort=7000
metricsProvider.exportJvmInfo=true
quorum.auth.enableSasl=true
sslQuorum=true
zookeeper.snapshot.compression.method=gz
jute.maxbuffer=4194304
skipACL=no
customTeamSetting=42
server.1=zk1.example.com:2888:3888;2181
server.2=zk2.example.com:2888:3888;2181
server.3=zk3.example.com:2888:3888;2181
"""
PRODUCTION_WARNINGS = {
    12: "ignoring unsupported key serverCnxnFactory",
    13: "ignoring unsupported key secureClientPort",
    14: "ignoring unsupported key ssl.keyStore.location",
    15: "ignoring unsupported key ssl.keyStore.password",
    16: "ignoring unsupported key ssl.quorum.trustStore.location",
    17: "ignoring unsupported key authProvider.1",
    18: "ignoring unsupported key authProvider.sasl",
    19: "ignoring unsupported key admin.enableServer",
    20: "ignoring unsupported key admin.serverPort",
    21: "ignoring unsupported key reconfigEnabled",
    22: "ignoring unsupported key standaloneEnabled (one server.N line always means standalone)",
    23: "ignoring unsupported key localSessionsEnabled",
    24: "ignoring unsupported key localSessionsUpgradingEnabled",
    25: "ignoring unsupported key peerType",
    26: "ignoring unsupported key quorumListenOnAllIPs",
    27: "ignoring unsupported key electionAlg",
    28: "ignoring unsupported key metricsProvider.className",
    30: "ignoring unsupported key metricsProvider.exportJvmInfo",
    31: "ignoring unsupported key quorum.auth.enableSasl",
    32: "ignoring unsupported key sslQuorum",
    33: "ignoring unsupported key zookeeper.snapshot.compression.method",
    35: "ignoring unsupported key skipACL",
    36: "ignoring unknown key customTeamSetting",
}


def test_a_production_config_loads_with_one_warning_per_unsupported_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "myid").write_text("2\n")
    path = write(tmp_path, PRODUCTION.format(data=data))
    loaded = load_config(path)
    assert list(loaded.warnings) == [f"{path}:{n}: {w}" for n, w in PRODUCTION_WARNINGS.items()]
    config = loaded.config
    assert (config.my_id, config.is_standalone, len(config.servers)) == (2, False, 3)
    assert config.four_letter_whitelist == {"ruok", "srvr", "mntr", "stat"}
    assert (config.metrics_http_port, config.jute_max_buffer) == (7000, 4_194_304)
    assert (config.max_client_cnxns, config.autopurge_snap_retain_count) == (0, 10)
    assert config.data_log_dir == data / "log"


# (whitelist text, words enabled, the warning if any)
WHITELISTS: list[tuple[str, set[str], str | None]] = [
    ("ruok", {"ruok", "srvr"}, None),
    ("ruok, stat", {"ruok", "stat", "srvr"}, None),
    ("  ruok ,stat ,  mntr  ", {"ruok", "stat", "mntr", "srvr"}, None),
    ("ruok,,mntr ,", {"ruok", "mntr", "srvr"}, None),
    ("*", set(FOUR_LETTER_WORDS), None),
    ("ruok, *", set(FOUR_LETTER_WORDS), None),
    (" * ", set(FOUR_LETTER_WORDS), None),
    ("", {"srvr"}, None),
    (
        "conf,cons,crst,dump,envi,srst,wchs,wchc,wchp,isro,dirs,gtmk,stmk,hash",
        set(FOUR_LETTER_WORDS) - {"ruok", "stat", "mntr"},
        None,
    ),
    ("RUOK,xyzw", {"srvr"}, "ignoring unknown four-letter words 'RUOK', 'xyzw'"),
    ("ruok stat", {"srvr"}, "ignoring unknown four-letter words 'ruok stat'"),
    ("ruok, kill", {"ruok", "srvr"}, "ignoring unknown four-letter words 'kill'"),
]


@pytest.mark.parametrize(("text", "words", "warning"), WHITELISTS)
def test_four_letter_whitelist(
    tmp_path: Path, text: str, words: set[str], warning: str | None
) -> None:
    path = write(tmp_path, f"4lw.commands.whitelist={text}\n")
    loaded = load_config(path)
    assert loaded.config.four_letter_whitelist == words
    expected = [] if warning is None else [f"{path}:1: 4lw.commands.whitelist: {warning}"]
    assert list(loaded.warnings) == expected


def test_all_four_letter_words_are_zookeepers() -> None:
    assert len(FOUR_LETTER_WORDS) == 18
    assert {"ruok", "srvr", "stat", "mntr", "conf", "cons", "isro", "hash"} <= FOUR_LETTER_WORDS


def test_overrides_win_over_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "tickTime=2000\nclientPort=2181\nsnapCount=10\nforceSync=yes\n")
    overrides = {
        "tickTime": "3000",
        "clientPort": " 2999 ",
        "zookeeper.snapCount": "20",
        "forceSync": "no",
    }
    loaded = load_config(path, overrides)
    config = loaded.config
    assert (config.tick_time, config.client_port, config.snap_count) == (3000, 2999, 20)
    assert (config.force_sync, config.min_session_timeout) == (False, 6000)
    assert loaded.warnings == ()


def test_overrides_alone_and_their_errors_and_warnings() -> None:
    loaded = load_config(None, {"dataDir": "/srv/zk", "foo": "1"})
    assert loaded.config.data_dir == Path("/srv/zk")
    assert loaded.warnings == (f"{OVERRIDES}: ignoring unknown key foo",)
    with pytest.raises(ConfigError) as caught:
        load_config(None, {"tickTime": "x"})
    assert (
        str(caught.value)
        == f"{OVERRIDES}: invalid value for tickTime: 'x' (expected a positive integer)"
    )
    assert (caught.value.source, caught.value.line) == (OVERRIDES, None)


def test_a_cross_field_error_points_at_the_override_that_caused_it(tmp_path: Path) -> None:
    path = write(tmp_path, "minSessionTimeout=10000\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, {"maxSessionTimeout": "5000"})
    assert str(caught.value) == (
        f"{OVERRIDES}: minSessionTimeout 10000 must not be larger than maxSessionTimeout 5000"
    )


HOST = "a host name or IP address, without a port"
WORDS = "comma-separated four-letter words or *"
DIGEST_FORM = "user:base64 SHA-1 digest, e.g. super:g9oN2HttPfn8MMWJZ2r45Np/LIA="


# ServerConfig built in code is validated too (field=value → message).
INVALID_CONFIGS: list[tuple[dict[str, Any], str]] = [
    ({"tick_time": 0}, "invalid value for tickTime: '0' (expected a positive integer)"),
    (
        {"client_port": -1},
        "invalid value for clientPort: '-1' (expected an integer from 0 to 65535)",
    ),
    (
        {"client_port_address": "a:b"},
        f"invalid value for clientPortAddress: 'a:b' (expected {HOST})",
    ),
    ({"force_sync": "no"}, "invalid value for forceSync: 'no' (expected true, false, yes or no)"),
    ({"snap_count": 1}, "invalid value for snapCount: '1' (expected an integer >= 2)"),
    (
        {"autopurge_snap_retain_count": 2},
        "invalid value for autopurge.snapRetainCount: '2' (expected an integer >= 3)",
    ),
    (
        {"four_letter_whitelist": frozenset({"kill"})},
        f"invalid value for 4lw.commands.whitelist: 'frozenset({{'kill'}})' (expected {WORDS})",
    ),
    (
        {"super_digest": "super"},
        "invalid value for DigestAuthenticationProvider.superDigest: 'super' "
        f"(expected {DIGEST_FORM})",
    ),
    (
        {"min_session_timeout": 5000, "max_session_timeout": 4000},
        "minSessionTimeout 5000 must not be larger than maxSessionTimeout 4000",
    ),
    ({"my_id": 300}, "invalid value for myid: '300' (expected an integer from 0 to 255)"),
]


@pytest.mark.parametrize(("kwargs", "message"), INVALID_CONFIGS)
def test_server_config_validators(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ServerConfig(**kwargs)
    assert str(caught.value) == message
    assert caught.value.source is None
