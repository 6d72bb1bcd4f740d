"""``zabkeeper shell``: a zkCli.sh-compatible ZooKeeper shell (see :mod:`cli.shell.main`)."""

from cli.shell.main import shell_command

__all__ = ["shell_command"]
