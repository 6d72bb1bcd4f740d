"""Deterministic simulation of a ZAB ensemble: the contract.

One process drives 3-5 voters (and sometimes an observer), each a real ``zab.Peer`` with a
simulated disk and a real ``znode.DataTree`` as its state machine, from one seed
(``SimOptions.from_seed``): every run is reproduced exactly by its seed.

Faults (drawn from the seed):

* network, *chaos* mode: packets dropped, duplicated and reordered (random delays);
* network, *fifo* mode: in-order links; a lost packet resets the link and both ends get
  ``link_lost``, as with TCP;
* partitions: a link cut, or a node isolated, then healed;
* crashes at any moment — in particular between receiving, logging, acknowledging and
  applying during DIFF / TRUNC / SNAP — losing every write not yet fsynced; restarts
  rebuild the peer from its durable state only (epochs, log, snapshot);
* slow fsyncs (a random number of ticks, in order); local snapshots that drop old log.

Checkers, after every step (``checkers.py``):

* at most one established leader per epoch;
* applied histories are prefixes of one committed sequence (no divergence, no gaps),
  with strictly increasing zxids;
* primary integrity: a leader entering broadcast holds every txn committed before;
* epochs never go back across crashes, and current <= accepted;
* no truncation below what a node already applied;
* equal applied zxid implies an equal tree digest;
* every acknowledged client write survives.

Then a calm phase (no faults, FIFO links, all nodes up): within a bound a single leader
is established, every client write completes (clients retry after a loss), and every
node catches up (liveness, as virtraft's deadlock check).

``pytest tests/sim --sim-seed N`` replays one run and prints its one-line-per-event trace.
"""
