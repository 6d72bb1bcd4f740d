"""A re-armable wake-up for one waiting task, set from synchronous code."""

from __future__ import annotations

import trio


class Wake:
    """``set`` from anywhere in the trio thread; ``wait`` returns once per batch of sets."""

    def __init__(self) -> None:
        self._event = trio.Event()

    def set(self) -> None:
        self._event.set()

    async def wait(self) -> None:
        await self._event.wait()
        self._event = trio.Event()
