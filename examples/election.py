"""Candidates (separate sessions) elect a leader; each leads one term, then steps down.

    python examples/election.py --hosts 127.0.0.1:2181

An observer that does not run for election prints who leads whenever it changes.
"""

from __future__ import annotations

import argparse

import trio

import client
from client import WatchKind
from client.recipes import LeaderElection


async def candidate(hosts: str, path: str, name: str, terms: list[str]) -> None:
    async with client.connect(hosts) as zk:
        election = LeaderElection(zk, path, name)

        async def lead() -> None:
            terms.append(name)
            print(f"{name} leads (fencing token {election.fencing_token})")
            await trio.sleep(0.2)  # the leader's work for this term
            print(f"{name} steps down")

        await election.run(lead)


async def observe(hosts: str, path: str, done: trio.Event) -> None:
    async with client.connect(hosts) as zk:
        observer = LeaderElection(zk, path)
        last: str | None = None
        while not done.is_set():
            async with zk.watch(path, WatchKind.CHILDREN) as events:
                leader = await observer.leader()
                if leader != last and leader is not None:
                    print(f"observer: the leader is now {leader}")
                last = leader
                with trio.move_on_after(1):
                    await events.__anext__()


async def main(hosts: str, path: str, candidates: int) -> int:
    terms: list[str] = []
    async with client.connect(hosts) as zk:
        await zk.create(path, makepath=True)
        done = trio.Event()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(observe, hosts, path, done)
            async with trio.open_nursery() as running:
                for i in range(candidates):
                    running.start_soon(candidate, hosts, path, f"candidate-{i}", terms)
            done.set()
        await zk.delete(path, recursive=True)
    print(f"{len(terms)} terms, each by one leader: {', '.join(terms)}")
    return 0 if sorted(terms) == sorted(f"candidate-{i}" for i in range(candidates)) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default="127.0.0.1:2181")
    parser.add_argument("--path", default="/examples/election")
    parser.add_argument("--candidates", type=int, default=3)
    args = parser.parse_args()
    raise SystemExit(trio.run(main, args.hosts, args.path, args.candidates))
