"""Snapshot files: written whole or not at all, found again at start-up, purged by age.

A snapshot is written to ``snapshot.<zxid>.tmp``, fsynced, renamed to
``snapshot.<zxid as 16 hex digits>`` and the directory fsynced, so a crash leaves either
the complete file or no file under the final name. The byte format is
:mod:`znode.snapshot`'s.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path

from znode.errors import CorruptRecord
from znode.snapshot import LoadedSnapshot, read_snapshot

log = logging.getLogger("zabkeeper.storage")

_NAME = re.compile(r"^snapshot\.([0-9a-f]{16})$")


def snapshot_name(zxid: int) -> str:
    return f"snapshot.{zxid:016x}"


def list_snapshots(data_dir: Path) -> list[tuple[int, Path]]:
    """Complete snapshot files as (zxid, path), newest first."""
    found = []
    if data_dir.is_dir():
        for entry in data_dir.iterdir():
            match = _NAME.match(entry.name)
            if match:
                found.append((int(match.group(1), 16), entry))
    return sorted(found, reverse=True)


class SnapshotFile:
    """Writes one snapshot file chunk by chunk (blocking calls; run them in a thread)."""

    def __init__(self, data_dir: Path, zxid: int) -> None:
        self.data_dir = data_dir
        self.zxid = zxid
        self.final = data_dir / snapshot_name(zxid)
        self.temp = data_dir / (snapshot_name(zxid) + ".tmp")
        self._handle = open(self.temp, "wb")  # noqa: SIM115 - closed by finish/abort
        self.written = 0

    def write(self, chunks: Iterable[bytes]) -> None:
        for chunk in chunks:
            self._handle.write(chunk)
            self.written += len(chunk)

    def finish(self) -> Path:
        """Make the file durable and give it its final name."""
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        os.replace(self.temp, self.final)
        fsync_dir(self.data_dir)
        return self.final

    def abort(self) -> None:
        self._handle.close()
        self.temp.unlink(missing_ok=True)


def load_newest(data_dir: Path) -> LoadedSnapshot | None:
    """The newest snapshot that loads cleanly; ``None`` when there is none at all.

    A damaged newer snapshot is reported and an older one is used (the log since that
    older snapshot is kept by retention, so nothing is lost).

    Raises:
        CorruptRecord: snapshots exist but none of them loads.
    """
    snapshots = list_snapshots(data_dir)
    first_error: CorruptRecord | None = None
    for _, path in snapshots:
        try:
            with open(path, "rb") as handle:
                return read_snapshot(handle, str(path))
        except CorruptRecord as exc:
            log.error("skipping damaged snapshot: %s", exc)
            first_error = first_error or exc
    if first_error is not None:
        raise first_error
    return None


def purge_snapshots(data_dir: Path, retain: int) -> tuple[list[Path], int | None]:
    """Delete all but the ``retain`` newest snapshots.

    Returns the deleted files and the zxid of the oldest snapshot kept (logs after it
    must be kept), or ``None`` when there is no snapshot.
    """
    snapshots = list_snapshots(data_dir)
    removed = []
    for _, path in snapshots[retain:]:
        path.unlink()
        removed.append(path)
    for leftover in data_dir.glob("snapshot.*.tmp"):
        leftover.unlink()
    kept = snapshots[:retain]
    return removed, (kept[-1][0] if kept else None)


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
