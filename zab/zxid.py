"""Zxids: ``epoch << 32 | counter``, ZooKeeper's ZxidUtils."""

from __future__ import annotations

COUNTER_MASK = 0xFFFF_FFFF
MAX_COUNTER = COUNTER_MASK


def make_zxid(epoch: int, counter: int) -> int:
    """The zxid of ``counter`` in ``epoch``."""
    return (epoch << 32) | (counter & COUNTER_MASK)


def epoch_of(zxid: int) -> int:
    return zxid >> 32


def counter_of(zxid: int) -> int:
    return zxid & COUNTER_MASK


def format_zxid(zxid: int) -> str:
    """``epoch:counter``, as the simulator's traces print it."""
    return f"{epoch_of(zxid)}:{counter_of(zxid)}"
