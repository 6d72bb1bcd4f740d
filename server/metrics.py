"""Prometheus ``/metrics``: the ``mntr`` values as gauges, served by a small trio HTTP responder.

On each scrape :class:`StatsCollector` calls the provider for a fresh :class:`ServerStats` and
yields one gauge per numeric ``mntr`` value, named as ZooKeeper's PrometheusMetricsProvider
names them (the ``mntr`` key without ``zk_``: ``znode_count``, ``avg_latency``,
``packets_received``...; all gauges there too). The strings (``version``, ``server_state``,
``peer_state``) become labels of ``zabkeeper_server_info``. Each registry is private; the
global default registry is never touched.

Serving: :func:`serve_metrics` is trio code, so the provider runs in the task that owns the
server state. prometheus_client's own ``start_http_server`` would call it from a thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from functools import partial

import attrs
import trio
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import GaugeMetricFamily, InfoMetricFamily, Metric

from server.four_letter import monitor_values
from server.stats import ServerStats

__all__ = ["StatsCollector", "StatsProvider", "http_response", "make_registry", "serve_metrics"]

StatsProvider = Callable[[], ServerStats]

METRICS_PATH = "/metrics"
MAX_REQUEST_HEAD = 16384
READ_TIMEOUT_S = 10.0

_HELP = {
    "avg_latency": "Average request latency (ms).",
    "min_latency": "Minimum request latency (ms).",
    "max_latency": "Maximum request latency (ms).",
    "packets_received": "Packets received from clients.",
    "packets_sent": "Packets sent to clients.",
    "num_alive_connections": "Open client connections.",
    "outstanding_requests": "Requests received but not yet answered.",
    "znode_count": "Znodes (ZooKeeper counts the root twice).",
    "watch_count": "Data and child watches.",
    "ephemerals_count": "Ephemeral znodes.",
    "approximate_data_size": "Approximate size of paths plus data (bytes).",
    "global_sessions": "Global sessions.",
    "local_sessions": "Local sessions.",
    "uptime": "Server uptime (ms).",
    "open_file_descriptor_count": "Open file descriptors.",
    "max_file_descriptor_count": "File descriptor limit.",
    "quorum_size": "Voting members in the ensemble.",
    "learners": "Connected followers and observers (leader only).",
    "synced_followers": "Followers in sync (leader only).",
    "synced_observers": "Observers in sync (leader only).",
    "pending_syncs": "Client syncs waiting at the leader (leader only).",
    "leader_uptime": "Time since this server became leader (ms).",
}

_log = logging.getLogger(__name__)


@attrs.frozen(eq=False)
class StatsCollector:
    """A prometheus_client collector that reads a fresh snapshot on every scrape."""

    provider: StatsProvider

    def collect(self) -> Iterator[Metric]:
        """One gauge per numeric ``mntr`` value, plus ``zabkeeper_server_info``."""
        info: dict[str, str] = {}
        for key, value in monitor_values(self.provider()):
            if isinstance(value, str):
                info[key] = value
            else:
                yield GaugeMetricFamily(key, _HELP.get(key, f"ZooKeeper's zk_{key}."), value=value)
        yield InfoMetricFamily("zabkeeper_server", "Version and state of this server.", value=info)


def make_registry(provider: StatsProvider) -> CollectorRegistry:
    """A private registry holding only a :class:`StatsCollector` for ``provider``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StatsCollector(provider))
    return registry


def _response(status: str, content_type: str, body: bytes, *, head_only: bool = False) -> bytes:
    lines = [
        f"HTTP/1.1 {status}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    if status.startswith("405"):
        lines.append("Allow: GET, HEAD")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")
    return head if head_only else head + body


def _plain(status: str) -> bytes:
    return _response(status, "text/plain; charset=utf-8", f"{status}\n".encode())


def http_response(request_head: bytes, registry: CollectorRegistry) -> bytes:
    """The whole HTTP/1.1 response to a request, given its head (request line and headers)."""
    lines = request_head.decode("latin-1").split("\r\n")
    parts = lines[0].split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        return _plain("400 Bad Request")
    method, target, _ = parts
    if target.split("?", 1)[0] != METRICS_PATH:
        return _plain("404 Not Found")
    if method not in ("GET", "HEAD"):
        return _plain("405 Method Not Allowed")
    accept = ""
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "accept":
            accept = value.strip()
    encoder, content_type = choose_encoder(accept)
    try:
        body = encoder(registry)
    except Exception:
        _log.exception("metrics scrape failed")
        return _plain("500 Internal Server Error")
    return _response("200 OK", content_type, body, head_only=method == "HEAD")


async def _read_head(stream: trio.abc.ReceiveStream) -> bytes | None:
    """The request line and headers, or ``None`` on timeout, EOF or an oversized head."""
    data = b""
    with trio.move_on_after(READ_TIMEOUT_S):
        while b"\r\n\r\n" not in data:
            if len(data) > MAX_REQUEST_HEAD:
                return None
            chunk = await stream.receive_some(4096)
            if not chunk:
                return None
            data += chunk
        return data.split(b"\r\n\r\n", 1)[0]
    return None


async def _serve_one(registry: CollectorRegistry, stream: trio.SocketStream) -> None:
    async with stream:
        try:
            head = await _read_head(stream)
            if head is not None:
                await stream.send_all(http_response(head, registry))
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the scraper went away; nothing to answer


async def serve_metrics(
    port: int,
    host: str,
    provider: StatsProvider,
    *,
    task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``GET /metrics`` on host:port until cancelled; reports the bound port.

    With ``port=0`` and a host that resolves to several addresses, each listener gets its
    own port and the first is reported; pass a single address such as ``127.0.0.1``.
    """
    registry = make_registry(provider)
    listeners = await trio.open_tcp_listeners(port, host=host)
    bound = int(listeners[0].socket.getsockname()[1])
    async with trio.open_nursery() as nursery:
        await nursery.start(trio.serve_listeners, partial(_serve_one, registry), listeners)
        task_status.started(bound)
