"""A reader for ``java.util.Properties`` text, the syntax of ZooKeeper's ``zoo.cfg``.

The grammar follows ``Properties.load``: lines end at ``\\n``, ``\\r`` or ``\\r\\n``; leading
spaces, tabs and form feeds are skipped; a line whose first other character is ``#`` or ``!``
is a comment; a line ending in an odd number of backslashes continues on the next line (whose
leading whitespace is skipped). The key runs to the first unescaped ``=``, ``:`` or whitespace;
whitespace and at most one ``=`` or ``:`` separate it from the value. ``\\t \\n \\r \\f`` and
``\\uXXXX`` are escapes; a backslash before any other character keeps that character.

Unlike ``Properties`` (a map, last key wins), :func:`read_properties` returns every entry in
file order with its line number, so callers can report duplicates.
"""

from __future__ import annotations

import re

import attrs

_BLANK = " \t\f"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


class MalformedLine(ValueError):
    """A line ``Properties.load`` would reject (only a bad ``\\uXXXX`` escape is fatal)."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


@attrs.frozen
class Property:
    """One ``key=value`` entry; ``line`` is where its logical line starts (1-based)."""

    key: str
    value: str
    line: int


def read_properties(text: str) -> list[Property]:
    """Every entry of a properties text, in order, with escapes resolved."""
    lines = _LINE_BREAK.split(text)
    entries: list[Property] = []
    index = 0
    while index < len(lines):
        start = index
        logical = lines[index].lstrip(_BLANK)
        index += 1
        if not logical or logical[0] in "#!":
            continue
        while _continues(logical):
            logical = logical[:-1]
            if index == len(lines):
                break
            logical += lines[index].lstrip(_BLANK)
            index += 1
        try:
            key, value = _split(logical)
        except ValueError as exc:
            raise MalformedLine(str(exc), start + 1) from None
        entries.append(Property(key, value, start + 1))
    return entries


def _continues(line: str) -> bool:
    """True when the line ends in an odd number of backslashes."""
    return (len(line) - len(line.rstrip("\\"))) % 2 == 1


def _split(line: str) -> tuple[str, str]:
    escaped = False
    key_end = len(line)
    value_start = len(line)
    has_separator = False
    for position, char in enumerate(line):
        if not escaped and (char in "=:" or char in _BLANK):
            key_end = position
            value_start = position + 1
            has_separator = char in "=:"
            break
        escaped = char == "\\" and not escaped
    while value_start < len(line):
        char = line[value_start]
        if char not in _BLANK:
            if has_separator or char not in "=:":
                break
            has_separator = True
        value_start += 1
    return _unescape(line[:key_end]), _unescape(line[value_start:])


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    out: list[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        position += 1
        if char != "\\":
            out.append(char)
            continue
        if position == len(text):
            break
        char = text[position]
        position += 1
        if char == "u":
            digits = text[position : position + 4]
            if len(digits) != 4 or not _HEX_DIGITS.issuperset(digits):
                raise ValueError(f"malformed \\uxxxx escape: '\\u{digits}'")
            out.append(chr(int(digits, 16)))
            position += 4
        else:
            out.append(_ESCAPES.get(char, char))
    return "".join(out)
