"""ACLs, identities and permission checks, as ZooKeeper's built-in auth providers do them.

Schemes known to the server: ``world`` (only ``anyone``), ``auth`` (expanded at create/setACL
time into the caller's authenticated identities), ``digest`` (``user:BASE64(SHA1(user:pw))``),
``ip`` (address or ``address/bits``, IPv4 or IPv6) and ``super`` (granted by digest auth that
matches the configured super digest; bypasses every check).
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from enum import IntFlag
from typing import NamedTuple

from znode.errors import InvalidACL, NoAuth


class Perms(IntFlag):
    """Permission bits (``ZooDefs.Perms``). ACLs store any int; these are the named bits."""

    READ = 1
    WRITE = 2
    CREATE = 4
    DELETE = 8
    ADMIN = 16
    ALL = 31


class Id(NamedTuple):
    """An identity: ``scheme`` plus scheme-specific ``id``."""

    scheme: str
    id: str


class ACL(NamedTuple):
    """One access-control entry: permission bits granted to an :class:`Id`."""

    perms: int
    id: Id


ANYONE_ID_UNSAFE = Id("world", "anyone")
AUTH_IDS = Id("auth", "")
SUPER_ID = Id("super", "")
# Plain ints, not Perms members, so ACLs compare, hash and serialize like decoded ones.
OPEN_ACL_UNSAFE: tuple[ACL, ...] = (ACL(int(Perms.ALL), ANYONE_ID_UNSAFE),)
CREATOR_ALL_ACL: tuple[ACL, ...] = (ACL(int(Perms.ALL), AUTH_IDS),)
READ_ACL_UNSAFE: tuple[ACL, ...] = (ACL(int(Perms.READ), ANYONE_ID_UNSAFE),)

#: Schemes whose identities count as "authenticated" for the ``auth`` ACL scheme.
AUTHENTICATED_SCHEMES = frozenset({"digest"})
#: Schemes with a server provider (valid in an ACL besides world:anyone and auth).
PROVIDER_SCHEMES = frozenset({"digest", "ip"})


def digest_id(user: str, password: str) -> str:
    """Return the digest ACL id for ``user:password``: ``user:BASE64(SHA1("user:password"))``."""
    raw = hashlib.sha1(f"{user}:{password}".encode()).digest()
    return f"{user}:{base64.b64encode(raw).decode('ascii')}"


def digest_auth_id(credential: bytes) -> Id:
    """The ``digest`` identity an AuthPacket credential ``user:password`` yields.

    As ZooKeeper's DigestAuthenticationProvider: the credential is decoded as UTF-8 (bad
    bytes become U+FFFD), the user is everything before the first ``:`` (the whole text
    if there is none), and the hash covers the whole decoded credential.
    """
    text = credential.decode("utf-8", "replace")
    user = text.split(":", 1)[0]
    raw = hashlib.sha1(text.encode("utf-8", "surrogatepass")).digest()
    return Id("digest", f"{user}:{base64.b64encode(raw).decode('ascii')}")


def _java_split_colon(text: str) -> list[str]:
    """``String.split(":")`` as Java does it: trailing empty strings are removed."""
    parts = text.split(":")
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def _java_parse_int(text: str) -> int | None:
    """``Integer.parseInt`` semantics for the digits ZooKeeper's IP provider accepts."""
    body = text[1:] if text[:1] in ("+", "-") else text
    if not body or not body.isascii() or not body.isdigit():
        return None
    value = int(text)
    return value if -(2**31) <= value < 2**31 else None


def _ip_bytes(address: str) -> bytes | None:
    """Parse an IPv4 (``a.b.c.d``) or IPv6 address the way ZooKeeper's IP provider does."""
    parts = address.split(".")
    if len(parts) == 4:
        octets = [_java_parse_int(p) for p in parts]
        if all(o is not None and 0 <= o <= 255 for o in octets):
            return bytes(o for o in octets if o is not None)
        return None
    if ":" in address:
        try:
            return ipaddress.IPv6Address(address).packed
        except ValueError:
            return None
    return None


def ip_id_is_valid(id_: str) -> bool:
    """Whether ``id_`` is a valid ``ip`` ACL id: an address, optionally ``/bits``."""
    addr, sep, bits_text = id_.partition("/")
    raw = _ip_bytes(addr)
    if raw is None:
        return False
    if sep:
        bits = _java_parse_int(bits_text)
        if bits is None or not 0 <= bits <= len(raw) * 8:
            return False
    return True


def ip_matches(client_address: str, acl_id: str) -> bool:
    """Whether a client address matches an ``ip`` ACL id (address or prefix)."""
    addr, sep, bits_text = acl_id.partition("/")
    want = _ip_bytes(addr)
    have = _ip_bytes(client_address)
    if want is None or have is None or len(want) != len(have):
        return False
    bits = len(want) * 8
    if sep:
        parsed = _java_parse_int(bits_text)
        if parsed is None or not 0 <= parsed <= bits:
            return False
        bits = parsed
    want_int = int.from_bytes(want, "big")
    have_int = int.from_bytes(have, "big")
    shift = len(want) * 8 - bits
    return (want_int >> shift) == (have_int >> shift)


def id_is_valid(id_: Id) -> bool:
    """Whether a provider-scheme identity is well formed (digest or ip)."""
    if id_.scheme == "digest":
        return len(_java_split_colon(id_.id)) == 2
    if id_.scheme == "ip":
        return ip_id_is_valid(id_.id)
    return False


def fixup_acl(
    path: str, identities: tuple[Id, ...], acl: tuple[ACL, ...] | None
) -> tuple[ACL, ...]:
    """Validate an ACL list for create/setACL and expand ``auth`` entries.

    Mirrors ``PrepRequestProcessor.fixupACL``: duplicates are removed keeping the first; an
    empty list, ``world`` with an id other than ``anyone``, an unknown scheme, an invalid
    id, or ``auth`` while the caller has no authenticated identity raise :class:`InvalidACL`.

    Raises:
        InvalidACL: the list cannot be stored.
    """
    if not acl:
        raise InvalidACL(path=path)
    unique: list[ACL] = []
    for entry in acl:
        if entry not in unique:
            unique.append(entry)
    fixed: list[ACL] = []
    for entry in unique:
        scheme, ident = entry.id
        if scheme == "world" and ident == "anyone":
            fixed.append(entry)
        elif scheme == "auth":
            authenticated = [i for i in identities if i.scheme in AUTHENTICATED_SCHEMES]
            if not authenticated:
                raise InvalidACL(path=path)
            fixed.extend(ACL(entry.perms, i) for i in authenticated)
        elif scheme in PROVIDER_SCHEMES and id_is_valid(entry.id):
            fixed.append(entry)
        else:
            raise InvalidACL(path=path)
    return tuple(fixed)


def is_allowed(acl: tuple[ACL, ...], perm: int, identities: tuple[Id, ...]) -> bool:
    """ZooKeeper's ``checkACL`` rule as a predicate.

    Allowed when the list is empty, when the caller holds ``super``, or when an entry whose
    perms intersect ``perm`` matches one of the caller's identities.
    """
    if not acl:
        return True
    for ident in identities:
        if ident.scheme == "super":
            return True
    for perms, (scheme, acl_id) in acl:
        if not perms & perm:
            continue
        if scheme == "world" and acl_id == "anyone":
            return True
        for ident in identities:
            if ident.scheme != scheme:
                continue
            if scheme == "digest" and ident.id == acl_id:
                return True
            if scheme == "ip" and ip_matches(ident.id, acl_id):
                return True
    return False


def check_acl(acl: tuple[ACL, ...], perm: int, identities: tuple[Id, ...], path: str) -> None:
    """Raise :class:`NoAuth` unless :func:`is_allowed`."""
    if not is_allowed(acl, perm, identities):
        raise NoAuth(path=path)


def mask_digests(acl: tuple[ACL, ...]) -> tuple[ACL, ...]:
    """getACL without ADMIN: every ``digest`` id is returned as ``user:x``."""
    return tuple(
        ACL(a.perms, Id("digest", a.id.id.split(":", 1)[0] + ":x"))
        if a.id.scheme == "digest" and ":" in a.id.id
        else a
        for a in acl
    )
