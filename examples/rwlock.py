"""Readers share a ReadWriteLock while a writer updates a configuration under its write side.

    python examples/rwlock.py --hosts 127.0.0.1:2181

Readers always see a complete configuration (both halves from the same version), never a
half-written one.
"""

from __future__ import annotations

import argparse

import trio

import client
from client.recipes import ReadWriteLock


async def writer(hosts: str, path: str, versions: int) -> None:
    async with client.connect(hosts) as zk:
        rw = ReadWriteLock(zk, f"{path}/lock", "writer")
        for version in range(1, versions + 1):
            async with rw.write_lock:
                await zk.set(f"{path}/first-half", str(version).encode())
                await zk.set(f"{path}/second-half", str(version).encode())
            print(f"writer: version {version} written")


async def reader(hosts: str, path: str, name: str, reads: int, torn: list[str]) -> None:
    async with client.connect(hosts) as zk:
        rw = ReadWriteLock(zk, f"{path}/lock", name)
        for _ in range(reads):
            async with rw.read_lock:
                first = (await zk.get(f"{path}/first-half"))[0]
                second = (await zk.get(f"{path}/second-half"))[0]
            if first != second:
                torn.append(name)
            print(f"{name}: sees version {first.decode()}")


async def main(hosts: str, path: str, readers: int) -> int:
    torn: list[str] = []
    async with client.connect(hosts) as zk:
        await zk.create(f"{path}/first-half", b"0", makepath=True)
        await zk.create(f"{path}/second-half", b"0")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(writer, hosts, path, 5)
            for i in range(readers):
                nursery.start_soon(reader, hosts, path, f"reader-{i}", 5, torn)
        await zk.delete(path, recursive=True)
    print(f"torn reads: {len(torn)}")
    return 0 if not torn else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default="127.0.0.1:2181")
    parser.add_argument("--path", default="/examples/rwlock")
    parser.add_argument("--readers", type=int, default=3)
    args = parser.parse_args()
    raise SystemExit(trio.run(main, args.hosts, args.path, args.readers))
