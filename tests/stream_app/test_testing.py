"""stream_app.testing.read_topic on the real broker: a topic read to its end."""

from __future__ import annotations

import pytest

from coea.topics import EVENTS_DLQ
from stream_app.testing import delete_topics, read_topic

pytestmark = pytest.mark.integration


def test_read_topic_returns_every_record_and_waits_for_the_expected_count(kafka_env):
    from kafka import KafkaProducer

    settings = kafka_env.settings
    topic = EVENTS_DLQ.name(settings)
    try:
        assert read_topic(settings, topic, timeout_s=5) == []
        producer = KafkaProducer(bootstrap_servers=settings.bootstrap_servers)
        sent = [(f"k{n}".encode(), f"v{n}".encode()) for n in range(5)]
        for key, value in sent:
            producer.send(topic, key=key, value=value)
        producer.flush()
        producer.close()
        assert sorted(read_topic(settings, topic, expect=5)) == sent
        assert sorted(read_topic(settings, topic)) == sent
        assert len(read_topic(settings, topic, expect=6, timeout_s=2)) == 5  # gives up in time
    finally:
        delete_topics(settings)
