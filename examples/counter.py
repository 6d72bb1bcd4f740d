"""Workers (separate sessions) add to one Counter at the same time; no add is lost.

    python examples/counter.py --hosts 127.0.0.1:2181

Worker i adds i + 1 on each round. Each add returns the counter's new value, so with
positive amounts no two adds may return the same value, and the final value is the sum.
"""

from __future__ import annotations

import argparse

import trio

import client
from client.recipes import Counter


async def worker(hosts: str, path: str, i: int, rounds: int, returned: list[int]) -> None:
    async with client.connect(hosts) as zk, Counter(zk, path) as counter:
        value = None
        for _ in range(rounds):
            value = await counter.add(i + 1)  # the new value, just after this add
            returned.append(value)
        print(f"worker-{i} added {i + 1} {rounds} times; its last add made it {value}")


async def main(hosts: str, path: str, workers: int, rounds: int) -> int:
    returned: list[int] = []
    async with trio.open_nursery() as nursery:
        for i in range(workers):
            nursery.start_soon(worker, hosts, path, i, rounds, returned)
    async with client.connect(hosts) as zk:
        final = await Counter(zk, path).value()
        await zk.delete(path, recursive=True)
    expected = rounds * workers * (workers + 1) // 2
    repeated = len(returned) - len(set(returned))
    outcome = "equals" if final == expected else "differs from"
    print(
        f"final value {final} {outcome} the sum of {len(returned)} adds ({expected}); "
        f"{repeated} adds returned a value another add returned"
    )
    return 0 if final == expected and repeated == 0 else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default="127.0.0.1:2181")
    parser.add_argument("--path", default="/examples/counter")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    raise SystemExit(trio.run(main, args.hosts, args.path, args.workers, args.rounds))
