"""Building request records from the client API's arguments (chroot applied, paths checked)."""

from __future__ import annotations

from collections.abc import Sequence

from client.errors import BadArguments
from client.hosts import Chroot
from znode.acl import ACL, OPEN_ACL_UNSAFE
from znode.opcodes import CreateMode, OpCode
from znode.paths import validate_path
from znode.records import CreateRequest, CreateTTLRequest

#: Largest TTL ZooKeeper accepts, in ms (2**40 - 1).
MAX_TTL_MS = 2**40 - 1


def check_path(path: str, *, sequential: bool = False) -> None:
    """Validate a client path as ZooKeeper's clients do before sending.

    A sequential create is checked with a digit appended, so ``/queue/`` is allowed.

    Raises:
        BadArguments: the path is not a valid znode path.
    """
    validate_path(path + "1" if sequential else path)


def create_mode(
    *, ephemeral: bool, sequential: bool, container: bool, ttl: float | None
) -> CreateMode:
    """The create mode for these flags.

    Raises:
        BadArguments: a combination ZooKeeper has no mode for.
    """
    if container:
        if ephemeral or sequential or ttl is not None:
            raise BadArguments("a container node cannot be ephemeral, sequential or have a TTL")
        return CreateMode.CONTAINER
    if ttl is not None:
        if ephemeral:
            raise BadArguments("an ephemeral node cannot have a TTL")
        if sequential:
            return CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL
        return CreateMode.PERSISTENT_WITH_TTL
    if ephemeral:
        return CreateMode.EPHEMERAL_SEQUENTIAL if sequential else CreateMode.EPHEMERAL
    return CreateMode.PERSISTENT_SEQUENTIAL if sequential else CreateMode.PERSISTENT


def create_request(
    chroot: Chroot,
    path: str,
    data: bytes,
    *,
    ephemeral: bool = False,
    sequential: bool = False,
    container: bool = False,
    ttl: float | None = None,
    acl: Sequence[ACL] = OPEN_ACL_UNSAFE,
) -> tuple[OpCode, CreateRequest | CreateTTLRequest]:
    """The op and record of a create (``ttl`` in seconds).

    Containers use op 19 and TTL nodes op 21, as the Java client does; the server makes
    a container only from op 19 (wire sheet 7.1).

    Raises:
        BadArguments: bad path, bad flag combination or TTL out of range.
    """
    check_path(path, sequential=sequential)
    mode = create_mode(ephemeral=ephemeral, sequential=sequential, container=container, ttl=ttl)
    server_path = chroot.to_server(path)
    acl = tuple(acl)
    if ttl is not None:
        ttl_ms = round(ttl * 1000)
        if not 0 < ttl_ms <= MAX_TTL_MS:
            raise BadArguments(f"TTL {ttl!r} s is out of range", path=path)
        return OpCode.CREATE_TTL, CreateTTLRequest(server_path, data, acl, int(mode), ttl_ms)
    op = OpCode.CREATE_CONTAINER if container else OpCode.CREATE
    return op, CreateRequest(server_path, data, acl, int(mode))
