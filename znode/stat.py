"""The ``Stat`` record a client sees for a znode."""

from __future__ import annotations

from typing import NamedTuple


class Stat(NamedTuple):
    """A znode's metadata, fields in jute order (68 bytes on the wire).

    A NamedTuple rather than an attrs class: it is built on every read and write, and a
    tuple in jute order encodes with a single ``struct.pack``.
    """

    czxid: int
    mzxid: int
    ctime: int
    mtime: int
    version: int
    cversion: int
    aversion: int
    ephemeral_owner: int
    data_length: int
    num_children: int
    pzxid: int
