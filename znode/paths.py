"""Znode paths: validation exactly as ZooKeeper's ``PathUtils.validatePath``, and helpers.

ZooKeeper validates Java strings, i.e. UTF-16 code units: a character outside the Basic
Multilingual Plane is a surrogate pair there, and surrogates are forbidden, so every code
point above U+FFFF is invalid here too.
"""

from __future__ import annotations

import re

from znode.errors import BadArguments

ROOT = "/"
ZOOKEEPER = "/zookeeper"
QUOTA = "/zookeeper/quota"
CONFIG = "/zookeeper/config"

#: Paths that can never be deleted.
SPECIAL_PATHS = frozenset({ROOT, ZOOKEEPER, QUOTA, CONFIG})

_INVALID_CHAR = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\uf8ff\ufff0-\U0010ffff]")
_RELATIVE = re.compile(r"/\.\.?(?=/|\Z)")


def path_error(path: str) -> str | None:
    """Return why ``path`` is not a valid znode path, or ``None`` when it is valid."""
    if not path:
        return "Path length must be > 0"
    if path[0] != "/":
        return "Path must start with / character"
    if len(path) == 1:
        return None
    if path[-1] == "/":
        return "Path must not end with / character"
    bad = _INVALID_CHAR.search(path)
    empty = path.find("//")
    relative = _RELATIVE.search(path)
    # ZooKeeper reports the first problem from the left.
    problems = []
    if bad is not None:
        kind = "null character not allowed" if bad.group() == "\x00" else "invalid character"
        problems.append((bad.start(), kind))
    if empty != -1:
        problems.append((empty + 1, "empty node name specified"))
    if relative is not None:
        problems.append((relative.end() - 1, "relative paths not allowed"))
    if not problems:
        return None
    where, reason = min(problems)
    return f'Invalid path string "{path}" caused by {reason} @{where}'


def validate_path(path: str) -> None:
    """Raise :class:`BadArguments` unless ``path`` is a valid znode path."""
    reason = path_error(path)
    if reason is not None:
        raise BadArguments(reason, path=path)


def parent_of(path: str) -> str:
    """The parent path (``/`` for top-level nodes). ``path`` must contain a ``/``."""
    slash = path.rindex("/")
    return path[:slash] if slash else ROOT


def name_of(path: str) -> str:
    """The last component of ``path``."""
    return path[path.rindex("/") + 1 :]


def join(parent: str, name: str) -> str:
    """Join a parent path and a child name."""
    return parent + name if parent == ROOT else f"{parent}/{name}"


def sequential_suffix(counter: int) -> str:
    """Format a sequence number as ZooKeeper does (``%010d`` of a signed 32-bit int)."""
    counter = (counter + 2**31) % 2**32 - 2**31
    return f"{counter:010d}"
