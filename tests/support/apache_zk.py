"""Start and stop Apache ZooKeeper (the Debian package) as a test oracle.

`ApacheZooKeeper` runs ``ZooKeeperServerMain`` from ``/usr/share/java/zookeeper.jar`` on a
free loopback port with its data in a temporary directory, and stops it by PID. Tests that
need it call :func:`require_apache_zookeeper`, which skips with a visible reason when the
package is absent, except under CI (``CI=true``), where its absence is a failure.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

ZOOKEEPER_JAR = Path(os.environ.get("ZABKEEPER_ZOOKEEPER_JAR", "/usr/share/java/zookeeper.jar"))
CONF_DIR = Path("/etc/zookeeper/conf")
SUPER_USER = "super"
SUPER_PASSWORD = "superpw"
# digest of "super:superpw", i.e. super:BASE64(SHA1("super:superpw"))
SUPER_DIGEST = "super:g9oN2HttPfn8MMWJZ2r45Np/LIA="


def apache_zookeeper_missing() -> str | None:
    """Why Apache ZooKeeper cannot be started here, or ``None`` if it can."""
    if shutil.which("java") is None:
        return "java is not installed"
    if not ZOOKEEPER_JAR.exists():
        return f"Apache ZooKeeper is not installed ({ZOOKEEPER_JAR} missing)"
    return None


def require_apache_zookeeper() -> None:
    """Skip (locally) or fail (with CI=true) when Apache ZooKeeper is unavailable."""
    reason = apache_zookeeper_missing()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def four_letter_word(port: int, word: str, timeout: float = 2.0) -> str:
    """Send a four-letter word to 127.0.0.1:port and return the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(word.encode("ascii"))
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


class ApacheZooKeeper:
    """One standalone Apache ZooKeeper process on 127.0.0.1 (start with :meth:`start`)."""

    def __init__(
        self,
        *,
        tick_time: int = 2000,
        force_sync: bool = False,
        extra_config: dict[str, str] | None = None,
        jvm_flags: tuple[str, ...] = (),
    ) -> None:
        self.tick_time = tick_time
        self.force_sync = force_sync
        self.extra_config = dict(extra_config or {})
        self.jvm_flags = jvm_flags
        self.port = 0
        self.workdir: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def hosts(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> ApacheZooKeeper:
        """Start the server and wait until it serves clients."""
        self.workdir = Path(tempfile.mkdtemp(prefix="apache-zk-"))
        data_dir = self.workdir / "data"
        data_dir.mkdir()
        self.port = free_port()
        config = {
            "tickTime": str(self.tick_time),
            "dataDir": str(data_dir),
            "clientPort": str(self.port),
            "clientPortAddress": "127.0.0.1",
            "maxClientCnxns": "0",
            "admin.enableServer": "false",
            "4lw.commands.whitelist": "*",
            "forceSync": "yes" if self.force_sync else "no",
        }
        config.update(self.extra_config)
        cfg = self.workdir / "zoo.cfg"
        cfg.write_text("".join(f"{k}={v}\n" for k, v in config.items()))
        command = [
            "java",
            "-Xmx512m",
            "-Dzookeeper.extendedTypesEnabled=true",
            # No background container/TTL reaping: it would change the tree mid-test.
            "-Dznode.container.checkIntervalMs=2147483647",
            f"-Dzookeeper.DigestAuthenticationProvider.superDigest={SUPER_DIGEST}",
            f"-Dzookeeper.log.dir={self.workdir}",
            *self.jvm_flags,
            "-cp",
            f"{CONF_DIR}:{ZOOKEEPER_JAR}",
            "org.apache.zookeeper.server.ZooKeeperServerMain",
            str(cfg),
        ]
        log = open(self.workdir / "server.log", "wb")  # noqa: SIM115 - closed by the child's exit
        self.process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Apache ZooKeeper exited early:\n{self.log_tail()}")
            try:
                # ruok answers before the server serves; srvr shows a Mode once it does.
                if "Mode:" in four_letter_word(self.port, "srvr", timeout=1.0):
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Apache ZooKeeper did not start within {timeout}s")

    def log_tail(self, lines: int = 30) -> str:
        if self.workdir is None:
            return ""
        path = self.workdir / "server.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the process by its PID and remove the data directory."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    def __enter__(self) -> ApacheZooKeeper:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
