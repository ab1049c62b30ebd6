"""The secured broker refuses what docs/security.md says it refuses, on a real broker:
no credentials, a wrong password, a plaintext client, a principal outside its ACLs, a topic
nobody created. The project's own clients (replay publisher, table_io) work with credentials.
"""

from __future__ import annotations

import uuid

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import (
    KafkaError,
    TopicAuthorizationFailedError,
    TransactionalIdAuthorizationFailedError,
)

from coea import acls
from coea.data.events_io import Publisher
from coea.schemas import ClickEvent
from coea.security import kafka_python_options
from coea.table import TableRow, version_records
from coea.table_io import open_publisher, publish_version, read_table
from coea.topics import EVENTS, NOVEL_CATEGORIES

pytestmark = [pytest.mark.integration]

FAST = {"request_timeout_ms": 5000, "api_version_auto_timeout_ms": 5000}


def _event(user: str, n: int) -> ClickEvent:
    return ClickEvent(
        event_id=f"sec-{user}-{n}", user_id=user, item_id=f"i{n}", category="c1", ts=1000 + n
    )


def _read_all(settings, topic: str, partitions: int) -> list:
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        enable_auto_commit=False,
        group_id=None,
        consumer_timeout_ms=3000,
        **kafka_python_options(settings),
    )
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    try:
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        return [m.value for m in consumer]
    finally:
        consumer.close()


def _connect(bootstrap: str, **kwargs) -> None:
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap, client_id="coea-refusal", **FAST, **kwargs
    )
    try:
        admin.describe_cluster()
    finally:
        admin.close()


def test_round_trip_with_credentials(secured_broker):
    """replay writes events with its credentials; the worker principal reads them back."""
    replay = secured_broker.as_user(acls.REPLAY)
    user = f"u{uuid.uuid4().hex[:6]}"
    sent = [_event(user, n) for n in range(5)]
    publisher = Publisher(replay)
    try:
        for e in sent:
            publisher.send_event(e)
    finally:
        publisher.close()
    worker = secured_broker.as_user(acls.WORKER)
    got = _read_all(worker, EVENTS.name(worker), worker.topic_partitions)
    assert {e.to_bytes() for e in sent} <= set(got)


def test_table_round_trip_learner_to_table_reader(secured_broker):
    """The learner publishes a table version; a table consumer reads it with read_table."""
    learner = secured_broker.as_user(acls.LEARNER)
    rows = [TableRow(0, (), (("c7", 0.9), ("c8", 0.8)))]
    publish_version(version_records(rows, 1, 1, "test", 0, default_group=0), learner)
    view = read_table(secured_broker.as_user(acls.TABLE_READER), timeout_s=30)
    assert view.version == 1


def test_client_without_credentials_is_refused(secured_broker):
    """TLS with the right CA but no SASL user: the broker drops the connection."""
    cafile = secured_broker.as_user(acls.WORKER).kafka_ssl_cafile
    with pytest.raises(KafkaError):
        _connect(
            secured_broker.settings.bootstrap_servers,
            security_protocol="SSL",
            ssl_cafile=str(cafile),
        )


def test_wrong_password_is_refused(secured_broker):
    good = kafka_python_options(secured_broker.as_user(acls.WORKER))
    assert good["sasl_plain_password"] != "not-the-password"
    with pytest.raises(KafkaError):
        _connect(
            secured_broker.settings.bootstrap_servers,
            **{**good, "sasl_plain_password": "not-the-password"},
        )


def test_plaintext_client_is_refused(secured_broker):
    with pytest.raises(KafkaError):
        _connect(secured_broker.settings.bootstrap_servers, security_protocol="PLAINTEXT")


def test_table_consumer_cannot_forge_a_marker(secured_broker):
    reader = secured_broker.as_user(acls.TABLE_READER)
    producer = KafkaProducer(
        bootstrap_servers=reader.bootstrap_servers,
        max_block_ms=10_000,
        enable_idempotence=False,  # the topic's ACL, not the producer-id check, must refuse
        **kafka_python_options(reader),
    )
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            producer.send(
                NOVEL_CATEGORIES.name(reader), b'{"version": 999}', key=b"__version__", partition=0
            ).get(timeout=15)
    finally:
        producer.close(timeout=5)


def test_only_the_learner_may_open_the_table_publisher(secured_broker):
    # opening it would fence the learner: the transactional id is the learner's alone
    for user in (acls.TABLE_READER, acls.WORKER):
        with pytest.raises(TransactionalIdAuthorizationFailedError):
            open_publisher(secured_broker.as_user(user))
    open_publisher(secured_broker.as_user(acls.LEARNER)).close(timeout=5)


def test_table_consumer_cannot_read_events(secured_broker):
    """Events exist, yet the table consumer gets neither their offsets nor a record."""
    replay = secured_broker.as_user(acls.REPLAY)
    publisher = Publisher(replay)
    try:
        for p in range(replay.topic_partitions):  # one event on every partition
            publisher.producer.send(EVENTS.name(replay), _event("r", p).to_bytes(), partition=p)
    finally:
        publisher.close()
    reader = secured_broker.as_user(acls.TABLE_READER)
    consumer = KafkaConsumer(
        bootstrap_servers=reader.bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **kafka_python_options(reader),
    )
    tps = [TopicPartition(EVENTS.name(reader), p) for p in range(reader.topic_partitions)]
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            consumer.end_offsets(tps)
        consumer.assign(tps)
        got = [m for _ in range(6) for msgs in consumer.poll(timeout_ms=500).values() for m in msgs]
        assert got == []
    finally:
        consumer.close()
    worker = secured_broker.as_user(acls.WORKER)
    assert _read_all(worker, EVENTS.name(worker), worker.topic_partitions)  # they are there


def test_worker_cannot_write_the_table_topic(secured_broker):
    worker = secured_broker.as_user(acls.WORKER)
    producer = KafkaProducer(
        bootstrap_servers=worker.bootstrap_servers,
        max_block_ms=10_000,
        enable_idempotence=False,  # the topic's ACL, not the producer-id check, must refuse
        **kafka_python_options(worker),
    )
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            producer.send(NOVEL_CATEGORIES.name(worker), b"{}", key=b"__version__").get(timeout=15)
    finally:
        producer.close(timeout=5)


def test_no_automatic_topic_creation(secured_broker):
    """Producing to a topic nobody created fails and creates nothing, even as the super user."""
    admin = secured_broker.as_user(acls.ADMIN)
    topic = f"{admin.topic_prefix}.never-created"
    producer = KafkaProducer(
        bootstrap_servers=admin.bootstrap_servers, max_block_ms=5_000, **kafka_python_options(admin)
    )
    try:
        with pytest.raises(KafkaError):
            producer.send(topic, b"x").get(timeout=10)
    finally:
        producer.close(timeout=5)
    client = KafkaAdminClient(
        bootstrap_servers=admin.bootstrap_servers, **kafka_python_options(admin)
    )
    try:
        assert topic not in client.list_topics()
    finally:
        client.close()
