"""Start-up recovery: the newest valid snapshot, then every logged txn after it."""

from __future__ import annotations

import logging
from pathlib import Path

import attrs

from server.config import ServerConfig
from server.storage.epochs import read_epochs
from server.storage.snapshots import load_newest
from server.storage.txn_log import TxnLog
from zab.history import History
from zab.peer import DurableState
from zab.ready import LogEntry
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


@attrs.define
class RecoveredMember:
    """What an ensemble member rebuilt: its committed state and the ZAB durable state."""

    tree: DataTree
    log: TxnLog
    durable: DurableState


class DiskLogReader:
    """Older log entries for a DIFF, read back from the segments (CRC-checked)."""

    def __init__(self, txn_log: TxnLog) -> None:
        self.log = txn_log

    def read_after(self, zxid: int, limit: int) -> list[LogEntry] | None:
        records = self.log.read_after(zxid, limit)
        if records is None:
            return None
        return [LogEntry(z, body) for z, body in records]


def recover_member(data_dir: Path, log_dir: Path, config: ServerConfig) -> RecoveredMember:
    """Start-up of an ensemble member.

    The state machine gets only the newest snapshot: it holds committed txns alone. The
    log after it goes to the ZAB history as entries whose fate the next leader decides
    (kept and committed, or truncated), and the epochs come from their file.

    Raises:
        CorruptRecord: damaged snapshots, log or epochs file.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    loaded = load_newest(data_dir)
    tree = loaded.tree if loaded is not None else DataTree()
    base = loaded.zxid if loaded is not None else 0
    txn_log = TxnLog(log_dir, force_sync=config.force_sync)
    entries = [LogEntry(zxid, body) for zxid, body in txn_log.replay_raw(base)]
    accepted, current = read_epochs(data_dir)
    history = History(
        entries, base=base, window=config.commit_log_count, reader=DiskLogReader(txn_log)
    )
    log.info(
        "recovered: snapshot 0x%x, %d logged txns after it (to 0x%x), epochs %d/%d",
        base,
        len(entries),
        history.last_zxid,
        accepted,
        current,
    )
    return RecoveredMember(tree, txn_log, DurableState(accepted, current, history))
