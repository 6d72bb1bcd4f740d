"""How a shell command is described: its name, zkCli's usage text, options and handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

import attrs

from cli.shell.errors import CliError
from cli.shell.output import Output
from cli.shell.parse import Option, Parsed, ParseError, parse_options
from znode.paths import path_error

if TYPE_CHECKING:
    from cli.shell.shell import Shell

Handler = Callable[["Shell", Parsed], Awaitable[None]]


@attrs.frozen
class Deprecated:
    """zkCli's handling of an old form (``get path watch``): a warning, maybe a rewrite.

    With ``rewrite``, the third word of the command line becomes ``-w`` and the line is
    parsed again, exactly as zkCli does (even when that word was not the old flag).
    """

    warning: str
    rewrite: bool = True


@attrs.frozen
class Command:
    """One zkCli command.

    Args:
        name: the command word.
        usage: zkCli's option string, printed after the name in usage errors.
        handler: runs the parsed command.
        options: the options it takes.
        min_args: fewer words (command included) is a usage error.
        group: mutually exclusive options, ``group_text`` naming them as Commons CLI does.
        deprecated: the old form it still accepts, if any.
    """

    name: str
    usage: str
    handler: Handler
    options: tuple[Option, ...] = ()
    min_args: int = 1
    group: tuple[str, ...] = ()
    group_text: str = ""
    group_required: bool = False
    deprecated: Deprecated | None = None

    @property
    def usage_line(self) -> str:
        """``name usage``, as zkCli prints it for a malformed command."""
        return f"{self.name} {self.usage}"

    def _parse(self, words: Sequence[str]) -> Parsed:
        try:
            return parse_options(
                words,
                self.options,
                group=self.group,
                group_text=self.group_text,
                group_required=self.group_required,
            )
        except ParseError as exc:
            raise CliError(str(exc)) from None

    def parse(self, words: Sequence[str], out: Output) -> Parsed:
        """Parse a command's words (name first).

        Raises:
            CliError: a parse error, or too few arguments (the usage line).
        """
        parsed = self._parse(words)
        if len(parsed.args) < self.min_args:
            raise CliError(self.usage_line)
        if self.deprecated is not None and len(parsed.args) > 2:
            out.line(self.deprecated.warning, err=True)
            rewritten = list(words)
            if self.deprecated.rewrite:
                rewritten[2] = "-w"
            parsed = self._parse(rewritten)
        return parsed


def check_path(path: str, *, sequential: bool = False) -> None:
    """Validate a path as the Java client does before sending (``PathUtils.validatePath``).

    Raises:
        CliError: with ZooKeeper's own reason (``Path must start with / character``).
    """
    reason = path_error(path + "1" if sequential else path)
    if reason is not None:
        raise CliError(reason, code="BADARGUMENTS", path=path)


def java_int(text: str | None, *, bits: int = 32) -> int | None:
    """``Integer.parseInt`` / ``Long.parseLong``: ``None`` when ``text`` is not one."""
    if text is None:
        return None
    body = text[1:] if text[:1] in "+-" and text else text
    if not body or not body.isascii() or not body.isdigit():
        return None
    value = int(text)
    return value if -(2 ** (bits - 1)) <= value < 2 ** (bits - 1) else None


def int_option(parsed: Parsed, name: str, *, default: int = -1, bits: int = 32) -> int:
    """The integer value of option ``-name`` (``default`` when absent).

    Raises:
        CliError: the value is not an integer.
    """
    if not parsed.has(name):
        return default
    value = java_int(parsed.value(name), bits=bits)
    if value is None:
        raise CliError(f"-{name} argument must be an int value")
    return value
