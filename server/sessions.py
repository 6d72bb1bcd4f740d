"""Session expiry by ticks, as ZooKeeper's SessionTrackerImpl and ExpiryQueue do it.

Pure: time comes in as ``now`` (milliseconds). A session touched at ``now`` with timeout
``T`` lands in the bucket ``(floor((now + T) / tick) + 1) * tick``: expiry is aligned to tick
boundaries, so one wake-up per tick expires every session due in it.
"""

from __future__ import annotations

import attrs


@attrs.define
class Session:
    """One open session as the tracker sees it."""

    session_id: int
    timeout: int
    expires_at: int
    closing: bool = False


@attrs.define
class SessionTracker:
    """Open sessions and their expiry buckets. Owned by the server's core."""

    tick_ms: int
    sessions: dict[int, Session] = attrs.field(factory=dict)
    buckets: dict[int, set[int]] = attrs.field(factory=dict)

    def _bucket_of(self, now: int, timeout: int) -> int:
        return ((now + timeout) // self.tick_ms + 1) * self.tick_ms

    def add(self, session_id: int, timeout: int, now: int) -> None:
        """Track a session (new, or loaded at start-up) and give it a full timeout."""
        old = self.sessions.get(session_id)
        if old is not None:
            self._unbucket(old)
        session = Session(session_id, timeout, self._bucket_of(now, timeout))
        self.sessions[session_id] = session
        self.buckets.setdefault(session.expires_at, set()).add(session_id)

    def _unbucket(self, session: Session) -> None:
        bucket = self.buckets.get(session.expires_at)
        if bucket is not None:
            bucket.discard(session.session_id)
            if not bucket:
                del self.buckets[session.expires_at]

    def touch(self, session_id: int, now: int) -> bool:
        """Push the session's expiry out; False if it is unknown or already closing."""
        session = self.sessions.get(session_id)
        if session is None or session.closing:
            return False
        expires_at = self._bucket_of(now, session.timeout)
        if expires_at != session.expires_at:
            self._unbucket(session)
            session.expires_at = expires_at
            self.buckets.setdefault(expires_at, set()).add(session_id)
        return True

    def set_timeout(self, session_id: int, timeout: int, now: int) -> None:
        """A resumed session renegotiates its timeout."""
        session = self.sessions.get(session_id)
        if session is not None:
            session.timeout = timeout
            self.touch(session_id, now)

    def is_open(self, session_id: int) -> bool:
        session = self.sessions.get(session_id)
        return session is not None and not session.closing

    def set_closing(self, session_id: int) -> None:
        """Mark a session whose closeSession txn is on its way: it takes no more requests."""
        session = self.sessions.get(session_id)
        if session is not None:
            session.closing = True

    def remove(self, session_id: int) -> None:
        session = self.sessions.pop(session_id, None)
        if session is not None:
            self._unbucket(session)

    def expire(self, now: int) -> list[int]:
        """Sessions whose bucket is due at ``now``, sorted; they are marked closing."""
        due: list[int] = []
        for when in sorted(w for w in self.buckets if w <= now):
            due.extend(self.buckets.pop(when))
        due.sort()
        for session_id in due:
            self.sessions[session_id].closing = True
        return due

    def next_expiry(self) -> int | None:
        """The earliest bucket time, or ``None`` with no sessions."""
        return min(self.buckets) if self.buckets else None
