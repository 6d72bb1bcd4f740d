"""What the shell prints: zkCli.sh's text, or one JSON object per result with ``--json``.

Text follows ZooKeeper's ``StatPrinter``, ``WatchedEvent.toString`` and the jute
``toString`` of an ACL id; times are ``java.util.Date.toString()`` in the local time zone.
Writes go to whatever ``sys.stdout`` / ``sys.stderr`` are at the time (a test runner's
capture, or prompt_toolkit's proxy that keeps the prompt intact).
"""

from __future__ import annotations

import json
import sys
import time

from znode.acl import ACL
from znode.events import EventType, KeeperState
from znode.stat import Stat

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

#: Java's names for event types and keeper states, as ``WatchedEvent.toString`` prints them.
EVENT_NAMES: dict[EventType, str] = {
    EventType.NONE: "None",
    EventType.NODE_CREATED: "NodeCreated",
    EventType.NODE_DELETED: "NodeDeleted",
    EventType.NODE_DATA_CHANGED: "NodeDataChanged",
    EventType.NODE_CHILDREN_CHANGED: "NodeChildrenChanged",
    EventType.DATA_WATCH_REMOVED: "DataWatchRemoved",
    EventType.CHILD_WATCH_REMOVED: "ChildWatchRemoved",
    EventType.PERSISTENT_WATCH_REMOVED: "PersistentWatchRemoved",
}
STATE_NAMES: dict[KeeperState, str] = {
    KeeperState.DISCONNECTED: "Disconnected",
    KeeperState.SYNC_CONNECTED: "SyncConnected",
    KeeperState.AUTH_FAILED: "AuthFailed",
    KeeperState.CONNECTED_READ_ONLY: "ConnectedReadOnly",
    KeeperState.SASL_AUTHENTICATED: "SaslAuthenticated",
    KeeperState.EXPIRED: "Expired",
    KeeperState.CLOSED: "Closed",
}


def java_hex(value: int) -> str:
    """``Long.toHexString``: negative values as their 64-bit two's complement."""
    return format(value & 0xFFFF_FFFF_FFFF_FFFF, "x")


def java_date(millis: int) -> str:
    """``new Date(millis).toString()``: ``Thu Jan 01 00:00:00 UTC 1970`` in local time."""
    local = time.localtime(millis // 1000)
    return (
        f"{_DAYS[local.tm_wday]} {_MONTHS[local.tm_mon - 1]} {local.tm_mday:02d} "
        f"{local.tm_hour:02d}:{local.tm_min:02d}:{local.tm_sec:02d} {local.tm_zone} "
        f"{local.tm_year}"
    )


def stat_lines(stat: Stat) -> list[str]:
    """A Stat field by field, in zkCli's order and naming."""
    return [
        f"cZxid = 0x{java_hex(stat.czxid)}",
        f"ctime = {java_date(stat.ctime)}",
        f"mZxid = 0x{java_hex(stat.mzxid)}",
        f"mtime = {java_date(stat.mtime)}",
        f"pZxid = 0x{java_hex(stat.pzxid)}",
        f"cversion = {stat.cversion}",
        f"dataVersion = {stat.version}",
        f"aclVersion = {stat.aversion}",
        f"ephemeralOwner = 0x{java_hex(stat.ephemeral_owner)}",
        f"dataLength = {stat.data_length}",
        f"numChildren = {stat.num_children}",
    ]


def stat_json(stat: Stat) -> dict[str, int]:
    """A Stat for ``--json``, with zkCli's field names (times in ms since the epoch)."""
    return {
        "cZxid": stat.czxid,
        "ctime": stat.ctime,
        "mZxid": stat.mzxid,
        "mtime": stat.mtime,
        "pZxid": stat.pzxid,
        "cversion": stat.cversion,
        "dataVersion": stat.version,
        "aclVersion": stat.aversion,
        "ephemeralOwner": stat.ephemeral_owner,
        "dataLength": stat.data_length,
        "numChildren": stat.num_children,
    }


def perm_string(perms: int) -> str:
    """``ZKUtil.getPermString``: the letters of ``cdrwa`` that ``perms`` grants."""
    return "".join(
        letter for bit, letter in ((4, "c"), (8, "d"), (1, "r"), (2, "w"), (16, "a")) if perms & bit
    )


def _jute_string(text: str) -> str:
    escaped = (
        text.replace("%", "%25")
        .replace("\0", "%00")
        .replace("\n", "%0A")
        .replace("\r", "%0D")
        .replace(",", "%2C")
        .replace("}", "%7D")
    )
    return "'" + escaped


def acl_lines(acl: ACL) -> list[str]:
    """An ACL entry as getAcl prints it: the jute ``Id.toString()`` (two lines), then perms."""
    return [
        f"{_jute_string(acl.id.scheme)},{_jute_string(acl.id.id)}",
        f": {perm_string(acl.perms)}",
    ]


def acl_json(acl: ACL) -> dict[str, object]:
    """An ACL entry for ``--json``."""
    return {"scheme": acl.id.scheme, "id": acl.id.id, "perms": perm_string(acl.perms)}


def event_line(type_: EventType, state: KeeperState, path: str | None) -> str:
    """``WatchedEvent.toString()``."""
    shown = "null" if path is None else path
    return f"WatchedEvent state:{STATE_NAMES[state]} type:{EVENT_NAMES[type_]} path:{shown}"


def event_json(type_: EventType, state: KeeperState, path: str | None) -> dict[str, object]:
    """A watch or state event for ``--json``."""
    return {"event": {"state": STATE_NAMES[state], "type": EVENT_NAMES[type_], "path": path}}


def data_text(data: bytes | None) -> str:
    """Node data as zkCli prints it: UTF-8 (bad bytes replaced), ``null`` for no data."""
    return "null" if data is None else data.decode("utf-8", "replace")


class Output:
    """Where results go: text (zkCli's format) or JSON lines, chosen once."""

    def __init__(self, *, json_mode: bool) -> None:
        self.json_mode = json_mode

    @staticmethod
    def _write(text: str, *, err: bool) -> None:
        stream = sys.stderr if err else sys.stdout
        stream.write(text)
        stream.flush()

    def line(self, text: str = "", *, err: bool = False) -> None:
        """One line of zkCli text (nothing in JSON mode)."""
        if not self.json_mode:
            self._write(text + "\n", err=err)

    def lines(self, texts: list[str], *, err: bool = False) -> None:
        """Several lines of zkCli text."""
        if not self.json_mode and texts:
            self._write("".join(t + "\n" for t in texts), err=err)

    def json(self, value: object, *, err: bool = False) -> None:
        """One JSON object on its own line (nothing in text mode)."""
        if self.json_mode:
            self._write(json.dumps(value, ensure_ascii=False) + "\n", err=err)

    def event(self, type_: EventType, state: KeeperState, path: str | None) -> None:
        """A watcher notification, as ``ZooKeeperMain.MyWatcher`` prints it."""
        if self.json_mode:
            self.json(event_json(type_, state, path))
        else:
            self._write(f"\nWATCHER::\n\n{event_line(type_, state, path)}\n", err=False)
