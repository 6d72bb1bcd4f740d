"""Lock throughput of our client against kazoo's, on our server and on Apache ZooKeeper.

Usage::

    python benchmarks/lock_bench.py                 # full run (a few minutes)
    python benchmarks/lock_bench.py --quick         # smoke run
    python benchmarks/lock_bench.py --json          # one JSON line at the end, too

The run starts zabkeeper and Apache ZooKeeper 3.8 standalone (free loopback ports,
temporary directories, stopped at the end; same tickTime and fsync setting), and measures
with both clients against each server:

* **uncontended**: one session acquires and releases one lock in a loop: cycles/s;
* **contended**: ``--clients`` sessions (8) loop on the same lock for ``--seconds``:
  acquisitions/s, all sessions together.

Each measurement runs in a fresh child process (this script with ``--measure``), so the
clients never share an interpreter. Rounds alternate the order of the clients and the
table shows the median over rounds; then the ratios ours/kazoo against each server
(target: >= 2). The machine's load average is printed as a noise indicator.

Our client's lock is :class:`client.recipes.Lock` (``async with lock``); kazoo's is
``KazooClient.Lock`` (``acquire()`` / ``release()``). Both create the same nodes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))

from server.testing import ServerProcess  # noqa: E402
from support.apache_zk import ApacheZooKeeper, apache_zookeeper_missing  # noqa: E402

CLIENTS = ("ours", "kazoo")
MODES = ("uncontended", "contended")
TARGET = 2.0
SESSION_TIMEOUT = 10.0


# --- one measurement (the child process) ----------------------------------------------------


def measure_ours(hosts: str, mode: str, args: argparse.Namespace) -> dict[str, Any]:
    import trio

    import client
    from client.recipes import Lock

    async def uncontended() -> dict[str, Any]:
        async with client.connect(hosts, session_timeout=SESSION_TIMEOUT) as zk:
            lock = Lock(zk, args.path)
            for _ in range(args.warmup):
                async with lock:
                    pass
            start = time.perf_counter()
            for _ in range(args.cycles):
                async with lock:
                    pass
            elapsed = time.perf_counter() - start
        return {"count": args.cycles, "seconds": elapsed}

    async def contended() -> dict[str, Any]:
        counts = [0] * args.clients
        ready = trio.Event()
        deadline = [0.0]

        async def worker(i: int, task_status: trio.TaskStatus[None]) -> None:
            async with client.connect(hosts, session_timeout=SESSION_TIMEOUT) as zk:
                lock = Lock(zk, args.path, f"ours-{i}")
                async with lock:  # warm the path and the connection
                    pass
                task_status.started()
                await ready.wait()
                while trio.current_time() < deadline[0]:
                    async with lock:
                        counts[i] += 1

        async with trio.open_nursery() as nursery:
            for i in range(args.clients):
                await nursery.start(worker, i)
            start = time.perf_counter()
            deadline[0] = trio.current_time() + args.seconds
            ready.set()
        elapsed = time.perf_counter() - start
        return {"count": sum(counts), "seconds": elapsed, "per_client": counts}

    return trio.run(uncontended if mode == "uncontended" else contended)


def measure_kazoo(hosts: str, mode: str, args: argparse.Namespace) -> dict[str, Any]:
    from kazoo.client import KazooClient

    def connected() -> KazooClient:
        kz = KazooClient(hosts=hosts, timeout=SESSION_TIMEOUT)
        kz.start(timeout=30)
        return kz

    if mode == "uncontended":
        kz = connected()
        try:
            lock = kz.Lock(args.path)
            for _ in range(args.warmup):
                lock.acquire()
                lock.release()
            start = time.perf_counter()
            for _ in range(args.cycles):
                lock.acquire()
                lock.release()
            elapsed = time.perf_counter() - start
        finally:
            kz.stop()
            kz.close()
        return {"count": args.cycles, "seconds": elapsed}

    clients = [connected() for _ in range(args.clients)]
    counts = [0] * args.clients
    go = threading.Event()
    deadline = [0.0]

    def worker(i: int) -> None:
        lock = clients[i].Lock(args.path, f"kazoo-{i}")
        go.wait()
        while time.monotonic() < deadline[0]:
            lock.acquire()
            lock.release()
            counts[i] += 1

    try:
        for kz in clients:  # warm the path and the connections
            lock = kz.Lock(args.path)
            lock.acquire()
            lock.release()
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.clients)]
        for thread in threads:
            thread.start()
        start = time.perf_counter()
        deadline[0] = time.monotonic() + args.seconds
        go.set()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
    finally:
        for kz in clients:
            kz.stop()
            kz.close()
    return {"count": sum(counts), "seconds": elapsed, "per_client": counts}


def measure(args: argparse.Namespace) -> int:
    client_name, mode = args.measure
    fn = measure_ours if client_name == "ours" else measure_kazoo
    result = fn(args.hosts, mode, args)
    result["rate"] = result["count"] / result["seconds"]
    print(json.dumps(result))
    return 0


# --- the run (the parent process) -----------------------------------------------------------


def run_child(hosts: str, client_name: str, mode: str, path: str, args: argparse.Namespace) -> Any:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--measure",
        client_name,
        mode,
        "--hosts",
        hosts,
        "--path",
        path,
        "--cycles",
        str(args.cycles),
        "--warmup",
        str(args.warmup),
        "--clients",
        str(args.clients),
        "--seconds",
        str(args.seconds),
    ]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{client_name} {mode} failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


class Servers:
    """The servers of the run, started on entry and always stopped on exit."""

    def __init__(self, which: list[str], tick_time: int, fsync: bool) -> None:
        self.which = which
        self.tick_time = tick_time
        self.fsync = fsync
        self.hosts: dict[str, str] = {}
        self._ours: ServerProcess | None = None
        self._theirs: ApacheZooKeeper | None = None

    def __enter__(self) -> Servers:
        try:
            if "zabkeeper" in self.which:
                self._ours = ServerProcess(tick_time=self.tick_time, fsync=self.fsync)
                self._ours.start()
                self.hosts["zabkeeper"] = self._ours.hosts
            if "zookeeper" in self.which:
                self._theirs = ApacheZooKeeper(tick_time=self.tick_time, force_sync=self.fsync)
                self._theirs.start()
                self.hosts["zookeeper"] = self._theirs.hosts
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._ours is not None:
            self._ours.stop()
        if self._theirs is not None:
            self._theirs.stop()


def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with Servers(args.servers, args.tick_time, args.fsync) as servers:
        for server, hosts in servers.hosts.items():
            for mode in MODES:
                for round_ in range(args.rounds):
                    order = CLIENTS if round_ % 2 == 0 else CLIENTS[::-1]
                    for client_name in order:
                        path = f"/lock-bench/{mode}-{client_name}-{round_}"
                        result = run_child(hosts, client_name, mode, path, args)
                        key = f"{server}/{client_name}/{mode}"
                        results.setdefault(key, []).append(result["rate"])
                        print(
                            f"  {server:9} {client_name:5} {mode:11} round {round_ + 1}: "
                            f"{result['rate']:8.1f}/s",
                            file=sys.stderr,
                        )
    return results


def report(args: argparse.Namespace, results: dict[str, Any], load: list[float]) -> dict[str, Any]:
    medians = {key: statistics.median(rates) for key, rates in results.items()}
    print(
        f"\nlock benchmark: {args.rounds} round(s); uncontended {args.cycles} cycles, "
        f"contended {args.clients} clients x {args.seconds:g} s; tickTime {args.tick_time} ms, "
        f"fsync {'on' if args.fsync else 'off'}; {os.cpu_count()} CPUs, "
        f"load average {load[0]:.2f} before / {load[1]:.2f} after"
    )
    print(f"\n{'server':10} {'client':7} {'uncontended cycles/s':>21} {'contended acq/s':>16}")
    ratios: dict[str, dict[str, float]] = {}
    for server in args.servers:
        for client_name in CLIENTS:
            row = [medians[f"{server}/{client_name}/{mode}"] for mode in MODES]
            print(f"{server:10} {client_name:7} {row[0]:21.1f} {row[1]:16.1f}")
        ratios[server] = {
            mode: medians[f"{server}/ours/{mode}"] / medians[f"{server}/kazoo/{mode}"]
            for mode in MODES
        }
    print(f"\nours/kazoo (target >= {TARGET:g})")
    met = True
    for server, by_mode in ratios.items():
        cells = []
        for mode, ratio in by_mode.items():
            met = met and ratio >= TARGET
            cells.append(f"{mode} {ratio:.2f}{'' if ratio >= TARGET else ' (below)'}")
        print(f"  against {server:9}: " + ", ".join(cells))
    summary = {"medians": medians, "ratios": ratios, "target_met": met, "raw": results}
    if args.json:
        print(json.dumps(summary))
    return summary


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--rounds", type=int, help="rounds per client (default 3; quick 1)")
    parser.add_argument("--cycles", type=int, help="uncontended cycles (2000; quick 100)")
    parser.add_argument("--warmup", type=int, help="uncontended warm-up cycles (200; quick 10)")
    parser.add_argument("--seconds", type=float, help="contended run time (10; quick 1)")
    parser.add_argument("--clients", type=int, default=8, help="contending sessions")
    parser.add_argument("--tick-time", type=int, default=2000)
    parser.add_argument("--fsync", action="store_true", help="servers fsync their logs")
    parser.add_argument(
        "--servers",
        nargs="+",
        choices=["zabkeeper", "zookeeper"],
        default=["zabkeeper", "zookeeper"],
    )
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    parser.add_argument("--measure", nargs=2, metavar=("CLIENT", "MODE"), help=argparse.SUPPRESS)
    parser.add_argument("--hosts", help=argparse.SUPPRESS)
    parser.add_argument("--path", default="/lock-bench/lock", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    defaults = {"rounds": (3, 1), "cycles": (2000, 100), "warmup": (200, 10), "seconds": (10, 1)}
    for name, (full, quick) in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.measure:
        return measure(args)
    if "zookeeper" in args.servers and (missing := apache_zookeeper_missing()) is not None:
        print(f"cannot run Apache ZooKeeper: {missing}; use --servers zabkeeper", file=sys.stderr)
        return 2
    before = os.getloadavg()[0]
    results = run(args)
    report(args, results, [before, os.getloadavg()[0]])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
