"""Liveness and readiness decisions (pure: the processes gather the facts, these decide).

Each returns the JSON body of the probe; ``ok`` says 200 (true) or 503 (false).
"""

from __future__ import annotations

from typing import Any


def worker_live(running: bool, crashed: bool) -> dict[str, Any]:
    """Live while the app's services run and none crashed (the event loop answers the probe)."""
    return {"ok": running and not crashed, "running": running, "crashed": crashed}


def worker_ready(
    live: bool, assigned: int, recovery_completed: bool, rebalancing: bool
) -> dict[str, Any]:
    """Ready when partitions are assigned, their tables recovered from the changelogs, and
    no rebalance is in progress."""
    ok = live and assigned > 0 and recovery_completed and not rebalancing
    return {
        "ok": ok,
        "assigned_partitions": assigned,
        "recovery_completed": recovery_completed,
        "rebalancing": rebalancing,
    }


def learner_live(
    now: float, last_tick: float, cycle_started: float | None, timeout_s: float
) -> dict[str, Any]:
    """Live while the poll loop turned in the last `timeout_s` seconds, or a cycle is running
    (training does not turn the loop; the cycle's start time is reported)."""
    since = now - last_tick
    in_cycle = cycle_started is not None
    return {
        "ok": in_cycle or since <= timeout_s,
        "seconds_since_poll": round(since, 3),
        "in_cycle": in_cycle,
        "cycle_running_s": round(now - cycle_started, 3) if in_cycle else None,
    }


def learner_ready(version: int, unpublished: bool) -> dict[str, Any]:
    """Ready when a complete table version is published (restored or from a new cycle) and
    no cycle is waiting to be published again."""
    return {"ok": version > 0 and not unpublished, "table_version": version or None}
