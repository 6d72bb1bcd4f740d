"""The errors a client raises: ZooKeeper's result codes, plus two that say whose fault it is.

Every failed call raises the :class:`~znode.errors.ZooKeeperError` subclass of the code the
server returned (``NoNode``, ``BadVersion``, ...; :func:`~znode.errors.error_for` maps codes
to classes). Two codes are produced by the client itself, as ZooKeeper's clients do:

* :class:`~znode.errors.ConnectionLoss`: the connection dropped before the reply arrived (the
  request may or may not have been applied), or the client could not (re)connect in time,
  or the client is closed;
* :class:`~znode.errors.SessionExpired`: the session is gone, with its ephemeral nodes and
  watches; the client is dead and a new one must be connected.

Like h11's ``LocalProtocolError`` / ``RemoteProtocolError``, :class:`UsageError` means the
caller misused the API and :class:`ProtocolViolation` means the server sent something the
protocol does not allow (the client then drops that connection and reconnects).
"""

from __future__ import annotations

from znode.errors import (
    ApiError,
    AuthFailed,
    BadArguments,
    BadVersion,
    CodecError,
    ConnectionLoss,
    DataInconsistency,
    EphemeralOnLocalSession,
    ErrorCode,
    InvalidACL,
    InvalidCallback,
    MarshallingError,
    NewConfigNoQuorum,
    NoAuth,
    NoChildrenForEphemerals,
    NodeExists,
    NoNode,
    NotEmpty,
    NotReadOnly,
    NoWatcher,
    OperationTimeout,
    QuotaExceeded,
    ReconfigDisabled,
    ReconfigInProgress,
    RequestTimeout,
    RuntimeInconsistency,
    SessionClosedRequireSaslAuth,
    SessionExpired,
    SessionMoved,
    SystemZooKeeperError,
    ThrottledOp,
    Unimplemented,
    UnknownErrorCode,
    UnknownSession,
    ZabkeeperError,
    ZooKeeperError,
    error_for,
)


class UsageError(ZabkeeperError):
    """The caller used the client or the protocol object wrongly (our side's fault)."""


class ProtocolViolation(ZabkeeperError):
    """The server broke the protocol: an out-of-order reply, an undecodable frame, ..."""


__all__ = [
    "ApiError",
    "AuthFailed",
    "BadArguments",
    "BadVersion",
    "CodecError",
    "ConnectionLoss",
    "DataInconsistency",
    "EphemeralOnLocalSession",
    "ErrorCode",
    "InvalidACL",
    "InvalidCallback",
    "MarshallingError",
    "NewConfigNoQuorum",
    "NoAuth",
    "NoChildrenForEphemerals",
    "NoNode",
    "NoWatcher",
    "NodeExists",
    "NotEmpty",
    "NotReadOnly",
    "OperationTimeout",
    "ProtocolViolation",
    "QuotaExceeded",
    "ReconfigDisabled",
    "ReconfigInProgress",
    "RequestTimeout",
    "RuntimeInconsistency",
    "SessionClosedRequireSaslAuth",
    "SessionExpired",
    "SessionMoved",
    "SystemZooKeeperError",
    "ThrottledOp",
    "Unimplemented",
    "UnknownErrorCode",
    "UnknownSession",
    "UsageError",
    "ZabkeeperError",
    "ZooKeeperError",
    "error_for",
]
