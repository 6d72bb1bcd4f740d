"""Reading commands: a prompt_toolkit prompt on a terminal, plain lines otherwise.

prompt_toolkit runs its own (asyncio) loop, so the prompt runs in a worker thread while the
trio loop keeps the session alive and prints watch events above the prompt
(``patch_stdout``). Completion of znode paths calls back into the trio loop for the
children of the node being typed. The line history is kept in ``$ZABKEEPER_HISTORY`` or
``~/.zabkeeper_history``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

import trio
from prompt_toolkit import PromptSession
from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory
from prompt_toolkit.patch_stdout import patch_stdout

from cli.shell.shell import Shell
from cli.shell.table import command_names
from client.errors import ZooKeeperError
from znode.paths import join

T = TypeVar("T")
#: Seconds a completion may wait for the server.
COMPLETION_TIMEOUT = 2.0
#: How often events are printed (and the prompt redrawn) while waiting for input.
EVENT_POLL_INTERVAL = 0.1
#: How long the first prompt waits for the session, so that it shows the real state.
FIRST_PROMPT_WAIT = 5.0


def history_path() -> Path:
    """Where the line history is kept across runs."""
    configured = os.environ.get("ZABKEEPER_HISTORY")
    return Path(configured) if configured else Path.home() / ".zabkeeper_history"


class ShellCompleter(Completer):
    """Completes command names (first word) and znode paths (words starting with ``/``).

    Args:
        children: returns the children of a path (empty when unknown); called from
            prompt_toolkit's thread.
    """

    def __init__(self, children: Callable[[str], list[str]]) -> None:
        self.children = children
        self.names = command_names()

    def get_completions(
        self, document: Document, complete_event: CompleteEvent
    ) -> Iterable[Completion]:
        text = document.text_before_cursor
        word = document.get_word_before_cursor(WORD=True)
        if not text[: len(text) - len(word)].strip():
            for name in self.names:
                if name.startswith(word):
                    yield Completion(name, start_position=-len(word))
        elif word.startswith("/"):
            parent, _, prefix = word.rpartition("/")
            parent = parent or "/"
            for child in sorted(self.children(parent)):
                if child.startswith(prefix):
                    yield Completion(join(parent, child), start_position=-len(word))


async def _children(shell: Shell, path: str) -> list[str]:
    zk = shell.connected_client()
    if zk is None:
        return []
    with trio.move_on_after(COMPLETION_TIMEOUT):
        try:
            return await zk.children(path)
        except ZooKeeperError:
            return []
    return []


async def wait_printing_events(shell: Shell, read: Callable[[], T]) -> T:
    """Run the blocking ``read`` in a thread, printing events meanwhile.

    Exceptions of ``read`` (``EOFError``, ``KeyboardInterrupt``) are raised as they are.
    """
    done = trio.Event()
    outcome: list[T] = []
    failure: list[BaseException] = []

    async def pump() -> None:
        while not done.is_set():
            await shell.settle()
            with trio.move_on_after(EVENT_POLL_INTERVAL):
                await done.wait()

    async def call() -> None:
        try:
            outcome.append(await trio.to_thread.run_sync(read, abandon_on_cancel=True))
        except (EOFError, KeyboardInterrupt) as exc:
            failure.append(exc)
        finally:
            done.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(pump)
        nursery.start_soon(call)
    if failure:
        raise failure[0]
    return outcome[0]


async def read_lines(shell: Shell) -> None:
    """Run the lines of a non-terminal stdin, printing events as they come."""
    await shell.wait_connected()
    await shell.settle()
    while not shell.finished:
        line = await wait_printing_events(shell, sys.stdin.readline)
        if not line:
            break
        await shell.execute_line(line.rstrip("\r\n"))
        await shell.settle()


async def interactive(shell: Shell) -> None:
    """The terminal shell: prompt, history across runs, completion; ends on quit or EOF."""
    token = trio.lowlevel.current_trio_token()
    path = history_path()
    path.parent.mkdir(parents=True, exist_ok=True)

    def children(parent: str) -> list[str]:
        return trio.from_thread.run(_children, shell, parent, trio_token=token)

    session: PromptSession[str] = PromptSession(
        shell.prompt,
        history=FileHistory(str(path)),
        completer=ShellCompleter(children),
        complete_while_typing=False,  # Tab completes, as in zkCli; no server call per key
    )
    shell.out.line("Welcome to zabkeeper! Type help for the commands.")
    with trio.move_on_after(min(FIRST_PROMPT_WAIT, shell.settings.timeout_ms / 1000)):
        await shell.wait_connected()
    while not shell.finished:
        try:
            # Events arriving while the prompt is shown go above it; command output is
            # written directly, in order.
            with patch_stdout(raw=True):
                line = await wait_printing_events(
                    shell, lambda: session.prompt(handle_sigint=False)
                )
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        await shell.execute_line(line)
        await shell.settle()
