"""Every ``python`` block of docs/recipes.md runs, as written, against a real server.

The first block holds the imports the others assume; each later block runs with them and
an open client ``zk``, top-level ``await`` allowed, or as plain blocking code when it
connects with ``client.blocking``. The guide's ``127.0.0.1:2181`` becomes the test server
with a chroot of the block's own, so the blocks' paths never meet.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
import trio

import client
from support.real_server import RealServer

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "recipes.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```$", GUIDE.read_text(), re.MULTILINE | re.DOTALL)
IMPORTS, *SNIPPETS = BLOCKS
HEADINGS = [
    "Lock",
    "ReadWriteLock",
    "Semaphore",
    "Barrier and DoubleBarrier",
    "LeaderElection",
    "ConfigStore",
    "ServiceRegistry",
    "Queue",
    "Counter",
    "TreeCache",
    "Blocking code",
]


def test_one_snippet_per_section() -> None:
    assert re.findall(r"^## (?!What)(.*)$", GUIDE.read_text(), re.MULTILINE) == HEADINGS
    assert len(SNIPPETS) == len(HEADINGS)


async def run_snippet(code: str, name: str, namespace: dict[str, Any]) -> None:
    compiled = compile(code, name, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(compiled, namespace)
    if result is not None:
        await result


@pytest.mark.parametrize("number", range(len(SNIPPETS)), ids=HEADINGS)
async def test_snippet_runs(zabkeeper_server: RealServer, number: int) -> None:
    chroot = f"/recipes-doc-{number}"
    async with client.connect(zabkeeper_server.hosts) as setup:
        await setup.create(chroot)
    hosts = zabkeeper_server.hosts + chroot
    code = SNIPPETS[number].replace("127.0.0.1:2181", hosts)
    namespace: dict[str, Any] = {}
    exec(IMPORTS, namespace)
    with trio.fail_after(30):
        if "blocking.connect" in code:
            compiled = compile(code, f"<docs/recipes.md: {HEADINGS[number]}>", "exec")
            await trio.to_thread.run_sync(exec, compiled, namespace)
        else:
            async with client.connect(hosts) as zk:
                namespace["zk"] = zk
                await run_snippet(code, f"<docs/recipes.md: {HEADINGS[number]}>", namespace)
    async with client.connect(zabkeeper_server.hosts) as cleanup:
        await cleanup.delete(chroot, recursive=True)
