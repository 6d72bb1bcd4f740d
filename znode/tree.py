"""The replicated znode tree: applies transactions and answers reads.

:meth:`DataTree.apply` is the only way the tree changes. It never reads a clock or a random
source, so replicas that apply the same txns in the same order hold equal trees, and
:meth:`DataTree.digest` (an order-independent sum of per-node hashes) is equal too.

Stored versus visible ``cversion``: like ZooKeeper, a node stores the number of children
ever *created* under it (the counter sequential names use); clients see
``2 * created - numChildren``, which goes up by one on every child create and delete.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator

import attrs

from znode.acl import ACL, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE
from znode.errors import ErrorCode, NoNode
from znode.events import EventType, WatchTrigger
from znode.opcodes import OpCode
from znode.paths import CONFIG, QUOTA, ROOT, ZOOKEEPER
from znode.stat import Stat
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
    Txn,
    TxnHeader,
    is_session_owner,
    ttl_of,
    visible_owner,
)

_MASK64 = 2**64 - 1
_DIGEST_STAT = struct.Struct(">qqqqiiiqq")

NODE_CREATED = EventType.NODE_CREATED
NODE_DELETED = EventType.NODE_DELETED
NODE_DATA_CHANGED = EventType.NODE_DATA_CHANGED
NODE_CHILDREN_CHANGED = EventType.NODE_CHILDREN_CHANGED


class Node:
    """One znode as stored. Owned by its :class:`DataTree`; read it, never change it.

    ``cversion`` is the stored child-creation counter, not the visible cversion;
    ``children`` is ``None`` until the node first has a child, to keep leaves small.
    """

    __slots__ = (
        "acl",
        "aversion",
        "children",
        "ctime",
        "cversion",
        "czxid",
        "data",
        "ephemeral_owner",
        "mtime",
        "mzxid",
        "pzxid",
        "version",
    )

    def __init__(
        self,
        data: bytes | None,
        acl: tuple[ACL, ...],
        zxid: int,
        time: int,
        ephemeral_owner: int,
    ) -> None:
        self.data = data
        self.acl = acl
        self.czxid = self.mzxid = self.pzxid = zxid
        self.ctime = self.mtime = time
        self.version = self.cversion = self.aversion = 0
        self.ephemeral_owner = ephemeral_owner
        self.children: set[str] | None = None

    @classmethod
    def restore(
        cls,
        *,
        data: bytes | None,
        acl: tuple[ACL, ...],
        czxid: int,
        mzxid: int,
        ctime: int,
        mtime: int,
        version: int,
        cversion: int,
        aversion: int,
        ephemeral_owner: int,
        pzxid: int,
    ) -> Node:
        """A node with every stored field given (snapshot loading)."""
        node = cls(data, acl, czxid, ctime, ephemeral_owner)
        node.mzxid = mzxid
        node.mtime = mtime
        node.version = version
        node.cversion = cversion
        node.aversion = aversion
        node.pzxid = pzxid
        return node

    def copy(self) -> Node:
        """A detached copy of the stored fields (children are not copied)."""
        return Node.restore(
            data=self.data,
            acl=self.acl,
            czxid=self.czxid,
            mzxid=self.mzxid,
            ctime=self.ctime,
            mtime=self.mtime,
            version=self.version,
            cversion=self.cversion,
            aversion=self.aversion,
            ephemeral_owner=self.ephemeral_owner,
            pzxid=self.pzxid,
        )

    def stat(self) -> Stat:
        """The client-visible :class:`Stat`."""
        n = len(self.children) if self.children else 0
        data = self.data
        return _new_stat(
            Stat,
            (
                self.czxid,
                self.mzxid,
                self.ctime,
                self.mtime,
                self.version,
                2 * self.cversion - n,
                self.aversion,
                visible_owner(self.ephemeral_owner),
                len(data) if data else 0,
                n,
                self.pzxid,
            ),
        )


_new_stat = tuple.__new__  # skips the NamedTuple's Python-level __new__ (hot path)


@attrs.frozen
class TxnResult:
    """What applying one txn did.

    Attributes:
        type: the op type (the header's, or the sub-op's inside a multi; -1 for errors).
        zxid: the txn's zxid.
        err: 0, or the error code the client gets.
        path: the path the txn acted on (the created path for creates).
        stat: the node's Stat after a create, setData or setACL.
        results: one result per sub-op of a multi.
        triggers: the changes that fire watches, in order.
    """

    type: int
    zxid: int
    err: int = 0
    path: str | None = None
    stat: Stat | None = None
    results: tuple[TxnResult, ...] = ()
    triggers: tuple[WatchTrigger, ...] = ()


class DataTree:
    """The znode tree plus the replicated session table.

    Owned by one task. Built fresh (with ``/``, ``/zookeeper``, ``/zookeeper/quota`` and
    ``/zookeeper/config``) or by a snapshot loader through :meth:`restore_node`.
    """

    def __init__(self, *, empty: bool = False) -> None:
        self.nodes: dict[str, Node] = {}
        #: session id -> paths of that session's ephemeral nodes
        self.ephemerals: dict[int, set[str]] = {}
        self.containers: set[str] = set()
        self.ttls: set[str] = set()
        #: session id -> negotiated timeout in ms, for every open session
        self.sessions: dict[int, int] = {}
        #: session id -> password, for sessions created with one
        self.session_passwords: dict[int, bytes] = {}
        self.last_zxid = 0
        self._acls: dict[tuple[ACL, ...], tuple[ACL, ...]] = {}
        self._changes = 0  # bumped by every change; the digest cache is keyed by it
        self._digest: tuple[int, int] | None = None  # (changes, digest)
        #: while a snapshot is being written: path -> the node as it was when it began
        #: (None for nodes created since), saved on the first change after it began
        self._views: list[dict[str, Node | None]] = []
        if not empty:
            self._add_system_nodes()

    def _add_system_nodes(self) -> None:
        for path, acl in (
            (ROOT, OPEN_ACL_UNSAFE),
            (ZOOKEEPER, OPEN_ACL_UNSAFE),
            (QUOTA, OPEN_ACL_UNSAFE),
            (CONFIG, READ_ACL_UNSAFE),
        ):
            node = Node(b"", acl, 0, 0, 0)
            self.restore_node(path, node)
        self.nodes[CONFIG].aversion = -1

    def set_config(self, data: bytes, version: int, now: int) -> None:
        """Publish the ensemble membership in ``/zookeeper/config``.

        Each member does this itself when it starts or installs a snapshot; it is not a
        transaction. As in ZooKeeper the node's data version reads -1 and its mzxid is the
        configuration's version.
        """
        node = self.nodes[CONFIG]
        if self._views:
            self._save(CONFIG, node)
        node.data = data
        node.version = -1
        node.mzxid = version
        node.mtime = now
        self._changes += 1

    # --- building ----------------------------------------------------------------------

    def intern_acl(self, acl: tuple[ACL, ...]) -> tuple[ACL, ...]:
        """Return the shared copy of ``acl`` (nodes with equal ACLs share one tuple)."""
        return self._acls.setdefault(acl, acl)

    def restore_node(self, path: str, node: Node) -> None:
        """Insert a node as loaded from a snapshot; its parent must already be present.

        The node's own ``children`` is rebuilt from the nodes restored after it.
        """
        node.acl = self.intern_acl(node.acl)
        node.children = None
        self.nodes[path] = node
        if path != ROOT:
            slash = path.rindex("/")
            parent = self.nodes[path[:slash] or ROOT]
            if parent.children is None:
                parent.children = {path[slash + 1 :]}
            else:
                parent.children.add(path[slash + 1 :])
        self._index(path, node.ephemeral_owner)
        self._changes += 1

    def _index(self, path: str, owner: int) -> None:
        if owner == 0:
            return
        if owner == CONTAINER_OWNER:
            self.containers.add(path)
        elif ttl_of(owner) is not None:
            self.ttls.add(path)
        else:
            paths = self.ephemerals.get(owner)
            if paths is None:
                self.ephemerals[owner] = {path}
            else:
                paths.add(path)

    def _unindex(self, path: str, owner: int) -> None:
        if owner == 0:
            return
        if owner == CONTAINER_OWNER:
            self.containers.discard(path)
        elif ttl_of(owner) is not None:
            self.ttls.discard(path)
        else:
            paths = self.ephemerals.get(owner)
            if paths is not None:
                paths.discard(path)
                if not paths:
                    del self.ephemerals[owner]

    # --- applying txns -------------------------------------------------------------------

    def apply(self, header: TxnHeader, txn: Txn) -> TxnResult:
        """Apply one committed txn and return what it did.

        Never raises for a txn that does not fit the tree (it cannot happen for txns made by
        :func:`znode.prepare.prepare` against this tree); such a txn yields a result with
        ``err`` set and changes nothing.
        """
        if header.zxid > self.last_zxid:
            self.last_zxid = header.zxid
        self._changes += 1
        return self._apply(header.type, header, txn)

    def _apply(self, op: int, header: TxnHeader, txn: Txn) -> TxnResult:
        kind = type(txn)
        if kind is CreateTxn:
            return self._create(op, header, txn)  # type: ignore[arg-type]
        if kind is SetDataTxn:
            return self._set_data(op, header, txn)  # type: ignore[arg-type]
        if kind is DeleteTxn:
            return self._delete(op, header.zxid, txn.path)  # type: ignore[union-attr]
        if kind is ErrorTxn:
            return TxnResult(OpCode.ERROR, header.zxid, txn.err)  # type: ignore[union-attr]
        if kind is SetACLTxn:
            return self._set_acl(op, header, txn)  # type: ignore[arg-type]
        if kind is CheckVersionTxn:
            path = txn.path  # type: ignore[union-attr]
            if path not in self.nodes:
                return TxnResult(op, header.zxid, ErrorCode.NONODE, path)
            return TxnResult(op, header.zxid, 0, path)
        if kind is MultiTxn:
            return self._multi(header, txn)  # type: ignore[arg-type]
        if kind is CreateSessionTxn:
            self.sessions[header.session_id] = txn.timeout  # type: ignore[union-attr]
            if txn.passwd:  # type: ignore[union-attr]
                self.session_passwords[header.session_id] = txn.passwd  # type: ignore[union-attr]
            return TxnResult(op, header.zxid)
        if kind is CloseSessionTxn:
            return self._close_session(op, header)
        raise TypeError(f"not a txn: {txn!r}")

    def _create(self, op: int, header: TxnHeader, txn: CreateTxn) -> TxnResult:
        path = txn.path
        nodes = self.nodes
        zxid = header.zxid
        slash = path.rfind("/")
        parent_path = path[:slash] or ROOT
        parent = nodes.get(parent_path)
        if parent is None:
            return TxnResult(op, zxid, ErrorCode.NONODE, path)
        if path in nodes:
            return TxnResult(op, zxid, ErrorCode.NODEEXISTS, path)
        if self._views:
            self._save(parent_path, parent)
            self._save(path, None)
        acl = self._acls.setdefault(txn.acl, txn.acl)
        owner = txn.ephemeral_owner
        node = Node(txn.data, acl, zxid, header.time, owner)
        nodes[path] = node
        name = path[slash + 1 :]
        if parent.children is None:
            parent.children = {name}
        else:
            parent.children.add(name)
        if txn.parent_cversion > parent.cversion:
            parent.cversion = txn.parent_cversion
            parent.pzxid = zxid
        if owner:
            self._index(path, owner)
        return TxnResult(
            op,
            zxid,
            0,
            path,
            node.stat(),
            (),
            (WatchTrigger(NODE_CREATED, path), WatchTrigger(NODE_CHILDREN_CHANGED, parent_path)),
        )

    def _delete(self, op: int, zxid: int, path: str) -> TxnResult:
        nodes = self.nodes
        node = nodes.get(path)
        if node is None or path == ROOT:
            return TxnResult(op, zxid, ErrorCode.NONODE, path)
        if node.children:
            return TxnResult(op, zxid, ErrorCode.NOTEMPTY, path)
        slash = path.rfind("/")
        parent_path = path[:slash] or ROOT
        parent = nodes[parent_path]
        if self._views:
            self._save(path, node)
            self._save(parent_path, parent)
        del nodes[path]
        if parent.children is not None:
            parent.children.discard(path[slash + 1 :])
        if zxid > parent.pzxid:
            parent.pzxid = zxid
        if node.ephemeral_owner:
            self._unindex(path, node.ephemeral_owner)
        return TxnResult(
            op,
            zxid,
            0,
            path,
            None,
            (),
            (WatchTrigger(NODE_DELETED, path), WatchTrigger(NODE_CHILDREN_CHANGED, parent_path)),
        )

    def _set_data(self, op: int, header: TxnHeader, txn: SetDataTxn) -> TxnResult:
        path = txn.path
        node = self.nodes.get(path)
        if node is None:
            return TxnResult(op, header.zxid, ErrorCode.NONODE, path)
        if self._views:
            self._save(path, node)
        node.data = txn.data
        node.version = txn.version
        node.mzxid = header.zxid
        node.mtime = header.time
        return TxnResult(
            op,
            header.zxid,
            0,
            path,
            node.stat(),
            (),
            (WatchTrigger(NODE_DATA_CHANGED, path),),
        )

    def _set_acl(self, op: int, header: TxnHeader, txn: SetACLTxn) -> TxnResult:
        path = txn.path
        node = self.nodes.get(path)
        if node is None:
            return TxnResult(op, header.zxid, ErrorCode.NONODE, path)
        if self._views:
            self._save(path, node)
        node.acl = self.intern_acl(txn.acl)
        node.aversion = txn.version
        return TxnResult(op, header.zxid, 0, path, node.stat())

    def _multi(self, header: TxnHeader, txn: MultiTxn) -> TxnResult:
        results: list[TxnResult] = []
        triggers: list[WatchTrigger] = []
        err = 0
        for sub_op, sub in txn.txns:
            result = self._apply(sub_op, header, sub)
            results.append(result)
            triggers.extend(result.triggers)
            if result.err and not err:
                err = result.err
        return TxnResult(
            OpCode.MULTI, header.zxid, err, None, None, tuple(results), tuple(triggers)
        )

    def _close_session(self, op: int, header: TxnHeader) -> TxnResult:
        session = header.session_id
        triggers: list[WatchTrigger] = []
        for path in sorted(self.ephemerals.get(session, ())):
            triggers.extend(self._delete(OpCode.DELETE, header.zxid, path).triggers)
        self.sessions.pop(session, None)
        self.session_passwords.pop(session, None)
        return TxnResult(op, header.zxid, 0, None, None, (), tuple(triggers))

    # --- reads ---------------------------------------------------------------------------

    def node(self, path: str) -> Node | None:
        """The stored node at ``path`` (read-only), or ``None``."""
        return self.nodes.get(path)

    def _existing(self, path: str) -> Node:
        node = self.nodes.get(path)
        if node is None:
            raise NoNode(path=path)
        return node

    def exists(self, path: str) -> bool:
        return path in self.nodes

    def stat(self, path: str) -> Stat | None:
        """The node's Stat, or ``None`` if there is no such node."""
        node = self.nodes.get(path)
        return None if node is None else node.stat()

    def get_data(self, path: str) -> tuple[bytes | None, Stat]:
        """The node's data and Stat. Raises :class:`NoNode`."""
        node = self._existing(path)
        return node.data, node.stat()

    def get_acl(self, path: str) -> tuple[tuple[ACL, ...], Stat]:
        """The node's ACL and Stat. Raises :class:`NoNode`."""
        node = self._existing(path)
        return node.acl, node.stat()

    def children(self, path: str) -> list[str]:
        """The node's child names, sorted. Raises :class:`NoNode`."""
        node = self._existing(path)
        return sorted(node.children) if node.children else []

    def all_children_number(self, path: str) -> int:
        """Number of descendants of ``path`` (not counting itself). Raises :class:`NoNode`."""
        if path == ROOT:
            return len(self.nodes) - 1
        stack = [(path, self._existing(path))]
        count = 0
        nodes = self.nodes
        while stack:
            here, node = stack.pop()
            if node.children:
                count += len(node.children)
                prefix = here + "/"
                stack.extend((prefix + name, nodes[prefix + name]) for name in node.children)
        return count

    def ephemerals_of(self, session_id: int, prefix: str = "/") -> list[str]:
        """Paths of the session's ephemeral nodes starting with ``prefix``, sorted."""
        paths = self.ephemerals.get(session_id, ())
        if prefix in ("", ROOT):
            return sorted(paths)
        return sorted(p for p in paths if p.startswith(prefix))

    def reap_candidates(self, now_ms: int) -> list[str]:
        """Containers and TTL nodes due for deletion at ``now_ms``, sorted.

        A container is due when it has no children and has had one; a TTL node when it has
        no children and ``now - mtime > ttl``.
        """
        due = []
        nodes = self.nodes
        for path in self.containers:
            node = nodes[path]
            if not node.children and node.cversion > 0:
                due.append(path)
        for path in self.ttls:
            node = nodes[path]
            ttl = ttl_of(node.ephemeral_owner)
            if not node.children and ttl is not None and now_ms - node.mtime > ttl:
                due.append(path)
        return sorted(due)

    @property
    def node_count(self) -> int:
        return len(self.nodes)

    def approximate_data_size(self) -> int:
        """Sum of path lengths and data lengths, as ZooKeeper's ``zk_approximate_data_size``."""
        return sum(len(p) + (len(n.data) if n.data else 0) for p, n in self.nodes.items())

    def session_ephemeral_count(self) -> int:
        return sum(len(p) for p in self.ephemerals.values())

    def walk(self) -> Iterator[tuple[str, Node]]:
        """Every (path, node), parents before children (the order snapshots need)."""
        return iter(self.nodes.items())

    # --- consistent views for snapshots ------------------------------------------------

    def freeze(self) -> FrozenView:
        """A view of the tree as it is now that stays unchanged while the tree moves on.

        Copy-on-write: the tree saves a node's old state on its first change after this
        call, so the view costs one list of paths up front and nothing per unchanged node.
        Several views may be open at once; call :meth:`FrozenView.release` when done.
        """
        saved: dict[str, Node | None] = {}
        self._views.append(saved)
        return FrozenView(
            self,
            saved,
            list(self.nodes),
            dict(self.sessions),
            dict(self.session_passwords),
            self.last_zxid,
        )

    def _save(self, path: str, node: Node | None) -> None:
        """Before changing ``path``: keep its state for every open view that lacks it."""
        copy: Node | None = None
        for saved in self._views:
            if path not in saved:
                if node is not None and copy is None:
                    copy = node.copy()
                saved[path] = copy

    def _release(self, saved: dict[str, Node | None]) -> None:
        self._views = [v for v in self._views if v is not saved]

    # --- digest --------------------------------------------------------------------------

    def digest(self) -> int:
        """A 64-bit hash of every node (path, data, ACL, stored stat).

        Order-independent (a sum of per-node hashes), so two trees holding the same nodes
        give the same digest and different trees differ except with negligible (2**-64)
        probability. Computed on demand and cached until the tree changes.
        """
        cached = self._digest
        if cached is not None and cached[0] == self._changes:
            return cached[1]
        total = 0
        for path, node in self.nodes.items():
            if path != CONFIG:  # each member sets it locally, at its own time
                total += _node_hash(path, node)
        value = total & _MASK64
        self._digest = (self._changes, value)
        return value


def _node_hash(path: str, node: Node) -> int:
    h = hashlib.blake2b(digest_size=8)
    h.update(path.encode("utf-8", "surrogatepass"))
    h.update(b"\x00")
    h.update(
        _DIGEST_STAT.pack(
            node.czxid,
            node.mzxid,
            node.ctime,
            node.mtime,
            node.version,
            node.cversion,
            node.aversion,
            node.ephemeral_owner,
            node.pzxid,
        )
    )
    for perms, (scheme, ident) in node.acl:
        h.update(f"{int(perms)}\x00{scheme}\x00{ident}\x00".encode("utf-8", "surrogatepass"))
    if node.data is None:
        h.update(b"\x00")
    else:
        h.update(b"\x01")
        h.update(node.data)
    return int.from_bytes(h.digest(), "big")


def is_ephemeral(node: Node) -> bool:
    """Whether the node belongs to a session."""
    return is_session_owner(node.ephemeral_owner)


class FrozenView:
    """The tree at one moment (see :meth:`DataTree.freeze`); has what snapshots read."""

    def __init__(
        self,
        tree: DataTree,
        saved: dict[str, Node | None],
        paths: list[str],
        sessions: dict[int, int],
        session_passwords: dict[int, bytes],
        last_zxid: int,
    ) -> None:
        self._tree = tree
        self._saved = saved
        self._paths = paths
        self.sessions = sessions
        self.session_passwords = session_passwords
        self.last_zxid = last_zxid

    def walk(self) -> Iterator[tuple[str, Node]]:
        """Every (path, node) as of the freeze, parents before children."""
        nodes = self._tree.nodes
        saved = self._saved
        for path in self._paths:
            old = saved.get(path, _MISSING)
            if old is _MISSING:
                yield path, nodes[path]
            elif old is not None:
                yield path, old  # type: ignore[misc]

    def __len__(self) -> int:
        return len(self._paths)

    def release(self) -> None:
        """Stop saving old states for this view; it must not be used afterwards."""
        self._tree._release(self._saved)


_MISSING = object()
