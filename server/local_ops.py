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

    ZooKeeper's two built-in providers: ``digest``, and ``ip``, which adds the connection's
    address (every connection already holds it). A credential matching the configured super
    digest also grants ``super``. The caller handles a null credential (ZooKeeper drops the
    connection without a reply).

    The result is in the order ZooKeeper iterates the connection's identity set, which is
    what whoAmI lists and what an ``auth`` ACL expands to (see :func:`_java_set_add`).

    Raises:
        AuthFailed: a scheme without a provider (the server then closes).
    """
    if packet.scheme == "ip":
        # Fix (test_ip_auth_adds_the_connections_address): ZooKeeper's IP provider accepts
        # any credential and adds ip:<address>, which the connection already holds.
        return identities
    if packet.scheme != "digest" or packet.auth is None:
        raise AuthFailed()
    ident = digest_auth_id(packet.auth)
    if super_digest is not None and ident.id == super_digest:
        identities = _java_set_add(identities, SUPER_ID)
    return _java_set_add(identities, ident)


def who_am_i(identities: tuple[Id, ...]) -> WhoAmIResponse:
    """One ClientInfo per identity, in the set's order (see :func:`authenticate`).

    Fix (test_who_am_i_lists_the_connections_identities): ZooKeeper lists every identity,
    ``super`` too (as ``("super", "")``: it has no provider to name a user).
    """
    infos = []
    for ident in identities:
        if ident.scheme == "digest":
            infos.append(ClientInfo("digest", ident.id.split(":", 1)[0]))
        elif ident.scheme == "ip":
            infos.append(ClientInfo("ip", ident.id))
        else:
            infos.append(ClientInfo(ident.scheme, ""))
    return WhoAmIResponse(tuple(infos))


# Fix (test_who_am_i_lists_the_connections_identities, test_auth_acl_lists_identities_
# in_zookeepers_order): a connection's identities are a Java ConcurrentHashMap key set in
# ZooKeeper, so whoAmI and an ``auth`` ACL list them in that map's iteration order: bucket
# by bucket (16 buckets, doubling when 3/4 full), each bucket in insertion order, with
# ConcurrentHashMap's reordering when a resize splits a bucket. Identities are never
# removed, so the map is rebuilt from the tuple, which is kept in iteration order.
def _java_string_hash(text: str) -> int:
    h = 0
    raw = text.encode("utf-16-be", "surrogatepass")
    for i in range(0, len(raw), 2):
        h = (31 * h + int.from_bytes(raw[i : i + 2], "big")) & 0xFFFFFFFF
    return h


def _java_id_spread(ident: Id) -> int:
    h = (37 * (37 * 17 + _java_string_hash(ident.scheme)) + _java_string_hash(ident.id)) & (
        0xFFFFFFFF
    )
    return (h ^ (h >> 16)) & 0x7FFFFFFF


def _java_set_add(identities: tuple[Id, ...], new: Id) -> tuple[Id, ...]:
    if new in identities:
        return identities
    size = 16
    while len(identities) >= size * 3 // 4:
        size *= 2
    bins: list[list[Id]] = [[] for _ in range(size)]
    for ident in identities:
        bins[_java_id_spread(ident) & (size - 1)].append(ident)
    bins[_java_id_spread(new) & (size - 1)].append(new)
    if len(identities) + 1 >= size * 3 // 4:
        bins = _java_transfer(bins, size)
    return tuple(ident for bucket in bins for ident in bucket)


def _java_transfer(bins: list[list[Id]], n: int) -> list[list[Id]]:
    """``ConcurrentHashMap.transfer``: the tail run keeps its order, the rest is reversed."""
    out: list[list[Id]] = [[] for _ in range(2 * n)]
    for i, bucket in enumerate(bins):
        if not bucket:
            continue
        bits = [_java_id_spread(ident) & n for ident in bucket]
        last = len(bucket) - 1
        while last > 0 and bits[last - 1] == bits[-1]:
            last -= 1
        low, high = out[i], out[i + n]
        (low if bits[-1] == 0 else high).extend(bucket[last:])
        for ident, bit in zip(bucket[:last], bits[:last], strict=True):
            (low if bit == 0 else high).insert(0, ident)
    return out


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
