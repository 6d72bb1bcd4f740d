"""The differential op sequence through our server and through Apache ZooKeeper, via kazoo."""

from __future__ import annotations

import os

import pytest

from support.apache_zk import SUPER_DIGEST, ApacheZooKeeper, require_apache_zookeeper
from support.differential import KazooTarget, ModelTarget, OpGenerator, Result, describe
from support.zabkeeper_proc import ZabkeeperServer
from znode.records import Request

pytestmark = pytest.mark.interop

SEEDS = [int(s) for s in os.environ.get("ZABKEEPER_DIFF_SEEDS", "11,12,13").split(",")]
OPS = int(os.environ.get("ZABKEEPER_DIFF_OPS", "2000"))


class ShadowedTarget:
    """Our server, with the model run alongside to steer the op generator."""

    def __init__(self, server: KazooTarget, model: ModelTarget) -> None:
        self.server = server
        self.model = model

    def execute(self, client: int, op: int, req: Request) -> Result:
        self.model.execute(client, op, req)
        return self.server.execute(client, op, req)


@pytest.mark.parametrize("seed", SEEDS)
def test_server_matches_apache_zookeeper(seed: int) -> None:
    require_apache_zookeeper()
    # configured as the reference is: a super user, no background container reaping
    same_as_reference = {
        "zookeeper.DigestAuthenticationProvider.superDigest": SUPER_DIGEST,
        "znode.container.checkIntervalMs": "2147483647",
    }
    with ApacheZooKeeper() as zk, ZabkeeperServer(extra_config=same_as_reference) as ours:
        reference = KazooTarget(zk.hosts)
        candidate = KazooTarget(ours.hosts)
        model = ModelTarget()
        shadowed = ShadowedTarget(candidate, model)
        try:
            generator = OpGenerator(seed, model.tree)
            for index in range(OPS):
                op = generator.next_op()
                want = reference.execute(*op)
                got = shadowed.execute(*op)
                assert got == want, f"seed {seed}: op #{index} diverged: {describe(op)}"
        finally:
            reference.close()
            candidate.close()
