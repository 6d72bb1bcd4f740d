"""Benchmark the znode tree: applied creates, getData reads, snapshot write and load.

Usage: ``python benchmarks/tree_bench.py [--nodes N] [--seed S]`` (default 1,000,000 nodes).

The tree gets N creates with 100-byte values: first the parents directly under ``/`` (1,000
of them, fewer for small N), then their children spread evenly, so fan-out is 1,000 for the
default size. Txns are built in batches of 10,000 outside the timed loop, so only
``DataTree.apply`` is timed and memory stays bounded. Then every created path is read once
with ``get_data`` in a seeded shuffled order. Finally the tree is written as a snapshot to a
temporary file, its digest noted, the tree dropped (as a restarting server has no other
tree), and the snapshot loaded back and compared by digest.
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from znode.acl import OPEN_ACL_UNSAFE
from znode.opcodes import OpCode
from znode.paths import SPECIAL_PATHS
from znode.snapshot import read_snapshot, write_snapshot
from znode.tree import DataTree
from znode.txn import CreateTxn, TxnHeader

FANOUT = 1000
VALUE_SIZE = 100
BATCH = 10_000
SESSION_ID = 0x1_0000_0001
START_MS = 1_700_000_000_000  # a fixed wall-clock time: txn times are inputs, not clock reads

TARGET_CREATES = 150_000
TARGET_READS = 400_000
TARGET_RSS_MB = 600
TARGET_SNAPSHOT_MBS = 50


def create_specs(nodes: int) -> Iterator[tuple[str, int]]:
    """``(path, parent's child counter after the create)`` for every create, parents first."""
    parents = max(1, min(FANOUT, math.isqrt(nodes)))
    for i in range(parents):
        yield f"/p{i:04d}", i + 1
    children = nodes - parents
    for i in range(parents):
        share = children // parents + (1 if i < children % parents else 0)
        for j in range(share):
            yield f"/p{i:04d}/c{j:06d}", j + 1


def txn_batches(nodes: int) -> Iterator[list[tuple[TxnHeader, CreateTxn]]]:
    """The creates as (header, txn) pairs, ``BATCH`` at a time; every value is distinct."""
    batch: list[tuple[TxnHeader, CreateTxn]] = []
    for zxid, (path, parent_cversion) in enumerate(create_specs(nodes), start=1):
        value = (b"%010d" % zxid) * (VALUE_SIZE // 10)
        header = TxnHeader(SESSION_ID, zxid, zxid, START_MS + zxid, OpCode.CREATE)
        batch.append((header, CreateTxn(path, value, OPEN_ACL_UNSAFE, 0, parent_cversion)))
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def bench_creates(tree: DataTree, nodes: int) -> float:
    """Apply every create; return the seconds spent inside the apply loop."""
    elapsed = 0.0
    apply = tree.apply
    for batch in txn_batches(nodes):
        start = time.perf_counter()
        for header, txn in batch:
            apply(header, txn)
        elapsed += time.perf_counter() - start
    if len(tree.nodes) != nodes + len(SPECIAL_PATHS):
        raise SystemExit(f"expected {nodes} created nodes, the tree has {len(tree.nodes)}")
    return elapsed


def bench_reads(tree: DataTree, seed: int) -> tuple[int, float]:
    """``get_data`` on every created path in a seeded shuffled order; (reads, seconds)."""
    order = [path for path in tree.nodes if path not in SPECIAL_PATHS]
    random.Random(seed).shuffle(order)
    get_data = tree.get_data
    start = time.perf_counter()
    for path in order:
        get_data(path)
    return len(order), time.perf_counter() - start


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures against their targets."""
    parser = argparse.ArgumentParser(description="Benchmark the znode tree and snapshots.")
    parser.add_argument("--nodes", type=int, default=1_000_000, help="creates to apply")
    parser.add_argument("--seed", type=int, default=1, help="seed of the read order")
    args = parser.parse_args(argv)
    nodes: int = args.nodes

    tree = DataTree()
    create_s = bench_creates(tree, nodes)
    phase_rss = [("creates", peak_rss_mb())]
    reads, read_s = bench_reads(tree, args.seed)
    phase_rss.append(("reads", peak_rss_mb()))

    with tempfile.TemporaryDirectory(prefix="tree_bench.") as tmp:
        snap_path = Path(tmp) / "snapshot.0"
        start = time.perf_counter()
        with snap_path.open("wb") as out:
            size = write_snapshot(tree, tree.last_zxid, out)
        write_s = time.perf_counter() - start
        phase_rss.append(("write", peak_rss_mb()))
        expected = (tree.digest(), len(tree.nodes), tree.last_zxid, dict(tree.sessions))
        phase_rss.append(("digest", peak_rss_mb()))
        del tree
        gc.collect()
        start = time.perf_counter()
        with snap_path.open("rb") as inp:
            loaded = read_snapshot(inp, str(snap_path))
        load_s = time.perf_counter() - start
        phase_rss.append(("load", peak_rss_mb()))
    new = loaded.tree
    equal = (new.digest(), len(new.nodes), new.last_zxid, new.sessions) == expected
    rss = peak_rss_mb()

    mb = size / 1e6
    rows = [
        ("creates applied/s", nodes / create_s, ">=", TARGET_CREATES),
        ("getData/s", reads / read_s, ">=", TARGET_READS),
        ("snapshot write MB/s", mb / write_s, ">=", TARGET_SNAPSHOT_MBS),
        ("snapshot load MB/s", mb / load_s, ">=", TARGET_SNAPSHOT_MBS),
        ("peak RSS MB", rss, "<=", TARGET_RSS_MB),
    ]
    print(f"tree_bench: {nodes:,} creates, {reads:,} reads, Python {sys.version.split()[0]}")
    print(f"{'metric':<22}{'value':>14}  {'target':<12}ok")
    for name, value, op, target in rows:
        ok = value >= target if op == ">=" else value <= target
        print(f"{name:<22}{value:>14,.1f}  {op} {target:<9,}{'yes' if ok else 'NO'}")
    print(
        f"snapshot: {mb:.1f} MB ({size / len(new.nodes):.0f} B/node), "
        f"write {write_s:.2f} s ({write_s / nodes * 1e6:.2f} us/node), "
        f"load {load_s:.2f} s ({load_s / nodes * 1e6:.2f} us/node), "
        f"digest {'equal' if equal else 'DIFFERENT'}"
    )
    print("peak RSS MB after each phase: " + ", ".join(f"{p} {r:.0f}" for p, r in phase_rss))
    return 0 if equal else 1


if __name__ == "__main__":
    sys.exit(main())
