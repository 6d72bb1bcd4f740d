"""Prometheus /metrics: the mntr values as gauges, scraped over real TCP from trio."""

from __future__ import annotations

import socket
import struct

import attrs
import pytest
import trio
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from server.four_letter import monitor_values
from server.metrics import READ_TIMEOUT_S, http_response, make_registry, serve_metrics
from server.stats import ConnectionStats, ServerStats

ASKING = ConnectionStats(address="127.0.0.1", port=50000)
STATS = ServerStats(
    version="0.1.0-zabkeeper", mode="standalone", zxid=0x7, node_count=9, min_latency_ms=1,
    avg_latency_ms=50 / 28, max_latency_ms=8, packets_received=28, packets_sent=27,
    outstanding_requests=3, connections=(ASKING, ASKING), watch_count=5, ephemerals_count=2,
    approximate_data_size=72, open_file_descriptor_count=39, max_file_descriptor_count=20000,
    uptime_ms=445, global_sessions=4,
)  # fmt: skip
LEADER = attrs.evolve(
    STATS, mode="leader", peer_state="leading - broadcast", quorum_size=3, learners=2,
    synced_followers=2, pending_syncs=1, leader_uptime_ms=99, proposal_sizes=(48, 40, 89),
)  # fmt: skip


def _samples(text: str) -> dict[str, float]:
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _scrape_body(response: bytes) -> str:
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    return body.decode()


def _get(path: str = "/metrics", extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: x\r\n{extra}".encode().rstrip(b"\r\n")


def test_scrape_exposes_zookeeper_gauge_names_and_values() -> None:
    samples = _samples(_scrape_body(http_response(_get(), make_registry(lambda: STATS))))
    assert samples["znode_count"] == 9
    assert samples["watch_count"] == 5
    assert samples["packets_received"] == 28
    assert samples["packets_sent"] == 27
    assert samples["num_alive_connections"] == 2
    assert samples["outstanding_requests"] == 3
    assert samples["ephemerals_count"] == 2
    assert samples["approximate_data_size"] == 72
    assert samples["global_sessions"] == 4
    assert samples["avg_latency"] == 1.7857
    assert samples["min_latency"] == 1
    assert samples["max_latency"] == 8
    assert samples["uptime"] == 445
    assert samples["open_file_descriptor_count"] == 39
    assert samples["max_file_descriptor_count"] == 20000
    assert "learners" not in samples
    assert "quorum_size" not in samples


def test_every_numeric_mntr_value_is_a_gauge() -> None:
    text = _scrape_body(http_response(_get(), make_registry(lambda: LEADER)))
    families = {f.name: f for f in text_string_to_metric_families(text)}
    for key, value in monitor_values(LEADER):
        if isinstance(value, str):
            continue
        assert families[key].type == "gauge", key
        assert families[key].samples[0].value == value, key
    assert families["learners"].samples[0].value == 2
    assert families["quorum_size"].samples[0].value == 3
    assert families["last_proposal_size"].samples[0].value == 48


def test_strings_become_info_labels() -> None:
    text = _scrape_body(http_response(_get(), make_registry(lambda: LEADER)))
    info = next(
        f for f in text_string_to_metric_families(text) if f.name == "zabkeeper_server_info"
    )
    assert info.samples[0].labels == {
        "version": "0.1.0-zabkeeper",
        "server_state": "leader",
        "peer_state": "leading - broadcast",
    }
    assert info.samples[0].value == 1


def test_each_scrape_reads_a_fresh_snapshot_from_a_private_registry() -> None:
    snapshots = iter([STATS, attrs.evolve(STATS, node_count=42)])
    registry = make_registry(lambda: next(snapshots))
    assert registry is not REGISTRY
    assert "znode_count" not in {m.name for m in REGISTRY.collect()}
    first = _samples(_scrape_body(http_response(_get(), registry)))
    second = _samples(_scrape_body(http_response(_get(), registry)))
    assert (first["znode_count"], second["znode_count"]) == (9, 42)


def test_registering_does_not_call_the_provider() -> None:
    def provider() -> ServerStats:
        raise AssertionError("called at registration")

    make_registry(provider)


def test_openmetrics_when_asked_for() -> None:
    response = http_response(
        _get(extra="Accept: application/openmetrics-text; version=1.0.0\r\n"),
        make_registry(lambda: STATS),
    )
    head, _, body = response.partition(b"\r\n\r\n")
    assert b"Content-Type: application/openmetrics-text" in head
    assert body.endswith(b"# EOF\n")


@pytest.mark.parametrize(
    ("request_head", "status"),
    [
        (b"GET /other HTTP/1.1\r\nHost: x", b"404"),
        (b"POST /metrics HTTP/1.1\r\nHost: x", b"405"),
        (b"garbage", b"400"),
        (b"GET /metrics SPDY/3", b"400"),
    ],
)
def test_other_requests_get_errors(request_head: bytes, status: bytes) -> None:
    response = http_response(request_head, make_registry(lambda: STATS))
    assert response.startswith(b"HTTP/1.1 " + status + b" ")


def test_head_sends_no_body_and_query_strings_are_ignored() -> None:
    registry = make_registry(lambda: STATS)
    full = http_response(b"GET /metrics?x=1 HTTP/1.1\r\nHost: x", registry)
    head_only = http_response(b"HEAD /metrics HTTP/1.1\r\nHost: x", registry)
    assert full.startswith(head_only)
    assert head_only.endswith(b"\r\n\r\n")
    assert len(full) > len(head_only)


def test_a_failing_provider_gives_500(caplog: pytest.LogCaptureFixture) -> None:
    def provider() -> ServerStats:
        raise RuntimeError("boom")

    assert http_response(_get(), make_registry(provider)).startswith(b"HTTP/1.1 500 ")
    assert "metrics scrape failed" in caplog.text


async def _http(port: int, request: bytes) -> bytes:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(request)
        chunks = []
        while chunk := await stream.receive_some(65536):
            chunks.append(chunk)
    return b"".join(chunks)


async def test_serve_metrics_over_tcp() -> None:
    calls: list[int] = []

    def provider() -> ServerStats:
        calls.append(1)
        return attrs.evolve(STATS, node_count=len(calls) + 100)

    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve_metrics, 0, "127.0.0.1", provider)
        assert calls == []
        first = await _http(port, b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n")
        second = await _http(port, b"GET /metrics HTTP/1.0\r\n\r\n")
        missing = await _http(port, b"GET / HTTP/1.1\r\n\r\n")
        nursery.cancel_scope.cancel()
    assert _samples(_scrape_body(first))["znode_count"] == 101
    assert _samples(_scrape_body(second))["znode_count"] == 102
    assert missing.startswith(b"HTTP/1.1 404 ")


def _request_then_reset(port: int) -> None:
    """Send a whole request and close with a TCP reset, before the server can answer."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


async def test_server_survives_clients_that_hang_up_or_fail() -> None:
    fail = [True]

    def provider() -> ServerStats:
        if fail[0]:
            fail[0] = False
            raise RuntimeError("boom")
        return STATS

    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve_metrics, 0, "127.0.0.1", provider)
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        await stream.send_all(b"GET /met")
        await stream.aclose()  # hangs up mid-request
        assert (await _http(port, b"GET /metrics HTTP/1.1\r\n\r\n")).startswith(b"HTTP/1.1 500")
        _request_then_reset(port)
        ok = await _http(port, b"GET /metrics HTTP/1.1\r\n\r\n")
        nursery.cancel_scope.cancel()
    assert _samples(_scrape_body(ok))["znode_count"] == 9


async def test_slow_clients_are_dropped(autojump_clock: trio.abc.Clock) -> None:
    async with trio.open_nursery() as nursery:
        port = await nursery.start(serve_metrics, 0, "127.0.0.1", lambda: STATS)
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:
            await stream.send_all(b"GET /metrics HTTP/1.1\r\n")  # never finishes the head
            with trio.fail_after(READ_TIMEOUT_S + 1):
                assert await stream.receive_some(100) == b""
        nursery.cancel_scope.cancel()
