"""ACLs as zkCli.sh reads and prints them, and the commands getAcl, setAcl, addauth, whoami."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cli.shell.command import check_path, int_option
from cli.shell.errors import CliError, keeper_message
from cli.shell.output import Output, acl_json, acl_lines, stat_json, stat_lines
from cli.shell.parse import Parsed
from cli.shell.tree import subtree
from client.errors import InvalidACL, ZooKeeperError
from znode.acl import ACL, Id

if TYPE_CHECKING:
    from cli.shell.shell import Shell

_PERM_BITS = {"r": 1, "w": 2, "c": 4, "d": 8, "a": 16}


def parse_acl(text: str, out: Output) -> list[ACL]:
    """``AclParser.parse``: ``scheme:id:perms,...``; bad entries are reported and skipped.

    The id is everything between the first and the last colon, so digest ids
    (``digest:user:hash:cdrwa``) parse; unknown permission letters are reported.
    """
    entries = text.split(",")
    while len(entries) > 1 and entries[-1] == "":
        entries.pop()  # Java's String.split drops trailing empty strings
    acl = []
    for entry in entries:
        first, last = entry.find(":"), entry.rfind(":")
        if first == -1 or first == last:
            out.line(f"{entry} does not have the form scheme:id:perm", err=True)
            continue
        perms = 0
        for letter in entry[last + 1 :]:
            if letter in _PERM_BITS:
                perms |= _PERM_BITS[letter]
            else:
                out.line(f"Unknown perm type: {letter}", err=True)
        acl.append(ACL(perms, Id(entry[:first], entry[first + 1 : last])))
    return acl


def check_acl(acl: list[ACL]) -> None:
    """The Java client's own check: an empty list is ``InvalidACL`` without a path.

    Raises:
        InvalidACL: ``acl`` is empty.
    """
    if not acl:
        raise InvalidACL()


async def cmd_get_acl(sh: Shell, parsed: Parsed) -> None:
    """getAcl [-s] path"""
    path = parsed.args[1]
    check_path(path)
    acl, stat = await (await sh.client(path)).get_acl(path)
    for entry in acl:
        sh.out.lines(acl_lines(entry))
    if parsed.has("s"):
        sh.out.lines(stat_lines(stat))
    sh.out.json({"path": path, "acl": [acl_json(a) for a in acl], "stat": stat_json(stat)})


async def cmd_set_acl(sh: Shell, parsed: Parsed) -> None:
    """setAcl [-s] [-v version] [-R] path acl"""
    path = parsed.args[1]
    acl = parse_acl(parsed.args[2], sh.out)
    version = int_option(parsed, "v")
    check_path(path)
    zk = await sh.client(path)
    if not parsed.has("R"):
        try:
            check_acl(acl)
        except InvalidACL as exc:
            raise CliError.from_zookeeper(exc) from None
        stat = await zk.set_acl(path, acl, version)
        if parsed.has("s"):
            sh.out.lines(stat_lines(stat))
        sh.out.json({"path": path, "stat": stat_json(stat)})
        return
    failed = []
    for node in await subtree(zk, path):
        try:
            check_acl(acl)
            await zk.set_acl(node, acl, version)
        except ZooKeeperError as exc:
            # zkCli prints these with no line break between them; one per line here.
            failed.append(node)
            sh.soft_error(keeper_message(int(exc.code), exc.path))
    if not failed:
        sh.out.json({"path": path})


async def cmd_addauth(sh: Shell, parsed: Parsed) -> None:
    """addauth scheme auth"""
    scheme = parsed.args[1]
    credential = parsed.args[2].encode() if len(parsed.args) > 2 else b""
    await (await sh.client(None)).add_auth(scheme, credential)
    sh.out.json({"scheme": scheme})


async def cmd_whoami(sh: Shell, parsed: Parsed) -> None:
    """whoami"""
    identities = await (await sh.client(None)).whoami()
    sh.out.line("Auth scheme: User")
    sh.out.lines([f"{info.auth_scheme}: {info.user}" for info in identities])
    sh.out.json({"identities": [{"scheme": i.auth_scheme, "user": i.user} for i in identities]})
