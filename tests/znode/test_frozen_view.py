"""Frozen views: a consistent picture of the tree while it keeps changing (copy-on-write)."""

from __future__ import annotations

from znode.acl import OPEN_ACL_UNSAFE, READ_ACL_UNSAFE
from znode.opcodes import OpCode
from znode.tree import DataTree
from znode.txn import CreateTxn, DeleteTxn, SetACLTxn, SetDataTxn, TxnHeader


def hdr(zxid: int) -> TxnHeader:
    return TxnHeader(1, 1, zxid, zxid * 10, OpCode.CREATE)


def state(nodes: object) -> dict[str, tuple[object, ...]]:
    return {
        path: (node.data, node.acl, node.version, node.aversion, node.cversion, node.pzxid)
        for path, node in nodes  # type: ignore[attr-defined]
    }


def build() -> DataTree:
    tree = DataTree()
    tree.apply(hdr(1), CreateTxn("/a", b"1", OPEN_ACL_UNSAFE, 0, 1))
    tree.apply(hdr(2), CreateTxn("/a/b", b"2", OPEN_ACL_UNSAFE, 0, 1))
    tree.apply(hdr(3), CreateTxn("/c", b"3", OPEN_ACL_UNSAFE, 0, 2))
    return tree


def churn(tree: DataTree, start: int) -> None:
    tree.apply(hdr(start), SetDataTxn("/a", b"changed", 1))
    tree.apply(hdr(start + 1), SetACLTxn("/c", READ_ACL_UNSAFE, 1))
    tree.apply(hdr(start + 2), DeleteTxn("/a/b"))
    tree.apply(hdr(start + 3), CreateTxn("/a/b", b"again", OPEN_ACL_UNSAFE, 0, 2))
    tree.apply(hdr(start + 4), CreateTxn("/new", b"n", OPEN_ACL_UNSAFE, 0, 3))


def test_view_keeps_the_tree_as_it_was() -> None:
    tree = build()
    before = state(tree.walk())
    view = tree.freeze()
    churn(tree, 10)
    assert state(view.walk()) == before
    assert [p for p, _ in view.walk()] == [
        "/",
        "/zookeeper",
        "/zookeeper/quota",
        "/zookeeper/config",
        "/a",
        "/a/b",
        "/c",
    ]
    assert state(tree.walk()) != before
    view.release()


def test_two_views_taken_at_different_moments() -> None:
    tree = build()
    first_state = state(tree.walk())
    first = tree.freeze()
    tree.apply(hdr(5), SetDataTxn("/c", b"mid", 1))
    second_state = state(tree.walk())
    second = tree.freeze()
    churn(tree, 10)
    assert state(first.walk()) == first_state
    assert state(second.walk()) == second_state
    first.release()
    tree.apply(hdr(20), SetDataTxn("/new", b"later", 1))
    assert state(second.walk()) == second_state


def test_released_view_stops_copying() -> None:
    tree = build()
    view = tree.freeze()
    view.release()
    churn(tree, 10)
    assert tree._views == []


def test_publishing_the_membership_is_copy_on_write_and_outside_the_digest() -> None:
    tree = build()
    other = build()
    before = state(tree.walk())
    view = tree.freeze()
    tree.set_config(b"server.1=127.0.0.1:1:2:participant\nversion=0", 0, 12345)
    config = tree.nodes["/zookeeper/config"]
    assert (config.data, config.version, config.mzxid, config.mtime) == (
        b"server.1=127.0.0.1:1:2:participant\nversion=0",
        -1,
        0,
        12345,
    )
    assert state(view.walk()) == before
    view.release()
    # Each member publishes it at its own time; the replicated state is the same.
    assert tree.digest() == other.digest()
