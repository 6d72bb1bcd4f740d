"""setquota, listquota and delquota: zkCli.sh's client-side quota bookkeeping.

Quotas live in the tree: for a node ``/a/b`` zkCli writes the limits to
``/zookeeper/quota/a/b/zookeeper_limits`` and starts ``.../zookeeper_stats`` at
``count=0,bytes=0`` (a server that tracks usage keeps the stats up to date from then on).
Both hold ZooKeeper's ``StatsTrack`` text: ``count=N,bytes=N`` followed, once hard limits
exist, by ``=;byteHardLimit=N;countHardLimit=N``. A quota cannot be set under a node that
has one, nor above one.
"""

from __future__ import annotations

import contextlib
import re
from typing import TYPE_CHECKING

from cli.shell import wire
from cli.shell.command import java_int
from cli.shell.errors import CliError
from cli.shell.parse import Parsed
from cli.shell.tree import subtree
from client import Client
from client.errors import NodeExists, NoNode
from znode.acl import OPEN_ACL_UNSAFE
from znode.opcodes import CreateMode
from znode.paths import QUOTA, path_error

if TYPE_CHECKING:
    from cli.shell.shell import Shell

LIMITS = "zookeeper_limits"
STATS = "zookeeper_stats"
_PAIRS = re.compile("[,;]+")
_KEYS = {"n": "count", "b": "bytes", "N": "countHardLimit", "B": "byteHardLimit"}
GROUP = ("n", "b", "N", "B")
#: How Commons CLI names the option group in "Missing required option" errors.
GROUP_TEXT = "[-n num soft quota, -b bytes soft quota, -N num hard quota, -B bytes hard quota]"


def parse_stats(text: str) -> dict[str, int]:
    """``StatsTrack(String)``: ``key=value`` pairs separated by ``,`` or ``;``."""
    stats: dict[str, int] = {}
    if not text:
        return stats
    for pair in _PAIRS.split(text):
        parts = pair.split("=")
        while parts and parts[-1] == "":
            parts.pop()  # Java's split drops trailing empty strings
        if len(parts) >= 2:
            stats[parts[0]] = int(parts[1]) if parts[1] else -1
    return stats


def format_stats(stats: dict[str, int]) -> str:
    """``StatsTrack.toString()``: count and bytes first, then the other keys sorted."""
    text = f"count={stats.get('count', -1)},bytes={stats.get('bytes', -1)}"
    others = sorted(key for key in stats if key not in ("count", "bytes"))
    if others:
        text += "=" + "".join(f";{key}={stats[key]}" for key in others)
    return text


def limits_path(path: str) -> str:
    return f"{QUOTA}{path}/{LIMITS}"


def stats_path(path: str) -> str:
    return f"{QUOTA}{path}/{STATS}"


async def _read(zk: Client, path: str) -> dict[str, int]:
    data, _ = await wire.get_data(zk, path)
    return parse_stats((data or b"").decode("utf-8", "replace"))


def _valid(path: str) -> None:
    reason = path_error(path)
    if reason is not None:
        raise CliError(reason, code="BADARGUMENTS", path=path)


async def _check_no_child_quota(zk: Client, path: str) -> None:
    """No node below ``path`` may hold a quota (``checkIfChildQuota``)."""
    real = QUOTA + path
    _valid(real)
    try:
        nodes = await subtree(zk, real)
    except NoNode:
        return
    for node in nodes:
        try:
            children = await zk.children(node)
        except NoNode:
            continue
        if node != real and LIMITS in children:
            raise CliError(f"{path} has a child {node[len(QUOTA) :]} which has a quota")


async def _check_no_parent_quota(zk: Client, path: str) -> None:
    """No node above ``path`` may hold a quota (``checkIfParentQuota``)."""
    parts = path.split("/")
    while parts and parts[-1] == "":
        parts.pop()
    node = QUOTA
    for part in parts[1:-1]:
        node = f"{node}/{part}"
        try:
            children = await zk.children(node)
        except NoNode:
            return
        if not children:
            return
        if node != QUOTA + path and LIMITS in children:
            raise CliError(f"{path} has a parent {node[len(QUOTA) :]} which has a quota")


def _warn(sh: Shell, limits: dict[str, int], stats: dict[str, int]) -> None:
    count, size = stats.get("count", -1), stats.get("bytes", -1)
    soft, hard = limits.get("count", -1), limits.get("countHardLimit", -1)
    if (soft > -1 and soft < count) or (hard > -1 and hard < count):
        sh.out.line(
            f"[Warning]: the count quota you create is less than the existing count:{count}"
        )
    soft, hard = limits.get("bytes", -1), limits.get("byteHardLimit", -1)
    if (soft > -1 and soft < size) or (hard > -1 and hard < size):
        sh.out.line(f"[Warning]: the bytes quota you create is less than the existing bytes:{size}")


def _wanted(sh: Shell, parsed: Parsed) -> dict[str, int] | None:
    """The limits asked for (others -1), or ``None`` after reporting a bad value."""
    quota = {"count": -1, "bytes": -1, "countHardLimit": -1, "byteHardLimit": -1}
    for flag, key in _KEYS.items():
        if not parsed.has(flag):
            continue
        value = java_int(parsed.value(flag), bits=32 if flag in "nN" else 64)
        if value is None:
            sh.soft_error("NumberFormatException happens when parsing the option value")
            return None
        if flag in "nN" and value <= 0:
            sh.soft_error("the num quota must be greater than zero")
            return None
        if flag in "bB" and value < 0:
            sh.soft_error("the bytes quota must be greater than or equal to zero")
            return None
        quota[key] = value
    return quota


async def cmd_setquota(sh: Shell, parsed: Parsed) -> None:
    """setquota -n|-b|-N|-B val path"""
    path = parsed.args[1]
    if path.startswith(QUOTA):
        sh.soft_error(f"cannot set a quota under the path: {QUOTA}")
        return
    quota = _wanted(sh, parsed)
    if quota is None:
        return
    _valid(path)
    zk = await sh.client(path)
    if await zk.exists(path) is None:
        raise CliError(f"{path} does not exist.", code="NONODE", path=path)
    await _check_no_child_quota(zk, path)
    await _check_no_parent_quota(zk, path)
    node = QUOTA
    for part in path.split("/")[1:]:
        node = f"{node}/{part}"
        if await zk.exists(node) is None:
            with contextlib.suppress(NodeExists):
                await wire.create(zk, node, None, CreateMode.PERSISTENT, OPEN_ACL_UNSAFE)
    limits_node, stats_node = f"{node}/{LIMITS}", f"{node}/{STATS}"
    if await zk.exists(limits_node) is None:
        await zk.create(limits_node, format_stats(quota).encode())
        await zk.create(stats_node, format_stats({"count": 0, "bytes": 0}).encode())
        _warn(sh, await _read(zk, limits_node), await _read(zk, stats_node))
    else:
        limits = await _read(zk, limits_node)
        limits.update({key: value for key, value in quota.items() if value > -1})
        _warn(sh, limits, await _read(zk, stats_node))
        await zk.set(limits_node, format_stats(limits).encode())
    sh.out.json({"path": path, "quota": format_stats(quota)})


async def cmd_listquota(sh: Shell, parsed: Parsed) -> None:
    """listquota path"""
    path = parsed.args[1]
    sh.out.line(f"absolute path is {limits_path(path)}", err=True)
    _valid(limits_path(path))
    zk = await sh.client(path)
    try:
        limits = await _read(zk, limits_path(path))
        stats = await _read(zk, stats_path(path))
    except NoNode:
        sh.soft_error(f"quota for {path} does not exist.")
        return
    sh.out.line(f"Output quota for {path} {format_stats(limits)}")
    sh.out.line(f"Output stat for {path} {format_stats(stats)}")
    sh.out.json({"path": path, "quota": format_stats(limits), "stat": format_stats(stats)})


async def cmd_delquota(sh: Shell, parsed: Parsed) -> None:
    """delquota [-n|-b|-N|-B] path"""
    path = parsed.args[1]
    parent, limits_node = QUOTA + path, limits_path(path)
    _valid(limits_node)
    zk = await sh.client(path)
    if await zk.exists(limits_node) is None:
        sh.out.line(f"Quota does not exist for {path}")
        sh.soft_error(None, json={"error": f"Quota does not exist for {path}", "path": path})
        return
    try:
        limits = await _read(zk, limits_node)
        if not any(parsed.has(flag) for flag in GROUP):
            for child in await zk.children(parent):
                await zk.delete(f"{parent}/{child}")
            await _trim(zk, parent)
        else:
            for flag, key in _KEYS.items():
                if parsed.has(flag):
                    limits[key] = -1
            await zk.set(limits_node, format_stats(limits).encode())
    except NoNode:
        sh.soft_error(f"quota for {path} does not exist.")
        return
    sh.out.json({"path": path})


async def _trim(zk: Client, node: str) -> None:
    """Delete empty quota nodes upwards until one has other children (``trimProcQuotas``)."""
    while node != QUOTA:
        if await zk.children(node):
            return
        await zk.delete(node)
        node = node[: node.rindex("/")]
