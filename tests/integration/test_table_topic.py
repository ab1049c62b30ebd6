"""The novel-category table on the real broker: readers only ever see complete versions."""

from __future__ import annotations

import pytest

from coea.table import TableRow, version_records
from coea.table_io import publish_version, read_table

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
