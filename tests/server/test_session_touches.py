"""A learner's session-activity reports reach the leader whole."""

from __future__ import annotations

from server.commit_step import decode_touches, encode_touches


def test_reports_joined_between_two_pings_decode_to_every_session() -> None:
    # A learner makes a report each core tick and sends all of them with the next ping.
    joined = encode_touches({3, 1}) + encode_touches(set()) + encode_touches({2, 3})
    assert sorted(set(decode_touches(joined))) == [1, 2, 3]


def test_one_report_and_no_report() -> None:
    assert decode_touches(encode_touches({7})) == [7]
    assert decode_touches(b"") == []


def test_a_damaged_tail_keeps_the_reports_before_it() -> None:
    good = encode_touches({5, 6})
    assert decode_touches(good + b"\xc1") == [5, 6]
    assert decode_touches(good + encode_touches({8})[:-1]) == [5, 6]
