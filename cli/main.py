"""``zabkeeper``: the command group; subcommands live in their own modules."""

from __future__ import annotations

import click

from cli.ask import four_command, status_command
from cli.ensemble import ensemble_command
from cli.serve import serve_command
from cli.shell import shell_command
from znode.version import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="zabkeeper")
def main() -> None:
    """zabkeeper: a ZooKeeper-compatible coordination service (ZAB between servers,
    ZooKeeper's wire protocol to clients)."""


main.add_command(serve_command)
main.add_command(ensemble_command)
main.add_command(four_command)
main.add_command(status_command)
main.add_command(shell_command)

if __name__ == "__main__":  # pragma: no cover
    main()
