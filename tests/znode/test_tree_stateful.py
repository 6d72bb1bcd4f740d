"""Stateful test: DataTree + PrepView + prepare against a plain dict model.

Every write goes through :func:`znode.prepare.prepare` (or the session helpers) and
:meth:`DataTree.apply`, with one zxid per txn. Some steps prepare several txns before applying
any of them, so prepare has to see the changes that are still pending. The model states
ZooKeeper's rules directly (wire sheet §7, §8, §9, §13, §14): the expected result code of
every op, the Stat of every node, sequential names from the parent's child-creation counter,
all-or-nothing multis, and ephemerals that vanish with their session.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Literal

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from znode.acl import OPEN_ACL_UNSAFE
from znode.errors import ErrorCode
from znode.events import EventType
from znode.opcodes import OpCode
from znode.prepare import PrepView, prepare, prepare_close_session, prepare_create_session
from znode.records import (
    CheckVersionRequest,
    CreateRequest,
    DeleteRequest,
    MultiOp,
    MultiRequest,
    Request,
    SetDataRequest,
)
from znode.stat import Stat
from znode.tree import DataTree, Node, TxnResult
from znode.txn import CONTAINER_OWNER, Txn, TxnHeader

OK = ErrorCode.OK
NONODE = ErrorCode.NONODE
NODEEXISTS = ErrorCode.NODEEXISTS
NOTEMPTY = ErrorCode.NOTEMPTY
BADVERSION = ErrorCode.BADVERSION
NOCHILDRENFOREPHEMERALS = ErrorCode.NOCHILDRENFOREPHEMERALS
BADARGUMENTS = ErrorCode.BADARGUMENTS
NOAUTH = ErrorCode.NOAUTH
RUNTIMEINCONSISTENCY = ErrorCode.RUNTIMEINCONSISTENCY

SYSTEM_PATHS = ("/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config")
NAMES = ("a", "b", "c")
#: Paths that fail full path validation (setData and check validate; delete does not).
BAD_PATHS = ("/a/", "/a//b", "/a/../b", "/.")

PERSISTENT, EPHEMERAL, PERSISTENT_SEQUENTIAL, EPHEMERAL_SEQUENTIAL, CONTAINER = range(5)

Version = Literal["any", "right", "wrong"]


# --- the model -----------------------------------------------------------------------------


@dataclass
class MNode:
    """A znode as the model sees it."""

    data: bytes | None
    czxid: int
    ctime: int
    mzxid: int
    mtime: int
    pzxid: int
    version: int = 0
    aversion: int = 0
    session: int = 0  # owning session of an ephemeral node, else 0
    container: bool = False
    read_only: bool = False  # ACL world:anyone READ (only /zookeeper/config)
    created: int = 0  # children ever created: the sequential counter
    children: set[str] = field(default_factory=set)

    def stat(self) -> Stat:
        n = len(self.children)
        return Stat(
            self.czxid,
            self.mzxid,
            self.ctime,
            self.mtime,
            self.version,
            2 * self.created - n,
            self.aversion,
            self.session,
            len(self.data) if self.data else 0,
            n,
            self.pzxid,
        )

    def stored_owner(self) -> int:
        return CONTAINER_OWNER if self.container else self.session


@dataclass(frozen=True)
class Expected:
    """What one op should do: its result code and, on success, its path and Stat."""

    code: int
    path: str | None = None
    stat: Stat | None = None


def parent_path(path: str) -> str:
    return path[: path.rfind("/")] or "/"


def child_name(path: str) -> str:
    return path[path.rfind("/") + 1 :]


class Model:
    """path -> :class:`MNode`, starting with ZooKeeper's four system nodes."""

    def __init__(self) -> None:
        self.nodes: dict[str, MNode] = {path: MNode(b"", 0, 0, 0, 0, 0) for path in SYSTEM_PATHS}
        self.nodes["/"].children = {"zookeeper"}
        self.nodes["/zookeeper"].children = {"quota", "config"}
        self.nodes["/zookeeper/config"].read_only = True
        self.nodes["/zookeeper/config"].aversion = -1

    def clone(self) -> Model:
        other = Model.__new__(Model)
        other.nodes = {
            path: dataclasses.replace(node, children=set(node.children))
            for path, node in self.nodes.items()
        }
        return other

    def _version(self, path: str, kind: Version) -> int:
        node = self.nodes.get(path)
        current = node.version if node is not None else 0
        return {"any": -1, "right": current, "wrong": current + 1}[kind]

    def request(self, op: WriteOp) -> tuple[int, Request]:
        """The op code and request record for ``op``, versions resolved against the model."""
        if isinstance(op, CreateOp):
            path = ("" if op.parent == "/" else op.parent) + "/" + op.name
            if op.mode == CONTAINER:
                return OpCode.CREATE_CONTAINER, CreateRequest(
                    path, op.data, OPEN_ACL_UNSAFE, op.mode
                )
            code = OpCode.CREATE2 if op.create2 else OpCode.CREATE
            return code, CreateRequest(path, op.data, OPEN_ACL_UNSAFE, op.mode)
        if isinstance(op, DeleteOp):
            return OpCode.DELETE, DeleteRequest(op.path, self._version(op.path, op.version))
        if isinstance(op, SetDataOp):
            version = self._version(op.path, op.version)
            return OpCode.SET_DATA, SetDataRequest(op.path, op.data, version)
        return OpCode.CHECK, CheckVersionRequest(op.path, self._version(op.path, op.version))

    def apply(self, opcode: int, req: Request, session: int, zxid: int, time: int) -> Expected:
        """ZooKeeper's outcome for one op; the model changes only when the op succeeds."""
        if isinstance(req, CreateRequest):
            return self._create(opcode, req, session, zxid, time)
        if isinstance(req, DeleteRequest):
            return self._delete(req, zxid)
        if isinstance(req, SetDataRequest):
            return self._set_data(req, zxid, time)
        assert isinstance(req, CheckVersionRequest)
        return self._check(req)

    def _create(
        self, opcode: int, req: CreateRequest, session: int, zxid: int, time: int
    ) -> Expected:
        # Order of checks: parent exists, CREATE permission on it, final path valid, node
        # does not exist, parent not ephemeral (wire sheet §7.1).
        nodes = self.nodes
        parent = nodes.get(parent_path(req.path))
        if parent is None:
            return Expected(NONODE)
        if parent.read_only:
            return Expected(NOAUTH)
        path = req.path
        if req.flags in (PERSISTENT_SEQUENTIAL, EPHEMERAL_SEQUENTIAL):
            path += f"{parent.created:010d}"
        if path != "/" and path.endswith("/"):
            return Expected(BADARGUMENTS)
        if path in nodes:
            return Expected(NODEEXISTS)
        if parent.session:
            return Expected(NOCHILDRENFOREPHEMERALS)
        ephemeral = req.flags in (EPHEMERAL, EPHEMERAL_SEQUENTIAL)
        node = MNode(
            req.data,
            czxid=zxid,
            ctime=time,
            mzxid=zxid,
            mtime=time,
            pzxid=zxid,
            session=session if ephemeral else 0,
            container=opcode == OpCode.CREATE_CONTAINER,
        )
        nodes[path] = node
        parent.children.add(child_name(path))
        parent.created += 1
        parent.pzxid = zxid
        return Expected(OK, path, node.stat())

    def _delete(self, req: DeleteRequest, zxid: int) -> Expected:
        # Special path, parent exists, DELETE permission on the parent, node exists,
        # version, no children (wire sheet §7.2: BADVERSION before NOTEMPTY).
        nodes = self.nodes
        path = req.path
        if path in SYSTEM_PATHS:
            return Expected(BADARGUMENTS)
        parent = nodes.get(parent_path(path))
        if parent is None:
            return Expected(NONODE)
        if parent.read_only:
            return Expected(NOAUTH)
        node = nodes.get(path)
        if node is None:
            return Expected(NONODE)
        if req.version not in (-1, node.version):
            return Expected(BADVERSION)
        if node.children:
            return Expected(NOTEMPTY)
        del nodes[path]
        parent.children.remove(child_name(path))
        parent.pzxid = zxid
        return Expected(OK, path)

    def _set_data(self, req: SetDataRequest, zxid: int, time: int) -> Expected:
        # Path valid, node exists, WRITE permission, version (wire sheet §7.3).
        if req.path in BAD_PATHS:
            return Expected(BADARGUMENTS)
        node = self.nodes.get(req.path)
        if node is None:
            return Expected(NONODE)
        if node.read_only:
            return Expected(NOAUTH)
        if req.version not in (-1, node.version):
            return Expected(BADVERSION)
        node.data = req.data
        node.version += 1
        node.mzxid = zxid
        node.mtime = time
        return Expected(OK, req.path, node.stat())

    def _check(self, req: CheckVersionRequest) -> Expected:
        if req.path in BAD_PATHS:
            return Expected(BADARGUMENTS)
        node = self.nodes.get(req.path)
        if node is None:
            return Expected(NONODE)
        if req.version not in (-1, node.version):
            return Expected(BADVERSION)
        return Expected(OK, req.path)

    def close_session(self, session: int, zxid: int) -> list[str]:
        """Delete the session's ephemerals; return their paths."""
        doomed = sorted(p for p, n in self.nodes.items() if n.session == session)
        for path in doomed:
            parent = self.nodes[parent_path(path)]
            parent.children.remove(child_name(path))
            parent.pzxid = zxid
            del self.nodes[path]
        return doomed

    def fingerprint(self) -> tuple[object, ...]:
        """Everything the tree digest covers."""
        return tuple(
            sorted((p, dataclasses.astuple(n), sorted(n.children)) for p, n in self.nodes.items())
        )


# --- ops -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreateOp:
    parent: str
    name: str
    mode: int  # CreateMode 0-4; 4 (container) is sent with op 19
    data: bytes | None
    create2: bool


@dataclass(frozen=True)
class DeleteOp:
    path: str
    version: Version


@dataclass(frozen=True)
class SetDataOp:
    path: str
    data: bytes | None
    version: Version


@dataclass(frozen=True)
class CheckOp:
    path: str
    version: Version


WriteOp = CreateOp | DeleteOp | SetDataOp | CheckOp


@dataclass(frozen=True)
class Single:
    op: WriteOp
    session: int


@dataclass(frozen=True)
class Multi:
    ops: tuple[WriteOp, ...]
    session: int


@dataclass(frozen=True)
class Close:
    session: int


Item = Single | Multi | Close
Check = Callable[[TxnHeader, TxnResult], None]

data_values = st.one_of(st.none(), st.binary(max_size=3))
versions: st.SearchStrategy[Version] = st.sampled_from(("any", "right", "wrong"))
generated_paths = st.lists(st.sampled_from(NAMES), min_size=1, max_size=2).map(
    lambda names: "/" + "/".join(names)
)


def paths(existing: Collection[str], *, bad: bool = False) -> st.SearchStrategy[str]:
    """Mostly an existing user node; else any existing node, a generated path (often
    missing) or, with ``bad``, a syntactically bad one."""
    user = sorted(p for p in existing if p not in SYSTEM_PATHS)
    options = [st.sampled_from(sorted(existing)), generated_paths, generated_paths]
    if user:
        options += [st.sampled_from(user)] * 5
    if bad:
        options.append(st.sampled_from(BAD_PATHS))
    return st.one_of(options)


def write_ops(existing: Collection[str], *, check: bool) -> st.SearchStrategy[WriteOp]:
    creates = st.builds(
        CreateOp,
        parent=paths(existing),
        name=st.sampled_from((*NAMES, "")),
        mode=st.sampled_from(range(5)),
        data=data_values,
        create2=st.booleans(),
    )
    deletes = st.builds(DeleteOp, path=paths(existing, bad=True), version=versions)
    sets = st.builds(SetDataOp, path=paths(existing, bad=True), data=data_values, version=versions)
    options: list[st.SearchStrategy[WriteOp]] = [creates, creates, deletes, sets]
    if check:
        options.append(st.builds(CheckOp, path=paths(existing, bad=True), version=versions))
    return st.one_of(options)


def _copy_node(node: Node) -> Node:
    return Node.restore(
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
    )


# --- the state machine ---------------------------------------------------------------------


class TreeMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tree = DataTree()
        self.view = PrepView(self.tree)
        self.model = Model()
        self.sessions: dict[int, int] = {}  # open session id -> timeout
        self.next_session = 0x1000
        self.zxid = 0
        self.last_digest = self.tree.digest()
        self.last_fingerprint = self.model.fingerprint()

    # --- helpers ---

    def _next_zxid(self) -> tuple[int, int]:
        self.zxid += 1
        return self.zxid, 1_000_000 + 7 * self.zxid

    def _apply(self, header: TxnHeader, txn: Txn) -> TxnResult:
        result = self.tree.apply(header, txn)
        self.view.applied(header.zxid)
        assert self.tree.last_zxid == header.zxid
        assert result.zxid == header.zxid
        return result

    def _prepare_single(self, item: Single) -> tuple[TxnHeader, Txn, Check]:
        zxid, time = self._next_zxid()
        opcode, req = self.model.request(item.op)
        expected = self.model.apply(opcode, req, item.session, zxid, time)
        header, txn = prepare(
            self.view, opcode, req, session_id=item.session, cxid=zxid, zxid=zxid, time=time
        )

        def check(header: TxnHeader, result: TxnResult) -> None:
            if expected.code == OK:
                assert header.type == opcode
                assert (result.type, result.err) == (opcode, OK)
                assert result.path == expected.path
                assert result.stat == expected.stat
            else:
                assert header.type == OpCode.ERROR
                assert (result.type, result.err) == (OpCode.ERROR, expected.code)

        return header, txn, check

    def _prepare_multi(self, item: Multi) -> tuple[TxnHeader, Txn, Check]:
        zxid, time = self._next_zxid()
        work = self.model.clone()
        requests: list[tuple[int, Request]] = []
        outcomes: list[Expected] = []
        for op in item.ops:
            opcode, req = work.request(op)
            requests.append((opcode, req))
            if not outcomes or outcomes[-1].code == OK:
                outcomes.append(work.apply(opcode, req, item.session, zxid, time))
        failed = outcomes[-1].code != OK
        if not failed:
            self.model = work  # all or nothing
        multi = MultiRequest(tuple(MultiOp(opcode, req) for opcode, req in requests))
        header, txn = prepare(
            self.view, OpCode.MULTI, multi, session_id=item.session, cxid=zxid, zxid=zxid, time=time
        )
        opcodes = [opcode for opcode, _ in requests]

        def check(header: TxnHeader, result: TxnResult) -> None:
            assert header.type == OpCode.MULTI
            assert result.type == OpCode.MULTI
            assert all(sub.zxid == header.zxid for sub in result.results)
            if failed:
                at = len(outcomes) - 1
                code = outcomes[-1].code
                after = len(opcodes) - at - 1
                assert result.err == code
                assert [r.err for r in result.results] == (
                    [OK] * at + [code] + [RUNTIMEINCONSISTENCY] * after
                )
                assert [r.type for r in result.results] == [OpCode.ERROR] * len(opcodes)
            else:
                assert result.err == OK
                assert [(r.type, r.err, r.path, r.stat) for r in result.results] == [
                    (opcode, OK, e.path, e.stat)
                    for opcode, e in zip(opcodes, outcomes, strict=True)
                ]

        return header, txn, check

    def _prepare_close(self, item: Close) -> tuple[TxnHeader, Txn, Check]:
        zxid, time = self._next_zxid()
        doomed = self.model.close_session(item.session, zxid)
        del self.sessions[item.session]
        header, txn = prepare_close_session(
            self.view, item.session, cxid=zxid, zxid=zxid, time=time
        )

        def check(header: TxnHeader, result: TxnResult) -> None:
            assert header.type == OpCode.CLOSE_SESSION
            assert (result.type, result.err) == (OpCode.CLOSE_SESSION, OK)
            deleted = [t.path for t in result.triggers if t.type == EventType.NODE_DELETED]
            assert sorted(deleted) == doomed

        return header, txn, check

    def _execute(self, items: Sequence[Item]) -> None:
        """Prepare every item (each seeing the ones before it as pending), then apply all."""
        prepared: list[tuple[TxnHeader, Txn, Check]] = []
        for item in items:
            if isinstance(item, Single):
                prepared.append(self._prepare_single(item))
            elif isinstance(item, Multi):
                prepared.append(self._prepare_multi(item))
            else:
                prepared.append(self._prepare_close(item))
        for header, txn, check in prepared:
            check(header, self._apply(header, txn))

    def _session(self, data: st.DataObject) -> int:
        return data.draw(st.sampled_from(sorted(self.sessions)), label="session")

    def _op(self, data: st.DataObject, *, check: bool = False) -> WriteOp:
        return data.draw(write_ops(self.model.nodes, check=check), label="op")

    # --- rules ---

    @initialize()
    def first_session(self) -> None:
        self._open(30_000)

    def _open(self, timeout: int) -> None:
        session = self.next_session
        self.next_session += 1
        zxid, time = self._next_zxid()
        header, txn = prepare_create_session(session, timeout, zxid=zxid, time=time)
        result = self._apply(header, txn)
        assert (result.type, result.err) == (OpCode.CREATE_SESSION, OK)
        self.sessions[session] = timeout

    @precondition(lambda self: len(self.sessions) < 3)
    @rule(timeout=st.sampled_from((4_000, 30_000)))
    def open_session(self, timeout: int) -> None:
        self._open(timeout)

    @precondition(lambda self: bool(self.sessions))
    @rule(
        data=st.data(),
        name=st.sampled_from((*NAMES, "")),
        mode=st.sampled_from(range(5)),
        value=data_values,
        create2=st.booleans(),
    )
    def create(
        self, data: st.DataObject, name: str, mode: int, value: bytes | None, create2: bool
    ) -> None:
        ephemerals = sorted(p for p, n in self.model.nodes.items() if n.session)
        choices = [paths(self.model.nodes)]
        if ephemerals:
            choices.append(st.sampled_from(ephemerals))
        parent = data.draw(st.one_of(choices), label="parent")
        op = CreateOp(parent, name, mode, value, create2)
        self._execute([Single(op, self._session(data))])

    @precondition(lambda self: bool(self.sessions))
    @rule(data=st.data(), names=st.lists(st.sampled_from(NAMES), min_size=1, max_size=3))
    def grow(self, data: st.DataObject, names: list[str]) -> None:
        """Pipelined creates under existing nodes, to get bushier trees than chance does."""
        items: list[Item] = []
        for name in names:
            parents = sorted(p for p in self.model.nodes if p not in SYSTEM_PATHS[1:])
            parent = data.draw(st.sampled_from(parents), label="parent")
            mode = data.draw(st.sampled_from(range(5)), label="mode")
            items.append(Single(CreateOp(parent, name, mode, b"", False), self._session(data)))
        self._execute(items)

    @precondition(lambda self: bool(self.sessions))
    @rule(data=st.data(), version=versions)
    def delete(self, data: st.DataObject, version: Version) -> None:
        path = data.draw(paths(self.model.nodes, bad=True), label="path")
        self._execute([Single(DeleteOp(path, version), self._session(data))])

    @precondition(lambda self: bool(self.sessions))
    @rule(data=st.data(), value=data_values, version=versions)
    def set_data(self, data: st.DataObject, value: bytes | None, version: Version) -> None:
        path = data.draw(paths(self.model.nodes, bad=True), label="path")
        self._execute([Single(SetDataOp(path, value, version), self._session(data))])

    @precondition(lambda self: bool(self.sessions))
    @rule(data=st.data(), size=st.integers(1, 4))
    def multi(self, data: st.DataObject, size: int) -> None:
        ops = tuple(self._op(data, check=True) for _ in range(size))
        self._execute([Multi(ops, self._session(data))])

    @precondition(lambda self: bool(self.sessions))
    @rule(data=st.data())
    def close_session(self, data: st.DataObject) -> None:
        self._execute([Close(self._session(data))])

    @precondition(lambda self: bool(self.sessions))
    @rule(data=st.data(), size=st.integers(2, 5))
    def pipelined(self, data: st.DataObject, size: int) -> None:
        """Several txns (writes, multis, closes) prepared before any of them is applied."""
        items: list[Item] = []
        open_now = sorted(self.sessions)
        for _ in range(size):
            if not open_now:
                break
            session = data.draw(st.sampled_from(open_now), label="session")
            kind = data.draw(st.sampled_from(("single", "single", "multi", "close")), label="kind")
            if kind == "close":
                items.append(Close(session))
                open_now.remove(session)
            elif kind == "multi":
                count = data.draw(st.integers(1, 3), label="multi size")
                ops = tuple(self._op(data, check=True) for _ in range(count))
                items.append(Multi(ops, session))
            else:
                items.append(Single(self._op(data), session))
        self._execute(items)

    @precondition(lambda self: bool(self.sessions))
    @rule(
        data=st.data(),
        size=st.integers(2, 5),
        shape=st.sampled_from(("multi", "singles", "multi then singles")),
    )
    def churn(self, data: st.DataObject, size: int, shape: str) -> None:
        """Creates, deletes and setData under one parent, as one multi, as pipelined singles,
        or as a multi followed by the same ops as pipelined singles: later ops depend on the
        pending (not yet applied) earlier ones, and on a failed multi leaving no trace."""
        nodes = self.model.nodes
        parents = sorted(p for p, n in nodes.items() if not n.read_only and not n.session)
        parent = data.draw(st.sampled_from(parents), label="parent")
        prefix = "" if parent == "/" else parent
        kids = sorted(
            {f"{prefix}/{c}" for c in nodes[parent].children} | {f"{prefix}/{n}" for n in NAMES}
        )
        ops: list[WriteOp] = []
        for _ in range(size):
            kind = data.draw(st.sampled_from(("create", "delete", "set")), label="kind")
            if kind == "create":
                name = data.draw(st.sampled_from(NAMES), label="name")
                mode = data.draw(st.sampled_from(range(5)), label="mode")
                ops.append(CreateOp(parent, name, mode, b"", False))
                continue
            # Aim at leaves: children created earlier in this step or existing leaf children.
            leaves = [f"{prefix}/{op.name}" for op in ops if isinstance(op, CreateOp)]
            leaves += [p for p in kids if p in nodes and not nodes[p].children]
            path = data.draw(st.sampled_from(leaves or kids), label="path")
            version = data.draw(versions, label="version")
            if kind == "delete":
                ops.append(DeleteOp(path, version))
            else:
                ops.append(SetDataOp(path, b"x", version))
        session = self._session(data)
        items: list[Item] = [Single(op, session) for op in ops]
        if shape == "multi":
            items = [Multi(tuple(ops), session)]
        elif shape == "multi then singles":
            items.insert(0, Multi(tuple(ops), session))
        self._execute(items)

    @precondition(lambda self: len(self.sessions) >= 2)
    @rule(
        data=st.data(),
        name=st.sampled_from(NAMES),
        mode=st.sampled_from((EPHEMERAL, EPHEMERAL_SEQUENTIAL)),
        then=st.sampled_from(("recreate", "delete node", "delete parent", "set data")),
    )
    def ephemeral_then_close(self, data: st.DataObject, name: str, mode: int, then: str) -> None:
        """Create an ephemeral, close its session and touch the node again, all before
        anything is applied: prepare must see the pending create and the pending close."""
        owner, other = data.draw(st.permutations(sorted(self.sessions)), label="sessions")[:2]
        parents = sorted(
            p for p, n in self.model.nodes.items() if not n.session and not n.read_only
        )
        parent = data.draw(st.sampled_from(parents), label="parent")
        path = ("" if parent == "/" else parent) + "/" + name
        if mode == EPHEMERAL_SEQUENTIAL:
            path += f"{self.model.nodes[parent].created:010d}"
        follow: WriteOp
        if then == "recreate":
            follow = CreateOp(parent, name, PERSISTENT, b"p", False)
        elif then == "delete node":
            follow = DeleteOp(path, "any")
        elif then == "delete parent":
            follow = DeleteOp(parent, "any")
        else:
            follow = SetDataOp(path, b"s", "any")
        items: list[Item] = [
            Single(CreateOp(parent, name, mode, b"e", False), owner),
            Close(owner),
            Single(follow, other),
        ]
        self._execute(items)

    # --- invariants ---

    @invariant()
    def nodes_match_model(self) -> None:
        tree = self.tree
        assert set(tree.nodes) == set(self.model.nodes)
        for path, node in self.model.nodes.items():
            data, stat = tree.get_data(path)
            assert data == node.data, path
            assert stat == node.stat(), path
            assert stat.cversion == 2 * node.created - stat.num_children
            assert tree.children(path) == sorted(node.children), path

    @invariant()
    def indexes_match_model(self) -> None:
        ephemerals: dict[int, set[str]] = {}
        for path, node in self.model.nodes.items():
            if node.session:
                ephemerals.setdefault(node.session, set()).add(path)
        assert self.tree.ephemerals == ephemerals
        assert set(ephemerals) <= set(self.sessions)
        containers = {p for p, n in self.model.nodes.items() if n.container}
        assert self.tree.containers == containers
        assert self.tree.ttls == set()
        assert self.tree.sessions == self.sessions
        assert self.tree.last_zxid == self.zxid

    @invariant()
    def view_matches_model(self) -> None:
        view = self.view
        assert view.pending == 0
        for path in ("/a/b/c", "/c", *BAD_PATHS):
            if path not in self.model.nodes:
                assert view.lookup(path) is None
        for path, node in self.model.nodes.items():
            rec = view.lookup(path)
            assert rec is not None, path
            assert rec.version == node.version
            assert rec.cversion == node.created
            assert rec.child_count == len(node.children)
            assert rec.ephemeral_owner == node.stored_owner()

    @invariant()
    def digest_is_consistent(self) -> None:
        digest = self.tree.digest()
        fresh = DataTree(empty=True)
        for path, node in self.tree.walk():
            fresh.restore_node(path, _copy_node(node))
        assert digest == fresh.digest()
        # Data counts too: the same tree with the last node's data changed differs
        # (/zookeeper/config aside: each member publishes it locally, outside the digest).
        last = [path for path, _ in self.tree.walk() if path != "/zookeeper/config"][-1]
        altered = DataTree(empty=True)
        for path, node in self.tree.walk():
            copy = _copy_node(node)
            if path == last:
                copy.data = (node.data or b"") + b"!"
            altered.restore_node(path, copy)
        assert altered.digest() != digest
        # The digest changes exactly when the model does (session-only steps change nothing).
        fingerprint = self.model.fingerprint()
        if fingerprint == self.last_fingerprint:
            assert digest == self.last_digest
        else:
            assert digest != self.last_digest
        self.last_digest = digest
        self.last_fingerprint = fingerprint


TreeMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestTreeStateful = TreeMachine.TestCase
