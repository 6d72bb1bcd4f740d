"""prepare: every write op's checks, in ZooKeeper's order, and the txns it decides."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from znode.acl import ACL, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, Id, digest_id
from znode.errors import ErrorCode
from znode.opcodes import OpCode
from znode.prepare import PrepView, prepare, prepare_close_session, prepare_create_session
from znode.records import (
    CheckVersionRequest,
    CreateRequest,
    CreateTTLRequest,
    DeleteRequest,
    MultiOp,
    MultiRequest,
    ReconfigRequest,
    Request,
    SetACLRequest,
    SetDataRequest,
)
from znode.tree import DataTree, TxnResult
from znode.txn import (
    CONTAINER_OWNER,
    CreateTxn,
    ErrorTxn,
    MultiTxn,
    SetACLTxn,
    SetDataTxn,
    Txn,
    TxnHeader,
    ttl_owner,
)

SESSION = 0x11
OTHER_SESSION = 0x22
IP = Id("ip", "127.0.0.1")
ALICE = Id("digest", digest_id("alice", "secret"))
BOB = Id("digest", digest_id("bob", "pw"))
ANON = (IP,)
AS_ALICE = (IP, ALICE)
ALICE_ONLY = (ACL(31, ALICE),)


@dataclass
class World:
    """A tree, its prepare view and a zxid counter; writes prepare and apply at once."""

    tree: DataTree = field(default_factory=DataTree)
    zxid: int = 0

    def __post_init__(self) -> None:
        self.view = PrepView(self.tree)
        for session in (SESSION, OTHER_SESSION):
            self.zxid += 1
            self.tree.apply(*prepare_create_session(session, 10_000, zxid=self.zxid, time=0))

    def prep(
        self,
        op: int,
        req: Request,
        *,
        ids: tuple[Id, ...] = ANON,
        session: int = SESSION,
        ttl: bool = True,
    ) -> tuple[TxnHeader, Txn]:
        self.zxid += 1
        return prepare(
            self.view,
            op,
            req,
            session_id=session,
            cxid=7,
            zxid=self.zxid,
            time=1000 + self.zxid,
            identities=ids,
            ttl_enabled=ttl,
        )

    def write(self, op: int, req: Request, **kw: object) -> TxnResult:
        header, txn = self.prep(op, req, **kw)  # type: ignore[arg-type]
        result = self.tree.apply(header, txn)
        self.view.applied(header.zxid)
        return result

    def err(self, op: int, req: Request, **kw: object) -> int:
        header, txn = self.prep(op, req, **kw)  # type: ignore[arg-type]
        self.tree.apply(header, txn)
        self.view.applied(header.zxid)
        if isinstance(txn, ErrorTxn):
            assert header.type == OpCode.ERROR
            return txn.err
        return 0

    def create(
        self, path: str, flags: int = 0, acl: tuple[ACL, ...] = OPEN_ACL_UNSAFE, **kw: object
    ) -> str:
        result = self.write(OpCode.CREATE, CreateRequest(path, b"d", acl, flags), **kw)
        assert result.err == 0, ErrorCode(result.err)
        assert result.path is not None
        return result.path


def create(path: str, flags: int = 0, acl: tuple[ACL, ...] = OPEN_ACL_UNSAFE) -> CreateRequest:
    return CreateRequest(path, b"x", acl, flags)


# --- create ----------------------------------------------------------------------------------

CREATE_ERRORS = [
    # (setup paths, op, request, identities, expected code)
    ((), OpCode.CREATE, create("/a", flags=7), ANON, ErrorCode.BADARGUMENTS),
    ((), OpCode.CREATE, create("/a", flags=-1), ANON, ErrorCode.BADARGUMENTS),
    ((), OpCode.CREATE, create("/a", flags=5), ANON, ErrorCode.BADARGUMENTS),  # TTL mode, op 1
    ((), OpCode.CREATE2, create("/a", flags=6), ANON, ErrorCode.BADARGUMENTS),
    (
        (),
        OpCode.CREATE_TTL,
        CreateTTLRequest("/a", b"", OPEN_ACL_UNSAFE, 5, 0),
        ANON,
        ErrorCode.BADARGUMENTS,
    ),
    (
        (),
        OpCode.CREATE_TTL,
        CreateTTLRequest("/a", b"", OPEN_ACL_UNSAFE, 5, 2**40),
        ANON,
        ErrorCode.BADARGUMENTS,
    ),
    (
        (),
        OpCode.CREATE_TTL,
        CreateTTLRequest("/a", b"", OPEN_ACL_UNSAFE, 0, 5),
        ANON,
        ErrorCode.BADARGUMENTS,
    ),
    # a non-TTL mode with a negative TTL passes ZooKeeper's checks; we refuse it last
    (
        (),
        OpCode.CREATE_TTL,
        CreateTTLRequest("/a", b"", OPEN_ACL_UNSAFE, 0, -1),
        ANON,
        ErrorCode.BADARGUMENTS,
    ),
    ((), OpCode.CREATE_TTL, CreateTTLRequest("/a", b"", (), 0, -1), ANON, ErrorCode.INVALIDACL),
    ((), OpCode.CREATE, create("a"), ANON, ErrorCode.BADARGUMENTS),
    ((), OpCode.CREATE, create("/a\x00b"), ANON, ErrorCode.BADARGUMENTS),
    ((), OpCode.CREATE, create("/a", acl=()), ANON, ErrorCode.INVALIDACL),
    (
        (),
        OpCode.CREATE,
        create("/a", acl=(ACL(31, Id("world", "nobody")),)),
        ANON,
        ErrorCode.INVALIDACL,
    ),
    ((), OpCode.CREATE, create("/a", acl=(ACL(31, Id("auth", "")),)), ANON, ErrorCode.INVALIDACL),
    (
        (),
        OpCode.CREATE,
        create("/a", acl=(ACL(31, Id("sasl", "bob")),)),
        ANON,
        ErrorCode.INVALIDACL,
    ),
    (
        (),
        OpCode.CREATE,
        create("/a", acl=(ACL(31, Id("ip", "1.2.3")),)),
        ANON,
        ErrorCode.INVALIDACL,
    ),
    (
        (),
        OpCode.CREATE,
        create("/a", acl=(ACL(31, Id("digest", "alice")),)),
        ANON,
        ErrorCode.INVALIDACL,
    ),
    # ACL problems are found before a missing parent
    ((), OpCode.CREATE, create("/missing/a", acl=()), ANON, ErrorCode.INVALIDACL),
    ((), OpCode.CREATE, create("/missing/a"), ANON, ErrorCode.NONODE),
    # parent lookup comes before full path validation: /a/.. is a missing parent
    (("/a",), OpCode.CREATE, create("/a/../b"), ANON, ErrorCode.NONODE),
    (("/a",), OpCode.CREATE, create("/a/"), ANON, ErrorCode.BADARGUMENTS),
    (("/a",), OpCode.CREATE, create("/a/\x01"), ANON, ErrorCode.BADARGUMENTS),
    (("/a",), OpCode.CREATE, create("/a"), ANON, ErrorCode.NODEEXISTS),
    ((), OpCode.CREATE, create("/"), ANON, ErrorCode.NODEEXISTS),
    ((), OpCode.CREATE, create("/zookeeper"), ANON, ErrorCode.NODEEXISTS),
]


@pytest.mark.parametrize(("setup", "op", "request_", "ids", "code"), CREATE_ERRORS)
def test_create_errors(
    setup: tuple[str, ...], op: int, request_: Request, ids: tuple[Id, ...], code: int
) -> None:
    world = World()
    for path in setup:
        world.create(path)
    zxid_before = world.zxid
    assert world.err(op, request_, ids=ids) == code
    assert world.zxid == zxid_before + 1  # a failed write still consumes a zxid
    assert world.tree.last_zxid == world.zxid


def test_create_without_create_permission_on_parent_is_noauth() -> None:
    world = World()
    world.create("/p", acl=(ACL(31 & ~4, Id("world", "anyone")),))
    assert world.err(OpCode.CREATE, create("/p/c")) == ErrorCode.NOAUTH
    world.create("/q", acl=ALICE_ONLY, ids=AS_ALICE)
    assert world.err(OpCode.CREATE, create("/q/c")) == ErrorCode.NOAUTH
    assert world.err(OpCode.CREATE, create("/q/c"), ids=AS_ALICE) == 0


def test_create_under_ephemeral_parent_is_refused_after_exists_check() -> None:
    world = World()
    world.create("/e", flags=1)
    assert world.err(OpCode.CREATE, create("/e/c")) == ErrorCode.NOCHILDRENFOREPHEMERALS
    # containers and TTL nodes may have children
    world.write(OpCode.CREATE_CONTAINER, create("/c", flags=4))
    world.write(OpCode.CREATE_TTL, CreateTTLRequest("/t", b"", OPEN_ACL_UNSAFE, 5, 1000))
    assert world.err(OpCode.CREATE, create("/c/x")) == 0
    assert world.err(OpCode.CREATE, create("/t/x")) == 0


def test_ttl_disabled_is_unimplemented() -> None:
    world = World()
    req = CreateTTLRequest("/a", b"", OPEN_ACL_UNSAFE, 5, 1000)
    assert world.err(OpCode.CREATE_TTL, req, ttl=False) == ErrorCode.UNIMPLEMENTED


def test_create_txn_records_owner_and_parent_counter() -> None:
    world = World()
    header, txn = world.prep(OpCode.CREATE, create("/e", flags=1))
    assert header == TxnHeader(SESSION, 7, world.zxid, 1000 + world.zxid, OpCode.CREATE)
    assert txn == CreateTxn("/e", b"x", OPEN_ACL_UNSAFE, SESSION, 1)
    _, txn = world.prep(OpCode.CREATE_CONTAINER, create("/c", flags=4))
    assert isinstance(txn, CreateTxn)
    assert (txn.ephemeral_owner, txn.parent_cversion) == (CONTAINER_OWNER, 2)
    _, txn = world.prep(OpCode.CREATE_TTL, CreateTTLRequest("/t", None, OPEN_ACL_UNSAFE, 5, 99))
    assert isinstance(txn, CreateTxn)
    assert (txn.ephemeral_owner, txn.data, txn.parent_cversion) == (ttl_owner(99), None, 3)


def test_container_op_makes_a_container_whatever_the_flags() -> None:
    world = World()
    _, txn = world.prep(OpCode.CREATE_CONTAINER, create("/c", flags=0))
    assert isinstance(txn, CreateTxn)
    assert txn.ephemeral_owner == CONTAINER_OWNER
    # ...while flags 4 on a plain create make an ordinary persistent node
    _, txn = world.prep(OpCode.CREATE, create("/d", flags=4))
    assert isinstance(txn, CreateTxn)
    assert txn.ephemeral_owner == 0


def test_auth_acl_expands_to_digest_identities_only() -> None:
    world = World()
    super_ids = (IP, Id("super", ""), ALICE, BOB)
    result = world.write(OpCode.CREATE, create("/a", acl=(ACL(5, Id("auth", "")),)), ids=super_ids)
    assert world.tree.get_acl("/a")[0] == (ACL(5, ALICE), ACL(5, BOB))
    assert result.err == 0


def test_sequential_names_use_the_creation_counter() -> None:
    world = World()
    world.create("/p")
    assert world.create("/p/s-", flags=2) == "/p/s-0000000000"
    world.create("/p/plain")  # a non-sequential child bumps the counter too
    assert world.create("/p/s-", flags=3) == "/p/s-0000000002"
    world.write(OpCode.DELETE, DeleteRequest("/p/s-0000000000", -1))
    world.write(OpCode.DELETE, DeleteRequest("/p/plain", -1))
    assert world.create("/p/s-", flags=2) == "/p/s-0000000003"  # never goes back
    assert world.create("/p/", flags=2) == "/p/0000000004"  # a trailing slash is fine
    assert world.create("/", flags=2) == "/0000000001"  # the root's counter: /p was its first


def test_root_sequential_counter_starts_after_zookeeper_node() -> None:
    world = World()
    # the root's stored counter starts at 0 although /zookeeper exists (never "created")
    assert world.create("/", flags=2) == "/0000000000"
    assert world.create("/n-", flags=2) == "/n-0000000001"


def test_failed_create_leaves_the_counter_alone() -> None:
    world = World()
    world.create("/p")
    assert world.err(OpCode.CREATE, create("/p/\x01", flags=2)) == ErrorCode.BADARGUMENTS
    assert world.create("/p/s", flags=2) == "/p/s0000000000"


# --- delete ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "version", "code"),
    [
        ("/", -1, ErrorCode.BADARGUMENTS),
        ("/zookeeper", -1, ErrorCode.BADARGUMENTS),
        ("/zookeeper/quota", -1, ErrorCode.BADARGUMENTS),
        ("/zookeeper/config", -1, ErrorCode.BADARGUMENTS),
        ("nope", -1, ErrorCode.BADARGUMENTS),
        ("/a\x00", -1, ErrorCode.BADARGUMENTS),
        ("/missing/x", -1, ErrorCode.NONODE),
        ("/p/missing", -1, ErrorCode.NONODE),
        ("/p/", -1, ErrorCode.NONODE),  # delete does not validate the full path
        ("/p", 3, ErrorCode.BADVERSION),  # BADVERSION is reported before NOTEMPTY
        ("/p", -1, ErrorCode.NOTEMPTY),
        ("/p", 0, ErrorCode.NOTEMPTY),
        ("/p/c", 1, ErrorCode.BADVERSION),
        ("/p/c", 0, 0),
        ("/p/c", -1, 0),
    ],
)
def test_delete(path: str, version: int, code: int) -> None:
    world = World()
    world.create("/p")
    world.create("/p/c")
    assert world.err(OpCode.DELETE, DeleteRequest(path, version)) == code


def test_delete_needs_delete_permission_on_the_parent() -> None:
    world = World()
    world.create("/p", acl=(ACL(31 & ~8, Id("world", "anyone")),))
    world.create("/p/c")
    assert world.err(OpCode.DELETE, DeleteRequest("/p/c", -1)) == ErrorCode.NOAUTH
    assert world.err(OpCode.DELETE, DeleteRequest("/p/c", -1), ids=(IP, Id("super", ""))) == 0


# --- setData, setACL, check -----------------------------------------------------------------


def test_set_data() -> None:
    world = World()
    world.create("/a")
    assert world.err(OpCode.SET_DATA, SetDataRequest("/a/", b"", -1)) == ErrorCode.BADARGUMENTS
    assert world.err(OpCode.SET_DATA, SetDataRequest("/b", b"", -1)) == ErrorCode.NONODE
    assert world.err(OpCode.SET_DATA, SetDataRequest("/a", b"", 1)) == ErrorCode.BADVERSION
    header, txn = world.prep(OpCode.SET_DATA, SetDataRequest("/a", b"new", 0))
    assert txn == SetDataTxn("/a", b"new", 1)
    world.tree.apply(header, txn)
    world.view.applied(header.zxid)
    assert world.err(OpCode.SET_DATA, SetDataRequest("/a", b"new", 0)) == ErrorCode.BADVERSION
    assert world.err(OpCode.SET_DATA, SetDataRequest("/a", b"new", 1)) == 0


def test_set_data_needs_write_permission() -> None:
    world = World()
    world.create("/r", acl=READ_ACL_UNSAFE)
    assert world.err(OpCode.SET_DATA, SetDataRequest("/r", b"", -1)) == ErrorCode.NOAUTH
    # /zookeeper/config is world-readable only
    assert (
        world.err(OpCode.SET_DATA, SetDataRequest("/zookeeper/config", b"", -1)) == ErrorCode.NOAUTH
    )


def test_set_acl() -> None:
    world = World()
    world.create("/a")
    bad = (ACL(31, Id("world", "x")),)
    assert (
        world.err(OpCode.SET_ACL, SetACLRequest("/a/", OPEN_ACL_UNSAFE, -1))
        == ErrorCode.BADARGUMENTS
    )
    # the ACL is checked before the node's existence
    assert world.err(OpCode.SET_ACL, SetACLRequest("/b", bad, -1)) == ErrorCode.INVALIDACL
    assert world.err(OpCode.SET_ACL, SetACLRequest("/b", OPEN_ACL_UNSAFE, -1)) == ErrorCode.NONODE
    assert (
        world.err(OpCode.SET_ACL, SetACLRequest("/a", OPEN_ACL_UNSAFE, 1)) == ErrorCode.BADVERSION
    )
    _, txn = world.prep(OpCode.SET_ACL, SetACLRequest("/a", ALICE_ONLY, 0))
    assert txn == SetACLTxn("/a", ALICE_ONLY, 1)


def test_set_acl_needs_admin_and_compares_aversion() -> None:
    world = World()
    world.create("/a", acl=(ACL(31 & ~16, Id("world", "anyone")),))
    assert world.err(OpCode.SET_ACL, SetACLRequest("/a", OPEN_ACL_UNSAFE, -1)) == ErrorCode.NOAUTH
    su = (IP, Id("super", ""))
    # /zookeeper/config starts at aversion -1
    assert (
        world.err(OpCode.SET_ACL, SetACLRequest("/zookeeper/config", READ_ACL_UNSAFE, -1), ids=su)
        == 0
    )
    assert world.tree.stat("/zookeeper/config").aversion == 0  # type: ignore[union-attr]


def test_check_inside_multi() -> None:
    world = World()
    world.create("/a", acl=ALICE_ONLY, ids=AS_ALICE)
    cases = [
        (CheckVersionRequest("/b", -1), ErrorCode.NONODE),
        (CheckVersionRequest("/a", -1), ErrorCode.NOAUTH),
        (CheckVersionRequest("/a/", -1), ErrorCode.BADARGUMENTS),
    ]
    for req, code in cases:
        result = world.write(OpCode.MULTI, MultiRequest((MultiOp(OpCode.CHECK, req),)))
        assert [r.err for r in result.results] == [code]
    ok = world.write(
        OpCode.MULTI,
        MultiRequest((MultiOp(OpCode.CHECK, CheckVersionRequest("/a", 0)),)),
        ids=AS_ALICE,
    )
    assert [r.err for r in ok.results] == [0]
    bad = world.write(
        OpCode.MULTI,
        MultiRequest((MultiOp(OpCode.CHECK, CheckVersionRequest("/a", 1)),)),
        ids=AS_ALICE,
    )
    assert [r.err for r in bad.results] == [ErrorCode.BADVERSION]


def test_reconfig_is_disabled_and_consumes_a_zxid() -> None:
    world = World()
    before = world.zxid
    assert world.err(OpCode.RECONFIG, ReconfigRequest("", "", "", -1)) == ErrorCode.RECONFIGDISABLED
    assert world.zxid == before + 1


# --- multi ----------------------------------------------------------------------------------


def test_failed_multi_reports_zero_code_then_runtime_inconsistency() -> None:
    world = World()
    world.create("/kz")
    world.create("/kz/a")
    ops = MultiRequest(
        (
            MultiOp(OpCode.CREATE, create("/kz/b")),
            MultiOp(OpCode.CHECK, CheckVersionRequest("/kz/a", 0)),
            MultiOp(OpCode.DELETE, DeleteRequest("/kz/nope", -1)),
            MultiOp(OpCode.SET_DATA, SetDataRequest("/kz/a", b"", -1)),
        )
    )
    header, txn = world.prep(OpCode.MULTI, ops)
    assert header.type == OpCode.MULTI
    assert isinstance(txn, MultiTxn)
    assert [t for _, t in txn.txns] == [ErrorTxn(0), ErrorTxn(0), ErrorTxn(-101), ErrorTxn(-2)]
    result = world.tree.apply(header, txn)
    assert [r.err for r in result.results] == [0, 0, -101, -2]
    assert result.err == -101
    assert not world.tree.exists("/kz/b")  # nothing applied


def test_multi_ops_see_earlier_ops_and_share_one_zxid() -> None:
    world = World()
    world.create("/p")
    ops = MultiRequest(
        (
            MultiOp(OpCode.CREATE, create("/p/s", flags=2)),
            MultiOp(OpCode.CREATE, create("/p/s", flags=2)),
            MultiOp(OpCode.CREATE, create("/p/x")),
            MultiOp(OpCode.SET_DATA, SetDataRequest("/p/x", b"v", 0)),
            MultiOp(OpCode.DELETE, DeleteRequest("/p/x", 1)),
        )
    )
    result = world.write(OpCode.MULTI, ops)
    assert [r.err for r in result.results] == [0] * 5
    assert [r.path for r in result.results[:2]] == ["/p/s0000000000", "/p/s0000000001"]
    assert {r.zxid for r in result.results} == {world.zxid}
    assert world.tree.children("/p") == ["s0000000000", "s0000000001"]


def test_rolled_back_multi_restores_the_pending_view() -> None:
    world = World()
    world.create("/p")
    failing = MultiRequest(
        (
            MultiOp(OpCode.CREATE, create("/p/s", flags=2)),
            MultiOp(OpCode.DELETE, DeleteRequest("/nope", -1)),
        )
    )
    # prepared but not applied: a later request must not see the rolled-back create
    world.prep(OpCode.MULTI, failing)
    _, txn = world.prep(OpCode.CREATE, create("/p/s", flags=2))
    assert isinstance(txn, CreateTxn)
    assert txn.path == "/p/s0000000000"


def test_empty_multi_is_accepted_and_consumes_a_zxid() -> None:
    world = World()
    before = world.zxid
    result = world.write(OpCode.MULTI, MultiRequest(()))
    assert (result.err, result.results, world.zxid) == (0, (), before + 1)


# --- the pending view -----------------------------------------------------------------------


def test_pending_changes_are_visible_before_they_apply() -> None:
    world = World()
    world.create("/p")
    h1, t1 = world.prep(OpCode.CREATE, create("/p/s", flags=2))
    h2, t2 = world.prep(OpCode.CREATE, create("/p/s", flags=2))
    assert isinstance(t1, CreateTxn)
    assert isinstance(t2, CreateTxn)
    assert (t1.path, t2.path) == ("/p/s0000000000", "/p/s0000000001")
    # a pending delete frees the name; a pending create blocks it
    h3, t3 = world.prep(OpCode.DELETE, DeleteRequest("/p/s0000000000", -1))
    assert isinstance(world.prep(OpCode.CREATE, create("/p/s0000000001"))[1], ErrorTxn)
    assert world.view.pending > 0
    for header, txn in ((h1, t1), (h2, t2), (h3, t3)):
        world.tree.apply(header, txn)
        world.view.applied(header.zxid)
    assert world.view.pending == 0
    assert world.tree.children("/p") == ["s0000000001"]


def test_close_session_deletes_applied_and_pending_ephemerals() -> None:
    world = World()
    world.create("/e1", flags=1)
    world.create("/mine", flags=1, session=OTHER_SESSION)
    pending = world.prep(OpCode.CREATE, create("/e2", flags=1))
    world.zxid += 1
    close = prepare_close_session(world.view, SESSION, cxid=1, zxid=world.zxid, time=5)
    # the view already treats both as gone
    assert world.view.lookup("/e1") is None
    assert world.view.lookup("/e2") is None
    world.tree.apply(*pending)
    result = world.tree.apply(*close)
    assert not world.tree.exists("/e1")
    assert not world.tree.exists("/e2")
    assert world.tree.exists("/mine")
    assert SESSION not in world.tree.sessions
    deleted = [t.path for t in result.triggers if t.type == 2]
    assert deleted == ["/e1", "/e2"]
