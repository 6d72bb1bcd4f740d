"""Durable storage: the transaction log, snapshots, and recovery."""
