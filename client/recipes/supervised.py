"""A background task that lives exactly as long as an ``async with`` block.

Recipes that keep something current while their user's block runs (a tree mirror, a
registration) own a nursery for that one task. Two details make a plain nursery awkward
there: trio wraps every exception leaving a nursery, the block's own included, in an
``ExceptionGroup``; and the block should be told, as a plain exception, when the task
failed (the session expired, say). :func:`supervised` does both.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import trio

__all__ = ["supervised"]


@asynccontextmanager
async def supervised(task: Callable[[trio.Event], Awaitable[object]]) -> AsyncIterator[None]:
    """Run ``task(ready)`` beside the block; the block starts once it sets ``ready``.

    When the block ends the task is cancelled. When the task fails, the block is cancelled
    and the task's exception is raised from the ``async with`` (unwrapped); exceptions of
    the block itself pass through unwrapped too.
    """
    ready = trio.Event()
    failure: list[Exception] = []
    error: BaseException | None = None
    async with trio.open_nursery() as nursery:

        async def guard() -> None:
            try:
                await task(ready)
            except Exception as exc:
                failure.append(exc)
                nursery.cancel_scope.cancel()
            finally:
                ready.set()  # a task that ended early must not hold the block back

        nursery.start_soon(guard)
        try:
            await ready.wait()
            yield
        except BaseException as exc:
            error = exc
        nursery.cancel_scope.cancel()
    if failure and (error is None or isinstance(error, trio.Cancelled)):
        raise failure[0]
    if error is not None:
        raise error
