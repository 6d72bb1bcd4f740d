"""Errors of the ZAB core, split by fault as h11 does: the caller's or a peer's."""

from __future__ import annotations

from znode.errors import ZabkeeperError


class ZabError(ZabkeeperError):
    """Root of the ZAB core's errors."""


class UsageError(ZabError):
    """The caller used the core wrongly (our bug)."""


class NotLeader(UsageError):
    """``propose`` on a peer that is not an established leader in BROADCAST."""


class NotConnected(UsageError):
    """A learner asked to forward while it is not in BROADCAST with a leader."""


class ProtocolViolation(ZabError):
    """A peer sent something that does not fit the protocol state (its fault or the network's)."""

    def __init__(self, peer: int, packet: object, phase: str, reason: str) -> None:
        self.peer = peer
        self.packet = packet
        self.phase = phase
        super().__init__(f"peer {peer} in {phase}: {reason}: {packet!r}")
