"""The ``java.util.Properties`` syntax of zoo.cfg (:mod:`server.properties`).

The expected entries were produced by ``Properties.load`` of OpenJDK 17 on the same text
(key → value, last wins); we also keep every entry's line for error messages.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from server.config import load_config
from server.properties import MalformedLine, Property, read_properties

# (text, [(key, value, line)])
CASES: list[tuple[str, list[tuple[str, str, int]]]] = [
    ("a=1", [("a", "1", 1)]),
    ("  b = 2  ", [("b", "2  ", 1)]),
    ("c:3", [("c", "3", 1)]),
    ("d 4", [("d", "4", 1)]),
    ("d\t\f4", [("d", "4", 1)]),
    ("e", [("e", "", 1)]),
    ("#f=5\n!g=6\n   # h=7\n\n \t\n", []),
    ("h=x\\\n   y\\\\", [("h", "xy\\", 1)]),
    ("i=\\u0041\\t\\=\\:\\ z", [("i", "A\t=: z", 1)]),
    ("j\\ k=l", [("j k", "l", 1)]),
    ("  m\\\n\nn=1", [("m", "", 1), ("n", "1", 3)]),
    ("n = = o", [("n", "= o", 1)]),
    ("p\t\f=q\r\nr=s\rt=u", [("p", "q", 1), ("r", "s", 2), ("t", "u", 3)]),
    ("\\#v=w", [("#v", "w", 1)]),
    ("x:=y", [("x", "=y", 1)]),
    ("# comment \\\nz=1", [("z", "1", 2)]),
    ("last=end\\", [("last", "end", 1)]),
    ("a=1\na=2", [("a", "1", 1), ("a", "2", 2)]),
    ("k=v\\\n  # not a comment", [("k", "v# not a comment", 1)]),
    ("=v", [("", "v", 1)]),
]


@pytest.mark.parametrize(("text", "entries"), CASES)
def test_read_properties_like_java(text: str, entries: list[tuple[str, str, int]]) -> None:
    assert read_properties(text) == [Property(*entry) for entry in entries]


@pytest.mark.parametrize(("text", "line"), [("a=\\u00G1", 1), ("a=1\n\nb\\u12=2", 3)])
def test_bad_unicode_escape(text: str, line: int) -> None:
    with pytest.raises(MalformedLine) as caught:
        read_properties(text)
    assert caught.value.line == line


# zoo.cfg spellings that all mean tickTime=3000; values are trimmed as ZooKeeper trims them.
SPELLINGS = [
    "tickTime=3000",
    "   tickTime   =   3000   ",
    "tickTime:3000",
    "tickTime 3000",
    "\ttickTime\t3000\t",
    "tick\\u0054ime=3000",
    "tickTime=30\\\n    00",
    "tickTime=3000\r",
    "tickTime=\\ 3000\\ ",
]


@pytest.mark.parametrize("line", SPELLINGS)
def test_zoo_cfg_spellings(tmp_path: Path, line: str) -> None:
    path = tmp_path / "zoo.cfg"
    path.write_text(f"# header\n{line}\ninitLimit=4\n")
    loaded = load_config(path)
    assert (loaded.config.tick_time, loaded.config.init_limit) == (3000, 4)
    assert loaded.warnings == ()
