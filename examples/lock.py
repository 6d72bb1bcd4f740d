"""Several workers (separate sessions) take turns on one Lock to update a shared counter.

    python examples/lock.py --hosts 127.0.0.1:2181

Each worker reads the counter, adds one and writes it back while holding the lock; the
fencing token printed with each turn grows with every acquisition. Without the lock, some
increments would be lost.
"""

from __future__ import annotations

import argparse

import trio

import client
from client.recipes import Lock


async def worker(hosts: str, path: str, name: str, rounds: int) -> None:
    async with client.connect(hosts) as zk:
        lock = Lock(zk, f"{path}/lock", name)
        for _ in range(rounds):
            async with lock:
                data, _stat = await zk.get(f"{path}/counter")
                value = int(data) + 1
                await zk.set(f"{path}/counter", str(value).encode())
                print(f"{name} holds the lock (token {lock.fencing_token}): counter = {value}")


async def main(hosts: str, path: str, workers: int, rounds: int) -> int:
    async with client.connect(hosts) as zk:
        await zk.create(f"{path}/counter", b"0", makepath=True)
        async with trio.open_nursery() as nursery:
            for i in range(workers):
                nursery.start_soon(worker, hosts, path, f"worker-{i}", rounds)
        final = int((await zk.get(f"{path}/counter"))[0])
        await zk.delete(path, recursive=True)
    print(f"final count {final} of {workers * rounds} increments")
    return 0 if final == workers * rounds else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default="127.0.0.1:2181")
    parser.add_argument("--path", default="/examples/lock")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    raise SystemExit(trio.run(main, args.hosts, args.path, args.workers, args.rounds))
