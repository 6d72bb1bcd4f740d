"""ZooKeeper connect strings and the chroot.

Grammar (as ZooKeeper's ``ConnectStringParser``)::

    connect-string = host-entry *("," host-entry) [chroot]
    host-entry     = host [":" port]            ; port defaults to 2181
    host           = name | ipv4 | "[" ipv6 "]"
    chroot         = path                       ; a valid znode path; "/" means none

For example ``"zk1:2181,zk2:2181,[::1]:2182/app"``. Whitespace around entries is ignored.

A :class:`Chroot` is applied to every path sent and stripped from every path received
(replies that carry paths, created paths, watch events), so a client rooted at ``/app``
sees ``/app/x`` as ``/x`` and ``/app`` itself as ``/``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import attrs

from client.errors import BadArguments
from znode.paths import path_error

DEFAULT_PORT = 2181


@attrs.frozen
class Address:
    """One server of the ensemble."""

    host: str
    port: int = DEFAULT_PORT

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@attrs.frozen
class Chroot:
    """The path prefix every client path lives under (``""``: no chroot)."""

    prefix: str = ""

    def to_server(self, path: str) -> str:
        """The server path of a client ``path``."""
        if not self.prefix:
            return path
        return self.prefix if path == "/" else self.prefix + path

    def from_server(self, path: str) -> str:
        """The client path of a server ``path`` (unchanged when it is outside the chroot)."""
        prefix = self.prefix
        if not prefix or not path.startswith(prefix):
            return path
        rest = path[len(prefix) :]
        if not rest:
            return "/"
        return rest if rest[0] == "/" else path


@attrs.frozen
class ConnectString:
    """A parsed connect string: the servers, in the order given, and the chroot."""

    addresses: tuple[Address, ...]
    chroot: Chroot = Chroot()


def _parse_address(entry: str) -> Address:
    entry = entry.strip()
    if entry.startswith("["):
        end = entry.find("]")
        if end == -1:
            raise BadArguments(f"unterminated IPv6 address in {entry!r}")
        host, rest = entry[1:end], entry[end + 1 :]
        if rest and not rest.startswith(":"):
            raise BadArguments(f"bad host entry {entry!r}")
        port_text = rest[1:] if rest else ""
    else:
        host, _, port_text = entry.partition(":")
    if not host:
        raise BadArguments(f"empty host in {entry!r}")
    if not port_text:
        return Address(host)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise BadArguments(f"bad port in {entry!r}")
    return Address(host, int(port_text))


def parse_hosts(hosts: str | Sequence[str]) -> ConnectString:
    """Parse a connect string (or a sequence of ``host:port`` entries, without chroot).

    Raises:
        BadArguments: no host, a bad port, or a chroot that is not a valid path.
    """
    if not isinstance(hosts, str):
        return ConnectString(tuple(_parse_address(entry) for entry in hosts))
    servers, slash, chroot = hosts.partition("/")
    prefix = ""
    if slash:
        chroot = "/" + chroot
        reason = path_error(chroot)
        if reason is not None:
            raise BadArguments(f"bad chroot {chroot!r}: {reason}")
        prefix = "" if chroot == "/" else chroot
    entries = [entry for entry in servers.split(",") if entry.strip()]
    if not entries:
        raise BadArguments(f"no server in connect string {hosts!r}")
    return ConnectString(tuple(_parse_address(entry) for entry in entries), Chroot(prefix))


class HostRing:
    """The servers in a shuffled order, handed out round-robin.

    Args:
        addresses: the ensemble.
        rng: shuffles the order (pass a seeded one for reproducible tests).
    """

    def __init__(self, addresses: Sequence[Address], rng: random.Random) -> None:
        if not addresses:
            raise BadArguments("no server to connect to")
        self._addresses = list(addresses)
        rng.shuffle(self._addresses)
        self._next = 0

    def __len__(self) -> int:
        return len(self._addresses)

    def next(self) -> Address:
        """The next server to try."""
        address = self._addresses[self._next]
        self._next = (self._next + 1) % len(self._addresses)
        return address
