"""Watch notifications: event types, keeper states and the event value."""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple


class EventType(IntEnum):
    """``Watcher.Event.EventType``; servers only send 1-4."""

    NONE = -1
    NODE_CREATED = 1
    NODE_DELETED = 2
    NODE_DATA_CHANGED = 3
    NODE_CHILDREN_CHANGED = 4
    DATA_WATCH_REMOVED = 5
    CHILD_WATCH_REMOVED = 6
    PERSISTENT_WATCH_REMOVED = 7


class KeeperState(IntEnum):
    """``Watcher.Event.KeeperState``; every server notification carries SYNC_CONNECTED."""

    UNKNOWN = -1
    DISCONNECTED = 0
    NO_SYNC_CONNECTED = 1
    SYNC_CONNECTED = 3
    AUTH_FAILED = 4
    CONNECTED_READ_ONLY = 5
    SASL_AUTHENTICATED = 6
    EXPIRED = -112
    CLOSED = 7


class WatchTrigger(NamedTuple):
    """One change that may fire watches: an event type at a path (computed by the tree)."""

    type: EventType
    path: str
