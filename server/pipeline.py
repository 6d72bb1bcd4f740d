"""The request pipeline's bookkeeping: pending writes and per-session ordering.

ZooKeeper's CommitProcessor keeps each session's requests in order: a read that arrives
after a write of the same session waits until that write is applied, and is then answered
against the tree as it stands right after that write. :class:`CommitQueue` is that rule as a
plain object. Writes are prepared at once (so the prepare view sees them) and wait here until
the commit step reports them; reads of a session with a write ahead of them wait behind it.
"""

from __future__ import annotations

import contextlib
import enum
from collections import deque

import attrs

from server.client_conn import ClientConnection, Received
from znode.records import Request
from znode.txn import Txn, TxnHeader


class WriteKind(enum.Enum):
    REQUEST = "request"  # a client's write request
    CREATE_SESSION = "create_session"
    CLOSE_SESSION = "close_session"  # a client's closeSession
    EXPIRE_SESSION = "expire_session"  # the tracker expired the session
    REAP = "reap"  # container / TTL reaper
    SYNC = "sync"  # a learner's client sync, waiting for the leader's answer


@attrs.define
class PendingWrite:
    """A write waiting for its commit: prepared here (``header`` and ``txn`` set), or
    forwarded to the leader (``None``: matched by session and xid when it commits)."""

    header: TxnHeader | None
    txn: Txn | None
    kind: WriteKind
    conn: ClientConnection | None = None
    xid: int = 0
    op: int = 0
    received_ms: int = 0
    request: Request | None = None


@attrs.define
class HeldRequest:
    """A non-write request waiting behind a write of its session."""

    conn: ClientConnection
    request: Received
    received_ms: int


Item = PendingWrite | HeldRequest


@attrs.define
class CommitQueue:
    """Pending writes in zxid order, and each session's queue of waiting requests."""

    writes: deque[PendingWrite] = attrs.field(factory=deque)
    sessions: dict[int, deque[Item]] = attrs.field(factory=dict)
    held: int = 0

    def add_write(self, write: PendingWrite, session_id: int | None) -> None:
        """Queue a write; ``session_id`` orders it with that session's requests.

        Writes prepared here also wait in zxid order; forwarded ones only in their
        session's queue.
        """
        if write.header is not None:
            self.writes.append(write)
        if session_id is not None:
            self.sessions.setdefault(session_id, deque()).append(write)

    def match(self, header: TxnHeader) -> PendingWrite | None:
        """The pending write a committed txn answers, taken off the queues it waits in."""
        head = self.writes[0].header if self.writes else None
        if head is not None and head.zxid == header.zxid:
            return self.writes.popleft()
        queue = self.sessions.get(header.session_id)
        if queue:
            head_item = queue[0]
            if (
                isinstance(head_item, PendingWrite)
                and head_item.header is None
                and head_item.kind is not WriteKind.SYNC
                and head_item.xid == header.cxid
            ):
                return head_item
        return None

    def pending_sync(self, session_id: int, xid: int) -> PendingWrite | None:
        """The learner's sync of that session and xid, if it heads its session queue."""
        queue = self.sessions.get(session_id)
        head = queue[0] if queue else None
        if isinstance(head, PendingWrite) and head.kind is WriteKind.SYNC and head.xid == xid:
            return head
        return None

    def clear(self) -> None:
        """Drop everything (the server stops serving, or serves in a new role)."""
        self.writes.clear()
        self.sessions.clear()
        self.held = 0

    def must_wait(self, session_id: int) -> bool:
        """Whether a new request of the session has to wait behind earlier ones."""
        return bool(self.sessions.get(session_id))

    def hold(self, session_id: int, held: HeldRequest) -> None:
        self.sessions.setdefault(session_id, deque()).append(held)
        self.held += 1

    def pop_committed(self, zxid: int) -> PendingWrite | None:
        """The next pending write if its zxid is at most ``zxid``."""
        head = self.writes[0].header if self.writes else None
        if head is not None and head.zxid <= zxid:
            return self.writes.popleft()
        return None

    def release(self, session_id: int, write: PendingWrite) -> list[HeldRequest]:
        """Remove an applied write from its session queue; return the requests now due."""
        queue = self.sessions.get(session_id)
        if not queue:
            return []
        if queue[0] is write:
            queue.popleft()
        else:  # not at the head: should not happen, but never lose the write's place
            with contextlib.suppress(ValueError):
                queue.remove(write)
        due: list[HeldRequest] = []
        while queue and isinstance(queue[0], HeldRequest):
            due.append(queue.popleft())  # type: ignore[arg-type]
        self.held -= len(due)
        if not queue:
            del self.sessions[session_id]
        return due

    def drop_session(self, session_id: int) -> list[Item]:
        """Forget a session's queue (its connection is gone); returns what was waiting.

        Writes stay pending (they are already on their way to the log); only the session's
        ordering of them is dropped.
        """
        items = list(self.sessions.pop(session_id, ()))
        self.held -= sum(1 for item in items if isinstance(item, HeldRequest))
        return items

    @property
    def outstanding(self) -> int:
        """Requests accepted but not yet answered."""
        return len(self.writes) + self.held
