"""The one exception hierarchy of the project, mirroring ZooKeeper's error codes.

Every error a server sends or a client receives is a :class:`ZooKeeperError` subclass that
carries its :class:`ErrorCode`; :func:`error_for` maps a code received on the wire back to its
class. Errors that are not ZooKeeper results (malformed bytes, corrupt files) are
:class:`ZabkeeperError` subclasses too, so ``except ZabkeeperError`` catches everything the
project raises on purpose.
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar


class ErrorCode(IntEnum):
    """ZooKeeper's result codes (``KeeperException.Code``), with ZooKeeper's numbers."""

    OK = 0
    SYSTEMERROR = -1
    RUNTIMEINCONSISTENCY = -2
    DATAINCONSISTENCY = -3
    CONNECTIONLOSS = -4
    MARSHALLINGERROR = -5
    UNIMPLEMENTED = -6
    OPERATIONTIMEOUT = -7
    BADARGUMENTS = -8
    UNKNOWNSESSION = -12
    NEWCONFIGNOQUORUM = -13
    RECONFIGINPROGRESS = -14
    APIERROR = -100
    NONODE = -101
    NOAUTH = -102
    BADVERSION = -103
    NOCHILDRENFOREPHEMERALS = -108
    NODEEXISTS = -110
    NOTEMPTY = -111
    SESSIONEXPIRED = -112
    INVALIDCALLBACK = -113
    INVALIDACL = -114
    AUTHFAILED = -115
    SESSIONMOVED = -118
    NOTREADONLY = -119
    EPHEMERALONLOCALSESSION = -120
    NOWATCHER = -121
    REQUESTTIMEOUT = -122
    RECONFIGDISABLED = -123
    SESSIONCLOSEDREQUIRESASLAUTH = -124
    QUOTAEXCEEDED = -125
    THROTTLEDOP = -127


class ZabkeeperError(Exception):
    """Root of every exception the project raises on purpose."""


class ZooKeeperError(ZabkeeperError):
    """An error with a ZooKeeper result code; one subclass per code.

    Args:
        message: human-readable detail; defaults to the code's description.
        path: the znode path the error is about, when there is one.
    """

    code: ClassVar[ErrorCode] = ErrorCode.SYSTEMERROR
    description: ClassVar[str] = "system error"

    def __init__(self, message: str = "", *, path: str | None = None) -> None:
        self.path = path
        if not message:
            message = self.description if path is None else f"{self.description}: {path}"
        super().__init__(message)


class SystemZooKeeperError(ZooKeeperError):
    code = ErrorCode.SYSTEMERROR
    description = "system error"


class RuntimeInconsistency(ZooKeeperError):
    code = ErrorCode.RUNTIMEINCONSISTENCY
    description = "runtime inconsistency"


class DataInconsistency(ZooKeeperError):
    code = ErrorCode.DATAINCONSISTENCY
    description = "data inconsistency"


class ConnectionLoss(ZooKeeperError):
    code = ErrorCode.CONNECTIONLOSS
    description = "connection loss"


class MarshallingError(ZooKeeperError):
    code = ErrorCode.MARSHALLINGERROR
    description = "error while marshalling or unmarshalling data"


class Unimplemented(ZooKeeperError):
    code = ErrorCode.UNIMPLEMENTED
    description = "unimplemented"


class OperationTimeout(ZooKeeperError):
    code = ErrorCode.OPERATIONTIMEOUT
    description = "operation timeout"


class BadArguments(ZooKeeperError):
    code = ErrorCode.BADARGUMENTS
    description = "bad arguments"


class UnknownSession(ZooKeeperError):
    code = ErrorCode.UNKNOWNSESSION
    description = "unknown session"


class NewConfigNoQuorum(ZooKeeperError):
    code = ErrorCode.NEWCONFIGNOQUORUM
    description = "no quorum of new config is connected and up-to-date with the leader"


class ReconfigInProgress(ZooKeeperError):
    code = ErrorCode.RECONFIGINPROGRESS
    description = "another reconfiguration is in progress"


class ApiError(ZooKeeperError):
    code = ErrorCode.APIERROR
    description = "API error"


class NoNode(ZooKeeperError):
    code = ErrorCode.NONODE
    description = "Node does not exist"


class NoAuth(ZooKeeperError):
    code = ErrorCode.NOAUTH
    description = "Insufficient permission"


class BadVersion(ZooKeeperError):
    code = ErrorCode.BADVERSION
    description = "version No is not valid"


class NoChildrenForEphemerals(ZooKeeperError):
    code = ErrorCode.NOCHILDRENFOREPHEMERALS
    description = "Ephemerals cannot have children"


class NodeExists(ZooKeeperError):
    code = ErrorCode.NODEEXISTS
    description = "Node already exists"


class NotEmpty(ZooKeeperError):
    code = ErrorCode.NOTEMPTY
    description = "Node not empty"


class SessionExpired(ZooKeeperError):
    code = ErrorCode.SESSIONEXPIRED
    description = "Session expired"


class InvalidCallback(ZooKeeperError):
    code = ErrorCode.INVALIDCALLBACK
    description = "Invalid callback"


class InvalidACL(ZooKeeperError):
    code = ErrorCode.INVALIDACL
    description = "Invalid ACL specified"


class AuthFailed(ZooKeeperError):
    code = ErrorCode.AUTHFAILED
    description = "Authentication failed"


class SessionMoved(ZooKeeperError):
    code = ErrorCode.SESSIONMOVED
    description = "Session moved to another server, so operation is ignored"


class NotReadOnly(ZooKeeperError):
    code = ErrorCode.NOTREADONLY
    description = "Not a read-only call"


class EphemeralOnLocalSession(ZooKeeperError):
    code = ErrorCode.EPHEMERALONLOCALSESSION
    description = "Ephemeral node on local session"


class NoWatcher(ZooKeeperError):
    code = ErrorCode.NOWATCHER
    description = "No such watcher"


class RequestTimeout(ZooKeeperError):
    code = ErrorCode.REQUESTTIMEOUT
    description = "Request timeout"


class ReconfigDisabled(ZooKeeperError):
    code = ErrorCode.RECONFIGDISABLED
    description = "Reconfig is disabled"


class SessionClosedRequireSaslAuth(ZooKeeperError):
    code = ErrorCode.SESSIONCLOSEDREQUIRESASLAUTH
    description = "Session closed because client failed to authenticate"


class QuotaExceeded(ZooKeeperError):
    code = ErrorCode.QUOTAEXCEEDED
    description = "Quota has exceeded"


class ThrottledOp(ZooKeeperError):
    code = ErrorCode.THROTTLEDOP
    description = "Op throttled due to high load"


class UnknownErrorCode(ZooKeeperError):
    """A result code ZooKeeper does not define; :attr:`raw_code` keeps the number received."""

    code = ErrorCode.SYSTEMERROR
    description = "unknown error code"

    def __init__(self, raw_code: int, message: str = "", *, path: str | None = None) -> None:
        self.raw_code = raw_code
        super().__init__(message or f"unknown error code {raw_code}", path=path)


ERROR_CLASSES: dict[ErrorCode, type[ZooKeeperError]] = {
    cls.code: cls
    for cls in (
        SystemZooKeeperError,
        RuntimeInconsistency,
        DataInconsistency,
        ConnectionLoss,
        MarshallingError,
        Unimplemented,
        OperationTimeout,
        BadArguments,
        UnknownSession,
        NewConfigNoQuorum,
        ReconfigInProgress,
        ApiError,
        NoNode,
        NoAuth,
        BadVersion,
        NoChildrenForEphemerals,
        NodeExists,
        NotEmpty,
        SessionExpired,
        InvalidCallback,
        InvalidACL,
        AuthFailed,
        SessionMoved,
        NotReadOnly,
        EphemeralOnLocalSession,
        NoWatcher,
        RequestTimeout,
        ReconfigDisabled,
        SessionClosedRequireSaslAuth,
        QuotaExceeded,
        ThrottledOp,
    )
}


def error_for(code: int, message: str = "", *, path: str | None = None) -> ZooKeeperError:
    """Return the exception instance for a non-zero result ``code`` received on the wire."""
    try:
        cls = ERROR_CLASSES[ErrorCode(code)]
    except ValueError:
        return UnknownErrorCode(code, message, path=path)
    except KeyError:  # ErrorCode.OK has no exception class
        raise ValueError("result code 0 (OK) is not an error") from None
    return cls(message, path=path)


class CodecError(MarshallingError):
    """Bytes that do not decode as the expected jute record or frame.

    Args:
        message: what was wrong.
        offset: byte offset inside the frame or record where decoding failed.
    """

    def __init__(self, message: str, *, offset: int | None = None) -> None:
        self.offset = offset
        where = "" if offset is None else f" (at byte {offset})"
        super().__init__(message + where)


class FrameTooLarge(CodecError):
    """A frame length field outside ``0 .. max_frame`` (jute.maxbuffer)."""


class CorruptRecord(ZabkeeperError):
    """A snapshot or log file that fails its format check, CRC or framing.

    Args:
        message: what was wrong.
        source: the file (or other named source) being read.
        offset: the byte offset in that source where the bad record starts.
    """

    def __init__(self, message: str, *, source: str, offset: int) -> None:
        self.source = source
        self.offset = offset
        super().__init__(f"{source}: offset {offset}: {message}")
