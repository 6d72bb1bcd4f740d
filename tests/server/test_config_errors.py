"""zoo.cfg errors (one line naming file:line) and warnings (one per adjusted or ignored key)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from server.config import ConfigError, load_config
from znode.errors import ZabkeeperError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "zoo.cfg"
    path.write_text(text, encoding="utf-8")
    return path


POSITIVE = "a positive integer"
PORT = "an integer from 0 to 65535"
HOST = "a host name or IP address, without a port"
BOOL = "true, false, yes or no"
SERVER_ID = "an integer from 0 to 255"
SERVER_TAIL = "[:participant|:observer][;[clientAddress:]clientPort]"


def invalid(key: str, value: str, expect: str) -> str:
    return f"invalid value for {key}: '{value}' (expected {expect})"


def timeouts(low: int, high: int) -> str:
    return f"minSessionTimeout {low} must not be larger than maxSessionTimeout {high}"


# (zoo.cfg text, line at fault, message)
MALFORMED: list[tuple[str, int | None, str]] = [
    ("tickTime=abc", 1, invalid("tickTime", "abc", POSITIVE)),
    ("tickTime=0", 1, invalid("tickTime", "0", POSITIVE)),
    ("tickTime=-3", 1, invalid("tickTime", "-3", POSITIVE)),
    ("tickTime=", 1, invalid("tickTime", "", POSITIVE)),
    ("tickTime", 1, invalid("tickTime", "", POSITIVE)),
    ("tickTime=2147483648", 1, invalid("tickTime", "2147483648", POSITIVE)),
    ("tickTime=1_000", 1, invalid("tickTime", "1_000", POSITIVE)),
    ("tickTime=\u0663\u0660", 1, invalid("tickTime", "\u0663\u0660", POSITIVE)),
    ("tickTime=2000ms", 1, invalid("tickTime", "2000ms", POSITIVE)),
    ("# c\n\n! c\ninitLimit=ten", 4, invalid("initLimit", "ten", POSITIVE)),
    ("tickTime=20\\\n  0x", 1, invalid("tickTime", "200x", POSITIVE)),
    ("a=1\\\nb=2\nsyncLimit=0", 3, invalid("syncLimit", "0", POSITIVE)),
    ("clientPort=65536", 1, invalid("clientPort", "65536", PORT)),
    ("clientPort=2181.5", 1, invalid("clientPort", "2181.5", PORT)),
    ("clientPortAddress=127.0.0.1:2181", 1, invalid("clientPortAddress", "127.0.0.1:2181", HOST)),
    ("clientPortAddress=", 1, invalid("clientPortAddress", "", HOST)),
    ("clientPortAddress=my host", 1, invalid("clientPortAddress", "my host", HOST)),
    ("clientPortAddress=[zk1]", 1, invalid("clientPortAddress", "[zk1]", HOST)),
    ("maxClientCnxns=-1", 1, invalid("maxClientCnxns", "-1", "an integer >= 0")),
    ("minSessionTimeout=0", 1, invalid("minSessionTimeout", "0", f"{POSITIVE} or -1")),
    ("maxSessionTimeout=x", 1, invalid("maxSessionTimeout", "x", f"{POSITIVE} or -1")),
    ("minSessionTimeout=50000", 1, timeouts(50000, 40000)),
    ("tickTime=100\nmaxSessionTimeout=100", 2, timeouts(200, 100)),
    ("maxSessionTimeout=8000\nminSessionTimeout=9000", 1, timeouts(9000, 8000)),
    ("autopurge.purgeInterval=-1", 1, invalid("autopurge.purgeInterval", "-1", "an integer >= 0")),
    (
        "autopurge.snapRetainCount=x",
        1,
        invalid("autopurge.snapRetainCount", "x", "an integer >= 3"),
    ),
    ("snapCount=lots", 1, invalid("snapCount", "lots", "an integer >= 2")),
    ("forceSync=maybe", 1, invalid("forceSync", "maybe", BOOL)),
    ("syncEnabled=1", 1, invalid("syncEnabled", "1", BOOL)),
    ("zookeeper.extendedTypesEnabled=on", 1, invalid("zookeeper.extendedTypesEnabled", "on", BOOL)),
    ("globalOutstandingLimit=0", 1, invalid("globalOutstandingLimit", "0", POSITIVE)),
    ("jute.maxbuffer=0x100000", 1, invalid("jute.maxbuffer", "0x100000", POSITIVE)),
    ("metricsProvider.httpPort=70000", 1, invalid("metricsProvider.httpPort", "70000", PORT)),
    (
        "znode.container.checkIntervalMs=0",
        1,
        invalid("znode.container.checkIntervalMs", "0", POSITIVE),
    ),
    ("znode.container.maxPerMinute=x", 1, invalid("znode.container.maxPerMinute", "x", POSITIVE)),
    (
        "zookeeper.nio.sessionlessCnxnTimeout=-5",
        1,
        invalid("zookeeper.nio.sessionlessCnxnTimeout", "-5", POSITIVE),
    ),
    (
        "zookeeper.commitLogCount=many",
        1,
        invalid("zookeeper.commitLogCount", "many", "an integer >= 500"),
    ),
    ("dataDir=", 1, invalid("dataDir", "", "a directory path")),
    ("dataLogDir", 1, invalid("dataLogDir", "", "a directory path")),
    ("=2000", 1, "no key before the value '2000'"),
    ("tickTime=2000\n  : x", 2, "no key before the value 'x'"),
    ("foo=\\u12G4", 1, "malformed \\uxxxx escape: '\\u12G4'"),
    ("\n\nfoo=\\u12", 3, "malformed \\uxxxx escape: '\\u12'"),
    ("server.x=zk1:2888:3888", 1, f"invalid server id in server.x (expected {SERVER_ID})"),
    ("server.=zk1:2888:3888", 1, f"invalid server id in server. (expected {SERVER_ID})"),
    ("server.256=zk1:2888:3888", 1, f"invalid server id in server.256 (expected {SERVER_ID})"),
    (
        "server.1=zk1:2888",
        1,
        invalid("server.1", "zk1:2888", f"host:quorumPort:electionPort{SERVER_TAIL}"),
    ),
]
SUPER_DIGESTS = [
    "super",
    "super:",
    ":g9oN2HttPfn8MMWJZ2r45Np/LIA=",
    "super:not*base64",
    "super:AAAA",
    "su per:g9oN2HttPfn8MMWJZ2r45Np/LIA=",
]


@pytest.mark.parametrize(("text", "line", "message"), MALFORMED)
def test_malformed_config_is_one_error_naming_file_and_line(
    tmp_path: Path, text: str, line: int | None, message: str
) -> None:
    path = write(tmp_path, text + "\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    error = caught.value
    assert (error.source, error.line, error.message) == (str(path), line, message)
    assert str(error) == f"{path}:{line}: {message}"
    assert "\n" not in str(error)
    assert isinstance(error, ZabkeeperError)


@pytest.mark.parametrize("digest", SUPER_DIGESTS)
def test_malformed_super_digest(tmp_path: Path, digest: str) -> None:
    path = write(tmp_path, f"zookeeper.DigestAuthenticationProvider.superDigest={digest}\n")
    with pytest.raises(ConfigError, match=r":1: invalid value for zookeeper\.Digest.*SHA-1"):
        load_config(path)


def test_an_unreadable_file_is_an_error_without_a_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.cfg"
    with pytest.raises(ConfigError) as caught:
        load_config(missing)
    assert (caught.value.source, caught.value.line) == (str(missing), None)
    assert str(caught.value) == f"{missing}: cannot read: No such file or directory"


def test_latin1_and_bom_files_read_as_zookeeper_would(tmp_path: Path) -> None:
    path = tmp_path / "zoo.cfg"
    path.write_bytes(b"dataDir=/srv/caf\xe9\n")  # Properties.load(InputStream) is Latin-1
    assert load_config(path).config.data_dir == Path("/srv/caf\u00e9")
    path.write_bytes(b"\xef\xbb\xbftickTime=1000\ndataDir=/srv/\xc3\xa9t\xc3\xa9\n")
    config = load_config(path).config
    assert (config.tick_time, config.data_dir) == (1000, Path("/srv/\u00e9t\u00e9"))


# (zoo.cfg text, field, value, warnings as (line, text))
RELATIVE = "is relative to the current directory"
DYNAMIC_HINT = "its server.N lines are not read; put them in this file"
GROUP_HINT = "hierarchical quorums are not supported; majority quorums are used"


def below(key: str, value: int, floor: int) -> str:
    return f"{key}: {value} is below the minimum of {floor}; using {floor}"


def duplicate(key: str, earlier: str, line: int) -> str:
    return f"duplicate key {key} overrides {earlier} on line {line}"


# (zoo.cfg text, field, value, warnings as "line: text")
ADJUSTED: list[tuple[str, str, Any, list[str]]] = [
    (
        "autopurge.snapRetainCount=1",
        "autopurge_snap_retain_count",
        3,
        ["1: " + below("autopurge.snapRetainCount", 1, 3)],
    ),
    ("snapCount=1", "snap_count", 2, ["1: " + below("snapCount", 1, 2)]),
    (
        "zookeeper.commitLogCount=100",
        "commit_log_count",
        500,
        ["1: " + below("zookeeper.commitLogCount", 100, 500)],
    ),
    (
        "tickTime=1000\ntickTime=3000",
        "tick_time",
        3000,
        ["2: " + duplicate("tickTime", "tickTime", 1)],
    ),
    (
        "snapCount=10\nzookeeper.snapCount=20",
        "snap_count",
        20,
        ["2: " + duplicate("zookeeper.snapCount", "snapCount", 1)],
    ),
    (
        "minSessionTimeout=5000\nminSessionTimeout=-1",
        "min_session_timeout",
        4000,
        ["2: " + duplicate("minSessionTimeout", "minSessionTimeout", 1)],
    ),
    (
        "dataDir=data",
        "data_dir",
        Path("data"),
        [f"1: dataDir: 'data' {RELATIVE} (write ./data if meant)"],
    ),
    (
        "dataLogDir=a/b",
        "data_log_dir",
        Path("a/b"),
        [f"1: dataLogDir: 'a/b' {RELATIVE} (write ./a/b if meant)"],
    ),
    ("dataDir=/abs\ndataLogDir=./rel", "data_log_dir", Path("rel"), []),
    (
        "zookeeper.serverCnxnFactory=x",
        "tick_time",
        2000,
        ["1: ignoring unsupported key zookeeper.serverCnxnFactory"],
    ),
    (
        "dynamicConfigFile=/etc/zk/dyn",
        "servers",
        (),
        [f"1: ignoring unsupported key dynamicConfigFile ({DYNAMIC_HINT})"],
    ),
    (
        "group.1=1:2:3\nweight.1=1",
        "servers",
        (),
        [
            f"1: ignoring unsupported key group.1 ({GROUP_HINT})",
            f"2: ignoring unsupported key weight.1 ({GROUP_HINT})",
        ],
    ),
    (
        "zookeeper.foo=1\njustakey",
        "tick_time",
        2000,
        ["1: ignoring unknown key zookeeper.foo", "2: ignoring unknown key justakey"],
    ),
    ("tickTime 3000\nTickTime=5", "tick_time", 3000, ["2: ignoring unknown key TickTime"]),
]


@pytest.mark.parametrize(("text", "field", "value", "warnings"), ADJUSTED)
def test_adjustments_and_ignored_keys_warn_once_each(
    tmp_path: Path, text: str, field: str, value: object, warnings: list[str]
) -> None:
    path = write(tmp_path, text + "\n")
    loaded = load_config(path)
    assert getattr(loaded.config, field) == value
    assert list(loaded.warnings) == [f"{path}:{warning}" for warning in warnings]
