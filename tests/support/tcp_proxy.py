"""A TCP proxy on 127.0.0.1 whose connections a test can cut (trio, in the test's nursery).

``await nursery.start(proxy.run)`` binds a free port; clients connect to
``proxy.hosts`` and are forwarded to the target. ``proxy.cut()`` closes every forwarded
connection at once (both sides see it), and while ``proxy.up`` is false new connections
are closed as soon as they are accepted, as if the server were down.
"""

from __future__ import annotations

import trio


class Proxy:
    """Forwards 127.0.0.1:<port> to 127.0.0.1:``target_port``."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.up = True
        self.accepted = 0
        self._scopes: set[trio.CancelScope] = set()

    @property
    def hosts(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def run(self, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started(self.port)
        await trio.serve_listeners(self._handle, listeners)

    def cut(self) -> None:
        """Close every forwarded connection now."""
        for scope in list(self._scopes):
            scope.cancel()

    async def _handle(self, downstream: trio.SocketStream) -> None:
        self.accepted += 1
        if not self.up:
            await trio.aclose_forcefully(downstream)
            return
        with trio.CancelScope() as scope:
            self._scopes.add(scope)
            try:
                upstream = await trio.open_tcp_stream("127.0.0.1", self.target_port)
                try:
                    async with trio.open_nursery() as nursery:
                        nursery.start_soon(self._pump, downstream, upstream, scope)
                        nursery.start_soon(self._pump, upstream, downstream, scope)
                finally:
                    await trio.aclose_forcefully(upstream)
            except OSError:
                pass
            finally:
                self._scopes.discard(scope)
        await trio.aclose_forcefully(downstream)

    @staticmethod
    async def _pump(
        source: trio.SocketStream, sink: trio.SocketStream, scope: trio.CancelScope
    ) -> None:
        try:
            while data := await source.receive_some(65536):
                await sink.send_all(data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass
        scope.cancel()
