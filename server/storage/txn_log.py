"""The transaction log: append-only segments of CRC-framed txn records.

Byte grammar of one segment file, ``log.<first zxid as 16 hex digits>``::

    segment  := header record* padding
    header   := "ZBKL" version:u32 reserved:u64          (16 bytes, big-endian)
    record   := length:u32 crc:u32 body[length]          (crc = CRC-32 of body)
    body     := msgpack txn packet (znode.txn_codec: header fields, then the txn)
    padding  := 0x00*                                     (preallocated, never written)

A length of 0 ends the records (the rest is preallocated zeros). Records are written in
zxid order, in batches; a batch is fsynced (``fdatasync``) before any txn in it is
acknowledged, so one fsync covers every record queued meanwhile (group commit).

Recovery reads every segment in order. A bad record (CRC mismatch, length past the end)
in the last segment, with nothing but zeros after it, is a write torn by a crash: the
segment is truncated there with a warning. Any other bad record is corruption and stops
start-up with :class:`~znode.errors.CorruptRecord` naming the file and the offset; a
record is never skipped.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import struct
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from znode.errors import CorruptRecord
from znode.txn import Txn, TxnHeader
from znode.txn_codec import decode_txn

log = logging.getLogger("zabkeeper.storage")

MAGIC = b"ZBKL"
VERSION = 1
_HEADER = struct.Struct(">4sIQ")
_RECORD = struct.Struct(">II")
_SEGMENT_NAME = re.compile(r"^log\.([0-9a-f]{16})$")
PREALLOCATE = 64 * 1024 * 1024
SEGMENT_LIMIT = 64 * 1024 * 1024
_READ_CHUNK = 1 << 20


def segment_name(first_zxid: int) -> str:
    return f"log.{first_zxid:016x}"


def list_segments(log_dir: Path) -> list[tuple[int, Path]]:
    """The segments in ``log_dir`` as (first zxid, path), oldest first."""
    found = []
    if log_dir.is_dir():
        for entry in log_dir.iterdir():
            match = _SEGMENT_NAME.match(entry.name)
            if match:
                found.append((int(match.group(1), 16), entry))
    return sorted(found)


def frame_record(body: bytes) -> bytes:
    """One record: length, CRC-32, body."""
    return _RECORD.pack(len(body), zlib.crc32(body)) + body


class SegmentScan:
    """The valid records of one segment, and where they end."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: list[tuple[int, bytes]] = []  # (offset, body)
        self.end = _HEADER.size  # offset just past the last valid record
        self.torn_at: int | None = None  # offset of a torn final record

    def scan(self, *, last: bool) -> SegmentScan:
        """Read the segment. ``last``: a torn final record is tolerated (and reported)."""
        data = self.path.read_bytes()
        source = str(self.path)
        if len(data) < _HEADER.size:
            if last and not data.strip(b"\x00"):
                self.torn_at = 0
                self.end = 0
                return self
            raise CorruptRecord("segment header is truncated", source=source, offset=0)
        magic, version, _ = _HEADER.unpack_from(data, 0)
        if magic != MAGIC or version != VERSION:
            raise CorruptRecord(
                f"not a zabkeeper log segment (magic {magic!r}, version {version})",
                source=source,
                offset=0,
            )
        pos = _HEADER.size
        size = len(data)
        while pos + _RECORD.size <= size:
            length, crc = _RECORD.unpack_from(data, pos)
            if length == 0 and crc == 0:
                if data[pos:].strip(b"\x00"):  # zeros, then data again: damage
                    raise CorruptRecord(
                        "zeroed record header before more records", source=source, offset=pos
                    )
                break  # end of records: preallocated zeros
            start = pos + _RECORD.size
            stop = start + length
            if length == 0 or stop > size or zlib.crc32(data[start:stop]) != crc:
                return self._bad(data, pos, stop, last=last)
            self.records.append((pos, data[start:stop]))
            pos = stop
        else:
            if pos < size and data[pos:].strip(b"\x00"):
                return self._bad(data, pos, size, last=last)
        self.end = pos
        return self

    def _bad(self, data: bytes, pos: int, stop: int, *, last: bool) -> SegmentScan:
        rest = data[max(stop, pos + _RECORD.size) :]
        if last and not rest.strip(b"\x00"):
            self.torn_at = pos
            self.end = pos
            return self
        raise CorruptRecord(
            "record fails its CRC or length check", source=str(self.path), offset=pos
        )


class TxnLog:
    """The log directory: replay at start-up, then appends in batches.

    ``write_batch`` does blocking IO; the server calls it from a worker thread, one batch
    at a time, and nothing else touches the open segment meanwhile.
    """

    def __init__(self, log_dir: Path, *, force_sync: bool = True) -> None:
        self.log_dir = log_dir
        self.force_sync = force_sync
        self.last_zxid = 0
        self._fd: int | None = None
        self._path: Path | None = None
        self._offset = 0
        self._allocated = 0
        self._roll = False
        log_dir.mkdir(parents=True, exist_ok=True)

    # --- recovery ------------------------------------------------------------------------

    def replay(self, after_zxid: int) -> Iterator[tuple[TxnHeader, Txn]]:
        """Every logged txn with zxid > ``after_zxid``, in order; repairs a torn tail.

        Raises:
            CorruptRecord: a damaged record that is not a torn tail, or zxids out of order.
        """
        for _, header, txn, _ in self._records(after_zxid, repair=True):
            yield header, txn

    def replay_raw(self, after_zxid: int) -> Iterator[tuple[int, bytes]]:
        """(zxid, record body) of every logged txn after ``after_zxid``; repairs a torn tail."""
        for zxid, _, _, body in self._records(after_zxid, repair=True):
            yield zxid, body

    def read_after(self, zxid: int, limit: int) -> list[tuple[int, bytes]] | None:
        """Up to ``limit`` (zxid, body) records after ``zxid``, or ``None`` when the log no
        longer reaches back to ``zxid`` (older segments were purged)."""
        segments = list_segments(self.log_dir)
        if not segments or segments[0][0] > zxid + 1:
            return None
        out: list[tuple[int, bytes]] = []
        for record_zxid, _, _, body in self._records(zxid, repair=False):
            out.append((record_zxid, body))
            if len(out) >= limit:
                break
        return out

    def _records(
        self, after_zxid: int, *, repair: bool
    ) -> Iterator[tuple[int, TxnHeader, Txn, bytes]]:
        segments = list_segments(self.log_dir)
        previous = 0
        for index, (_, path) in enumerate(segments):
            last = index == len(segments) - 1
            scan = SegmentScan(path).scan(last=last)
            for offset, body in scan.records:
                header, txn = decode_txn(body, source=str(path), offset=offset)
                if header.zxid <= previous:
                    raise CorruptRecord(
                        f"zxid 0x{header.zxid:x} follows 0x{previous:x}",
                        source=str(path),
                        offset=offset,
                    )
                previous = header.zxid
                if header.zxid > after_zxid:
                    yield header.zxid, header, txn, body
            if scan.torn_at is not None and repair:
                log.warning(
                    "%s: truncating a torn record at offset %d (a write cut short by a crash)",
                    path,
                    scan.torn_at,
                )
                self._truncate(path, scan.end)
        if repair:
            self.last_zxid = previous

    def _truncate(self, path: Path, end: int) -> None:
        if end < _HEADER.size:
            path.unlink()
            return
        with open(path, "r+b") as handle:
            handle.truncate(end)
            handle.flush()
            os.fsync(handle.fileno())

    # --- appending -----------------------------------------------------------------------

    def roll(self) -> None:
        """Start a new segment with the next batch (done after each snapshot)."""
        self._roll = True

    def write_batch(self, records: Sequence[tuple[int, bytes]]) -> None:
        """Append framed records ``(zxid, framed bytes)`` and make them durable."""
        if not records:
            return
        if self._fd is None or self._roll or self._offset >= SEGMENT_LIMIT:
            self._open_segment(records[0][0])
        assert self._fd is not None
        data = b"".join(frame for _, frame in records)
        end = self._offset + len(data)
        if end > self._allocated:
            self._preallocate(end)
        written = os.pwrite(self._fd, data, self._offset)
        while written < len(data):
            written += os.pwrite(self._fd, data[written:], self._offset + written)
        self._offset = end
        if self.force_sync:
            os.fdatasync(self._fd)
        self.last_zxid = records[-1][0]

    def _open_segment(self, first_zxid: int) -> None:
        self.close()
        path = self.log_dir / segment_name(first_zxid)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        os.pwrite(fd, _HEADER.pack(MAGIC, VERSION, 0), 0)
        self._fd, self._path = fd, path
        self._offset = _HEADER.size
        self._allocated = _HEADER.size
        self._roll = False
        self._preallocate(self._offset + 1)
        os.fsync(fd)
        _fsync_dir(self.log_dir)

    def _preallocate(self, needed: int) -> None:
        assert self._fd is not None
        size = max(needed, self._allocated + PREALLOCATE)
        try:
            os.posix_fallocate(self._fd, 0, size)
        except OSError:  # e.g. unsupported by the file system: plain growth then
            return
        self._allocated = size

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def truncate_after(self, zxid: int) -> None:
        """Durably drop every record after ``zxid`` (ZAB's TRUNC); the next batch starts a
        new segment."""
        self.close()
        for first, path in reversed(list_segments(self.log_dir)):
            if first > zxid:
                path.unlink()
                continue
            scan = SegmentScan(path).scan(last=True)
            keep = _HEADER.size
            for offset, body in scan.records:
                header, _ = decode_txn(body, source=str(path), offset=offset)
                if header.zxid > zxid:
                    break
                keep = offset + _RECORD.size + len(body)
            self._truncate(path, keep)
            break
        _fsync_dir(self.log_dir)
        self.last_zxid = min(self.last_zxid, zxid)
        self._roll = True

    def reset(self) -> None:
        """Durably delete every segment (the state came whole from a snapshot)."""
        self.close()
        for _, path in list_segments(self.log_dir):
            path.unlink()
        _fsync_dir(self.log_dir)
        self.last_zxid = 0
        self._roll = True

    # --- retention -----------------------------------------------------------------------

    def purge_before(self, zxid: int) -> list[Path]:
        """Delete segments holding only txns below ``zxid`` (never the newest one)."""
        segments = list_segments(self.log_dir)
        removed = []
        for (_, path), (next_first, _) in itertools.pairwise(segments):
            if next_first <= zxid and path != self._path:
                path.unlink()
                removed.append(path)
        return removed


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
