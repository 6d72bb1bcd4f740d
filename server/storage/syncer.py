"""Group commit: the one task that writes the transaction log.

Records appended while a batch is being written and fsynced form the next batch, so one
fsync covers all of them. Truncation and reset are queued behind the appends made before
them, and awaited by whoever asked, so nothing else touches the log meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable

import trio

from server.storage.txn_log import TxnLog, frame_record
from server.wake import Wake
from znode.txn import Txn, TxnHeader
from znode.txn_codec import encode_txn


class LogSyncer:
    """Owns the writes to a :class:`TxnLog` (blocking IO runs in worker threads)."""

    def __init__(self, txn_log: TxnLog) -> None:
        self.log = txn_log
        self.pending: list[tuple[int, bytes]] = []
        self._ops: list[tuple[str, int, trio.Event]] = []
        self._wake = Wake()
        #: bumped by every truncation or reset: a durability report carries the generation
        #: it was made in, so one from before a truncation is never taken for after it
        self.generation = 0

    def append(self, zxid: int, body: bytes) -> None:
        """Queue an encoded txn for the next batch."""
        if not self.pending:
            self._wake.set()
        self.pending.append((zxid, frame_record(body)))

    def propose(self, header: TxnHeader, txn: Txn) -> None:
        """The standalone commit step: log the txn (durable once ``run`` reports it)."""
        self.append(header.zxid, encode_txn(header, txn))

    async def truncate(self, zxid: int) -> None:
        """Durably drop every record after ``zxid`` (after the batches queued before)."""
        self.pending = [item for item in self.pending if item[0] <= zxid]
        await self._op("truncate", zxid)

    async def reset(self) -> None:
        """Durably delete the whole log (after a snapshot replaced the state)."""
        self.pending = []
        await self._op("reset", 0)

    async def _op(self, kind: str, zxid: int) -> None:
        done = trio.Event()
        self._ops.append((kind, zxid, done))
        self._wake.set()
        await done.wait()

    async def run(self, durable: Callable[[int, int], None]) -> None:
        """Write batches forever; ``durable(zxid, generation)`` after each fsync."""
        while True:
            await self._wake.wait()
            while self.pending or self._ops:
                batch, self.pending = self.pending, []
                if batch:
                    generation = self.generation
                    await trio.to_thread.run_sync(self.log.write_batch, batch)
                    durable(batch[-1][0], generation)
                if self._ops and not self.pending:
                    kind, zxid, done = self._ops.pop(0)
                    self.generation += 1
                    if kind == "truncate":
                        await trio.to_thread.run_sync(self.log.truncate_after, zxid)
                    else:
                        await trio.to_thread.run_sync(self.log.reset)
                    done.set()
