"""Run a whole ensemble as child processes: ours (``zabkeeper server``) or Apache ZooKeeper's.

Each member gets a directory with its ``zoo.cfg``, ``data/myid`` and ``server.log``, and
three ports on 127.0.0.1 (client, quorum, election). Members are started and stopped by
PID: :meth:`stop` sends SIGTERM (SIGKILL after a grace period), :meth:`kill` sends SIGKILL
at once, as in a crash. Everything is cleaned up on :meth:`close` — use the ensemble as a
context manager (or from a fixture with ``try/finally``), and it stops its processes and
deletes its directories even when a test fails half-way.

Ports are chosen below the kernel's ephemeral range (so an outgoing connection of some
other process can never sit on a port a member is about to re-bind after a restart), and
each one is reserved with an ``flock`` on a file in the temp directory for the life of
the ensemble, so concurrent test runs on the same machine never pick the same port.

The state of a member is read with ``srvr`` on its client port: ``Mode: leader`` /
``follower`` / ``observer``, and its ``Zxid``.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from cli.ask import parse_mntr
from support.apache_zk import CONF_DIR, SUPER_DIGEST, ZOOKEEPER_JAR, four_letter_word

ZABKEEPER = str(Path(sys.executable).parent / "zabkeeper")

# --- ports --------------------------------------------------------------------------------

_LOCK_DIR = Path(tempfile.gettempdir()) / "zabkeeper-test-ports"


def _ephemeral_low() -> int:
    try:
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text()
        return int(text.split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


class PortReservations:
    """Ports on 127.0.0.1 nobody listens on, held (by ``flock``) until :meth:`release`."""

    def __init__(self) -> None:
        self._held: dict[int, int] = {}  # port -> lock file descriptor
        self._rng = random.Random(os.getpid() ^ time.monotonic_ns())

    def take(self, count: int) -> list[int]:
        _LOCK_DIR.mkdir(exist_ok=True)
        low, high = 10_000, min(_ephemeral_low(), 65_536) - 1
        ports: list[int] = []
        for _ in range(count * 200):
            if len(ports) == count:
                return ports
            port = self._rng.randrange(low, high)
            if port in self._held:
                continue
            fd = os.open(_LOCK_DIR / f"{port}.lock", os.O_CREAT | os.O_RDWR, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            if not _bindable(port):
                os.close(fd)
                continue
            self._held[port] = fd
            ports.append(port)
        raise RuntimeError(f"could not reserve {count} free ports")

    def release(self) -> None:
        for fd in self._held.values():
            os.close(fd)
        self._held.clear()


def all_free(ports: Iterable[int]) -> bool:
    """Whether every one of ``ports`` can be bound on 127.0.0.1 now (all at once)."""
    with contextlib.ExitStack() as stack:
        try:
            for port in ports:
                sock = stack.enter_context(socket.socket())
                sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# --- srvr ---------------------------------------------------------------------------------

_MODE = re.compile(r"^Mode: (\S+)", re.MULTILINE)
_ZXID = re.compile(r"^Zxid: 0x([0-9a-fA-F]+)", re.MULTILINE)


def parse_srvr(text: str) -> tuple[str | None, int | None]:
    """(mode, zxid) from a ``srvr`` answer; (None, None) when the server is not serving."""
    mode, zxid = _MODE.search(text), _ZXID.search(text)
    return (mode.group(1) if mode else None, int(zxid.group(1), 16) if zxid else None)


# --- members ------------------------------------------------------------------------------


class Member:
    """One server of the ensemble: its id, ports, directory and (when running) process."""

    def __init__(self, sid: int, role: str, ports: list[int], workdir: Path) -> None:
        self.id = sid
        self.role = role  # "participant" or "observer"
        self.client_port, self.quorum_port, self.election_port = ports
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def log_path(self) -> Path:
        return self.workdir / "server.log"

    @property
    def config_path(self) -> Path:
        return self.workdir / "zoo.cfg"

    @property
    def hosts(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def server_line(self) -> str:
        role = ":observer" if self.role == "observer" else ""
        return (
            f"server.{self.id}=127.0.0.1:{self.quorum_port}:{self.election_port}{role}"
            f";127.0.0.1:{self.client_port}"
        )


_LIVE: set[EnsembleBase] = set()


@atexit.register
def _close_leftovers() -> None:  # pragma: no cover - only when a test run is interrupted
    for ensemble in list(_LIVE):
        ensemble.close()


_POLL_LINES = ("four-letter word", "Processing srvr command", "Processing mntr command")


def _is_poll_line(line: str) -> bool:
    """A log line about a four-letter word (the harness polls srvr all the time)."""
    return any(marker in line for marker in _POLL_LINES)


class EnsembleBase:
    """What our ensemble and Apache ZooKeeper's share: layout, processes, ``srvr`` polling."""

    name = "ensemble"

    def __init__(
        self,
        size: int = 3,
        observers: int = 0,
        *,
        tick_time: int = 1000,
        init_limit: int = 10,
        sync_limit: int = 5,
        extra_config: dict[str, str] | None = None,
    ) -> None:
        if size < 1 or observers < 0:
            raise ValueError("an ensemble needs voters")
        self.tick_time = tick_time
        self.init_limit = init_limit
        self.sync_limit = sync_limit
        self.extra_config = dict(extra_config or {})
        self.root = Path(tempfile.mkdtemp(prefix=f"{self.name}-"))
        self.ports = PortReservations()
        self.members: dict[int, Member] = {}
        try:
            ports = self.ports.take(3 * (size + observers))
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise
        for index in range(size + observers):
            sid = index + 1
            role = "participant" if index < size else "observer"
            workdir = self.root / f"server{sid}"
            member = Member(sid, role, ports[3 * index : 3 * index + 3], workdir)
            member.data_dir.mkdir(parents=True)
            (member.data_dir / "myid").write_text(f"{sid}\n")
            self.members[sid] = member
        for member in self.members.values():
            member.config_path.write_text(self._config_text(member))
        self.closed = False
        _LIVE.add(self)

    # --- configuration and command: what differs between implementations ----------------

    def _config(self, member: Member) -> dict[str, str]:
        return {
            "tickTime": str(self.tick_time),
            "initLimit": str(self.init_limit),
            "syncLimit": str(self.sync_limit),
            "dataDir": str(member.data_dir),
            "clientPort": str(member.client_port),
            "clientPortAddress": "127.0.0.1",
            "maxClientCnxns": "0",
            "4lw.commands.whitelist": "*",
            "forceSync": "no",
        }

    def _config_text(self, member: Member) -> str:
        config = self._config(member)
        config.update(self.extra_config)
        lines = [f"{key}={value}" for key, value in config.items()]
        lines += [m.server_line() for m in self.members.values()]
        return "".join(f"{line}\n" for line in lines)

    def _command(self, member: Member) -> list[str]:
        raise NotImplementedError

    # --- ids and addresses -------------------------------------------------------------------

    @property
    def ids(self) -> list[int]:
        return list(self.members)

    @property
    def voters(self) -> list[int]:
        return [m.id for m in self.members.values() if m.role == "participant"]

    @property
    def observers(self) -> list[int]:
        return [m.id for m in self.members.values() if m.role == "observer"]

    def running_ids(self) -> list[int]:
        return [m.id for m in self.members.values() if m.running]

    def hosts(self, ids: Iterable[int] | None = None) -> str:
        """A connect string: the given members' client addresses (default: all)."""
        chosen = self.ids if ids is None else list(ids)
        return ",".join(self.members[i].hosts for i in chosen)

    def client_port(self, sid: int) -> int:
        return self.members[sid].client_port

    # --- processes ---------------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> EnsembleBase:
        """Start every member, then wait for a leader and all members in sync."""
        for sid in self.ids:
            self.start_member(sid)
        self.wait_for_quorum(timeout=timeout)
        return self

    def start_member(self, sid: int) -> None:
        """Launch one member (without waiting for it to join)."""
        member = self.members[sid]
        if member.running:
            raise RuntimeError(f"server {sid} is already running")
        member.starts += 1
        with open(member.log_path, "ab") as log:
            log.write(f"=== harness: start #{member.starts} of server {sid} ===\n".encode())
            log.flush()
            member.process = subprocess.Popen(
                self._command(member),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=member.workdir,
            )

    def stop_member(self, sid: int, grace: float = 10.0) -> None:
        """SIGTERM one member, SIGKILL if it has not exited after ``grace`` seconds."""
        self._stop([self.members[sid]], grace)

    def kill(self, sid: int) -> None:
        """SIGKILL: no shutdown at all, as in a crash."""
        member = self.members[sid]
        if member.process is not None:
            if member.process.poll() is None:
                os.kill(member.process.pid, signal.SIGKILL)
            member.process.wait()
        member.process = None

    def restart(self, sid: int, *, kill: bool = False) -> None:
        """Stop (SIGTERM, or SIGKILL with ``kill``) and start one member again."""
        if kill:
            self.kill(sid)
        else:
            self.stop_member(sid)
        self.start_member(sid)

    def wipe(self, sid: int) -> None:
        """Delete a stopped member's dataDir contents except ``myid``."""
        member = self.members[sid]
        if member.running:
            raise RuntimeError(f"stop server {sid} before wiping it")
        for entry in member.data_dir.iterdir():
            if entry.name == "myid":
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    def stop(self, grace: float = 10.0) -> None:
        """Stop every running member (SIGTERM to all, then SIGKILL to stragglers)."""
        self._stop(list(self.members.values()), grace)

    def _stop(self, members: list[Member], grace: float) -> None:
        running = [m for m in members if m.process is not None]
        for member in running:
            assert member.process is not None
            if member.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    member.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for member in running:
            assert member.process is not None
            try:
                member.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                member.process.kill()
                member.process.wait()
            member.process = None

    def close(self) -> None:
        """Stop everything and delete the directories (idempotent)."""
        if self.closed:
            return
        self.closed = True
        try:
            self.stop()
        finally:
            self.ports.release()
            shutil.rmtree(self.root, ignore_errors=True)
            _LIVE.discard(self)

    def __enter__(self) -> Any:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- state, read with srvr ---------------------------------------------------------------

    def four_letter(self, sid: int, word: str, timeout: float = 2.0) -> str:
        return four_letter_word(self.members[sid].client_port, word, timeout=timeout)

    def srvr(self, sid: int) -> tuple[str | None, int | None]:
        """(mode, zxid) of one member; (None, None) when it is down or not serving."""
        if not self.members[sid].running:
            return None, None
        try:
            return parse_srvr(self.four_letter(sid, "srvr", timeout=2.0))
        except OSError:
            return None, None

    def mntr(self, sid: int) -> dict[str, str]:
        return parse_mntr(self.four_letter(sid, "mntr"))

    def modes(self) -> dict[int, tuple[str | None, int | None]]:
        return {sid: self.srvr(sid) for sid in self.ids}

    def leader(self) -> int | None:
        """The member whose ``srvr`` says ``Mode: leader`` (None if none or several)."""
        leaders = [sid for sid in self.running_ids() if self.srvr(sid)[0] == "leader"]
        return leaders[0] if len(leaders) == 1 else None

    def followers(self) -> list[int]:
        """Members whose ``srvr`` says ``Mode: follower``."""
        return [sid for sid in self.running_ids() if self.srvr(sid)[0] == "follower"]

    def check_alive(self, ids: Iterable[int] | None = None) -> None:
        """Raise with the log tail when a member that should run has exited."""
        for sid in self.ids if ids is None else ids:
            member = self.members[sid]
            if member.process is not None and member.process.poll() is not None:
                code = member.process.returncode
                raise RuntimeError(
                    f"{self.name} server {sid} exited with {code}:\n{self.log_tail(sid)}"
                )

    def wait_for_quorum(
        self, timeout: float = 60.0, ids: Iterable[int] | None = None, *, same_zxid: bool = True
    ) -> int:
        """Poll ``srvr`` until the running members (or ``ids``) are one leader and the rest
        followers/observers, all at the same zxid (unless ``same_zxid`` is false, for
        waiting under write load); return the leader's id."""
        wanted = self.running_ids() if ids is None else list(ids)
        deadline = time.monotonic() + timeout
        last: dict[int, tuple[str | None, int | None]] = {}
        while True:
            self.check_alive(wanted)
            last = {sid: self.srvr(sid) for sid in wanted}
            leaders = [sid for sid, (mode, _) in last.items() if mode == "leader"]
            learners_ok = all(
                mode in ("follower", "observer")
                for sid, (mode, _) in last.items()
                if sid not in leaders
            )
            # A zxid with counter 0 is no txn: Apache ZooKeeper's new leader shows its new
            # epoch (0x<epoch>00000000) until the first write, its learners their last txn.
            zxids = {zxid for _, zxid in last.values() if zxid is None or zxid & 0xFFFFFFFF}
            if len(leaders) == 1 and learners_ok and (len(zxids) <= 1 or not same_zxid):
                return leaders[0]
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{self.name}: no settled quorum within {timeout}s: {self._show(last)}\n"
                    + self.diagnostics()
                )
            time.sleep(0.05)

    def wait_until(
        self, condition: Callable[[], Any], timeout: float = 30.0, what: str = "condition"
    ) -> Any:
        """Poll ``condition`` until it returns something true; TimeoutError with logs."""
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{self.name}: {what} not reached in {timeout}s\n" + (self.diagnostics())
                )
            time.sleep(0.05)

    @staticmethod
    def _show(state: dict[int, tuple[str | None, int | None]]) -> str:
        return ", ".join(
            f"{sid}={mode}@{'-' if zxid is None else hex(zxid)}"
            for sid, (mode, zxid) in state.items()
        )

    # --- logs --------------------------------------------------------------------------------

    def log_text(self, sid: int) -> str:
        path = self.members[sid].log_path
        return path.read_text(errors="replace") if path.exists() else ""

    def log_size(self, sid: int) -> int:
        """A position in the member's log; pass it to :meth:`log_since`."""
        path = self.members[sid].log_path
        return path.stat().st_size if path.exists() else 0

    def log_since(self, sid: int, position: int) -> str:
        path = self.members[sid].log_path
        if not path.exists():
            return ""
        with open(path, "rb") as f:
            f.seek(position)
            return f.read().decode(errors="replace")

    def log_tail(self, sid: int, lines: int = 40) -> str:
        """The last lines of a member's log, without the harness's own srvr/mntr polls."""
        kept = [line for line in self.log_text(sid).splitlines() if not _is_poll_line(line)]
        return "\n".join(kept[-lines:])

    def diagnostics(self, lines: int = 30) -> str:
        """Each member's state and log tail, for failure messages."""
        parts = []
        for sid, member in self.members.items():
            state = self._show({sid: self.srvr(sid)}) if member.running else f"{sid}=down"
            parts.append(
                f"--- {self.name} server {sid} ({member.role}, {state}, "
                f"client port {member.client_port}) ---\n{self.log_tail(sid, lines)}"
            )
        return "\n".join(parts)


class ZabkeeperEnsemble(EnsembleBase):
    """Our ensemble: ``zabkeeper server --config zoo.cfg`` per member."""

    name = "zabkeeper"

    def __enter__(self) -> ZabkeeperEnsemble:
        return super().__enter__()  # type: ignore[no-any-return]

    def _command(self, member: Member) -> list[str]:
        return [ZABKEEPER, "server", "--config", str(member.config_path)]


def _slf4j_binding() -> list[Path]:
    """slf4j's simple binding (log lines on stderr, hence in server.log), if installed."""
    jar = ZOOKEEPER_JAR.parent / "slf4j-simple.jar"
    return [jar] if jar.exists() else []


class ApacheZooKeeperEnsemble(EnsembleBase):
    """Apache ZooKeeper 3.8's ``QuorumPeerMain`` per member, configured like
    :class:`~support.apache_zk.ApacheZooKeeper`: a super digest, extended types, no
    container reaping, no admin server."""

    name = "apache-zk"

    def __init__(self, *args: Any, jvm_flags: tuple[str, ...] = (), **kwargs: Any) -> None:
        self.jvm_flags = jvm_flags
        super().__init__(*args, **kwargs)

    def __enter__(self) -> ApacheZooKeeperEnsemble:
        return super().__enter__()  # type: ignore[no-any-return]

    def _config(self, member: Member) -> dict[str, str]:
        config = super()._config(member)
        config["admin.enableServer"] = "false"
        if member.role == "observer":
            config["peerType"] = "observer"
        return config

    def _command(self, member: Member) -> list[str]:
        return [
            "java",
            "-Xmx256m",
            "-XX:+UseSerialGC",
            "-Dzookeeper.extendedTypesEnabled=true",
            # No background container/TTL reaping: it would change the tree mid-test.
            "-Dznode.container.checkIntervalMs=2147483647",
            f"-Dzookeeper.DigestAuthenticationProvider.superDigest={SUPER_DIGEST}",
            f"-Dzookeeper.log.dir={member.workdir}",
            *self.jvm_flags,
            "-cp",
            ":".join(map(str, [CONF_DIR, ZOOKEEPER_JAR, *_slf4j_binding()])),
            "org.apache.zookeeper.server.quorum.QuorumPeerMain",
            str(member.config_path),
        ]
