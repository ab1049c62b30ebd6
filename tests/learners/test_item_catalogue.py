"""The learner reads the item catalogue topic; a malformed record there must not stop a cycle."""

from __future__ import annotations

import logging

from kafka import KafkaProducer

from coea.schemas import ItemRecord
from coea.topics import ITEMS
from learners.worker import read_categories


def test_malformed_catalogue_records_are_skipped_and_counted(kafka_env, caplog):
    s = kafka_env.settings
    producer = KafkaProducer(bootstrap_servers=s.bootstrap_servers, acks="all")
    topic = ITEMS.name(s)
    good = [ItemRecord(item_id=f"i{n}", category=f"c{n % 3}") for n in range(5)]
    bad = [b"{not json", b'{"item_id": "i9"}', b'{"item_id": "i8", "category": ""}', b"\xff"]
    for rec in good[:3]:
        producer.send(topic, rec.to_bytes(), key=rec.item_id.encode())
    for n, raw in enumerate(bad):
        producer.send(topic, raw, key=f"bad{n}".encode())
    for rec in good[3:]:
        producer.send(topic, rec.to_bytes(), key=rec.item_id.encode())
    producer.flush()
    producer.close()
    with caplog.at_level(logging.WARNING, logger="learners.worker"):
        categories = read_categories(s)
    assert categories == {r.item_id: r.category for r in good}
    assert "4 malformed record(s) skipped" in caplog.text
