"""Table versions only grow: a learner numbers its versions after the newest on the topic."""

from __future__ import annotations

from coea.table import TableRow, version_records
from coea.table_io import publish_version, read_table
from learners.worker import Learner


def _rows(tag: str) -> list[TableRow]:
    return [TableRow(group=g, short_set=(tag,), categories=((f"n{g}", 0.9),)) for g in range(3)]


def test_a_learner_without_artifacts_numbers_after_the_topic(kafka_env):
    s = kafka_env.settings
    # an earlier learner published version 5, then lost its artifacts (a fresh folder here)
    publish_version(version_records(_rows("old"), 5, 5, "old", 1, default_group=0), s)
    learner = Learner(s, echo=lambda m: None)
    learner.recover()
    assert learner.cycle == 0 and learner.version == 0
    learner._number_after_topic()
    assert learner.version == 5
    manifest = {"version": learner.version + 1, "dsie_version": "d", "created_ms": 2}
    learner._send_version(1, _rows("new"), manifest | {"default_group": 0})
    view = read_table(s)
    assert (view.version, view.cycle) == (6, 1)  # readers switch: 6 > 5
    assert len(view.rows) == 3 and all(r.version == 6 for r in view.rows.values())


def test_an_incomplete_higher_version_counts_too(kafka_env):
    s = kafka_env.settings
    publish_version(version_records(_rows("a"), 2, 2, "m", 1, default_group=0), s)
    recs = version_records(_rows("b"), 3, 3, "m", 2, default_group=0)
    publish_version(recs[:2], s)  # version 3 cut short: no marker
    view = read_table(s)
    assert view.version == 2 and view.highest == 3
    learner = Learner(s, echo=lambda m: None)
    learner._number_after_topic()
    assert learner.version == 3  # the next version is 4, never a second, different version 3
