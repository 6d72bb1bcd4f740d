"""The pure cores stay pure: zab/ and znode/ import no IO, clock, thread or global random."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import zab
import znode

FORBIDDEN_MODULES = {"trio", "socket", "select", "os", "time", "threading", "asyncio", "subprocess"}
PURE_PACKAGES = [Path(znode.__file__).parent, Path(zab.__file__).parent]


def _sources() -> list[Path]:
    return sorted(p for pkg in PURE_PACKAGES for p in pkg.rglob("*.py"))


def _violations(source: Path) -> list[str]:
    tree = ast.parse(source.read_text(), filename=str(source))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "random":
                found.extend(
                    f"{source.name}:{node.lineno}: from random import {alias.name}"
                    for alias in node.names
                    if alias.name != "Random"
                )
        else:
            names = []
        found.extend(
            f"{source.name}:{node.lineno}: imports {name}"
            for name in names
            if name.split(".")[0] in FORBIDDEN_MODULES
        )
        # Module-level random.* calls (the shared global generator) are forbidden;
        # random.Random(seed) instances passed in are fine.
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "random"
            and node.func.attr != "Random"
        ):
            found.append(f"{source.name}:{node.lineno}: calls random.{node.func.attr}")
    return found


def test_pure_packages_have_sources() -> None:
    assert any(p.name == "tree.py" for p in _sources())


@pytest.mark.parametrize("source", _sources(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_pure_module_imports_no_io(source: Path) -> None:
    assert _violations(source) == []


def test_checker_catches_forbidden_imports(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nfrom trio import sleep\nimport random\nrandom.random()\n")
    found = _violations(bad)
    assert len(found) == 3
