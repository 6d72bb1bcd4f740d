"""``zabkeeper server``: run a server from a zoo.cfg and/or flags."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

import click
import trio

from server.config import ConfigError, ServerConfig, load_config
from server.logs import configure_logging
from znode.errors import ZabkeeperError

#: flag name -> zoo.cfg key, for options that may be given on the command line
FLAG_KEYS = {
    "port": "clientPort",
    "host": "clientPortAddress",
    "data_dir": "dataDir",
    "data_log_dir": "dataLogDir",
    "tick_time": "tickTime",
    "snap_count": "snapCount",
    "max_client_cnxns": "maxClientCnxns",
    "four_letter_words": "4lw.commands.whitelist",
    "metrics_port": "metricsProvider.httpPort",
}


@click.command("server")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="A zoo.cfg file.")
@click.option("--port", type=int, help="Client port (clientPort; default 2181).")
@click.option("--host", help="Client address (clientPortAddress; default 127.0.0.1).")
@click.option("--data-dir", help="Snapshots and the log (dataDir; default ./zabkeeper-data).")
@click.option("--data-log-dir", help="Transaction log directory (dataLogDir).")
@click.option("--tick-time", type=int, help="tickTime in ms (default 2000).")
@click.option("--snap-count", type=int, help="Txns between snapshots (snapCount).")
@click.option("--max-client-cnxns", type=int, help="Connections per client IP (0: unlimited).")
@click.option("--four-letter-words", help="4lw.commands.whitelist, e.g. 'srvr,ruok' or '*'.")
@click.option("--metrics-port", type=int, help="Serve Prometheus /metrics on this port.")
@click.option("--no-fsync", is_flag=True, help="forceSync=no: skip fsync (tests only).")
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def serve_command(config_path: Path | None, no_fsync: bool, verbose: bool, **flags: object) -> None:
    """Run a zabkeeper server (standalone unless the config lists server.N lines)."""
    overrides = {FLAG_KEYS[k]: str(v) for k, v in flags.items() if v is not None}
    if no_fsync:
        overrides["forceSync"] = "no"
    configure_logging(verbose=verbose)
    try:
        loaded = load_config(config_path, overrides)
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except OSError as exc:
        click.echo(f"error: cannot read {config_path}: {exc.strerror}", err=True)
        sys.exit(2)
    if not loaded.config.is_standalone:
        configure_logging(verbose=verbose, server_id=loaded.config.my_id)
    log = logging.getLogger("zabkeeper.server")
    for warning in loaded.warnings:
        log.warning("%s", warning)
    try:
        trio.run(_run, loaded.config)
    except KeyboardInterrupt:
        pass
    except BaseException as exc:
        reason = _first_reason(exc)
        if reason is None:
            raise
        click.echo(f"error: {reason}", err=True)
        sys.exit(1)


def _first_reason(exc: BaseException) -> str | None:
    """One line for an expected start-up failure inside (nested) exception groups."""
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            reason = _first_reason(inner)
            if reason is not None:
                return reason
        return None
    if isinstance(exc, ZabkeeperError):
        return str(exc)
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}"
    return None


async def _run(config: ServerConfig) -> None:
    from server.quorum_loop import QuorumServer
    from server.serve import serve

    async with trio.open_nursery() as nursery:
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            if config.is_standalone:
                nursery.start_soon(serve, config)
            else:
                nursery.start_soon(QuorumServer(config).run)
            async for signum in signals:
                logging.getLogger("zabkeeper.server").info(
                    "received %s, shutting down", signal.Signals(signum).name
                )
                nursery.cancel_scope.cancel()
                break
