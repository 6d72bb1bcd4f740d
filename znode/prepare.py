"""Turning a client write request into a txn, as ZooKeeper's PrepRequestProcessor does.

:func:`prepare` checks a request against the tree *plus the changes already prepared but not
yet applied* (a :class:`PrepView`), decides everything the txn must carry (sequential name,
new versions, the parent's new child counter, the expanded ACL) and returns the txn. A
request that fails becomes an :class:`~znode.txn.ErrorTxn`: failed writes still consume a
zxid, exactly as in ZooKeeper. A multi is all-or-nothing: on the first failing op the view
is rolled back and the txn records 0 for the ops before it, the op's code, and
RUNTIMEINCONSISTENCY for the ops after it.

Checks run in ZooKeeper's order, so the first error reported is ZooKeeper's first error.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from znode.acl import ACL, Id, Perms, check_acl, fixup_acl
from znode.errors import (
    BadArguments,
    BadVersion,
    ErrorCode,
    MarshallingError,
    NoChildrenForEphemerals,
    NodeExists,
    NoNode,
    NotEmpty,
    ReconfigDisabled,
    Unimplemented,
    ZooKeeperError,
)
from znode.opcodes import CreateMode, OpCode
from znode.paths import ROOT, SPECIAL_PATHS, sequential_suffix, validate_path
from znode.records import (
    CheckVersionRequest,
    CreateRequest,
    CreateTTLRequest,
    DeleteRequest,
    MultiRequest,
    Request,
    SetACLRequest,
    SetDataRequest,
)
from znode.tree import DataTree, Node
from znode.txn import (
    CONTAINER_OWNER,
    MAX_TTL,
    CheckVersionTxn,
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
    is_session_owner,
    ttl_owner,
)


class ChangeRecord:
    """The state of one path as prepare sees it: applied, or changed by a pending txn.

    ``exists`` is False for a path a pending txn deletes. ``cversion`` is the stored
    child-creation counter (see :mod:`znode.tree`).
    """

    __slots__ = (
        "acl",
        "aversion",
        "child_count",
        "cversion",
        "ephemeral_owner",
        "exists",
        "path",
        "version",
        "zxid",
    )

    def __init__(
        self,
        zxid: int,
        path: str,
        *,
        exists: bool = True,
        version: int = 0,
        cversion: int = 0,
        aversion: int = 0,
        ephemeral_owner: int = 0,
        child_count: int = 0,
        acl: tuple[ACL, ...] = (),
    ) -> None:
        self.zxid = zxid
        self.path = path
        self.exists = exists
        self.version = version
        self.cversion = cversion
        self.aversion = aversion
        self.ephemeral_owner = ephemeral_owner
        self.child_count = child_count
        self.acl = acl

    @classmethod
    def of_node(cls, path: str, node: Node) -> ChangeRecord:
        return cls(
            -1,
            path,
            version=node.version,
            cversion=node.cversion,
            aversion=node.aversion,
            ephemeral_owner=node.ephemeral_owner,
            child_count=len(node.children) if node.children else 0,
            acl=node.acl,
        )

    def duplicate(self, zxid: int) -> ChangeRecord:
        """A copy stamped with the zxid of the txn that changes it."""
        return ChangeRecord(
            zxid,
            self.path,
            exists=self.exists,
            version=self.version,
            cversion=self.cversion,
            aversion=self.aversion,
            ephemeral_owner=self.ephemeral_owner,
            child_count=self.child_count,
            acl=self.acl,
        )


_UNSET = object()


class PrepView:
    """The tree as seen by prepare: applied state overlaid with pending change records.

    Owned by the task that prepares requests. Call :meth:`applied` after the tree applies a
    txn, and :meth:`clear` when pending txns are abandoned (e.g. a leader change).
    """

    def __init__(self, tree: DataTree) -> None:
        self.tree = tree
        self._latest: dict[str, ChangeRecord] = {}
        self._queue: deque[ChangeRecord] = deque()
        self._undo: dict[str, ChangeRecord | object] | None = None

    def lookup(self, path: str) -> ChangeRecord | None:
        """The record for ``path``, or ``None`` if it does not exist (now or once pending
        txns apply)."""
        rec = self._latest.get(path)
        if rec is None:
            node = self.tree.nodes.get(path)
            return None if node is None else ChangeRecord.of_node(path, node)
        return rec if rec.exists else None

    def record(self, path: str) -> ChangeRecord:
        """Like :meth:`lookup` but raises :class:`NoNode`."""
        rec = self.lookup(path)
        if rec is None:
            raise NoNode(path=path)
        return rec

    def add(self, rec: ChangeRecord) -> None:
        """Record a pending change."""
        if self._undo is not None and rec.path not in self._undo:
            self._undo[rec.path] = self._latest.get(rec.path, _UNSET)
        self._queue.append(rec)
        self._latest[rec.path] = rec

    def applied(self, zxid: int) -> None:
        """Forget the pending changes of every txn up to and including ``zxid``."""
        queue = self._queue
        latest = self._latest
        while queue and queue[0].zxid <= zxid:
            rec = queue.popleft()
            if latest.get(rec.path) is rec:
                del latest[rec.path]

    def clear(self) -> None:
        """Drop every pending change."""
        self._latest.clear()
        self._queue.clear()

    @property
    def pending(self) -> int:
        return len(self._queue)

    def pending_records(self) -> Sequence[ChangeRecord]:
        return tuple(self._queue)

    # Savepoints for multi: everything added between begin() and rollback() is undone.
    def begin(self) -> int:
        self._undo = {}
        return len(self._queue)

    def rollback(self, mark: int) -> None:
        while len(self._queue) > mark:
            self._queue.pop()
        assert self._undo is not None
        for path, old in self._undo.items():
            if old is _UNSET:
                self._latest.pop(path, None)
            else:
                self._latest[path] = old  # type: ignore[assignment]
        self._undo = None

    def commit(self) -> None:
        self._undo = None


def _inc_version(current: int, expected: int, path: str) -> int:
    """ZooKeeper's ``checkAndIncVersion``: -1 matches anything; returns the next version."""
    if expected != -1 and current != expected:
        raise BadVersion(path=path)
    return (current + 1 + 2**31) % 2**32 - 2**31


def _parent_path(path: str) -> str:
    slash = path.rfind("/")
    if slash == -1 or "\x00" in path:
        raise BadArguments(path=path)
    return path[:slash] or ROOT


class _Preparer:
    """One prepare call's context: who asks, which zxid, the view to read and extend."""

    def __init__(
        self,
        view: PrepView,
        *,
        session_id: int,
        zxid: int,
        identities: tuple[Id, ...],
        ttl_enabled: bool,
    ) -> None:
        self.view = view
        self.session_id = session_id
        self.zxid = zxid
        self.identities = identities
        self.ttl_enabled = ttl_enabled

    def write(self, op: int, request: Request | None) -> Txn:
        if op in (OpCode.CREATE, OpCode.CREATE2, OpCode.CREATE_CONTAINER, OpCode.CREATE_TTL):
            if not isinstance(request, (CreateRequest, CreateTTLRequest)):
                raise MarshallingError()
            return self.create(op, request)
        if op == OpCode.DELETE and isinstance(request, DeleteRequest):
            return self.delete(request)
        if op == OpCode.SET_DATA and isinstance(request, SetDataRequest):
            return self.set_data(request)
        if op == OpCode.SET_ACL and isinstance(request, SetACLRequest):
            return self.set_acl(request)
        if op == OpCode.CHECK and isinstance(request, CheckVersionRequest):
            return self.check(request)
        if op == OpCode.RECONFIG:
            raise ReconfigDisabled()
        raise MarshallingError(f"op {op} is not a write request")

    def create(self, op: int, req: CreateRequest | CreateTTLRequest) -> CreateTxn:
        view = self.view
        try:
            mode = CreateMode(req.flags)
        except ValueError:
            raise BadArguments(path=req.path) from None
        ttl = req.ttl if isinstance(req, CreateTTLRequest) and op == OpCode.CREATE_TTL else -1
        if mode.is_ttl and not self.ttl_enabled:
            raise Unimplemented()
        if mode.is_ttl:
            if not 0 < ttl <= MAX_TTL:
                raise BadArguments(path=req.path)
        elif ttl >= 0:
            raise BadArguments(path=req.path)
        path = req.path
        parent_path = _parent_path(path)
        acl = fixup_acl(path, self.identities, req.acl)
        parent = view.record(parent_path)
        check_acl(parent.acl, Perms.CREATE, self.identities, path)
        if mode.is_sequential:
            path = path + sequential_suffix(parent.cversion)
        validate_path(path)
        if view.lookup(path) is not None:
            raise NodeExists(path=path)
        if is_session_owner(parent.ephemeral_owner):
            raise NoChildrenForEphemerals(path=path)
        if op == OpCode.CREATE_TTL and not mode.is_ttl:
            # ZooKeeper accepts this combination this far, then fails applying the txn
            # (the server dies); refuse it here instead.
            raise BadArguments(path=path)
        if op == OpCode.CREATE_CONTAINER:
            owner = CONTAINER_OWNER
        elif mode.is_ttl:
            owner = ttl_owner(ttl)
        elif mode.is_ephemeral:
            owner = self.session_id
        else:
            owner = 0
        new_cversion = parent.cversion + 1
        updated = parent.duplicate(self.zxid)
        updated.child_count += 1
        updated.cversion = new_cversion
        view.add(updated)
        view.add(ChangeRecord(self.zxid, path, ephemeral_owner=owner, acl=acl))
        return CreateTxn(path, req.data, acl, owner, new_cversion)

    def delete(self, req: DeleteRequest) -> DeleteTxn:
        view = self.view
        path = req.path
        parent_path = _parent_path(path)
        if path in SPECIAL_PATHS:
            raise BadArguments(path=path)
        parent = view.record(parent_path)
        check_acl(parent.acl, Perms.DELETE, self.identities, path)
        node = view.record(path)
        _inc_version(node.version, req.version, path)
        if node.child_count > 0:
            raise NotEmpty(path=path)
        updated = parent.duplicate(self.zxid)
        updated.child_count -= 1
        view.add(updated)
        view.add(ChangeRecord(self.zxid, path, exists=False))
        return DeleteTxn(path)

    def set_data(self, req: SetDataRequest) -> SetDataTxn:
        path = req.path
        validate_path(path)
        node = self.view.record(path)
        check_acl(node.acl, Perms.WRITE, self.identities, path)
        version = _inc_version(node.version, req.version, path)
        updated = node.duplicate(self.zxid)
        updated.version = version
        self.view.add(updated)
        return SetDataTxn(path, req.data, version)

    def set_acl(self, req: SetACLRequest) -> SetACLTxn:
        path = req.path
        validate_path(path)
        acl = fixup_acl(path, self.identities, req.acl)
        node = self.view.record(path)
        check_acl(node.acl, Perms.ADMIN, self.identities, path)
        version = _inc_version(node.aversion, req.version, path)
        updated = node.duplicate(self.zxid)
        updated.aversion = version
        updated.acl = acl
        self.view.add(updated)
        return SetACLTxn(path, acl, version)

    def check(self, req: CheckVersionRequest) -> CheckVersionTxn:
        path = req.path
        validate_path(path)
        node = self.view.record(path)
        check_acl(node.acl, Perms.READ, self.identities, path)
        return CheckVersionTxn(path, _inc_version(node.version, req.version, path))

    def multi(self, req: MultiRequest) -> MultiTxn:
        mark = self.view.begin()
        txns: list[tuple[int, Txn]] = []
        for index, op in enumerate(req.ops):
            try:
                txns.append((op.type, self.write(op.type, op.request)))
            except ZooKeeperError as exc:
                self.view.rollback(mark)
                after = len(req.ops) - index - 1
                errors = (
                    [ErrorTxn(0)] * index
                    + [ErrorTxn(exc.code)]
                    + [ErrorTxn(ErrorCode.RUNTIMEINCONSISTENCY)] * after
                )
                return MultiTxn(tuple((int(OpCode.ERROR), e) for e in errors))
        self.view.commit()
        return MultiTxn(tuple(txns))


def prepare(
    view: PrepView,
    op: int,
    request: Request | None,
    *,
    session_id: int,
    cxid: int,
    zxid: int,
    time: int,
    identities: tuple[Id, ...] = (),
    ttl_enabled: bool = True,
) -> tuple[TxnHeader, Txn]:
    """Prepare one write request (create*, delete, setData, setACL, check, multi, reconfig).

    Args:
        view: the tree plus pending changes; extended with this txn's changes on success.
        op: the request's op code.
        request: the decoded request record.
        session_id, cxid: who asked (the txn header's client id and xid).
        zxid: the zxid this txn gets (consumed whether or not the request fails).
        time: the leader's wall-clock time in ms, stored as ctime/mtime.
        identities: the connection's auth identities (``ip``, ``digest``, ``super``).
        ttl_enabled: whether TTL nodes are allowed (else UNIMPLEMENTED, as ZooKeeper does
            without ``zookeeper.extendedTypesEnabled``).

    Returns:
        The txn header and the txn; a failed request gives header type -1 and an ErrorTxn
        (a multi keeps type 14 and records the failure inside its MultiTxn).
    """
    preparer = _Preparer(
        view, session_id=session_id, zxid=zxid, identities=identities, ttl_enabled=ttl_enabled
    )
    if op == OpCode.MULTI:
        if not isinstance(request, MultiRequest):
            raise MarshallingError()
        return TxnHeader(session_id, cxid, zxid, time, op), preparer.multi(request)
    try:
        txn = preparer.write(op, request)
    except ZooKeeperError as exc:
        return TxnHeader(session_id, cxid, zxid, time, OpCode.ERROR), ErrorTxn(exc.code)
    return TxnHeader(session_id, cxid, zxid, time, op), txn


def prepare_create_session(
    session_id: int, timeout_ms: int, *, zxid: int, time: int, passwd: bytes = b""
) -> tuple[TxnHeader, CreateSessionTxn]:
    """The txn that opens a session with its negotiated timeout and its password."""
    header = TxnHeader(session_id, 0, zxid, time, OpCode.CREATE_SESSION)
    return header, CreateSessionTxn(timeout_ms, passwd)


def prepare_delete_container(
    view: PrepView, path: str, *, zxid: int, time: int
) -> tuple[TxnHeader, Txn]:
    """The reaper's delete of an empty container or expired TTL node (``deleteContainer``).

    No ACL check, as in ZooKeeper; a node that gained a child meanwhile fails NOTEMPTY and
    an ephemeral one BADVERSION (ZooKeeper's codes), as an error txn.
    """
    header = TxnHeader(0, 0, zxid, time, OpCode.DELETE_CONTAINER)
    try:
        parent_path = _parent_path(path)
        node = view.record(path)
        if node.child_count > 0:
            raise NotEmpty(path=path)
        if is_session_owner(node.ephemeral_owner):
            raise BadVersion(path=path)
        parent = view.record(parent_path)
    except ZooKeeperError as exc:
        return TxnHeader(0, 0, zxid, time, OpCode.ERROR), ErrorTxn(exc.code)
    updated = parent.duplicate(zxid)
    updated.child_count -= 1
    view.add(updated)
    view.add(ChangeRecord(zxid, path, exists=False))
    return header, DeleteTxn(path)


def prepare_close_session(
    view: PrepView, session_id: int, *, cxid: int, zxid: int, time: int
) -> tuple[TxnHeader, CloseSessionTxn]:
    """The txn that closes a session; records the deletion of its ephemerals in ``view``."""
    paths = set(view.tree.ephemerals.get(session_id, ()))
    for rec in view.pending_records():
        if not rec.exists:
            paths.discard(rec.path)
        elif rec.ephemeral_owner == session_id:
            paths.add(rec.path)
    for path in sorted(paths):
        parent = view.lookup(path.rsplit("/", 1)[0] or ROOT)
        if parent is not None:
            updated = parent.duplicate(zxid)
            updated.child_count -= 1
            view.add(updated)
        view.add(ChangeRecord(zxid, path, exists=False))
    return TxnHeader(session_id, cxid, zxid, time, OpCode.CLOSE_SESSION), CloseSessionTxn()
