"""The README's quick start, run as a reader on a fresh machine would run it.

Every fenced ``sh`` and ``python`` block of "Set up", "Quick start" and "The client" runs
here, in order, in a copy of the checkout's tracked files: the first block creates
``.venv`` and installs the project from scratch (PyPI), then starts the server the later
blocks talk to. An HTML comment before a block says how to run it:

- ``<!-- test: background PORT[,PORT...] -->``: the block runs a server (or an ensemble) in
  the foreground forever; it is started in the background, waited for until those client
  ports serve, and stopped with SIGINT (Ctrl-C) at the end, SIGKILL if that does not work.
- ``<!-- test: skip (reason) -->``: not run.
- ``<!-- test: python FILE -->``: saved as FILE and run as ``python FILE`` in the venv.
- ``<!-- test: python -->``: run with the venv's python.
- no marker (``sh``): run with ``bash -e`` in the reader's second terminal, every line must
  succeed. Once a block has sourced ``.venv/bin/activate``, the blocks after it (the
  ensemble too) run with it sourced, as in that terminal.

Nothing is written outside the temporary directory: the server keeps ``./zabkeeper-data``
in the copy, and ``TMPDIR`` (where ``zabkeeper ensemble`` keeps its servers) is inside it.

The README's ports (2181, 2191-2193) become free ports chosen now, everywhere they appear;
``zabkeeper server`` without ``--port`` (default 2181) gets ``--port`` with the free port.
The outputs the README promises are checked, and so is the number of blocks of each kind,
so a block cannot be dropped or added without this test noticing.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cli.ensemble import plan_members
from support.ensemble_proc import all_free

REPO = Path(__file__).resolve().parents[1]
README_PORTS = (2181, 2191, 2192, 2193)
INSTALL_TIMEOUT = 900.0  # the first block creates a venv and installs from PyPI
COMMAND_TIMEOUT = 120.0
SECTIONS = ("Set up", "Quick start", "The client")
EXPECTED_KINDS = {"background": 2, "skip": 1, "python-file": 1, "python": 4, "sh": 2}

MARKER = re.compile(r"<!--\s*test:\s*(?P<kind>[\w-]+)\s*(?P<arg>.*?)\s*-->")
FENCE = re.compile(r"^```(?P<lang>\w+)\n(?P<code>.*?)^```$", re.MULTILINE | re.DOTALL)


@dataclass
class Block:
    section: str
    lang: str
    code: str
    kind: str  # background, skip, python-file, python or sh
    arg: str


def parse_readme(text: str) -> list[Block]:
    """The fenced blocks of SECTIONS, each with the marker on the line(s) just before it."""
    blocks = []
    for part in re.split(r"^## ", text, flags=re.MULTILINE)[1:]:
        title, _, body = part.partition("\n")
        if title.strip() not in SECTIONS:
            continue
        position = 0
        for fence in FENCE.finditer(body):
            preceding = body[position : fence.start()].rstrip().splitlines()
            position = fence.end()
            marker = MARKER.fullmatch(preceding[-1].strip()) if preceding else None
            kind, arg = (marker["kind"], marker["arg"]) if marker else ("sh", "")
            if kind == "python" and arg:
                kind = "python-file"
            if fence["lang"] != ("python" if kind.startswith("python") else "sh"):
                kind = f"{kind} in a {fence['lang']} block"  # counted, so the test fails
            blocks.append(Block(title.strip(), fence["lang"], fence["code"], kind, arg))
    return blocks


# -- ports ---------------------------------------------------------------------------


def ensemble_ports(base: int, size: int = 3) -> list[int]:
    """Every port ``zabkeeper ensemble --size 3 --base-port base`` listens on."""
    members = plan_members(size, 0, base, Path())
    return [p for m in members for p in (m.client_port, m.quorum_port, m.election_port)]


def pick_ports() -> dict[int, int]:
    """README port -> a port free now; the ensemble's base keeps all nine of its ports free."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 30000)  # below the usual ephemeral range
        single = rng.randrange(10000, 20000)
        if all_free([single, *ensemble_ports(base)]):
            return {2181: single, 2191: base, 2192: base + 1, 2193: base + 2}
    raise RuntimeError("no free ports for the README test")


def rewrite_ports(code: str, ports: dict[int, int]) -> str:
    return re.sub(
        r"\b(" + "|".join(map(str, ports)) + r")\b", lambda m: str(ports[int(m[1])]), code
    )


# -- servers and commands ------------------------------------------------------------


def four_letter(port: int, word: str) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(word.encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def mode(port: int) -> str | None:
    """``Mode`` from ``srvr``, None while the server is not serving."""
    try:
        answer = four_letter(port, "ruok")
        assert "whitelist" not in answer, f"127.0.0.1:{port}: {answer}"
        if answer != "imok":
            return None
        found = re.search(r"^Mode: (\w+)", four_letter(port, "srvr"), re.MULTILINE)
    except OSError:
        return None
    return found[1] if found else None


def single_ready(ports: list[int]) -> bool:
    return all(mode(port) == "standalone" for port in ports)


def ensemble_ready(ports: list[int]) -> bool:
    """A leader is elected and every other member follows it (so writes succeed)."""
    modes = sorted(str(mode(port)) for port in ports)
    return modes == ["follower"] * (len(ports) - 1) + ["leader"]


def tail(path: Path, lines: int = 60) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def background(
    script: str, *, cwd: Path, env: dict[str, str], log: Path, ready: Callable[[], bool]
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``script`` with bash in its own process group until ``ready()``; Ctrl-C it after."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["bash", "-e", "-c", script],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + INSTALL_TIMEOUT
        while not ready():
            assert proc.poll() is None, f"{script!r} exited with {proc.returncode}:\n{tail(log)}"
            assert time.monotonic() < deadline, f"{script!r} not serving:\n{tail(log)}"
            time.sleep(0.2)
        yield proc
        assert proc.poll() is None, f"{script!r} exited with {proc.returncode}:\n{tail(log)}"
    finally:
        stopped_by_ctrl_c = _stop(proc)
    assert stopped_by_ctrl_c, f"Ctrl-C did not stop {script!r}:\n{tail(log)}"


def _stop(proc: subprocess.Popen[bytes]) -> bool:
    """SIGINT to the group this test started, SIGKILL after 30 s; True if SIGINT sufficed."""
    if proc.poll() is not None:
        return True
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return False
    return True


def run(argv: list[str], *, cwd: Path, env: dict[str, str]) -> str:
    """Run to completion; fail unless it exits 0. Returns stdout and stderr interleaved."""
    result = subprocess.run(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, f"{argv} exited with {result.returncode}:\n{result.stdout}"
    return result.stdout


def run_sh(code: str, *, cwd: Path, env: dict[str, str]) -> dict[str, str]:
    """``bash -e`` the block, traced; returns each of its lines' output (in order)."""
    lines = [line.strip() for line in code.splitlines() if line.strip()]
    output = run(["bash", "-e", "-x", "-c", code], cwd=cwd, env={**env, "PS4": "+ "})
    outputs: dict[str, str] = {}
    current = None
    for line in output.splitlines():
        if line.startswith("+ ") and line[2:] in lines:
            current = line[2:]
            outputs[current] = ""
        elif current is not None and not line.startswith("+"):
            outputs[current] += line + "\n"
    assert list(outputs) == lines, f"not every line ran:\n{output}"
    return outputs


def status_modes(table: str) -> dict[str, str]:
    """``zabkeeper status``'s table: server -> mode."""
    rows = [line.split() for line in table.strip().splitlines()]
    assert rows[0][:2] == ["server", "mode"], table
    return {row[0]: row[1] for row in rows[1:]}


# -- the work dir --------------------------------------------------------------------


def copy_checkout(destination: Path) -> None:
    """The checkout's tracked files (all files, if it is not a git checkout)."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True)
    except OSError:  # no git
        listed = subprocess.CompletedProcess([], 1, b"", b"")
    if listed.returncode == 0 and listed.stdout:
        for name in listed.stdout.decode().split("\0"):
            source = REPO / name
            if name and source.is_file():
                target = destination / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target, follow_symlinks=False)
    else:
        junk = shutil.ignore_patterns(
            ".git", ".venv", "venv", "__pycache__", "*.egg-info", ".*_cache", "zabkeeper-data"
        )
        shutil.copytree(REPO, destination, ignore=junk, dirs_exist_ok=True)


def fresh_env(work: Path) -> dict[str, str]:
    """The environment of a new terminal: no virtualenv active, temp files under ``work``."""
    env = dict(os.environ)
    for name in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTEST_ADDOPTS"):
        env.pop(name, None)
    if sys.prefix != sys.base_prefix:  # leave out the venv running this test
        ours = str(Path(sys.prefix) / "bin")
        path = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != ours)
        if shutil.which("python3", path=path) is None:
            path = os.pathsep.join([str(Path(sys.base_prefix) / "bin"), path])
        env["PATH"] = path
    (work / ".tmp").mkdir()
    env["TMPDIR"] = str(work / ".tmp")  # `zabkeeper ensemble` keeps its servers there
    env["ZABKEEPER_HISTORY"] = str(work / ".tmp" / "history")
    return env


# -- the test ------------------------------------------------------------------------


def test_readme_quick_start_works_verbatim(tmp_path: Path) -> None:
    work = tmp_path / "zabkeeper"
    work.mkdir()
    copy_checkout(work)
    blocks = parse_readme((work / "README.md").read_text())
    assert Counter(b.kind for b in blocks) == EXPECTED_KINDS, [(b.kind, b.arg) for b in blocks]
    ports = pick_ports()
    env = fresh_env(work)
    python = str(work / ".venv" / "bin" / "python")
    activate = ". .venv/bin/activate"
    activated = False  # the reader's second terminal, once it has sourced the venv
    outputs: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        for number, block in enumerate(blocks):
            code = rewrite_ports(block.code, ports)
            if block.kind == "skip":
                continue
            if block.kind == "background":
                marked = [ports[int(p)] for p in block.arg.split(",")]
                if marked == [ports[2181]] and f"--port {marked[0]}" not in code:
                    code, count = re.subn(
                        r"\bzabkeeper server\b", f"zabkeeper server --port {marked[0]}", code
                    )
                    assert count == 1, code
                if activated:
                    code = f"{activate}\n{code}"
                ready = single_ready if len(marked) == 1 else ensemble_ready
                stack.enter_context(
                    background(
                        code,
                        cwd=work,
                        env=env,
                        log=tmp_path / f"block{number}.log",
                        ready=lambda ready=ready, marked=marked: ready(marked),
                    )
                )
            elif block.kind == "sh":
                if activated and not code.startswith(activate):
                    code = f"{activate}\n{code}"
                outputs.update(run_sh(code, cwd=work, env=env))
                activated = activated or activate in code
            elif block.kind == "python-file":
                (work / block.arg).write_text(code)
                outputs[block.arg] = run(
                    ["bash", "-e", "-c", f"{activate}\npython {block.arg}"], cwd=work, env=env
                )
            else:
                outputs[f"python {number}"] = run([python, "-c", code], cwd=work, env=env)

    single = f"127.0.0.1:{ports[2181]}"
    members = [f"127.0.0.1:{ports[p]}" for p in (2191, 2192, 2193)]

    def output(command: str) -> str:
        return outputs[rewrite_ports(command, ports)]

    # Quick start: get prints world, ruok answers imok, status has the standalone row.
    assert output("zabkeeper shell -server 127.0.0.1:2181 create /hello world").strip()
    assert "world" in output("zabkeeper shell -server 127.0.0.1:2181 get /hello").splitlines()
    assert output("zabkeeper four ruok --server 127.0.0.1:2181").strip() == "imok"
    assert status_modes(output("zabkeeper status --server 127.0.0.1:2181")) == {
        single: "standalone"
    }
    # The ensemble: one leader, two followers.
    modes = status_modes(
        output("zabkeeper status --server 127.0.0.1:2191,127.0.0.1:2192,127.0.0.1:2193")
    )
    assert list(modes) == members
    assert sorted(modes.values()) == ["follower", "follower", "leader"]
    assert re.fullmatch(r"holding the lock, fencing token \d+\n", outputs["hello_lock.py"])

    # The client: jobs, the watch, the lock, ConfigStore.
    jobs, watch, lock, config = (v for k, v in outputs.items() if k.startswith("python "))
    assert re.fullmatch(r"\['job-\d{10}'\] \d+\n", jobs), jobs
    assert watch == "NODE_DATA_CHANGED /feature b'on'\n"
    assert re.fullmatch(r"token \d+\n", lock), lock
    versions = re.fullmatch(r"(\d+) \{'workers': 8\}\n(\d+) \{'workers': 16\}\n", config)
    assert versions, config
    assert int(versions[1]) < int(versions[2])

    # The server of "Set up" kept its data in ./zabkeeper-data of the work dir.
    assert (work / "zabkeeper-data").is_dir()
