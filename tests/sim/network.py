"""The simulated network: a heap of deliveries, partitions, and two channel models.

* ``chaos``: any packet may be dropped, duplicated or reordered (random delays). ZAB must
  stay safe; it need not make progress.
* ``fifo``: each directed link delivers in order. Losing a packet (a drop or a partition)
  resets the link: both ends are told ``link_lost``, as a broken TCP connection would.
"""

from __future__ import annotations

import heapq
import random
from typing import Any

import attrs


@attrs.frozen
class Delivery:
    src: int
    dst: int
    message: Any
    attachment: Any = None  # a SNAP's state travels with the packet


class Network:
    """Owned by the simulator; every random choice comes from ``rng``."""

    def __init__(self, rng: random.Random, options: Any) -> None:
        self.rng = rng
        self.options = options
        self.queue: list[tuple[int, int, Delivery]] = []
        self.seq = 0
        self.cut_links: set[tuple[int, int]] = set()
        self.link_clock: dict[tuple[int, int], int] = {}  # fifo: last scheduled tick
        self.link_generation: dict[tuple[int, int], int] = {}
        self.resets: list[tuple[int, int]] = []  # (a, b): tell both ends the link broke
        self.calm = False  # faults off: no loss, no duplicates, FIFO links

    def cut(self, a: int, b: int) -> None:
        self.cut_links |= {(a, b), (b, a)}
        self._reset(a, b)

    def isolate(self, node: int, nodes: list[int]) -> None:
        for other in nodes:
            if other != node:
                self.cut(node, other)

    def heal(self) -> None:
        self.cut_links.clear()

    def _reset(self, a: int, b: int) -> None:
        for link in ((a, b), (b, a)):
            self.link_generation[link] = self.link_generation.get(link, 0) + 1
        self.resets.append((a, b))

    def send(self, now: int, src: int, dst: int, message: Any, attachment: Any = None) -> None:
        options = self.options
        link = (src, dst)
        if link in self.cut_links:
            if options.mode == "fifo":
                self._reset(src, dst)
            return
        fifo = options.mode == "fifo" or self.calm
        if not self.calm and self.rng.random() < options.drop:
            if options.mode == "fifo":
                self._reset(src, dst)
            return
        chaotic = options.mode == "chaos" and not self.calm
        copies = 2 if chaotic and self.rng.random() < options.duplicate else 1
        for _ in range(copies):
            delay = options.delay_min + int(self.rng.expovariate(1.0 / options.delay_mean))
            when = now + delay
            if fifo:
                when = max(when, self.link_clock.get(link, 0))
                self.link_clock[link] = when
            self.seq += 1
            generation = self.link_generation.get(link, 0)
            heapq.heappush(
                self.queue, (when, self.seq, Delivery(src, dst, (generation, message), attachment))
            )

    def due(self, now: int) -> list[Delivery]:
        """Deliveries due at ``now``; packets of a reset FIFO link are discarded."""
        out = []
        while self.queue and self.queue[0][0] <= now:
            _, _, delivery = heapq.heappop(self.queue)
            generation, message = delivery.message
            link = (delivery.src, delivery.dst)
            if self.options.mode == "fifo" and generation != self.link_generation.get(link, 0):
                continue
            if link in self.cut_links:
                continue
            out.append(attrs.evolve(delivery, message=message))
        return out

    def drop_node(self, node: int, nodes: list[int]) -> None:
        """A crashed node's links break: nothing in flight to or from it arrives."""
        for other in nodes:
            if other != node:
                for link in ((node, other), (other, node)):
                    self.link_generation[link] = self.link_generation.get(link, 0) + 1
        self.queue = [(w, s, d) for w, s, d in self.queue if node not in (d.src, d.dst)]
        heapq.heapify(self.queue)
