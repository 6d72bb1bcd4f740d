"""Our DataTree + prepare against Apache ZooKeeper 3.8, op by op, from seeded sequences."""

from __future__ import annotations

import os

import pytest

from support.apache_zk import ApacheZooKeeper, require_apache_zookeeper
from support.differential import KazooTarget, ModelTarget, compare_runs

pytestmark = pytest.mark.interop

SEEDS = [int(s) for s in os.environ.get("ZABKEEPER_DIFF_SEEDS", "1,2,3,4,5").split(",")]
OPS = int(os.environ.get("ZABKEEPER_DIFF_OPS", "2000"))


@pytest.mark.parametrize("seed", SEEDS)
def test_model_matches_apache_zookeeper(seed: int) -> None:
    require_apache_zookeeper()
    with ApacheZooKeeper() as zk:
        reference = KazooTarget(zk.hosts)
        try:
            model = ModelTarget()
            compare_runs(seed, OPS, reference, model, model.tree)
        finally:
            reference.close()
