"""Run a command script through Apache's zkCli.sh and through ``zabkeeper shell``.

Both read the script on stdin against the same server. :func:`normalize` blanks what must
differ between two sessions (times, zxids, session ids, version strings) and splits the
``WATCHER::`` notifications out of stdout: zkCli prints them from its event thread, so
their place relative to command output is not fixed there, while their order is.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

ZKCLI = Path(os.environ.get("ZABKEEPER_ZKCLI", "/usr/share/zookeeper/bin/zkCli.sh"))
ZABKEEPER = str(Path(sys.executable).parent / "zabkeeper")

_WATCHER = re.compile(r"\nWATCHER::\n\n(WatchedEvent [^\n]*)\n")
_SUBSTITUTIONS = [
    (re.compile(r"^(ctime|mtime) = .*$", re.M), r"\1 = <time>"),
    (re.compile(r"^([cmp]Zxid) = 0x[0-9a-f]+$", re.M), r"\1 = <zxid>"),
    (
        re.compile(r"^ephemeralOwner = 0x[0-9a-f]*[1-9a-f][0-9a-f]*$", re.M),
        "ephemeralOwner = <session>",
    ),
    (re.compile(r"^ZooKeeper CLI version: .*$", re.M), "ZooKeeper CLI version: <version>"),
    # The first line of the command list names the program and its own options.
    (re.compile(r"^(ZooKeeper|zabkeeper shell) -server host:port .*$", re.M), "<usage>"),
]
# Lines only zkCli prints when reading stdin, and the stderr noise of its logging setup.
_ZKCLI_ONLY = {"Welcome to ZooKeeper!", "JLine support is disabled"}
_NOISE = re.compile(r"^SLF4J: .*$\n?", re.M)


def zkcli_missing() -> str | None:
    """Why zkCli.sh cannot run here, or ``None``."""
    if shutil.which("java") is None:
        return "java is not installed"
    if not ZKCLI.exists():
        return f"zkCli.sh is not installed ({ZKCLI} missing)"
    return None


def require_zkcli() -> None:
    """Skip (locally) or fail (CI=true) without zkCli.sh."""
    reason = zkcli_missing()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


@attrs.frozen
class Run:
    """What one shell printed for a script, normalized."""

    stdout: str
    stderr: str
    events: tuple[str, ...]
    exit_code: int


def mask(text: str) -> str:
    """``text`` with times, zxids, session ids, versions and the usage header blanked."""
    for pattern, replacement in _SUBSTITUTIONS:
        text = pattern.sub(replacement, text)
    return text


def normalize(stdout: str, stderr: str, exit_code: int) -> Run:
    """:func:`mask` both streams, take the notifications out of stdout, drop blank lines
    and the lines only zkCli prints."""
    events = tuple(_WATCHER.findall(stdout))
    outputs = []
    for text in (_WATCHER.sub("\n", stdout), _NOISE.sub("", stderr)):
        lines = mask(text).split("\n")
        outputs.append("\n".join(line for line in lines if line and line not in _ZKCLI_ONLY))
    return Run(outputs[0], outputs[1], events, exit_code)


def _run(command: list[str], script: str, timeout: float) -> Run:
    env = dict(os.environ, TZ="UTC")
    done = subprocess.run(
        command, input=script, capture_output=True, text=True, timeout=timeout, env=env
    )
    return normalize(done.stdout, done.stderr, done.returncode)


def run_zkcli(hosts: str, script: str, *args: str, timeout: float = 120.0) -> Run:
    """Run ``script`` (commands, one per line) through zkCli.sh against ``hosts``."""
    env_args = ["-server", hosts, *args]
    return _run([str(ZKCLI), *env_args], script, timeout)


def run_shell(hosts: str, script: str, *args: str, timeout: float = 120.0) -> Run:
    """Run ``script`` through ``zabkeeper shell`` against ``hosts``."""
    return _run([ZABKEEPER, "shell", "-server", hosts, *args], script, timeout)
