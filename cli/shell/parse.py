"""Command lines read the way zkCli.sh reads them.

Two steps, as in ZooKeeper's ``ZooKeeperMain`` and the Apache Commons CLI 1.5
``DefaultParser`` it uses:

* :func:`split_line` cuts a line into words: a word is a double- or single-quoted string
  (quotes stripped, no escapes) or a run of non-blank characters;
* :func:`parse_options` sorts the words of one command into options and arguments. Options
  may come anywhere (``deleteall /a -b 10``), ``--`` ends them, ``-t100`` and ``-se`` work,
  an option's value may be ``-v=3`` or the next word (even one starting with ``-`` unless it
  is itself an option), and a word that looks like an unknown option is an error.

Errors carry Commons CLI's own messages (``...UnrecognizedOptionException: Unrecognized
option: -x``), which is what zkCli.sh prints for them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs

# ZooKeeperMain.MyCommandOptions.ARGS_PATTERN and QUOTED_PATTERN; re.ASCII gives \s and \S
# Java's meaning. The backtracking quirks (an unclosed quote is dropped) come with them.
_WORD = re.compile(r"\s*([^\"']\S*|\"[^\"]*\"|'[^']*')\s*", re.ASCII)
_QUOTED = re.compile(r"(['\"])(.*)\1")
# Double.parseDouble's accepted forms, enough to tell "-5" (a value) from "-x" (an option).
_NUMBER = re.compile(
    r"[+-]?(NaN|Infinity|((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|0[xX][0-9a-fA-F]*\.?[0-9a-fA-F]*"
    r"[pP][+-]?\d+)[fFdD]?)"
)
_CLI = "org.apache.commons.cli."


class ParseError(Exception):
    """A command line that does not parse; the message is the one zkCli.sh prints."""


def split_line(line: str) -> list[str]:
    """The words of one shell line, quotes removed."""
    words = []
    for match in _WORD.finditer(line):
        word = match.group(1)
        quoted = _QUOTED.fullmatch(word)
        words.append(quoted.group(2) if quoted else word)
    return words


@attrs.frozen
class Option:
    """One option of a command: ``-name``, with a value when ``takes_value``."""

    name: str
    takes_value: bool = False
    description: str = ""


@attrs.frozen
class Parsed:
    """A parsed command: ``args[0]`` is the command name, then the plain arguments."""

    args: tuple[str, ...]
    options: tuple[tuple[str, str | None], ...] = ()

    def has(self, name: str) -> bool:
        """Whether option ``-name`` was given."""
        return any(key == name for key, _ in self.options)

    def value(self, name: str) -> str | None:
        """The first value given to option ``-name`` (``None`` when absent)."""
        for key, value in self.options:
            if key == name:
                return value
        return None


def _strip_quotes(value: str) -> str:
    if len(value) > 1 and value[0] == value[-1] == '"' and '"' not in value[1:-1]:
        return value[1:-1]
    return value


class _Parser:
    """One run of DefaultParser over a command's words."""

    def __init__(
        self, options: Sequence[Option], group: Sequence[str], group_text: str, required: bool
    ) -> None:
        self.known = {option.name: option for option in options}
        self.group = tuple(group)
        self.group_text = group_text
        self.required = required
        self.selected: str | None = None
        self.args: list[str] = []
        self.found: list[tuple[str, str | None]] = []
        self.pending: Option | None = None  # an option still waiting for its value

    def is_option(self, word: str) -> bool:
        if not word.startswith("-") or len(word) == 1:
            return False
        name = word[1:].split("=", 1)[0]
        return name in self.known or (bool(name) and name[0] in self.known)

    def is_value(self, word: str) -> bool:
        return not self.is_option(word) or _NUMBER.fullmatch(word.strip()) is not None

    def missing_value(self) -> None:
        if self.pending is not None:
            raise ParseError(
                f"{_CLI}MissingArgumentException: Missing argument for option: {self.pending.name}"
            )

    def take(self, option: Option, value: str | None = None) -> None:
        self.missing_value()
        if option.name in self.group:
            if self.selected is not None and self.selected != option.name:
                raise ParseError(
                    f"{_CLI}AlreadySelectedException: The option '{option.name}' was specified"
                    " but an option from this group has already been selected:"
                    f" '{self.selected}'"
                )
            self.selected = option.name
        self.found.append((option.name, value))
        self.pending = option if option.takes_value and value is None else None

    def give_value(self, value: str) -> None:
        name, _ = self.found[-1]
        self.found[-1] = (name, _strip_quotes(value))
        self.pending = None

    def unknown(self, word: str) -> None:
        if word.startswith("-") and len(word) > 1:
            raise ParseError(f"{_CLI}UnrecognizedOptionException: Unrecognized option: {word}")
        self.args.append(word)

    def option_word(self, word: str) -> None:
        text = word.lstrip("-") if word.startswith("--") else word[1:]
        name, equals, value = text.partition("=")
        if word.startswith("--"):
            self.unknown(word)  # there are no long options
        elif not equals:
            if text in self.known:
                self.take(self.known[text])
            elif len(text) == 1:
                self.unknown(word)
            else:
                self.concatenated(word)
        elif len(name) == 1 and name in self.known and self.known[name].takes_value:
            self.take(self.known[name], _strip_quotes(value))
        else:
            self.unknown(word)

    def concatenated(self, word: str) -> None:
        for index in range(1, len(word)):
            option = self.known.get(word[index])
            if option is None:
                self.unknown(word)
                return
            self.take(option)
            if option.takes_value and index + 1 < len(word):
                self.give_value(word[index + 1 :])
                return

    def run(self, words: Sequence[str]) -> Parsed:
        rest = False
        for word in words:
            if rest:
                self.args.append(word)
            elif word == "--":
                rest = True
            elif self.pending is not None and self.is_value(word):
                self.give_value(word)
            elif word.startswith("-") and word != "-":
                self.option_word(word)
            else:
                self.unknown(word)
        self.missing_value()
        if self.required and self.selected is None:
            raise ParseError(
                f"{_CLI}MissingOptionException: Missing required option: {self.group_text}"
            )
        return Parsed(tuple(self.args), tuple(self.found))


def parse_options(
    words: Sequence[str],
    options: Sequence[Option],
    *,
    group: Sequence[str] = (),
    group_text: str = "",
    group_required: bool = False,
) -> Parsed:
    """Sort ``words`` (command name first) into options and arguments.

    Args:
        options: the options the command knows.
        group: names of mutually exclusive options (setquota, delquota).
        group_text: how Commons CLI names the group in "missing option" errors.
        group_required: one option of ``group`` must be given.

    Raises:
        ParseError: an unknown option, a missing value, two options of the group, or none
            of a required group.
    """
    return _Parser(options, group, group_text, group_required).run(words)
