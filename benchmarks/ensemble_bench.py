"""Our 3-server ensemble against Apache ZooKeeper's: same machine, settings and load, one run.

Usage::

    python benchmarks/ensemble_bench.py            # full run (about 10 minutes)
    python benchmarks/ensemble_bench.py --quick    # smoke run (about a minute)

Both ensembles are three voting members on 127.0.0.1, started as processes by
``tests/support/ensemble_proc.py`` (ours: ``zabkeeper server``; theirs: ZooKeeper 3.8's
``QuorumPeerMain``), each member in its own temporary directory, with fsync on
(``forceSync=yes``) and the same tickTime, initLimit and syncLimit (500 ms, 10, 5 by default).
Everything else is each implementation's default; for Apache ZooKeeper that includes leader
election's ``finalizeWait`` (200 ms: how long a peer waits for a better vote once a quorum
agrees with its own) and ``cnxTimeout`` (5 s: the connect timeout of election connections),
which are left alone. Its members run with the harness's JVM flags (``-Xmx256m
-XX:+UseSerialGC``: three JVMs share the machine).

Throughput. Each round starts both ensembles fresh, warms each up (a mixed load, which also
lets the JVMs compile their hot paths), then runs every load with ``loadgen.py --spread`` on
one ensemble and right after on the other: the sessions (``--sessions`` x ``--outstanding``,
9 x 64 by default) go round-robin over the three members, so reads are served by every
member and writes are forwarded by the followers to the leader. Ops: pipelined getData,
setData, a 90 % read mix, and create (last, as it grows the tree). Rounds alternate which
ensemble goes first; the table shows the median over rounds. "server CPU" is the sum of the
three members' CPU time.

Failover (see ``benchmarks/failover.py`` for the exact definition). A separate pair of fresh
ensembles; ``--kills`` times each, alternating which goes first: a client on a follower
issues setData in a loop (one outstanding), the leader gets SIGKILL, and the time is from
the signal to the first setData acknowledged by the new leader (a reply whose zxid has a
new epoch). The client reconnects to the same member every 10 ms while it is not serving.
Then the killed member is restarted and the ensemble waits for all members in sync before
the next kill. The table shows the median of the kills.

Targets (from the issue): throughput ours/theirs >= 1.0 on every op; failover median ours
<= theirs and under 1 s. The exit status is 0 whether targets are met or not; it is 1 when
a load had errors (err != 0 replies, lost replies), which makes the numbers invalid, and 2
when a server, an ensemble or the generator failed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

import failover  # noqa: E402
import loadgen  # noqa: E402
import server_bench as sb  # noqa: E402

from support.apache_zk import apache_zookeeper_missing, four_letter_word  # noqa: E402
from support.ensemble_proc import (  # noqa: E402
    ApacheZooKeeperEnsemble,
    EnsembleBase,
    ZabkeeperEnsemble,
)

OPS = sb.PIPELINED_OPS
SERVERS = sb.SERVERS
TARGET_FAILOVER_MS = 1000.0
FAILOVER_PATH = f"{loadgen.ROOT}/failover"


class Target:
    """What ``server_bench.run_loadgen`` needs of an ensemble: every member's address and
    PID (read when the load starts: a restarted member has a new one)."""

    def __init__(self, ensemble: EnsembleBase) -> None:
        self.hosts = ensemble.hosts()
        self.pids = [m.process.pid for m in ensemble.members.values() if m.process is not None]


def make_ensemble(which: str, args: argparse.Namespace) -> EnsembleBase:
    """A 3-voter ensemble of ours or theirs with this run's settings (not started yet)."""
    kind = ZabkeeperEnsemble if which == "ours" else ApacheZooKeeperEnsemble
    return kind(
        3,
        tick_time=args.tick_time,
        init_limit=args.init_limit,
        sync_limit=args.sync_limit,
        extra_config={"forceSync": "yes"},
    )


def start_pair(
    stack: ExitStack, order: tuple[str, ...], args: argparse.Namespace
) -> dict[str, EnsembleBase]:
    """Start one ensemble per name in ``order``; ``stack`` closes them (and their dirs)."""
    ensembles: dict[str, EnsembleBase] = {}
    for which in order:
        ensemble = make_ensemble(which, args)
        stack.callback(ensemble.close)
        ensemble.start(timeout=120)
        ensembles[which] = ensemble
    return ensembles


def run_load(
    ensemble: EnsembleBase, which: str, op: str, args: argparse.Namespace
) -> dict[str, Any]:
    """One measured load, spread over the members; a failure names the ensemble and carries
    its members' states and log tails."""
    try:
        ensemble.check_alive()
        return sb.run_loadgen(Target(ensemble), op, args, extra=("--spread",))
    except sb.BenchError as exc:
        raise sb.BenchError(f"{which}: {exc}\n{ensemble.diagnostics(lines=8)}") from None


def run_round(order: tuple[str, str], args: argparse.Namespace, log: Any) -> dict[str, Any]:
    """Start both ensembles fresh, warm them up, run every load on each back to back."""
    results: dict[str, Any] = {"order": order}
    with ExitStack() as stack:
        ensembles = start_pair(stack, order, args)
        for which in order:
            results[which] = {}
            if args.server_warmup > 0:
                target = Target(ensembles[which])
                sb.run_loadgen(
                    target, "mix", args, duration=args.server_warmup, warmup=0, extra=("--spread",)
                )
        for op in OPS:
            for which in order:
                r = run_load(ensembles[which], which, op, args)
                results[which][op] = r
                log(
                    f"  {which:6s} {op:7s} {r['ops_per_s']:>9,.0f} ops/s  "
                    f"p50 {r['p50_ms']:.2f} ms  p99 {r['p99_ms']:.2f} ms  errors {r['errors']}  "
                    f"CPU%: loadgen {r.get('loadgen_cpu_pct')} members {r.get('server_cpu_pct')} "
                    f"others {r.get('other_cpu_pct')}"
                )
        for ensemble in ensembles.values():
            ensemble.check_alive()
    return results


def run_failover(args: argparse.Namespace, log: Any) -> dict[str, list[dict[str, Any]]]:
    """``args.kills`` leader kills on each of a fresh pair of ensembles, alternating."""
    kills: dict[str, list[dict[str, Any]]] = {which: [] for which in SERVERS}
    with ExitStack() as stack:
        ensembles = start_pair(stack, ("theirs", "ours"), args)
        for ensemble in ensembles.values():
            first, *others = [("127.0.0.1", ensemble.client_port(s)) for s in ensemble.ids]
            loadgen.prepare(first, 0, b"", FAILOVER_PATH, visible_at=others)
            failover.settle(ensemble)
        for i in range(args.kills):
            order = ("theirs", "ours") if i % 2 == 0 else ("ours", "theirs")
            for which in order:
                result = failover.measure_kill(ensembles[which], FAILOVER_PATH)
                failover.settle(ensembles[which])
                kills[which].append(result.as_dict())
                log(f"  kill {i + 1}/{args.kills} {which:6s} " + kill_line(result.as_dict()))
    return kills


def kill_line(k: dict[str, Any]) -> str:
    """One kill in a line: who, the time, and where the time went."""

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f}"

    errors = f", error replies {k['error_replies']}" if k["error_replies"] else ""
    sessions = f", {k['new_sessions']} new session(s)" if k["new_sessions"] else ""
    return (
        f"leader {k['leader']} killed (epoch {k['old_epoch']} -> {k['new_epoch']}), writer on "
        f"{k['writer_on']}: {k['failover_ms']:7.1f} ms (disconnected at {ms(k['disconnect_ms'])}"
        f", session back at {ms(k['reconnect_ms'])}; {k['reconnect_attempts']} connect "
        f"attempts{errors}{sessions})"
    )


def failover_table(
    kills: dict[str, list[dict[str, Any]]], args: argparse.Namespace, log: Any
) -> bool:
    """Log the failover medians; return whether both failover targets are met."""
    log("")
    log(
        f"Failover: kill -9 of the leader -> first setData acknowledged by the new leader "
        f"(client on a follower, one outstanding; tickTime {args.tick_time}; median of "
        f"{len(kills['ours'])} kill(s)); target ours <= theirs and < {TARGET_FAILOVER_MS:.0f} ms"
    )
    log(
        f"{'':8s} {'median ms':>10s} {'min':>7s} {'max':>7s}   {'disconnected':>12s}"
        f" {'session back':>12s}   every kill (ms)"
    )
    medians = {}
    for which in SERVERS:
        times = [k["failover_ms"] for k in kills[which]]
        medians[which] = sb.median(times)
        lost = [k["disconnect_ms"] for k in kills[which] if k["disconnect_ms"] is not None]
        back = [k["reconnect_ms"] for k in kills[which] if k["reconnect_ms"] is not None]
        log(
            f"{which:8s} {medians[which]:>10.1f} {min(times):>7.1f} {max(times):>7.1f}"
            f"   {sb.median(lost):>12.1f} {sb.median(back):>12.1f}"
            f"   {' '.join(f'{t:.0f}' for t in times)}"
        )
    ratio = medians["ours"] / medians["theirs"] if medians["theirs"] else float("nan")
    vs_theirs = medians["ours"] <= medians["theirs"]
    under = medians["ours"] < TARGET_FAILOVER_MS
    log(
        f"ratio ours/theirs {ratio:.2f}: ours <= theirs {sb.verdict(vs_theirs)}; "
        f"ours < {TARGET_FAILOVER_MS:.0f} ms {sb.verdict(under)}"
    )
    log(
        "(disconnected / session back: medians, ms after the kill, of when the client's "
        "connection dropped and when its session was re-established; '-' or nan: never)"
    )
    return vs_theirs and under


def report(
    args: argparse.Namespace,
    rounds: list[dict[str, Any]],
    kills: dict[str, list[dict[str, Any]]],
    log: Any,
) -> tuple[bool, int]:
    """Print the tables; return (all targets met, number of invalid results)."""
    invalid = sb.count_invalid(rounds, log)
    all_met = sb.throughput_table(
        rounds,
        log,
        f"Throughput, 3-server ensembles, pipelined ({args.sessions} sessions x "
        f"{args.outstanding} outstanding, spread over all members; median of {len(rounds)} "
        f"round(s)); target ours/theirs >= {sb.TARGET_THROUGHPUT}",
    )
    log("(server CPU us/op: the three members' CPU time together, per op)")
    if kills["ours"] and kills["theirs"]:
        all_met &= failover_table(kills, args, log)
    log("")
    log("Every round (ops/s; 'others' is the CPU, in % of one core, that processes other than")
    log("the members and the generator used during each op):")
    sb.log_rounds(rounds, log)
    sb.log_targets(all_met, invalid, log)
    return all_met, invalid


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; ``--quick`` lowers every unset count and duration."""
    parser = sb.bench_parser(__doc__.split("\n")[0], sessions=9, tick_time=500)
    parser.add_argument("--kills", type=int, help="leader kills per ensemble (5; quick 1)")
    parser.add_argument("--init-limit", type=int, default=10)
    parser.add_argument("--sync-limit", type=int, default=5)
    parser.add_argument("--no-failover", action="store_true", help="skip the failover phase")
    args = parser.parse_args(argv)
    sb.fill_defaults(args, {"kills": (5, 1)})
    if args.rounds < 1 or (args.kills < 1 and not args.no_failover):
        parser.error("--rounds and --kills must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run both phases and print the report; the exit status is described above."""
    args = parse_args(argv)
    missing = apache_zookeeper_missing()
    if missing:
        print(f"error: {missing}", file=sys.stderr)
        return 2

    def log(text: str = "") -> None:
        print(text, flush=True)

    try:
        with sb.running("theirs", args.tick_time) as zk:
            zk_version = four_letter_word(zk.port, "srvr").splitlines()[0]
        for line in sb.environment_lines(zk_version):
            log(line)
        log(
            f"settings: 3-server ensembles, fsync on (forceSync=yes), tickTime {args.tick_time}, "
            f"initLimit {args.init_limit}, syncLimit {args.sync_limit} for both (Apache "
            f"ZooKeeper's election defaults: finalizeWait 200 ms, cnxTimeout 5000 ms; its JVMs "
            "-Xmx256m -XX:+UseSerialGC); "
            f"{args.sessions} sessions x {args.outstanding} outstanding spread over the members, "
            f"{args.processes} loadgen process(es), {args.duration} s measured after "
            f"{args.warmup} s warm-up per op, {args.rounds} round(s); "
            f"{0 if args.no_failover else args.kills} leader kill(s) each"
        )
        log("")
        rounds = []
        for i in range(args.rounds):
            order = ("theirs", "ours") if i % 2 == 0 else ("ours", "theirs")
            log(f"round {i + 1}/{args.rounds}: each load on {' then '.join(order)}")
            rounds.append(run_round(order, args, log))
        kills: dict[str, list[dict[str, Any]]] = {which: [] for which in SERVERS}
        if not args.no_failover:
            log(f"failover: {args.kills} leader kill(s) on each of a fresh pair of ensembles")
            kills = run_failover(args, log)
        _, invalid = report(args, rounds, kills, log)
        if args.json_out:
            args.json_out.write_text(json.dumps({"rounds": rounds, "kills": kills}, indent=1))
    except (
        sb.BenchError,
        failover.FailoverError,
        loadgen.LoadError,
        RuntimeError,
        OSError,
        subprocess.TimeoutExpired,
    ) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main())
