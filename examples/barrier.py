"""A coordinator holds workers (separate sessions) at a Barrier until it is ready.

python examples/barrier.py --hosts 127.0.0.1:2181
"""

from __future__ import annotations

import argparse

import trio

import client
from client.recipes import Barrier


async def worker(hosts: str, path: str, name: str, started: list[str]) -> None:
    async with client.connect(hosts) as zk:
        print(f"{name} waits at the barrier")
        await Barrier(zk, path).wait()
        started.append(name)
        print(f"{name} goes")


async def main(hosts: str, path: str, workers: int) -> int:
    started: list[str] = []
    async with client.connect(hosts) as zk:
        barrier = Barrier(zk, path)
        await barrier.set()
        async with trio.open_nursery() as nursery:
            for i in range(workers):
                nursery.start_soon(worker, hosts, path, f"worker-{i}", started)
            await trio.sleep(0.5)  # the coordinator's preparations
            early = len(started)
            print("coordinator: ready, removing the barrier")
            await barrier.remove()
    print(f"{early} went early, {len(started)} went after the barrier was removed")
    return 0 if early == 0 and len(started) == workers else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default="127.0.0.1:2181")
    parser.add_argument("--path", default="/examples/barrier")
    parser.add_argument("--workers", type=int, default=3)
    args = parser.parse_args()
    raise SystemExit(trio.run(main, args.hosts, args.path, args.workers))
