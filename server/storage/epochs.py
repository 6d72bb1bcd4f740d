"""ZAB's two durable epochs, ``acceptedEpoch`` and ``currentEpoch``, in one small file.

Written atomically: a temporary file is written and fsynced, renamed over the old one, and
the directory fsynced, so a crash leaves the old pair or the new pair, never a mix. The
file is two decimal lines, as ZooKeeper's ``acceptedEpoch`` / ``currentEpoch`` files are
one line each.
"""

from __future__ import annotations

import os
from pathlib import Path

from server.storage.snapshots import fsync_dir
from znode.errors import CorruptRecord

FILE_NAME = "epochs"


def read_epochs(data_dir: Path) -> tuple[int, int]:
    """(accepted, current); (0, 0) for a new server.

    Raises:
        CorruptRecord: the file exists but does not hold two epochs.
    """
    path = data_dir / FILE_NAME
    if not path.exists():
        return 0, 0
    text = path.read_text(encoding="ascii", errors="replace")
    try:
        accepted, current = (int(line) for line in text.split())
    except ValueError:
        raise CorruptRecord("expected two epochs", source=str(path), offset=0) from None
    if current > accepted or current < 0:
        raise CorruptRecord(
            f"current epoch {current} > accepted {accepted}", source=str(path), offset=0
        )
    return accepted, current


def write_epochs(data_dir: Path, accepted: int, current: int) -> None:
    """Durably replace the epochs (blocking: call from a worker thread)."""
    path = data_dir / FILE_NAME
    temp = data_dir / (FILE_NAME + ".tmp")
    with open(temp, "w", encoding="ascii") as handle:
        handle.write(f"{accepted}\n{current}\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    fsync_dir(data_dir)
