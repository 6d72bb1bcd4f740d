"""Ending a client's session from outside, as an expiry would, without racing the client."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

import trio

import client
from client.states import State
from server.testing import expire_session
from support.tcp_proxy import Proxy


class SessionKiller:
    """Clients whose sessions a test ends from outside, as an expiry would.

    The clients connect through a proxy; :meth:`expire` holds it down while
    :func:`server.testing.expire_session` closes the session (a connected client would
    resume its session at once and cut that second connection short), then lets the
    client reconnect to learn that its session expired.
    """

    def __init__(self, hosts: str, proxy: Proxy) -> None:
        self.hosts = hosts
        self.proxy = proxy

    def connect(self, **kwargs: Any) -> AbstractAsyncContextManager[client.Client]:
        """``client.connect`` through the proxy."""
        return client.connect(self.proxy.hosts, **kwargs)

    async def expire(self, zk: client.Client) -> None:
        """End ``zk``'s session; return once the client knows it expired."""
        password = zk.session_password
        self.proxy.up = False
        self.proxy.cut()
        await trio.to_thread.run_sync(expire_session, self.hosts, zk.session_id, password)
        self.proxy.up = True
        async with zk.states() as states:
            async for state in states:
                if state is State.EXPIRED:
                    break
