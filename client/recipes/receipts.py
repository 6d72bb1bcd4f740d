"""Receipts: knowing whether a write whose reply was lost was applied.

A uuid in a node's name lets a recipe find its node again after a lost create reply, but
only while nobody else can have removed it. A queue entry can be taken and consumed by
another client before its producer has reconnected, and a counter's versioned set leaves
no name to look for. Sending such a write again risks doing it twice; not sending it risks
not doing it at all.

So these recipes commit their write in one transaction with the creation of an ephemeral
**receipt**: a node named by a fresh uuid, in a directory that only receipts live in and
that nobody else deletes from. After a ``ConnectionLoss`` the recipe makes its server catch
up with the leader (``sync``) and looks for the receipt: there, the transaction was applied
and must not be sent again; missing, it was not, and is sent again.

A receipt is deleted by the next transaction committed through the same :class:`Receipts`
(so a write still costs one round trip) or by :meth:`Receipts.close`; being ephemeral, any
left over go with the session.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable

import trio

from client.client import Client
from client.errors import ConnectionLoss, NoNode, SessionExpired
from client.recipes._nodes import cleanup_scope, ended, ensure_path, join, retry
from client.states import State
from client.transaction import OpResult, Transaction

__all__ = ["Receipts", "wait_connected"]


async def wait_connected(client: Client) -> None:
    """Return once the client is connected (at once if it is).

    Raises:
        SessionExpired: the session expired.
        ConnectionLoss: the client was closed.
    """
    if client.state is State.CONNECTED:
        return
    async with client.states() as states:
        async for state in states:
            if state is State.CONNECTED:
                return
            if state is State.EXPIRED:
                raise SessionExpired()
    raise ConnectionLoss("the client is closed")


class Receipts:
    """Commits transactions with a receipt each; see the module docstring.

    Args:
        client: the connected client.
        directory: where the receipts are created (made, persistent, when missing).
    """

    def __init__(self, client: Client, directory: str) -> None:
        self.client = client
        self.directory = directory
        self._spent: list[str] = []  # receipts of settled transactions, still to delete
        self._directory_made = False

    async def ensure_directory(self) -> None:
        """Create the receipts' directory (and its parents) unless this object already did."""
        if self._directory_made:
            return
        await ensure_path(self.client, self.directory)
        self._directory_made = True

    async def commit(self, add_ops: Callable[[Transaction], object]) -> list[OpResult] | None:
        """Commit the ops ``add_ops`` puts in a transaction, exactly once.

        The transaction is sent only while connected and, once sent, is seen through in a
        shielded scope: a cancelled caller never leaves it unsettled. ``add_ops`` may be
        called more than once (for each attempt) and must add the same ops each time.

        Returns:
            The results of the ops ``add_ops`` added, or ``None`` when the reply was lost
            and the receipt shows the transaction was applied.

        Raises:
            ZooKeeperError: the first failing op's error (nothing was applied).
            SessionExpired: the session expired (whether it was applied is unknown).
        """
        await self.ensure_directory()
        await wait_connected(self.client)
        with trio.CancelScope(shield=True):
            results = await self._commit(add_ops, join(self.directory, uuid.uuid4().hex))
        return results

    async def _commit(
        self, add_ops: Callable[[Transaction], object], receipt: str
    ) -> list[OpResult] | None:
        while True:
            spent, self._spent = self._spent, []
            txn = self.client.transaction()
            add_ops(txn)
            txn.create(receipt, ephemeral=True)
            for path in spent:
                txn.delete(path)
            try:
                results = await txn.commit()
            except ConnectionLoss:
                if ended(self.client):
                    raise
                if await self._applied(receipt):
                    self._spent.append(receipt)
                    return None
                self._spent.extend(spent)
                continue
            except NoNode as exc:
                self._spent.extend(spent)
                if exc.path != receipt:
                    raise
                self._directory_made = False  # someone removed the directory
                await self.ensure_directory()
                continue
            except BaseException:
                self._spent.extend(spent)
                raise
            self._spent.append(receipt)
            return results[: len(results) - 1 - len(spent)]

    async def _applied(self, receipt: str) -> bool:
        # Without the sync, a server that is behind the one that applied the transaction
        # would not show the receipt yet.
        await retry(self.client, self.client.sync, self.directory)
        return await retry(self.client, self.client.exists, receipt) is not None

    async def close(self) -> None:
        """Delete the receipts not yet deleted (shielded; skipped once the session ended)."""
        spent, self._spent = self._spent, []
        with cleanup_scope(self.client):
            for path in spent:
                if ended(self.client):
                    return
                with contextlib.suppress(NoNode, ConnectionLoss, SessionExpired):
                    await retry(self.client, self.client.delete, path)
