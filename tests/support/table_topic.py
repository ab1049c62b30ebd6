"""Read the novel-category table topic with kafka-python only (tests' independent reader)."""

from __future__ import annotations

from kafka import KafkaConsumer, TopicPartition


def latest_values(bootstrap: str, topic: str) -> dict[str, bytes | None]:
    """The latest value of every record key on partition 0, read up to the current end."""
    tp = TopicPartition(topic, 0)
    c = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    c.assign([tp])
    c.seek_to_beginning(tp)
    end = c.end_offsets([tp])[tp]
    latest: dict[str, bytes | None] = {}
    while c.position(tp) < end:
        for msgs in c.poll(timeout_ms=500).values():
            for m in msgs:
                latest[m.key.decode()] = m.value
    c.close()
    return latest
