"""Table versions only grow: a learner numbers its versions after the newest on the topic;
a second learner of the deployment fences the first."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from coea.table import TableRow, version_records
from coea.table_io import publish_version, read_table
from coea.topic_io import read_to_end
from coea.topics import USER_GROUPS
from learners.worker import FENCED_EXIT, Learner, LearnerFenced


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
    learner.close_publisher()
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


def test_a_second_learner_fences_the_first(kafka_env, caplog):
    from coea.schemas import UserGroup

    s = kafka_env.settings
    first, second = Learner(s, echo=lambda m: None), Learner(s, echo=lambda m: None)
    first.groups = {"u1": UserGroup(user_id="u1", csid=[1, 2], group=1, model_version="d", ts=1)}
    first.open_publisher()
    second.open_publisher()  # started by mistake: it initialises the same transactional id
    manifest = {"version": 1, "dsie_version": "d", "created_ms": 2, "default_group": 0}
    try:
        with (
            caplog.at_level(logging.ERROR, logger="learners.worker"),
            pytest.raises(LearnerFenced) as fenced,
        ):
            first._send_version(1, _rows("first"), manifest)
        assert fenced.value.code == FENCED_EXIT != 0
        assert "fenced: another learner of this deployment took over the table" in caplog.text
        assert first._stop and first.publisher is None
        # nothing the fenced learner sent is visible: no version, no user group
        assert read_table(s).highest == 0
        assert list(read_to_end(s, USER_GROUPS.name(s), 10)) == []

        second._send_version(1, _rows("second"), manifest)  # the newer learner publishes
        view = read_table(s)
        assert view.version == 1 and {r.short_hash for r in view.rows.values()} == {
            r.key.split(":")[1] for r in _rows("second")
        }
    finally:
        second.close_publisher()


FENCED_SCRIPT = """
from coea.settings import get_settings
from coea.table import TableRow
from learners.worker import Learner
s = get_settings()
first, second = Learner(s, echo=print), Learner(s, echo=print)
first.open_publisher()
second.open_publisher()
rows = [TableRow(group=0, short_set=(), categories=(("c", 0.9),))]
first._send_version(1, rows, {"version": 1, "dsie_version": "d", "created_ms": 1,
                               "default_group": 0})
print("published after all")
"""


def test_a_fenced_learner_process_exits_non_zero_with_a_clear_line(kafka_env):
    proc = subprocess.run(
        [sys.executable, "-c", FENCED_SCRIPT],
        env=kafka_env.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == FENCED_EXIT, proc.stdout + proc.stderr
    assert "learner: fenced: another learner of this deployment" in proc.stdout
    assert "published after all" not in proc.stdout and "Traceback" not in proc.stderr
    assert read_table(kafka_env.settings).highest == 0
