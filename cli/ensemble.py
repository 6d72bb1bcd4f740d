"""``zabkeeper ensemble``: a local N-server ensemble for development, in one command.

Writes each server's zoo.cfg and myid under one directory, starts the servers as child
processes, prints the connect string and a one-line status per server (redrawn in place
on a terminal), and stops them all on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import ctypes
import functools
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

import attrs
import click
import trio

from cli.ask import ask, parse_srvr


@attrs.frozen
class Member:
    sid: int
    client_port: int
    quorum_port: int
    election_port: int
    observer: bool
    directory: Path


def plan_members(size: int, observers: int, base_port: int, root: Path) -> list[Member]:
    """Ports and directories: clients at base+i-1, quorum and election ports above them."""
    return [
        Member(
            sid=i,
            client_port=base_port + i - 1,
            quorum_port=base_port + 1000 + i,
            election_port=base_port + 2000 + i,
            observer=i > size,
            directory=root / f"server{i}",
        )
        for i in range(1, size + observers + 1)
    ]


def write_configs(members: list[Member], *, tick_time: int) -> None:
    """zoo.cfg and data/myid for every member (existing data is kept)."""
    lines = [
        f"server.{m.sid}=127.0.0.1:{m.quorum_port}:{m.election_port}"
        + (":observer" if m.observer else "")
        + f";127.0.0.1:{m.client_port}"
        for m in members
    ]
    for m in members:
        data = m.directory / "data"
        data.mkdir(parents=True, exist_ok=True)
        (data / "myid").write_text(f"{m.sid}\n")
        (m.directory / "zoo.cfg").write_text(
            "\n".join(
                [
                    f"tickTime={tick_time}",
                    "initLimit=10",
                    "syncLimit=5",
                    f"dataDir={data}",
                    f"clientPort={m.client_port}",
                    "clientPortAddress=127.0.0.1",
                    "4lw.commands.whitelist=*",
                    *lines,
                ]
            )
            + "\n"
        )


async def _srvr(port: int) -> dict[str, str]:
    try:
        with trio.fail_after(1):
            text = await ask("127.0.0.1", port, "srvr")
    except (OSError, trio.TooSlowError):
        return {}
    return parse_srvr(text)


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM if this command dies, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def status_line(member: Member, info: dict[str, str]) -> str:
    """One server's status, e.g. ``server 1  leader    zxid 0x100000004  nodes 12 ...``."""
    mode = info.get("Mode", "down" if not info else "starting")
    return (
        f"server {member.sid}  {mode:<9} zxid {info.get('Zxid', '-'):<12} "
        f"nodes {info.get('Node count', '-'):<6} clients {info.get('Connections', '-'):<4} "
        f"127.0.0.1:{member.client_port}"
    )


async def run_ensemble(members: list[Member], *, refresh: float = 1.0) -> None:
    """Run the members until cancelled (SIGINT / SIGTERM).

    Each child's output goes to ``server.log`` in its directory; the files are opened
    before the children start (they are the children's, not ours, to write).
    """
    terminal = sys.stdout.isatty()
    logs = [(m, (m.directory / "server.log").open("ab")) for m in members]
    try:
        await _supervise(members, logs, terminal=terminal, refresh=refresh)
    finally:
        for _, out in logs:
            out.close()


async def _supervise(
    members: list[Member], logs: list[tuple[Member, Any]], *, terminal: bool, refresh: float
) -> None:
    async with trio.open_nursery() as nursery:
        for m, out in logs:
            config = str(m.directory / "zoo.cfg")
            command = [sys.executable, "-m", "cli.main", "server", "--config", config]
            nursery.start_soon(
                functools.partial(
                    trio.run_process,
                    command,
                    stdout=out,
                    stderr=out,
                    check=False,
                    preexec_fn=_die_with_parent,
                )
            )
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:

            async def watch_signals() -> None:
                async for _ in signals:
                    nursery.cancel_scope.cancel()
                    return

            nursery.start_soon(watch_signals)
            previous: list[str] = []
            while True:
                lines = [status_line(m, await _srvr(m.client_port)) for m in members]
                if lines != previous:
                    if terminal and previous:
                        sys.stdout.write(f"\x1b[{len(previous)}F\x1b[J")
                    sys.stdout.write("\n".join(lines) + "\n")
                    sys.stdout.flush()
                    previous = lines
                await trio.sleep(refresh)


@click.command("ensemble")
@click.option("--size", default=3, show_default=True, help="Voting servers.")
@click.option("--observers", default=0, show_default=True, help="Observers besides them.")
@click.option(
    "--dir",
    "directory",
    type=click.Path(path_type=Path),
    help="Where the servers keep config and data (kept); default: a temporary directory "
    "removed at exit.",
)
@click.option("--base-port", default=2181, show_default=True, help="First client port.")
@click.option("--tick-time", default=500, show_default=True, help="tickTime in ms.")
def ensemble_command(
    size: int, observers: int, directory: Path | None, base_port: int, tick_time: int
) -> None:
    """Run a local ensemble of SIZE servers on 127.0.0.1 until Ctrl-C."""
    if size < 1 or observers < 0:
        raise click.UsageError("--size must be at least 1 and --observers not negative")
    temporary = directory is None
    root = Path(tempfile.mkdtemp(prefix="zabkeeper-ensemble-")) if temporary else directory
    assert root is not None
    members = plan_members(size, observers, base_port, root.resolve())
    write_configs(members, tick_time=tick_time)
    hosts = ",".join(f"127.0.0.1:{m.client_port}" for m in members)
    click.echo(f"ensemble of {size} (+{observers} observers) in {root}")
    click.echo(f"connect string: {hosts}")
    click.echo("Ctrl-C stops every server.")
    try:
        trio.run(run_ensemble, members)
    except KeyboardInterrupt:
        pass
    finally:
        if temporary:
            shutil.rmtree(root, ignore_errors=True)
    click.echo("ensemble stopped")


__all__ = ["ensemble_command", "plan_members", "status_line", "write_configs"]
