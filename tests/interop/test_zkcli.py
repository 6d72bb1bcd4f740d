"""Apache ZooKeeper's own Java client (zkCli.sh) against our server, compared with ZooKeeper."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from support.apache_zk import ApacheZooKeeper, require_apache_zookeeper
from support.zabkeeper_proc import ZabkeeperServer

pytestmark = pytest.mark.interop

ZKCLI = Path("/usr/share/zookeeper/bin/zkCli.sh")

SCRIPT = """\
create /cli hello
create /cli/child
create -s /cli/seq- s
create -e /cli/eph e
get /cli
set /cli world
get -s /cli
ls /cli
ls -s /cli
stat /cli
set -v 99 /cli nope
delete /cli
delete /cli/child
deleteall /cli
ls /
get /cli
quit
"""

_VOLATILE = [
    (re.compile(r"^Connecting to 127\.0\.0\.1:\d+$", re.M), "Connecting to <server>"),
    (re.compile(r"^(c|m)time = .*$", re.M), r"\1time = <time>"),
    (re.compile(r"^ephemeralOwner = 0x[0-9a-f]+$", re.M), "ephemeralOwner = <session>"),
]


def run_zkcli(port: int) -> str:
    done = subprocess.run(
        [str(ZKCLI), "-server", f"127.0.0.1:{port}"],
        input=SCRIPT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = [
        line
        for line in (done.stdout + done.stderr).splitlines()
        if not line.startswith(("SLF4J", "\tat ", "log4j"))
        and "INFO" not in line
        and "WARN" not in line
    ]
    text = "\n".join(lines)
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def test_zkcli_gives_the_same_output_against_both_servers() -> None:
    require_apache_zookeeper()
    if not ZKCLI.exists() or shutil.which("java") is None:
        pytest.fail(f"{ZKCLI} is missing although Apache ZooKeeper is installed")
    with ZabkeeperServer() as ours:
        got = run_zkcli(ours.port)
    with ApacheZooKeeper() as theirs:
        want = run_zkcli(theirs.port)
    assert "Created /cli" in got
    assert "Node not empty: /cli" in got
    assert "version No is not valid : /cli" in got
    assert got == want
