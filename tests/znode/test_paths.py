"""Table tests of :mod:`znode.paths` against ZooKeeper's ``PathUtils.validatePath`` (wire sheet
§14.1) and its sequential-name format (§14.2).

Indexes in the messages are positions in the path string; every path here is in the Basic
Multilingual Plane up to the first problem, so they equal Java's UTF-16 indexes.
"""

from __future__ import annotations

import pytest

from znode.errors import BadArguments, ErrorCode
from znode.paths import (
    CONFIG,
    QUOTA,
    ROOT,
    SPECIAL_PATHS,
    ZOOKEEPER,
    join,
    name_of,
    parent_of,
    path_error,
    sequential_suffix,
    validate_path,
)


def invalid(path: str, reason: str, index: int) -> str:
    """The message ``PathUtils.validatePath`` throws for a problem inside the path."""
    return f'Invalid path string "{path}" caused by {reason} @{index}'


NUL = "null character not allowed"
EMPTY = "empty node name specified"
RELATIVE = "relative paths not allowed"
BAD_CHAR = "invalid character"

VALID_PATHS = [
    "/",
    "/a",
    "/a/b/c",
    "/zookeeper/quota",
    "/a-b_c~d",
    "/ ",
    "/a b",
    "/ünï",
    "/日本/語",
    # Names that merely contain dots are fine.
    "/a.b",
    "/.a",
    "/a.",
    "/..a",
    "/a..",
    "/...",
    "/a/.../b",
    "/.a/..b/c.",
    # The characters just outside each forbidden range.
    "/\u0020",
    "/\u007e",
    "/\u00a0",
    "/\ud7ff",
    "/\uf900",
    "/\uffef",
    "/x\u00a0y",
]


@pytest.mark.parametrize("path", VALID_PATHS)
def test_valid_paths(path: str) -> None:
    assert path_error(path) is None
    validate_path(path)  # does not raise


WHOLE_PATH_ERRORS = [
    ("", "Path length must be > 0"),
    ("a", "Path must start with / character"),
    ("a/b", "Path must start with / character"),
    (" /a", "Path must start with / character"),
    ("\x00", "Path must start with / character"),
    (".", "Path must start with / character"),
    ("/a/", "Path must not end with / character"),
    ("//", "Path must not end with / character"),
    ("/a/b/", "Path must not end with / character"),
    # The trailing-slash check runs before the character scan.
    ("/\x00/", "Path must not end with / character"),
    ("/../", "Path must not end with / character"),
    ("/a//", "Path must not end with / character"),
]


@pytest.mark.parametrize(("path", "message"), WHOLE_PATH_ERRORS)
def test_whole_path_errors(path: str, message: str) -> None:
    assert path_error(path) == message


CHARACTER_ERRORS = [
    # NUL has its own reason.
    ("/\x00", NUL, 1),
    ("/a\x00b", NUL, 2),
    ("/a/\x00", NUL, 3),
    # Empty components.
    ("//a", EMPTY, 1),
    ("/a//b", EMPTY, 3),
    ("/a/b//c", EMPTY, 5),
    ("/a///b", EMPTY, 3),
    # "." and ".." components; the index is that of the last dot.
    ("/.", RELATIVE, 1),
    ("/..", RELATIVE, 2),
    ("/./a", RELATIVE, 1),
    ("/../a", RELATIVE, 2),
    ("/a/.", RELATIVE, 3),
    ("/a/..", RELATIVE, 4),
    ("/a/./b", RELATIVE, 3),
    ("/a/../b", RELATIVE, 4),
    ("/a.b/../c", RELATIVE, 6),
    # U+0001..U+001F.
    ("/\x01", BAD_CHAR, 1),
    ("/a\t", BAD_CHAR, 2),
    ("/a\nb", BAD_CHAR, 2),
    ("/\x1f", BAD_CHAR, 1),
    # U+007F..U+009F.
    ("/\x7f", BAD_CHAR, 1),
    ("/ab\x80", BAD_CHAR, 3),
    ("/\x9f", BAD_CHAR, 1),
    # U+D800..U+F8FF: surrogates and the private use area.
    ("/\ud800", BAD_CHAR, 1),
    ("/\udbff\udc00", BAD_CHAR, 1),
    ("/\udfff", BAD_CHAR, 1),
    ("/\ue000", BAD_CHAR, 1),
    ("/a/\uf8ff", BAD_CHAR, 3),
    # U+FFF0..U+FFFF.
    ("/\ufff0", BAD_CHAR, 1),
    ("/\ufffd", BAD_CHAR, 1),
    ("/\uffff", BAD_CHAR, 1),
    # Above U+FFFF: Java sees a surrogate pair, which is forbidden.
    ("/\U00010000", BAD_CHAR, 1),
    ("/ok/\U0001f600", BAD_CHAR, 4),
    ("/\U0010ffff", BAD_CHAR, 1),
]


@pytest.mark.parametrize(("path", "reason", "index"), CHARACTER_ERRORS)
def test_character_errors(path: str, reason: str, index: int) -> None:
    assert path_error(path) == invalid(path, reason, index)


FIRST_PROBLEM_WINS = [
    ("/a//b/..", EMPTY, 3),
    ("/a/..//b", RELATIVE, 4),
    ("/\x01//a", BAD_CHAR, 1),
    ("/a//\x01", EMPTY, 3),
    ("/../\x00", RELATIVE, 2),
    ("/\x00/..", NUL, 1),
    ("/a/\x00//b", NUL, 3),
    ("/a\x7f/./b", BAD_CHAR, 2),
    ("/./\x7f", RELATIVE, 1),
]


@pytest.mark.parametrize(("path", "reason", "index"), FIRST_PROBLEM_WINS)
def test_first_problem_from_the_left_is_reported(path: str, reason: str, index: int) -> None:
    assert path_error(path) == invalid(path, reason, index)


def test_trailing_slash_wins_over_inner_problems() -> None:
    assert path_error("/x/\ud800//") == "Path must not end with / character"


@pytest.mark.parametrize(
    ("path", "index"),
    [("/.\n", 2), ("/..\n", 3), ("/a/..\n", 5), ("/a/.\n", 4)],
)
def test_dot_component_followed_by_trailing_newline(path: str, index: int) -> None:
    """A "." or ".." followed by a newline is a name, not a relative component: Java's scan
    only treats the dots as relative when the next char is "/" or the end of the string, so
    the first problem is the newline itself."""
    assert path_error(path) == invalid(path, BAD_CHAR, index)


@pytest.mark.parametrize(
    "path",
    ["/a//b", "/\x00", "", "x", "/a/", "/..", "/\U0001f600"],
)
def test_validate_path_raises_bad_arguments_with_the_reason(path: str) -> None:
    with pytest.raises(BadArguments) as info:
        validate_path(path)
    assert info.value.code == ErrorCode.BADARGUMENTS
    assert str(info.value) == path_error(path)
    assert info.value.path == path


@pytest.mark.parametrize(
    ("path", "parent"),
    [("/a", "/"), ("/a/b", "/a"), ("/a/b/c", "/a/b"), ("/zookeeper/config", "/zookeeper")],
)
def test_parent_of(path: str, parent: str) -> None:
    assert parent_of(path) == parent


@pytest.mark.parametrize(
    ("path", "name"),
    [("/a", "a"), ("/a/b", "b"), ("/a/b/c0000000001", "c0000000001"), ("/", "")],
)
def test_name_of(path: str, name: str) -> None:
    assert name_of(path) == name


@pytest.mark.parametrize(
    ("parent", "name", "path"),
    [("/", "a", "/a"), ("/a", "b", "/a/b"), ("/a/b", "c", "/a/b/c"), ("/", "ünï", "/ünï")],
)
def test_join(parent: str, name: str, path: str) -> None:
    assert join(parent, name) == path
    assert parent_of(path) == parent
    assert name_of(path) == name


@pytest.mark.parametrize(
    ("counter", "suffix"),
    [
        (0, "0000000000"),
        (1, "0000000001"),
        (42, "0000000042"),
        (1234567890, "1234567890"),
        (2**31 - 1, "2147483647"),
        # Java's int overflows: %010d of Integer.MIN_VALUE is 11 characters.
        (2**31, "-2147483648"),
        (2**31 + 1, "-2147483647"),
        (2**32 - 1, "-000000001"),
        (2**32, "0000000000"),
    ],
)
def test_sequential_suffix(counter: int, suffix: str) -> None:
    assert sequential_suffix(counter) == suffix


def test_special_paths() -> None:
    assert (ROOT, ZOOKEEPER, QUOTA, CONFIG) == (
        "/",
        "/zookeeper",
        "/zookeeper/quota",
        "/zookeeper/config",
    )
    assert frozenset({"/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"}) == (
        SPECIAL_PATHS
    )
