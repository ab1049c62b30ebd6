"""Every wire record through the real broker, with kafka-python and with aiokafka."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from kafka import KafkaConsumer, KafkaProducer

from coea.examples import EXAMPLES
from coea.schemas import EVENT_ADAPTER, TABLE_ADAPTER, RecordError, decode_event
from coea.topics import EVENTS

pytestmark = pytest.mark.integration


def _parse(topic_suffix: str, raw: bytes):
    """Decode a value as the record type its topic carries."""
    for spec, _key, record in EXAMPLES:
        if spec.suffix == topic_suffix:
            if topic_suffix == "events":
                return EVENT_ADAPTER.validate_json(raw)
            if topic_suffix == "novel-categories":
                return TABLE_ADAPTER.validate_json(raw)
            return type(record).model_validate_json(raw)
    raise AssertionError(f"no record type for {topic_suffix}")


def _expected():
    return [(spec, key, record) for spec, key, record in EXAMPLES]


def test_kafka_python_round_trip(kafka_env):
    s = kafka_env.settings
    producer = KafkaProducer(bootstrap_servers=s.bootstrap_servers, acks="all")
    for spec, key, record in _expected():
        producer.send(spec.name(s), record.to_bytes(), key=key.encode())
    producer.flush()
    producer.close()
    topics = sorted({spec.name(s) for spec, _, _ in _expected()})
    consumer = KafkaConsumer(
        *topics,
        bootstrap_servers=s.bootstrap_servers,
        auto_offset_reset="earliest",
        consumer_timeout_ms=15000,
        group_id=f"rt-{uuid.uuid4().hex}",
    )
    got = []
    for msg in consumer:
        suffix = msg.topic.split(".", 1)[1]
        got.append(_parse(suffix, msg.value))
        if len(got) == len(EXAMPLES):
            break
    consumer.close()
    assert sorted(map(repr, got)) == sorted(repr(r) for _, _, r in _expected())


def test_aiokafka_round_trip(kafka_env):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    s = kafka_env.settings

    async def run():
        producer = AIOKafkaProducer(bootstrap_servers=s.bootstrap_servers, acks="all")
        await producer.start()
        try:
            for spec, key, record in _expected():
                await producer.send_and_wait(spec.name(s), record.to_bytes(), key=key.encode())
        finally:
            await producer.stop()
        topics = sorted({spec.name(s) for spec, _, _ in _expected()})
        consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=s.bootstrap_servers,
            auto_offset_reset="earliest",
            group_id=f"rt-{uuid.uuid4().hex}",
        )
        await consumer.start()
        got = []
        try:
            async with asyncio.timeout(30):
                while len(got) < len(EXAMPLES):
                    batch = await consumer.getmany(timeout_ms=1000)
                    for tp, msgs in batch.items():
                        got += [_parse(tp.topic.split(".", 1)[1], m.value) for m in msgs]
        finally:
            await consumer.stop()
        return got

    got = asyncio.run(run())
    assert sorted(map(repr, got)) == sorted(repr(r) for _, _, r in _expected())


def test_invalid_record_from_the_broker_is_rejected_naming_the_field(kafka_env):
    s = kafka_env.settings
    topic = EVENTS.name(s)
    bad = {"kind": "click", "event_id": "e1", "user_id": "u1", "item_id": "i1", "ts": "noon"}
    producer = KafkaProducer(bootstrap_servers=s.bootstrap_servers)
    producer.send(topic, json.dumps(bad).encode(), key=b"u1")
    producer.flush()
    producer.close()
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=s.bootstrap_servers,
        auto_offset_reset="earliest",
        consumer_timeout_ms=15000,
        group_id=f"bad-{uuid.uuid4().hex}",
    )
    msg = next(iter(consumer))
    consumer.close()
    with pytest.raises(RecordError) as info:
        decode_event(msg.value)
    assert str(info.value).startswith("ts:"), info.value
    assert "'noon'" in str(info.value)


def test_topics_have_their_policies(kafka_env):
    from coea.admin import describe_topic_configs
    from coea.topics import ALL_TOPICS

    s = kafka_env.settings
    names = [t.name(s) for t in ALL_TOPICS]
    desc = describe_topic_configs(names, s)
    for spec in ALL_TOPICS:
        d = desc[spec.name(s)]
        assert d["cleanup.policy"] == spec.cleanup_policy, spec
        assert d["partitions"] == (spec.partitions or s.topic_partitions)
