"""Snapshots: round trips of applied trees, record layout, and every kind of corruption.

Damaged files must raise CorruptRecord naming the source and the offset where the damaged
record starts (0 for the header, the end of the data for a missing footer).
"""

from __future__ import annotations

import gc
import io
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import znode.snapshot
from znode.acl import ACL, CREATOR_ALL_ACL, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, Id
from znode.errors import CorruptRecord
from znode.opcodes import OpCode
from znode.snapshot import (
    MAGIC,
    LoadedSnapshot,
    SnapshotLoader,
    iter_snapshot,
    read_snapshot,
    write_snapshot,
)
from znode.tree import DataTree, Node
from znode.txn import (
    CONTAINER_OWNER,
    CloseSessionTxn,
    CreateSessionTxn,
    CreateTxn,
    DeleteTxn,
    ErrorTxn,
    MultiTxn,
    SetACLTxn,
    SetDataTxn,
    Txn,
    TxnHeader,
    ttl_owner,
)

HEADER_SIZE = 20
STAT = struct.Struct(">Iqqqqiiiqq")
SESSION = struct.Struct(">qiB16s")


def session(sid: int, timeout: int, passwd: bytes = b"") -> bytes:
    """One packed session record of the snapshot format."""
    return SESSION.pack(sid, timeout, bool(passwd), passwd)


SOURCE = "/data/version-2/snapshot.5"
SESSIONS = (0x11, 0x22, 0x33)
ACLS = (
    OPEN_ACL_UNSAFE,
    READ_ACL_UNSAFE,
    (ACL(5, Id("digest", "u:x")), ACL(1, Id("ip", "10.0.0.0/8"))),
    (ACL(31, Id("digest", "\udc80surrogate:x")),),
)
NODE_FIELDS = [name for name in Node.__slots__ if name not in ("children", "digest")]


# --- helpers -----------------------------------------------------------------------------------


def snapshot_bytes(tree: DataTree, zxid: int = 5) -> bytes:
    out = io.BytesIO()
    written = write_snapshot(tree, zxid, out)
    assert written == len(out.getvalue())
    return out.getvalue()


def load(blob: bytes, source: str = SOURCE) -> LoadedSnapshot:
    return read_snapshot(io.BytesIO(blob), source)


def record_starts(blob: bytes) -> list[int]:
    """The offset of every record, read from the length fields (independent of the loader)."""
    starts, pos = [], HEADER_SIZE
    while pos < len(blob):
        starts.append(pos)
        pos += 8 + int.from_bytes(blob[pos : pos + 4], "big")
    assert pos == len(blob)
    return starts


def bodies(blob: bytes) -> list[Any]:
    return [
        msgpack.unpackb(
            blob[s + 8 : s + 8 + int.from_bytes(blob[s : s + 4], "big")],
            unicode_errors="surrogatepass",
        )
        for s in record_starts(blob)
    ]


def owning_record(blob: bytes, pos: int) -> int:
    """Where the record (or header) that holds byte ``pos`` starts."""
    return 0 if pos < HEADER_SIZE else max(s for s in record_starts(blob) if s <= pos)


def expect_corrupt(blob: bytes, offset: int, match: str | None = None) -> CorruptRecord:
    with pytest.raises(CorruptRecord, match=match) as info:
        load(blob)
    assert info.value.source == SOURCE
    assert info.value.offset == offset, str(info.value)
    assert SOURCE in str(info.value)
    return info.value


def assert_same_tree(loaded: DataTree, tree: DataTree) -> None:
    assert loaded.digest() == tree.digest()
    assert list(loaded.nodes) == list(tree.nodes)
    for path, node in tree.nodes.items():
        other = loaded.nodes[path]
        for name in NODE_FIELDS:
            assert getattr(other, name) == getattr(node, name), (path, name)
        assert (other.children or set()) == (node.children or set()), path
        assert other.stat() == node.stat()
    assert loaded.sessions == tree.sessions
    assert loaded.last_zxid == tree.last_zxid
    assert loaded.ephemerals == tree.ephemerals
    assert loaded.containers == tree.containers
    assert loaded.ttls == tree.ttls
    acls = [node.acl for node in loaded.nodes.values()]
    assert len({id(acl) for acl in acls}) == len(set(acls)), "loaded ACLs are not shared"


def stat(acl: int = 0, zxid: int = 1) -> bytes:
    return STAT.pack(acl, zxid, zxid, 1000, 1000, 0, 0, 0, 0, zxid)


def frame(body: Any) -> bytes:
    raw = body if isinstance(body, bytes) else msgpack.packb(body, use_bin_type=True)
    length = len(raw).to_bytes(4, "big")
    return length + zlib.crc32(raw, zlib.crc32(length)).to_bytes(4, "big") + raw


def header(version: int = 1, zxid: int = 5, magic: bytes = MAGIC) -> bytes:
    head = struct.pack(">4sIq", magic, version, zxid)
    return head + zlib.crc32(head).to_bytes(4, "big")


ROOT_ACL = [1, 0, [[[31, ["world", "anyone"]]]]]
ROOT_NODES = [2, ["/"], [b""], stat()]
FOOTER = [4, 1, 0, 1, 9]


def craft(*records: Any) -> tuple[bytes, int]:
    """A file: header, an ACL table and ``/``, then ``records``; and the first one's offset."""
    prefix = header() + frame(ROOT_ACL) + frame(ROOT_NODES)
    return prefix + b"".join(frame(r) for r in records), len(prefix)


# --- trees built by applying txns --------------------------------------------------------------


@st.composite
def applied_trees(draw: st.DrawFn) -> DataTree:
    tree = DataTree()
    zxid = draw(st.integers(0, 2**40))
    for _ in range(draw(st.integers(0, 30))):
        zxid += 1
        session = draw(st.sampled_from(SESSIONS))
        op, txn = draw_txn(draw, tree, session)
        tree.apply(TxnHeader(session, 0, zxid, draw(st.integers(0, 2**42)), op), txn)
    return tree


def draw_txn(draw: st.DrawFn, tree: DataTree, session: int) -> tuple[int, Txn]:
    paths = list(tree.nodes)
    path = draw(st.sampled_from(paths))
    data = draw(st.none() | st.binary(max_size=12))
    acl = draw(st.sampled_from(ACLS))
    kind = draw(st.sampled_from(["create"] * 4 + ["delete", "set", "acl", "session", "multi"]))
    if kind == "create" or kind == "multi":
        name = draw(st.text("abé", min_size=1, max_size=2))
        child = path.rstrip("/") + "/" + name
        owner = draw(st.sampled_from([0, 0, session, CONTAINER_OWNER, ttl_owner(500)]))
        create = CreateTxn(child, data, acl, owner, tree.nodes[path].cversion + 1)
        if kind == "create":
            return OpCode.CREATE, create
        return OpCode.MULTI, MultiTxn(
            ((1, create), (5, SetDataTxn(child, b"m", 1)), (2, DeleteTxn(path)))
        )
    if kind == "delete":
        return OpCode.DELETE, DeleteTxn(path)
    if kind == "set":
        return OpCode.SET_DATA, SetDataTxn(path, data, draw(st.integers(-(2**31), 2**31 - 1)))
    if kind == "acl":
        return OpCode.SET_ACL, SetACLTxn(path, acl, draw(st.integers(0, 9)))
    others: list[tuple[int, Txn]] = [
        (OpCode.CREATE_SESSION, CreateSessionTxn(draw(st.integers(0, 2**31 - 1)))),
        (OpCode.CLOSE_SESSION, CloseSessionTxn()),
        (OpCode.ERROR, ErrorTxn(-101)),
    ]
    return draw(st.sampled_from(others))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(applied_trees(), st.integers(-(2**63), 2**63 - 1))
def test_round_trip_of_applied_trees(tree: DataTree, zxid: int) -> None:
    loaded = load(snapshot_bytes(tree, zxid))
    assert loaded.zxid == zxid
    assert_same_tree(loaded.tree, tree)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(applied_trees(), st.lists(st.integers(1, 64), min_size=1, max_size=40))
def test_feeding_in_any_pieces(tree: DataTree, sizes: list[int]) -> None:
    blob = snapshot_bytes(tree)
    loader = SnapshotLoader(SOURCE)
    pos = 0
    while pos < len(blob):
        step = sizes[pos % len(sizes)]
        loader.feed(blob[pos : pos + step])
        pos += step
    loader.feed(b"")
    assert_same_tree(loader.finish().tree, tree)


def test_fresh_and_empty_trees_round_trip() -> None:
    fresh = DataTree()
    assert_same_tree(load(snapshot_bytes(fresh)).tree, fresh)
    assert fresh.nodes["/zookeeper/config"].aversion == -1
    empty = DataTree(empty=True)
    loaded = load(snapshot_bytes(empty, 0))
    assert loaded.tree.nodes == {}
    assert loaded.zxid == 0


def test_indexes_and_sessions_are_rebuilt() -> None:
    tree = DataTree()
    txns: list[tuple[int, int, Txn]] = [
        (0x11, OpCode.CREATE_SESSION, CreateSessionTxn(4000)),
        (0x22, OpCode.CREATE_SESSION, CreateSessionTxn(9000)),
        (0x11, OpCode.CREATE, CreateTxn("/e1", b"", OPEN_ACL_UNSAFE, 0x11, 1)),
        (0x11, OpCode.CREATE, CreateTxn("/e2", None, OPEN_ACL_UNSAFE, 0x11, 2)),
        (0x22, OpCode.CREATE, CreateTxn("/c", b"c", CREATOR_ALL_ACL, CONTAINER_OWNER, 3)),
        (0x22, OpCode.CREATE, CreateTxn("/c/t", b"t", OPEN_ACL_UNSAFE, ttl_owner(60_000), 1)),
    ]
    for zxid, (session, op, txn) in enumerate(txns, start=1):
        tree.apply(TxnHeader(session, zxid, zxid, 1000 * zxid, op), txn)
    loaded = load(snapshot_bytes(tree, 6)).tree
    assert loaded.ephemerals == {0x11: {"/e1", "/e2"}}
    assert loaded.containers == {"/c"}
    assert loaded.ttls == {"/c/t"}
    assert loaded.sessions == {0x11: 4000, 0x22: 9000}
    assert loaded.reap_candidates(10**9) == tree.reap_candidates(10**9) == ["/c/t"]
    assert_same_tree(loaded, tree)


def big_tree(nodes: int, sessions: int) -> DataTree:
    tree = DataTree()
    zxid = 0
    fanout = 300
    for i in range(nodes):
        zxid += 1
        parent = "" if i < fanout else f"/n{i % fanout}"
        acl = ACLS[2] if i % 7919 == 7918 else OPEN_ACL_UNSAFE
        owner = SESSIONS[0] if i % 1000 == 999 else 0
        txn = CreateTxn(f"{parent}/n{i}", b"%0100d" % i, acl, owner, i // fanout + 1)
        tree.apply(TxnHeader(1, zxid, zxid, 1_700_000_000_000 + zxid, 1), txn)
    tree.nodes["/n0"].acl = tree.intern_acl(ACLS[3])  # an ACL first met after many nodes
    for s in range(sessions):
        zxid += 1
        tree.apply(TxnHeader(s + 1, 0, zxid, 0, -10), CreateSessionTxn(5000 + s))
    return tree


def test_a_100k_node_tree_round_trips_in_bounded_records() -> None:
    tree = big_tree(100_000, 25_000)
    blob = snapshot_bytes(tree, tree.last_zxid)
    loaded = load(blob)
    assert loaded.tree.digest() == tree.digest()
    assert len(loaded.tree.nodes) == len(tree.nodes)
    assert loaded.tree.sessions == tree.sessions
    assert loaded.tree.ephemerals == tree.ephemerals
    kinds = [body[0] for body in bodies(blob)]
    assert kinds[-1] == 4
    assert kinds.count(2) >= 100  # at most 1,000 nodes a record
    assert kinds.count(3) == 3  # sessions in batches
    records = bodies(blob)
    tables = [(i, body[1], len(body[2])) for i, body in enumerate(records) if body[0] == 1]
    # /, /zookeeper/config and /n0 bring three ACLs; the 7,919th node a fourth, just in time.
    assert [(first, count) for _, first, count in tables] == [(0, 3), (3, 1)]
    late, path = tables[1][0], f"/n{7918 % 300}/n7918"
    assert path in records[late + 1][1]
    assert all(path not in body[1] for body in records[:late] if body[0] == 2)
    assert all(len(body[1]) <= 1000 for body in records if body[0] == 2)


def test_records_stay_small_with_large_values() -> None:
    tree = DataTree()
    for i in range(12):
        tree.apply(TxnHeader(1, i, i + 1, 0, 1), CreateTxn(f"/b{i}", bytes(100_000), (), 0, i))
    blob = snapshot_bytes(tree)
    starts = record_starts(blob)
    assert max(int.from_bytes(blob[s : s + 4], "big") for s in starts) < 256 * 1024 + 100_200
    assert sum(1 for body in bodies(blob) if body[0] == 2) >= 4
    assert_same_tree(load(blob).tree, tree)


def test_iter_snapshot_yields_the_header_then_whole_records() -> None:
    chunks = list(iter_snapshot(big_tree(3000, 5), 77))
    assert len(chunks[0]) == HEADER_SIZE
    assert chunks[0][:4] == MAGIC
    for chunk in chunks[1:]:
        assert len(chunk) == 8 + int.from_bytes(chunk[:4], "big")
    assert load(b"".join(chunks)).zxid == 77


def test_any_snapshot_source_will_do() -> None:
    tree = big_tree(50, 3)

    class View:
        def __init__(self) -> None:
            self.items = [
                (path, Node.restore(**{name: getattr(node, name) for name in NODE_FIELDS}))
                for path, node in tree.walk()
            ]
            self.sessions = dict(tree.sessions)
            self.last_zxid = tree.last_zxid

        def walk(self) -> Iterator[tuple[str, Node]]:
            return iter(self.items)

    view = View()
    before = tree.digest()
    tree.apply(TxnHeader(1, 0, 999, 0, 5), SetDataTxn("/n1", b"changed", 1))
    out = io.BytesIO()
    write_snapshot(view, 7, out)
    assert load(out.getvalue()).tree.digest() == before != tree.digest()


# --- damaged files -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small() -> bytes:
    tree = DataTree()
    zxid = 0
    for session in SESSIONS:
        zxid += 1
        tree.apply(TxnHeader(session, 0, zxid, 0, -10), CreateSessionTxn(3000))
    for i, acl in enumerate(ACLS):
        zxid += 1
        tree.apply(TxnHeader(1, 0, zxid, 7, 1), CreateTxn(f"/x{i}", b"v" * i, acl, 0, i + 1))
    return snapshot_bytes(tree, zxid)


@pytest.fixture(scope="module")
def medium() -> bytes:
    return snapshot_bytes(big_tree(4000, 20_000), 4321)


@pytest.mark.parametrize("cut", [0, 1, 4, 12, 19])
def test_truncated_inside_the_header(small: bytes, cut: int) -> None:
    expect_corrupt(small[:cut], 0, "truncated header")


@pytest.mark.parametrize("which", [0, 1, 2, -2, -1])
@pytest.mark.parametrize("into", ["1", "7", "8", "9", "middle", "last"])
def test_truncated_inside_a_record(medium: bytes, which: int, into: str) -> None:
    starts = record_starts(medium)
    start = starts[which]
    end = start + 8 + int.from_bytes(medium[start : start + 4], "big")
    cut = {"middle": (start + end) // 2, "last": end - 1}.get(into) or start + int(into)
    expect_corrupt(medium[:cut], start, "truncated record")


def test_truncated_at_every_record_boundary_before_the_footer(medium: bytes) -> None:
    for boundary in [HEADER_SIZE, *record_starts(medium)[1:]]:
        expect_corrupt(medium[:boundary], boundary, "missing footer")


def test_every_truncation_of_a_small_file(small: bytes) -> None:
    starts = record_starts(small)
    for cut in range(len(small)):
        expected = cut if cut in starts else owning_record(small, cut)
        expect_corrupt(small[:cut], expected if cut >= HEADER_SIZE else 0)


@pytest.mark.parametrize("tail", [b"\x00", b"garbage", "again"])
def test_trailing_data_after_the_footer(small: bytes, tail: bytes | str) -> None:
    extra = small if tail == "again" else tail
    assert isinstance(extra, bytes)
    expect_corrupt(small + extra, len(small), "after the footer")


def test_data_fed_after_a_complete_snapshot(small: bytes) -> None:
    loader = SnapshotLoader(SOURCE)
    loader.feed(small)
    with pytest.raises(CorruptRecord, match="after the footer") as info:
        loader.feed(b"\x00")
    assert info.value.offset == len(small)


def test_every_single_bit_flip_of_a_small_file(small: bytes) -> None:
    for pos in range(len(small)):
        for bit in range(8):
            damaged = bytearray(small)
            damaged[pos] ^= 1 << bit
            expect_corrupt(bytes(damaged), owning_record(small, pos))


def test_byte_flips_in_a_multi_record_file(medium: bytes) -> None:
    starts = record_starts(medium)
    places = [0, 3, 6, 15, 19]
    for start in (starts[0], starts[1], starts[len(starts) // 2], starts[-2], starts[-1]):
        places += [start, start + 3, start + 5, start + 8, start + 40]
    for pos in places:
        pos = min(pos, len(medium) - 1)
        damaged = bytearray(medium)
        damaged[pos] ^= 0xA5
        expect_corrupt(bytes(damaged), owning_record(medium, pos))


@pytest.mark.parametrize(
    ("blob", "match"),
    [
        (b"ZKSX" + header()[4:], "bad magic"),
        (header(version=2), "version 2"),
        (header()[:-1] + b"\x00", "header CRC"),
    ],
    ids=["magic", "version", "crc"],
)
def test_bad_headers(blob: bytes, match: str) -> None:
    expect_corrupt(blob + frame(FOOTER), 0, match)


BAD_RECORDS: dict[str, tuple[Any, str]] = {
    "msgpack garbage": (b"\xc1\xc1", "malformed"),
    "bytes after the body": (msgpack.packb(FOOTER) + b"\x00", "malformed"),
    "not an array": (5, "not an array"),
    "empty array": ([], "not an array"),
    "bool kind": ([True, 1, 0, 1, 9], "not an array"),
    "unknown kind": ([9, 1], "unknown record kind"),
    "nodes arity": ([2, ["/a"], [b""]], "unknown record kind"),
    "nodes empty": ([2, [], [], b""], "empty"),
    "path not str": ([2, [b"/a"], [b""], stat()], "path"),
    "data is str": ([2, ["/a"], ["x"], stat()], "data"),
    "data is int": ([2, ["/a"], [0], stat()], "data"),
    "paths not array": ([2, "/a", [b""], stat()], "node record"),
    "stats not bin": ([2, ["/a"], [b""], [0, 1]], "node record"),
    "stats short": ([2, ["/a"], [b""], stat()[:-1]], "different lengths"),
    "columns differ": ([2, ["/a", "/b"], [b"", b""], stat()], "different lengths"),
    "parent missing": ([2, ["/a/b"], [b""], stat()], "parent of node '/a/b'"),
    "no slash": ([2, ["a"], [None], stat()], "parent of node 'a'"),
    "duplicate root": ([2, ["/"], [b""], stat()], "duplicate"),
    "duplicate in record": ([2, ["/a", "/a"], [b"", b""], stat() * 2], "duplicate"),
    "undefined acl": ([2, ["/a"], [None], stat(acl=1)], "undefined ACL"),
    "acl table gap": ([1, 2, [[[1, ["world", "anyone"]]]]], "ACL table starts"),
    "acl table empty": ([1, 1, []], "non-empty"),
    "acl flat": ([1, 1, [[[1, "world", "anyone"]]]], "ACL entry"),
    "acl not array": ([1, 1, [5]], "ACL is not"),
    "acl id short": ([1, 1, [[[1, ["world"]]]]], "ACL id"),
    "acl scheme int": ([1, 1, [[[1, [5, "anyone"]]]]], "scheme"),
    "acl perms float": ([1, 1, [[[1.0, ["world", "anyone"]]]]], "perms"),
    "acl perms big": ([1, 1, [[[2**31, ["world", "anyone"]]]]], "perms"),
    "sessions not bin": ([3, [1, 3000]], "sessions"),
    "sessions ragged": ([3, session(1, 3000)[:-1]], "sessions"),
    "session duplicate": ([3, session(1, 3000) * 2], "duplicate session"),
    "footer counts": ([4, 2, 0, 1, 9], "footer counts"),
    "footer bool count": ([4, True, 0, 1, 9], "footer counts"),
    "footer zxid float": ([4, 1, 0, 1, 9.5], "last_zxid"),
    "footer arity": ([4, 1, 0, 1], "unknown record kind"),
}


@pytest.mark.parametrize(("body", "match"), BAD_RECORDS.values(), ids=BAD_RECORDS.keys())
def test_well_framed_but_malformed_records(body: Any, match: str) -> None:
    blob, offset = craft(body, FOOTER)
    expect_corrupt(blob, offset, match)


def test_a_crafted_file_loads_when_well_formed() -> None:
    blob, _ = craft([2, ["/a"], [None], stat(zxid=3)], [3, session(7, 3000)], [4, 2, 1, 1, 9])
    loaded = load(blob)
    assert loaded.tree.nodes["/a"].data is None
    assert loaded.tree.sessions == {7: 3000}
    assert (loaded.tree.last_zxid, loaded.zxid) == (9, 5)


def test_bad_record_lengths(small: bytes) -> None:
    blob, offset = craft()
    expect_corrupt(blob + b"\x00" * 8, offset, "bad record length 0")
    loader = SnapshotLoader(SOURCE, max_record=64)
    with pytest.raises(CorruptRecord, match="bad record length") as info:
        loader.feed(small)
    assert info.value.offset == max(s for s in record_starts(small) if s < 100)


def test_errors_are_sticky(small: bytes) -> None:
    loader = SnapshotLoader(SOURCE)
    with pytest.raises(CorruptRecord) as first:
        loader.feed(b"XXXX" + small[4:])
    with pytest.raises(CorruptRecord) as again:
        loader.feed(small)
    with pytest.raises(CorruptRecord) as finish:
        loader.finish()
    assert first.value is again.value is finish.value


def test_finish_twice_returns_the_same_snapshot(small: bytes) -> None:
    loader = SnapshotLoader(SOURCE)
    loader.feed(small)
    assert loader.finish() is loader.finish()


# --- the GC pause ------------------------------------------------------------------------------


@pytest.mark.parametrize("pause", [True, False])
def test_feed_pauses_gc_only_while_it_runs(
    small: bytes, pause: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []

    class Spy(Node):
        __slots__ = ()

        @classmethod
        def restore(cls, **fields: Any) -> Node:
            seen.append(gc.isenabled())
            return Node.restore(**fields)

    monkeypatch.setattr(znode.snapshot, "Node", Spy)
    assert gc.isenabled()
    loader = SnapshotLoader(SOURCE, pause_gc=pause)
    loader.feed(small)
    assert gc.isenabled()
    assert seen
    assert set(seen) == {not pause}
    with pytest.raises(CorruptRecord):
        SnapshotLoader(SOURCE, pause_gc=pause).feed(small[:30] + b"\xff" * 200)
    assert gc.isenabled()


def test_feed_leaves_a_disabled_gc_disabled(small: bytes) -> None:
    gc.disable()
    try:
        SnapshotLoader(SOURCE).feed(small)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_session_passwords_survive_a_snapshot() -> None:
    tree = DataTree()
    tree.apply(TxnHeader(0x11, 0, 1, 0, OpCode.CREATE_SESSION), CreateSessionTxn(4000, b"p" * 16))
    tree.apply(TxnHeader(0x22, 0, 2, 0, OpCode.CREATE_SESSION), CreateSessionTxn(5000))
    out = io.BytesIO()
    write_snapshot(tree, 2, out)
    loaded = read_snapshot(io.BytesIO(out.getvalue()), "mem").tree
    assert loaded.sessions == {0x11: 4000, 0x22: 5000}
    assert loaded.session_passwords == {0x11: b"p" * 16}
