"""One connection of the shell: a task that holds a :func:`client.connect` session open.

zkCli.sh's ``connect`` and ``close`` replace or drop the session at any time, so the session
lives in its own task rather than in the shell's control flow: :meth:`Link.run` connects,
reports state changes as the default watcher sees them, and keeps the session until
:meth:`Link.stop`.
"""

from __future__ import annotations

from collections.abc import Callable

import trio

import client
from cli.shell.tap import OnFrame, tapping_opener
from client import Client, State, parse_hosts
from client.errors import AuthFailed, ConnectionLoss, ZooKeeperError
from znode.events import KeeperState


class Link:
    """A session to ``hosts``, opened by :meth:`run` (start it in a nursery).

    Args:
        hosts: the connect string.
        timeout: session timeout asked for, in seconds; also the time allowed to connect.
        read_only: accept a read-only server.
        on_state: called with the keeper state of every change (connected, disconnected,
            expired), as zkCli's default watcher is.
        on_frame: called with every frame received, in order (see :mod:`cli.shell.tap`).
    """

    def __init__(
        self,
        hosts: str,
        *,
        timeout: float,
        read_only: bool,
        on_state: Callable[[KeeperState], None],
        on_frame: OnFrame,
    ) -> None:
        self.hosts = hosts
        self.timeout = timeout
        self.read_only = read_only
        self.on_state = on_state
        self.on_frame = on_frame
        self.client: Client | None = None
        self.error: ZooKeeperError | None = None
        self.ready = trio.Event()  # connected, or failed to
        self.finished = trio.Event()
        self._stop = trio.Event()
        self._scope = trio.CancelScope()

    @property
    def alive(self) -> bool:
        """Whether the session is (or is being) established and not closed or expired."""
        if self.finished.is_set():
            return False
        return self.client is None or self.client.state not in (State.CLOSED, State.EXPIRED)

    @property
    def retryable(self) -> bool:
        """Whether connecting failed in a way another attempt may fix (no server answered)."""
        return self.client is None and isinstance(self.error, ConnectionLoss)

    def state_name(self) -> str:
        """The state as zkCli's prompt shows it (Java's ``ZooKeeper.States``)."""
        if isinstance(self.error, AuthFailed):
            return "AUTH_FAILED"
        if self.client is None:
            return "CONNECTING" if self.retryable or not self.finished.is_set() else "CLOSED"
        state = self.client.state
        if state is State.CONNECTED:
            return "CONNECTEDREADONLY" if self.client.read_only else "CONNECTED"
        if state in (State.CONNECTING, State.SUSPENDED):
            return "CONNECTING"
        return "CLOSED"

    def _report(self, state: State, zk: Client) -> None:
        if state is State.CONNECTED:
            read_only = zk.read_only
            self.on_state(
                KeeperState.CONNECTED_READ_ONLY if read_only else KeeperState.SYNC_CONNECTED
            )
        elif state is State.SUSPENDED:
            self.on_state(KeeperState.DISCONNECTED)
        elif state is State.EXPIRED:
            self.on_state(KeeperState.EXPIRED)

    async def _follow(self, zk: Client, states: client.StateStream) -> None:
        async for state in states:
            self._report(state, zk)

    async def run(self) -> None:
        """Connect and hold the session until :meth:`stop`; failures land on :attr:`error`."""
        try:
            with self._scope:
                await self._hold()
        except ZooKeeperError as exc:
            self.error = exc
        finally:
            self.ready.set()
            self.finished.set()

    async def _hold(self) -> None:
        async with client.connect(
            self.hosts,
            session_timeout=self.timeout,
            connect_timeout=self.timeout,
            read_only=self.read_only,
            open_stream=tapping_opener(parse_hosts(self.hosts).chroot, self.on_frame),
        ) as zk:
            self.client = zk
            async with zk.states() as states, trio.open_nursery() as nursery:
                first = states.next_nowait()
                if first is not None:
                    self._report(first, zk)
                self.ready.set()
                nursery.start_soon(self._follow, zk, states)
                await self._stop.wait()
                nursery.cancel_scope.cancel()

    async def stop(self) -> None:
        """Close the session (if open) and wait until the task is done."""
        self._stop.set()
        if not self.ready.is_set():
            self._scope.cancel()  # still connecting: give up at once
        await self.finished.wait()
