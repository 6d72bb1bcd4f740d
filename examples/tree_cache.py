"""A TreeCache mirrors a subtree while a writer (another session) creates, changes and
deletes nodes in it.

    python examples/tree_cache.py --hosts 127.0.0.1:2181

After each round of changes, wait_synced() brings the mirror up to date with every change
made before it was called; the mirror (data, Stat and children of every node) must then
equal a fresh read of the subtree from the server.
"""

from __future__ import annotations

import argparse
import random

import trio

import client
from client import Client, NodeExists, NoNode, NotEmpty, Stat
from client.recipes import TreeCache


async def change_something(zk: Client, path: str, rng: random.Random) -> None:
    """Create, update or delete a random node of a small tree under ``path``."""
    node = "/".join([path, *(f"n{rng.randrange(3)}" for _ in range(rng.randint(1, 3)))])
    action = rng.choice(["create", "create", "set", "delete"])
    try:
        if action == "create":
            await zk.create(node, f"{rng.random():.3f}".encode(), makepath=True)
        elif action == "set":
            await zk.set(node, f"{rng.random():.3f}".encode())
        else:
            await zk.delete(node)
    except (NodeExists, NoNode, NotEmpty):
        pass  # the random choice did not fit the tree: nothing changed


async def fresh_read(zk: Client, path: str) -> dict[str, tuple[bytes, Stat, list[str]]]:
    """Every node of the subtree as the server has it: data, Stat and sorted children."""
    nodes: dict[str, tuple[bytes, Stat, list[str]]] = {}
    try:
        data, stat = await zk.get(path)
        children = sorted(await zk.children(path))
    except NoNode:
        return nodes
    nodes[path] = (data, stat, children)
    for name in children:
        nodes.update(await fresh_read(zk, f"{path}/{name}"))
    return nodes


def differences(cache: TreeCache, fresh: dict[str, tuple[bytes, Stat, list[str]]]) -> int:
    """How many nodes the mirror has wrong, missing or too many."""
    wrong = sum(
        1
        for path, (data, stat, children) in fresh.items()
        if cache.get(path) != (data, stat) or cache.children(path) != children
    )
    return wrong + abs(len(cache) - len(fresh))


async def main(hosts: str, path: str, rounds: int, changes: int, seed: int) -> int:
    rng = random.Random(seed)
    equal_rounds = 0
    events = 0
    async with client.connect(hosts) as zk, client.connect(hosts) as writer:
        await zk.create(path, makepath=True)
        async with TreeCache(zk, path) as cache, cache.events() as changes_seen:
            for round_ in range(1, rounds + 1):
                async with trio.open_nursery() as nursery:
                    for _ in range(changes):  # a few at a time, in any order
                        nursery.start_soon(change_something, writer, path, rng)
                        await trio.sleep(0.001 * rng.randrange(3))
                await cache.wait_synced()
                wrong = differences(cache, await fresh_read(zk, path))
                while changes_seen.queued:
                    await changes_seen.__anext__()
                    events += 1
                print(f"round {round_}: {len(cache)} nodes mirrored, {wrong} differ")
                equal_rounds += wrong == 0
        await zk.delete(path, recursive=True)
    print(
        f"the mirror equalled a fresh read after {equal_rounds} of {rounds} rounds "
        f"of {changes} changes ({events} cache events)"
    )
    return 0 if equal_rounds == rounds else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default="127.0.0.1:2181")
    parser.add_argument("--path", default="/examples/tree")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    raise SystemExit(trio.run(main, args.hosts, args.path, args.rounds, args.changes, args.seed))
