"""DataTree.apply, op by op: Stat rules, triggers, indexes, sessions, and the digest."""

from __future__ import annotations

from znode.acl import ACL, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, Id
from znode.errors import ErrorCode
from znode.events import EventType, WatchTrigger
from znode.opcodes import OpCode
from znode.stat import Stat
from znode.tree import DataTree, Node
from znode.txn import (
    CONTAINER_OWNER,
    CheckVersionTxn,
    CloseSessionTxn,
    CreateSessionTxn,
    CreateTxn,
    DeleteTxn,
    ErrorTxn,
    MultiTxn,
    SetACLTxn,
    SetDataTxn,
    TxnHeader,
    ttl_owner,
)

S1 = 0x1001


def hdr(
    zxid: int, op: int = OpCode.CREATE, *, time: int | None = None, session: int = S1
) -> TxnHeader:
    return TxnHeader(session, 1, zxid, 10_000 + zxid if time is None else time, op)


def mk(path: str, cversion: int, owner: int = 0, data: bytes | None = b"v") -> CreateTxn:
    return CreateTxn(path, data, OPEN_ACL_UNSAFE, owner, cversion)


def test_fresh_tree_matches_zookeeper() -> None:
    tree = DataTree()
    assert sorted(tree.nodes) == ["/", "/zookeeper", "/zookeeper/config", "/zookeeper/quota"]
    assert tree.stat("/") == Stat(0, 0, 0, 0, 0, -1, 0, 0, 0, 1, 0)
    assert tree.stat("/zookeeper/config") == Stat(0, 0, 0, 0, 0, 0, -1, 0, 0, 0, 0)
    assert tree.get_acl("/zookeeper/config")[0] == READ_ACL_UNSAFE
    assert tree.get_acl("/zookeeper")[0] == OPEN_ACL_UNSAFE
    assert tree.children("/zookeeper") == ["config", "quota"]


def test_create_sets_stat_and_parent_and_triggers() -> None:
    tree = DataTree()
    result = tree.apply(hdr(5, OpCode.CREATE2), mk("/a", 1))
    assert result.stat == Stat(5, 5, 10_005, 10_005, 0, 0, 0, 0, 1, 0, 5)
    assert (result.type, result.err, result.path, result.zxid) == (OpCode.CREATE2, 0, "/a", 5)
    assert result.triggers == (
        WatchTrigger(EventType.NODE_CREATED, "/a"),
        WatchTrigger(EventType.NODE_CHILDREN_CHANGED, "/"),
    )
    root = tree.stat("/")
    assert root is not None
    assert (root.cversion, root.num_children, root.pzxid) == (0, 2, 5)
    assert tree.last_zxid == 5


def test_create_null_and_empty_data_differ_but_both_have_length_zero() -> None:
    tree = DataTree()
    tree.apply(hdr(1), mk("/n", 1, data=None))
    tree.apply(hdr(2), mk("/e", 2, data=b""))
    assert tree.get_data("/n") == (None, tree.stat("/n"))
    assert tree.get_data("/e")[0] == b""
    assert tree.stat("/n").data_length == tree.stat("/e").data_length == 0  # type: ignore[union-attr]


def test_create_under_missing_parent_or_existing_path_changes_nothing() -> None:
    tree = DataTree()
    assert tree.apply(hdr(1), mk("/x/y", 1)).err == ErrorCode.NONODE
    tree.apply(hdr(2), mk("/a", 1))
    digest = tree.digest()
    assert tree.apply(hdr(3), mk("/a", 2)).err == ErrorCode.NODEEXISTS
    assert tree.digest() == digest


def test_replayed_create_does_not_lower_parent_counter() -> None:
    tree = DataTree()
    tree.apply(hdr(1), mk("/p", 1))
    tree.apply(hdr(2), mk("/p/a", 5))
    tree.apply(hdr(3), mk("/p/b", 3))  # an older counter (fuzzy replay) is ignored
    node = tree.node("/p")
    assert node is not None
    assert (node.cversion, node.pzxid) == (5, 2)


def test_owner_kinds_are_indexed_and_hidden_from_stat() -> None:
    tree = DataTree()
    tree.apply(hdr(1), mk("/e", 1, owner=S1))
    tree.apply(hdr(2), mk("/c", 2, owner=CONTAINER_OWNER))
    tree.apply(hdr(3), mk("/t", 3, owner=ttl_owner(500)))
    assert tree.ephemerals == {S1: {"/e"}}
    assert tree.containers == {"/c"}
    assert tree.ttls == {"/t"}
    assert tree.stat("/e").ephemeral_owner == S1  # type: ignore[union-attr]
    assert tree.stat("/c").ephemeral_owner == 0  # type: ignore[union-attr]
    assert tree.stat("/t").ephemeral_owner == 0  # type: ignore[union-attr]
    for zxid, path in enumerate(("/e", "/c", "/t"), start=4):
        tree.apply(hdr(zxid, OpCode.DELETE), DeleteTxn(path))
    assert (tree.ephemerals, tree.containers, tree.ttls) == ({}, set(), set())


def test_delete_updates_parent_and_fires_deleted_and_children_changed() -> None:
    tree = DataTree()
    tree.apply(hdr(1), mk("/p", 1))
    tree.apply(hdr(2), mk("/p/c", 1))
    result = tree.apply(hdr(3, OpCode.DELETE), DeleteTxn("/p/c"))
    assert result.triggers == (
        WatchTrigger(EventType.NODE_DELETED, "/p/c"),
        WatchTrigger(EventType.NODE_CHILDREN_CHANGED, "/p"),
    )
    parent = tree.stat("/p")
    assert parent is not None
    # visible cversion: +1 per create and +1 per delete
    assert (parent.cversion, parent.num_children, parent.pzxid) == (2, 0, 3)
    assert not tree.exists("/p/c")


def test_delete_refuses_missing_root_and_non_empty() -> None:
    tree = DataTree()
    tree.apply(hdr(1), mk("/p", 1))
    tree.apply(hdr(2), mk("/p/c", 1))
    assert tree.apply(hdr(3, OpCode.DELETE), DeleteTxn("/nope")).err == ErrorCode.NONODE
    assert tree.apply(hdr(4, OpCode.DELETE), DeleteTxn("/")).err == ErrorCode.NONODE
    assert tree.apply(hdr(5, OpCode.DELETE), DeleteTxn("/p")).err == ErrorCode.NOTEMPTY
    assert tree.exists("/p/c")


def test_set_data_bumps_version_and_mtime_even_for_equal_bytes() -> None:
    tree = DataTree()
    tree.apply(hdr(1), mk("/a", 1))
    result = tree.apply(hdr(2, OpCode.SET_DATA, time=99), SetDataTxn("/a", b"v", 1))
    assert result.stat == Stat(1, 2, 10_001, 99, 1, 0, 0, 0, 1, 0, 1)
    assert result.triggers == (WatchTrigger(EventType.NODE_DATA_CHANGED, "/a"),)
    assert tree.apply(hdr(3, OpCode.SET_DATA), SetDataTxn("/b", b"", 1)).err == ErrorCode.NONODE


def test_set_acl_changes_aversion_only_and_fires_nothing() -> None:
    tree = DataTree()
    tree.apply(hdr(1), mk("/a", 1))
    acl = (ACL(1, Id("world", "anyone")),)
    result = tree.apply(hdr(2, OpCode.SET_ACL), SetACLTxn("/a", acl, 1))
    assert result.triggers == ()
    assert result.stat == Stat(1, 1, 10_001, 10_001, 0, 0, 1, 0, 1, 0, 1)
    assert tree.get_acl("/a")[0] == acl


def test_equal_acls_are_shared() -> None:
    tree = DataTree()
    acl_a = (ACL(3, Id("ip", "10.0.0.1")),)
    acl_b = (ACL(3, Id("ip", "10.0.0.1")),)
    tree.apply(hdr(1), CreateTxn("/a", b"", acl_a, 0, 1))
    tree.apply(hdr(2), CreateTxn("/b", b"", acl_b, 0, 2))
    node_a, node_b = tree.node("/a"), tree.node("/b")
    assert node_a is not None
    assert node_b is not None
    assert node_a.acl is node_b.acl


def test_check_and_error_txns_change_nothing_but_last_zxid() -> None:
    tree = DataTree()
    digest = tree.digest()
    assert tree.apply(hdr(7, OpCode.ERROR), ErrorTxn(-101)).err == -101
    assert tree.apply(hdr(8, OpCode.CHECK), CheckVersionTxn("/", 1)).err == 0
    assert tree.apply(hdr(9, OpCode.CHECK), CheckVersionTxn("/x", 1)).err == ErrorCode.NONODE
    assert tree.last_zxid == 9
    assert tree.digest() == digest


def test_multi_applies_all_with_one_zxid() -> None:
    tree = DataTree()
    txn = MultiTxn(
        (
            (OpCode.CREATE, mk("/a", 1)),
            (OpCode.CREATE2, mk("/a/b", 1)),
            (OpCode.SET_DATA, SetDataTxn("/a", b"z", 1)),
            (OpCode.DELETE, DeleteTxn("/a/b")),
            (OpCode.CHECK, CheckVersionTxn("/a", 2)),
        )
    )
    result = tree.apply(hdr(4, OpCode.MULTI), txn)
    assert result.err == 0
    assert [r.type for r in result.results] == [1, 15, 5, 2, 13]
    assert {t.type for t in result.triggers} == {1, 2, 3, 4}
    assert tree.stat("/a") == Stat(4, 4, 10_004, 10_004, 1, 2, 0, 0, 1, 0, 4)


def test_failed_multi_changes_nothing() -> None:
    tree = DataTree()
    digest = tree.digest()
    txn = MultiTxn(((OpCode.ERROR, ErrorTxn(0)), (OpCode.ERROR, ErrorTxn(-110))))
    result = tree.apply(hdr(3, OpCode.MULTI), txn)
    assert [r.err for r in result.results] == [0, -110]
    assert result.err == -110
    assert result.triggers == ()
    assert tree.digest() == digest


def test_sessions_open_and_close_with_their_ephemerals() -> None:
    tree = DataTree()
    tree.apply(hdr(1, OpCode.CREATE_SESSION), CreateSessionTxn(6000))
    assert tree.sessions == {S1: 6000}
    tree.apply(hdr(2), mk("/p", 1))
    tree.apply(hdr(3), mk("/p/e", 1, owner=S1))
    tree.apply(hdr(4), mk("/f", 2, owner=S1))
    tree.apply(hdr(5), mk("/g", 3, owner=0x2002))
    result = tree.apply(hdr(6, OpCode.CLOSE_SESSION), CloseSessionTxn())
    assert tree.sessions == {}
    assert sorted(tree.nodes) == [
        "/",
        "/g",
        "/p",
        "/zookeeper",
        "/zookeeper/config",
        "/zookeeper/quota",
    ]
    assert set(result.triggers) == {
        WatchTrigger(EventType.NODE_DELETED, "/f"),
        WatchTrigger(EventType.NODE_CHILDREN_CHANGED, "/"),
        WatchTrigger(EventType.NODE_DELETED, "/p/e"),
        WatchTrigger(EventType.NODE_CHILDREN_CHANGED, "/p"),
    }
    assert tree.stat("/p").pzxid == 6  # type: ignore[union-attr]


def test_reads() -> None:
    tree = DataTree()
    tree.apply(hdr(1), mk("/a", 1))
    tree.apply(hdr(2), mk("/a/b", 1, owner=S1))
    tree.apply(hdr(3), mk("/a/c", 2))
    tree.apply(hdr(4), mk("/a/c/d", 1))
    tree.apply(hdr(5), mk("/ab", 2, owner=S1))
    assert tree.children("/a") == ["b", "c"]
    assert tree.all_children_number("/a") == 3
    assert tree.all_children_number("/") == 8
    assert tree.ephemerals_of(S1) == ["/a/b", "/ab"]
    assert tree.ephemerals_of(S1, "/a/") == ["/a/b"]
    assert tree.ephemerals_of(S1, "/a") == ["/a/b", "/ab"]  # plain string prefix
    assert tree.ephemerals_of(0x9999) == []


def test_reap_candidates() -> None:
    tree = DataTree()
    tree.apply(hdr(1, time=0), CreateTxn("/used", b"", OPEN_ACL_UNSAFE, CONTAINER_OWNER, 1))
    tree.apply(hdr(2, time=0), CreateTxn("/never", b"", OPEN_ACL_UNSAFE, CONTAINER_OWNER, 2))
    tree.apply(hdr(3, time=0), mk("/used/x", 1))
    tree.apply(hdr(4, time=1000), CreateTxn("/ttl", b"", OPEN_ACL_UNSAFE, ttl_owner(500), 3))
    tree.apply(hdr(5, time=1000), CreateTxn("/ttlp", b"", OPEN_ACL_UNSAFE, ttl_owner(500), 4))
    tree.apply(hdr(6, time=1000), mk("/ttlp/x", 1))
    assert tree.reap_candidates(1500) == []  # /used has a child; ttl not past yet
    assert tree.reap_candidates(1501) == ["/ttl"]
    tree.apply(hdr(7, OpCode.DELETE), DeleteTxn("/used/x"))
    assert tree.reap_candidates(1501) == ["/ttl", "/used"]
    tree.apply(hdr(8, OpCode.SET_DATA, time=1400), SetDataTxn("/ttl", b"", 1))
    assert tree.reap_candidates(1501) == ["/used"]  # setData renews a TTL node


def copy_tree(tree: DataTree) -> DataTree:
    fresh = DataTree(empty=True)
    for path, node in tree.walk():
        fresh.restore_node(
            path,
            Node.restore(
                data=node.data,
                acl=node.acl,
                czxid=node.czxid,
                mzxid=node.mzxid,
                ctime=node.ctime,
                mtime=node.mtime,
                version=node.version,
                cversion=node.cversion,
                aversion=node.aversion,
                ephemeral_owner=node.ephemeral_owner,
                pzxid=node.pzxid,
            ),
        )
    return fresh


def test_digest_detects_every_change_and_matches_a_rebuilt_tree() -> None:
    tree = DataTree()
    other = DataTree()
    steps = [
        (hdr(1), mk("/a", 1)),
        (hdr(2), mk("/a/b", 1, owner=S1)),
        (hdr(3, OpCode.SET_DATA), SetDataTxn("/a", b"x", 1)),
        (hdr(4, OpCode.SET_ACL), SetACLTxn("/a", READ_ACL_UNSAFE, 1)),
        (hdr(5, OpCode.DELETE), DeleteTxn("/a/b")),
    ]
    seen = {tree.digest()}
    for header, txn in steps:
        tree.apply(header, txn)
        other.apply(header, txn)
        digest = tree.digest()
        assert digest == copy_tree(tree).digest()  # cached == rebuilt from scratch
        seen.add(digest)
    assert len(seen) == len(steps) + 1  # every change moved the digest
    assert other.digest() == tree.digest()
    # same shape, one field different -> different digest
    other.apply(hdr(6, OpCode.SET_DATA), SetDataTxn("/a", b"x", 2))
    tree.apply(hdr(6, OpCode.SET_DATA), SetDataTxn("/a", b"y", 2))
    assert other.digest() != tree.digest()


def test_digest_of_a_large_tree_matches_a_rebuilt_tree() -> None:
    tree = DataTree()
    tree.digest()
    for i in range(1, 3000):
        tree.apply(hdr(i), mk(f"/n{i}", i))
    assert tree.digest() == copy_tree(tree).digest()
