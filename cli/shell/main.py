"""``zabkeeper shell``: the click command and its three modes (one-shot, stdin, terminal)."""

from __future__ import annotations

import sys

import click
import trio

from cli.shell.interactive import interactive, read_lines
from cli.shell.shell import Settings, Shell
from client import parse_hosts
from client.errors import ZooKeeperError


async def run_shell(settings: Settings, command: list[str]) -> int:
    """Run the shell to completion and return its exit status.

    With ``command``, run just that command (one-shot); otherwise read commands from a
    terminal (interactive) or from stdin.
    """
    async with trio.open_nursery() as nursery:
        shell = Shell(settings, nursery)
        shell.out.line(f"Connecting to {settings.hosts}")
        shell.connect(settings.hosts)
        try:
            if command:
                await shell.wait_connected()
                await shell.settle()
                await shell.execute(command)
                await shell.settle()
            elif sys.stdin.isatty() and sys.stdout.isatty():
                await interactive(shell)
            else:
                await read_lines(shell)
        finally:
            with trio.CancelScope(shield=True):
                await shell.shutdown()
    return shell.exit_code


@click.command(
    "shell",
    context_settings={
        "ignore_unknown_options": True,
        "allow_interspersed_args": False,
        "help_option_names": ["--help"],
    },
)
@click.option(
    "-server",
    "--server",
    "server",
    default="localhost:2181",
    show_default=True,
    help="Connect string: host:port[,host:port...][/chroot].",
)
@click.option(
    "-timeout",
    "--timeout",
    "timeout",
    type=click.IntRange(min=1),
    default=30000,
    show_default=True,
    help="Session timeout in milliseconds (also the time allowed to connect).",
)
@click.option("-r", "--read-only", "read_only", is_flag=True, help="Accept a read-only server.")
@click.option(
    "-waitforconnection",
    "wait",
    is_flag=True,
    hidden=True,
    help="Accepted for zkCli.sh compatibility; the shell always waits.",
)
@click.option("--json", "json_mode", is_flag=True, help="Print results as JSON lines.")
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
def shell_command(
    server: str,
    timeout: int,
    read_only: bool,
    wait: bool,
    json_mode: bool,
    command: tuple[str, ...],
) -> None:
    """A zkCli.sh-compatible shell: run COMMAND, or read commands from the terminal or stdin.

    The commands, options and output are zkCli.sh's (``help`` lists them); a one-shot
    command exits with status 1 when it fails (127 for an unknown command).
    """
    try:
        parse_hosts(server)
    except ZooKeeperError as exc:
        raise click.BadParameter(str(exc), param_hint="-server") from None
    settings = Settings(server, timeout, read_only, json_mode)
    try:
        code = trio.run(run_shell, settings, list(command))
    except KeyboardInterrupt:
        code = 130
    except Exception as exc:  # one line, never a traceback
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from None
    sys.stdout.flush()
    click.get_current_context().exit(code)
