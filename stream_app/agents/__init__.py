"""Agents: `ingest` (events -> user state, DLQ, training windows), `catalogue` (items)."""
