"""``zabkeeper shell`` through click's CliRunner against a zabkeeper server.

The script files replay every command and flag and compare the output with what zkCli.sh
printed for the same commands; the other tests cover what zkCli does not do the same way
(exit statuses, ``--json``, ``help``) and the shell's own edges.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import attrs
import pytest
from click.testing import CliRunner

from cli.main import main
from server.testing import ServerProcess, free_ports
from support.shell_scripts import Script, all_scripts
from support.zkcli import mask


@pytest.fixture(scope="module")
def hosts() -> Iterator[str]:
    with ServerProcess() as server:
        yield server.hosts


@attrs.frozen
class Ran:
    stdout: str
    stderr: str
    exit_code: int


def shell(hosts: str, *args: str, script: str | None = None) -> Ran:
    """Run ``zabkeeper shell -server hosts args...`` (reading ``script`` as stdin)."""
    result = CliRunner().invoke(main, ["shell", "-server", hosts, *args], input=script)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return Ran(mask(result.stdout), mask(result.stderr), result.exit_code)


CONNECTED = "\nWATCHER::\n\nWatchedEvent state:SyncConnected type:None path:null\n"


def banner(hosts: str) -> str:
    return f"Connecting to {hosts}\n{CONNECTED}"


STAT = (
    "cZxid = <zxid>\nctime = <time>\nmZxid = <zxid>\nmtime = <time>\npZxid = <zxid>\n"
    "cversion = {cversion}\ndataVersion = {version}\naclVersion = 0\nephemeralOwner = 0x0\n"
    "dataLength = {length}\nnumChildren = {children}\n"
)


@pytest.mark.parametrize("script", all_scripts(), ids=lambda script: script.name)
def test_script_prints_what_zkcli_prints(hosts: str, script: Script) -> None:
    expected = script.for_server(hosts)
    ran = shell(hosts, script=expected.commands)
    assert ran.stdout == expected.stdout
    assert ran.stderr == expected.stderr
    assert ran.exit_code == expected.exit_code


def test_one_shot_commands_and_their_status(hosts: str) -> None:
    created = shell(hosts, "create", "/one", "hello")
    assert (created.stdout, created.stderr, created.exit_code) == (
        banner(hosts),
        "Created /one\n",
        0,
    )
    got = shell(hosts, "get", "-s", "/one")
    assert got.stdout == banner(hosts) + "hello\n" + STAT.format(
        cversion=0, version=0, length=5, children=0
    )
    assert got.exit_code == 0
    missing = shell(hosts, "get", "/one/none")
    assert (missing.stderr, missing.exit_code) == ("Node does not exist: /one/none\n", 1)
    unknown = shell(hosts, "bogus")
    assert unknown.exit_code == 127
    assert unknown.stderr.endswith("Command not found: Command not found bogus\n")
    usage = shell(hosts, "get")
    assert (usage.stderr, usage.exit_code) == ("get [-s] [-w] path\n", 1)
    # Options after the command word belong to the command, as with zkCli.sh.
    flags = shell(hosts, "ls", "-s", "/one")
    assert flags.stdout == banner(hosts) + "[]\n" + STAT.format(
        cversion=0, version=0, length=5, children=0
    )
    assert shell(hosts, "delete", "/one").exit_code == 0


def test_failures_zkcli_only_prints_fail_the_command(hosts: str) -> None:
    # zkCli.sh exits 0 after each of these; the shell reports them as failures.
    for args, stdout, stderr in [
        (
            ["listquota", "/nq"],
            "",
            "absolute path is /zookeeper/quota/nq/zookeeper_limits\n"
            "quota for /nq does not exist.\n",
        ),
        (["delquota", "/nq"], "Quota does not exist for /nq\n", ""),
        (["setquota", "-n", "0", "/"], "", "the num quota must be greater than zero\n"),
        (
            ["setquota", "-n", "1", "/zookeeper/quota/x"],
            "",
            "cannot set a quota under the path: /zookeeper/quota\n",
        ),
    ]:
        ran = shell(hosts, *args)
        assert (ran.stdout, ran.stderr, ran.exit_code) == (banner(hosts) + stdout, stderr, 1), args


def test_values_zkcli_crashes_on_are_errors(hosts: str) -> None:
    assert shell(hosts, "create", "/v", "x").exit_code == 0
    bad = shell(hosts, "set", "-v", "x", "/v", "y")
    assert (bad.stderr, bad.exit_code) == ("-v argument must be an int value\n", 1)
    bad = shell(hosts, script="redo x\n")
    assert (bad.stderr, bad.exit_code) == ("redo needs a command number, not 'x'\n", 1)
    assert shell(hosts, "delete", "/v").exit_code == 0


def test_stdin_status_is_the_last_commands(hosts: str) -> None:
    assert shell(hosts, script="get /none\nls /zookeeper\n").exit_code == 0
    ran = shell(hosts, script="ls /zookeeper\nget /none\n\n")
    assert ran.exit_code == 1
    assert ran.stdout == banner(hosts) + "[config, quota]\n"


def test_help_lists_the_commands(hosts: str) -> None:
    ran = shell(hosts, "help")
    assert ran.exit_code == 0
    lines = ran.stdout.splitlines()
    assert lines[5] == "<usage>"
    assert "\tcreate [-s] [-e] [-c] [-t ttl] path [data] [acl]" in lines
    assert "\tremovewatches path [-c|-d|-a] [-l]" in lines
    assert len(lines) == 5 + 1 + 28


def test_null_and_empty_data_differ(hosts: str) -> None:
    ran = shell(
        hosts,
        script='create /nul\ncreate /emp ""\nget /nul\nget /emp\nget -w /nul\n'
        "deleteall /nul\ndeleteall /emp\n",
    )
    assert ran.stdout == banner(hosts) + "null\n\nnull\n" + (
        "\nWATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDeleted path:/nul\n"
    )


def test_chroot_paths_are_client_paths(hosts: str) -> None:
    assert shell(hosts, "create", "/app").exit_code == 0
    ran = shell(f"{hosts}/app", script="create /a x\nls -w /\ncreate /b\nls -R /\nget /a\n")
    assert ran.stdout == (
        f"Connecting to {hosts}/app\n{CONNECTED}"
        "[a]\n\nWATCHER::\n\nWatchedEvent state:SyncConnected type:NodeChildrenChanged path:/\n"
        "/\n/a\n/b\nx\n"
    )
    assert shell(hosts, "deleteall", "/app").exit_code == 0


def test_set_acl_recursive_reports_each_failure(hosts: str) -> None:
    ran = shell(
        hosts,
        script="create /ra\ncreate /ra/b\ncreate /ra/c\nsetAcl /ra/b world:anyone:r\n"
        "setAcl -R /ra world:anyone:cdrwa\nsetAcl -R /ra/c world:anyone:cdrwa\n",
    )
    # zkCli prints these on stdout with no line break between them.
    assert ran.stderr.splitlines()[-1] == "KeeperErrorCode = NoAuth for /ra/b"
    assert ran.exit_code == 0  # the last command succeeded
    ran = shell(hosts, "setAcl", "-R", "/ra", "world:anyone:cdrwa")
    assert (ran.stderr, ran.exit_code) == ("KeeperErrorCode = NoAuth for /ra/b\n", 1)
    assert shell(hosts, "deleteall", "/ra").exit_code == 0


def test_connect_replaces_the_session_and_its_watches(hosts: str) -> None:
    assert shell(hosts, "create", "/ev", "0").exit_code == 0
    ran = shell(hosts, script=f"addWatch /ev\nconnect {hosts}\nset /ev 2\nremovewatches /ev\n")
    closed = "\nWATCHER::\n\nWatchedEvent state:Closed type:None path:null\n"
    assert ran.stdout == banner(hosts) + closed + CONNECTED
    assert (ran.stderr, ran.exit_code) == ("KeeperErrorCode = No such watcher for /ev\n", 1)
    assert shell(hosts, "delete", "/ev").exit_code == 0


def json_lines(text: str) -> list[object]:
    return [json.loads(line) for line in text.splitlines()]


def test_json_output(hosts: str) -> None:
    ran = shell(hosts, "--json", "create", "/js", "hi")
    assert (json_lines(ran.stdout), ran.stderr, ran.exit_code) == ([{"created": "/js"}], "", 0)
    ran = shell(hosts, "--json", "get", "/js")
    [got] = json_lines(ran.stdout)
    assert isinstance(got, dict)
    assert (got["path"], got["data"], got["stat"]["dataLength"]) == ("/js", "hi", 2)
    ran = shell(hosts, "--json", "get", "/js/none")
    assert ran.exit_code == 1
    assert json_lines(ran.stderr) == [
        {"error": "Node does not exist: /js/none", "code": "NONODE", "path": "/js/none"}
    ]
    ran = shell(hosts, "--json", script="get -w /js\nset /js 2\nls /js\ngetAcl /js\ndelete /js\n")
    lines = json_lines(ran.stdout)
    assert lines[1] == {"path": "/js", "stat": lines[1]["stat"]}  # type: ignore[index]
    assert lines[2] == {
        "event": {"state": "SyncConnected", "type": "NodeDataChanged", "path": "/js"}
    }
    assert lines[3]["children"] == []  # type: ignore[index]
    assert lines[4]["acl"] == [{"scheme": "world", "id": "anyone", "perms": "cdrwa"}]  # type: ignore[index]
    assert lines[5] == {"deleted": "/js"}
    assert ran.stderr == ""


def test_unreachable_server_is_a_connection_loss() -> None:
    [port] = free_ports(1)
    ran = shell(f"127.0.0.1:{port}", "-timeout", "300", "ls", "/")
    assert ran.stdout == f"Connecting to 127.0.0.1:{port}\n"
    assert (ran.stderr, ran.exit_code) == ("KeeperErrorCode = ConnectionLoss for /\n", 1)


def test_bad_connect_string_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["shell", "-server", "host:port", "ls", "/"])
    assert result.exit_code == 2
    assert "Invalid value for -server: bad port in 'host:port'" in result.stderr
