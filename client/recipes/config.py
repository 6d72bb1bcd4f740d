"""Configuration pushed to subscribers: one JSON document per node, newest always wins.

::

    store = ConfigStore(zk, "/config/app")
    await store.publish({"workers": 8, "debug": False})

    async with store.subscribe() as updates:
        async for config in updates:        # the current value first, then each newer one
            apply(config.value)

**Layout.** The node ``path`` holds ``{"value": <value>, "version": <n>}`` as UTF-8 JSON,
where ``n`` is the node's data version the document was written at (0 for the first
publish, which creates the node). Each publish is a set at the version just read, so ``n``
always equals the node's version and concurrent publishers never overwrite each other
unseen: the loser reads again and writes the next version.

**Subscribers** follow the node with one persistent watch, armed *before* the first read:
a change after that read always leaves an event behind, so there is no window between a
read and re-arming a watch to lose one in. After an event (or a reconnect) the node is read
again and a value is yielded only if its ``mzxid`` is newer than the last one yielded.
Under a burst of publishes a subscriber may skip versions, since it reads the newest state,
but it never yields an older value after a newer one and its last value is the latest.
"""

from __future__ import annotations

import json
from types import TracebackType
from typing import TypeAlias

import attrs

from client.client import Client
from client.errors import BadVersion, ConnectionLoss, NodeExists, NoNode, UsageError
from client.recipes._nodes import ended, retry
from client.watch_table import WatchKind
from client.watches import Watch
from znode.stat import Stat

__all__ = ["ConfigStore", "ConfigSubscription", "ConfigVersion", "Json"]

Json: TypeAlias = bool | int | float | str | list["Json"] | dict[str, "Json"] | None


@attrs.frozen
class ConfigVersion:
    """A published value and the node version (and zxid of the write) it was read at."""

    value: Json
    version: int
    mzxid: int


def encode(value: Json, version: int) -> bytes:
    """The node data for ``value`` published at ``version``."""
    return json.dumps({"value": value, "version": version}, sort_keys=True).encode("utf-8")


def decode(data: bytes, stat: Stat) -> ConfigVersion:
    """The value in a node's data.

    Raises:
        ValueError: the data is not a ConfigStore document.
    """
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"not a ConfigStore document: {exc}") from None
    if not isinstance(document, dict) or "value" not in document:
        raise ValueError("not a ConfigStore document: no 'value'")
    return ConfigVersion(document["value"], stat.version, stat.mzxid)


class ConfigStore:
    """A JSON value at ``path`` that publishers replace and subscribers follow.

    Args:
        client: the connected client.
        path: the node holding the document; created (with its parents) by the first
            :meth:`publish`.
    """

    def __init__(self, client: Client, path: str) -> None:
        self.client = client
        self.path = path

    async def get(self) -> ConfigVersion | None:
        """The current value, or ``None`` if nothing was published yet."""
        try:
            data, stat = await retry(self.client, self.client.get, self.path)
        except NoNode:
            return None
        return decode(data, stat)

    async def publish(self, value: Json) -> int:
        """Replace the value; return the version it was published at.

        If the reply is lost and, by the time the node is read again, a newer value has
        replaced it, the value counts as published at the version it was written for
        (and already replaced): it is not written again over the newer one.
        """
        while True:
            stat = await retry(self.client, self.client.exists, self.path)
            version = 0 if stat is None else stat.version + 1
            data = encode(value, version)
            try:
                if stat is None:
                    await self.client.create(self.path, data, makepath=True)
                else:
                    await self.client.set(self.path, data, stat.version)
                return version
            except (NodeExists, BadVersion):
                continue  # another publisher came first: write over its version
            except ConnectionLoss:
                if ended(self.client):
                    raise
            # The reply was lost: find out whether the write was applied.
            await retry(self.client, self.client.sync, self.path)
            try:
                current, now = await retry(self.client, self.client.get, self.path)
            except NoNode:
                continue
            if now.version > version or (now.version == version and current == data):
                return version
            if now.version == version:
                continue  # someone else's write took the version: publish after it

    def subscribe(self) -> ConfigSubscription:
        """Follow the value: ``async with store.subscribe() as updates:``, then iterate."""
        return ConfigSubscription(self)

    def __repr__(self) -> str:
        return f"<ConfigStore {self.path!r}>"


class ConfigSubscription:
    """An async iterator of :class:`ConfigVersion`: the current one, then each newer one.

    Use it as ``async with store.subscribe() as updates: async for config in updates:``.
    While nothing is published it waits. It ends when the client is closed and raises
    ``SessionExpired`` when the session expires, like the watches it is built on.
    Values that are not ConfigStore documents raise ``ValueError``.
    """

    def __init__(self, store: ConfigStore) -> None:
        self._store = store
        self._watch: Watch | None = None
        self._last_mzxid = -1
        self._stale = True  # an event came (or nothing was read yet): read again

    async def __aenter__(self) -> ConfigSubscription:
        if self._watch is not None:
            raise UsageError("a ConfigSubscription can be entered only once")
        watch = self._store.client.watch(self._store.path, WatchKind.PERSISTENT)
        self._watch = await watch.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._watch is not None:
            await self._watch.__aexit__(exc_type, exc, tb)

    def __aiter__(self) -> ConfigSubscription:
        return self

    async def __anext__(self) -> ConfigVersion:
        events = self._watch
        if events is None:
            raise UsageError("use it as 'async with store.subscribe() as updates'")
        while True:
            if self._stale:
                current = await self._store.get()
                self._stale = False
                if current is not None and current.mzxid > self._last_mzxid:
                    self._last_mzxid = current.mzxid
                    return current
            await events.__anext__()
            self._stale = True
            while events.queued:  # one read covers every change already announced
                await events.__anext__()
