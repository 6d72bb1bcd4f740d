"""Streaming snapshots of a :class:`~znode.tree.DataTree`: chunks out, bytes in, a tree back.

Byte grammar (integers big-endian; ``crc32`` is zlib's)::

    snapshot := header record* footer EOF
    header   := "ZKSN" version:u32 zxid:i64 crc:u32   20 bytes; crc = crc32(the first 16)
    record   := length:u32 crc:u32 body               crc = crc32(length field + body)
    body     := one msgpack array of ``length`` bytes, one of
      [1, first, [acl, ...]]        ACL table: entries ``first``, ``first + 1``, ...;
                                    ``first`` is the number of ACLs defined before.
                                    acl := [[perms, [scheme, id]], ...]
      [2, [path, ...], [data, ...], stats]
                                    n nodes, every parent before its children; ``data``
                                    is bin or nil; ``stats`` is bin of n * 64 bytes:
                                    acl_index:u32 czxid:i64 mzxid:i64 ctime:i64 mtime:i64
                                    version:i32 cversion:i32 aversion:i32
                                    ephemeral_owner:i64 pzxid:i64
      [3, sessions]                 bin of (session_id:i64 timeout_ms:i32 has_passwd:u8
                                    passwd:16 bytes) records
      [4, nodes, sessions, acls, last_zxid]
                                    footer: the counts of everything before it and the
                                    tree's ``last_zxid``; the last record of the file.

The header's ``zxid`` is the zxid the snapshot covers, chosen by the caller. ``cversion`` is
the stored child-creation counter. Node records are columns (paths, data, fixed-width
stats), so fields are typed by construction and loading checks two type sets per record
instead of every field. An ACL is written once, in a table record emitted just before the
first node record that refers to it. A node record holds up to 1,000 nodes or about
256 KiB, so neither side ever holds the whole tree as one blob.

Any corruption (magic, version, CRC, length, msgpack garbage, wrong field types, a node
whose parent is missing, a duplicate path, a count mismatch, truncation anywhere, bytes
after the footer) raises :class:`~znode.errors.CorruptRecord` whose ``offset`` is where
the damaged record starts: 0 for the header, the end of the data for a missing footer.
Paths are checked structurally (their parent exists, no duplicates), not re-validated.
The tree must not change while :func:`iter_snapshot` is being consumed; any object with
``walk()``, ``sessions`` and ``last_zxid`` (:class:`SnapshotSource`) can stand in for it.
"""

from __future__ import annotations

import gc
import struct
import zlib
from collections.abc import Iterator, Mapping
from operator import attrgetter
from typing import Any, BinaryIO, NoReturn, Protocol

import attrs
import msgpack

from znode.acl import ACL
from znode.errors import CorruptRecord
from znode.tree import DataTree, Node
from znode.txn_codec import acl_from_wire

__all__ = [
    "FORMAT_VERSION",
    "MAGIC",
    "MAX_RECORD",
    "LoadedSnapshot",
    "SnapshotLoader",
    "SnapshotSource",
    "iter_snapshot",
    "read_snapshot",
    "write_snapshot",
]

MAGIC = b"ZKSN"
FORMAT_VERSION = 1
#: Largest record body written or accepted (a node's data must fit in one record).
MAX_RECORD = 1 << 28

_HEADER = struct.Struct(">4sIqI")
_HEADER_BODY = struct.Struct(">4sIq")
_RECORD = struct.Struct(">II")
_U32 = struct.Struct(">I")
_STAT = struct.Struct(">Iqqqqiiiqq")
_SESSION = struct.Struct(">qiB16s")
# The stored stat fields in _STAT order, after the ACL index.
_STAT_NAMES = "czxid mzxid ctime mtime version cversion aversion ephemeral_owner pzxid"
_STAT_FIELDS = attrgetter(*_STAT_NAMES.split())

_ACLS, _NODES, _SESSIONS, _FOOTER = 1, 2, 3, 4
_BATCH_NODES = 1000
_BATCH_BYTES = 256 * 1024
_BATCH_SESSIONS = 10_000
_NODE_OVERHEAD = _STAT.size + 8  # beside path and data: stats, bin and str headers
_DATA_TYPES = frozenset({bytes, type(None)})
_I64 = (-(2**63), 2**63 - 1)


# --- writing -------------------------------------------------------------------------------


class SnapshotSource(Protocol):
    """What a snapshot reads: a :class:`DataTree`, or any consistent view of one."""

    @property
    def sessions(self) -> Mapping[int, int]: ...

    @property
    def last_zxid(self) -> int: ...

    def walk(self) -> Iterator[tuple[str, Node]]:
        """Every (path, node), parents before children."""
        ...


def _record(packer: Any, value: tuple[Any, ...]) -> bytes:
    try:
        body: bytes = packer.pack(value)
    except UnicodeEncodeError:  # lone surrogates in an ACL id: keep them, as the digest does
        body = msgpack.Packer(use_bin_type=True, unicode_errors="surrogatepass").pack(value)
    if len(body) > MAX_RECORD:
        raise ValueError(f"snapshot record of {len(body)} bytes exceeds {MAX_RECORD}")
    length = _U32.pack(len(body))
    return length + _U32.pack(zlib.crc32(body, zlib.crc32(length))) + body


def iter_snapshot(tree: SnapshotSource, zxid: int) -> Iterator[bytes]:
    """Yield the snapshot of ``tree`` covering ``zxid`` as chunks to write in order.

    Each chunk is the file header or one whole record. ``tree`` must not change until the
    iterator is exhausted (pass a frozen view to keep applying txns meanwhile).
    """
    head = _HEADER_BODY.pack(MAGIC, FORMAT_VERSION, zxid)
    yield head + _U32.pack(zlib.crc32(head))
    packer = msgpack.Packer(use_bin_type=True)
    pack_stat = _STAT.pack
    stat_fields = _STAT_FIELDS
    by_id: dict[int, tuple[tuple[ACL, ...], int]] = {}  # id(acl) -> (acl, index)
    by_value: dict[tuple[ACL, ...], int] = {}
    new_acls: list[tuple[ACL, ...]] = []
    paths: list[str] = []
    datas: list[bytes | None] = []
    stats: list[bytes] = []
    size = node_count = 0
    for path, node in tree.walk():
        acl = node.acl
        hit = by_id.get(id(acl))
        if hit is not None and hit[0] is acl:
            index = hit[1]
        else:
            index = by_value.get(acl, len(by_value))
            if index == len(by_value):
                by_value[acl] = index
                new_acls.append(acl)
            by_id[id(acl)] = (acl, index)
        data = node.data
        paths.append(path)
        datas.append(data)
        stats.append(pack_stat(index, *stat_fields(node)))
        size += len(path) + (len(data) if data else 0) + _NODE_OVERHEAD
        if size >= _BATCH_BYTES or len(paths) >= _BATCH_NODES:
            if new_acls:
                yield _record(packer, (_ACLS, len(by_value) - len(new_acls), new_acls))
                new_acls = []
            yield _record(packer, (_NODES, paths, datas, b"".join(stats)))
            node_count += len(paths)
            paths, datas, stats = [], [], []
            size = 0
    if new_acls:
        yield _record(packer, (_ACLS, len(by_value) - len(new_acls), new_acls))
    if paths:
        yield _record(packer, (_NODES, paths, datas, b"".join(stats)))
        node_count += len(paths)
    sessions = sorted(tree.sessions.items())
    for start in range(0, len(sessions), _BATCH_SESSIONS):
        batch = sessions[start : start + _BATCH_SESSIONS]
        passwords = getattr(tree, "session_passwords", {})
        yield _record(
            packer,
            (
                _SESSIONS,
                b"".join(
                    _SESSION.pack(sid, timeout, sid in passwords, passwords.get(sid, b""))
                    for sid, timeout in batch
                ),
            ),
        )
    yield _record(packer, (_FOOTER, node_count, len(sessions), len(by_value), tree.last_zxid))


def write_snapshot(tree: SnapshotSource, zxid: int, out: BinaryIO) -> int:
    """Write the snapshot of ``tree`` covering ``zxid`` to ``out``; return the bytes written."""
    written = 0
    for chunk in iter_snapshot(tree, zxid):
        out.write(chunk)
        written += len(chunk)
    return written


# --- loading -------------------------------------------------------------------------------


@attrs.frozen
class LoadedSnapshot:
    """A tree rebuilt from a snapshot, and the zxid the snapshot covers."""

    tree: DataTree
    zxid: int


class _Bad(Exception):
    """A problem inside one record; the loader adds the source and the record's offset."""


def _int_in(value: object, bounds: tuple[int, int], what: str) -> int:
    if type(value) is not int or not bounds[0] <= value <= bounds[1]:
        raise _Bad(f"{what} is not an integer in range: {value!r:.40}")
    return value


class SnapshotLoader:
    """Sans-IO snapshot reader: :meth:`feed` the file's bytes in order, then :meth:`finish`.

    Owned by one task. Each record is checked and applied to a fresh ``DataTree(empty=True)``
    as soon as it is complete, so memory holds the tree plus about one record. After the
    first :class:`CorruptRecord` every call raises it again.

    Args:
        source: names the file in errors.
        max_record: largest record body accepted.
        pause_gc: pause Python's cyclic garbage collector inside each :meth:`feed` (it is
            re-enabled before ``feed`` returns or raises).
    """

    def __init__(self, source: str, *, max_record: int = MAX_RECORD, pause_gc: bool = True) -> None:
        self.source = source
        self.max_record = max_record
        self.pause_gc = pause_gc
        self._buf = bytearray()
        self._base = 0  # file offset of _buf[0]
        self._zxid: int | None = None  # set once the header is read
        self._tree = DataTree(empty=True)
        self._acls: list[tuple[ACL, ...]] = []
        self._done: LoadedSnapshot | None = None  # set by the footer
        self._error: CorruptRecord | None = None

    def feed(self, data: bytes) -> None:
        """Take the next bytes of the file.

        Raises:
            CorruptRecord: the bytes so far cannot begin a valid snapshot.
        """
        if self._error is not None:
            raise self._error
        if not data:
            return
        # New nodes are long-lived and acyclic: pausing the cyclic GC while they are built
        # spares it repeated passes over the growing tree (a third of the load time).
        paused = self.pause_gc and gc.isenabled()
        if paused:
            gc.disable()
        try:
            self._feed(data)
        finally:
            if paused:
                gc.enable()

    def finish(self) -> LoadedSnapshot:
        """Declare the end of the file and return the loaded snapshot.

        Raises:
            CorruptRecord: the file is truncated (a partial header or record, no footer).
        """
        if self._error is not None:
            raise self._error
        if self._done is not None:
            return self._done
        if self._zxid is None:
            self._fail(f"truncated header ({len(self._buf)} of {_HEADER.size} bytes)", 0)
        if self._buf:
            self._fail(f"truncated record ({len(self._buf)} bytes before end of file)", self._base)
        self._fail("missing footer: the file ends at a record boundary", self._base)

    # --- internals -----------------------------------------------------------------------

    def _fail(self, message: str, offset: int) -> NoReturn:
        self._error = CorruptRecord(message, source=self.source, offset=offset)
        self._buf = bytearray()
        raise self._error

    def _feed(self, data: bytes) -> None:
        buf = self._buf
        buf += data
        if self._done is not None:
            self._fail("data after the footer", self._base)
        pos = 0
        if self._zxid is None:
            if len(buf) < _HEADER.size:
                return
            self._read_header(buf)
            pos = _HEADER.size
        end_of_data = len(buf)
        while end_of_data - pos >= _RECORD.size:
            length, crc = _RECORD.unpack_from(buf, pos)
            offset = self._base + pos
            if not 0 < length <= self.max_record:
                self._fail(f"bad record length {length}", offset)
            end = pos + _RECORD.size + length
            if end > end_of_data:
                break
            body = buf[pos + _RECORD.size : end]
            if zlib.crc32(body, zlib.crc32(buf[pos : pos + 4])) != crc:
                self._fail("record CRC mismatch", offset)
            try:
                self._record(body)
            except _Bad as exc:
                self._fail(str(exc), offset)
            except Exception as exc:  # msgpack or tree failures: the record is malformed
                self._fail(f"malformed record: {type(exc).__name__}: {exc}"[:300], offset)
            pos = end
            if self._done is not None:
                if pos != end_of_data:
                    self._fail("data after the footer", self._base + pos)
                break
        del buf[:pos]
        self._base += pos

    def _read_header(self, buf: bytearray) -> None:
        magic, version, zxid, crc = _HEADER.unpack_from(buf, 0)
        if magic != MAGIC:
            self._fail(f"bad magic {bytes(magic)!r}", 0)
        if zlib.crc32(buf[: _HEADER_BODY.size]) != crc:
            self._fail("header CRC mismatch", 0)
        if version != FORMAT_VERSION:
            self._fail(f"unsupported snapshot format version {version}", 0)
        self._zxid = zxid

    def _record(self, body: bytearray) -> None:
        packet = msgpack.unpackb(
            body, use_list=False, raw=False, strict_map_key=True, unicode_errors="surrogatepass"
        )
        if type(packet) is not tuple or not packet or type(packet[0]) is not int:
            raise _Bad("record is not an array [kind, ...]")
        kind = packet[0]
        if kind == _NODES and len(packet) == 4:
            self._nodes(*packet[1:])
        elif kind == _ACLS and len(packet) == 3:
            self._acl_table(*packet[1:])
        elif kind == _SESSIONS and len(packet) == 2:
            self._sessions(packet[1])
        elif kind == _FOOTER and len(packet) == 5:
            self._footer(*packet[1:])
        else:
            raise _Bad(f"unknown record kind {kind} with {len(packet) - 1} fields")

    def _acl_table(self, first: object, acls: object) -> None:
        if type(first) is not int or first != len(self._acls):
            raise _Bad(f"ACL table starts at {first!r:.40}, expected {len(self._acls)}")
        if type(acls) is not tuple or not acls:
            raise _Bad("ACL table is not a non-empty array")
        for raw in acls:
            try:
                acl = acl_from_wire(raw)
            except ValueError as exc:
                raise _Bad(f"bad ACL: {exc}") from None
            self._acls.append(self._tree.intern_acl(acl))

    def _nodes(self, paths: object, datas: object, stats: object) -> None:
        if type(paths) is not tuple or type(datas) is not tuple or type(stats) is not bytes:
            raise _Bad("node record is not [2, [path...], [data...], stats]")
        count = len(paths)
        if not count or len(datas) != count or len(stats) != count * _STAT.size:
            raise _Bad("node record columns are empty or of different lengths")
        if set(map(type, paths)) != {str}:
            raise _Bad("node path is not a string")
        if not _DATA_TYPES.issuperset(map(type, datas)):
            raise _Bad("node data is not bytes or nil")
        tree = self._tree
        present = tree.nodes
        before = len(present)
        restore_node = tree.restore_node
        restore = Node.restore
        acls = self._acls
        path = ""
        rows = zip(paths, datas, _STAT.iter_unpack(stats), strict=True)
        try:
            for path, data, (ai, cz, mz, ct, mt, v, cv, av, owner, pz) in rows:
                # Equal ints share one object, as in a node built by apply (saves ~100 B).
                restore_node(
                    path,
                    restore(
                        data=data,
                        acl=acls[ai],
                        czxid=cz,
                        mzxid=cz if mz == cz else mz,
                        ctime=ct,
                        mtime=ct if mt == ct else mt,
                        version=v,
                        cversion=cv,
                        aversion=av,
                        ephemeral_owner=owner,
                        pzxid=cz if pz == cz else pz,
                    ),
                )
        except IndexError:
            raise _Bad(f"node {path!r:.200} refers to an undefined ACL") from None
        except (KeyError, ValueError):
            raise _Bad(f"the parent of node {path!r:.200} is missing") from None
        if len(present) != before + count:
            raise _Bad("duplicate node path")

    def _sessions(self, packed: object) -> None:
        if type(packed) is not bytes or not packed or len(packed) % _SESSION.size:
            raise _Bad("sessions are not packed (id, timeout, password) records")
        sessions = self._tree.sessions
        passwords = self._tree.session_passwords
        before = len(sessions)
        for sid, timeout, has_passwd, passwd in _SESSION.iter_unpack(packed):
            sessions[sid] = timeout
            if has_passwd:
                passwords[sid] = passwd
        if len(sessions) != before + len(packed) // _SESSION.size:
            raise _Bad("duplicate session id")

    def _footer(self, nodes: object, sessions: object, acls: object, last_zxid: object) -> None:
        tree = self._tree
        got = (len(tree.nodes), len(tree.sessions), len(self._acls))
        if (nodes, sessions, acls) != got or not {type(nodes), type(sessions), type(acls)} <= {int}:
            raise _Bad(f"footer counts {(nodes, sessions, acls)!r:.80} but read {got}")
        tree.last_zxid = _int_in(last_zxid, _I64, "footer last_zxid")
        assert self._zxid is not None
        self._done = LoadedSnapshot(tree, self._zxid)


def read_snapshot(inp: BinaryIO, source: str, chunk_size: int = 1 << 20) -> LoadedSnapshot:
    """Load a whole snapshot from a binary file object.

    Raises:
        CorruptRecord: the file is not one complete, valid snapshot.
    """
    loader = SnapshotLoader(source)
    while chunk := inp.read(chunk_size):
        loader.feed(chunk)
    return loader.finish()
