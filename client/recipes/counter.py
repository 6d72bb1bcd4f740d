"""A shared counter, stored as kazoo's ``Counter`` stores it.

::

    hits = Counter(zk, "/stats/hits")
    await hits.add(1)                  # returns the new value
    print(await hits.value())

    ratio = Counter(zk, "/stats/ratio", 0.0)   # a float counter

**Encoding** (kazoo ``Counter``): the node's data is ``repr(value)`` in ASCII (``b"42"``,
``b"0.5"``); an empty node holds the default. kazoo's counter and this one can share a
path in either direction.

**Atomicity.** :meth:`Counter.add` reads the value and its version and writes the sum with
that version; a ``BadVersion`` (someone else added first) makes it read again and retry.
The versioned set is committed with a receipt (:mod:`client.recipes.receipts`), so a set
whose reply was lost is never applied twice: kazoo's retry would add twice in that case.
Once sent, an add is seen through even if the caller is cancelled.
"""

from __future__ import annotations

from types import TracebackType
from typing import Generic, TypeVar, overload

from client.client import Client
from client.errors import BadVersion
from client.recipes._nodes import retry
from client.recipes.receipts import Receipts

__all__ = ["Counter"]

N = TypeVar("N", int, float)


class Counter(Generic[N]):
    """A counter of ints (or of floats, with a float ``default``) at ``path``.

    ``async with counter:`` also deletes its last receipt (a child of ``path``) when the
    block ends; otherwise it goes with the session.

    Args:
        client: the connected client.
        path: the counter's node; created (persistent, empty) when missing.
        default: the value of an empty node; its type is the counter's type.
    """

    @overload
    def __init__(self: Counter[int], client: Client, path: str) -> None: ...
    @overload
    def __init__(self, client: Client, path: str, default: N) -> None: ...
    def __init__(self, client: Client, path: str, default: N | int = 0) -> None:
        self.client = client
        self.path = path
        self.default: N = default
        self._type: type[N] = type(self.default)
        # The receipts are children of the counter's node: kazoo never lists them.
        self._receipts = Receipts(client, path)

    def _decode(self, data: bytes) -> N:
        return self._type(data.decode("ascii")) if data else self.default

    @staticmethod
    def _encode(value: int | float) -> bytes:
        return repr(value).encode("ascii")

    async def value(self) -> N:
        """The counter's current value."""
        await self._receipts.ensure_directory()
        data, _ = await retry(self.client, self.client.get, self.path)
        return self._decode(data)

    async def add(self, amount: N) -> N:
        """Add ``amount`` (negative to subtract) atomically; return the new value."""
        if not isinstance(amount, self._type):
            raise TypeError(f"this counter counts {self._type.__name__}s")
        await self._receipts.ensure_directory()
        while True:
            data, stat = await retry(self.client, self.client.get, self.path)
            new = self._decode(data) + amount
            encoded = self._encode(new)
            try:
                await self._receipts.commit(
                    lambda txn: txn.set(self.path, encoded, stat.version)  # noqa: B023 - called at once
                )
            except BadVersion:
                continue
            return new

    async def __aenter__(self) -> Counter[N]:
        await self._receipts.ensure_directory()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._receipts.close()

    def __repr__(self) -> str:
        return f"<Counter {self.path!r}>"
