"""``zabkeeper four`` and ``zabkeeper status``: four-letter words and an ensemble table.

Both talk to the client port with four-letter words only, so they work against any
ZooKeeper-compatible server (Apache ZooKeeper included), and need no session.
"""

from __future__ import annotations

import sys
import time

import attrs
import click
import trio

DEFAULT_SERVER = "127.0.0.1:2181"


def split_hosts(hosts: str) -> list[tuple[str, int]]:
    """``h1:p1,h2:p2[/chroot]`` as (host, port) pairs (the chroot is ignored)."""
    out = []
    for item in hosts.split("/", 1)[0].split(","):
        item = item.strip()
        if not item:
            continue
        host, sep, port = item.rpartition(":")
        if not sep:
            host, port = item, "2181"
        try:
            out.append((host.strip("[]") or "127.0.0.1", int(port)))
        except ValueError:
            raise click.BadParameter(f"not host:port: {item!r}") from None
    if not out:
        raise click.BadParameter("no server given")
    return out


async def ask(host: str, port: int, word: str) -> str:
    """Send a four-letter word and return the whole answer (the server then closes).

    Gives up after 3 s (``trio.TooSlowError``).
    """
    with trio.fail_after(3):
        stream = await trio.open_tcp_stream(host, port)
        async with stream:
            await stream.send_all(word.encode("ascii"))
            chunks = []
            while chunk := await stream.receive_some(65536):
                chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


@click.command("four")
@click.argument("word")
@click.option("--server", default=DEFAULT_SERVER, show_default=True, help="host:port")
def four_command(word: str, server: str) -> None:
    """Send a four-letter word (ruok, srvr, stat, mntr, conf, cons, dump, ...) and print
    the answer."""
    if len(word) != 4:
        raise click.BadParameter("a four-letter word has four letters", param_hint="WORD")
    host, port = split_hosts(server)[0]
    try:
        answer = trio.run(ask, host, port, word)
    except (OSError, trio.TooSlowError) as exc:
        raise click.ClickException(
            f"{host}:{port}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    click.echo(answer, nl=not answer.endswith("\n"))


@attrs.frozen
class Row:
    """One server's line of the status table."""

    server: str
    mode: str
    zxid: str = "-"
    epoch: str = "-"
    connections: str = "-"
    outstanding: str = "-"
    latency: str = "-"
    znodes: str = "-"
    watches: str = "-"


def parse_srvr(text: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


def parse_mntr(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("\t")
        if sep:
            out[key] = value
    return out


def make_row(server: str, srvr: str | None, mntr: str | None) -> Row:
    """A table row from ``srvr`` (always allowed) and ``mntr`` (if whitelisted)."""
    if srvr is None:
        return Row(server, "down")
    info = parse_srvr(srvr)
    if "Mode" not in info:
        return Row(server, "not serving" if "not currently serving" in srvr else "?")
    metrics = parse_mntr(mntr or "")
    zxid = info.get("Zxid", "-")
    try:
        epoch = str(int(zxid, 16) >> 32)
    except ValueError:
        epoch = "-"
    return Row(
        server=server,
        mode=info["Mode"],
        zxid=zxid,
        epoch=epoch,
        connections=info.get("Connections", "-"),
        outstanding=info.get("Outstanding", "-"),
        latency=info.get("Latency min/avg/max", "-"),
        znodes=info.get("Node count", "-"),
        watches=metrics.get("zk_watch_count", "-"),
    )


def render_table(rows: list[Row]) -> str:
    headers = [
        "server",
        "mode",
        "zxid",
        "epoch",
        "conns",
        "outstanding",
        "latency min/avg/max",
        "znodes",
        "watches",
    ]
    cells = [headers] + [list(attrs.astuple(r)) for r in rows]
    widths = [max(len(str(row[i])) for row in cells) for i in range(len(headers))]
    return "\n".join(
        "  ".join(
            str(value).ljust(width) for value, width in zip(row, widths, strict=True)
        ).rstrip()
        for row in cells
    )


async def gather_rows(servers: list[tuple[str, int]]) -> list[Row]:
    rows: list[Row | None] = [None] * len(servers)

    async def one(index: int, host: str, port: int) -> None:
        name = f"{host}:{port}"
        try:
            srvr = await ask(host, port, "srvr")
        except (OSError, trio.TooSlowError):
            rows[index] = Row(name, "down")
            return
        try:
            mntr: str | None = await ask(host, port, "mntr")
        except (OSError, trio.TooSlowError):
            mntr = None
        rows[index] = make_row(name, srvr, mntr)

    async with trio.open_nursery() as nursery:
        for index, (host, port) in enumerate(servers):
            nursery.start_soon(one, index, host, port)
    return [r for r in rows if r is not None]


@click.command("status")
@click.option(
    "--server",
    "servers",
    default=DEFAULT_SERVER,
    show_default=True,
    help="Connect string: host:port,host:port,...",
)
@click.option("--watch", is_flag=True, help="Refresh the table in place (like zktop).")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between refreshes.")
def status_command(servers: str, watch: bool, interval: float) -> None:
    """One table for an ensemble: each server's mode, zxid, epoch, connections, outstanding
    requests, latency, znode and watch counts."""
    targets = split_hosts(servers)
    if not watch:
        click.echo(render_table(trio.run(gather_rows, targets)))
        return
    lines = 0
    try:
        while True:
            table = render_table(trio.run(gather_rows, targets))
            if lines and sys.stdout.isatty():
                sys.stdout.write(f"\x1b[{lines}F\x1b[J")
            stamp = time.strftime("%H:%M:%S")
            sys.stdout.write(f"{stamp}\n{table}\n")
            sys.stdout.flush()
            lines = table.count("\n") + 2
            time.sleep(interval)
    except KeyboardInterrupt:
        pass
