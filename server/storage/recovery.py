"""Start-up recovery: the newest valid snapshot, then every logged txn after it."""

from __future__ import annotations

import logging
from pathlib import Path

import attrs

from server.storage.snapshots import load_newest
from server.storage.txn_log import TxnLog
from znode.tree import DataTree

log = logging.getLogger("zabkeeper.storage")


@attrs.define
class Recovered:
    """What start-up rebuilt: the tree and the log, ready for appends."""

    tree: DataTree
    log: TxnLog
    snapshot_zxid: int
    replayed: int


def recover(data_dir: Path, log_dir: Path, *, force_sync: bool = True) -> Recovered:
    """Load the newest valid snapshot and replay the log after it.

    Raises:
        CorruptRecord: a damaged snapshot with no valid older one, or a damaged log record
            that is not a torn tail.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    loaded = load_newest(data_dir)
    tree = loaded.tree if loaded is not None else DataTree()
    snapshot_zxid = loaded.zxid if loaded is not None else 0
    txn_log = TxnLog(log_dir, force_sync=force_sync)
    replayed = 0
    for header, txn in txn_log.replay(snapshot_zxid):
        tree.apply(header, txn)
        replayed += 1
    log.info(
        "recovered zxid 0x%x: snapshot 0x%x + %d logged txns, %d nodes, %d sessions",
        tree.last_zxid,
        snapshot_zxid,
        replayed,
        tree.node_count,
        len(tree.sessions),
    )
    return Recovered(tree, txn_log, snapshot_zxid, replayed)
