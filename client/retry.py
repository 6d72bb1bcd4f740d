"""Retrying a call that failed with ``ConnectionLoss`` (kazoo's ``KazooRetry``, for trio).

A call made while the client is suspended already waits for the session to be resumed;
what it cannot do alone is decide that a call *in flight* when the connection dropped may
be sent again. Only the caller knows whether that is safe (a read, a ``set`` with a
version, a create of a uuid-named node), so retrying is explicit::

    data, stat = await retrying(zk.get, "/config")
    await Retry(max_tries=10).call(zk.set, "/config", b"x", version=stat.version)

``SessionExpired`` and every other error are raised at once.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

import attrs
import trio

from client.errors import ConnectionLoss, OperationTimeout

P = ParamSpec("P")
T = TypeVar("T")

#: the errors a retry is for
RETRYABLE = (ConnectionLoss, OperationTimeout)


@attrs.frozen(kw_only=True)
class Retry:
    """How often and how patiently to retry.

    Args:
        max_tries: calls in all (the first one included); the last error is raised.
        delay: seconds before the first retry, then multiplied by ``backoff`` each time,
            up to ``max_delay``, each with up to ``jitter`` of it added at random.
    """

    max_tries: int = attrs.field(default=5, validator=attrs.validators.ge(1))
    delay: float = 0.1
    backoff: float = 2.0
    max_delay: float = 5.0
    jitter: float = 0.2

    async def call(self, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """``await fn(*args, **kwargs)``, again after a retryable error."""
        delay = self.delay
        for attempt in range(1, self.max_tries + 1):
            try:
                return await fn(*args, **kwargs)
            except RETRYABLE:
                if attempt == self.max_tries:
                    raise
            await trio.sleep(delay * (1 + random.uniform(0, self.jitter)))
            delay = min(delay * self.backoff, self.max_delay)
        raise AssertionError("unreachable")  # pragma: no cover


async def retrying(fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
    """``await fn(*args, **kwargs)`` with the default :class:`Retry` policy."""
    return await Retry().call(fn, *args, **kwargs)
