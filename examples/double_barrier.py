"""Members (separate sessions) of a DoubleBarrier start their work together and finish
together, however long each one's part takes.

    python examples/double_barrier.py --hosts 127.0.0.1:2181
"""

from __future__ import annotations

import argparse

import trio

import client
from client.recipes import DoubleBarrier


async def member(hosts: str, path: str, i: int, members: int, log: list[str]) -> None:
    async with client.connect(hosts) as zk:
        await trio.sleep(0.1 * i)  # members arrive at different times
        print(f"member-{i} arrives")
        async with DoubleBarrier(zk, path, members, f"member-{i}"):
            log.append("start")
            print(f"member-{i} starts its part")
            await trio.sleep(0.1 * (members - i))  # and work for different times
            log.append("finish")
        print(f"member-{i} leaves")


async def main(hosts: str, path: str, members: int) -> int:
    log: list[str] = []
    async with trio.open_nursery() as nursery:
        for i in range(members):
            nursery.start_soon(member, hosts, path, i, members, log)
    async with client.connect(hosts) as zk:
        await zk.delete(path, recursive=True)
    together = log == ["start"] * members + ["finish"] * members
    print("every member started before any finished" if together else f"out of step: {log}")
    return 0 if together else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default="127.0.0.1:2181")
    parser.add_argument("--path", default="/examples/double-barrier")
    parser.add_argument("--members", type=int, default=3)
    args = parser.parse_args()
    raise SystemExit(trio.run(main, args.hosts, args.path, args.members))
