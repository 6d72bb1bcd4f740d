"""The node commands: create, get, set, ls, stat, delete, deleteall, sync, getEphemerals,
getAllChildrenNumber — each printing what zkCli.sh prints."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cli.shell import wire
from cli.shell.acl import check_acl, parse_acl
from cli.shell.command import check_path, int_option, java_int
from cli.shell.errors import CliError, keeper_message
from cli.shell.output import data_text, stat_json, stat_lines
from cli.shell.parse import Parsed
from cli.shell.tree import java_sorted, subtree
from client.errors import EphemeralOnLocalSession, InvalidACL, NoNode, ZooKeeperError
from znode.acl import OPEN_ACL_UNSAFE
from znode.opcodes import CreateMode
from znode.paths import join

if TYPE_CHECKING:
    from cli.shell.shell import Shell

MAX_TTL_MS = 2**40 - 1


def create_mode(parsed: Parsed) -> tuple[CreateMode, int | None]:
    """The create mode and TTL of ``create``'s flags, checked in zkCli's order.

    Raises:
        CliError: a combination zkCli refuses.
    """
    ephemeral, sequential = parsed.has("e"), parsed.has("s")
    container, has_ttl = parsed.has("c"), parsed.has("t")
    if container and (ephemeral or sequential):
        raise CliError(
            "-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential."
        )
    ttl = java_int(parsed.value("t"), bits=64) if has_ttl else None
    if has_ttl and ttl is None:
        raise CliError("-t argument must be a long value")
    if has_ttl and ephemeral:
        raise CliError("TTLs cannot be used with Ephemeral znodes")
    if has_ttl and container:
        raise CliError("TTLs cannot be used with Container znodes")
    if ephemeral:
        mode = CreateMode.EPHEMERAL_SEQUENTIAL if sequential else CreateMode.EPHEMERAL
    elif sequential:
        ttl_mode = CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL
        mode = ttl_mode if has_ttl else CreateMode.PERSISTENT_SEQUENTIAL
    elif container:
        mode = CreateMode.CONTAINER
    else:
        mode = CreateMode.PERSISTENT_WITH_TTL if has_ttl else CreateMode.PERSISTENT
    if ttl is not None and not 0 < ttl <= MAX_TTL_MS:
        raise CliError(f"ttl must be positive and cannot be larger than: {MAX_TTL_MS}")
    return mode, ttl


async def cmd_create(sh: Shell, parsed: Parsed) -> None:
    """create [-s] [-e] [-c] [-t ttl] path [data] [acl]"""
    mode, ttl = create_mode(parsed)
    args = parsed.args
    path = args[1]
    data = args[2].encode() if len(args) > 2 else None
    acl = parse_acl(args[3], sh.out) if len(args) > 3 else list(OPEN_ACL_UNSAFE)
    check_path(path, sequential=mode.is_sequential)
    zk = await sh.client(path)
    try:
        check_acl(acl)
        created = await wire.create(zk, path, data, mode, acl, ttl)
    except EphemeralOnLocalSession as exc:
        sh.out.line("Unable to create ephemeral node on a local session", err=True)
        raise CliError.from_zookeeper(exc) from None
    except InvalidACL as exc:
        sh.out.line(keeper_message(InvalidACL.code, exc.path), err=True)
        raise CliError.from_zookeeper(exc) from None
    sh.out.line(f"Created {created}", err=True)
    sh.out.json({"created": created})


async def cmd_get(sh: Shell, parsed: Parsed) -> None:
    """get [-s] [-w] path"""
    path = parsed.args[1]
    check_path(path)
    zk = await sh.client(path)
    if parsed.has("w"):
        data, stat = await sh.watches.get_data(zk, path)
    else:
        data, stat = await wire.get_data(zk, path)
    sh.out.line(data_text(data))
    if parsed.has("s"):
        sh.out.lines(stat_lines(stat))
    text = None if data is None else data.decode("utf-8", "replace")
    sh.out.json({"path": path, "data": text, "stat": stat_json(stat)})


async def cmd_set(sh: Shell, parsed: Parsed) -> None:
    """set [-s] [-v version] path data"""
    path, data = parsed.args[1], parsed.args[2].encode()
    version = int_option(parsed, "v")
    check_path(path)
    stat = await (await sh.client(path)).set(path, data, version)
    if parsed.has("s"):
        sh.out.lines(stat_lines(stat))
    sh.out.json({"path": path, "stat": stat_json(stat)})


_LS_HELP = ["usage: ls [options] path", " -?   help", " -R   recurse", " -s   stat", " -w   watch"]


async def cmd_ls(sh: Shell, parsed: Parsed) -> None:
    """ls [-s] [-w] [-R] path"""
    if parsed.has("?"):
        sh.out.lines(_LS_HELP)
    if len(parsed.args) < 2:
        raise CliError("ls [-s] [-w] [-R] path")
    path, watch = parsed.args[1], parsed.has("w")
    check_path(path)
    zk = await sh.client(path)
    if parsed.has("R"):
        nodes = await subtree(zk, path, sh.watches if watch else None)
        sh.out.lines(nodes)
        sh.out.json({"path": path, "nodes": nodes})
        return
    if watch:
        children, stat = await sh.watches.children(zk, path)
    else:
        children, stat = await wire.children(zk, path)
    names = java_sorted(children)
    sh.out.line("[" + ", ".join(names) + "]")
    if parsed.has("s"):
        sh.out.lines(stat_lines(stat))
    sh.out.json({"path": path, "children": names, "stat": stat_json(stat)})


async def cmd_stat(sh: Shell, parsed: Parsed) -> None:
    """stat [-w] path"""
    path = parsed.args[1]
    check_path(path)
    zk = await sh.client(path)
    if parsed.has("w"):
        stat = await sh.watches.exists(zk, path)
    else:
        stat = await wire.exists(zk, path)
    if stat is None:
        raise CliError.from_zookeeper(NoNode(path=path))
    sh.out.lines(stat_lines(stat))
    sh.out.json({"path": path, "stat": stat_json(stat)})


async def cmd_delete(sh: Shell, parsed: Parsed) -> None:
    """delete [-v version] path"""
    path = parsed.args[1]
    version = int_option(parsed, "v")
    check_path(path)
    await (await sh.client(path)).delete(path, version)
    sh.out.json({"deleted": path})


async def cmd_deleteall(sh: Shell, parsed: Parsed) -> None:
    """deleteall path [-b batch size]: breadth-first listing, deleted leaves first in multis."""
    batch = int_option(parsed, "b", default=1000)
    path = parsed.args[1]
    check_path(path)
    zk = await sh.client(path)
    tree, queue = [path], [path]
    while queue:
        node = queue.pop(0)
        for child in await zk.children(node):
            queue.append(join(node, child))
            tree.append(join(node, child))
    ops: list[str] = []
    for index in range(len(tree) - 1, -1, -1):
        ops.append(tree[index])
        if len(ops) == batch or index == 0:
            txn = zk.transaction()
            for op in ops:
                txn.delete(op)
            try:
                await txn.commit()
            except ZooKeeperError:
                sh.soft_error("Failed to delete some node(s) in the subtree!")
                return
            ops = []
    sh.out.json({"deleted": path, "nodes": len(tree)})


async def cmd_sync(sh: Shell, parsed: Parsed) -> None:
    """sync path"""
    path = parsed.args[1]
    check_path(path)
    zk = await sh.client(path)
    try:
        await zk.sync(path)
    except ZooKeeperError as exc:
        sh.out.line(f"Sync has failed. rc={int(exc.code)}")
        sh.soft_error(None, json={"error": "Sync has failed", "code": exc.code.name, "path": path})
        return
    sh.out.line("Sync is OK")
    sh.out.json({"synced": path})


async def cmd_get_ephemerals(sh: Shell, parsed: Parsed) -> None:
    """getEphemerals path"""
    prefix = parsed.args[1] if len(parsed.args) > 1 else "/"
    check_path(prefix)
    paths = await (await sh.client(prefix)).ephemerals(prefix)
    sh.out.line("[" + ", ".join(paths) + "]")
    sh.out.json({"ephemerals": paths})


async def cmd_get_all_children_number(sh: Shell, parsed: Parsed) -> None:
    """getAllChildrenNumber path"""
    if len(parsed.args) < 2:
        raise CliError("getAllChildrenNumber path")
    path = parsed.args[1]
    check_path(path)
    number = await (await sh.client(path)).count_descendants(path)
    sh.out.line(str(number))
    sh.out.json({"path": path, "count": number})
