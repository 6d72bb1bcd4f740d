"""zkCli.sh and ``zabkeeper shell`` given the same commands against the same server, ours
and Apache ZooKeeper's: the same output, once times, zxids, session ids and versions are
blanked (:func:`support.zkcli.normalize`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from server.testing import EnsembleProcess, ServerProcess
from support.apache_zk import ApacheZooKeeper, require_apache_zookeeper
from support.shell_scripts import Script, all_scripts
from support.zkcli import require_zkcli, run_shell, run_zkcli

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module", params=["zabkeeper", "apache"])
def hosts(request: pytest.FixtureRequest) -> Iterator[str]:
    require_zkcli()
    if request.param == "apache":
        require_apache_zookeeper()
        with ApacheZooKeeper() as apache:
            yield apache.hosts
    else:
        with ServerProcess(tick_time=2000) as ours:
            yield ours.hosts


@pytest.mark.parametrize("script", all_scripts(), ids=lambda script: script.name)
def test_same_script_same_output(hosts: str, script: Script) -> None:
    commands = script.for_server(hosts).commands
    theirs = run_zkcli(hosts, commands)
    ours = run_shell(hosts, commands)
    assert ours.stdout == theirs.stdout
    assert ours.stderr == theirs.stderr
    assert ours.events == theirs.events
    assert ours.exit_code == theirs.exit_code


ONE_SHOT = [
    ["create", "/oneshot", "x"],
    ["get", "-s", "/oneshot"],
    ["ls", "-R", "/oneshot"],
    ["getAcl", "/oneshot"],
    ["set", "-v", "7", "/oneshot", "y"],
    ["create", "/oneshot"],
    ["get", "/oneshot/none"],
    ["delete", "/oneshot/none"],
    ["create", "-c", "-e", "/oneshot/x"],
    ["stat"],
    ["get", "-x", "/oneshot"],
    ["bogus"],
    ["delete", "/oneshot"],
]


def test_one_shot_same_output_and_status(hosts: str) -> None:
    # The list leaves the tree as it found it: zkCli.sh runs it, then the shell.
    theirs = [run_zkcli(hosts, "", *args) for args in ONE_SHOT]
    ours = [run_shell(hosts, "", *args) for args in ONE_SHOT]
    for args, zkcli, shell in zip(ONE_SHOT, theirs, ours, strict=True):
        assert (shell.stdout, shell.stderr, shell.exit_code) == (
            zkcli.stdout,
            zkcli.stderr,
            zkcli.exit_code,
        ), args


def test_ensemble_configuration_as_zkcli_prints_it() -> None:
    require_zkcli()
    script = "config\nconfig -c\nconfig -s\ncreate /ens x\nsync /ens\nget /ens\ndelete /ens\n"
    with EnsembleProcess(3) as ensemble:
        follower = ensemble.host(1 if ensemble.leader() != 1 else 2)
        theirs = run_zkcli(follower, script)
        ours = run_shell(follower, script)
    assert ours == theirs
    assert ours.stdout.count("server.") == 6  # config and config -s list all three
