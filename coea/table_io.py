"""Publishing and reading the novel-category table on Kafka (protocol in coea/table.py).

`publish_version` is what the learner calls once a cycle's artifacts are durable;
`read_table` is the client function for consumers who read the topic directly.
"""

from __future__ import annotations

from coea.security import kafka_python_options
from coea.settings import Settings, get_settings
from coea.table import TableView
from coea.topics import NOVEL_CATEGORIES


class PublishError(RuntimeError):
    """The broker did not acknowledge every record of a publish; nothing may be recorded as
    published."""


def send_all(
    producer, topic: str, records: list[tuple[bytes | None, bytes | None]], partition=None
) -> int:
    """Send (key, value) records in order, flush, and raise PublishError unless the broker
    acknowledged every one (kafka-python's flush does not raise: failures sit on the
    futures)."""
    futures = [producer.send(topic, value, key=key, partition=partition) for key, value in records]
    producer.flush()
    failed = [f.exception for f in futures if f.failed() or not f.is_done]
    if failed:
        raise PublishError(
            f"{len(failed)} of {len(futures)} records to {topic} not acknowledged "
            f"(first: {failed[0]!r})"
        )
    return len(futures)


def publish_version(
    records: list[tuple[str, bytes | None]],
    settings: Settings | None = None,
    producer=None,
) -> int:
    """Send one version's records (from `coea.table.version_records`) in order; returns count.

    Uses acks=all and an idempotent producer, and checks every acknowledgement before
    returning, so when this returns the whole version (rows, marker, tombstones) is durable on
    the broker; otherwise it raises PublishError.
    """
    from kafka import KafkaProducer

    settings = settings or get_settings()
    own = producer is None
    if own:
        producer = KafkaProducer(
            bootstrap_servers=settings.bootstrap_servers,
            acks="all",
            enable_idempotence=True,
            max_in_flight_requests_per_connection=1,
            linger_ms=5,
            **kafka_python_options(settings),
        )
    topic = NOVEL_CATEGORIES.name(settings)
    try:
        return send_all(producer, topic, [(k.encode(), v) for k, v in records], partition=0)
    finally:
        if own:
            producer.close()


def read_table(settings: Settings | None = None, timeout_s: float = 30.0) -> TableView:
    """Read the whole table topic from the beginning up to its current end; return the view.

    Only complete versions are ever visible in the returned view.
    """
    from coea.topic_io import read_to_end

    settings = settings or get_settings()
    view = TableView()
    for m in read_to_end(settings, NOVEL_CATEGORIES.name(settings), timeout_s):
        view.apply(m.key.decode(), m.value)
    return view
