"""Answers computed from the tree: read requests, and the reply of an applied write.

This is the pure half of ZooKeeper's FinalRequestProcessor: :func:`read` answers a read
request against the tree with ZooKeeper's ACL rules, and :func:`write_response` turns the
:class:`~znode.tree.TxnResult` of an applied write into the reply record. Watch
registration and sending stay with the server.
"""

from __future__ import annotations

from znode.acl import Id, Perms, check_acl, is_allowed, mask_digests
from znode.errors import BadArguments, ErrorCode, MarshallingError, NoNode, ZooKeeperError
from znode.opcodes import OpCode
from znode.paths import ROOT
from znode.records import (
    Create2Response,
    CreateResponse,
    ExistsRequest,
    ExistsResponse,
    GetACLRequest,
    GetACLResponse,
    GetAllChildrenNumberRequest,
    GetAllChildrenNumberResponse,
    GetChildren2Request,
    GetChildren2Response,
    GetChildrenRequest,
    GetChildrenResponse,
    GetDataRequest,
    GetDataResponse,
    GetEphemeralsRequest,
    GetEphemeralsResponse,
    MultiRequest,
    MultiResponse,
    MultiResult,
    Request,
    Response,
    SetACLResponse,
    SetDataResponse,
    SyncRequest,
    SyncResponse,
)
from znode.tree import DataTree, TxnResult

#: Read ops answered by :func:`read`.
READ_OPS = frozenset(
    {
        OpCode.EXISTS,
        OpCode.GET_DATA,
        OpCode.GET_ACL,
        OpCode.GET_CHILDREN,
        OpCode.GET_CHILDREN2,
        OpCode.GET_ALL_CHILDREN_NUMBER,
        OpCode.GET_EPHEMERALS,
        OpCode.MULTI_READ,
        OpCode.SYNC,
    }
)


def read(
    tree: DataTree,
    op: int,
    request: Request | None,
    *,
    identities: tuple[Id, ...] = (),
    session_id: int = 0,
) -> Response:
    """Answer one read request.

    As in ZooKeeper, whose tree also files the root under the empty path, a read of ``""``
    reads ``/`` (only raw clients can send it: client libraries validate paths).

    Raises:
        ZooKeeperError: the error the client gets (NONODE, NOAUTH, BADARGUMENTS, ...).
    """
    if op == OpCode.GET_DATA and isinstance(request, GetDataRequest):
        path = request.path
        node = tree.node(path or ROOT)
        if node is None:
            raise NoNode(path=path)
        check_acl(node.acl, Perms.READ, identities, path)
        return GetDataResponse(node.data, node.stat())
    if op == OpCode.EXISTS and isinstance(request, ExistsRequest):
        path = request.path
        if "\x00" in path:
            raise BadArguments(path=path)
        stat = tree.stat(path or ROOT)
        if stat is None:
            raise NoNode(path=path)
        return ExistsResponse(stat)
    if op in (OpCode.GET_CHILDREN, OpCode.GET_CHILDREN2) and isinstance(
        request, (GetChildrenRequest, GetChildren2Request)
    ):
        path = request.path
        node = tree.node(path or ROOT)
        if node is None:
            raise NoNode(path=path)
        check_acl(node.acl, Perms.READ, identities, path)
        children = tuple(sorted(node.children)) if node.children else ()
        if op == OpCode.GET_CHILDREN:
            return GetChildrenResponse(children)
        return GetChildren2Response(children, node.stat())
    if op == OpCode.GET_ACL and isinstance(request, GetACLRequest):
        path = request.path
        node = tree.node(path or ROOT)
        if node is None:
            raise NoNode(path=path)
        check_acl(node.acl, Perms.READ | Perms.ADMIN, identities, path)
        acl = node.acl
        if not is_allowed(acl, Perms.ADMIN, identities):
            acl = mask_digests(acl)
        return GetACLResponse(acl, node.stat())
    if op == OpCode.GET_ALL_CHILDREN_NUMBER and isinstance(request, GetAllChildrenNumberRequest):
        path = request.path
        node = tree.node(path or ROOT)
        if node is None:
            raise NoNode(path=path)
        check_acl(node.acl, Perms.READ, identities, path)
        if not path:  # ZooKeeper counts every key starting with "/": all nodes
            return GetAllChildrenNumberResponse(tree.node_count)
        return GetAllChildrenNumberResponse(tree.all_children_number(path))
    if op == OpCode.GET_EPHEMERALS and isinstance(request, GetEphemeralsRequest):
        # Fix (test_get_ephemerals_lists_the_sessions_own_by_plain_prefix): ZooKeeper trims
        # the prefix (Java's trim: chars <= U+0020) only to test for blank or "/"; any other
        # prefix is matched exactly as sent.
        prefix = request.prefix_path
        if prefix.strip(_JAVA_TRIM) in ("", ROOT):
            prefix = ROOT
        return GetEphemeralsResponse(tuple(tree.ephemerals_of(session_id, prefix)))
    if op == OpCode.MULTI_READ and isinstance(request, MultiRequest):
        return _multi_read(tree, request, identities)
    if op == OpCode.SYNC and isinstance(request, SyncRequest):
        return SyncResponse(request.path)
    raise MarshallingError(f"op {op} is not a read request")


_JAVA_TRIM = "".join(map(chr, range(0x21)))


def _multi_read(tree: DataTree, request: MultiRequest, identities: tuple[Id, ...]) -> MultiResponse:
    results: list[MultiResult] = []
    for op in request.ops:
        try:
            body = read(tree, op.type, op.request, identities=identities)
        except ZooKeeperError as exc:
            results.append(MultiResult(OpCode.ERROR, exc.code, None))
        else:
            results.append(MultiResult(op.type, 0, body))
    return MultiResponse(tuple(results))


_CREATE2_OPS = (OpCode.CREATE2, OpCode.CREATE_CONTAINER, OpCode.CREATE_TTL)


def write_response(op: int, result: TxnResult) -> tuple[int, Response | None]:
    """The reply of an applied write: ``(err, body)`` for the reply header and body.

    ``op`` is the request's op code (the txn header says -1 for a failed write). A multi's
    header error is always 0; its per-op results carry the failure.
    """
    if op == OpCode.MULTI and result.type != OpCode.ERROR:
        # Fix (test_undecodable_body_gets_marshalling_error_...[multi-with-a-read]): a
        # multi that failed as a whole (an ErrorTxn, e.g. MARSHALLINGERROR) is answered
        # with that error in the header and no body, as ZooKeeper does.
        return 0, MultiResponse(tuple(_multi_result(r) for r in result.results))
    if result.err:
        return result.err, None
    if result.path is None:  # closeSession, createSession: no body
        return 0, None
    if op == OpCode.CREATE:
        return 0, CreateResponse(result.path)
    if op in _CREATE2_OPS:
        assert result.stat is not None
        return 0, Create2Response(result.path, result.stat)
    if op == OpCode.SET_DATA:
        assert result.stat is not None
        return 0, SetDataResponse(result.stat)
    if op == OpCode.SET_ACL:
        assert result.stat is not None
        return 0, SetACLResponse(result.stat)
    return 0, None


def _multi_result(result: TxnResult) -> MultiResult:
    op = result.type
    if op == OpCode.ERROR or result.err:
        return MultiResult(OpCode.ERROR, result.err, None)
    assert result.path is not None
    if op == OpCode.CREATE:
        return MultiResult(OpCode.CREATE, 0, CreateResponse(result.path))
    if op in _CREATE2_OPS:
        assert result.stat is not None
        return MultiResult(OpCode.CREATE2, 0, Create2Response(result.path, result.stat))
    if op == OpCode.SET_DATA:
        assert result.stat is not None
        return MultiResult(OpCode.SET_DATA, 0, SetDataResponse(result.stat))
    if op in (OpCode.DELETE, OpCode.CHECK):
        return MultiResult(op, 0, None)
    return MultiResult(OpCode.ERROR, ErrorCode.SYSTEMERROR, None)
