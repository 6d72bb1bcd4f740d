"""A publisher pushes new versions of a ConfigStore document; subscribers (separate
sessions) follow them as they come.

    python examples/config_push.py --hosts 127.0.0.1:2181

Under a burst of publishes a subscriber may skip versions (it reads the newest state), but
it never sees an older version after a newer one, and it always ends on the latest.
"""

from __future__ import annotations

import argparse
import itertools

import trio

import client
from client.recipes import ConfigStore
from client.recipes.config import Json


async def subscriber(
    hosts: str,
    path: str,
    name: str,
    last: int,
    seen: list[int],
    *,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    async with client.connect(hosts) as zk, ConfigStore(zk, path).subscribe() as updates:
        task_status.started()
        async for config in updates:  # the current value first, then each newer one
            assert isinstance(config.value, dict)
            if config.value["release"] != config.version:
                raise RuntimeError(f"{name}: {config.value} read at version {config.version}")
            seen.append(config.version)
            print(f"{name} applies release {config.value['release']}: {config.value}")
            if config.version == last:
                return


async def publisher(hosts: str, path: str, versions: int) -> None:
    async with client.connect(hosts) as zk:
        store = ConfigStore(zk, path)
        for release in range(versions):
            value: Json = {"release": release, "workers": 2 + release % 5}
            version = await store.publish(value)
            if version != release:
                raise RuntimeError(f"release {release} was published at version {version}")
            await trio.sleep(0.02 * (release % 3))  # sometimes a burst, sometimes a pause


async def main(hosts: str, path: str, subscribers: int, versions: int) -> int:
    seen: list[list[int]] = [[] for _ in range(subscribers)]
    last = versions - 1
    with trio.move_on_after(30):
        async with trio.open_nursery() as nursery:
            for i in range(subscribers):
                # Each subscriber is watching before the first publish.
                await nursery.start(subscriber, hosts, path, f"subscriber-{i}", last, seen[i])
            nursery.start_soon(publisher, hosts, path, versions)
    async with client.connect(hosts) as zk:
        await zk.delete(path, recursive=True)
    on_last = sum(1 for versions_seen in seen if versions_seen[-1:] == [last])
    backwards = sum(1 for s in seen if any(b <= a for a, b in itertools.pairwise(s)))
    counts = ", ".join(str(len(s)) for s in seen)
    print(
        f"{on_last} of {subscribers} subscribers ended on the last version ({last}), "
        f"{backwards} went backwards (versions seen: {counts})"
    )
    return 0 if on_last == subscribers and backwards == 0 else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default="127.0.0.1:2181")
    parser.add_argument("--path", default="/examples/config")
    parser.add_argument("--subscribers", type=int, default=3)
    parser.add_argument("--versions", type=int, default=20)
    args = parser.parse_args()
    raise SystemExit(trio.run(main, args.hosts, args.path, args.subscribers, args.versions))
