"""Workers (separate sessions) share a Semaphore: at most ``--leases`` work at once.

python examples/semaphore.py --hosts 127.0.0.1:2181
"""

from __future__ import annotations

import argparse

import trio

import client
from client.recipes import Semaphore


async def worker(hosts: str, path: str, name: str, leases: int, busy: list[int]) -> None:
    async with client.connect(hosts) as zk:
        semaphore = Semaphore(zk, path, leases, name)
        async with semaphore:
            busy[0] += 1
            busy[1] = max(busy[1], busy[0])
            print(f"{name} works; lease holders: {sorted(await semaphore.lease_holders())}")
            await trio.sleep(0.1)  # the work a lease allows
            busy[0] -= 1


async def main(hosts: str, path: str, workers: int, leases: int) -> int:
    busy = [0, 0]  # now, most at once
    async with trio.open_nursery() as nursery:
        for i in range(workers):
            nursery.start_soon(worker, hosts, path, f"worker-{i}", leases, busy)
    async with client.connect(hosts) as zk:
        await zk.delete(path, recursive=True)
        await zk.delete(f"{path}-__lock__", recursive=True)
    print(f"at most {busy[1]} of {workers} workers at once (leases: {leases})")
    return 0 if busy[1] <= leases else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default="127.0.0.1:2181")
    parser.add_argument("--path", default="/examples/semaphore")
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--leases", type=int, default=2)
    args = parser.parse_args()
    raise SystemExit(trio.run(main, args.hosts, args.path, args.workers, args.leases))
