"""Read requests answered from the tree, and the replies of applied writes."""

from __future__ import annotations

import pytest

from znode.acl import ACL, OPEN_ACL_UNSAFE, Id, digest_id
from znode.errors import BadArguments, NoAuth, NoNode, ZooKeeperError
from znode.opcodes import OpCode
from znode.reads import read, write_response
from znode.records import (
    Create2Response,
    CreateResponse,
    ExistsRequest,
    GetACLRequest,
    GetAllChildrenNumberRequest,
    GetChildren2Request,
    GetChildrenRequest,
    GetDataRequest,
    GetEphemeralsRequest,
    MultiOp,
    MultiRequest,
    MultiResult,
    SetDataResponse,
    SyncRequest,
)
from znode.tree import DataTree, TxnResult
from znode.txn import CreateTxn, TxnHeader

IP = Id("ip", "127.0.0.1")
ALICE = Id("digest", digest_id("alice", "secret"))
S1 = 0x77


@pytest.fixture
def tree() -> DataTree:
    tree = DataTree()
    steps = [
        CreateTxn("/open", b"o", OPEN_ACL_UNSAFE, 0, 1),
        CreateTxn("/open/e", None, OPEN_ACL_UNSAFE, S1, 1),
        CreateTxn("/secret", b"s", (ACL(31, ALICE), ACL(1, IP)), 0, 2),
        CreateTxn("/locked", b"l", (ACL(31, ALICE),), 0, 3),
        CreateTxn("/adminonly", b"a", (ACL(16, Id("world", "anyone")),), 0, 4),
    ]
    for zxid, txn in enumerate(steps, start=1):
        tree.apply(TxnHeader(S1, 0, zxid, 0, OpCode.CREATE), txn)
    return tree


def test_get_data_checks_read_permission(tree: DataTree) -> None:
    assert read(tree, OpCode.GET_DATA, GetDataRequest("/open", False)).data == b"o"  # type: ignore[union-attr]
    with pytest.raises(NoAuth):
        read(tree, OpCode.GET_DATA, GetDataRequest("/locked", False), identities=(IP,))
    resp = read(tree, OpCode.GET_DATA, GetDataRequest("/locked", False), identities=(IP, ALICE))
    assert resp.data == b"l"  # type: ignore[union-attr]
    with pytest.raises(NoNode):
        read(tree, OpCode.GET_DATA, GetDataRequest("/missing", False))
    # reads do not validate paths: a malformed one is simply missing
    with pytest.raises(NoNode):
        read(tree, OpCode.GET_DATA, GetDataRequest("/open/", False))


def test_empty_path_reads_the_root_as_zookeeper_does(tree: DataTree) -> None:
    root = tree.stat("/")
    assert read(tree, OpCode.EXISTS, ExistsRequest("", False)).stat == root  # type: ignore[union-attr]
    children = read(tree, OpCode.GET_CHILDREN, GetChildrenRequest("", False))
    assert children.children == ("adminonly", "locked", "open", "secret", "zookeeper")  # type: ignore[union-attr]
    count = read(tree, OpCode.GET_ALL_CHILDREN_NUMBER, GetAllChildrenNumberRequest(""))
    assert count.total_number == tree.node_count  # type: ignore[union-attr]


def test_exists_needs_no_permission_but_rejects_nul(tree: DataTree) -> None:
    assert read(tree, OpCode.EXISTS, ExistsRequest("/locked", False)).stat.data_length == 1  # type: ignore[union-attr]
    with pytest.raises(BadArguments):
        read(tree, OpCode.EXISTS, ExistsRequest("/a\x00", False))
    with pytest.raises(NoNode):
        read(tree, OpCode.EXISTS, ExistsRequest("/missing", False))


def test_get_children2_returns_parent_stat(tree: DataTree) -> None:
    resp = read(tree, OpCode.GET_CHILDREN2, GetChildren2Request("/open", False))
    assert resp.children == ("e",)  # type: ignore[union-attr]
    assert resp.stat == tree.stat("/open")  # type: ignore[union-attr]


def test_get_acl_masks_digests_without_admin(tree: DataTree) -> None:
    acl = read(tree, OpCode.GET_ACL, GetACLRequest("/secret"), identities=(IP,)).acl  # type: ignore[union-attr]
    assert acl == (ACL(31, Id("digest", "alice:x")), ACL(1, IP))
    acl = read(tree, OpCode.GET_ACL, GetACLRequest("/secret"), identities=(IP, ALICE)).acl  # type: ignore[union-attr]
    assert acl == (ACL(31, ALICE), ACL(1, IP))
    # ADMIN alone is enough to read an ACL
    assert read(tree, OpCode.GET_ACL, GetACLRequest("/adminonly")).acl[0].perms == 16  # type: ignore[union-attr]
    with pytest.raises(NoAuth):
        read(tree, OpCode.GET_ACL, GetACLRequest("/locked"), identities=(IP,))


def test_all_children_number_and_ephemerals(tree: DataTree) -> None:
    count = read(tree, OpCode.GET_ALL_CHILDREN_NUMBER, GetAllChildrenNumberRequest("/"))
    assert count.total_number == tree.node_count - 1  # type: ignore[union-attr]
    with pytest.raises(NoAuth):
        read(tree, OpCode.GET_ALL_CHILDREN_NUMBER, GetAllChildrenNumberRequest("/locked"))
    for prefix, want in [("/", ("/open/e",)), ("", ("/open/e",)), ("  ", ("/open/e",)), ("/x", ())]:
        resp = read(tree, OpCode.GET_EPHEMERALS, GetEphemeralsRequest(prefix), session_id=S1)
        assert resp.ephemerals == want  # type: ignore[union-attr]


def test_multi_read_answers_each_op_on_its_own(tree: DataTree) -> None:
    req = MultiRequest(
        (
            MultiOp(OpCode.GET_DATA, GetDataRequest("/open", False)),
            MultiOp(OpCode.GET_DATA, GetDataRequest("/missing", False)),
            MultiOp(OpCode.GET_CHILDREN, GetChildrenRequest("/locked", False)),
            MultiOp(OpCode.GET_CHILDREN, GetChildrenRequest("/open", False)),
        )
    )
    results = read(tree, OpCode.MULTI_READ, req, identities=(IP,)).results  # type: ignore[union-attr]
    assert [(r.type, r.err) for r in results] == [(4, 0), (-1, -101), (-1, -102), (8, 0)]


def test_sync_echoes_the_path(tree: DataTree) -> None:
    assert read(tree, OpCode.SYNC, SyncRequest("/anything")).path == "/anything"  # type: ignore[union-attr]


def test_write_op_is_not_a_read(tree: DataTree) -> None:
    with pytest.raises(ZooKeeperError):
        read(tree, OpCode.CREATE, None)


def test_write_responses() -> None:
    stat = DataTree().stat("/")
    assert stat is not None
    created = TxnResult(OpCode.CREATE, 5, 0, "/a", stat)
    assert write_response(OpCode.CREATE, created) == (0, CreateResponse("/a"))
    for op in (OpCode.CREATE2, OpCode.CREATE_CONTAINER, OpCode.CREATE_TTL):
        assert write_response(op, created) == (0, Create2Response("/a", stat))
    assert write_response(OpCode.SET_DATA, TxnResult(5, 5, 0, "/a", stat)) == (
        0,
        SetDataResponse(stat),
    )
    assert write_response(OpCode.DELETE, TxnResult(2, 5, 0, "/a")) == (0, None)
    assert write_response(OpCode.DELETE, TxnResult(-1, 5, -101)) == (-101, None)
    failed_multi = TxnResult(14, 6, -101, results=(TxnResult(-1, 6, 0), TxnResult(-1, 6, -101)))
    err, body = write_response(OpCode.MULTI, failed_multi)
    assert err == 0  # a multi's header error is always 0
    assert body.results == (MultiResult(-1, 0, None), MultiResult(-1, -101, None))  # type: ignore[union-attr]
    ok_multi = TxnResult(
        14, 6, 0, results=(TxnResult(15, 6, 0, "/b", stat), TxnResult(13, 6, 0, "/b"))
    )
    _, body = write_response(OpCode.MULTI, ok_multi)
    assert body.results == (  # type: ignore[union-attr]
        MultiResult(15, 0, Create2Response("/b", stat)),
        MultiResult(13, 0, None),
    )


def test_session_txns_reply_without_a_body() -> None:
    assert write_response(OpCode.CLOSE_SESSION, TxnResult(OpCode.CLOSE_SESSION, 9)) == (0, None)
    assert write_response(OpCode.CREATE_SESSION, TxnResult(OpCode.CREATE_SESSION, 9)) == (0, None)
