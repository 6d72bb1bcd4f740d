"""Server-wide counters for the four-letter words and metrics, and ZooKeeper's op names."""

from __future__ import annotations

from znode.opcodes import OpCode

#: ZooKeeper's four-character names of ops, shown by ``cons``.
OP_NAMES: dict[int, str] = {
    OpCode.CREATE: "CREA",
    OpCode.CREATE2: "CREA",
    OpCode.CREATE_CONTAINER: "CREA",
    OpCode.CREATE_TTL: "CREA",
    OpCode.DELETE: "DELE",
    OpCode.EXISTS: "EXIS",
    OpCode.GET_DATA: "GETD",
    OpCode.SET_DATA: "SETD",
    OpCode.GET_ACL: "GETA",
    OpCode.SET_ACL: "SETA",
    OpCode.GET_CHILDREN: "GETC",
    OpCode.GET_CHILDREN2: "GETC",
    OpCode.SYNC: "SYNC",
    OpCode.PING: "PING",
    OpCode.MULTI: "MULT",
    OpCode.MULTI_READ: "MLTR",
    OpCode.CLOSE_SESSION: "CLOS",
    OpCode.SET_WATCHES: "SETW",
    OpCode.SET_WATCHES2: "STW2",
    OpCode.ADD_WATCH: "ADDW",
    OpCode.CHECK_WATCHES: "CHKW",
    OpCode.REMOVE_WATCHES: "REMW",
    OpCode.GET_EPHEMERALS: "GETE",
    OpCode.GET_ALL_CHILDREN_NUMBER: "GETACN",
    OpCode.WHO_AM_I: "HOMI",
    OpCode.RECONFIG: "RECO",
    OpCode.SASL: "SASL",
    OpCode.AUTH: "AUTH",
}


class CoreStats:
    """Server-wide counters for the four-letter words and metrics."""

    def __init__(self) -> None:
        self.reset()
        self.txns_applied = 0
        self.sessions_expired = 0
        self.auth_failed = 0

    def reset(self) -> None:
        self.received = 0
        self.sent = 0
        self.min_latency = 0
        self.max_latency = 0
        self.total_latency = 0
        self.latency_count = 0

    def record_latency(self, latency: int) -> None:
        if self.latency_count == 0 or latency < self.min_latency:
            self.min_latency = latency
        self.max_latency = max(self.max_latency, latency)
        self.total_latency += latency
        self.latency_count += 1
