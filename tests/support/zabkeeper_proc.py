"""Run our server as a child process for integration tests (free port, temp dir, by PID)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from support.apache_zk import four_letter_word, free_port

ZABKEEPER = str(Path(sys.executable).parent / "zabkeeper")


class ZabkeeperServer:
    """One standalone ``zabkeeper server`` on 127.0.0.1; stop with :meth:`stop` or ``with``."""

    def __init__(
        self,
        *,
        data_dir: Path | None = None,
        tick_time: int = 2000,
        force_sync: bool = False,
        extra_config: dict[str, str] | None = None,
    ) -> None:
        self.owns_dir = data_dir is None
        self.data_dir = data_dir or Path(tempfile.mkdtemp(prefix="zabkeeper-test-"))
        self.tick_time = tick_time
        self.force_sync = force_sync
        self.extra_config = dict(extra_config or {})
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def hosts(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "server.log"

    def write_config(self) -> Path:
        config = {
            "tickTime": str(self.tick_time),
            "dataDir": str(self.data_dir / "data"),
            "clientPort": str(self.port),
            "clientPortAddress": "127.0.0.1",
            "4lw.commands.whitelist": "*",
            "forceSync": "yes" if self.force_sync else "no",
            "maxClientCnxns": "0",
        }
        config.update(self.extra_config)
        path = self.data_dir / "zoo.cfg"
        path.write_text("".join(f"{k}={v}\n" for k, v in config.items()))
        return path

    def start(self, timeout: float = 30.0) -> ZabkeeperServer:
        if not self.port:
            self.port = free_port()
        cfg = self.write_config()
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child holds it
        self.process = subprocess.Popen(
            [ZABKEEPER, "server", "--config", str(cfg)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"zabkeeper exited early:\n{self.log_tail()}")
            try:
                if "Mode:" in four_letter_word(self.port, "srvr", timeout=1.0):
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"zabkeeper did not start within {timeout}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL: no shutdown at all, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def stop(self) -> None:
        """SIGTERM, then wait (SIGKILL after 10 s)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def cleanup(self) -> None:
        self.stop()
        if self.owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> ZabkeeperServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
