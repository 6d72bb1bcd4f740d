"""Differential testing: one seeded op sequence, run against two implementations.

* :class:`OpGenerator` draws ops (our request records) from a seed, consulting the model
  tree only to aim at interesting paths (busy parents, existing nodes, ephemeral parents).
* :class:`KazooTarget` sends each op through kazoo's own serializer to a real server (Apache
  ZooKeeper, or ours), using kazoo's raw ``_call`` so kazoo's client-side path handling
  never changes what the server sees.
* :class:`ModelTarget` runs the same op through :func:`znode.prepare.prepare`,
  :meth:`DataTree.apply` and :func:`znode.reads.read`.

Both produce normalized results — ``("ok", value)`` or ``("err", code)`` with Stat reduced to
everything but ctime/mtime and session ids replaced by client numbers — so results compare
with ``==`` op by op.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable
from typing import Any

from kazoo.client import KazooClient
from kazoo.exceptions import ZookeeperError
from kazoo.protocol import serialization as ks
from kazoo.security import ACL as KACL
from kazoo.security import Id as KId

from support.apache_zk import SUPER_PASSWORD, SUPER_USER
from znode.acl import ACL, Id, digest_auth_id, digest_id
from znode.errors import ZooKeeperError
from znode.opcodes import OpCode
from znode.prepare import PrepView, prepare, prepare_close_session, prepare_create_session
from znode.reads import READ_OPS, read, write_response
from znode.records import (
    CheckVersionRequest,
    Create2Response,
    CreateRequest,
    CreateResponse,
    CreateTTLRequest,
    DeleteRequest,
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
    MultiOp,
    MultiRequest,
    MultiResponse,
    Request,
    Response,
    SetACLRequest,
    SetACLResponse,
    SetDataRequest,
    SetDataResponse,
    SyncRequest,
    SyncResponse,
)
from znode.tree import DataTree

ALICE = ("digest", b"alice:secret")
SUPER = ("digest", f"{SUPER_USER}:{SUPER_PASSWORD}".encode())
#: Auth of each client: 0 = alice (digest), 1 = anonymous, 2 = super.
CLIENT_AUTH: tuple[tuple[tuple[str, bytes], ...], ...] = ((ALICE,), (), (SUPER,))

Result = tuple[str, Any]
Op = tuple[int, int, Request]  # (client number, op code, request)


# --- normalization ---------------------------------------------------------------------


def norm_stat(stat: Any, owners: dict[int, str]) -> tuple[Any, ...]:
    """A Stat (ours or kazoo's ZnodeStat) without ctime/mtime, owner as client name."""
    (czxid, mzxid, _ctime, _mtime, version, cversion, aversion, owner, length, nchild, pzxid) = (
        tuple(stat)
    )
    return (
        czxid,
        mzxid,
        version,
        cversion,
        aversion,
        owners.get(owner, owner),
        length,
        nchild,
        pzxid,
    )


def norm_acl(acl: Any) -> list[tuple[int, str, str]]:
    return [(int(a.perms), a.id.scheme, a.id.id or "") for a in acl]


# --- the op generator --------------------------------------------------------------------

NAMES = ("a", "b", "c", "d", "e", "lock-", "q", "x1", "ü")
# No "": kazoo sends an empty string as null, which ZooKeeper treats unlike "".
BAD_PATHS = ("a", "/a/", "//a", "/a//b", "/a/./b", "/a/..", "/.", "/a\x01", "/\ufff5")


class OpGenerator:
    """Seeded random ops aimed at ZooKeeper's subtle cases."""

    def __init__(self, seed: int, tree: DataTree) -> None:
        self.rng = random.Random(seed)
        self.tree = tree
        self.busy = ["/busy0", "/busy1"]

    def _existing(self) -> str:
        paths = list(self.tree.nodes)
        return self.rng.choice(paths)

    def _path(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.6:
            return self._existing()
        if roll < 0.93:
            parent = self._existing() if rng.random() < 0.7 else rng.choice(self.busy)
            return (parent.rstrip("/") or "") + "/" + rng.choice(NAMES)
        return rng.choice(BAD_PATHS)

    def _data(self) -> bytes | None:
        roll = self.rng.random()
        if roll < 0.05:
            return None
        if roll < 0.15:
            return b""
        return self.rng.randbytes(self.rng.randint(1, 40))

    def _acl(self) -> tuple[ACL, ...]:
        rng = self.rng
        roll = rng.random()
        open_acl = (ACL(31, Id("world", "anyone")),)
        if roll < 0.65:
            return open_acl
        choices: list[tuple[ACL, ...]] = [
            (ACL(31, Id("auth", "")),),
            (ACL(1, Id("world", "anyone")),),
            (ACL(rng.choice([1, 3, 7, 31]), Id("digest", digest_id("alice", "secret"))),),
            (ACL(31, Id("ip", "127.0.0.1")),),
            (ACL(31, Id("ip", "10.0.0.0/8")), ACL(1, Id("world", "anyone"))),
            (ACL(31, Id("ip", "127.0.0.0/33")),),
            (ACL(31, Id("world", "nobody")),),
            (ACL(31, Id("digest", "nocolon")),),
            (ACL(31, Id("sasl", "bob")),),
            (),
            open_acl + open_acl,
            (ACL(0, Id("world", "anyone")), ACL(255, Id("world", "anyone"))),
            (ACL(rng.choice([2, 4, 8, 16]), Id("world", "anyone")),),
        ]
        return rng.choice(choices)

    def _version(self, path: str, aversion: bool = False) -> int:
        rng = self.rng
        stat = self.tree.stat(path)
        roll = rng.random()
        if roll < 0.45 or stat is None:
            return -1
        current = stat.aversion if aversion else stat.version
        return current if roll < 0.85 else current + rng.choice([1, 2, -2])

    def _create(self, *, in_multi: bool = False) -> tuple[int, Request]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.3:
            parent = rng.choice(self.busy)
            if self.tree.stat(parent) is None:
                path = parent
                flags = 0
            else:
                path = parent + "/" + rng.choice(["s-", "", "n"])
                flags = rng.choice([2, 3, 2, 6 if not in_multi else 2])
        else:
            path = self._path()
            flags = rng.choice([0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, -1])
        data, acl = self._data(), self._acl()
        if in_multi:
            return OpCode.CREATE, CreateRequest(path, data, acl, max(0, min(flags, 3)))
        kind = rng.random()
        if kind < 0.12:
            return OpCode.CREATE_CONTAINER, CreateRequest(path, data, acl, 4)
        if kind < 0.22 or flags in (5, 6):
            ttl = rng.choice([1, 60_000, 2**40 - 1, 2**40, 0, -5])
            flags = rng.choice([5, 6, 5, 6, 0]) if rng.random() < 0.9 else flags
            if flags not in (5, 6) and ttl < 0:
                ttl = 7  # a non-TTL mode with a negative TTL kills Apache ZooKeeper 3.8
            return OpCode.CREATE_TTL, CreateTTLRequest(path, data, acl, flags, ttl)
        op = OpCode.CREATE2 if kind < 0.45 else OpCode.CREATE
        return op, CreateRequest(path, data, acl, flags)

    def _write(self, *, in_multi: bool = False) -> tuple[int, Request]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.5:
            return self._create(in_multi=in_multi)
        if roll < 0.72:
            path = self._path()
            return OpCode.SET_DATA, SetDataRequest(path, self._data(), self._version(path))
        if roll < 0.9 or not in_multi:
            path = self._deletable()
            return OpCode.DELETE, DeleteRequest(path, self._version(path))
        path = self._path()
        return OpCode.CHECK, CheckVersionRequest(path, self._version(path))

    def _deletable(self) -> str:
        rng = self.rng
        if rng.random() < 0.1:
            return rng.choice(["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"])
        leaves = [p for p, n in self.tree.nodes.items() if not n.children and p.count("/") > 0]
        if leaves and rng.random() < 0.7:
            return rng.choice(sorted(leaves))
        return self._path()

    def next_op(self) -> Op:
        """The next (client, op code, request)."""
        rng = self.rng
        client = rng.choices((0, 1, 2), weights=(6, 3, 1))[0]
        roll = rng.random()
        if roll < 0.5:
            op, req = self._write()
        elif roll < 0.58:
            count = rng.choice([0, 1, 2, 3, 4, 5])
            ops = tuple(MultiOp(*self._write(in_multi=True)) for _ in range(count))
            op, req = OpCode.MULTI, MultiRequest(ops)
        elif roll < 0.63:
            path = self._path()
            acl = self._acl()
            op, req = OpCode.SET_ACL, SetACLRequest(path, acl, self._version(path, aversion=True))
        else:
            path = self._path()
            kind = rng.random()
            if kind < 0.25:
                op, req = OpCode.GET_DATA, GetDataRequest(path, False)
            elif kind < 0.45:
                op, req = OpCode.EXISTS, ExistsRequest(path, False)
            elif kind < 0.6:
                op, req = OpCode.GET_CHILDREN, GetChildrenRequest(path, False)
            elif kind < 0.72:
                op, req = OpCode.GET_CHILDREN2, GetChildren2Request(path, False)
            elif kind < 0.84:
                op, req = OpCode.GET_ACL, GetACLRequest(path)
            elif kind < 0.92:
                op, req = OpCode.GET_ALL_CHILDREN_NUMBER, GetAllChildrenNumberRequest(path)
            elif kind < 0.97:
                prefix = rng.choice(["/", "", "/a", "/busy0", " "])
                op, req = OpCode.GET_EPHEMERALS, GetEphemeralsRequest(prefix)
            else:
                op, req = OpCode.SYNC, SyncRequest(path)
        return client, op, req


# --- running ops through kazoo -----------------------------------------------------------


def _kacl(acl: tuple[ACL, ...]) -> list[KACL]:
    return [KACL(a.perms, KId(a.id.scheme, a.id.id)) for a in acl]


class _CreateContainer(ks.Create2):  # type: ignore[misc]
    type = OpCode.CREATE_CONTAINER


class _CreateTTL(ks.Create2):  # type: ignore[misc]
    type = OpCode.CREATE_TTL
    ttl = 0

    def serialize(self) -> bytearray:
        return ks.Create2.serialize(self) + struct.pack(">q", self.ttl)


class _GetAllChildrenNumber:
    type = OpCode.GET_ALL_CHILDREN_NUMBER

    def __init__(self, path: str) -> None:
        self.path = path

    def serialize(self) -> bytearray:
        return bytearray(ks.write_string(self.path))

    @classmethod
    def deserialize(cls, data: bytes, offset: int) -> int:
        return int(struct.unpack_from(">i", data, offset)[0])


class _GetEphemerals:
    type = OpCode.GET_EPHEMERALS

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def serialize(self) -> bytearray:
        # An empty prefix goes out as a real empty string, not kazoo's null.
        if not self.prefix:
            return bytearray(struct.pack(">i", 0))
        return bytearray(ks.write_string(self.prefix))

    @classmethod
    def deserialize(cls, data: bytes, offset: int) -> list[str]:
        count = struct.unpack_from(">i", data, offset)[0]
        offset += 4
        out = []
        for _ in range(count):
            item, offset = ks.read_string(data, offset)
            out.append(item)
        return out


def _kazoo_request(op: int, req: Any) -> Any:
    if op == OpCode.CREATE:
        return ks.Create(req.path, req.data, _kacl(req.acl), req.flags)
    if op == OpCode.CREATE2:
        return ks.Create2(req.path, req.data, _kacl(req.acl), req.flags)
    if op == OpCode.CREATE_CONTAINER:
        return _CreateContainer(req.path, req.data, _kacl(req.acl), req.flags)
    if op == OpCode.CREATE_TTL:
        kreq = _CreateTTL(req.path, req.data, _kacl(req.acl), req.flags)
        kreq.ttl = req.ttl
        return kreq
    if op == OpCode.DELETE:
        return ks.Delete(req.path, req.version)
    if op == OpCode.SET_DATA:
        return ks.SetData(req.path, req.data, req.version)
    if op == OpCode.CHECK:
        return ks.CheckVersion(req.path, req.version)
    if op == OpCode.SET_ACL:
        return ks.SetACL(req.path, _kacl(req.acl), req.version)
    if op == OpCode.GET_DATA:
        return ks.GetData(req.path, None)
    if op == OpCode.EXISTS:
        return ks.Exists(req.path, None)
    if op == OpCode.GET_CHILDREN:
        return ks.GetChildren(req.path, None)
    if op == OpCode.GET_CHILDREN2:
        return ks.GetChildren2(req.path, None)
    if op == OpCode.GET_ACL:
        return ks.GetACL(req.path)
    if op == OpCode.GET_ALL_CHILDREN_NUMBER:
        return _GetAllChildrenNumber(req.path)
    if op == OpCode.GET_EPHEMERALS:
        return _GetEphemerals(req.prefix_path)
    if op == OpCode.SYNC:
        return ks.Sync(req.path)
    if op == OpCode.MULTI:
        return ks.Transaction([_kazoo_request(o.type, o.request) for o in req.ops])
    raise ValueError(f"no kazoo request for op {op}")


class KazooTarget:
    """A real server reached through one kazoo client per client number."""

    def __init__(self, hosts: str) -> None:
        self.clients: list[KazooClient] = []
        self.owners: dict[int, str] = {}
        for number, auth in enumerate(CLIENT_AUTH):
            client = KazooClient(
                hosts=hosts, timeout=30.0, auth_data=[(s, c.decode()) for s, c in auth]
            )
            client.start(timeout=30)
            self.clients.append(client)
            self.owners[client.client_id[0]] = f"client{number}"

    def call(self, client: int, op: int, req: Request) -> Any:
        zk = self.clients[client]
        result = zk.handler.async_result()
        zk._call(_kazoo_request(op, req), result)
        return result.get(timeout=30)

    def execute(self, client: int, op: int, req: Request) -> Result:
        try:
            value = self.call(client, op, req)
        except ZookeeperError as exc:
            return ("err", exc.code)
        if op == OpCode.EXISTS and value is None:  # kazoo turns exists' NONODE into None
            return ("err", -101)
        return ("ok", self._norm(op, value))

    def _norm(self, op: int, value: Any) -> Any:
        owners = self.owners
        if op in (OpCode.CREATE2, OpCode.CREATE_CONTAINER, OpCode.CREATE_TTL):
            path, stat = value
            return path, norm_stat(stat, owners)
        if op in (OpCode.SET_DATA, OpCode.SET_ACL, OpCode.EXISTS):
            return norm_stat(value, owners)
        if op == OpCode.GET_DATA:
            data, stat = value
            return data, norm_stat(stat, owners)
        if op == OpCode.GET_CHILDREN:
            return sorted(value)
        if op == OpCode.GET_CHILDREN2:
            children, stat = value
            return sorted(children), norm_stat(stat, owners)
        if op == OpCode.GET_ACL:
            acl, stat = value
            return norm_acl(acl), norm_stat(stat, owners)
        if op == OpCode.GET_EPHEMERALS:
            return sorted(value)
        if op == OpCode.DELETE:
            return None
        if op == OpCode.MULTI:
            out: list[Any] = []
            for item in value:
                if isinstance(item, ZookeeperError):
                    out.append(("err", item.code))
                elif isinstance(item, str):
                    out.append(item)
                elif item is True:
                    out.append(True)
                else:
                    out.append(norm_stat(item, owners))
            return out
        return value

    def close_client(self, client: int) -> None:
        """Close one client's session (closeSession)."""
        self.clients[client].stop()
        self.clients[client].close()

    def close(self) -> None:
        for client in self.clients:
            client.stop()
            client.close()


# --- running ops through the model -------------------------------------------------------


class ModelTarget:
    """Our DataTree + prepare + reads, with ZooKeeper's zxid accounting."""

    def __init__(self, *, client_address: str = "127.0.0.1") -> None:
        self.tree = DataTree()
        self.view = PrepView(self.tree)
        self.zxid = 0
        self.time = 1_000
        self.sessions: list[int] = []
        self.identities: list[tuple[Id, ...]] = []
        self.owners: dict[int, str] = {}
        for number, auth in enumerate(CLIENT_AUTH):
            session = 0x0100_0000_0000_0000 + number + 1
            self._apply(*prepare_create_session(session, 30_000, zxid=self._next(), time=self.time))
            ids: list[Id] = [Id("ip", client_address)]
            for _scheme, credential in auth:
                ident = digest_auth_id(credential)
                if credential.decode() == f"{SUPER_USER}:{SUPER_PASSWORD}":
                    ids.append(Id("super", ""))
                ids.append(ident)
            self.sessions.append(session)
            self.identities.append(tuple(ids))
            self.owners[session] = f"client{number}"

    def _next(self) -> int:
        self.zxid += 1
        self.time += 1
        return self.zxid

    def _apply(self, header: Any, txn: Any) -> Any:
        result = self.tree.apply(header, txn)
        self.view.applied(header.zxid)
        return result

    def respond(self, client: int, op: int, req: Request) -> tuple[int, Response | None]:
        """The (err, response) our core gives for one request."""
        if op in READ_OPS:
            try:
                return 0, read(
                    self.tree,
                    op,
                    req,
                    identities=self.identities[client],
                    session_id=self.sessions[client],
                )
            except ZooKeeperError as exc:
                return exc.code, None
        zxid = self._next()
        header, txn = prepare(
            self.view,
            op,
            req,
            session_id=self.sessions[client],
            cxid=0,
            zxid=zxid,
            time=self.time,
            identities=self.identities[client],
        )
        return write_response(op, self._apply(header, txn))

    def execute(self, client: int, op: int, req: Request) -> Result:
        err, resp = self.respond(client, op, req)
        if err:
            return ("err", err)
        return ("ok", self._norm(resp))

    def _norm(self, resp: Response | None) -> Any:
        owners = self.owners
        if resp is None:
            return None
        if isinstance(resp, CreateResponse):
            return resp.path
        if isinstance(resp, Create2Response):
            return resp.path, norm_stat(resp.stat, owners)
        if isinstance(resp, (SetDataResponse, SetACLResponse, ExistsResponse)):
            return norm_stat(resp.stat, owners)
        if isinstance(resp, GetDataResponse):
            return resp.data, norm_stat(resp.stat, owners)
        if isinstance(resp, GetChildrenResponse):
            return sorted(resp.children)
        if isinstance(resp, GetChildren2Response):
            return sorted(resp.children), norm_stat(resp.stat, owners)
        if isinstance(resp, GetACLResponse):
            return norm_acl(resp.acl), norm_stat(resp.stat, owners)
        if isinstance(resp, GetAllChildrenNumberResponse):
            return resp.total_number
        if isinstance(resp, GetEphemeralsResponse):
            return sorted(resp.ephemerals)
        if isinstance(resp, SyncResponse):
            return resp.path
        if isinstance(resp, MultiResponse):
            out: list[Any] = []
            for item in resp.results:
                if item.type == OpCode.ERROR:
                    out.append(("err", item.err))
                elif isinstance(item.body, CreateResponse):
                    out.append(item.body.path)
                elif isinstance(item.body, SetDataResponse):
                    out.append(norm_stat(item.body.stat, owners))
                else:
                    out.append(True)
            return out
        raise TypeError(f"unexpected response {resp!r}")

    def close_client(self, client: int) -> None:
        header, txn = prepare_close_session(
            self.view, self.sessions[client], cxid=0, zxid=self._next(), time=self.time
        )
        self._apply(header, txn)


def describe(op: Op) -> str:
    client, code, req = op
    return f"client{client} {OpCode(code).name} {req!r}"


def dump_tree(execute: Callable[[int, int, Request], Result], client: int = 2) -> list[Any]:
    """Every node reachable from ``/`` with its data, Stat and ACL, read through ``execute``."""
    out: list[Any] = []
    stack = ["/"]
    while stack:
        path = stack.pop()
        out.append((path, execute(client, OpCode.GET_DATA, GetDataRequest(path, False))))
        out.append((path, execute(client, OpCode.GET_ACL, GetACLRequest(path))))
        kind, children = execute(client, OpCode.GET_CHILDREN, GetChildrenRequest(path, False))
        if kind == "ok":
            stack.extend((path.rstrip("/") + "/" + name) for name in sorted(children))
    return out


def compare_runs(
    seed: int, ops: int, reference: Any, candidate: Any, candidate_tree: DataTree
) -> None:
    """Run ``ops`` seeded ops on both targets; raise AssertionError at the first divergence."""
    generator = OpGenerator(seed, candidate_tree)
    for index in range(ops):
        op = generator.next_op()
        want = reference.execute(*op)
        got = candidate.execute(*op)
        if want != got:
            raise AssertionError(
                f"seed {seed}: op #{index} diverged: {describe(op)}\n"
                f"  reference: {want!r}\n  candidate: {got!r}"
            )
    reference.close_client(1)
    candidate.close_client(1)
    want_tree = dump_tree(reference.execute)
    got_tree = dump_tree(candidate.execute)
    if want_tree != got_tree:
        for (w_path, w), (g_path, g) in zip(want_tree, got_tree, strict=False):
            if (w_path, w) != (g_path, g):
                raise AssertionError(
                    f"seed {seed}: final trees differ at {w_path!r}/{g_path!r}:\n"
                    f"  reference: {w!r}\n  candidate: {g!r}"
                )
        raise AssertionError(f"seed {seed}: final trees differ in size")
