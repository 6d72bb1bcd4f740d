"""Our server against Apache ZooKeeper: same machine, same settings, same load, one run.

Usage::

    python benchmarks/server_bench.py            # full run (about 6-7 minutes)
    python benchmarks/server_bench.py --quick    # smoke run (about a minute)
    python benchmarks/server_bench.py --profile /tmp/prof   # + py-spy profiles of ours

Both servers run standalone on 127.0.0.1 with fsync on (``forceSync=yes``), the same
tickTime, each in a fresh temporary directory. Each round starts a fresh pair, warms each
up (a mixed load, which also lets the JVM compile its hot paths), then runs every load with
``loadgen.py`` on one server and right after on the other, so both see nearly the same
machine (only the measured server is busy; the other sits idle):

* serial getData and setData (1 session, 1 request in flight): p50/p99 latency;
* pipelined getData, setData, 90 % read mix and create (``--sessions`` x ``--outstanding``,
  8 x 64 by default): ops/s and p50/p99 latency. create runs last as it grows the tree.

Rounds alternate which server goes first (theirs, ours, theirs, ...) and the table shows
the median over rounds, then every round's raw numbers. A separate phase starts each
server fresh, creates the benchmark's data nodes, connects ``--idle-sessions`` (1,000) idle
sessions held by this process (one ping each), and reads VmRSS from ``/proc/<pid>/status``.

Targets (from the issue): throughput ours/theirs >= 1.0 on every op, serial p50 latency
ours/theirs <= 1.2, RSS with 1,000 idle sessions ours/theirs <= 1.5. The exit status is 0
whether targets are met or not; it is 1 when a load had errors (err != 0 replies, lost
replies), which makes the numbers invalid, and 2 when a server or the generator failed.

The generator's CPU use (``resource.getrusage`` over the measured window), the server's CPU
use (``/proc/<pid>/stat``) and how busy the whole machine was (``/proc/stat``) are printed
with every pipelined result: on a 2-core machine the generator takes CPU from the server,
and other tenants may take more. A server's CPU time per op is the figure least
disturbed by that.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(HERE))

import loadgen  # noqa: E402

from support.apache_zk import ApacheZooKeeper, apache_zookeeper_missing, four_letter_word  # noqa: E402
from support.zabkeeper_proc import ZabkeeperServer  # noqa: E402
from znode.codec import encode_request  # noqa: E402
from znode.opcodes import OpCode  # noqa: E402

PIPELINED_OPS = ("get", "set", "mix", "create")
SERIAL_OPS = ("get", "set")
SERVERS = ("ours", "theirs")
TARGET_THROUGHPUT = 1.0
TARGET_LATENCY = 1.2
TARGET_RSS = 1.5
#: median CPU (% of one core) used by other processes above which a result is flagged noisy
NOISY_OTHERS_PCT = 30


class BenchError(Exception):
    pass


# --- servers --------------------------------------------------------------------------------


def make_server(which: str, tick_time: int) -> ApacheZooKeeper | ZabkeeperServer:
    if which == "theirs":
        return ApacheZooKeeper(force_sync=True, tick_time=tick_time)
    return ZabkeeperServer(force_sync=True, tick_time=tick_time)


def stop_server(server: ApacheZooKeeper | ZabkeeperServer) -> None:
    if isinstance(server, ZabkeeperServer):
        server.cleanup()
    else:
        server.stop()


@contextlib.contextmanager
def running(which: str, tick_time: int) -> Any:
    server = make_server(which, tick_time)
    server.start()
    try:
        yield server
    finally:
        stop_server(server)


def server_pid(server: ApacheZooKeeper | ZabkeeperServer) -> int:
    assert server.process is not None
    return server.process.pid


def server_pids(server: Any) -> str:
    """``--server-pid`` for the generator: a server's PID, or an ensemble's ``pids``."""
    pids = getattr(server, "pids", None)
    return ",".join(map(str, pids)) if pids is not None else str(server_pid(server))


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM, ... of a process, in KiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "Threads"):
            out[key] = int(value.split()[0])
    return out


# --- running the generator ------------------------------------------------------------------


def run_loadgen(
    server: Any,
    op: str,
    args: argparse.Namespace,
    *,
    serial: bool = False,
    duration: float | None = None,
    warmup: float | None = None,
    extra: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Run ``loadgen.py`` on ``server`` (anything with ``hosts``; see :func:`server_pids`)
    with the settings of ``args`` plus ``extra`` arguments; return its JSON summary."""
    command = [
        sys.executable,
        str(HERE / "loadgen.py"),
        "--hosts",
        server.hosts,
        "--op",
        op,
        "--server-pid",
        server_pids(server),
        "--json",
        "--nodes",
        str(args.nodes),
    ]
    if serial:
        command += [
            "--serial",
            "--requests",
            str(args.serial_requests),
            "--warmup-requests",
            str(args.serial_requests // 10),
        ]
    else:
        command += [
            "--sessions",
            str(args.sessions),
            "--outstanding",
            str(args.outstanding),
            "--processes",
            str(args.processes),
            "--duration",
            str(args.duration if duration is None else duration),
            "--warmup",
            str(args.warmup if warmup is None else warmup),
        ]
    command += extra
    proc = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    lines = proc.stdout.strip().splitlines()
    try:
        result: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        raise BenchError(
            f"loadgen {op} failed (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}"
        ) from None
    if "fatal" in result:
        raise BenchError(f"loadgen {op}: {result['fatal']}")
    return result


def run_round(order: tuple[str, str], args: argparse.Namespace, log: Any) -> dict[str, Any]:
    """Start both servers fresh, warm them up, run every load on each back to back."""
    results: dict[str, Any] = {"order": order}
    with contextlib.ExitStack() as stack:
        servers = {which: stack.enter_context(running(which, args.tick_time)) for which in order}
        for which in order:
            results[which] = {}
            if args.server_warmup > 0:
                run_loadgen(servers[which], "mix", args, duration=args.server_warmup, warmup=0)
        for op in SERIAL_OPS:
            for which in order:
                r = run_loadgen(servers[which], op, args, serial=True)
                results[which][f"serial-{op}"] = r
                log(
                    f"  {which:6s} serial {op:6s} p50 {r['p50_ms']:.3f} ms  "
                    f"p99 {r['p99_ms']:.3f} ms  errors {r['errors']}"
                )
        for op in PIPELINED_OPS:
            for which in order:
                r = run_loadgen(servers[which], op, args)
                results[which][op] = r
                log(
                    f"  {which:6s} {op:13s} {r['ops_per_s']:>9,.0f} ops/s  "
                    f"p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  errors {r['errors']}  "
                    f"CPU%: loadgen {r.get('loadgen_cpu_pct')} server {r.get('server_cpu_pct')} "
                    f"others {r.get('other_cpu_pct')}"
                )
        for which in order:
            results[which]["rss_after_loads"] = proc_status(server_pid(servers[which]))
    return results


def measure_rss(which: str, args: argparse.Namespace) -> dict[str, Any]:
    """RSS of a fresh server with the data nodes and ``--idle-sessions`` idle sessions."""
    with running(which, args.tick_time) as server:
        pid = server_pid(server)
        address = ("127.0.0.1", server.port)
        loadgen.prepare(address, args.nodes, loadgen.value_bytes(100), None)
        time.sleep(1.0)
        before = proc_status(pid)
        t0 = time.perf_counter()
        sessions = loadgen.connect_sessions(address, args.idle_sessions, timeout_ms=40000)
        connect_s = time.perf_counter() - t0
        try:
            # One ping each, so every connection has done a full request/reply once.
            ping = encode_request(-2, OpCode.PING, None)
            for sock, _ in sessions:
                sock.sendall(ping)
            for sock, _ in sessions:
                loadgen.recv_frame(sock)
            time.sleep(args.idle_settle)
            after = proc_status(pid)
            srvr = four_letter_word(server.port, "srvr")
        finally:
            for sock, _ in sessions:
                sock.close()
    connections = next(
        (int(line.split(":")[1]) for line in srvr.splitlines() if line.startswith("Connections")),
        -1,
    )
    return {"before": before, "after": after, "connect_s": connect_s, "connections": connections}


# --- profiling ------------------------------------------------------------------------------


def profile_ours(args: argparse.Namespace, log: Any) -> None:
    """Record py-spy profiles of our server under the get and set loads; print hot spots."""
    out_dir = Path(args.profile)
    out_dir.mkdir(parents=True, exist_ok=True)
    py_spy = Path(sys.executable).parent / "py-spy"
    if not py_spy.exists():
        raise BenchError("--profile needs py-spy: pip install py-spy")
    with running("ours", args.tick_time) as server:
        pid = server_pid(server)
        run_loadgen(server, "mix", args, duration=max(1.0, args.server_warmup), warmup=0)
        for op in ("get", "set"):
            stem = out_dir / f"ours-{op}"
            seconds = max(2, int(args.duration))
            outputs = {
                f"{stem}.functions.txt": ("raw", "--function", "--threads"),
                f"{stem}.lines.txt": ("raw", "--threads"),
                f"{stem}.svg": ("flamegraph",),
            }
            recorders = [
                subprocess.Popen(
                    [
                        *(str(py_spy), "record", "--pid", str(pid), "--duration", str(seconds)),
                        *("--rate", str(args.profile_rate), "--nonblocking", "-o", path),
                        *("--format", *options),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for path, options in outputs.items()
            ]
            r = run_loadgen(server, op, args, duration=seconds + 2, warmup=0)
            for rec in recorders:
                rec.wait(timeout=60)
            log(
                f"\nProfile of ours under {op} ({r['ops_per_s']:,.0f} ops/s, server CPU "
                f"{r.get('server_cpu_pct')}% while sampled at {args.profile_rate} Hz); "
                f"flame graph {stem}.svg"
            )
            log(hot_spots(Path(f"{stem}.functions.txt"), args.profile_top))
            log(hot_spots(Path(f"{stem}.lines.txt"), args.profile_top, lines_only=True))


def hot_spots(raw: Path, top: int, *, lines_only: bool = False) -> str:
    """Self and inclusive sample shares per frame from py-spy's collapsed stacks.

    Shares are of all non-idle samples (every thread); the split per thread comes first.
    """
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    threads: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        parts = stack.split(";")
        thread = next((f for f in parts if f.startswith("thread ")), "")
        frames = [f for f in parts if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += n
        threads[thread] += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    if not total:
        return "  (no samples)"
    if lines_only:
        lines = ["  hottest lines (self time):"]
        return "\n".join(
            lines + [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(top)]
        )
    split = ", ".join(
        f"{name.split(': ', 1)[-1]} {100 * n / total:.1f}%"
        for name, n in threads.most_common(4)
        if name
    )
    lines = [f"  {total} non-idle samples" + (f" ({split})" if split else ""), "  self time:"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(top)]
    lines.append("  inclusive time (function and what it calls):")
    skip = ("<module>", "run (trio", "Command.", "Context.", "Group.", "serve_command")
    shown = [(f, n) for f, n in inclusive.most_common() if not f.startswith(skip)]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in shown[:top]]
    return "\n".join(lines)


# --- the report -----------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def header_lines(args: argparse.Namespace, zk_version: str) -> list[str]:
    """The command, versions, machine and settings of this run."""
    return [
        *environment_lines(zk_version),
        f"settings: fsync on (forceSync=yes) for both, tickTime {args.tick_time}, "
        f"{args.sessions} sessions x {args.outstanding} outstanding, {args.processes} loadgen "
        f"process(es), {args.duration} s measured after {args.warmup} s warm-up per op, "
        f"{args.rounds} round(s), serial: {args.serial_requests} requests",
    ]


def environment_lines(zk_version: str) -> list[str]:
    """The command line, the versions of both servers and the machine."""

    def run(cmd: list[str]) -> str:
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=30, cwd=REPO)
            return (p.stdout or p.stderr).strip()
        except OSError as exc:
            return f"({exc})"

    from importlib.metadata import version

    java = run(["java", "-version"]).splitlines()
    git = run(["git", "rev-parse", "--short", "HEAD"])
    dirty = "dirty" if run(["git", "status", "--porcelain"]) else "clean"
    return [
        "command: " + shlex.join([sys.executable, *sys.argv]),
        f"date: {time.strftime('%Y-%m-%d %H:%M:%S %z')}   git: {git} ({dirty} working tree)",
        f"zabkeeper {version('zabkeeper')}, Python {platform.python_version()}, "
        f"trio {version('trio')}",
        f"Apache ZooKeeper: {zk_version}; {java[0] if java else 'java ?'}",
        f"machine: {os.cpu_count()} CPUs, Linux {platform.release()}, "
        f"load average at start {os.getloadavg()[0]:.2f}",
    ]


def count_invalid(rounds: list[dict[str, Any]], log: Any) -> int:
    """Log and count the results of ``rounds`` that had errors (which makes them invalid)."""
    invalid = 0
    for r in rounds:
        for which in SERVERS:
            for key, value in r[which].items():
                if isinstance(value, dict) and value.get("errors"):
                    invalid += 1
                    log(
                        f"INVALID: {which} {key}: {value['errors']} errors "
                        f"{value['error_codes']} {value['problems']}"
                    )
    return invalid


def throughput_table(rounds: list[dict[str, Any]], log: Any, title: str) -> bool:
    """Log the pipelined ops' medians over ``rounds``, ours beside theirs; return whether
    every op meets the throughput target."""

    def collect(which: str, key: str, field: str) -> list[float]:
        return [r[which][key][field] for r in rounds if key in r[which]]

    all_met = True
    log("")
    log(title)
    log(
        f"{'op':8s} {'ours ops/s':>11s} {'theirs ops/s':>13s} {'ratio':>6s} {'target':>7s}"
        f"   {'ours p50/p99 ms':>17s}   {'theirs p50/p99 ms':>17s}   {'loadgen CPU o/t':>15s}"
        f"   {'server CPU us/op o/t':>20s}   {'others CPU o/t':>14s}"
    )
    noisy = []
    for op in PIPELINED_OPS:
        ours = median(collect("ours", op, "ops_per_s"))
        theirs = median(collect("theirs", op, "ops_per_s"))
        ratio = ours / theirs if theirs else float("nan")
        ok = ratio >= TARGET_THROUGHPUT
        all_met &= ok
        lat = {
            w: (median(collect(w, op, "p50_ms")), median(collect(w, op, "p99_ms"))) for w in SERVERS
        }
        cpu = {w: median(collect(w, op, "loadgen_cpu_pct")) for w in SERVERS}
        scpu = {w: median(collect(w, op, "server_cpu_us_per_op")) for w in SERVERS}
        others = {w: median(collect(w, op, "other_cpu_pct")) for w in SERVERS}
        if max(others.values()) > NOISY_OTHERS_PCT:
            noisy.append(op)
        log(
            f"{op:8s} {ours:>11,.0f} {theirs:>13,.0f} {ratio:>6.2f} {verdict(ok):>7s}"
            f"   {lat['ours'][0]:>7.2f} /{lat['ours'][1]:>8.2f}"
            f"   {lat['theirs'][0]:>7.2f} /{lat['theirs'][1]:>8.2f}"
            f"   {cpu['ours']:>6.1f}%/{cpu['theirs']:>5.1f}%"
            f"   {scpu['ours']:>9.1f} /{scpu['theirs']:>8.1f}"
            f"   {others['ours']:>5.0f}%/{others['theirs']:>5.0f}%"
        )
    log(
        "(o/t = ours/theirs; loadgen CPU and others CPU in % of one core over the measured"
        " window; 'others' is what the rest of the machine used; server CPU us/op = server"
        " CPU time per op)"
    )
    if noisy:
        log(
            f"WARNING: other processes used more than {NOISY_OTHERS_PCT}% of a core during "
            f"{', '.join(noisy)}: those ratios reflect the machine's load as much as the "
            "servers (server CPU us/op is the steadier figure)"
        )
    return all_met


def log_rounds(rounds: list[dict[str, Any]], log: Any, serial_ops: tuple[str, ...] = ()) -> None:
    """Log every round's raw numbers: ops/s of the pipelined ops, p50 ms of ``serial_ops``,
    and the CPU other processes used during each pipelined op."""
    columns = [f"{op:>9s}" for op in PIPELINED_OPS] + [f"{'s-' + op:>8s}" for op in serial_ops]
    log(
        f"{'round':6s} {'server':7s} "
        + " ".join(columns)
        + f"   others % ({' '.join(PIPELINED_OPS)})"
    )
    for i, r in enumerate(rounds):
        for which in r["order"]:
            res = r[which]
            others = " ".join(f"{res[op].get('other_cpu_pct', 0):.0f}" for op in PIPELINED_OPS)
            cells = [f"{res[op]['ops_per_s']:>9,.0f}" for op in PIPELINED_OPS]
            cells += [f"{res['serial-' + op]['p50_ms']:>8.3f}" for op in serial_ops]
            log(f"{i + 1:<6d} {which:7s} " + " ".join(cells) + f"   {others}")


def log_targets(all_met: bool, invalid: int, log: Any) -> None:
    """The report's last line: whether every target is met, and how many results are invalid."""
    log("")
    log(
        f"Targets: {'all met' if all_met else 'some MISSED'}"
        + (f"; {invalid} result(s) INVALID (errors)" if invalid else "")
    )


def report(
    args: argparse.Namespace, rounds: list[dict[str, Any]], rss: dict[str, Any], log: Any
) -> tuple[bool, int]:
    """Print the tables; return (all targets met, number of invalid results)."""
    invalid = count_invalid(rounds, log)

    def collect(which: str, key: str, field: str) -> list[float]:
        return [r[which][key][field] for r in rounds if key in r[which]]

    all_met = throughput_table(
        rounds,
        log,
        f"Throughput, pipelined ({args.sessions} sessions x {args.outstanding} outstanding; "
        f"median of {len(rounds)} round(s)); target ours/theirs >= {TARGET_THROUGHPUT}",
    )
    log("")
    log(
        f"Serial latency (1 session, 1 outstanding, {args.serial_requests} requests; median of "
        f"rounds); target p50 ours/theirs <= {TARGET_LATENCY}"
    )
    log(
        f"{'op':8s} {'ours p50':>9s} {'ours p99':>9s} {'theirs p50':>11s} {'theirs p99':>11s}"
        f" {'p50 ratio':>10s} {'p99 ratio':>10s} {'target':>7s}"
    )
    for op in SERIAL_OPS:
        key = f"serial-{op}"
        o50, o99 = median(collect("ours", key, "p50_ms")), median(collect("ours", key, "p99_ms"))
        t50 = median(collect("theirs", key, "p50_ms"))
        t99 = median(collect("theirs", key, "p99_ms"))
        ratio = o50 / t50 if t50 else float("nan")
        ok = ratio <= TARGET_LATENCY
        all_met &= ok
        log(
            f"{op:8s} {o50:>9.3f} {o99:>9.3f} {t50:>11.3f} {t99:>11.3f} {ratio:>10.2f}"
            f" {o99 / t99 if t99 else float('nan'):>10.2f} {verdict(ok):>7s}"
        )
    log("(latencies in ms)")
    if rss:
        log("")
        log(
            f"Resident size (VmRSS) of a fresh server with {args.nodes} data nodes and "
            f"{args.idle_sessions} idle sessions; target ours/theirs <= {TARGET_RSS}"
        )
        o, t = rss["ours"], rss["theirs"]
        ratio = o["after"]["VmRSS"] / t["after"]["VmRSS"]
        ok = ratio <= TARGET_RSS
        all_met &= ok
        for which in SERVERS:
            m = rss[which]
            log(
                f"  {which:6s} {m['after']['VmRSS'] / 1024:8.1f} MiB with sessions "
                f"({m['before']['VmRSS'] / 1024:.1f} MiB before them; "
                f"{(m['after']['VmRSS'] - m['before']['VmRSS']) / args.idle_sessions:.1f} KiB "
                f"per session; {m['connections']} connections per srvr; "
                f"connect took {m['connect_s']:.2f} s; {m['after'].get('Threads')} threads)"
            )
        log(f"  ratio {ratio:.2f}  {verdict(ok)}")
        after = {
            w: median([r[w]["rss_after_loads"]["VmRSS"] / 1024 for r in rounds]) for w in SERVERS
        }
        log(
            f"  (for information: RSS after a round of loads, ours {after['ours']:.1f} MiB, "
            f"theirs {after['theirs']:.1f} MiB)"
        )
    log("")
    log("Every round (ops/s for pipelined ops, p50 ms for serial; 'others' is the CPU, in % of")
    log("one core, that processes other than the server and the generator used during each op):")
    log_rounds(rounds, log, SERIAL_OPS)
    log_targets(all_met, invalid, log)
    return all_met, invalid


def bench_parser(description: str, *, sessions: int, tick_time: int) -> argparse.ArgumentParser:
    """The options of a benchmark that runs loads on ours and theirs in rounds; those left
    unset are filled in by :func:`fill_defaults`."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--rounds", type=int, help="rounds per server (default 3; quick 1)")
    parser.add_argument("--duration", type=float, help="measured s per op (10; quick 2)")
    parser.add_argument("--warmup", type=float, help="warm-up s per op (2; quick 0.5)")
    parser.add_argument("--server-warmup", type=float, help="mixed load on fresh servers (5; 1)")
    parser.add_argument("--sessions", type=int, default=sessions)
    parser.add_argument("--outstanding", type=int, default=64)
    parser.add_argument("--processes", type=int, default=1, help="loadgen processes")
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--tick-time", type=int, default=tick_time)
    parser.add_argument("--json-out", type=Path, help="write all raw results here")
    return parser


def fill_defaults(args: argparse.Namespace, more: dict[str, tuple[Any, Any]]) -> None:
    """Give every unset count and duration its (full, ``--quick``) default."""
    defaults = {
        "rounds": (3, 1),
        "duration": (10.0, 2.0),
        "warmup": (2.0, 0.5),
        "server_warmup": (5.0, 1.0),
        **more,
    }
    for key, (full, quick) in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, quick if args.quick else full)


def parse_args() -> argparse.Namespace:
    parser = bench_parser(__doc__.split("\n")[0], sessions=8, tick_time=2000)
    parser.add_argument("--serial-requests", type=int, help="serial requests (5000; quick 1000)")
    parser.add_argument("--idle-sessions", type=int, default=1000)
    parser.add_argument("--idle-settle", type=float, default=3.0, help="s before reading RSS")
    parser.add_argument("--no-rss", action="store_true", help="skip the idle-session RSS phase")
    parser.add_argument("--profile", metavar="DIR", help="also py-spy our server under get/set")
    parser.add_argument("--profile-only", action="store_true", help="only the --profile part")
    parser.add_argument("--profile-top", type=int, default=25, help="rows per profile table")
    parser.add_argument("--profile-rate", type=int, default=200, help="py-spy samples/s")
    args = parser.parse_args()
    fill_defaults(args, {"serial_requests": (5000, 1000)})
    if args.profile_only and not args.profile:
        parser.error("--profile-only needs --profile DIR")
    return args


def main() -> int:
    args = parse_args()
    missing = apache_zookeeper_missing()
    if missing and not args.profile_only:
        print(f"error: {missing}", file=sys.stderr)
        return 2

    def log(text: str = "") -> None:
        print(text, flush=True)

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.idle_sessions + 256
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    try:
        if args.profile_only:
            profile_ours(args, log)
            return 0
        with running("theirs", args.tick_time) as zk:
            zk_version = four_letter_word(zk.port, "srvr").splitlines()[0]
        for line in header_lines(args, zk_version):
            log(line)
        log("")
        rounds = []
        for i in range(args.rounds):
            order = ("theirs", "ours") if i % 2 == 0 else ("ours", "theirs")
            log(f"round {i + 1}/{args.rounds}: each load on {' then '.join(order)}")
            rounds.append(run_round(order, args, log))
        rss: dict[str, Any] = {}
        if not args.no_rss:
            log(f"RSS phase: {args.idle_sessions} idle sessions on fresh servers")
            for which in ("theirs", "ours"):
                rss[which] = measure_rss(which, args)
        _, invalid = report(args, rounds, rss, log)
        if args.json_out:
            args.json_out.write_text(json.dumps({"rounds": rounds, "rss": rss}, indent=1))
        if args.profile:
            profile_ours(args, log)
    except (BenchError, RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main())
