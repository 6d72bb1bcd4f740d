"""A ZooKeeper client-port load generator: many sessions, pipelined requests, raw sockets.

Usage::

    python benchmarks/loadgen.py --hosts 127.0.0.1:2181 --op get --sessions 8 --outstanding 64
    python benchmarks/loadgen.py --hosts 127.0.0.1:2181 --op set --serial --requests 5000
    python benchmarks/loadgen.py ... --json          # one JSON object on stdout (for the runner)
    python benchmarks/loadgen.py --hosts 127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183 --spread

Sessions go to the first of ``--hosts``; with ``--spread`` they go round-robin over all of
them (session k to host k mod n, across ``--processes`` too), as clients spread over the
members of an ensemble. The data nodes are created through the first host, and a spread run
then waits until every host serves them (a learner may lag its leader by a commit or two).

It speaks the wire protocol directly (it is not a client library): sessions are set up with
real ConnectRequests, then each session keeps ``--outstanding`` requests in flight. Request
frames are encoded once per (op, node) with :mod:`znode.codec`; the hot loop only patches
the xid (and, for ``create``, the path's counter digits) in place and appends the frame to
the session's send buffer. Replies are parsed only as far as the frame length and the
``ReplyHeader`` (xid, zxid, err). One ``epoll`` loop in one thread drives every session of a
process, so the generator takes as little CPU as it can from the server it shares the
machine with; ``--processes N`` splits the sessions over N such processes (their rates are
summed, their latencies merged).

Ops (every value is 100 bytes, ``--value-size``):

* ``get``: getData (no watch) over ``--nodes`` pre-created nodes ``/zkbench/data/nNNNNN``;
* ``set``: setData, version -1, on the same nodes;
* ``create``: persistent creates of unique paths under a fresh parent per run
  (``/zkbench/c-<pid>-<ns>``), so nothing needs deleting between runs;
* ``mix``: a seeded 90 % get / 10 % set schedule over the same nodes.

Timing: requests run for ``--warmup`` seconds unmeasured, then ``--duration`` seconds
measured: the rate is the replies received in the window divided by its length, and a
reply's latency is from the send batch that carried its request to the recv that brought it
(``time.perf_counter_ns``; send times live in a per-session ring indexed by xid). After the
window no new requests go out; in-flight replies are drained (not counted) and the sessions
are closed with closeSession. ``--serial`` is one session with one request at a time
(blocking socket, ``--requests`` measured after ``--warmup-requests``), for latency.

Any reply with ``err != 0``, a missing reply, an out-of-order xid or a lost connection is an
error; a run with errors is invalid and the exit status is 1. The report includes the
generator's own CPU time over the window (``resource.getrusage``), and with
``--server-pid`` the server's CPU time (``/proc/<pid>/stat``; a comma-separated list of PIDs,
such as an ensemble's members, is summed) and the machine's busy share (``/proc/stat``), so
one can tell whether the generator or the CPU was the limit.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import random
import resource
import select
import socket
import struct
import sys
import time
from array import array
from collections import Counter
from collections.abc import Sequence
from typing import Any

from znode.acl import OPEN_ACL_UNSAFE
from znode.codec import encode_connect_request, encode_request
from znode.opcodes import OpCode
from znode.records import (
    ConnectRequest,
    CreateRequest,
    GetDataRequest,
    SetDataRequest,
    SyncRequest,
)

OPS = ("get", "set", "create", "mix")
ROOT = "/zkbench"
DATA_PARENT = f"{ROOT}/data"
NODEEXISTS = -110
NONODE = -101
COUNTER_DIGITS = 10

_FRAME_REPLY = struct.Struct(">iiqi")  # length, xid, zxid, err
_REPLY_MIN = _FRAME_REPLY.size
_INT = struct.Struct(">i")
_CONNECT_RESPONSE = struct.Struct(">iiqi")  # length, protocolVersion, timeOut, sessionId
_XID_WRAP = 0x7FFF_FFFF
_CLK_TCK = os.sysconf("SC_CLK_TCK")


class LoadError(Exception):
    """The load could not run (connection refused, session refused, protocol violation)."""


# --- connections --------------------------------------------------------------------------


def parse_hosts(hosts: str) -> list[tuple[str, int]]:
    """``host:port,host:port,...`` as a list of addresses (a missing host is 127.0.0.1)."""
    out = []
    for item in hosts.split(","):
        host, _, port = item.strip().rpartition(":")
        out.append((host or "127.0.0.1", int(port)))
    return out


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = []
    while n:
        chunk = sock.recv(n)
        if not chunk:
            raise LoadError("connection closed by the server")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def recv_frame(sock: socket.socket) -> bytes:
    """One frame payload from a blocking socket."""
    (length,) = _INT.unpack(_recv_exact(sock, 4))
    return _recv_exact(sock, length)


def connect_sessions(
    address: tuple[str, int], count: int, timeout_ms: int = 30000, batch: int = 40
) -> list[tuple[socket.socket, int]]:
    """Open ``count`` sessions with real ConnectRequests; return ``(socket, session id)``.

    Connections are made ``batch`` at a time (below Java's default accept backlog of 50),
    and each batch's ConnectRequests are pipelined before any response is read.
    The sockets are returned blocking, with TCP_NODELAY.
    """
    request = encode_connect_request(ConnectRequest(0, 0, timeout_ms, 0, bytes(16), False))
    sessions: list[tuple[socket.socket, int]] = []
    try:
        while len(sessions) < count:
            sessions.extend(_connect_batch(address, min(batch, count - len(sessions)), request))
    except BaseException:
        for sock, _ in sessions:
            sock.close()
        raise
    return sessions


def _connect_batch(
    address: tuple[str, int], count: int, request: bytes
) -> list[tuple[socket.socket, int]]:
    socks = []
    for _ in range(count):
        sock = socket.create_connection(address, timeout=10)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        socks.append(sock)
    for sock in socks:
        sock.sendall(request)
    done = []
    try:
        for sock in socks:
            payload = recv_frame(sock)
            _, timeout, session_id = struct.unpack_from(">iiq", payload)
            if timeout <= 0 or session_id == 0:
                raise LoadError("the server refused the session")
            done.append((sock, session_id))
    except BaseException:
        for sock in socks:
            sock.close()
        raise
    return done


def connect_spread(
    addresses: Sequence[tuple[str, int]], count: int, offset: int = 0
) -> list[tuple[socket.socket, int]]:
    """Open sessions ``offset`` .. ``offset + count - 1``; session k goes to ``addresses[k % n]``.

    The result is in session order (the session with index ``offset`` first).
    """
    n = len(addresses)
    indexes = range(offset, offset + count)
    groups: list[list[tuple[socket.socket, int]]] = []
    try:
        for j, address in enumerate(addresses):
            groups.append(connect_sessions(address, sum(1 for k in indexes if k % n == j)))
    except BaseException:
        for group in groups:
            for sock, _ in group:
                sock.close()
        raise
    taken = [iter(group) for group in groups]
    return [next(taken[k % n]) for k in indexes]


def close_session(sock: socket.socket, xid: int = 0x7FFF_0000) -> None:
    """Send closeSession and wait (briefly) for its reply, then close the socket."""
    with contextlib.suppress(OSError, LoadError):
        sock.setblocking(True)
        sock.settimeout(5)
        sock.sendall(encode_request(xid, OpCode.CLOSE_SESSION, None))
        while True:
            payload = recv_frame(sock)
            if _INT.unpack_from(payload)[0] == xid:
                break
    sock.close()


# --- request templates ----------------------------------------------------------------------


def value_bytes(size: int, tag: int = 0) -> bytes:
    return bytes((tag + i) % 26 + 97 for i in range(size))


def node_path(index: int) -> str:
    return f"{DATA_PARENT}/n{index:06d}"


def get_frame(path: str) -> bytearray:
    return bytearray(encode_request(0, OpCode.GET_DATA, GetDataRequest(path, False)))


def set_frame(path: str, value: bytes) -> bytearray:
    return bytearray(encode_request(0, OpCode.SET_DATA, SetDataRequest(path, value, -1)))


def create_frame(path: str, value: bytes) -> bytearray:
    return bytearray(
        encode_request(0, OpCode.CREATE, CreateRequest(path, value, OPEN_ACL_UNSAFE, 0))
    )


def schedule(op: str, nodes: int, value: bytes, seed: int) -> list[bytearray]:
    """The cycle of request frames a session walks through for ``get``/``set``/``mix``."""
    gets = [get_frame(node_path(i)) for i in range(nodes)]
    if op == "get":
        return gets
    sets = [set_frame(node_path(i), value) for i in range(nodes)]
    if op == "set":
        return sets
    rng = random.Random(seed)
    length = max(10 * nodes, 10_000)
    return [
        sets[rng.randrange(nodes)] if rng.random() < 0.1 else gets[rng.randrange(nodes)]
        for _ in range(length)
    ]


def run_pipelined(sock: socket.socket, frames: list[bytes], allowed: tuple[int, ...]) -> list[int]:
    """Send ``frames`` (xids 1..n) pipelined on one blocking socket; check every reply.

    Returns every reply's error code (0 or one of ``allowed``); raises on any other.
    """
    codes = []
    window = 256
    for start in range(0, len(frames), window):
        chunk = frames[start : start + window]
        out = bytearray()
        for i, frame in enumerate(chunk):
            buf = bytearray(frame)
            _INT.pack_into(buf, 4, start + i + 1)
            out += buf
        sock.sendall(out)
        for i in range(len(chunk)):
            payload = recv_frame(sock)
            xid, _, err = struct.unpack_from(">iqi", payload)
            if xid != start + i + 1:
                raise LoadError(f"setup: reply xid {xid}, expected {start + i + 1}")
            if err and err not in allowed:
                raise LoadError(f"setup request {start + i} failed with error {err}")
            codes.append(err)
    return codes


def prepare(
    address: tuple[str, int],
    nodes: int,
    value: bytes,
    create_parent: str | None,
    visible_at: Sequence[tuple[str, int]] = (),
) -> None:
    """Create ``/zkbench``, the data nodes and (for ``create``) a fresh parent; idempotent.

    Then wait until each server of ``visible_at`` serves the last of them (members of an
    ensemble other than ``address`` apply the commits a little later).
    """
    ((sock, _),) = connect_sessions(address, 1)
    try:
        paths = [ROOT, DATA_PARENT]
        frames = [create_frame(p, b"") for p in paths]
        frames += [create_frame(node_path(i), value) for i in range(nodes)]
        if create_parent:
            frames.append(create_frame(create_parent, b""))
        run_pipelined(sock, [bytes(f) for f in frames], allowed=(NODEEXISTS,))
    finally:
        close_session(sock)
    last = [node_path(nodes - 1)] if nodes else [DATA_PARENT]
    for other in visible_at:
        wait_visible(other, last + ([create_parent] if create_parent else []))


def wait_visible(address: tuple[str, int], paths: list[str], timeout: float = 30.0) -> None:
    """Sync, then read ``paths`` on the server at ``address`` until all of them exist."""
    ((sock, _),) = connect_sessions(address, 1)
    try:
        deadline = time.monotonic() + timeout
        frames = [bytes(encode_request(0, OpCode.SYNC, SyncRequest(ROOT)))]
        frames += [bytes(get_frame(p)) for p in paths]
        while any(run_pipelined(sock, frames, allowed=(NONODE,))):
            if time.monotonic() > deadline:
                raise LoadError(f"{paths} still missing at {address} after {timeout} s")
            time.sleep(0.02)
    finally:
        close_session(sock)


# --- the pipelined load ---------------------------------------------------------------------


class Session:
    __slots__ = (
        "create_at",
        "create_count",
        "done",
        "inflight",
        "next_xid",
        "out",
        "rbuf",
        "ring",
        "sched",
        "sched_pos",
        "sock",
        "want_out",
    )

    def __init__(self, sock: socket.socket, ring_size: int) -> None:
        self.sock = sock
        self.rbuf = b""
        self.out = bytearray()
        self.ring = [0] * ring_size
        self.next_xid = 1
        self.done = 1  # next xid expected in a reply
        self.inflight = 0
        self.sched: list[bytearray] = []
        self.sched_pos = 0
        self.create_at = -1  # offset of the counter digits in a create frame
        self.create_count = 0
        self.want_out = False  # registered for EPOLLOUT (a send was partial)


def _proc_cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14, 15)


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs."""
    with open("/proc/stat", "rb") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])
    return total - idle, total


class _Probe:
    """CPU counters read at the start and the end of the measured window."""

    def __init__(self, server_pids: Sequence[int]) -> None:
        self.server_pids = tuple(server_pids)
        self.ru = resource.getrusage(resource.RUSAGE_SELF)
        self.server = sum(_proc_cpu_ticks(pid) for pid in self.server_pids)
        self.machine = _machine_ticks()

    def since(self, start: _Probe) -> dict[str, float]:
        out = {
            "loadgen_user_s": self.ru.ru_utime - start.ru.ru_utime,
            "loadgen_sys_s": self.ru.ru_stime - start.ru.ru_stime,
        }
        busy = self.machine[0] - start.machine[0]
        total = self.machine[1] - start.machine[1]
        out["machine_busy_frac"] = busy / total if total else 0.0
        if self.server_pids:
            out["server_cpu_s"] = (self.server - start.server) / _CLK_TCK
        return out


def run_load(
    addresses: Sequence[tuple[str, int]],
    op: str,
    *,
    sessions: int,
    outstanding: int,
    duration: float,
    warmup: float,
    nodes: int,
    value: bytes,
    seed: int,
    create_parent: str,
    session_offset: int = 0,
    server_pids: Sequence[int] = (),
    barrier: Any = None,
) -> dict[str, Any]:
    """Drive ``sessions`` pipelined sessions for warm-up + duration; return raw results.

    Session k (counting from ``session_offset``) talks to ``addresses[k % len(addresses)]``.
    """
    ring_size = 1
    while ring_size < 2 * outstanding:
        ring_size *= 2
    mask = ring_size - 1
    conns = connect_spread(addresses, sessions, session_offset)
    sess: dict[int, Session] = {}
    shared = schedule(op, nodes, value, seed) if op != "create" else []
    for i, (sock, _) in enumerate(conns):
        sock.setblocking(False)
        s = Session(sock, ring_size)
        if op == "create":
            prefix = f"{create_parent}/s{session_offset + i:03d}-"
            frame = create_frame(prefix + "0" * COUNTER_DIGITS, value)
            s.create_at = frame.index((prefix + "0" * COUNTER_DIGITS).encode()) + len(prefix)
            s.sched = [frame]
        else:
            s.sched = shared
            s.sched_pos = (997 * (session_offset + i)) % len(shared)
        sess[sock.fileno()] = s

    ep = select.epoll()
    for fd in sess:
        ep.register(fd, select.EPOLLIN)

    pack_xid = _INT.pack_into
    unpack_reply = _FRAME_REPLY.unpack_from
    perf = time.perf_counter_ns
    lat = array("q")
    lat_append = lat.append
    errors: Counter[int] = Counter()
    problems: list[str] = []
    count = 0
    total_replies = 0
    calls = [0, 0, 0]  # polls, recvs, sends (whole run), for the report
    rbig = bytearray(1 << 18)  # every recv lands here; a partial frame is copied out
    rview = memoryview(rbig)

    def issue(s: Session, n: int) -> None:
        out = s.out
        ring = s.ring
        sched = s.sched
        pos = s.sched_pos
        length = len(sched)
        xid = s.next_xid
        at = s.create_at
        t = perf()
        for _ in range(n):
            frame = sched[pos]
            pos += 1
            if pos == length:
                pos = 0
            if at >= 0:
                s.create_count += 1
                frame[at : at + COUNTER_DIGITS] = b"%010d" % s.create_count
            pack_xid(frame, 4, xid)
            out += frame
            ring[xid & mask] = t
            xid = xid + 1 if xid < _XID_WRAP else 1
        s.next_xid = xid
        s.sched_pos = pos
        s.inflight += n
        flush(s)

    def flush(s: Session) -> None:
        out = s.out
        if not out:
            return
        calls[2] += 1
        try:
            sent = s.sock.send(out)
        except BlockingIOError:
            sent = 0
        if sent == len(out):
            out.clear()
            if s.want_out:
                s.want_out = False
                ep.modify(s.sock.fileno(), select.EPOLLIN)
        else:
            del out[:sent]
            if not s.want_out:
                s.want_out = True
                ep.modify(s.sock.fileno(), select.EPOLLIN | select.EPOLLOUT)

    if barrier is not None:
        barrier.wait()
    t_begin = perf()
    t_measure = t_begin + int(warmup * 1e9)
    t_end = t_measure + int(duration * 1e9)
    measuring = False
    sending = True
    probe_start: _Probe | None = None
    probe_end: _Probe | None = None
    for s in sess.values():
        issue(s, outstanding)

    drain_deadline = 0
    poll = ep.poll
    while True:
        events = poll(0.05)
        now = perf()
        calls[0] += 1
        if not measuring and now >= t_measure and sending:
            measuring = True
            probe_start = _Probe(server_pids)
            t_measure = now
            t_end = now + int(duration * 1e9)
        if sending and now >= t_end:
            sending = False
            measuring = False
            probe_end = _Probe(server_pids)
            drain_deadline = now + 10 * 10**9
        if not sending:
            if all(s.inflight == 0 for s in sess.values()):
                break
            if now > drain_deadline:
                lost = sum(s.inflight for s in sess.values())
                problems.append(f"{lost} replies missing 10 s after the run")
                break
        for fd, ev in events:
            s = sess[fd]
            if ev & select.EPOLLOUT:
                flush(s)
            if not ev & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR):
                continue
            calls[1] += 1
            try:
                n = s.sock.recv_into(rview)
            except BlockingIOError:
                continue
            except OSError as exc:
                raise LoadError(f"connection error: {exc}") from None
            if not n:
                raise LoadError("the server closed a session's connection")
            data: bytes | bytearray = rbig
            if s.rbuf:
                data = s.rbuf + rview[:n]
                n = len(data)
            pos = 0
            got = 0
            expect = s.done
            ring = s.ring
            while n - pos >= _REPLY_MIN:
                length, xid, _zxid, err = unpack_reply(data, pos)
                end = pos + 4 + length
                if end > n:
                    break
                pos = end
                if xid < 0:  # ping reply or notification: not ours
                    continue
                if xid != expect:
                    raise LoadError(f"reply xid {xid}, expected {expect} (out of order)")
                expect = expect + 1 if expect < _XID_WRAP else 1
                got += 1
                if err:
                    errors[err] += 1
                if measuring and now < t_end:
                    lat_append(now - ring[xid & mask])
            s.rbuf = bytes(data[pos:n]) if pos < n else b""
            if got:
                s.done = expect
                s.inflight -= got
                total_replies += got
                if measuring and now < t_end:
                    count += got
                if sending:
                    issue(s, got)
    t_window = (t_end - t_measure) / 1e9
    ep.close()
    for s in sess.values():
        close_session(s.sock)
    cpu = probe_end.since(probe_start) if probe_start and probe_end else {}
    return {
        "count": count,
        "window_s": t_window,
        "latencies": lat,
        "errors": dict(errors),
        "problems": problems,
        "replies": total_replies,
        "calls": {"polls": calls[0], "recvs": calls[1], "sends": calls[2]},
        "cpu": cpu,
    }


def run_serial(
    address: tuple[str, int],
    op: str,
    *,
    requests: int,
    warmup_requests: int,
    nodes: int,
    value: bytes,
    seed: int,
    create_parent: str,
    server_pids: Sequence[int] = (),
) -> dict[str, Any]:
    """One session, one request at a time (blocking socket)."""
    ((sock, _),) = connect_sessions(address, 1)
    # Plain blocking calls (a socket timeout would add a poll() before every send and recv);
    # SO_RCVTIMEO still turns a server that stops answering into an error.
    sock.settimeout(None)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 10, 0))
    if op == "create":
        prefix = f"{create_parent}/serial-"
        sched = [create_frame(prefix + "0" * COUNTER_DIGITS, value)]
        at = sched[0].index((prefix + "0" * COUNTER_DIGITS).encode()) + len(prefix)
    else:
        sched = schedule(op, nodes, value, seed)
        at = -1
    lat = array("q")
    errors: Counter[int] = Counter()
    perf = time.perf_counter_ns
    recv = sock.recv
    sendall = sock.sendall
    unpack_reply = _FRAME_REPLY.unpack_from
    probe_start: _Probe | None = None
    t_start = 0
    for i in range(warmup_requests + requests):
        if i == warmup_requests:
            probe_start = _Probe(server_pids)
            t_start = perf()
        frame = sched[i % len(sched)]
        xid = i + 1
        if at >= 0:
            frame[at : at + COUNTER_DIGITS] = b"%010d" % xid
        _INT.pack_into(frame, 4, xid)
        t0 = perf()
        sendall(frame)
        data = recv(65536)
        while len(data) < _REPLY_MIN or len(data) < 4 + _INT.unpack_from(data)[0]:
            more = recv(65536)
            if not more:
                raise LoadError("connection closed by the server")
            data += more
        t1 = perf()
        _, rxid, _, err = unpack_reply(data)
        if rxid != xid:
            raise LoadError(f"reply xid {rxid}, expected {xid}")
        if err:
            errors[err] += 1
        if i >= warmup_requests:
            lat.append(t1 - t0)
    t_window = (perf() - t_start) / 1e9
    cpu = _Probe(server_pids).since(probe_start) if probe_start else {}
    close_session(sock)
    return {
        "count": requests,
        "window_s": t_window,
        "latencies": lat,
        "errors": dict(errors),
        "problems": [],
        "replies": warmup_requests + requests,
        "cpu": cpu,
    }


# --- processes and the report -----------------------------------------------------------------


def _worker(conn: Any, barrier: Any, kwargs: dict[str, Any]) -> None:
    try:
        result = run_load(barrier=barrier, **kwargs)
        result["latencies"] = result["latencies"].tobytes()
        conn.send(("ok", result))
    except BaseException as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        with contextlib.suppress(Exception):
            barrier.abort()
    finally:
        conn.close()


def run_processes(processes: int, sessions: int, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Split ``sessions`` over ``processes`` forked generators; merge their results."""
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(processes)
    workers = []
    offset = 0
    for p in range(processes):
        share = sessions // processes + (1 if p < sessions % processes else 0)
        args = dict(kwargs, sessions=share, session_offset=offset)
        if p:
            args["server_pids"] = ()
        offset += share
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_worker, args=(child, barrier, args))
        proc.start()
        child.close()
        workers.append((proc, parent))
    results = []
    failures = []
    for proc, parent in workers:
        try:
            status, payload = parent.recv()
        except EOFError:
            status, payload = "error", f"generator process {proc.pid} died"
        proc.join()
        if status == "ok":
            lat = array("q")
            lat.frombytes(payload["latencies"])
            payload["latencies"] = lat
            results.append(payload)
        else:
            failures.append(payload)
    if failures:
        raise LoadError("; ".join(failures))
    merged: dict[str, Any] = results[0]
    merged["rate"] = sum(r["count"] / r["window_s"] for r in results)
    for r in results[1:]:
        merged["count"] += r["count"]
        merged["latencies"].extend(r["latencies"])
        merged["replies"] += r["replies"]
        merged["problems"] += r["problems"]
        for key, n in r["calls"].items():
            merged["calls"][key] += n
        for code, n in r["errors"].items():
            merged["errors"][code] = merged["errors"].get(code, 0) + n
        for key in ("loadgen_user_s", "loadgen_sys_s"):
            if key in r["cpu"]:
                merged["cpu"][key] = merged["cpu"].get(key, 0.0) + r["cpu"][key]
    return merged


def percentile(sorted_values: list[int] | array[int], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * len(sorted_values) + 0.5) - 1))
    return float(sorted_values[index])


def summarize(result: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    lat = sorted(result["latencies"])
    window = result["window_s"]
    rate = result.get("rate", result["count"] / window if window else 0.0)
    cpu = result["cpu"]
    summary: dict[str, Any] = {
        "op": args.op,
        "mode": "serial" if args.serial else "pipelined",
        "sessions": 1 if args.serial else args.sessions,
        "outstanding": 1 if args.serial else args.outstanding,
        "processes": 1 if args.serial else args.processes,
        "hosts": 1 if args.serial or not args.spread else len(parse_hosts(args.hosts)),
        "window_s": round(window, 3),
        "ops": result["count"],
        "ops_per_s": round(rate, 1),
        "p50_ms": percentile(lat, 0.50) / 1e6,
        "p99_ms": percentile(lat, 0.99) / 1e6,
        "p999_ms": percentile(lat, 0.999) / 1e6,
        "max_ms": (lat[-1] / 1e6) if lat else float("nan"),
        "errors": sum(result["errors"].values()) + len(result["problems"]),
        "error_codes": {str(k): v for k, v in sorted(result["errors"].items())},
        "problems": result["problems"],
    }
    calls = result.get("calls")
    if calls and result["replies"]:
        summary["replies_per_recv"] = round(result["replies"] / max(1, calls["recvs"]), 2)
        summary["replies_per_send"] = round(result["replies"] / max(1, calls["sends"]), 2)
    if cpu and window:
        loadgen_s = cpu["loadgen_user_s"] + cpu["loadgen_sys_s"]
        summary["loadgen_cpu_pct"] = round(100 * loadgen_s / window, 1)
        summary["loadgen_user_s"] = round(cpu["loadgen_user_s"], 3)
        summary["loadgen_sys_s"] = round(cpu["loadgen_sys_s"], 3)
        summary["loadgen_cpu_us_per_op"] = (
            round(1e6 * loadgen_s / result["count"], 2) if result["count"] else None
        )
        summary["machine_busy_pct"] = round(100 * cpu["machine_busy_frac"], 1)
        others = 100 * cpu["machine_busy_frac"] * (os.cpu_count() or 1) - 100 * loadgen_s / window
        if "server_cpu_s" in cpu:
            summary["server_cpu_pct"] = round(100 * cpu["server_cpu_s"] / window, 1)
            others -= 100 * cpu["server_cpu_s"] / window
            # CPU (% of one core) used by everything else on the machine: noise from others.
            summary["other_cpu_pct"] = round(max(0.0, others), 1)
            summary["server_cpu_us_per_op"] = (
                round(1e6 * cpu["server_cpu_s"] / result["count"], 2) if result["count"] else None
            )
    return summary


def format_summary(s: dict[str, Any]) -> str:
    lines = [
        f"{s['op']} ({s['mode']}: {s['sessions']} sessions x {s['outstanding']} outstanding, "
        f"{s['processes']} process(es), {s['hosts']} host(s), {s['window_s']} s)",
        f"  {s['ops_per_s']:,.0f} ops/s   p50 {s['p50_ms']:.3f} ms   p99 {s['p99_ms']:.3f} ms   "
        f"p99.9 {s['p999_ms']:.3f} ms   max {s['max_ms']:.3f} ms   ({s['ops']} ops)",
        f"  errors: {s['errors']} {s['error_codes'] or ''} {'; '.join(s['problems'])}".rstrip(),
    ]
    if "loadgen_cpu_pct" in s:
        line = (
            f"  loadgen CPU {s['loadgen_cpu_pct']}% of a core "
            f"({s['loadgen_cpu_us_per_op']} us/op, {s.get('replies_per_recv')} replies/recv), "
            f"machine busy {s['machine_busy_pct']}%"
        )
        if "server_cpu_pct" in s:
            line += (
                f", server CPU {s['server_cpu_pct']}% ({s['server_cpu_us_per_op']} us/op),"
                f" others {s['other_cpu_pct']}%"
            )
        lines.append(line)
    return "\n".join(lines)


def pid_list(text: str) -> tuple[int, ...]:
    """``--server-pid``'s value: one PID or several, comma-separated."""
    return tuple(int(item) for item in text.split(",") if item.strip())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--hosts", required=True, help="host:port[,host:port...] (the first one is used)"
    )
    parser.add_argument(
        "--spread", action="store_true", help="sessions round-robin over all --hosts"
    )
    parser.add_argument("--op", choices=OPS, default="get")
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--outstanding", type=int, default=64, help="requests in flight/session")
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds first")
    parser.add_argument("--processes", type=int, default=1, help="generator processes")
    parser.add_argument("--serial", action="store_true", help="1 session, 1 outstanding")
    parser.add_argument("--requests", type=int, default=5000, help="serial: measured requests")
    parser.add_argument("--warmup-requests", type=int, default=500)
    parser.add_argument("--nodes", type=int, default=1000, help="data nodes for get/set/mix")
    parser.add_argument("--value-size", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--server-pid",
        type=pid_list,
        default=(),
        help="report this process's CPU time too (PID[,PID...]: their sum)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.sessions < 1 or args.outstanding < 1 or args.processes < 1:
        parser.error("--sessions, --outstanding and --processes must be at least 1")
    args.processes = min(args.processes, args.sessions)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    hosts = parse_hosts(args.hosts)
    address = hosts[0]
    addresses = hosts if args.spread and not args.serial else [address]
    value = value_bytes(args.value_size)
    create_parent = f"{ROOT}/c-{os.getpid()}-{time.time_ns()}"
    try:
        prepare(
            address,
            args.nodes,
            value,
            create_parent if args.op == "create" else None,
            visible_at=addresses[1:],
        )
        common = {
            "nodes": args.nodes,
            "value": value,
            "seed": args.seed,
            "create_parent": create_parent,
            "server_pids": args.server_pid,
        }
        if args.serial:
            result = run_serial(
                address,
                args.op,
                requests=args.requests,
                warmup_requests=args.warmup_requests,
                **common,
            )
        else:
            kwargs = dict(
                common,
                addresses=addresses,
                op=args.op,
                outstanding=args.outstanding,
                duration=args.duration,
                warmup=args.warmup,
            )
            if args.processes == 1:
                result = run_load(sessions=args.sessions, **kwargs)
            else:
                result = run_processes(args.processes, args.sessions, kwargs)
    except (LoadError, OSError) as exc:
        if args.json:
            print(json.dumps({"op": args.op, "fatal": f"{type(exc).__name__}: {exc}"}))
        else:
            print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = summarize(result, args)
    print(json.dumps(summary) if args.json else format_summary(summary))
    return 1 if summary["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
