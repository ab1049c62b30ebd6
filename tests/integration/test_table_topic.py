"""The novel-category table on the real broker: readers only ever see complete, committed
versions, and a second publisher fences the first."""

from __future__ import annotations

import pytest

from coea.table import TableRow, TableView, version_records
from coea.table_io import (
    PublisherFenced,
    open_publisher,
    publish_version,
    publisher_id,
    read_table,
    send_all,
)
from coea.topic_io import read_to_end
from coea.topics import NOVEL_CATEGORIES

pytestmark = pytest.mark.integration


def _rows(n: int, tag: str) -> list[TableRow]:
    return [
        TableRow(group=i % 4, short_set=(f"c{i}", tag), categories=((f"n{i}", 0.7), ("x", 0.6)))
        for i in range(n)
    ]


def test_publish_then_read_complete_versions(kafka_env):
    s = kafka_env.settings
    v1 = _rows(20, "a")
    publish_version(version_records(v1, 1, 1, "m1", 1), s)
    view = read_table(s)
    assert view.version == 1 and set(view.rows) == {r.key for r in v1}

    v2 = _rows(12, "b")
    recs = version_records(v2, 2, 2, "m2", 2, previous_keys=[r.key for r in v1])
    publish_version(recs[:7], s)  # the learner dies after 7 rows of version 2
    view = read_table(s)
    assert view.version == 1 and set(view.rows) == {r.key for r in v1}

    publish_version(recs, s)  # restarted: the same version published again, completely
    view = read_table(s)
    assert view.version == 2 and set(view.rows) == {r.key for r in v2}
    row = view.lookup(v2[3].group, v2[3].short_set)
    assert row is not None and [c.category for c in row.categories] == ["n3", "x"]


def test_a_version_the_broker_refuses_raises_and_is_never_visible(kafka_env):
    from kafka import KafkaAdminClient
    from kafka.admin import ConfigResource, ConfigResourceType

    from coea.table_io import PublishError
    from coea.topics import NOVEL_CATEGORIES

    s = kafka_env.settings
    admin = KafkaAdminClient(bootstrap_servers=s.bootstrap_servers)
    topic = ConfigResource(
        ConfigResourceType.TOPIC, NOVEL_CATEGORIES.name(s), configs={"max.message.bytes": "4096"}
    )
    admin.alter_configs([topic])
    admin.close()
    big = [
        TableRow(
            group=0, short_set=("c", str(i)), categories=tuple((f"n{j}", 0.5) for j in range(400))
        )
        for i in range(3)
    ]
    with pytest.raises(PublishError, match=r"records to .* not acknowledged"):
        publish_version(version_records(big, 1, 1, "m1", 1), s)
    assert read_table(s).version == 0  # the marker may have landed; its rows did not


def _raw_view(settings) -> TableView:
    """The table as a reader of uncommitted records would see it: every record on the log."""
    view = TableView()
    for m in read_to_end(settings, NOVEL_CATEGORIES.name(settings), 30):
        view.apply(m.key.decode(), m.value)
    return view


def test_a_second_publisher_fences_the_first(kafka_env):
    s = kafka_env.settings
    v1 = _rows(5, "a")
    publish_version(version_records(v1, 1, 1, "m1", 1), s)
    first = open_publisher(s)
    second = open_publisher(s)  # the same transactional id: a second learner of the deployment
    try:
        assert first.config["transactional_id"] == publisher_id(s.topic_prefix)
        v2 = _rows(6, "b")
        recs = version_records(v2, 2, 2, "m2", 2, previous_keys=[r.key for r in v1])
        with pytest.raises(PublisherFenced, match="fenced"):
            publish_version(recs, s, producer=first)
        view = read_table(s)
        assert (view.version, view.highest) == (1, 1) and set(view.rows) == {r.key for r in v1}
        assert _raw_view(s).highest == 1  # not even written: the broker refused every record
        with pytest.raises(PublisherFenced):  # and it stays fenced
            publish_version(recs, s, producer=first)

        publish_version(recs, s, producer=second)  # the newer publisher goes on
        view = read_table(s)
        assert view.version == 2 and set(view.rows) == {r.key for r in v2}
    finally:
        first.close(timeout=5)
        second.close(timeout=5)


def test_an_aborted_or_open_transaction_is_never_read(kafka_env):
    s = kafka_env.settings
    topic = NOVEL_CATEGORIES.name(s)
    v1, v2 = _rows(8, "a"), _rows(10, "b")
    publish_version(version_records(v1, 1, 1, "m1", 1), s)
    recs = [
        (k.encode(), v)
        for k, v in version_records(v2, 2, 2, "m2", 2, previous_keys=[r.key for r in v1])
    ]
    producer = open_publisher(s)
    try:
        producer.begin_transaction()
        send_all(producer, topic, recs[:5], partition=0)  # the publisher stops mid-version
        view = read_table(s, timeout_s=10)  # an open transaction: not read, and not waited for
        assert (view.version, view.highest) == (1, 1)
        send_all(producer, topic, recs[5:], partition=0)  # even rows, marker and tombstones
        view = read_table(s, timeout_s=10)
        assert (view.version, view.highest) == (1, 1) and set(view.rows) == {r.key for r in v1}
        producer.abort_transaction()
        view = read_table(s)
        assert (view.version, view.highest) == (1, 1) and set(view.rows) == {r.key for r in v1}
        raw = _raw_view(s)  # the aborted records are on the log: uncommitted reading serves them
        assert raw.version == 2

        publish_version([(k.decode(), v) for k, v in recs], s, producer=producer)
        view = read_table(s)
        assert view.version == 2 and set(view.rows) == {r.key for r in v2}
    finally:
        producer.close(timeout=5)
