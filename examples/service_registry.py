"""Instances of a service (separate sessions) register and leave while a watcher follows
the service's membership.

    python examples/service_registry.py --hosts 127.0.0.1:2181

Each instance takes a unique name from allocate_name() and registers under it with its
address as payload; one of them stays registered with keep_registered(), which would
register it again with a new session if its session expired. Once the watcher has seen
every instance, they leave one by one, each keeping its session until the watcher has seen
them all go.
"""

from __future__ import annotations

import argparse
import re
from functools import partial

import trio

import client
from client.recipes import Instance, ServiceRegistry, keep_registered
from client.recipes.config import Json

SERVICE = "web"


async def instance(
    hosts: str,
    path: str,
    i: int,
    registered: dict[str, Json],
    leave: trio.Event,
    all_gone: trio.Event,
) -> None:
    async with client.connect(hosts) as zk:
        registry = ServiceRegistry(zk, path)
        name = await registry.allocate_name(f"{SERVICE}-")
        payload: Json = {"host": "127.0.0.1", "port": 8000 + i}
        registered[name] = payload
        await trio.sleep(0.05 * i)  # instances come up at different times
        if i == 0:
            async with trio.open_nursery() as nursery:
                connect = partial(client.connect, hosts)  # a new client for each session
                keep = partial(keep_registered, instance_id=name)
                await nursery.start(keep, connect, path, SERVICE, payload)
                print(f"{name} registered (kept registered across sessions)")
                await leave.wait()
                nursery.cancel_scope.cancel()
        else:
            async with registry.register(SERVICE, payload, instance_id=name):
                print(f"{name} registered")
                await leave.wait()
                await trio.sleep(0.05 * i)  # and leave at different times
        print(f"{name} left")
        await all_gone.wait()  # the session lives on: leaving must remove the instance


async def watcher(
    hosts: str,
    path: str,
    instances: int,
    registered: dict[str, Json],
    leave: trio.Event,
    all_gone: trio.Event,
    log: list[int],
) -> None:
    async with client.connect(hosts) as zk, ServiceRegistry(zk, path).watch(SERVICE) as changes:
        async for members in changes:  # the current set, then the set after each change
            check_members(members, registered)
            log.append(len(members))
            print(f"watcher: {len(members)} instances {sorted(members)}")
            if len(members) == instances:
                leave.set()
            if leave.is_set() and not members:
                all_gone.set()
                return


def check_members(members: dict[str, Instance], registered: dict[str, Json]) -> None:
    for instance_id, member in members.items():
        if member.id != instance_id or member.payload != registered.get(instance_id):
            raise RuntimeError(f"unexpected member {member}")


async def main(hosts: str, path: str, instances: int) -> int:
    registered: dict[str, Json] = {}
    log: list[int] = []
    leave, all_gone = trio.Event(), trio.Event()
    with trio.move_on_after(30):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(watcher, hosts, path, instances, registered, leave, all_gone, log)
            for i in range(instances):
                nursery.start_soon(instance, hosts, path, i, registered, leave, all_gone)
    async with client.connect(hosts) as zk:
        await zk.delete(path, recursive=True)
    most = max(log, default=0)
    final = log[-1] if log else None
    unique = sum(1 for name in registered if re.fullmatch(rf"{SERVICE}-\d{{10}}", name))
    print(f"the watcher saw {most} of {instances} instances, then {final}; {unique} unique names")
    return 0 if most == instances and final == 0 and unique == instances else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default="127.0.0.1:2181")
    parser.add_argument("--path", default="/examples/services")
    parser.add_argument("--instances", type=int, default=4)
    args = parser.parse_args()
    raise SystemExit(trio.run(main, args.hosts, args.path, args.instances))
