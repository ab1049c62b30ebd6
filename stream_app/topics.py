"""The topics the stream app reads and writes (names from `coea.topics`).

Values travel as raw bytes: the agents decode and validate them, so a malformed record becomes
a dead letter instead of crashing the agent in Faust's deserializer.
"""

from typing import Any

from coea import topics as spec
from stream_app.app import app, settings


def raw_topic(topic: spec.TopicSpec) -> Any:
    """A Faust topic of raw bytes keys and values (no deserialisation by Faust)."""
    return app.topic(
        topic.name(settings),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )


events_topic = raw_topic(spec.EVENTS)
items_topic = raw_topic(spec.ITEMS)
dlq_topic = raw_topic(spec.EVENTS_DLQ)
windows_topic = raw_topic(spec.TRAINING_WINDOWS)
