"""Walking a subtree as ZooKeeper's ``ZKUtil`` does (ls -R, setAcl -R)."""

from __future__ import annotations

from cli.shell import wire
from cli.shell.watches import ShellWatches
from client import Client
from client.errors import NoNode
from znode.paths import join


def java_sorted(names: list[str]) -> list[str]:
    """Sorted as Java's ``Collections.sort`` sorts strings (by UTF-16 code unit)."""
    return sorted(names, key=lambda name: name.encode("utf-16-be", "surrogatepass"))


async def subtree(zk: Client, path: str, watches: ShellWatches | None = None) -> list[str]:
    """``ZKUtil.visitSubTreeDFS`` order: the node, its children, then each child's subtree.

    With ``watches``, a data watch is set on ``path`` and a child watch on every node (ls -R -w).

    Raises:
        NoNode: ``path`` does not exist (nodes vanishing meanwhile are skipped).
    """
    if watches is None:
        await wire.get_data(zk, path)
    else:
        await watches.get_data(zk, path)
    found = [path]

    async def visit(node: str) -> None:
        try:
            children = await _children(zk, node, watches)
        except NoNode:
            return
        paths = [join(node, child) for child in java_sorted(children)]
        found.extend(paths)
        for child_path in paths:
            await visit(child_path)

    await visit(path)
    return found


async def _children(zk: Client, path: str, watches: ShellWatches | None) -> list[str]:
    if watches is None:
        return (await wire.children(zk, path))[0]
    return (await watches.children(zk, path))[0]
