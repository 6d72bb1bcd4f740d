"""Requests answered by the connected server alone: auth, watch management, whoAmI.

Pure functions over the tree and the watch table; the core calls them in request order.
"""

from __future__ import annotations

from znode.acl import SUPER_ID, Id, digest_auth_id
from znode.errors import AuthFailed
from znode.events import EventType, WatchTrigger
from znode.records import AuthPacket, ClientInfo, SetWatches, SetWatches2, WhoAmIResponse
from znode.tree import DataTree
from znode.watches import Watcher, WatchKind, WatchTable


def authenticate(
    identities: tuple[Id, ...], packet: AuthPacket, *, super_digest: str | None
) -> tuple[Id, ...]:
    """The connection's identities after an AuthPacket (they accumulate).

    Only the ``digest`` scheme is built in; a credential matching the configured super
    digest also grants ``super``.

    Raises:
        AuthFailed: unknown scheme or a malformed credential (the server then closes).
    """
    if packet.scheme != "digest" or not packet.auth:
        raise AuthFailed()
    ident = digest_auth_id(packet.auth)
    if ident is None:
        raise AuthFailed()
    added: list[Id] = []
    if super_digest is not None and ident.id == super_digest:
        added.append(SUPER_ID)
    added.append(ident)
    return identities + tuple(i for i in added if i not in identities)


def who_am_i(identities: tuple[Id, ...]) -> WhoAmIResponse:
    """One ClientInfo per identity with a provider (ip, digest); ``super`` is not listed."""
    infos = []
    for ident in identities:
        if ident.scheme == "ip":
            infos.append(ClientInfo("ip", ident.id))
        elif ident.scheme == "digest":
            infos.append(ClientInfo("digest", ident.id.split(":", 1)[0]))
    return WhoAmIResponse(tuple(infos))


def set_watches(
    tree: DataTree, watches: WatchTable, watcher: Watcher, request: SetWatches | SetWatches2
) -> list[WatchTrigger]:
    """Re-arm a reconnecting client's watches; return the events it missed.

    Each listed path is checked against the tree *now*: a data watch whose node changed
    after ``relative_zxid`` or vanished fires instead of being registered, and so on
    (ZooKeeper's rules). Fired events are one-shot; persistent watches are re-registered
    without catch-up events.
    """
    relative = request.relative_zxid
    fired: list[WatchTrigger] = []
    nodes = tree.nodes
    for path in request.data_watches:
        node = nodes.get(path)
        if node is None:
            fired.append(WatchTrigger(EventType.NODE_DELETED, path))
        elif node.mzxid > relative:
            fired.append(WatchTrigger(EventType.NODE_DATA_CHANGED, path))
        else:
            watches.add(path, watcher, WatchKind.DATA)
    for path in request.exist_watches:
        if path in nodes:
            fired.append(WatchTrigger(EventType.NODE_CREATED, path))
        else:
            watches.add(path, watcher, WatchKind.EXIST)
    for path in request.child_watches:
        node = nodes.get(path)
        if node is None:
            fired.append(WatchTrigger(EventType.NODE_DELETED, path))
        elif node.pzxid > relative:
            fired.append(WatchTrigger(EventType.NODE_CHILDREN_CHANGED, path))
        else:
            watches.add(path, watcher, WatchKind.CHILD)
    if isinstance(request, SetWatches2):
        for path in request.persistent_watches:
            watches.add(path, watcher, WatchKind.PERSISTENT)
        for path in request.persistent_recursive_watches:
            watches.add(path, watcher, WatchKind.PERSISTENT_RECURSIVE)
    return fired
