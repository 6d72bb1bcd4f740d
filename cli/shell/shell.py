"""The shell proper: zkCli.sh's command loop over one session at a time.

:meth:`Shell.execute` is ``ZooKeeperMain.processCmd``: the shell's own commands (history,
redo, printwatches, connect, quit) first, then "Not connected" unless a session is alive,
then the command's handler. Failures are one line on stderr and set :attr:`Shell.exit_code`
(1, or 127 for an unknown command); unlike zkCli.sh, messages zkCli prints without
failing (``quota for /a does not exist.``) count as failures too.

Watch and state events are printed by :meth:`Shell.settle`, which the caller runs after
every command (and, in interactive mode, while waiting for input).
"""

from __future__ import annotations

import attrs
import trio

from cli.shell.errors import CliError, NotFound
from cli.shell.link import Link
from cli.shell.output import Output
from cli.shell.parse import split_line
from cli.shell.table import COMMANDS, LOCAL_USAGE, command_names, usage_lines
from cli.shell.tap import Frame
from cli.shell.watches import ShellWatches
from client import Client
from client.errors import ConnectionLoss, ZabkeeperError, ZooKeeperError
from znode.events import EventType, KeeperState

Event = tuple[EventType, KeeperState, str | None]


@attrs.frozen
class Settings:
    """How the shell was started: ``-server``, ``-timeout`` (ms), ``-r`` and ``--json``."""

    hosts: str = "localhost:2181"
    timeout_ms: int = 30000
    read_only: bool = False
    json_mode: bool = False


def java_decode(text: str) -> int | None:
    """``Integer.decode``: decimal, ``0x``/``#`` hex or ``0`` octal, with a sign."""
    sign, body = (-1, text[1:]) if text.startswith("-") else (1, text.removeprefix("+"))
    base = 10
    if body[:2].lower() == "0x":
        base, body = 16, body[2:]
    elif body.startswith("#"):
        base, body = 16, body[1:]
    elif body.startswith("0") and len(body) > 1:
        base, body = 8, body[1:]
    try:
        return sign * int(body, base) if body and body[0] not in "+-" else None
    except ValueError:
        return None


class Shell:
    """One shell: settings, the current session, history and watches.

    Args:
        settings: how it was started.
        nursery: where connection tasks run; they end once :meth:`shutdown` returns.
    """

    def __init__(self, settings: Settings, nursery: trio.Nursery) -> None:
        self.settings = settings
        self.host = settings.hosts
        self.out = Output(json_mode=settings.json_mode)
        self.watches = ShellWatches()
        self.history: dict[int, str] = {}
        self.count = 0
        self.print_watches = True
        self.exit_code = 0
        self.finished = False  # quit was given
        self._nursery = nursery
        self._link: Link | None = None
        self._reported: Link | None = None  # a failed link whose error was already shown
        self._events: list[Event] = []
        self._failed = False

    # --- the session ---------------------------------------------------------------------

    def connect(self, hosts: str) -> None:
        """Start connecting to ``hosts`` (the old session must be closed already)."""
        self.host = hosts
        link = Link(
            hosts,
            timeout=self.settings.timeout_ms / 1000,
            read_only=self.settings.read_only,
            on_state=lambda state: self._on_state(link, state),
            on_frame=lambda frame: self._on_frame(link, frame),
        )
        self._link = link
        self._nursery.start_soon(link.run)

    def _on_state(self, link: Link, state: KeeperState) -> None:
        if link is self._link:
            self._events.append((EventType.NONE, state, None))

    def _on_frame(self, link: Link, frame: Frame) -> None:
        if link is self._link:
            self.watches.on_frame(frame)

    async def wait_connected(self) -> None:
        """Wait until the current connection attempt succeeded or failed."""
        if self._link is not None:
            await self._link.ready.wait()

    @property
    def alive(self) -> bool:
        """Whether commands can run: a session is open, opening, or may be retried."""
        link = self._link
        return link is not None and (link.alive or link.retryable)

    def state_name(self) -> str:
        """The connection state as the prompt shows it (``CONNECTED``, ``CLOSED``, ...)."""
        return "CLOSED" if self._link is None else self._link.state_name()

    def prompt(self) -> str:
        """zkCli's prompt: ``[zk: 127.0.0.1:2181(CONNECTED) 0] ``."""
        return f"[zk: {self.host}({self.state_name()}) {self.count}] "

    def connected_client(self) -> Client | None:
        """The client if a session is established right now (no waiting)."""
        link = self._link
        return link.client if link is not None and link.client is not None and link.alive else None

    async def client(self, path: str | None) -> Client:
        """The connected client, once connected (retrying a connection that failed before).

        Raises:
            CliError: no session could be established (``ConnectionLoss`` for ``path``).
        """
        link = self._link
        if link is not None and link.retryable and self._reported is link:
            self.connect(self.host)
            link = self._link
        if link is None:
            raise CliError("Not connected")
        await link.ready.wait()
        await self.settle()
        if link.client is not None and link.alive:
            return link.client
        self._reported = link
        error = link.error
        if error is None or isinstance(error, ConnectionLoss):
            raise CliError.from_zookeeper(ConnectionLoss(path=path))
        raise CliError(f"{self.host}: {error}")

    async def close_session(self) -> None:
        """Close the session; the default watcher sees ``Closed``."""
        link, self._link = self._link, None
        self.watches.clear()
        if link is not None:
            await link.stop()
        self._events.append((EventType.NONE, KeeperState.CLOSED, None))

    async def shutdown(self) -> None:
        """Close everything at exit (without reporting it)."""
        self.watches.clear()
        if self._link is not None:
            await self._link.stop()

    # --- events ----------------------------------------------------------------------------

    def queue_event(self, type_: EventType, state: KeeperState, path: str | None) -> None:
        """An event for the default watcher, printed at the next :meth:`settle`."""
        self._events.append((type_, state, path))

    async def settle(self) -> None:
        """Print every state and watch event received so far (unless printwatches is off)."""
        for type_, node in self.watches.take_events():
            self._events.append((type_, KeeperState.SYNC_CONNECTED, node))
        events, self._events = self._events, []
        if not self.print_watches:
            return
        for type_, state, path in events:
            if self.out.json_mode and type_ is EventType.NONE:
                continue  # connection states are not results
            self.out.event(type_, state, path)

    # --- commands --------------------------------------------------------------------------

    def soft_error(self, message: str | None, *, json: dict[str, object] | None = None) -> None:
        """Report a failure zkCli.sh prints without failing; the command's status becomes 1."""
        self._failed = True
        if message is not None:
            self.out.line(message, err=True)
        self.out.json(json or {"error": message}, err=True)

    def _report(self, error: CliError) -> None:
        self.exit_code = error.exit_code
        self.out.line(error.message, err=True)
        self.out.json(error.as_json(), err=True)

    async def execute_line(self, line: str) -> None:
        """Run one line typed or read from stdin (kept in the numbered history)."""
        words = split_line(line)
        if not line.strip() or not words:
            return
        self.history[self.count] = line
        await self.execute(words)
        self.count += 1

    async def execute(self, words: list[str]) -> None:
        """Run one command given as words (the command name first)."""
        self._failed = False
        try:
            keep_status = await self._dispatch(words)
        except CliError as exc:
            self._report(exc)
        except ZooKeeperError as exc:
            self._report(CliError.from_zookeeper(exc))
        except ZabkeeperError as exc:  # the client's UsageError / ProtocolViolation
            self._report(CliError(str(exc)))
        else:
            if not keep_status:
                self.exit_code = 1 if self._failed else 0

    async def _dispatch(self, words: list[str]) -> bool:
        """Run a command; return True when the exit status must stay as it was (quit)."""
        name = words[0]
        if name == "help":
            self.out.lines(usage_lines())
            self.out.json({"commands": command_names()})
            return False
        if name not in COMMANDS and name not in LOCAL_USAGE:
            self.out.lines(usage_lines(), err=True)
            raise NotFound(name)
        if name == "quit":
            if self.alive:
                await self.close_session()
            self.finished = True
            return True
        if name == "redo" and len(words) >= 2:
            await self._redo(words[1])
        elif name == "history":
            self._history()
        elif name == "printwatches":
            self._printwatches(words)
        elif name == "connect":
            await self._reconnect(words[1] if len(words) >= 2 else self.host)
        if not self.alive:
            self.out.line("Not connected")
            self.soft_error(None, json={"error": "Not connected"})
            return False
        command = COMMANDS.get(name)
        if command is not None:
            await command.handler(self, command.parse(words, self.out))
        return False

    async def _redo(self, number: str) -> None:
        index = java_decode(number)
        if index is None:
            raise CliError(f"redo needs a command number, not {number!r}")
        if self.count <= index or index < 0:
            raise CliError("Command index out of range")
        line = self.history[index]
        words = split_line(line)
        if words[0] == "redo":
            raise CliError("No redoing redos")
        self.history[self.count] = line
        await self._dispatch(words)

    def _history(self) -> None:
        numbers = [i for i in range(self.count - 10, self.count + 1) if i >= 0]
        self.out.lines([f"{i} - {self.history.get(i, 'null')}" for i in numbers])
        self.out.json({"history": [{"index": i, "command": self.history.get(i)} for i in numbers]})

    def _printwatches(self, words: list[str]) -> None:
        if len(words) == 1:
            self.out.line(f"printwatches is {'on' if self.print_watches else 'off'}")
        else:
            self.print_watches = words[1] == "on"
        self.out.json({"printwatches": self.print_watches})

    async def _reconnect(self, hosts: str) -> None:
        if self.alive:
            await self.close_session()
        self.connect(hosts)
        await self.wait_connected()
