"""Producers and consumers (separate sessions) share one Queue: every item is consumed
exactly once, and each producer's items in the order it put them.

    python examples/work_queue.py --hosts 127.0.0.1:2181

Half of the consumers use get(), which takes an item for good; the others use take(),
whose item is consumed only when the block ends without an error.
"""

from __future__ import annotations

import argparse
import collections

import trio

import client
from client.recipes import Queue


async def producer(hosts: str, path: str, name: str, items: int) -> None:
    async with client.connect(hosts) as zk, Queue(zk, path) as queue:
        for i in range(items):
            await queue.put(f"{name} {i}".encode())
        print(f"{name} put {items} items")


async def consumer(
    hosts: str,
    path: str,
    name: str,
    use_take: bool,
    consumed: list[tuple[str, str, int]],
    total: int,
    all_consumed: trio.Event,
) -> None:
    async with client.connect(hosts) as zk:
        queue = Queue(zk, path)
        while True:  # until cancelled: a waiting get() or take() leaves no trace
            if use_take:
                async with queue.take() as item:
                    await trio.sleep(0.001)  # the work the item asks for
            else:
                item = await queue.get()
            producer_name, number = item.decode().split()
            consumed.append((name, producer_name, int(number)))
            if len(consumed) == total:
                all_consumed.set()


async def main(hosts: str, path: str, producers: int, consumers: int, items: int) -> int:
    total = producers * items
    consumed: list[tuple[str, str, int]] = []  # (consumer, producer, number), in order taken
    all_consumed = trio.Event()
    with trio.move_on_after(30):
        async with trio.open_nursery() as nursery:
            for i in range(consumers):
                name, use_take = f"consumer-{i}", i % 2 == 1
                args = (name, use_take, consumed, total, all_consumed)
                nursery.start_soon(consumer, hosts, path, *args)
            for i in range(producers):
                nursery.start_soon(producer, hosts, path, f"producer-{i}", items)
            await all_consumed.wait()
            await trio.sleep(0.2)  # time for a wrong second delivery to show up
            nursery.cancel_scope.cancel()
    for i in range(consumers):
        print(f"consumer-{i} consumed {sum(1 for c in consumed if c[0] == f'consumer-{i}')} items")
    async with client.connect(hosts) as zk:
        left = await Queue(zk, path).size()
        await zk.delete(path, recursive=True)
    counts = collections.Counter((p, n) for _, p, n in consumed)
    twice = sum(1 for count in counts.values() if count > 1)
    missing = sum(
        1 for p in range(producers) for n in range(items) if (f"producer-{p}", n) not in counts
    )
    # Each consumer must get each producer's items in increasing order.
    out_of_order = 0
    last: dict[tuple[str, str], int] = {}
    for consumer_name, producer_name, number in consumed:
        if last.get((consumer_name, producer_name), -1) > number:
            out_of_order += 1
        last[consumer_name, producer_name] = number
    print(
        f"{len(consumed)} items consumed of {total} put: {twice} twice, {missing} missing, "
        f"{out_of_order} out of order, {left} left in the queue"
    )
    return 0 if (len(consumed), twice, missing, out_of_order, left) == (total, 0, 0, 0, 0) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default="127.0.0.1:2181")
    parser.add_argument("--path", default="/examples/queue")
    parser.add_argument("--producers", type=int, default=3)
    parser.add_argument("--consumers", type=int, default=4)
    parser.add_argument("--items", type=int, default=20)
    args = parser.parse_args()
    raise SystemExit(
        trio.run(main, args.hosts, args.path, args.producers, args.consumers, args.items)
    )
