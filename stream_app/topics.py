"""The topics the stream app reads and writes (names from `coea.topics`).

Values travel as raw bytes: the agents decode and validate them, so a malformed record becomes
a dead letter instead of crashing the agent in Faust's deserializer.
"""

from coea import topics as spec
from stream_app.app import app, settings

events_topic = app.topic(
    spec.EVENTS.name(settings),
    key_type=bytes,
    value_type=bytes,
    key_serializer="raw",
    value_serializer="raw",
)
items_topic = app.topic(
    spec.ITEMS.name(settings),
    key_type=bytes,
    value_type=bytes,
    key_serializer="raw",
    value_serializer="raw",
)
dlq_topic = app.topic(
    spec.EVENTS_DLQ.name(settings),
    key_type=bytes,
    value_type=bytes,
    key_serializer="raw",
    value_serializer="raw",
)
windows_topic = app.topic(
    spec.TRAINING_WINDOWS.name(settings),
    key_type=bytes,
    value_type=bytes,
    key_serializer="raw",
    value_serializer="raw",
)
