"""The differential op sequence through a three-server zabkeeper ensemble, against Apache
ZooKeeper.

The three kazoo clients of the sequence are spread over the three members (client k on
server k+1 only), so writes are forwarded to the leader from followers and reads are
answered by different members. ZooKeeper promises each client its own order, not a
global one, so whenever the sequence switches to another client, that client first
sends ``sync`` — after which its member has applied every write acknowledged before,
and its answers must equal the reference's exactly.

The reference is Apache ZooKeeper 3.8 run the same way, as a three-server ensemble
(``ZABKEEPER_DIFF_REFERENCE=standalone`` uses one standalone server instead). Ensemble
zxids carry the epoch in their high 32 bits; both sides' zxids are reduced to the counter
within the epoch the run happens in (a zxid of any other epoch is left as it is, and so
would show up as a difference).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

import pytest
from kazoo.client import KazooClient
from kazoo.protocol.states import ZnodeStat

from support.apache_zk import SUPER_DIGEST, ApacheZooKeeper, require_apache_zookeeper
from support.differential import (
    CLIENT_AUTH,
    KazooTarget,
    ModelTarget,
    Result,
    compare_runs,
)
from support.ensemble_proc import ApacheZooKeeperEnsemble, EnsembleBase, ZabkeeperEnsemble
from znode.records import MultiRequest, Request

pytestmark = pytest.mark.interop

SEEDS = [int(s) for s in os.environ.get("ZABKEEPER_DIFF_ENSEMBLE_SEEDS", "21,22,23").split(",")]
OPS = int(os.environ.get("ZABKEEPER_DIFF_OPS", "2000"))
REFERENCE = os.environ.get("ZABKEEPER_DIFF_REFERENCE", "ensemble")
# An ensemble member publishes its membership in this node (data, and a version of -1):
# see test_config_node_and_conf_match_apache_zookeeper. The two ensembles listen on
# different ports (and a standalone reference publishes nothing), so ops on the node (and
# multis naming it) are skipped on every side, lest that hide every other difference.
CONFIG_NODE = "/zookeeper/config"
SKIPPED: Result = ("skipped", CONFIG_NODE)

# configured as the reference is: a super user, no background container reaping
SAME_AS_REFERENCE = {
    "zookeeper.DigestAuthenticationProvider.superDigest": SUPER_DIGEST,
    "znode.container.checkIntervalMs": "2147483647",
}


class SpreadTarget(KazooTarget):
    """A :class:`KazooTarget` whose client k talks to ``hosts[k]`` only, syncing when the
    sequence switches clients, with zxids reduced to their counter in ``epoch``."""

    def __init__(self, hosts: list[str], *, skip_config: bool) -> None:
        assert len(hosts) == len(CLIENT_AUTH)
        self.skip_config = skip_config
        self.clients: list[KazooClient] = []
        self.owners: dict[int, str] = {}
        for number, auth in enumerate(CLIENT_AUTH):
            client = KazooClient(
                hosts=hosts[number],
                timeout=30.0,
                auth_data=[(s, c.decode()) for s, c in auth],
            )
            client.start(timeout=30)
            self.clients.append(client)
            self.owners[client.client_id[0]] = f"client{number}"
        self.last_client: int | None = None
        self.epoch = 0
        self.syncs = 0
        self.skipped = 0

    def execute(self, client: int, op: int, req: Request) -> Result:
        if self.skip_config and _touches_config(req):
            self.skipped += 1
            return SKIPPED
        if client != self.last_client:
            self.clients[client].sync("/")
            self.syncs += 1
            self.last_client = client
        return super().execute(client, op, req)

    def close_client(self, client: int) -> None:
        super().close_client(client)
        self.last_client = None  # the close went through this client's member

    def _zxid(self, zxid: int) -> int:
        return zxid & 0xFFFFFFFF if zxid >> 32 == self.epoch else zxid

    def _strip(self, value: Any) -> Any:
        if isinstance(value, ZnodeStat):
            return value._replace(
                czxid=self._zxid(value.czxid),
                mzxid=self._zxid(value.mzxid),
                pzxid=self._zxid(value.pzxid),
            )
        if type(value) is tuple:
            return tuple(self._strip(v) for v in value)
        if type(value) is list:
            return [self._strip(v) for v in value]
        return value

    def _norm(self, op: int, value: Any) -> Any:
        return super()._norm(op, self._strip(value))


def _touches_config(req: Request) -> bool:
    if isinstance(req, MultiRequest):
        return any(_touches_config(sub.request) for sub in req.ops)
    return getattr(req, "path", None) == CONFIG_NODE


class ShadowedTarget:
    """The candidate, with the model run alongside to steer the op generator."""

    def __init__(self, candidate: SpreadTarget, model: ModelTarget) -> None:
        self.candidate = candidate
        self.model = model

    def execute(self, client: int, op: int, req: Request) -> Result:
        if self.candidate.skip_config and _touches_config(req):
            return SKIPPED
        self.model.execute(client, op, req)
        return self.candidate.execute(client, op, req)

    def close_client(self, client: int) -> None:
        self.model.close_client(client)
        self.candidate.close_client(client)


def spread(ensemble: EnsembleBase, *, skip_config: bool) -> SpreadTarget:
    """Client k on member k+1; the run's epoch from the leader once the sessions exist."""
    ids = ensemble.ids
    hosts = [ensemble.hosts([ids[k % len(ids)]]) for k in range(len(CLIENT_AUTH))]
    target = SpreadTarget(hosts, skip_config=skip_config)
    leader = ensemble.wait_for_quorum()
    zxid = ensemble.srvr(leader)[1]
    assert zxid is not None
    target.epoch = zxid >> 32
    return target


def leader_and_epoch(ensemble: EnsembleBase) -> tuple[int, int]:
    leader = ensemble.wait_for_quorum()
    zxid = ensemble.srvr(leader)[1]
    assert zxid is not None
    return leader, zxid >> 32


@pytest.mark.parametrize("seed", SEEDS)
def test_ensemble_matches_apache_zookeeper(seed: int) -> None:
    require_apache_zookeeper()
    ours = ZabkeeperEnsemble(3, extra_config=SAME_AS_REFERENCE)
    reference_ensemble = ApacheZooKeeperEnsemble(3) if REFERENCE == "ensemble" else None
    reference_server = ApacheZooKeeper() if REFERENCE != "ensemble" else None
    targets: list[KazooTarget] = []
    try:
        # start both at once: the JVMs' start-up overlaps our election
        if reference_ensemble is not None:
            for sid in reference_ensemble.ids:
                reference_ensemble.start_member(sid)
        for sid in ours.ids:
            ours.start_member(sid)
        if reference_server is not None:
            reference_server.start()
        ours.wait_for_quorum()

        candidate = spread(ours, skip_config=True)
        targets.append(candidate)
        if reference_ensemble is not None:
            reference_ensemble.wait_for_quorum()
            reference: KazooTarget = spread(reference_ensemble, skip_config=True)
        else:
            assert reference_server is not None
            hosts = [reference_server.hosts] * len(CLIENT_AUTH)
            reference = SpreadTarget(hosts, skip_config=True)  # a standalone: empty config
        targets.append(reference)
        before = leader_and_epoch(ours)
        model = ModelTarget()
        try:
            compare_runs(seed, OPS, reference, ShadowedTarget(candidate, model), model.tree)
        except AssertionError as exc:
            after = leader_and_epoch(ours)
            raise AssertionError(
                f"{exc}\n(our leader and epoch before {before}, after {after})\n"
                + ours.diagnostics(lines=15)
            ) from None
        # the whole run happened under one leader, in one epoch
        assert leader_and_epoch(ours) == before
        assert candidate.syncs > OPS // 10  # the clients did take turns
    finally:
        for target in targets:
            target.close()
        ours.close()
        if reference_ensemble is not None:
            reference_ensemble.close()
        if reference_server is not None:
            reference_server.stop()


# --- what an ensemble member says about the ensemble -----------------------------------------


def _tokens(ensemble: EnsembleBase) -> Callable[[str], str]:
    """Replace each member's ports in a text by names (the two ensembles' ports differ)."""
    names = {}
    for m in ensemble.members.values():
        names[str(m.client_port)] = f"<client{m.id}>"
        names[str(m.quorum_port)] = f"<quorum{m.id}>"
        names[str(m.election_port)] = f"<election{m.id}>"
    return lambda text: re.sub(r"\b\d{4,5}\b", lambda x: names.get(x[0], x[0]), text)


def _config_node(ensemble: EnsembleBase, sid: int) -> tuple[str, tuple[int, ...]]:
    zk = KazooClient(hosts=ensemble.hosts([sid]))
    zk.start(timeout=30)
    try:
        data, stat = zk.get(CONFIG_NODE)
    finally:
        zk.stop()
        zk.close()
    assert stat.dataLength == len(data)
    fields = (stat.czxid, stat.mzxid, stat.version, stat.cversion, stat.aversion)
    return _tokens(ensemble)(data.decode()), (*fields, stat.numChildren, stat.pzxid)


def _conf_tail(ensemble: EnsembleBase, sid: int) -> str:
    """``conf`` from ``serverId`` on: the ensemble part (the start names local paths)."""
    text = ensemble.four_letter(sid, "conf")
    return _tokens(ensemble)(text[text.index("serverId=") :])


def test_config_node_and_conf_match_apache_zookeeper() -> None:
    """Each member shows the membership, as ZooKeeper 3.8 does: in /zookeeper/config (what
    ``getConfig`` and zkCli's ``config`` read) and in ``conf``."""
    require_apache_zookeeper()
    ours = ZabkeeperEnsemble(3, observers=1)
    reference = ApacheZooKeeperEnsemble(3, observers=1)
    try:
        for ensemble in (reference, ours):
            for sid in ensemble.ids:
                ensemble.start_member(sid)
        ours.wait_for_quorum()
        reference.wait_for_quorum()
        shown = {
            name: {
                sid: {"config node": _config_node(e, sid), "conf": _conf_tail(e, sid)}
                for sid in (1, 4)  # a voter and the observer
            }
            for name, e in (("ours", ours), ("apache", reference))
        }
        assert shown["ours"] == shown["apache"]
    finally:
        ours.close()
        reference.close()
