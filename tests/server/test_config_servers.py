"""``server.N`` lines, ``dataDir/myid`` and the client-address rules of :mod:`server.config`.

The accepted and rejected forms follow ZooKeeper 3.8's ``QuorumPeer.QuorumServer`` and
``ConfigUtils.getHostAndPort``; where we are stricter (duplicate ids or addresses, a myid
without a line) the module docstring of :mod:`server.config` says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.config import ConfigError, ServerConfig, ServerSpec, load_config
from server.config_keys import parse_server

THREE = "server.1=zk1:2888:3888\nserver.2=zk2:2888:3888\nserver.3=zk3:2888:3888\n"
FORMAT = "host:quorumPort:electionPort[:participant|:observer][;[clientAddress:]clientPort]"


def ensemble(tmp_path: Path, lines: str, myid: str | None = "1") -> Path:
    """A zoo.cfg whose dataDir holds ``myid`` (none if None); its first line is dataDir."""
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    if myid is not None:
        (data / "myid").write_text(myid)
    path = tmp_path / "zoo.cfg"
    path.write_text(f"dataDir={data}\n{lines}")
    return path


# (server.N value, the parsed fields beyond id)
SERVER_FORMS: list[tuple[str, dict[str, Any]]] = [
    ("zk4:2888:3888", {"host": "zk4"}),
    ("zk4:2888:3888:participant", {"host": "zk4"}),
    ("zk4:2888:3888:observer", {"host": "zk4", "role": "observer"}),
    ("zk4:2888:3888:OBSERVER", {"host": "zk4", "role": "observer"}),
    ("zk4:2888:3888;2181", {"host": "zk4", "client_port": 2181}),
    (
        "zk4:2888:3888:participant;10.0.0.1:2182",
        {"host": "zk4", "client_address": "10.0.0.1", "client_port": 2182},
    ),
    ("10.0.0.1:2888:3888", {"host": "10.0.0.1"}),
    ("zk-1.example.com.:2888:3888", {"host": "zk-1.example.com."}),
    ("[::1]:2888:3888", {"host": "::1"}),
    ("[fe80::1%eth0]:2888:3888", {"host": "fe80::1%eth0"}),
    (
        "[2001:db8::1]:2888:3888:observer;[2001:db8::1]:2181",
        {"host": "2001:db8::1", "role": "observer", "client_address": "2001:db8::1"}
        | {"client_port": 2181},
    ),
]


@pytest.mark.parametrize(("value", "fields"), SERVER_FORMS)
def test_server_line_forms(tmp_path: Path, value: str, fields: dict[str, Any]) -> None:
    spec = ServerSpec(id=4, quorum_port=2888, election_port=3888, **fields)
    assert load_config(ensemble(tmp_path, THREE + f"server.4={value}\n")).config.servers[3] == spec


# (server.N value, what is wrong)
BAD_SERVERS: list[tuple[str, str]] = [
    ("zk1:2888", f"expected {FORMAT}"),
    ("zk1:2888:3888:observer:x", f"expected {FORMAT}"),
    ("zk1:2888:3888;a;b", f"expected {FORMAT}"),
    ("zk1:2888:2888", "quorum and election ports must differ, both are 2888"),
    ("zk1:0:3888", "port '0' is not an integer from 1 to 65535"),
    ("zk1:2888:65536", "port '65536' is not an integer from 1 to 65535"),
    ("zk1:abc:3888", "port 'abc' is not an integer from 1 to 65535"),
    ("zk1: 2888:3888", "port ' 2888' is not an integer from 1 to 65535"),
    ("zk1:2888:3888:leader", "unknown role 'leader': expected participant or observer"),
    ("zk1:2888:3888;", "missing client port after ';'"),
    ("zk1:2888:3888;1.2.3.4:5:6", "expected [clientAddress:]clientPort after ';'"),
    ("zk1:2888:3888;x", "port 'x' is not an integer from 1 to 65535"),
    ("zk1:2888:3888;2181:x", "port 'x' is not an integer from 1 to 65535"),
    (":2888:3888", "missing host in ':2888:3888'"),
    ("", "missing host in ''"),
    ("zk 1:2888:3888", "'zk 1' is not a host name or IP address"),
    ("[::1:2888:3888", "'[::1:2888:3888' starts with '[' but has no matching ']'"),
    ("[::1]2888:3888", "expected ':' and a port after ']' in '[::1]2888:3888'"),
    ("[zk1]:2888:3888", "'zk1' in brackets is not an IPv6 address"),
    ("zk1:2888:3888|zk1b:2888:3888", "multiple addresses per server (|) are not supported"),
]


@pytest.mark.parametrize(("value", "problem"), BAD_SERVERS)
def test_bad_server_lines(tmp_path: Path, value: str, problem: str) -> None:
    path = ensemble(tmp_path, f"tickTime=2000\nserver.7={value}\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}:3: invalid value for server.7: '{value}' ({problem})"


# (server lines after dataDir, line at fault, message)
BAD_ENSEMBLES: list[tuple[str, int, str]] = [
    (
        THREE + "server.1=zk9:2888:3888\n",
        5,
        "duplicate server id 1: server.1 repeats server.1 on line 2",
    ),
    (
        THREE + "server.01=zk9:2888:3888\n",
        5,
        "duplicate server id 1: server.01 repeats server.1 on line 2",
    ),
    (THREE + "server.4=ZK1:2888:3999\n", 5, "server.4 uses ZK1:2888, as server.1 does"),
    (THREE + "server.4=zk1:3888:2888\n", 5, "server.4 uses zk1:3888, as server.1 does"),
    (
        "server.1=[::1]:2888:3888\nserver.2=[0:0::1]:2888:3999\nserver.3=zk3:2888:3888\n",
        3,
        "server.2 uses [0:0::1]:2888, as server.1 does",
    ),
    (
        "server.1=zk1:2888:3888\nserver.2=zk2:2888:3888:observer\n",
        3,
        "observers need a quorum: at least two participant server.N lines",
    ),
    (
        "server.1=zk1:2888:3888:observer\n",
        2,
        "observers need a quorum: at least two participant server.N lines",
    ),
    (
        THREE + "server.255=zk9:2888:3888\n",
        5,
        "server id 255 is above 254, the limit while "
        "extendedTypesEnabled is true (TTL session ids reserve 255)",
    ),
]


@pytest.mark.parametrize(("lines", "line", "message"), BAD_ENSEMBLES)
def test_bad_ensembles(tmp_path: Path, lines: str, line: int, message: str) -> None:
    path = ensemble(tmp_path, lines)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}:{line}: {message}"


def test_same_ports_on_different_hosts_and_id_255_without_ttl(tmp_path: Path) -> None:
    lines = THREE + "server.255=zk9:2888:3888\nextendedTypesEnabled=false\n"
    config = load_config(ensemble(tmp_path, lines, myid="255")).config
    assert [spec.id for spec in config.servers] == [1, 2, 3, 255]
    assert config.my_id == 255


def test_servers_are_sorted_by_id_and_the_ensemble_is_described(tmp_path: Path) -> None:
    lines = "server.3=zk3:2888:3888\nserver.1=zk1:2888:3888\nserver.2=zk2:2888:3888:observer\n"
    lines += "server.4=zk4:2888:3888\n"
    loaded = load_config(ensemble(tmp_path, lines, myid="3"))
    config = loaded.config
    assert [spec.id for spec in config.servers] == [1, 2, 3, 4]
    assert (config.my_id, config.is_standalone) == (3, False)
    assert config.my_server == config.servers[2]
    assert [spec.is_observer for spec in config.servers] == [False, True, False, False]
    assert loaded.warnings == ()


QUORUM_WARNINGS: list[tuple[str, str | None]] = [
    ("server.1=zk1:2888:3888\n", "one participant server.N line only: running standalone"),
    (
        "server.1=zk1:2888:3888\nserver.2=zk2:2888:3888\n",
        "2 participants tolerate no server failure; use at least 3",
    ),
    (THREE, None),
    (
        THREE + "server.4=zk4:2888:3888\n",
        "4 participants tolerate no more failures than 3; consider an odd number",
    ),
    (THREE + "server.4=zk4:2888:3888:observer\n", None),
]


@pytest.mark.parametrize(("lines", "warning"), QUORUM_WARNINGS)
def test_quorum_size_warnings(tmp_path: Path, lines: str, warning: str | None) -> None:
    path = ensemble(tmp_path, lines)
    expected = () if warning is None else (f"{path}: {warning}",)
    assert load_config(path).warnings == expected


def test_one_participant_is_standalone_and_needs_no_myid(tmp_path: Path) -> None:
    config = load_config(ensemble(tmp_path, "server.1=zk1:2888:3888\n", myid=None)).config
    assert (config.is_standalone, config.my_id, len(config.servers)) == (True, None, 1)


def test_without_server_lines_myid_is_not_read(tmp_path: Path) -> None:
    config = load_config(ensemble(tmp_path, "tickTime=2000\n", myid="not a number")).config
    assert (config.is_standalone, config.my_id) == (True, None)


# (myid file content or None for no file, server lines, my_id or the error after "data/myid")
MYIDS: list[tuple[str | None, str, int | str]] = [
    ("2", THREE, 2),
    ("2\n", THREE, 2),
    (" 3 \r\n", THREE, 3),
    ("1\nsecond line ignored\n", THREE, 1),
    (None, THREE, ": missing: with server.N lines in the config it must hold this server's id"),
    ("abc\n", THREE, ":1: invalid server id 'abc' (expected an integer from 0 to 255)"),
    ("", THREE, ":1: invalid server id '' (expected an integer from 0 to 255)"),
    ("-1", THREE, ":1: invalid server id '-1' (expected an integer from 0 to 255)"),
    ("4", THREE, ":1: server id 4 has no server.N line"),
    (
        "x",
        "server.1=zk1:2888:3888\n",
        ":1: invalid server id 'x' (expected an integer from 0 to 255)",
    ),
    ("2", "server.1=zk1:2888:3888\n", ":1: server id 2 has no server.N line"),
]


@pytest.mark.parametrize(("myid", "lines", "outcome"), MYIDS)
def test_myid(tmp_path: Path, myid: str | None, lines: str, outcome: int | str) -> None:
    path = ensemble(tmp_path, lines, myid=myid)
    if isinstance(outcome, int):
        assert load_config(path).config.my_id == outcome
        return
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"{tmp_path / 'data' / 'myid'}{outcome}"
    assert caught.value.source == str(tmp_path / "data" / "myid")


def test_myid_is_read_from_the_overridden_data_dir(tmp_path: Path) -> None:
    path = ensemble(tmp_path, THREE)
    other = tmp_path / "other"
    other.mkdir()
    (other / "myid").write_text("3")
    loaded = load_config(path, {"dataDir": str(other), "server.3": "zk9:2888:3888;2999"})
    config = loaded.config
    assert (config.data_dir, config.my_id, config.client_port) == (other, 3, 2999)
    assert config.servers[2].host == "zk9"


# (extra zoo.cfg lines before the servers, server.1's client part, port, address or error)
CLIENT_RULES: list[tuple[str, str, tuple[int, str] | str]] = [
    ("", "", (2181, "127.0.0.1")),
    ("", ";2182", (2182, "127.0.0.1")),
    ("clientPort=2182\n", ";2182", (2182, "127.0.0.1")),
    (
        "clientPort=2181\n",
        ";2182",
        "2: clientPort 2181 differs from the client port in "
        "server.1=zk1:2888:3888:participant;2182",
    ),
    ("", ";10.0.0.1:2182", (2182, "10.0.0.1")),
    ("clientPortAddress=0.0.0.0\n", ";10.0.0.1:2182", (2182, "10.0.0.1")),
    ("clientPortAddress=10.0.0.1\n", ";10.0.0.1:2182", (2182, "10.0.0.1")),
    ("clientPortAddress=10.0.0.5\n", ";2182", (2182, "10.0.0.5")),
    (
        "clientPortAddress=10.0.0.2\n",
        ";10.0.0.1:2182",
        "2: clientPortAddress 10.0.0.2 differs "
        "from the client address in server.1=zk1:2888:3888:participant;10.0.0.1:2182",
    ),
]


@pytest.mark.parametrize(("extra", "client", "outcome"), CLIENT_RULES)
def test_client_address_precedence(
    tmp_path: Path, extra: str, client: str, outcome: tuple[int, str] | str
) -> None:
    lines = f"{extra}server.1=zk1:2888:3888{client}\nserver.2=zk2:2888:3888;2999\n"
    path = ensemble(tmp_path, lines + "server.3=zk3:2888:3888\n")
    if isinstance(outcome, tuple):
        config = load_config(path).config
        assert (config.client_port, config.client_port_address) == outcome
        return
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value) == f"{path}:{outcome}"


# ServerSpec and the servers of a ServerConfig built in code (kwargs → message).
SPEC: dict[str, Any] = {"id": 1, "host": "zk1", "quorum_port": 2888, "election_port": 3888}
BAD_SPECS: list[tuple[dict[str, Any], str]] = [
    ({"quorum_port": 3888}, "server.1: quorum and election ports must differ, both are 3888"),
    (
        {"quorum_port": 0},
        "invalid quorum port for server.1: '0' (expected an integer from 1 to 65535)",
    ),
    (
        {"host": "a b"},
        "invalid host for server.1: 'a b' (expected a host name or IP address, without a port)",
    ),
    ({"role": "leader"}, "invalid role for server.1: 'leader' (expected participant or observer)"),
    ({"client_address": "10.0.0.1"}, "server.1: a client address needs a client port"),
    ({"id": 256}, "invalid value for server.N: '256' (expected an integer from 0 to 255)"),
]


@pytest.mark.parametrize(("changes", "message"), BAD_SPECS)
def test_server_spec_validators(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ServerSpec(**(SPEC | changes))
    assert str(caught.value) == message


def test_server_config_rejects_duplicate_ids() -> None:
    servers = [ServerSpec(**(SPEC | {"host": host})) for host in ("zk1", "zk2")]
    with pytest.raises(ConfigError, match=r"^duplicate server id 1$"):
        ServerConfig(servers=servers, my_id=1)


def test_server_config_needs_my_id_in_an_ensemble() -> None:
    servers = [ServerSpec(**(SPEC | {"id": n, "host": f"zk{n}"})) for n in (3, 1, 2)]
    with pytest.raises(
        ConfigError, match=r"^an ensemble needs this server's id \(the myid file\)$"
    ):
        ServerConfig(servers=servers)
    config = ServerConfig(servers=servers, my_id=2)
    assert [spec.id for spec in config.servers] == [1, 2, 3]
    assert config.my_server == servers[2]


hosts = st.one_of(
    st.from_regex(r"[a-z][a-z0-9-]{0,10}(\.[a-z][a-z0-9]{0,5}){0,2}", fullmatch=True),
    st.ip_addresses().map(str),
)
ports = st.integers(1, 65535)


@given(
    host=hosts,
    quorum_port=ports,
    election_port=ports,
    role=st.sampled_from(["participant", "observer"]),
    client=st.one_of(st.none(), st.tuples(st.one_of(st.none(), hosts), ports)),
)
def test_zoo_cfg_value_round_trips(
    host: str,
    quorum_port: int,
    election_port: int,
    role: str,
    client: tuple[str | None, int] | None,
) -> None:
    if quorum_port == election_port:
        return
    address, port = client if client is not None else (None, None)
    spec = ServerSpec(
        id=5,
        host=host,
        quorum_port=quorum_port,
        election_port=election_port,
        role=role,  # type: ignore[arg-type]
        client_address=address,
        client_port=port,
    )
    assert ServerSpec(id=5, **parse_server(spec.zoo_cfg_value())._asdict()) == spec
