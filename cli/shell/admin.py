"""Watch and ensemble commands: addWatch, removewatches, config, reconfig, version."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cli.shell import wire
from cli.shell.command import check_path
from cli.shell.errors import CliError
from cli.shell.output import data_text, stat_json, stat_lines
from cli.shell.parse import Parsed
from cli.shell.watches import Kind
from znode.events import KeeperState
from znode.opcodes import WatcherType
from znode.paths import CONFIG
from znode.version import __version__

if TYPE_CHECKING:
    from cli.shell.shell import Shell

ADD_WATCH_USAGE = (
    "[-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE]"
    " - default is PERSISTENT_RECURSIVE"
)
RECONFIG_USAGE = (
    "[-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] |"
    " [-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]"
)
_MODES = {"PERSISTENT": Kind.PERSISTENT, "PERSISTENT_RECURSIVE": Kind.RECURSIVE}


async def cmd_add_watch(sh: Shell, parsed: Parsed) -> None:
    """addWatch [-m mode] path"""
    usage = f"addWatch {ADD_WATCH_USAGE}"
    if len(parsed.args) != 2:
        raise CliError(usage)
    kind = Kind.RECURSIVE
    if parsed.has("m"):
        kind_for = _MODES.get((parsed.value("m") or "").upper())
        if kind_for is None:
            raise CliError(usage)
        kind = kind_for
    path = parsed.args[1]
    check_path(path)
    await sh.watches.add_watch(await sh.client(path), path, kind)
    sh.out.json({"path": path, "mode": kind.name})


async def cmd_remove_watches(sh: Shell, parsed: Parsed) -> None:
    """removewatches path [-c|-d|-a] [-l]"""
    path = parsed.args[1]
    which = WatcherType.ANY
    if parsed.has("c"):
        which = WatcherType.CHILDREN
    elif parsed.has("d"):
        which = WatcherType.DATA
    check_path(path)
    zk = await sh.client(path)
    for type_ in await sh.watches.remove(zk, path, which, local=parsed.has("l")):
        sh.queue_event(type_, KeeperState.SYNC_CONNECTED, path)
    sh.out.json({"path": path, "removed": which.name})


def _java_hash(text: str) -> int:
    """``String.hashCode`` (over UTF-16 code units), as an unsigned 32-bit value."""
    raw = text.encode("utf-16-be", "surrogatepass")
    value = 0
    for index in range(0, len(raw), 2):
        value = (31 * value + int.from_bytes(raw[index : index + 2], "big")) & 0xFFFF_FFFF
    return value


def properties_order(keys: list[str]) -> list[str]:
    """The order ``java.util.Properties`` iterates ``keys`` (put in this order).

    Properties keeps a ``ConcurrentHashMap``: bins in index order, each in insertion order,
    the table doubling from 16 bins whenever it is three quarters full. (A resize can also
    reorder keys that share a bin; that shows only with dozens of servers.)
    """
    unique = list(dict.fromkeys(keys))
    size = 16
    while len(unique) >= size - (size >> 2):
        size *= 2

    def bin_of(key: str) -> int:
        hashed = _java_hash(key)
        return ((hashed ^ (hashed >> 16)) & 0x7FFF_FFFF) & (size - 1)

    return sorted(unique, key=bin_of)  # stable: insertion order within a bin


def _client_address(value: str) -> str | None:
    """The client address of a ``server.N`` value, ``""`` if it has none (``None``: invalid)."""
    server, semicolon, client_part = value.partition(";")
    if not 3 <= len(server.split(":")) <= 4:
        return None
    if not semicolon:
        return ""
    host, colon, port = client_part.strip().rpartition(":")
    return f"{host}:{port}" if colon else f"0.0.0.0:{client_part.strip()}"


def client_config(text: str) -> str:
    """``ConfigUtils.getClientConfigStr``: ``version host:port,...`` of the client ports."""
    entries: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and not key.lstrip().startswith(("#", "!")):
            entries[key.strip()] = value.strip()
    version, addresses = "", []
    for key in properties_order(list(entries)):
        if key == "version":
            version = entries[key]
        if not key.startswith("server."):
            continue
        address = _client_address(entries[key])
        if address is not None:
            addresses.append(address)
    return f"{version} {','.join(addresses)}"


async def cmd_config(sh: Shell, parsed: Parsed) -> None:
    """config [-c] [-w] [-s]"""
    zk = await sh.client(CONFIG)
    if parsed.has("w"):
        data, stat = await sh.watches.get_data(zk, CONFIG, chroot=False)
    else:
        data, stat = await wire.get_data(zk, CONFIG, chroot=False)
    text = data_text(data)
    sh.out.line(client_config(text) if parsed.has("c") else text)
    if parsed.has("s"):
        sh.out.lines(stat_lines(stat))
    sh.out.json({"config": None if data is None else text, "stat": stat_json(stat)})


def _members_from_file(name: str) -> str:
    """The ``server.N`` lines of a dynamic configuration file, as one members string."""
    try:
        text = Path(name).read_text()
    except OSError as exc:
        # Java's FileNotFoundException message: "<path> (<reason>)"
        raise CliError(f"Error processing {name}{name} ({exc.strerror or exc})") from None
    servers = []
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key.strip().startswith("server."):
            servers.append(f"{key.strip()}={value.strip()}")
    return ",".join(servers)


async def cmd_reconfig(sh: Shell, parsed: Parsed) -> None:
    """reconfig [-s] [-v version] [-file path | -members ...] | [-add ...] [-remove ...]"""
    whole = parsed.has("file") or parsed.has("members")
    incremental = parsed.has("add") or parsed.has("remove")
    if not whole and not incremental:
        raise CliError(f"reconfig {RECONFIG_USAGE}")
    version = -1
    if parsed.has("v"):
        try:
            version = int(parsed.value("v") or "", 16)
        except ValueError:
            raise CliError("-v must be followed by a long (configuration version)") from None
    if whole and incremental:
        raise CliError(
            "Can't use -file or -members together with -add or -remove (mixing incremental"
            " and non-incremental modes is not allowed)"
        )
    if parsed.has("file") and parsed.has("members"):
        raise CliError("Can't use -file and -members together (conflicting non-incremental modes)")
    joining, leaving, members = (
        (parsed.value(name) or "").lower() or None for name in ("add", "remove", "members")
    )
    file_name = parsed.value("file")
    if file_name is not None:
        members = _members_from_file(file_name)
    data, stat = await wire.reconfig(await sh.client(None), joining, leaving, members, version)
    sh.out.line("Committed new configuration:\n" + data_text(data))
    if parsed.has("s"):
        sh.out.lines(stat_lines(stat))
    sh.out.json({"config": data_text(data), "stat": stat_json(stat)})


async def cmd_version(sh: Shell, parsed: Parsed) -> None:
    """version"""
    if len(parsed.args) > 1:
        raise CliError("version ")
    sh.out.line(f"ZooKeeper CLI version: zabkeeper-{__version__}")
    sh.out.json({"version": __version__})
