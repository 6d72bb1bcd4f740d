"""Transactions: several writes committed atomically with one multi request (wire sheet 13).

::

    txn = client.transaction()
    txn.check("/config", version=3)
    txn.set("/config", b"new")
    txn.create("/config/history/", b"new", sequential=True)
    results = await txn.commit()        # [CheckResult(), SetResult(stat), CreateResult(path)]

or ``async with client.transaction() as txn: ...``, which commits when the block ends
without an exception (the results are then on ``txn.results``).

If any op fails, nothing is applied and :meth:`Transaction.commit` raises the error of the
first failing op (its ``path`` set); ``txn.results`` then holds one :class:`ErrorResult`
per op: code 0 for the ops before the failing one (fine, but rolled back), the failing
op's code, and ``RUNTIMEINCONSISTENCY`` for the ops after it, which were not evaluated.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, TypeAlias

import attrs

from client.errors import MarshallingError, UsageError, ZooKeeperError, error_for
from client.requests import check_path, create_request
from znode.acl import ACL, OPEN_ACL_UNSAFE
from znode.opcodes import OpCode
from znode.records import (
    CheckVersionRequest,
    Create2Response,
    CreateResponse,
    DeleteRequest,
    MultiOp,
    MultiRequest,
    MultiResponse,
    Request,
    SetDataRequest,
    SetDataResponse,
)
from znode.stat import Stat

if TYPE_CHECKING:
    from client.session import Session


@attrs.frozen
class CreateResult:
    """A create succeeded: the path created (with its sequence suffix)."""

    path: str


@attrs.frozen
class SetResult:
    """A set succeeded: the node's new Stat."""

    stat: Stat


@attrs.frozen
class DeleteResult:
    """A delete succeeded."""


@attrs.frozen
class CheckResult:
    """A version check succeeded."""


@attrs.frozen
class ErrorResult:
    """One op's result in a transaction that failed (code 0: fine, but rolled back)."""

    code: int

    @property
    def error(self) -> ZooKeeperError | None:
        """The op's error, ``None`` for an op that would have succeeded."""
        return error_for(self.code) if self.code else None


OpResult: TypeAlias = CreateResult | SetResult | DeleteResult | CheckResult | ErrorResult


class Transaction:
    """A batch of create / set / delete / check ops; see the module docstring.

    The op methods validate their arguments at once (raising ``BadArguments``) and return
    the transaction, so calls can be chained.
    """

    def __init__(self, session: Session) -> None:
        self._session = session
        self._ops: list[MultiOp] = []
        self._paths: list[str] = []
        self._committed = False
        #: the per-op results once committed (also after a failed commit)
        self.results: list[OpResult] | None = None

    def _add(self, path: str, op: int, request: Request) -> Transaction:
        if self._committed:
            raise UsageError("the transaction was already committed")
        self._ops.append(MultiOp(op, request))
        self._paths.append(path)
        return self

    def create(
        self,
        path: str,
        data: bytes = b"",
        *,
        ephemeral: bool = False,
        sequential: bool = False,
        container: bool = False,
        ttl: float | None = None,
        acl: Sequence[ACL] = OPEN_ACL_UNSAFE,
    ) -> Transaction:
        """Add a create (same arguments as :meth:`client.Client.create`, no ``makepath``)."""
        op, request = create_request(
            self._session.chroot,
            path,
            data,
            ephemeral=ephemeral,
            sequential=sequential,
            container=container,
            ttl=ttl,
            acl=acl,
        )
        return self._add(path, op, request)

    def set(self, path: str, data: bytes, version: int = -1) -> Transaction:
        """Add a setData (``version`` -1: any)."""
        check_path(path)
        request = SetDataRequest(self._session.chroot.to_server(path), data, version)
        return self._add(path, OpCode.SET_DATA, request)

    def delete(self, path: str, version: int = -1) -> Transaction:
        """Add a delete (``version`` -1: any)."""
        check_path(path)
        request = DeleteRequest(self._session.chroot.to_server(path), version)
        return self._add(path, OpCode.DELETE, request)

    def check(self, path: str, version: int) -> Transaction:
        """Add a check that the node's version is ``version``."""
        check_path(path)
        request = CheckVersionRequest(self._session.chroot.to_server(path), version)
        return self._add(path, OpCode.CHECK, request)

    async def commit(self) -> list[OpResult]:
        """Send the ops as one multi and return their results (see the module docstring).

        Raises:
            ZooKeeperError: the first failing op's error (nothing was applied), or
                ``ConnectionLoss`` (it may or may not have been applied).
        """
        if self._committed:
            raise UsageError("the transaction was already committed")
        self._committed = True
        if not self._ops:
            self.results = []
            return []
        reply = await self._session.call(OpCode.MULTI, MultiRequest(tuple(self._ops)))
        if reply.err:
            raise error_for(reply.err)
        if not isinstance(reply.response, MultiResponse):
            raise MarshallingError("multi reply without results")
        results = [self._result(r.type, r.err, r.body) for r in reply.response.results]
        self.results = results
        for result, path in zip(results, self._paths, strict=False):
            if isinstance(result, ErrorResult) and result.code:
                raise error_for(result.code, path=path)
        return results

    def _result(self, type_: int, err: int, body: object) -> OpResult:
        if type_ == OpCode.ERROR:
            return ErrorResult(err)
        if isinstance(body, CreateResponse | Create2Response):
            return CreateResult(self._session.chroot.from_server(body.path))
        if isinstance(body, SetDataResponse):
            return SetResult(body.stat)
        if type_ == OpCode.DELETE:
            return DeleteResult()
        return CheckResult()

    async def __aenter__(self) -> Transaction:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            await self.commit()
