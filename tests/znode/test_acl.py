"""Table tests of :mod:`znode.acl`: identities, ACL validation and the permission check, as
ZooKeeper's built-in providers and ``PrepRequestProcessor.fixupACL`` do them (wire sheet §10).
"""

from __future__ import annotations

import base64
import hashlib

import pytest

from znode.acl import (
    ACL,
    ANYONE_ID_UNSAFE,
    AUTH_IDS,
    CREATOR_ALL_ACL,
    OPEN_ACL_UNSAFE,
    READ_ACL_UNSAFE,
    Id,
    Perms,
    check_acl,
    digest_auth_id,
    digest_id,
    fixup_acl,
    id_is_valid,
    ip_id_is_valid,
    ip_matches,
    is_allowed,
    mask_digests,
)
from znode.errors import ErrorCode, InvalidACL, NoAuth

ALICE_ID = "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E="  # alice:secret, verified against ZooKeeper
ALICE = Id("digest", ALICE_ID)
BOB = Id("digest", "bob:notarealhashbutwellformed=")
SUPER = Id("super", "")
LOCAL_IP = Id("ip", "127.0.0.1")
WORLD = Id("world", "anyone")
READ = int(Perms.READ)
WRITE = int(Perms.WRITE)
CREATE = int(Perms.CREATE)
DELETE = int(Perms.DELETE)
ADMIN = int(Perms.ADMIN)
ALL = int(Perms.ALL)


def sha1_b64(raw: bytes) -> str:
    return base64.b64encode(hashlib.sha1(raw).digest()).decode("ascii")


# --- constants -----------------------------------------------------------------------------


def test_well_known_values() -> None:
    assert (READ, WRITE, CREATE, DELETE, ADMIN, ALL) == (1, 2, 4, 8, 16, 31)
    assert Id("world", "anyone") == ANYONE_ID_UNSAFE
    assert Id("auth", "") == AUTH_IDS
    assert (ACL(31, Id("world", "anyone")),) == OPEN_ACL_UNSAFE
    assert (ACL(31, Id("auth", "")),) == CREATOR_ALL_ACL
    assert (ACL(1, Id("world", "anyone")),) == READ_ACL_UNSAFE


# --- digest identities ---------------------------------------------------------------------


def test_digest_id_live_value() -> None:
    assert digest_id("alice", "secret") == ALICE_ID


@pytest.mark.parametrize(
    ("user", "password"),
    [("alice", "secret"), ("bob", ""), ("", "pw"), ("ünï", "pässwörd"), ("u", "a:b:c")],
)
def test_digest_id_hashes_user_colon_password(user: str, password: str) -> None:
    expected = f"{user}:{sha1_b64(f'{user}:{password}'.encode())}"
    assert digest_id(user, password) == expected


@pytest.mark.parametrize(
    ("credential", "expected"),
    [
        (b"alice:secret", ALICE_ID),
        # The user is everything before the first ':'; the hash covers the whole credential.
        (b"alice:se:cret", "alice:" + sha1_b64(b"alice:se:cret")),
        (b"alice:", "alice:" + sha1_b64(b"alice:")),
        (b":pw", ":" + sha1_b64(b":pw")),
        ("ünï:pw".encode(), "ünï:" + sha1_b64("ünï:pw".encode())),
    ],
)
def test_digest_auth_id(credential: bytes, expected: str) -> None:
    assert digest_auth_id(credential) == Id("digest", expected)


def test_digest_auth_id_matches_digest_id_with_colons_in_password() -> None:
    assert digest_auth_id(b"alice:se:cret") == Id("digest", digest_id("alice", "se:cret"))
    # Not a hash of the password alone, nor of the part after the last ':'.
    assert digest_auth_id(b"alice:se:cret") != Id("digest", "alice:" + sha1_b64(b"se:cret"))
    assert digest_auth_id(b"alice:se:cret") != Id("digest", "alice:se:" + sha1_b64(b"cret"))


@pytest.mark.parametrize(
    ("credential", "text"),
    [
        (b"alice", "alice"),  # no ':': the whole credential is the user (ZooKeeper 3.8)
        (b"", ""),
        (b"\xff:pw", "\ufffd:pw"),  # bad UTF-8 decodes to U+FFFD, as Java's String does
        (b"alice:\xc3", "alice:\ufffd"),
    ],
)
def test_digest_auth_id_takes_any_credential_as_zookeeper_does(
    credential: bytes, text: str
) -> None:
    user = text.split(":", 1)[0]
    assert digest_auth_id(credential) == Id("digest", f"{user}:{sha1_b64(text.encode())}")


# --- ip identities -------------------------------------------------------------------------

VALID_IP_IDS = [
    "1.2.3.4",
    "0.0.0.0",
    "255.255.255.255",
    "1.2.3.4/32",
    "10.0.0.0/8",
    "172.16.0.0/16",
    "192.168.1.0/24",
    "1.2.3.0/25",
    "0.0.0.0/0",
    "::1",
    "::",
    "fe80::1/64",
    "2001:db8::/32",
    "2001:db8:0:0:0:0:0:1",
    "2001:db8:0:0:0:0:0:1/128",
    "::/0",
    # Integer.parseInt accepts leading zeros.
    "010.002.003.004",
    "10.0.0.0/08",
]

INVALID_IP_IDS = [
    "",
    "1.2.3.4/33",
    "1.2.3.4/-1",
    "1.2.3.4/x",
    "1.2.3.4/",
    "1.2.3.4/8/8",
    "256.1.1.1",
    "1.2.3.256",
    "1.2.3",
    "1.2.3.4.5",
    "1..2.3",
    "1.2.3.",
    "a.b.c.d",
    "1.2.3.x",
    "localhost",
    "::1/129",
    "2001:db8::/x",
    "2001:db8::1::2",
    "12345::1",
    "g::1",
]


@pytest.mark.parametrize("ident", VALID_IP_IDS)
def test_ip_id_valid(ident: str) -> None:
    assert ip_id_is_valid(ident)
    assert id_is_valid(Id("ip", ident))


@pytest.mark.parametrize("ident", INVALID_IP_IDS)
def test_ip_id_invalid(ident: str) -> None:
    assert not ip_id_is_valid(ident)
    assert not id_is_valid(Id("ip", ident))


IP_MATCHES = [
    # IPv4 exact.
    ("1.2.3.4", "1.2.3.4", True),
    ("1.2.3.5", "1.2.3.4", False),
    ("1.2.3.4", "1.2.3.4/32", True),
    ("1.2.3.5", "1.2.3.4/32", False),
    # Prefixes; host bits of the ACL address are masked off as well.
    ("1.2.3.200", "1.2.3.0/24", True),
    ("1.2.3.200", "1.2.3.77/24", True),
    ("1.2.4.1", "1.2.3.0/24", False),
    ("1.2.200.1", "1.2.0.0/16", True),
    ("1.3.0.1", "1.2.0.0/16", False),
    ("10.9.8.7", "10.0.0.0/8", True),
    ("11.0.0.1", "10.0.0.0/8", False),
    ("1.2.3.127", "1.2.3.0/25", True),
    ("1.2.3.128", "1.2.3.0/25", False),
    ("200.1.1.1", "0.0.0.0/0", True),
    ("1.2.3.4", "001.002.003.004", True),
    ("0.0.0.0", "255.255.255.255/0", True),
    # Bad prefixes never match.
    ("1.2.3.4", "1.2.3.4/33", False),
    ("1.2.3.4", "1.2.3.4/x", False),
    ("1.2.3.4", "1.2.3.4/-1", False),
    ("1.2.3.4", "1.2.3.4/", False),
    # Bad addresses never match, on either side.
    ("256.1.1.1", "256.1.1.1", False),
    ("1.2.3", "1.2.3", False),
    ("1.2.3.4", "1.2.3", False),
    ("1.2.3", "0.0.0.0/0", False),
    ("localhost", "localhost", False),
    # IPv6 exact and prefixes.
    ("::1", "::1", True),
    ("::2", "::1", False),
    ("2001:db8::1", "2001:db8:0:0:0:0:0:1", True),
    ("2001:db8::5", "2001:db8::/32", True),
    ("2001:db9::5", "2001:db8::/32", False),
    ("fe80::1", "fe80::/10", True),
    ("fec0::1", "fe80::/10", False),
    ("2001:db8::1", "::/0", True),
    ("::1", "::1/128", True),
    ("::1", "::1/129", False),
    # IPv4 and IPv6 never match each other.
    ("1.2.3.4", "::/0", False),
    ("::1", "0.0.0.0/0", False),
    ("0.0.0.0", "::", False),
    ("::", "0.0.0.0", False),
]


@pytest.mark.parametrize(("client", "acl_id", "expected"), IP_MATCHES)
def test_ip_matches(client: str, acl_id: str, expected: bool) -> None:
    assert ip_matches(client, acl_id) is expected


# --- id validity ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ident", "expected"),
    [
        # Java's String.split(":") drops trailing empty strings and must give two parts.
        (Id("digest", "a:b"), True),
        (Id("digest", ":b"), True),
        (Id("digest", "a:b:"), True),
        (Id("digest", ALICE_ID), True),
        (Id("digest", "a:"), False),
        (Id("digest", "a::"), False),
        (Id("digest", "a:b:c"), False),
        (Id("digest", "a"), False),
        (Id("digest", ""), False),
        (Id("digest", ":"), False),
        (Id("digest", "::b"), False),
        (Id("ip", "1.2.3.4"), True),
        (Id("ip", "1.2.3.4/33"), False),
        # Not provider schemes.
        (Id("world", "anyone"), False),
        (Id("sasl", "alice"), False),
        (Id("x509", "CN=alice"), False),
        (Id("super", ""), False),
        (Id("auth", ""), False),
    ],
)
def test_id_is_valid(ident: Id, expected: bool) -> None:
    assert id_is_valid(ident) is expected


# --- fixup_acl -----------------------------------------------------------------------------

CALLER = (LOCAL_IP, ALICE, SUPER, BOB)


@pytest.mark.parametrize(
    ("acl", "expected"),
    [
        (OPEN_ACL_UNSAFE, OPEN_ACL_UNSAFE),
        (READ_ACL_UNSAFE, READ_ACL_UNSAFE),
        # Duplicates are removed, keeping the first occurrence and the order.
        (
            (ACL(ALL, WORLD), ACL(READ, ALICE), ACL(ALL, WORLD)),
            (ACL(ALL, WORLD), ACL(READ, ALICE)),
        ),
        (
            (ACL(READ, ALICE), ACL(ALL, WORLD), ACL(READ, ALICE), ACL(ALL, WORLD)),
            (ACL(READ, ALICE), ACL(ALL, WORLD)),
        ),
        # Same id, different perms: not duplicates.
        ((ACL(READ, WORLD), ACL(WRITE, WORLD)), (ACL(READ, WORLD), ACL(WRITE, WORLD))),
        # Provider schemes with valid ids are kept as given.
        ((ACL(ALL, Id("ip", "10.0.0.0/8")),), (ACL(ALL, Id("ip", "10.0.0.0/8")),)),
        ((ACL(ALL, Id("ip", "::1")),), (ACL(ALL, Id("ip", "::1")),)),
        ((ACL(ADMIN, Id("digest", "x:y")),), (ACL(ADMIN, Id("digest", "x:y")),)),
        # Perms are stored as given, even 0 and values above ALL.
        ((ACL(0, WORLD),), (ACL(0, WORLD),)),
        ((ACL(255, WORLD),), (ACL(255, WORLD),)),
        ((ACL(0, BOB), ACL(255, ALICE)), (ACL(0, BOB), ACL(255, ALICE))),
    ],
)
def test_fixup_acl_keeps(acl: tuple[ACL, ...], expected: tuple[ACL, ...]) -> None:
    assert fixup_acl("/p", CALLER, acl) == expected


@pytest.mark.parametrize(
    ("identities", "acl", "expected"),
    [
        # auth expands to every digest identity of the caller, in order; not ip, not super.
        (CALLER, (ACL(ALL, AUTH_IDS),), (ACL(ALL, ALICE), ACL(ALL, BOB))),
        ((LOCAL_IP, ALICE), (ACL(READ | WRITE, AUTH_IDS),), (ACL(READ | WRITE, ALICE),)),
        # The id of an auth entry is ignored.
        ((ALICE,), (ACL(ALL, Id("auth", "whatever")),), (ACL(ALL, ALICE),)),
        # Position in the list is preserved.
        (
            (LOCAL_IP, ALICE),
            (ACL(READ, WORLD), ACL(ALL, AUTH_IDS), ACL(ADMIN, BOB)),
            (ACL(READ, WORLD), ACL(ALL, ALICE), ACL(ADMIN, BOB)),
        ),
        # Duplicate auth entries are removed before expansion...
        ((ALICE,), (ACL(ALL, AUTH_IDS), ACL(ALL, AUTH_IDS)), (ACL(ALL, ALICE),)),
        # ...but the expansion itself is not deduplicated (as fixupACL does).
        ((ALICE,), (ACL(ALL, ALICE), ACL(ALL, AUTH_IDS)), (ACL(ALL, ALICE), ACL(ALL, ALICE))),
    ],
)
def test_fixup_acl_expands_auth(
    identities: tuple[Id, ...], acl: tuple[ACL, ...], expected: tuple[ACL, ...]
) -> None:
    assert fixup_acl("/p", identities, acl) == expected


@pytest.mark.parametrize(
    ("identities", "acl"),
    [
        (CALLER, ()),
        (CALLER, (ACL(ALL, Id("world", "other")),)),
        (CALLER, (ACL(ALL, Id("world", "")),)),
        (CALLER, (ACL(ALL, Id("world", "Anyone")),)),
        # auth with no digest identity.
        ((), (ACL(ALL, AUTH_IDS),)),
        ((LOCAL_IP,), (ACL(ALL, AUTH_IDS),)),
        ((SUPER,), (ACL(ALL, AUTH_IDS),)),
        ((LOCAL_IP, SUPER, Id("sasl", "alice")), (ACL(ALL, AUTH_IDS),)),
        # Schemes without a provider.
        (CALLER, (ACL(ALL, Id("sasl", "alice")),)),
        (CALLER, (ACL(ALL, Id("x509", "CN=alice")),)),
        (CALLER, (ACL(ALL, Id("super", "")),)),
        (CALLER, (ACL(ALL, Id("foo", "bar")),)),
        (CALLER, (ACL(ALL, Id("", "")),)),
        # Ids the provider rejects.
        (CALLER, (ACL(ALL, Id("digest", "a:")),)),
        (CALLER, (ACL(ALL, Id("digest", "a:b:c")),)),
        (CALLER, (ACL(ALL, Id("ip", "1.2.3.4/33")),)),
        (CALLER, (ACL(ALL, Id("ip", "1.2.3")),)),
        # One bad entry spoils the list.
        (CALLER, (ACL(ALL, WORLD), ACL(READ, Id("sasl", "alice")))),
        ((LOCAL_IP,), (ACL(ALL, WORLD), ACL(READ, AUTH_IDS))),
    ],
)
def test_fixup_acl_rejects(identities: tuple[Id, ...], acl: tuple[ACL, ...]) -> None:
    with pytest.raises(InvalidACL) as info:
        fixup_acl("/the/path", identities, acl)
    assert info.value.code == ErrorCode.INVALIDACL
    assert info.value.path == "/the/path"


# --- is_allowed / check_acl ----------------------------------------------------------------

ANYONE_READS = (ACL(READ, WORLD),)
ALICE_ALL = (ACL(ALL, ALICE),)
SUBNET_WRITES = (ACL(WRITE, Id("ip", "10.0.0.0/8")),)

ALLOWED = [
    # An empty ACL allows everything, even with no identity.
    ((), ALL, (), True),
    ((), ADMIN, (LOCAL_IP,), True),
    # super bypasses every entry.
    (ALICE_ALL, ADMIN, (SUPER,), True),
    ((ACL(0, WORLD),), READ, (LOCAL_IP, SUPER), True),
    ((ACL(READ, Id("ip", "10.0.0.1")),), DELETE, (SUPER,), True),
    # world:anyone matches everybody, for the perms it grants.
    (ANYONE_READS, READ, (), True),
    (ANYONE_READS, WRITE, (), False),
    (ANYONE_READS, ADMIN, (LOCAL_IP, ALICE), False),
    (OPEN_ACL_UNSAFE, ADMIN, (), True),
    # The requested bits only need to intersect an entry's perms.
    (ANYONE_READS, READ | ADMIN, (), True),
    ((ACL(READ | WRITE, WORLD),), WRITE, (), True),
    ((ACL(CREATE | DELETE, WORLD),), READ | WRITE | ADMIN, (), False),
    # An entry with perms 0 grants nothing.
    ((ACL(0, WORLD),), READ, (), False),
    ((ACL(0, ALICE),), ALL, (ALICE,), False),
    # world with another id matches nobody.
    ((ACL(ALL, Id("world", "nobody")),), READ, (Id("world", "nobody"),), False),
    # digest: exact string equality with one of the caller's identities.
    (ALICE_ALL, WRITE, (ALICE,), True),
    (ALICE_ALL, WRITE, (LOCAL_IP, BOB, ALICE), True),
    (ALICE_ALL, WRITE, (BOB,), False),
    (ALICE_ALL, WRITE, (Id("digest", "alice:other"),), False),
    (ALICE_ALL, WRITE, (Id("digest", "alice"),), False),
    (ALICE_ALL, WRITE, (Id("digest", ALICE_ID + " "),), False),
    (ALICE_ALL, WRITE, (), False),
    # Schemes must match too.
    (ALICE_ALL, WRITE, (Id("ip", ALICE_ID),), False),
    ((ACL(ALL, Id("ip", "1.2.3.4")),), READ, (Id("digest", "1.2.3.4"),), False),
    # ip: address and prefix matching.
    (SUBNET_WRITES, WRITE, (Id("ip", "10.1.2.3"),), True),
    (SUBNET_WRITES, WRITE, (Id("ip", "11.1.2.3"),), False),
    (SUBNET_WRITES, READ, (Id("ip", "10.1.2.3"),), False),
    ((ACL(ALL, Id("ip", "127.0.0.1")),), READ, (LOCAL_IP,), True),
    ((ACL(ALL, Id("ip", "127.0.0.2")),), READ, (LOCAL_IP,), False),
    ((ACL(ALL, Id("ip", "::1/128")),), READ, (Id("ip", "::1"),), True),
    ((ACL(ALL, Id("ip", "0.0.0.0/0")),), READ, (Id("ip", "::1"),), False),
    # Any entry may grant; one that matches the caller but lacks the perm does not.
    ((ACL(READ, ALICE), ACL(WRITE, BOB)), WRITE, (ALICE, BOB), True),
    ((ACL(READ, ALICE), ACL(WRITE, BOB)), WRITE, (ALICE,), False),
    ((ACL(READ, BOB), ACL(ALL, Id("ip", "127.0.0.0/8"))), ADMIN, (LOCAL_IP,), True),
    # No provider for sasl in a default server: nothing matches it.
    ((ACL(ALL, Id("sasl", "alice")),), READ, (Id("sasl", "alice"),), False),
]


@pytest.mark.parametrize(("acl", "perm", "identities", "expected"), ALLOWED)
def test_is_allowed(
    acl: tuple[ACL, ...], perm: int, identities: tuple[Id, ...], expected: bool
) -> None:
    assert is_allowed(acl, perm, identities) is expected


@pytest.mark.parametrize(("acl", "perm", "identities", "expected"), ALLOWED)
def test_check_acl(
    acl: tuple[ACL, ...], perm: int, identities: tuple[Id, ...], expected: bool
) -> None:
    if expected:
        check_acl(acl, perm, identities, "/n")  # does not raise
    else:
        with pytest.raises(NoAuth) as info:
            check_acl(acl, perm, identities, "/n")
        assert info.value.code == ErrorCode.NOAUTH
        assert info.value.path == "/n"


# --- mask_digests --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("acl", "expected"),
    [
        ((), ()),
        (OPEN_ACL_UNSAFE, OPEN_ACL_UNSAFE),
        ((ACL(ALL, ALICE),), (ACL(ALL, Id("digest", "alice:x")),)),
        (
            (
                ACL(ALL, ALICE),
                ACL(READ, WORLD),
                ACL(5, Id("ip", "1.2.3.4")),
                ACL(3, Id("digest", "bob:h:extra")),
                ACL(0, Id("digest", ":hash")),
            ),
            (
                ACL(ALL, Id("digest", "alice:x")),
                ACL(READ, WORLD),
                ACL(5, Id("ip", "1.2.3.4")),
                ACL(3, Id("digest", "bob:x")),
                ACL(0, Id("digest", ":x")),
            ),
        ),
        # A digest id without ':' has nothing to hide (Java's replaceAll finds no match).
        ((ACL(ALL, Id("digest", "carol")),), (ACL(ALL, Id("digest", "carol")),)),
        # Only the digest scheme is masked.
        ((ACL(ALL, Id("sasl", "a:b")),), (ACL(ALL, Id("sasl", "a:b")),)),
    ],
)
def test_mask_digests(acl: tuple[ACL, ...], expected: tuple[ACL, ...]) -> None:
    assert mask_digests(acl) == expected
