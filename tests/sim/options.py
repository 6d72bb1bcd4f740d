"""Simulation parameters, all drawn from the seed (printed first on every failure)."""

from __future__ import annotations

import random

import attrs


@attrs.frozen(kw_only=True)
class SimOptions:
    """What one simulated run looks like. ``from_seed`` makes a run reproducible."""

    seed: int
    voters: int
    observers: int
    mode: str  # "chaos": drop/duplicate/reorder anything; "fifo": loss resets the link
    delay_min: int
    delay_mean: int
    drop: float
    duplicate: float
    partition_rate: float  # per tick: start a partition
    heal_rate: float  # per tick: heal all partitions
    crash_rate: float  # per tick per node
    restart_rate: float  # per tick per down node
    fsync_max: int  # ticks an fsync may take
    client_rate: float  # per tick: a client write
    fault_steps: int
    calm_steps: int

    @classmethod
    def from_seed(cls, seed: int, *, steps: int | None = None) -> SimOptions:
        rng = random.Random(seed)
        mode = rng.choice(["fifo", "fifo", "chaos"])
        return cls(
            seed=seed,
            voters=rng.choice([3, 3, 4, 5]),
            observers=rng.choice([0, 0, 1]),
            mode=mode,
            delay_min=rng.randint(1, 2),
            delay_mean=rng.randint(1, 6),
            drop=rng.choice([0.0, 0.01, 0.05]) if mode == "chaos" else rng.choice([0.0, 0.002]),
            duplicate=rng.choice([0.0, 0.02, 0.1]) if mode == "chaos" else 0.0,
            partition_rate=rng.choice([0.0, 0.002, 0.01]),
            heal_rate=rng.choice([0.02, 0.05]),
            crash_rate=rng.choice([0.0, 0.001, 0.004, 0.01]),
            restart_rate=rng.choice([0.02, 0.1]),
            fsync_max=rng.choice([rng.randint(1, 8), rng.randint(1, 8), 40, 150]),
            client_rate=rng.choice([0.05, 0.2, 0.5]),
            fault_steps=steps if steps is not None else rng.randint(1500, 4000),
            calm_steps=3000,
        )
