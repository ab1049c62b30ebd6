"""What the worker does when a rebalance revokes partitions: per-partition process state
(`stream_app.stats`) is dropped for the revoked events partitions."""

from __future__ import annotations

from typing import Any

from stream_app.app import app
from stream_app.stats import forget_partitions
from stream_app.topics import events_topic


def revoked_events_partitions(revoked: Any, topic: str) -> list[int]:
    """The partitions of ``topic`` among the revoked topic-partitions."""
    return sorted(tp.partition for tp in revoked if tp.topic == topic)


@app.on_partitions_revoked.connect
async def forget_revoked(sender: Any, revoked: Any, **kwargs: Any) -> None:
    partitions = revoked_events_partitions(revoked, events_topic.get_topic_name())
    if partitions:
        forget_partitions(partitions)
        sender.log.info("rebalance: forgot process state of events partitions %s", partitions)
