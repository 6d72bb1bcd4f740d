"""The client-port records (jute), one class per record in ZooKeeper's ``zookeeper.jute``.

Field order is wire order. Strings that jute may send as null (length -1) decode to ``""``,
vectors that may be null decode to ``()``, and data buffers keep the null/empty distinction
(``None`` vs ``b""``) because ZooKeeper stores and returns it. Encoding and decoding live in
:mod:`znode.codec`.
"""

from __future__ import annotations

from typing import TypeAlias

import attrs

from znode.acl import ACL
from znode.stat import Stat

# --- envelopes ---------------------------------------------------------------------------


@attrs.frozen
class ConnectRequest:
    """First frame of a connection; ``read_only`` is ``None`` when the optional byte is absent."""

    protocol_version: int
    last_zxid_seen: int
    timeout: int
    session_id: int
    passwd: bytes
    read_only: bool | None = None


@attrs.frozen
class ConnectResponse:
    """Answer to :class:`ConnectRequest`; ``timeout == 0`` means the session is invalid."""

    protocol_version: int
    timeout: int
    session_id: int
    passwd: bytes
    read_only: bool | None = None


@attrs.frozen
class RequestHeader:
    xid: int
    type: int


@attrs.frozen
class ReplyHeader:
    xid: int
    zxid: int
    err: int


# --- requests ----------------------------------------------------------------------------


@attrs.frozen
class CreateRequest:
    path: str
    data: bytes | None
    acl: tuple[ACL, ...]
    flags: int


@attrs.frozen
class CreateTTLRequest:
    path: str
    data: bytes | None
    acl: tuple[ACL, ...]
    flags: int
    ttl: int


@attrs.frozen
class DeleteRequest:
    path: str
    version: int


@attrs.frozen
class ExistsRequest:
    path: str
    watch: bool


@attrs.frozen
class GetDataRequest:
    path: str
    watch: bool


@attrs.frozen
class SetDataRequest:
    path: str
    data: bytes | None
    version: int


@attrs.frozen
class GetACLRequest:
    path: str


@attrs.frozen
class SetACLRequest:
    path: str
    acl: tuple[ACL, ...]
    version: int


@attrs.frozen
class GetChildrenRequest:
    path: str
    watch: bool


@attrs.frozen
class GetChildren2Request:
    path: str
    watch: bool


@attrs.frozen
class CheckVersionRequest:
    path: str
    version: int


@attrs.frozen
class SyncRequest:
    path: str


@attrs.frozen
class ReconfigRequest:
    joining_servers: str
    leaving_servers: str
    new_members: str
    cur_config_id: int


@attrs.frozen
class AuthPacket:
    type: int
    scheme: str
    auth: bytes | None


@attrs.frozen
class GetSASLRequest:
    token: bytes | None


@attrs.frozen
class SetWatches:
    relative_zxid: int
    data_watches: tuple[str, ...]
    exist_watches: tuple[str, ...]
    child_watches: tuple[str, ...]


@attrs.frozen
class SetWatches2:
    relative_zxid: int
    data_watches: tuple[str, ...]
    exist_watches: tuple[str, ...]
    child_watches: tuple[str, ...]
    persistent_watches: tuple[str, ...]
    persistent_recursive_watches: tuple[str, ...]


@attrs.frozen
class AddWatchRequest:
    path: str
    mode: int


@attrs.frozen
class CheckWatchesRequest:
    path: str
    type: int


@attrs.frozen
class RemoveWatchesRequest:
    path: str
    type: int


@attrs.frozen
class GetEphemeralsRequest:
    prefix_path: str


@attrs.frozen
class GetAllChildrenNumberRequest:
    path: str


@attrs.frozen
class MultiOp:
    """One op of a multi / multiRead request: its op code and request record."""

    type: int
    request: Request


@attrs.frozen
class MultiRequest:
    """``MultiOperationRecord``: the ops of a multi (14) or multiRead (22)."""

    ops: tuple[MultiOp, ...]


# --- responses ---------------------------------------------------------------------------


@attrs.frozen
class CreateResponse:
    path: str


@attrs.frozen
class Create2Response:
    path: str
    stat: Stat


@attrs.frozen
class ExistsResponse:
    stat: Stat


@attrs.frozen
class GetDataResponse:
    data: bytes | None
    stat: Stat


@attrs.frozen
class SetDataResponse:
    stat: Stat


@attrs.frozen
class GetACLResponse:
    acl: tuple[ACL, ...]
    stat: Stat


@attrs.frozen
class SetACLResponse:
    stat: Stat


@attrs.frozen
class GetChildrenResponse:
    children: tuple[str, ...]


@attrs.frozen
class GetChildren2Response:
    children: tuple[str, ...]
    stat: Stat


@attrs.frozen
class SyncResponse:
    path: str


@attrs.frozen
class SetSASLResponse:
    token: bytes | None


@attrs.frozen
class GetEphemeralsResponse:
    ephemerals: tuple[str, ...]


@attrs.frozen
class GetAllChildrenNumberResponse:
    total_number: int


@attrs.frozen
class ClientInfo:
    auth_scheme: str
    user: str


@attrs.frozen
class WhoAmIResponse:
    client_info: tuple[ClientInfo, ...]


@attrs.frozen
class WatcherEvent:
    """A watch notification body (sent with xid -1)."""

    type: int
    state: int
    path: str


@attrs.frozen
class ErrorResponse:
    err: int


@attrs.frozen
class MultiHeader:
    type: int
    done: bool
    err: int


@attrs.frozen
class MultiResult:
    """One result of a multi: its result type, error code and body (``None`` if it has none).

    Result types: 1 create (CreateResponse), 15 create2 (Create2Response), 2 delete (no
    body), 5 setData (SetDataResponse), 13 check (no body), 8 getChildren
    (GetChildrenResponse), 4 getData (GetDataResponse), -1 error (``err`` set, no body here;
    the codec writes the ErrorResponse).
    """

    type: int
    err: int
    body: Response | None


@attrs.frozen
class MultiResponse:
    results: tuple[MultiResult, ...]


Request: TypeAlias = (
    CreateRequest
    | CreateTTLRequest
    | DeleteRequest
    | ExistsRequest
    | GetDataRequest
    | SetDataRequest
    | GetACLRequest
    | SetACLRequest
    | GetChildrenRequest
    | GetChildren2Request
    | CheckVersionRequest
    | SyncRequest
    | ReconfigRequest
    | AuthPacket
    | GetSASLRequest
    | SetWatches
    | SetWatches2
    | AddWatchRequest
    | CheckWatchesRequest
    | RemoveWatchesRequest
    | GetEphemeralsRequest
    | GetAllChildrenNumberRequest
    | MultiRequest
)

Response: TypeAlias = (
    CreateResponse
    | Create2Response
    | ExistsResponse
    | GetDataResponse
    | SetDataResponse
    | GetACLResponse
    | SetACLResponse
    | GetChildrenResponse
    | GetChildren2Response
    | SyncResponse
    | SetSASLResponse
    | GetEphemeralsResponse
    | GetAllChildrenNumberResponse
    | WhoAmIResponse
    | ErrorResponse
    | MultiResponse
)
