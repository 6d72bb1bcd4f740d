"""The ZAB core's configuration, every duration in core ticks."""

from __future__ import annotations

import attrs


@attrs.frozen(kw_only=True)
class PeerConfig:
    """Who is in the ensemble and how long to wait for what (in ticks of the core).

    The shell converts ZooKeeper's tickTime / initLimit / syncLimit into core ticks; a core
    tick is much shorter than tickTime so elections are not quantized to seconds.
    """

    my_id: int
    voters: frozenset[int]
    observers: frozenset[int] = frozenset()
    init_limit: int = 200  # discovery + synchronization
    sync_limit: int = 100  # broadcast: silence before a peer is considered gone
    ping_interval: int = 10
    finalize_wait: int = 4  # election: wait for better votes once a quorum agrees
    notify_min: int = 4  # election: first notification resend interval
    notify_max: int = 200  # ...doubling up to this
    committed_window: int = 500  # committed txns kept in memory for DIFF

    @property
    def members(self) -> frozenset[int]:
        return self.voters | self.observers

    @property
    def is_observer(self) -> bool:
        return self.my_id in self.observers

    def __attrs_post_init__(self) -> None:
        if self.my_id not in self.members:
            raise ValueError(f"server {self.my_id} is not a member")
        if self.voters & self.observers:
            raise ValueError("a server cannot be both voter and observer")
        if not self.voters:
            raise ValueError("an ensemble needs voters")
