"""Majority quorums over the voting members."""

from __future__ import annotations

from collections.abc import Collection, Iterable


def quorum_size(voters: Collection[int]) -> int:
    """Smallest majority of ``voters``."""
    return len(voters) // 2 + 1


def has_quorum(acks: Iterable[int], voters: Collection[int]) -> bool:
    """Whether the voters among ``acks`` form a majority of ``voters``."""
    return len(set(acks) & set(voters)) >= quorum_size(voters)
