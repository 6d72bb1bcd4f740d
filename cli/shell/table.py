"""Every zkCli.sh 3.8 command: name, usage text, options, handler."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cli.shell import acl, admin, nodes, quota
from cli.shell.command import Command, Deprecated
from cli.shell.parse import Option, Parsed

if TYPE_CHECKING:
    from cli.shell.shell import Shell


async def _close(sh: Shell, parsed: Parsed) -> None:
    await sh.close_session()


def _flags(*names: str) -> tuple[Option, ...]:
    return tuple(Option(name) for name in names)


_V = Option("v", takes_value=True)

COMMANDS: dict[str, Command] = {
    command.name: command
    for command in (
        Command("addWatch", admin.ADD_WATCH_USAGE, admin.cmd_add_watch, (Option("m", True),)),
        Command("addauth", "scheme auth", acl.cmd_addauth, min_args=2),
        Command("close", "", _close),
        Command("config", "[-c] [-w] [-s]", admin.cmd_config, _flags("s", "w", "c")),
        Command(
            "create",
            "[-s] [-e] [-c] [-t ttl] path [data] [acl]",
            nodes.cmd_create,
            (*_flags("e", "s", "c"), Option("t", True)),
            min_args=2,
        ),
        Command(
            "delete",
            "[-v version] path",
            nodes.cmd_delete,
            (_V,),
            min_args=2,
            deprecated=Deprecated(
                "'delete path [version]' has been deprecated. "
                "Please use 'delete [-v version] path' instead.",
                rewrite=False,
            ),
        ),
        Command("deleteall", "path [-b batch size]", nodes.cmd_deleteall, (Option("b", True),), 2),
        Command(
            "delquota",
            "[-n|-b|-N|-B] path",
            quota.cmd_delquota,
            _flags(*quota.GROUP),
            min_args=2,
            group=quota.GROUP,
            group_text=quota.GROUP_TEXT,
        ),
        Command(
            "get",
            "[-s] [-w] path",
            nodes.cmd_get,
            _flags("s", "w"),
            min_args=2,
            deprecated=Deprecated(
                "'get path [watch]' has been deprecated. Please use 'get [-s] [-w] path' instead."
            ),
        ),
        Command("getAcl", "[-s] path", acl.cmd_get_acl, _flags("s"), min_args=2),
        Command("getAllChildrenNumber", "path", nodes.cmd_get_all_children_number),
        Command("getEphemerals", "path", nodes.cmd_get_ephemerals),
        Command("listquota", "path", quota.cmd_listquota, min_args=2),
        Command(
            "ls",
            "[-s] [-w] [-R] path",
            nodes.cmd_ls,
            _flags("?", "s", "w", "R"),
            deprecated=Deprecated(
                "'ls path [watch]' has been deprecated. Please use 'ls [-w] path' instead."
            ),
        ),
        Command(
            "reconfig",
            admin.RECONFIG_USAGE,
            admin.cmd_reconfig,
            (
                *_flags("s"),
                *(Option(name, True) for name in ("v", "file", "members", "add", "remove")),
            ),
        ),
        Command(
            "removewatches",
            "path [-c|-d|-a] [-l]",
            admin.cmd_remove_watches,
            _flags("c", "d", "a", "l"),
            min_args=2,
        ),
        Command("set", "[-s] [-v version] path data", nodes.cmd_set, (Option("s"), _V), 3),
        Command(
            "setAcl",
            "[-s] [-v version] [-R] path acl",
            acl.cmd_set_acl,
            (Option("s"), _V, Option("R")),
            min_args=3,
        ),
        Command(
            "setquota",
            "-n|-b|-N|-B val path",
            quota.cmd_setquota,
            tuple(Option(name, True) for name in quota.GROUP),
            min_args=2,
            group=quota.GROUP,
            group_text=quota.GROUP_TEXT,
            group_required=True,
        ),
        Command(
            "stat",
            "[-w] path",
            nodes.cmd_stat,
            _flags("w"),
            min_args=2,
            deprecated=Deprecated(
                "'stat path [watch]' has been deprecated. Please use 'stat [-w] path' instead."
            ),
        ),
        Command("sync", "path", nodes.cmd_sync, min_args=2),
        Command("version", "", admin.cmd_version),
        Command("whoami", "", acl.cmd_whoami),
    )
}

#: The commands the shell handles itself (zkCli's ``commandMap`` entries without a class).
LOCAL_USAGE: dict[str, str] = {
    "connect": "host:port",
    "history": "",
    "redo": "cmdno",
    "printwatches": "on|off",
    "quit": "",
}

USAGE_HEADER = "zabkeeper shell -server host:port -timeout ms [--json] cmd args"


def usage_lines() -> list[str]:
    """The command list zkCli prints for an unknown command (and ``help``)."""
    table = {name: command.usage for name, command in COMMANDS.items()} | LOCAL_USAGE
    return [USAGE_HEADER] + [f"\t{name} {table[name]}" for name in sorted(table)]


def command_names() -> list[str]:
    """Every command word, ``help`` included, sorted."""
    return sorted([*COMMANDS, *LOCAL_USAGE, "help"])
