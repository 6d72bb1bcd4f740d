"""The zoo.cfg vocabulary: value kinds, ``server.N`` syntax and the keys we only acknowledge.

Each value kind parses the text of one key (raising ``ValueError("expected ...")``), says
whether a typed value is acceptable (the validators on :class:`server.config.ServerConfig` use
this), and may *review* a parsed value the way ZooKeeper silently fixes some (a retain count
below 3 becomes 3), returning a note that the loader turns into a warning.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from pathlib import Path
from typing import Any, Generic, Literal, NamedTuple, TypeVar

import attrs

T = TypeVar("T")
Role = Literal["participant", "observer"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


INT_MIN = -(2**31)
INT_MAX = 2**31 - 1
MAX_SERVER_ID = 255
MAX_EXTENDED_SERVER_ID = 254
"""ZooKeeper's ``EphemeralType.MAX_EXTENDED_SERVER_ID``: TTL session ids reserve 255."""

FOUR_LETTER_WORDS = _words(
    "ruok srvr stat mntr conf cons crst dump envi srst wchs wchc wchp isro dirs gtmk stmk hash"
)
ALWAYS_ALLOWED_WORDS = frozenset({"srvr"})
"""ZooKeeper always allows ``srvr`` whatever the whitelist says (``zkServer.sh status`` uses it)."""

SERVER_FORMAT = "host:quorumPort:electionPort[:participant|:observer][;[clientAddress:]clientPort]"
_JAVA_INT = re.compile(r"[+-]?[0-9]+", re.ASCII)
_HOST_NAME = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?", re.ASCII)


def java_int(text: str) -> int:
    """``Integer.parseInt``: optional sign, ASCII digits, 32-bit range; else ValueError."""
    if not _JAVA_INT.fullmatch(text):
        raise ValueError(text)
    value = int(text)
    if not INT_MIN <= value <= INT_MAX:
        raise ValueError(text)
    return value


class Kind(Generic[T]):
    """How one key's text becomes a typed value; see the module docstring."""

    @property
    def expect(self) -> str:
        """What a valid text looks like, for error messages."""
        raise NotImplementedError

    def parse(self, text: str) -> T | None:
        """The value of ``text`` (None: revert to the default); ValueError if malformed."""
        raise NotImplementedError

    def valid(self, value: Any) -> bool:
        """Whether a typed value is acceptable for the field."""
        raise NotImplementedError

    def review(self, value: T, text: str) -> tuple[T, str | None]:
        """Adjust a value parsed from ``text`` as ZooKeeper would, with a note if it did."""
        return value, None

    def _fail(self) -> ValueError:
        return ValueError(f"expected {self.expect}")


@attrs.frozen
class Ints(Kind[int]):
    """A Java ``int`` in ``low..high``; below ``floor`` it is raised to ``floor`` with a note."""

    low: int = 1
    high: int = INT_MAX
    floor: int | None = None
    unset: int | None = None
    """A value that means "use the default" (``-1`` for the session timeouts)."""

    @property
    def expect(self) -> str:
        if self.floor is not None:
            return f"an integer >= {self.floor}"
        if self.high == INT_MAX and self.low in (1, 0, INT_MIN):
            base = {1: "a positive integer", 0: "an integer >= 0", INT_MIN: "an integer"}[self.low]
        else:
            base = f"an integer from {self.low} to {self.high}"
        return base if self.unset is None else f"{base} or {self.unset}"

    def parse(self, text: str) -> int | None:
        try:
            value = java_int(text)
        except ValueError:
            raise self._fail() from None
        if value == self.unset:
            return None
        if not self.low <= value <= self.high:
            raise self._fail()
        return value

    def valid(self, value: Any) -> bool:
        low = self.low if self.floor is None else self.floor
        return type(value) is int and low <= value <= self.high

    def review(self, value: int, text: str) -> tuple[int, str | None]:
        if self.floor is not None and value < self.floor:
            return self.floor, f"{value} is below the minimum of {self.floor}; using {self.floor}"
        return value, None


@attrs.frozen
class Bools(Kind[bool]):
    """``true``/``false``/``yes``/``no`` in any case (ZooKeeper's ``forceSync`` knows ``no``)."""

    @property
    def expect(self) -> str:
        return "true, false, yes or no"

    def parse(self, text: str) -> bool:
        lowered = text.lower()
        if lowered in ("true", "yes"):
            return True
        if lowered in ("false", "no"):
            return False
        raise self._fail()

    def valid(self, value: Any) -> bool:
        return isinstance(value, bool)


@attrs.frozen
class Paths(Kind[Path]):
    """A directory; relative paths are relative to the current directory, as in ZooKeeper."""

    @property
    def expect(self) -> str:
        return "a directory path"

    def parse(self, text: str) -> Path:
        if not text or "\0" in text:
            raise self._fail()
        return Path(text)

    def valid(self, value: Any) -> bool:
        return isinstance(value, Path) and "\0" not in str(value)

    def review(self, value: Path, text: str) -> tuple[Path, str | None]:
        if value.is_absolute() or text.startswith("./") or value == Path():
            return value, None
        return value, f"'{text}' is relative to the current directory (write ./{text} if meant)"


@attrs.frozen
class Hosts(Kind[str]):
    """A host name or IP literal (IPv6 bare or in brackets, stored bare); never host:port."""

    @property
    def expect(self) -> str:
        return "a host name or IP address, without a port"

    def parse(self, text: str) -> str:
        bracketed = text.startswith("[") and text.endswith("]")
        host = check_host(text[1:-1] if bracketed else text)
        if host is None or (bracketed and ":" not in host):
            raise self._fail()
        return host

    def valid(self, value: Any) -> bool:
        return isinstance(value, str) and check_host(value) == value


@attrs.frozen
class Digests(Kind[str | None]):
    """The super user's ``user:base64(SHA-1(user:password))``, as ZooKeeper's DigestAuth expects."""

    @property
    def expect(self) -> str:
        return "user:base64 SHA-1 digest, e.g. super:g9oN2HttPfn8MMWJZ2r45Np/LIA="

    def parse(self, text: str) -> str:
        if not self.valid(text):
            raise self._fail()
        return text

    def valid(self, value: Any) -> bool:
        if value is None:
            return True
        if not isinstance(value, str):
            return False
        user, colon, digest = value.partition(":")
        if not user or not colon or any(c.isspace() for c in user):
            return False
        try:
            return len(base64.b64decode(digest, validate=True)) == 20
        except binascii.Error:
            return False


@attrs.frozen
class Words(Kind[frozenset[str]]):
    """``4lw.commands.whitelist``: comma-separated words, ``*`` for all; srvr is always on."""

    @property
    def expect(self) -> str:
        return "comma-separated four-letter words or *"

    def parse(self, text: str) -> frozenset[str]:
        words = [word.strip() for word in text.split(",")]
        if "*" in words:
            return FOUR_LETTER_WORDS
        return frozenset(word for word in words if word)

    def valid(self, value: Any) -> bool:
        return isinstance(value, frozenset) and value <= FOUR_LETTER_WORDS

    def review(self, value: frozenset[str], text: str) -> tuple[frozenset[str], str | None]:
        unknown = sorted(value - FOUR_LETTER_WORDS)
        kept = (value & FOUR_LETTER_WORDS) | ALWAYS_ALLOWED_WORDS
        if not unknown:
            return kept, None
        return kept, "ignoring unknown four-letter words " + ", ".join(map(repr, unknown))


@attrs.frozen
class Roles(Kind[Role]):
    """A server's role, in any case, as the optional fourth part of ``server.N``."""

    @property
    def expect(self) -> str:
        return "participant or observer"

    def parse(self, text: str) -> Role:
        lowered = text.strip().lower()
        if lowered == "participant":
            return "participant"
        if lowered == "observer":
            return "observer"
        raise self._fail()

    def valid(self, value: Any) -> bool:
        return value in ("participant", "observer")


@attrs.frozen
class Maybe(Kind[T | None]):
    """Another kind, or None when the key is absent."""

    inner: Kind[T]

    @property
    def expect(self) -> str:
        return self.inner.expect

    def parse(self, text: str) -> T | None:
        return self.inner.parse(text)

    def valid(self, value: Any) -> bool:
        return value is None or self.inner.valid(value)


def check_host(text: str) -> str | None:
    """``text`` if it is a host name or an IPv4/IPv6 literal (no brackets), else None."""
    if ":" in text:
        try:
            ipaddress.IPv6Address(text)
        except ValueError:
            return None
        return text
    return text if _HOST_NAME.fullmatch(text) else None


def host_key(host: str) -> str:
    """A comparable form of a host: IP literals canonicalised, names lower-cased."""
    try:
        return ipaddress.ip_address(host.partition("%")[0]).compressed
    except ValueError:
        return host.lower()


def is_wildcard(host: str) -> bool:
    """Whether ``host`` is the any-address (``0.0.0.0`` or ``::``)."""
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


class ServerFields(NamedTuple):
    """The parts of one ``server.N`` value."""

    host: str
    quorum_port: int
    election_port: int
    role: Role
    client_address: str | None
    client_port: int | None


SERVER_IDS = Ints(0, MAX_SERVER_ID)
ROLES = Roles()
PORTS = Ints(1, 65535)


def parse_server_id(key: str) -> int:
    """The N of a ``server.N`` key; ValueError naming the expected range."""
    value = SERVER_IDS.parse(key.removeprefix("server."))
    assert value is not None
    return value


def parse_server(text: str) -> ServerFields:
    """Parse ``host:quorumPort:electionPort[:role][;[clientAddress:]clientPort]``.

    The syntax of ZooKeeper's ``QuorumServer``: IPv6 hosts go in brackets; a client part of
    just a port leaves the address unset. Multiple addresses (``|``) are not supported, as in
    ZooKeeper unless ``multiAddress.enabled`` is set. ValueError says what is wrong.
    """
    server_part, semicolon, client_part = text.partition(";")
    if "|" in server_part:
        raise ValueError("multiple addresses per server (|) are not supported")
    parts = _host_and_ports(server_part)
    if len(parts) not in (3, 4):
        raise ValueError(f"expected {SERVER_FORMAT}")
    host, quorum_port, election_port = parts[0], _port(parts[1]), _port(parts[2])
    if quorum_port == election_port:
        raise ValueError(f"quorum and election ports must differ, both are {quorum_port}")
    role: Role = "participant"
    if len(parts) == 4:
        try:
            role = ROLES.parse(parts[3])
        except ValueError as exc:
            raise ValueError(f"unknown role '{parts[3]}': {exc}") from None
    client_address: str | None = None
    client_port: int | None = None
    if semicolon:
        if not client_part:
            raise ValueError("missing client port after ';'")
        if ";" in client_part:
            raise ValueError(f"expected {SERVER_FORMAT}")
        client = _host_and_ports(client_part)
        if len(client) > 2:
            raise ValueError("expected [clientAddress:]clientPort after ';'")
        client_port = _port(client[-1])
        client_address = client[0] if len(client) == 2 else None
    return ServerFields(host, quorum_port, election_port, role, client_address, client_port)


def _host_and_ports(text: str) -> list[str]:
    """ZooKeeper's ``ConfigUtils.getHostAndPort``: split on ``:``, an IPv6 host in brackets."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ValueError(f"'{text}' starts with '[' but has no matching ']'")
        if text[end + 1 : end + 2] != ":":
            raise ValueError(f"expected ':' and a port after ']' in '{text}'")
        host, rest = text[1:end], text[end + 2 :].split(":")
        if check_host(host) is None or ":" not in host:
            raise ValueError(f"'{host}' in brackets is not an IPv6 address")
        return [host, *rest]
    parts = text.split(":")
    if not parts[0]:
        raise ValueError(f"missing host in '{text}'")
    if check_host(parts[0]) is None:
        raise ValueError(f"'{parts[0]}' is not a host name or IP address")
    return parts


def _port(text: str) -> int:
    try:
        value = PORTS.parse(text)
    except ValueError:
        raise ValueError(f"port '{text}' is not an integer from 1 to 65535") from None
    assert value is not None
    return value
