"""Answers to requests that need no txn: reads, pings, watch management, whoAmI, sasl.

The read half of ZooKeeper's FinalRequestProcessor for one connection, run in request
order by :class:`~server.core.ServerCore` (directly, or once the session's earlier writes
are applied).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.client_conn import ClientConnection, Received
from server.local_ops import set_watches, who_am_i
from znode.errors import ErrorCode, ZooKeeperError
from znode.events import KeeperState
from znode.opcodes import OpCode
from znode.reads import read
from znode.records import (
    AddWatchRequest,
    CheckWatchesRequest,
    ErrorResponse,
    RemoveWatchesRequest,
    Response,
    SetSASLResponse,
    SetWatches,
    SetWatches2,
    WatcherEvent,
)
from znode.watches import WatchKind

if TYPE_CHECKING:
    from server.core import ServerCore

_WATCHED_READS: dict[int, WatchKind] = {
    OpCode.GET_DATA: WatchKind.DATA,
    OpCode.GET_CHILDREN: WatchKind.CHILD,
    OpCode.GET_CHILDREN2: WatchKind.CHILD,
}


def answer(core: ServerCore, conn: ClientConnection, event: Received, now: int) -> None:
    """Answer a request that needs no txn, against the tree as it is now."""
    op, request, xid = event.op, event.request, event.xid
    zxid = core.tree.last_zxid
    err = event.error
    body: Response | None = None
    if err:
        pass
    elif op == OpCode.PING:
        xid = -2
    elif op in (OpCode.SET_WATCHES, OpCode.SET_WATCHES2):
        assert isinstance(request, (SetWatches, SetWatches2))
        for trigger in set_watches(core.tree, core.watches, conn.conn_id, request):
            event_type, path = trigger
            conn.send_event(WatcherEvent(event_type, KeeperState.SYNC_CONNECTED, path))
    elif op == OpCode.ADD_WATCH:
        assert isinstance(request, AddWatchRequest)
        kind = WatchKind.PERSISTENT if request.mode == 0 else WatchKind.PERSISTENT_RECURSIVE
        if request.mode not in (0, 1):
            # Fix (test_bad_watch_mode_or_type_is_a_marshalling_error): ZooKeeper's
            # WatcherMode.fromZooDef throws, which it answers as MARSHALLINGERROR.
            err = ErrorCode.MARSHALLINGERROR
        else:
            core.watches.add(request.path, conn.conn_id, kind)
            body = ErrorResponse(0)
    elif op in (OpCode.CHECK_WATCHES, OpCode.REMOVE_WATCHES):
        assert isinstance(request, (CheckWatchesRequest, RemoveWatchesRequest))
        if request.type not in (1, 2, 3):
            # Fix (test_bad_watch_mode_or_type_is_a_marshalling_error): ZooKeeper's
            # WatcherType.fromInt throws, which it answers as MARSHALLINGERROR.
            err = ErrorCode.MARSHALLINGERROR
        elif op == OpCode.CHECK_WATCHES:
            if not core.watches.watched(request.path, request.type):
                err = ErrorCode.NOWATCHER
        elif not core.watches.remove(request.path, conn.conn_id, request.type):
            err = ErrorCode.NOWATCHER
    elif op == OpCode.WHO_AM_I:
        body = who_am_i(conn.identities)
    elif op == OpCode.SASL:
        # No SASL configured: ZooKeeper answers a null token. Fix (test_sasl_without_
        # sasl_configured_answers_ok_and_a_null_token): out of band, as auth is, so with
        # zxid 0 and without touching the connection's lzxid or latency stats.
        conn.send_reply(xid, 0, 0, SetSASLResponse(None))
        return
    else:
        try:
            body = read(
                core.tree, op, request, identities=conn.identities, session_id=conn.session_id
            )
        except ZooKeeperError as exc:
            err = exc.code
        watch_kind = _WATCHED_READS.get(op)
        if op == OpCode.EXISTS and getattr(request, "watch", False):
            if err in (0, ErrorCode.NONODE):
                core.watches.add(request.path, conn.conn_id, WatchKind.EXIST)  # type: ignore[union-attr]
        elif watch_kind is not None and not err and getattr(request, "watch", False):
            core.watches.add(request.path, conn.conn_id, watch_kind)  # type: ignore[union-attr]
    conn.send_reply(xid, zxid, err, body)
    core.answered(conn, zxid, now, now)
