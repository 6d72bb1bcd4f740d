"""The settings the server core needs, derived from the full server configuration."""

from __future__ import annotations

import attrs


@attrs.frozen(kw_only=True)
class CoreSettings:
    """What :class:`server.core.ServerCore` decides with; times in milliseconds."""

    tick_ms: int = 2000
    min_session_timeout: int = 4000
    max_session_timeout: int = 40000
    server_id: int = 1
    ttl_enabled: bool = True
    super_digest: str | None = None
    container_check_interval_ms: int = 60_000
    container_max_per_minute: int = 10_000
    max_frame: int = 1_048_575
