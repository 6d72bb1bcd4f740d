"""The msgpack txn codec: round trips for every txn type, golden bytes, garbage rejected."""

from __future__ import annotations

from typing import Any, get_args

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from znode.acl import ACL, OPEN_ACL_UNSAFE, Id
from znode.errors import CorruptRecord
from znode.txn import (
    CONTAINER_OWNER,
    CheckVersionTxn,
    CloseSessionTxn,
    CreateSessionTxn,
    CreateTxn,
    DeleteTxn,
    ErrorTxn,
    MultiTxn,
    SetACLTxn,
    SetDataTxn,
    Txn,
    TxnHeader,
    ttl_owner,
)
from znode.txn_codec import TXN_TAGS, acl_from_wire, decode_txn, encode_txn

I32 = st.integers(-(2**31), 2**31 - 1)
I64 = st.integers(-(2**63), 2**63 - 1)
PATHS = st.text(max_size=30)
DATA = st.none() | st.binary(max_size=64)
ACLS = st.lists(
    st.builds(ACL, I32, st.builds(Id, st.text(max_size=10), st.text(max_size=20))), max_size=3
).map(tuple)
OWNERS = I64 | st.sampled_from([0, CONTAINER_OWNER, ttl_owner(1000)])
HEADERS = st.builds(TxnHeader, I64, I32, I64, I64, I32)

LEAF_TXNS: st.SearchStrategy[Txn] = st.one_of(
    st.builds(CreateTxn, PATHS, DATA, ACLS, OWNERS, I32),
    st.builds(DeleteTxn, PATHS),
    st.builds(SetDataTxn, PATHS, DATA, I32),
    st.builds(SetACLTxn, PATHS, ACLS, I32),
    st.builds(CheckVersionTxn, PATHS, I32),
    st.builds(ErrorTxn, I32),
    st.builds(CreateSessionTxn, I32),
    st.just(CloseSessionTxn()),
)
TXNS: st.SearchStrategy[Txn] = st.recursive(
    LEAF_TXNS,
    lambda inner: st.lists(st.tuples(I32, inner), max_size=4).map(lambda t: MultiTxn(tuple(t))),
    max_leaves=8,
)

HEADER = TxnHeader(0x100, 7, 0x5_0000_0003, 1_700_000_000_000, 1)
CREATE = CreateTxn("/a", b"xy", OPEN_ACL_UNSAFE, 0, 2)


def assert_exact(value: object, expected: object) -> None:
    """Equal *and* of the same types all the way down (an ACL must not come back a tuple)."""
    assert value == expected
    assert type(value) is type(expected)
    if isinstance(expected, tuple):
        assert isinstance(value, tuple)
        for got, want in zip(value, expected, strict=True):
            assert_exact(got, want)
    elif isinstance(expected, MultiTxn | CreateTxn | SetACLTxn | TxnHeader):
        for name in expected.__attrs_attrs__:
            assert_exact(getattr(value, name.name), getattr(expected, name.name))


def packet(*items: Any) -> bytes:
    return msgpack.packb(list(items), use_bin_type=True)  # type: ignore[no-any-return]


def header_items(header: TxnHeader = HEADER) -> list[int]:
    return [header.session_id, header.cxid, header.zxid, header.time, header.type]


# --- round trips -------------------------------------------------------------------------------


def test_every_txn_class_has_a_tag() -> None:
    assert set(TXN_TAGS) == set(get_args(Txn))
    assert len(set(TXN_TAGS.values())) == len(TXN_TAGS)


@settings(max_examples=300, deadline=None)
@given(HEADERS, TXNS)
def test_round_trip(header: TxnHeader, txn: Txn) -> None:
    body = encode_txn(header, txn)
    assert isinstance(body, bytes)
    got_header, got_txn = decode_txn(body)
    assert_exact(got_header, header)
    assert_exact(got_txn, txn)


@pytest.mark.parametrize(
    "txn",
    [
        CreateTxn("/n", None, OPEN_ACL_UNSAFE, 0, 1),
        CreateTxn("/n", b"", OPEN_ACL_UNSAFE, 0, 1),
        SetDataTxn("/n", None, 3),
        SetDataTxn("/n", b"", 3),
        CreateTxn("/n", b"v", (), -(2**63), 2**31 - 1),
        CloseSessionTxn(),
        CreateSessionTxn(30_000),
        ErrorTxn(-101),
        MultiTxn(()),
        MultiTxn(((1, CREATE), (14, MultiTxn(((13, CheckVersionTxn("/a", 3)),))))),
        MultiTxn(((-1, ErrorTxn(0)), (-1, ErrorTxn(-101)), (-1, ErrorTxn(-2)))),
    ],
    ids=repr,
)
def test_round_trip_edge_cases(txn: Txn) -> None:
    assert_exact(decode_txn(encode_txn(HEADER, txn)), (HEADER, txn))


def test_data_none_and_empty_stay_distinct() -> None:
    _, empty = decode_txn(encode_txn(HEADER, SetDataTxn("/n", b"", 1)))
    _, null = decode_txn(encode_txn(HEADER, SetDataTxn("/n", None, 1)))
    assert isinstance(empty, SetDataTxn)
    assert isinstance(null, SetDataTxn)
    assert empty.data == b""
    assert null.data is None


def test_lone_surrogates_in_an_acl_id_round_trip() -> None:
    txn = SetACLTxn("/n", (ACL(31, Id("digest", "u\udc80:x")),), 1)
    assert decode_txn(encode_txn(HEADER, txn)) == (HEADER, txn)


def test_golden_bytes() -> None:
    # [1, session, cxid, zxid, time, type, path, data, [[31, ["world", "anyone"]]], owner, pcv]
    assert encode_txn(HEADER, CREATE).hex() == (
        "9b01cd010007cf0000000500000003cf0000018bcfe5680001a22f61c402787991921f92"
        "a5776f726c64a6616e796f6e650002"
    )
    multi = MultiTxn(((2, DeleteTxn("/a")), (-1, ErrorTxn(-101))))
    assert encode_txn(TxnHeader(-5, -1, 9, 0, 14), multi).hex() == (
        "9709fbff09000e92930202a22f6193ff06d09b"
    )


def test_encode_rejects_a_non_txn() -> None:
    with pytest.raises(TypeError):
        encode_txn(HEADER, "not a txn")  # type: ignore[arg-type]


def test_encode_rejects_out_of_range_ints() -> None:
    with pytest.raises(ValueError, match="out of range"):
        encode_txn(HEADER, ErrorTxn(2**64))


# --- garbage rejected --------------------------------------------------------------------------

GOOD = header_items()
BAD_BODIES = {
    "empty": b"",
    "not msgpack": b"\xc1",
    "truncated": encode_txn(HEADER, CREATE)[:-1],
    "trailing byte": encode_txn(HEADER, CREATE) + b"\x00",
    "not an array": packet(1)[1:],  # a bare int
    "map": msgpack.packb({"tag": 1}),
    "short header": packet(8, 1, 2, 3),
    "unknown tag": packet(99, *GOOD),
    "bool tag": packet(True, *GOOD, "/a"),
    "float header field": packet(8, 1.0, 2, 3, 4, 1),
    "bool header field": packet(8, 1, True, 3, 4, 1),
    "cxid beyond i32": packet(8, 1, 2**31, 3, 4, 1),
    "zxid beyond i64": packet(8, 1, 2, 2**63, 4, 1),
    "close with a field": packet(8, *GOOD, 1),
    "delete without path": packet(2, *GOOD),
    "delete path is bytes": packet(2, *GOOD, b"/a"),
    "create arity": packet(1, *GOOD, "/a", b"", [], 0),
    "create data is str": packet(1, *GOOD, "/a", "x", [], 0, 1),
    "create owner float": packet(1, *GOOD, "/a", b"", [], 0.0, 1),
    "create pcv beyond i32": packet(1, *GOOD, "/a", b"", [], 0, 2**31),
    "acl not array": packet(1, *GOOD, "/a", b"", 5, 0, 1),
    "acl entry flat": packet(1, *GOOD, "/a", b"", [[31, "world", "anyone"]], 0, 1),
    "acl id not pair": packet(1, *GOOD, "/a", b"", [[31, ["world"]]], 0, 1),
    "acl scheme int": packet(1, *GOOD, "/a", b"", [[31, [1, "anyone"]]], 0, 1),
    "acl perms str": packet(1, *GOOD, "/a", b"", [["31", ["world", "anyone"]]], 0, 1),
    "acl perms float": packet(1, *GOOD, "/a", b"", [[31.0, ["world", "anyone"]]], 0, 1),
    "acl perms bool": packet(1, *GOOD, "/a", b"", [[True, ["world", "anyone"]]], 0, 1),
    "acl holds a map": packet(1, *GOOD, "/a", b"", [{"perms": 31}], 0, 1),
    "set data version str": packet(3, *GOOD, "/a", b"", "1"),
    "set data is str": packet(3, *GOOD, "/a", "x", 1),
    "set data path is int": packet(3, *GOOD, 5, b"", 1),
    "set acl arity": packet(4, *GOOD, "/a", []),
    "check version big": packet(5, *GOOD, "/a", 2**40),
    "error code none": packet(6, *GOOD, None),
    "session timeout float": packet(7, *GOOD, 1.5),
    "multi not array": packet(9, *GOOD, 5),
    "multi entry short": packet(9, *GOOD, [[1]]),
    "multi entry op str": packet(9, *GOOD, [["1", 2, "/a"]]),
    "multi entry bad tag": packet(9, *GOOD, [[1, 77, "/a"]]),
    "multi entry bad field": packet(9, *GOOD, [[2, 2, 5]]),
    "ext type": packet(8, msgpack.ExtType(1, b"x"), 2, 3, 4, 1),
    "invalid utf-8": bytes.fromhex("97 02 01 02 03 04 02 a1 ff".replace(" ", "")),
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_garbage_is_a_corrupt_record(body: bytes) -> None:
    with pytest.raises(CorruptRecord) as info:
        decode_txn(body, source="log.100000001", offset=4096)
    assert info.value.source == "log.100000001"
    assert info.value.offset == 4096
    assert "log.100000001" in str(info.value)


@pytest.mark.parametrize("raw", [5, ((1, ("a",)),), ({"x": 1},), ((1, (2, "b")),)], ids=repr)
def test_acl_from_wire_raises_value_error(raw: object) -> None:
    with pytest.raises(ValueError, match="ACL"):
        acl_from_wire(raw)


def test_a_cached_acl_does_not_admit_a_float_twin() -> None:
    good = packet(1, *GOOD, "/a", b"", [[7, ["world", "anyone"]]], 0, 1)
    assert decode_txn(good)[1] == CreateTxn("/a", b"", (ACL(7, Id("world", "anyone")),), 0, 1)
    twin = packet(1, *GOOD, "/a", b"", [[7.0, ["world", "anyone"]]], 0, 1)
    with pytest.raises(CorruptRecord):
        decode_txn(twin)


def test_default_source_and_offset() -> None:
    with pytest.raises(CorruptRecord) as info:
        decode_txn(b"\xc1")
    assert (info.value.source, info.value.offset) == ("txn", 0)


def _decodes_cleanly(body: bytes) -> None:
    """Either a CorruptRecord, or a txn that survives its own round trip."""
    try:
        header, txn = decode_txn(body)
    except CorruptRecord:
        return
    assert type(header) is TxnHeader
    assert type(txn) in TXN_TAGS
    assert decode_txn(encode_txn(header, txn)) == (header, txn)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_never_leak_other_errors(body: bytes) -> None:
    _decodes_cleanly(body)


@settings(max_examples=300, deadline=None)
@given(HEADERS, TXNS, st.data())
def test_damaged_packets_never_leak_other_errors(
    header: TxnHeader, txn: Txn, data: st.DataObject
) -> None:
    body = bytearray(encode_txn(header, txn))
    action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
    at = data.draw(st.integers(0, len(body) - 1))
    if action == "flip":
        body[at] ^= data.draw(st.integers(1, 255))
    elif action == "cut":
        del body[at:]
    else:
        body[at:at] = data.draw(st.binary(min_size=1, max_size=4))
    _decodes_cleanly(bytes(body))
