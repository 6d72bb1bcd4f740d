"""ZAB as a pure state machine: election, discovery, synchronization, broadcast."""
