"""PeerLinks between two members on loopback: delivery, loss and reconnection."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio

from server.peer_links import LinkLost, PeerAddress, PeerLinks, Received
from server.testing import free_ports
from zab.messages import Ping


class Inbox:
    """What one member's links delivered, with a way to wait for the next event."""

    def __init__(self) -> None:
        self.events: list[object] = []
        self.changed = trio.Event()

    def __call__(self, event: object) -> None:
        self.events.append(event)
        self.changed.set()
        self.changed = trio.Event()

    async def wait_for(self, wanted: object) -> None:
        with trio.fail_after(10):
            while wanted not in self.events:
                await self.changed.wait()


@pytest.fixture
async def pair() -> AsyncIterator[tuple[PeerLinks, Inbox, PeerLinks, Inbox]]:
    ports = free_ports(4)
    one = PeerAddress("127.0.0.1", ports[0], ports[1])
    two = PeerAddress("127.0.0.1", ports[2], ports[3])
    inbox1, inbox2 = Inbox(), Inbox()
    links1 = PeerLinks(1, {2: two}, inbox1, bind_host="127.0.0.1", my_address=one)
    links2 = PeerLinks(2, {1: one}, inbox2, bind_host="127.0.0.1", my_address=two)
    async with trio.open_nursery() as nursery:
        await nursery.start(links1.run)
        await nursery.start(links2.run)
        yield links1, inbox1, links2, inbox2
        nursery.cancel_scope.cancel()


async def wait_connected(links: PeerLinks, peer: int) -> None:
    # Nothing signals a link coming up (the quorum loop never needs to know): poll.
    with trio.fail_after(10):
        while not links.connected(peer):  # noqa: ASYNC110
            await trio.sleep(0.01)


async def test_packets_arrive_in_order_both_ways(
    pair: tuple[PeerLinks, Inbox, PeerLinks, Inbox],
) -> None:
    links1, inbox1, links2, inbox2 = pair
    await wait_connected(links1, 2)
    await wait_connected(links2, 1)
    for n in range(5):
        links2.send(1, Ping(n))
        links1.send(2, Ping(100 + n))
    await inbox1.wait_for(Received(2, Ping(4)))
    await inbox2.wait_for(Received(1, Ping(104)))
    assert [e for e in inbox1.events if isinstance(e, Received)] == [
        Received(2, Ping(n)) for n in range(5)
    ]
    assert [e for e in inbox2.events if isinstance(e, Received)] == [
        Received(1, Ping(100 + n)) for n in range(5)
    ]


async def test_dropping_quorum_links_tells_the_other_side_and_they_come_back(
    pair: tuple[PeerLinks, Inbox, PeerLinks, Inbox],
) -> None:
    links1, inbox1, links2, inbox2 = pair
    await wait_connected(links1, 2)
    await wait_connected(links2, 1)
    # The accepting side (smaller id) drops: the connector notices at once.
    links1.drop_quorum_links("stopped leading")
    await inbox2.wait_for(LinkLost(1))
    await inbox1.wait_for(LinkLost(2))
    await wait_connected(links1, 2)
    await wait_connected(links2, 1)
    links2.send(1, Ping(7))
    await inbox1.wait_for(Received(2, Ping(7)))
