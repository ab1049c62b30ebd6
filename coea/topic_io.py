"""Reading a topic to its end: the one rule the learner's catalogue, the table readers and
`coea status` share."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from coea.security import kafka_python_options
from coea.settings import Settings


def read_to_end(
    settings: Settings,
    topic: str,
    timeout_s: float = 30.0,
    isolation_level: str = "read_uncommitted",
) -> Iterator[Any]:
    """Every record of every partition of `topic`, from the beginning up to the end offsets
    at the call (kafka-python ConsumerRecords, in offset order per partition).

    With ``isolation_level="read_committed"`` records of aborted transactions are skipped and
    the end is the last stable offset: an open transaction is where reading stops.

    No consumer group is joined and nothing is committed. Raises TimeoutError when the end is
    not reached within `timeout_s` (the records before it have been yielded).
    """
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        enable_auto_commit=False,
        group_id=None,
        isolation_level=isolation_level,
        **kafka_python_options(settings),
    )
    try:
        parts = sorted(consumer.partitions_for_topic(topic) or [])
        tps = [TopicPartition(topic, p) for p in parts]
        if not tps:
            return
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)  # read_committed: the last stable offsets
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < end[tp] for tp in tps):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic} not read to its end within {timeout_s}s")
            for msgs in consumer.poll(timeout_ms=500).values():
                yield from msgs
    finally:
        consumer.close()
