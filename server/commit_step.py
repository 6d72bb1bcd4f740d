"""The commit step: how a prepared write becomes durable and agreed on.

The core prepares writes and hands them to its step; the step is what differs between a
standalone server (log it, fsync, done), an ensemble leader (propose through ZAB) and a
learner (forward the client's request to the leader, which prepares it). Requests a
learner forwards travel as :func:`encode_forward` payloads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import attrs
import msgpack

from znode.acl import Id
from znode.txn import Txn, TxnHeader
from znode.txn_codec import encode_txn

STANDALONE, LEADER, LEARNER = "standalone", "leader", "learner"


class CommitStep(Protocol):
    kind: str

    def next_zxid(self) -> int: ...
    def propose(self, header: TxnHeader, txn: Txn) -> None: ...
    def forward(self, payload: bytes) -> None: ...
    def forward_sync(self, payload: bytes) -> None: ...


class StandaloneStep:
    """Prepared txns go to the log; ``durable(zxid)`` later reports them committed."""

    kind = STANDALONE

    def __init__(self, log_txn: Callable[[TxnHeader, Txn], None], last_zxid: int) -> None:
        self.log_txn = log_txn
        self.last = last_zxid

    def next_zxid(self) -> int:
        return self.last + 1

    def propose(self, header: TxnHeader, txn: Txn) -> None:
        self.last = header.zxid
        self.log_txn(header, txn)

    def forward(self, payload: bytes) -> None:  # pragma: no cover - never called
        raise RuntimeError("a standalone server forwards nothing")

    forward_sync = forward


class LeaderStep:
    """An ensemble leader: txns are proposed through ZAB (``peer`` is a zab.Peer)."""

    kind = LEADER

    def __init__(self, peer: Any, kick: Callable[[], None]) -> None:
        self.peer = peer
        self.kick = kick

    def next_zxid(self) -> int:
        return int(self.peer.next_zxid())

    def propose(self, header: TxnHeader, txn: Txn) -> None:
        self.peer.propose(header.zxid, encode_txn(header, txn))
        self.kick()

    def forward(self, payload: bytes) -> None:  # pragma: no cover - never called
        raise RuntimeError("the leader forwards nothing")

    forward_sync = forward


class LearnerStep:
    """A follower or observer: client writes and syncs go to the leader."""

    kind = LEARNER

    def __init__(self, peer: Any, kick: Callable[[], None]) -> None:
        self.peer = peer
        self.kick = kick

    def next_zxid(self) -> int:  # pragma: no cover - never called
        raise RuntimeError("a learner prepares nothing")

    def propose(self, header: TxnHeader, txn: Txn) -> None:  # pragma: no cover
        raise RuntimeError("a learner proposes nothing")

    def forward(self, payload: bytes) -> None:
        self.peer.forward(payload)
        self.kick()

    def forward_sync(self, payload: bytes) -> None:
        self.peer.sync(payload)
        self.kick()


# --- forwarded requests -----------------------------------------------------------------

FORWARD_WRITE, FORWARD_CREATE_SESSION = 0, 1


@attrs.frozen
class Forwarded:
    """A client write a learner sends the leader: who, which request, with which identity.

    ``frame`` is the request as the client framed it (for a write); a new session
    carries its id, negotiated timeout and password instead.
    """

    kind: int
    session_id: int
    cxid: int
    op: int
    frame: bytes
    identities: tuple[Id, ...]
    timeout: int = 0
    passwd: bytes = b""
    error: int = 0  # the request's body did not decode: a failed write (MARSHALLINGERROR)


def encode_forward(item: Forwarded) -> bytes:
    return msgpack.packb(  # type: ignore[no-any-return]
        [
            item.kind,
            item.session_id,
            item.cxid,
            item.op,
            item.frame,
            [[i.scheme, i.id] for i in item.identities],
            item.timeout,
            item.passwd,
            item.error,
        ],
        use_bin_type=True,
    )


def decode_forward(payload: bytes) -> Forwarded | None:
    """The forwarded request, or ``None`` if the payload is malformed."""
    try:
        kind, session_id, cxid, op, frame, identities, timeout, passwd, error = msgpack.unpackb(
            payload, raw=False
        )
        ids = tuple(Id(str(s), str(i)) for s, i in identities)
        if not all(type(x) is int for x in (kind, session_id, cxid, op, timeout, error)):
            return None
        if type(frame) is not bytes or type(passwd) is not bytes:
            return None
    except Exception:
        return None
    return Forwarded(kind, session_id, cxid, op, frame, ids, timeout, passwd, error)


def encode_sync(session_id: int, cxid: int) -> bytes:
    return msgpack.packb([session_id, cxid])  # type: ignore[no-any-return]


def decode_sync(payload: bytes) -> tuple[int, int] | None:
    try:
        session_id, cxid = msgpack.unpackb(payload)
    except Exception:
        return None
    if type(session_id) is not int or type(cxid) is not int:
        return None
    return session_id, cxid


def encode_touches(session_ids: set[int]) -> bytes:
    if not session_ids:
        return b""
    packed: bytes = msgpack.packb(sorted(session_ids))
    return packed


def decode_touches(payload: bytes) -> list[int]:
    """The session ids in a learner's report.

    A learner hands the leader, with each ping, every report made since the last one
    joined back to back, so the payload is a sequence of encoded lists, not just one.
    """
    unpacker = msgpack.Unpacker()
    unpacker.feed(payload)
    ids: list[int] = []
    try:
        for item in unpacker:
            if type(item) is list:
                ids.extend(i for i in item if type(i) is int)
    except Exception:
        pass  # a damaged tail: keep what came before it
    return ids
