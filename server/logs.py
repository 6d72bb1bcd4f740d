"""Logging: one line per event on stderr, with server id, zxid and session where they apply."""

from __future__ import annotations

import logging
import sys


def configure_logging(*, verbose: bool = False, server_id: int | None = None) -> None:
    """Send the project's log lines to stderr, one line each."""
    prefix = f"sid={server_id} " if server_id is not None else ""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter(f"%(asctime)s %(levelname)s {prefix}%(name)s: %(message)s")
    )
    root = logging.getLogger("zabkeeper")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.propagate = False
