"""Four-letter words against text captured from Apache ZooKeeper 3.8.0 (Debian package).

The ZK_* fixtures are real answers (standalone server plus two kazoo clients; a 2-of-3
quorum for leader and follower; one server of two for "not serving"). Only volatile numbers
were replaced: the port of the connection asking the question is always 54790 (ZooKeeper
lists it, with a new port per command). The version string is Debian's, and the tests pass
it in as ``version``, so most comparisons are exact. ``mntr`` fixtures keep the plain gauges
and drop the ~450 summary lines (``zk_avg_/min_/max_/cnt_/sum_/p50_...``) we do not emit.
"""

from __future__ import annotations

import re

import attrs
import pytest
from kazoo.client import ENVI_VERSION, KazooClient

from server.four_letter import (
    KNOWN_WORDS,
    TELNET_CLOSE,
    ZABKEEPER_VERSION,
    ConnectionStats,
    ServerStats,
    SessionEntry,
    java_date,
    java_double,
    monitor_values,
    not_whitelisted,
    parse_whitelist,
    render,
    word_for,
    zk_average,
)
from support.apache_zk import ApacheZooKeeper, four_letter_word, require_apache_zookeeper
from znode.version import __version__

ZK_VERSION = "3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC"
ASKING = ConnectionStats(address="127.0.0.1", port=54790, received=1, expires_ms=1795676292000)
SID_A = 0x1000015BC570000
SID_B = 0x1000015BC570001
CONN_A = ConnectionStats(
    address="127.0.0.1", port=54714, received=10, sent=10, session_id=SID_A,
    last_operation="EXIS", established_ms=1795676277538, timeout_ms=10000, last_cxid=9,
    last_zxid=7, last_response_ms=1424827, last_latency_ms=0, min_latency_ms=0,
    avg_latency_ms=2.0, max_latency_ms=8, expires_ms=1795676292000,
)  # fmt: skip
CONN_B = ConnectionStats(
    address="127.0.0.1", port=54730, received=4, sent=4, session_id=SID_B,
    last_operation="GETC", established_ms=1795676277556, timeout_ms=10000, last_cxid=3,
    last_zxid=7, last_response_ms=1424825, last_latency_ms=1, min_latency_ms=0,
    avg_latency_ms=0.75, max_latency_ms=1, expires_ms=1795676292000,
)  # fmt: skip
STANDALONE = ServerStats(
    version=ZK_VERSION, mode="standalone", zxid=7, node_count=9,
    min_latency_ms=0, avg_latency_ms=50 / 28, max_latency_ms=8,
    packets_received=28, packets_sent=28, connections=(CONN_B, ASKING, CONN_A),
    watch_count=5, watches_by_session={SID_B: ["/other"], SID_A: ["/app/e1", "/other", "/nope"]},
    ephemerals_count=2, approximate_data_size=72, open_file_descriptor_count=39,
    max_file_descriptor_count=20000, uptime_ms=445, global_sessions=2,
    last_client_response_size=16, min_client_response_size=16, max_client_response_size=90,
    data_dir_size=67109337, log_dir_size=67109337,
    sessions=[
        SessionEntry(session_id=SID_B, timeout_ms=10000, expires_ms=1795676288000),
        SessionEntry(session_id=SID_A, timeout_ms=10000, expires_ms=1795676288000),
    ],
    ephemerals={SID_A: ["/app/e1", "/app/e0"]},
)  # fmt: skip

ZK_SRVR = f"""Zookeeper version: {ZK_VERSION}
Latency min/avg/max: 0/1.7857/8
Received: 28
Sent: 28
Connections: 3
Outstanding: 0
Zxid: 0x7
Mode: standalone
Node count: 9
"""
ZK_STAT = f"""Zookeeper version: {ZK_VERSION}
Clients:
 /127.0.0.1:54730[1](queued=0,recved=4,sent=4)
 /127.0.0.1:54790[0](queued=0,recved=1,sent=0)
 /127.0.0.1:54714[1](queued=0,recved=10,sent=10)

Latency min/avg/max: 0/1.7857/8
Received: 29
Sent: 29
Connections: 3
Outstanding: 0
Zxid: 0x7
Mode: standalone
Node count: 9
"""
ZK_CONS = (
    " /127.0.0.1:54730[1](queued=0,recved=4,sent=4,sid=0x1000015bc570001,lop=GETC,"
    "est=1795676277556,to=10000,lcxid=0x3,lzxid=0x7,lresp=1424825,llat=1,minlat=0,avglat=0,"
    "maxlat=1)\n"
    " /127.0.0.1:54714[1](queued=0,recved=10,sent=10,sid=0x1000015bc570000,lop=EXIS,"
    "est=1795676277538,to=10000,lcxid=0x9,lzxid=0x7,lresp=1424827,llat=0,minlat=0,avglat=2,"
    "maxlat=8)\n"
    " /127.0.0.1:54790[0](queued=0,recved=1,sent=0)\n"
    "\n"
)
ZK_CONS_AFTER_CRST = (
    " /127.0.0.1:54730[1](queued=0,recved=0,sent=0,sid=0x1000015bc570001,lop=NA,"
    "est=1795676277556,to=10000,lzxid=0xffffffffffffffff,lresp=0,llat=0,minlat=0,avglat=0,"
    "maxlat=0)\n"
    " /127.0.0.1:54790[0](queued=0,recved=1,sent=0)\n"
    "\n"
)
ZK_DUMP = """SessionTracker dump:
Session Sets (1)/(2):
2 expire at Thu Nov 26 06:58:08 UTC 2026:
\t0x1000015bc570000
\t0x1000015bc570001
ephemeral nodes dump:
Sessions with Ephemerals (1):
0x1000015bc570000:
\t/app/e0
\t/app/e1
Connections dump:
Connections Sets (1)/(3):
3 expire at Thu Nov 26 06:58:12 UTC 2026:
\tip: /127.0.0.1:54730 sessionId: 0x1000015bc570001
\tip: /127.0.0.1:54790 sessionId: 0x0
\tip: /127.0.0.1:54714 sessionId: 0x1000015bc570000
"""
ZK_FRESH_DUMP = """SessionTracker dump:
Session Sets (0)/(0):
ephemeral nodes dump:
Sessions with Ephemerals (0):
Connections dump:
Connections Sets (1)/(1):
1 expire at Thu Nov 26 06:58:12 UTC 2026:
\tip: /127.0.0.1:54790 sessionId: 0x0
"""
# A follower prints the learner session tracker (sorted, with timeouts) instead of sets.
ZK_FOLLOWER_DUMP = """SessionTracker dump:
Global Sessions(2):
0x1000018d1530000\t12000ms
0x2000018d1770000\t6000ms
ephemeral nodes dump:
Sessions with Ephemerals (2):
0x1000018d1530000:
\t/f
0x2000018d1770000:
\t/l
Connections dump:
Connections Sets (1)/(2):
2 expire at Thu Nov 26 07:01:32 UTC 2026:
\tip: /127.0.0.1:42498 sessionId: 0x1000018d1530000
\tip: /127.0.0.1:54790 sessionId: 0x0
"""
ZK_WCHS = "2 connections watching 3 paths\nTotal watches:4\n"
# ZooKeeper prints wchc/wchp in hash order; we sort. Same content, checked structurally.
ZK_WCHC = "0x1000015bc570001\n\t/other\n0x1000015bc570000\n\t/app/e1\n\t/other\n\t/nope\n\n"
ZK_WCHP = (
    "/app/e1\n\t0x1000015bc570000\n/other\n\t0x1000015bc570001\n\t0x1000015bc570000\n"
    "/nope\n\t0x1000015bc570000\n\n"
)
ZK_CONF = """clientPort=33699
secureClientPort=-1
dataDir=/tmp/apache-zk-owepr9el/data/version-2
dataDirSize=67109337
dataLogDir=/tmp/apache-zk-owepr9el/data/version-2
dataLogSize=67109337
tickTime=2000
maxClientCnxns=0
minSessionTimeout=4000
maxSessionTimeout=40000
clientPortListenBacklog=-1
serverId=0
"""
# A quorum member's conf ends with the quorum verifier, with no newline after "version=".
ZK_QUORUM_CONF_TAIL = """serverId=2
initLimit=10
syncLimit=5
electionAlg=3
electionPort=59245
quorumPort=52239
peerType=0
membership: \nserver.1=127.0.0.1:39843:40095:participant
server.2=127.0.0.1:52239:59245:participant
server.3=127.0.0.1:57529:60401:participant
version=0"""
ZK_ENVI = f"""Environment:
zookeeper.version={ZK_VERSION}
host.name=localhost
java.version=17.0.15
java.vendor=Debian
java.io.tmpdir=/tmp
os.name=Linux
os.arch=amd64
user.name=root
"""
ZK_MNTR_STANDALONE = f"""zk_version\t{ZK_VERSION}
zk_server_state\tstandalone
zk_ephemerals_count\t2
zk_num_alive_connections\t3
zk_avg_latency\t1.7857
zk_outstanding_requests\t0
zk_znode_count\t9
zk_global_sessions\t2
zk_non_mtls_remote_conn_count\t0
zk_last_client_response_size\t16
zk_packets_sent\t30
zk_packets_received\t30
zk_max_client_response_size\t90
zk_connection_drop_probability\t0.0
zk_watch_count\t5
zk_auth_failed_count\t0
zk_min_latency\t0
zk_max_file_descriptor_count\t20000
zk_approximate_data_size\t72
zk_open_file_descriptor_count\t39
zk_local_sessions\t0
zk_uptime\t445
zk_max_latency\t8
zk_outstanding_tls_handshake\t0
zk_min_client_response_size\t16
zk_non_mtls_local_conn_count\t0
zk_proposal_count\t0
zk_watch_bytes\t0
zk_outstanding_changes_removed\t8
"""
ZK_MNTR_LEADER = f"""zk_version\t{ZK_VERSION}
zk_server_state\tleader
zk_peer_state\tleading - broadcast
zk_ephemerals_count\t2
zk_num_alive_connections\t2
zk_avg_latency\t7.5
zk_min_proposal_size\t48
zk_outstanding_requests\t0
zk_znode_count\t7
zk_global_sessions\t2
zk_non_mtls_remote_conn_count\t0
zk_last_client_response_size\t22
zk_packets_sent\t7
zk_packets_received\t9
zk_max_proposal_size\t89
zk_max_client_response_size\t22
zk_synced_followers\t1
zk_connection_drop_probability\t0.0
zk_watch_count\t0
zk_synced_non_voting_followers\t0
zk_synced_observers\t0
zk_auth_failed_count\t0
zk_min_latency\t7
zk_max_file_descriptor_count\t20000
zk_approximate_data_size\t192
zk_open_file_descriptor_count\t42
zk_last_proposal_size\t89
zk_pending_syncs\t0
zk_leader_uptime\t307
zk_local_sessions\t0
zk_uptime\t462
zk_max_latency\t8
zk_outstanding_tls_handshake\t0
zk_learners\t1
zk_min_client_response_size\t22
zk_non_mtls_local_conn_count\t0
zk_quorum_size\t3
zk_proposal_count\t4
"""
ZK_SRVR_LEADER = f"""Zookeeper version: {ZK_VERSION}
Latency min/avg/max: 3/8.5/15
Received: 7
Sent: 6
Connections: 1
Outstanding: 0
Zxid: 0x100000004
Mode: leader
Node count: 6
Proposal sizes last/min/max: 48/48/89
"""
ZK_NOT_SERVING = "This ZooKeeper instance is not currently serving requests\n"
LEADER = ServerStats(
    version=ZK_VERSION, mode="leader", zxid=0x100000004, node_count=6, min_latency_ms=3,
    avg_latency_ms=8.5, max_latency_ms=15, packets_received=7, packets_sent=6,
    connections=(ASKING,), peer_state="leading - broadcast", quorum_size=3, learners=1,
    synced_followers=1, synced_observers=0, pending_syncs=0, proposal_sizes=(48, 48, 89),
)  # fmt: skip


def test_srvr_is_zookeepers_text() -> None:
    assert render("srvr", STANDALONE) == ZK_SRVR


def test_stat_lists_clients_then_a_blank_line() -> None:
    stats = attrs.evolve(STANDALONE, packets_received=29, packets_sent=29)
    assert render("stat", stats) == ZK_STAT


def test_cons_prints_session_fields_only_for_connections_with_a_session() -> None:
    stats = attrs.evolve(STANDALONE, connections=(CONN_B, CONN_A, ASKING))
    assert render("cons", stats) == ZK_CONS


def test_cons_after_crst_drops_lcxid_and_prints_lzxid_minus_one() -> None:
    reset = ConnectionStats(
        address="127.0.0.1", port=54730, session_id=SID_B, established_ms=1795676277556,
        timeout_ms=10000,
    )  # fmt: skip
    stats = attrs.evolve(STANDALONE, connections=(reset, ASKING))
    assert render("cons", stats) == ZK_CONS_AFTER_CRST


def test_fresh_server_answers() -> None:
    # 4 znodes (/, /zookeeper, /zookeeper/quota, /zookeeper/config), root counted twice.
    fresh = ServerStats(
        version=ZK_VERSION, mode="standalone", zxid=0, node_count=4 + 1, packets_received=4,
        packets_sent=3, connections=(ASKING,),
    )  # fmt: skip
    assert render("srvr", fresh) == (
        f"Zookeeper version: {ZK_VERSION}\nLatency min/avg/max: 0/0.0/0\nReceived: 4\nSent: 3\n"
        "Connections: 1\nOutstanding: 0\nZxid: 0x0\nMode: standalone\nNode count: 5\n"
    )
    assert render("cons", fresh) == " /127.0.0.1:54790[0](queued=0,recved=1,sent=0)\n\n"
    assert render("wchs", fresh) == "0 connections watching 0 paths\nTotal watches:0\n"
    assert render("wchc", fresh) == "\n"
    assert render("wchp", fresh) == "\n"
    assert render("dump", fresh) == ZK_FRESH_DUMP
    assert render("hash", fresh) == ""


def test_dump_groups_sessions_and_connections_by_expiry() -> None:
    assert render("dump", STANDALONE) == ZK_DUMP


def test_follower_dump_lists_global_sessions_with_timeouts() -> None:
    follower_conn = ConnectionStats(
        address="127.0.0.1", port=42498, session_id=0x1000018D1530000, expires_ms=1795676492000
    )
    asking = attrs.evolve(ASKING, expires_ms=1795676492000)
    stats = ServerStats(
        version=ZK_VERSION, mode="follower", zxid=0x100000004, node_count=7,
        connections=(follower_conn, asking),
        sessions=[
            SessionEntry(session_id=0x2000018D1770000, timeout_ms=6000, expires_ms=0),
            SessionEntry(session_id=0x1000018D1530000, timeout_ms=12000, expires_ms=0),
        ],
        ephemerals={0x2000018D1770000: ["/l"], 0x1000018D1530000: ["/f"]},
    )  # fmt: skip
    assert render("dump", stats) == ZK_FOLLOWER_DUMP


def _blocks(text: str) -> dict[str, set[str]]:
    """wchc/wchp text as {head line: set of tab-indented lines}."""
    blocks: dict[str, set[str]] = {}
    head = ""
    for line in text.rstrip("\n").split("\n"):
        if line.startswith("\t"):
            blocks[head].add(line)
        else:
            head = line
            blocks[head] = set()
    return blocks


def test_watch_words_match_zookeeper_content_in_sorted_order() -> None:
    assert render("wchs", STANDALONE) == ZK_WCHS
    wchc = render("wchc", STANDALONE)
    wchp = render("wchp", STANDALONE)
    assert _blocks(wchc) == _blocks(ZK_WCHC)
    assert _blocks(wchp) == _blocks(ZK_WCHP)
    assert wchc == (
        "0x1000015bc570000\n\t/app/e1\n\t/nope\n\t/other\n0x1000015bc570001\n\t/other\n\n"
    )
    assert wchp == (
        "/app/e1\n\t0x1000015bc570000\n/nope\n\t0x1000015bc570000\n"
        "/other\n\t0x1000015bc570000\n\t0x1000015bc570001\n\n"
    )


def _pairs(lines: list[str]) -> tuple[tuple[str, str], ...]:
    return tuple((key, value) for key, _, value in (line.partition("=") for line in lines))


def test_conf_standalone_and_quorum_tail() -> None:
    items = _pairs(ZK_CONF.splitlines())
    stats = attrs.evolve(STANDALONE, config=items)
    assert render("conf", stats) == ZK_CONF
    head, _, servers = ZK_QUORUM_CONF_TAIL.partition("membership: \n")
    quorum = attrs.evolve(
        STANDALONE,
        mode="leader",
        config=_pairs(head.splitlines()),
        membership=tuple(servers.splitlines()[:-1]),
    )
    assert render("conf", quorum) == ZK_QUORUM_CONF_TAIL


def test_envi_starts_with_zookeeper_version() -> None:
    items = _pairs(ZK_ENVI.splitlines()[2:])
    assert render("envi", attrs.evolve(STANDALONE, environment=items)) == ZK_ENVI


@pytest.mark.parametrize(
    ("stats", "captured"),
    [
        (attrs.evolve(STANDALONE, packets_received=30, packets_sent=30), ZK_MNTR_STANDALONE),
        (
            attrs.evolve(
                LEADER, connections=(ASKING, CONN_A), ephemerals_count=2, node_count=7,
                global_sessions=2, avg_latency_ms=7.5, min_latency_ms=7, max_latency_ms=8,
                packets_received=9, packets_sent=7, last_client_response_size=22,
                min_client_response_size=22, max_client_response_size=22,
                approximate_data_size=192, open_file_descriptor_count=42,
                max_file_descriptor_count=20000, leader_uptime_ms=307, uptime_ms=462,
                proposal_sizes=(89, 48, 89), synced_non_voting_followers=0,
            ),
            ZK_MNTR_LEADER,
        ),
    ],
    ids=["standalone", "leader"],
)  # fmt: skip
def test_mntr_is_zookeepers_gauge_lines_in_zookeepers_order(
    stats: ServerStats, captured: str
) -> None:
    # Only counters we do not keep are left out (the trimmed summaries aside).
    untracked = ("zk_proposal_count", "zk_watch_bytes", "zk_outstanding_changes_removed")
    kept = [line for line in captured.splitlines() if line.split("\t")[0] not in untracked]
    if stats.mode == "leader":
        # ours adds zk_followers (the name ZooKeeper's docs use) after ZooKeeper's lines
        kept.append(f"zk_followers\t{stats.learners}")
    assert render("mntr", stats) == "".join(f"{line}\n" for line in kept)


def test_mntr_core_keys_follow_the_wire_sheet() -> None:
    keys = [key for key, _ in monitor_values(STANDALONE)]
    assert keys[:2] == ["version", "server_state"]
    core = {
        "avg_latency", "min_latency", "max_latency", "packets_received", "packets_sent",
        "num_alive_connections", "outstanding_requests", "znode_count", "watch_count",
        "ephemerals_count", "approximate_data_size", "open_file_descriptor_count",
        "max_file_descriptor_count", "uptime", "global_sessions", "local_sessions",
        "last_client_response_size", "min_client_response_size", "max_client_response_size",
        "auth_failed_count", "connection_drop_probability", "outstanding_tls_handshake",
        "non_mtls_local_conn_count", "non_mtls_remote_conn_count",
    }  # fmt: skip
    assert core <= set(keys)
    assert "learners" not in keys
    assert "peer_state" not in keys
    assert "quorum_size" not in keys
    follower = attrs.evolve(
        STANDALONE, mode="follower", peer_state="following - broadcast", quorum_size=3
    )
    follower_keys = [key for key, _ in monitor_values(follower)]
    assert follower_keys[:3] == ["version", "server_state", "peer_state"]
    assert follower_keys[-1] == "quorum_size"
    assert "learners" not in follower_keys


def test_leader_srvr_adds_proposal_sizes() -> None:
    assert render("srvr", LEADER) == ZK_SRVR_LEADER
    unknown = attrs.evolve(LEADER, proposal_sizes=None)
    assert render("srvr", unknown).endswith("Proposal sizes last/min/max: -1/-1/-1\n")


def test_read_only_server() -> None:
    # From StatCommand's source (not captured live): the r/o line follows the version.
    ro = attrs.evolve(STANDALONE, mode="read-only")
    lines = render("srvr", ro).splitlines()
    assert lines[1] == "READ-ONLY mode; serving only read-only clients"
    assert lines[-2] == "Mode: read-only"
    assert render("isro", ro) == "ro"
    assert render("isro", STANDALONE) == "rw"


@pytest.mark.parametrize(
    ("word", "answer"),
    [
        ("ruok", "imok"),
        ("dirs", "datadir_size: 67109337\nlogdir_size: 67109337\n"),
        ("crst", "Connection stats reset.\n"),
        ("srst", "Server stats reset.\n"),
        ("gtmk", "0"),
        (TELNET_CLOSE, ""),
    ],
)
def test_simple_words(word: str, answer: str) -> None:
    assert render(word, STANDALONE) == answer


def test_hash_lists_the_digest_log() -> None:
    stats = attrs.evolve(STANDALONE, digest_log=((0x100000080, 3551138419), (0x100000100, 7)))
    assert render("hash", stats) == "100000080: 3551138419\n100000100: 7\n"


# Captured from one server of a two-server ensemble (no quorum, "looking").
NOT_SERVING_ANSWERS = {
    "srvr": ZK_NOT_SERVING, "stat": ZK_NOT_SERVING, "cons": ZK_NOT_SERVING,
    "mntr": ZK_NOT_SERVING, "conf": ZK_NOT_SERVING, "dirs": ZK_NOT_SERVING,
    "wchs": ZK_NOT_SERVING, "wchc": ZK_NOT_SERVING, "wchp": ZK_NOT_SERVING,
    "dump": ZK_NOT_SERVING, "crst": ZK_NOT_SERVING, "srst": ZK_NOT_SERVING,
    "hash": ZK_NOT_SERVING.rstrip("\n"), "isro": "null", "ruok": "imok",
}  # fmt: skip


@pytest.mark.parametrize(("word", "answer"), sorted(NOT_SERVING_ANSWERS.items()))
def test_not_serving(word: str, answer: str) -> None:
    looking = attrs.evolve(STANDALONE, serving=False)
    assert render(word, looking) == answer


def test_envi_still_answers_when_not_serving() -> None:
    assert render("envi", attrs.evolve(STANDALONE, serving=False)).startswith("Environment:\n")


def test_render_rejects_unknown_words() -> None:
    with pytest.raises(ValueError, match="stmk"):
        render("stmk", STANDALONE)


@pytest.mark.parametrize("word", sorted(KNOWN_WORDS - {TELNET_CLOSE}))
def test_word_for_every_word(word: str) -> None:
    assert word_for(word.encode("ascii")) == word
    render(word, STANDALONE)  # every known word renders


def test_word_for_telnet_close() -> None:
    assert word_for(b"\xff\xf4\xff\xfd") == TELNET_CLOSE
    assert render(TELNET_CLOSE, STANDALONE) == ""


@pytest.mark.parametrize(
    "first4",
    [
        (45).to_bytes(4, "big"),  # a ConnectRequest's frame length
        (0).to_bytes(4, "big"),
        b"xyzw",
        b"RUOK",  # case matters: ZooKeeper closes the connection
        b"stmk",  # needs 8 more bytes; not supported
        b"kill",  # removed from ZooKeeper long ago
        b"ruo",
        b"ruokk",
        b"\x00ruok",  # the value of "ruok", but not 4 bytes
        b"",
    ],
)
def test_word_for_non_words(first4: bytes) -> None:
    assert word_for(first4) is None


@pytest.mark.parametrize("word", ["ruok", "stat", "isro", "wchs", "mntr", TELNET_CLOSE])
def test_not_whitelisted_is_zookeepers_text(word: str) -> None:
    # Captured with 4lw.commands.whitelist=srvr, e.g. for the telnet close sequence:
    captured = {TELNET_CLOSE: "telnet close is not executed because it is not in the whitelist.\n"}
    expected = captured.get(word, f"{word} is not executed because it is not in the whitelist.\n")
    assert not_whitelisted(word) == expected


def test_parse_whitelist() -> None:
    assert parse_whitelist(None) == {"srvr"}
    assert parse_whitelist("") == {"srvr"}
    assert parse_whitelist(" ruok , stat,,") == {"ruok", "stat", "srvr"}
    assert parse_whitelist("*") == KNOWN_WORDS
    assert parse_whitelist("ruok", read_only_enabled=True) == {"ruok", "srvr", "isro"}


@pytest.mark.parametrize(
    ("version", "parsed"),
    [(ZABKEEPER_VERSION, (3, 8, 0)), (ZK_VERSION, (3, 8, 0)), ("3.9.2-zabkeeper", (3, 9, 2))],
)
def test_kazoo_server_version_parses_our_envi(version: str, parsed: tuple[int, ...]) -> None:
    """kazoo's server_version() sends ``envi`` and reads ``zookeeper.version``'s digits."""
    stats = attrs.evolve(STANDALONE, version=version)
    client = KazooClient()
    client.command = lambda cmd=b"ruok": render(cmd.decode("ascii"), stats)
    assert client.server_version() == parsed
    # The regex kazoo applies to zookeeper.version, applied to our srvr line's version.
    first = render("srvr", stats).splitlines()[0]
    assert first.startswith("Zookeeper version: ")
    digits = ENVI_VERSION.match(first.removeprefix("Zookeeper version: "))
    assert digits is not None
    assert tuple(int(d) for d in digits.group(1).split(".")) == parsed


def test_zabkeeper_version_string() -> None:
    assert f"3.8.0-zabkeeper-{__version__}" == ZABKEEPER_VERSION
    assert render("srvr", attrs.evolve(STANDALONE, version=ZABKEEPER_VERSION)).startswith(
        f"Zookeeper version: {ZABKEEPER_VERSION}\n"
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0, "0.0"),
        (1.7857, "1.7857"),
        (8.5, "8.5"),
        (15.0, "15.0"),
        (0.001, "0.001"),
        (0.0005, "5.0E-4"),
        (1e7, "1.0E7"),
        (12345678.9, "1.23456789E7"),
        (-2.5e-5, "-2.5E-5"),
    ],
)
def test_java_double(value: float, text: str) -> None:
    assert java_double(value) == text


@pytest.mark.parametrize(
    ("mean", "rounded"),
    [
        (50 / 28, 1.7857),
        (25 / 3, 8.3333),
        (0.12344999, 0.1234),
        (2.0, 2.0),
        (1 / 32, 0.0313),  # exactly 0.03125: half up, not half even
        (5 / 32, 0.1563),  # exactly 0.15625
    ],
)
def test_zk_average_rounds_half_up_to_four_places(mean: float, rounded: float) -> None:
    assert zk_average(mean) == rounded


def test_java_date() -> None:
    assert java_date(1795676288000) == "Thu Nov 26 06:58:08 UTC 2026"
    assert java_date(0) == "Thu Jan 01 00:00:00 UTC 1970"


def test_snapshot_is_a_sorted_hashable_value() -> None:
    a = attrs.evolve(STANDALONE, watches_by_session={2: ["/b", "/a"], 1: ("/a",)})
    b = attrs.evolve(STANDALONE, watches_by_session=[(1, ["/a"]), (2, ("/a", "/b"))])
    assert a == b
    assert hash(a) == hash(b)
    assert a.watches_by_session == ((1, ("/a",)), (2, ("/a", "/b")))
    assert a.watches_by_path == (("/a", (1, 2)), ("/b", (2,)))
    assert [s.session_id for s in STANDALONE.sessions] == [SID_A, SID_B]


def test_ipv6_addresses_are_bracketed() -> None:
    conn = ConnectionStats(address="::1", port=2181)
    stats = attrs.evolve(STANDALONE, connections=(conn,))
    assert " /[::1]:2181[0](queued=0,recved=0,sent=0)\n" in render("stat", stats)


def _shape(text: str) -> list[str]:
    """Lines with numbers, hex and dates blanked, sorted (connection order is hash order)."""
    text = re.sub(r"0x[0-9a-f]+", "HEX", text)
    text = re.sub(r"lop=[A-Z]+", "lop=OP", text)
    text = re.sub(r"\d+(\.\d+)*", "N", text)
    return sorted(text.splitlines())


@pytest.mark.interop
def test_live_zookeeper_has_the_same_shapes() -> None:
    """Re-capture from a live ZooKeeper 3.8 and compare line shapes with ours."""
    require_apache_zookeeper()
    with ApacheZooKeeper() as zk:
        clients = [KazooClient(hosts=zk.hosts) for _ in range(2)]
        for client in clients:
            client.start()
        try:
            clients[0].create("/e", b"x", ephemeral=True)
            clients[0].get("/e", watch=lambda event: None)
            clients[1].exists("/e", watch=lambda event: None)
            answers = {w: four_letter_word(zk.port, w) for w in ("srvr", "stat", "cons", "wchs")}
            answers["wchp"] = four_letter_word(zk.port, "wchp")
            answers["dirs"] = four_letter_word(zk.port, "dirs")
            mntr = four_letter_word(zk.port, "mntr")
            zk_version = four_letter_word(zk.port, "srvr").splitlines()[0].split(": ", 1)[1]
        finally:
            for client in clients:
                client.stop()
                client.close()
    ours = ServerStats(
        version=zk_version,
        mode="standalone",
        zxid=2,
        node_count=6,
        avg_latency_ms=1.5,
        connections=(ASKING, CONN_A, CONN_B),
        watches_by_session={SID_A: ["/e"], SID_B: ["/e"]},
    )
    for word, answer in answers.items():
        assert _shape(render(word, ours)) == _shape(answer), word
    zk_keys = [line.split("\t")[0] for line in mntr.splitlines()]
    our_keys = [line.split("\t")[0] for line in render("mntr", ours).splitlines()]
    assert [key for key in zk_keys if key in our_keys] == our_keys
