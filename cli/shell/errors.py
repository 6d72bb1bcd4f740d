"""Shell errors, worded as zkCli.sh words them (``CliWrapperException`` and friends)."""

from __future__ import annotations

from znode.errors import ErrorCode, UnknownErrorCode, ZooKeeperError

# KeeperException.getCodeMessage: the text after "KeeperErrorCode = ".
_CODE_TEXT: dict[ErrorCode, str] = {
    ErrorCode.OK: "ok",
    ErrorCode.SYSTEMERROR: "SystemError",
    ErrorCode.RUNTIMEINCONSISTENCY: "RuntimeInconsistency",
    ErrorCode.DATAINCONSISTENCY: "DataInconsistency",
    ErrorCode.CONNECTIONLOSS: "ConnectionLoss",
    ErrorCode.MARSHALLINGERROR: "MarshallingError",
    ErrorCode.NEWCONFIGNOQUORUM: "NewConfigNoQuorum",
    ErrorCode.RECONFIGINPROGRESS: "ReconfigInProgress",
    ErrorCode.UNIMPLEMENTED: "Unimplemented",
    ErrorCode.OPERATIONTIMEOUT: "OperationTimeout",
    ErrorCode.BADARGUMENTS: "BadArguments",
    ErrorCode.APIERROR: "APIError",
    ErrorCode.NONODE: "NoNode",
    ErrorCode.NOAUTH: "NoAuth",
    ErrorCode.BADVERSION: "BadVersion",
    ErrorCode.NOCHILDRENFOREPHEMERALS: "NoChildrenForEphemerals",
    ErrorCode.NODEEXISTS: "NodeExists",
    ErrorCode.INVALIDACL: "InvalidACL",
    ErrorCode.AUTHFAILED: "AuthFailed",
    ErrorCode.NOTEMPTY: "Directory not empty",
    ErrorCode.SESSIONEXPIRED: "Session expired",
    ErrorCode.INVALIDCALLBACK: "Invalid callback",
    ErrorCode.SESSIONMOVED: "Session moved",
    ErrorCode.NOTREADONLY: "Not a read-only call",
    ErrorCode.EPHEMERALONLOCALSESSION: "Ephemeral node on local session",
    ErrorCode.NOWATCHER: "No such watcher",
    ErrorCode.RECONFIGDISABLED: "Reconfig is disabled",
    ErrorCode.SESSIONCLOSEDREQUIRESASLAUTH: "Session closed because client failed to authenticate",
    ErrorCode.QUOTAEXCEEDED: "Quota has exceeded",
    ErrorCode.THROTTLEDOP: "Op throttled due to high load",
}

# CliWrapperException's own wording for some codes: prefix, then the path.
_WRAPPED: dict[ErrorCode, str] = {
    ErrorCode.NONODE: "Node does not exist: ",
    ErrorCode.NOCHILDRENFOREPHEMERALS: "Ephemerals cannot have children: ",
    ErrorCode.NODEEXISTS: "Node already exists: ",
    ErrorCode.NOTEMPTY: "Node not empty: ",
    ErrorCode.NOTREADONLY: "Not a read-only call: ",
    ErrorCode.INVALIDACL: "Acl is not valid : ",
    ErrorCode.NOAUTH: "Insufficient permission : ",
    ErrorCode.BADARGUMENTS: "Arguments are not valid : ",
    ErrorCode.BADVERSION: "version No is not valid : ",
    ErrorCode.QUOTAEXCEEDED: "Quota has exceeded : ",
}

_RECONFIG_IN_PROGRESS = (
    "Another reconfiguration is in progress -- concurrent reconfigs not supported (yet)"
)
_NO_QUORUM = (
    "No quorum of new config is connected and up-to-date with the leader of last commmitted"
    " config - try invoking reconfiguration after new servers are connected and synced"
)


def code_of(error: ZooKeeperError) -> int:
    """The numeric result code of ``error`` (unknown codes keep their number)."""
    return error.raw_code if isinstance(error, UnknownErrorCode) else int(error.code)


def _known(code: int) -> ErrorCode | None:
    try:
        return ErrorCode(code)
    except ValueError:
        return None


def keeper_message(code: int, path: str | None) -> str:
    """``KeeperException.getMessage()``: ``KeeperErrorCode = NoNode for /a``."""
    known = _known(code)
    text = _CODE_TEXT.get(known) if known is not None else None
    text = text or f"Unknown error {code}"
    return f"KeeperErrorCode = {text}" + (f" for {path}" if path else "")


def wrapped_message(error: ZooKeeperError) -> str:
    """What zkCli.sh prints for a failed call (``CliWrapperException``'s message)."""
    code = code_of(error)
    path = error.path
    if code == ErrorCode.RECONFIGINPROGRESS:
        return _RECONFIG_IN_PROGRESS
    if code == ErrorCode.NEWCONFIGNOQUORUM:
        return _NO_QUORUM
    known = _known(code)
    prefix = _WRAPPED.get(known) if known is not None else None
    if prefix is not None:
        return f"{prefix}{'null' if path is None else path}"
    return keeper_message(code, path)


class CliError(Exception):
    """A command failed: one line for stderr, an exit status, and what ``--json`` reports.

    Args:
        message: the line zkCli.sh would print.
        exit_code: 1, or 127 for an unknown command (as zkCli.sh).
        code: the ZooKeeper result code name, when the failure is one.
        path: the znode path concerned, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        exit_code: int = 1,
        code: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.code = code
        self.path = path

    @classmethod
    def from_zookeeper(cls, error: ZooKeeperError) -> CliError:
        """The shell error for a ZooKeeper result code."""
        code = code_of(error)
        known = _known(code)
        name = known.name if known is not None else str(code)
        return cls(wrapped_message(error), code=name, path=error.path)

    def as_json(self) -> dict[str, object]:
        """The ``--json`` form: ``{"error": message, "code": ..., "path": ...}``."""
        out: dict[str, object] = {"error": self.message}
        if self.code is not None:
            out["code"] = self.code
        if self.path is not None:
            out["path"] = self.path
        return out


class NotFound(CliError):
    """An unknown command: zkCli.sh's doubled wording and exit status 127."""

    def __init__(self, command: str) -> None:
        super().__init__(f"Command not found: Command not found {command}", exit_code=127)
