"""The learner's cycle record on disk (learners/cycle_store.py), without Kafka."""

from __future__ import annotations

from coea.table import TableRow
from learners import cycle_store as cs
from learners.dataset import UserRecord, WindowStore


def _store() -> WindowStore:
    store = WindowStore()
    store.users["u1"] = UserRecord(
        user_id="u1",
        long_items=["i1", "i2"],
        long_categories=["A", "B"],
        short_categories=["B", "C"],
        short_set=["B", "C"],
        negatives=["D"],
        positives=["C"],
        features={"age": 30},
        last_window=3,
        clicked_categories=["A", "B", "C"],
    )
    store.records, store.window_ids = 1, {3}
    return store


ROWS = [TableRow(1, ("B", "C"), (("E", 0.9), ("F", 0.6))), TableRow(1, (), (("E", 1.0),))]


def test_a_cycle_is_complete_only_with_its_manifest_and_round_trips(tmp_path):
    folder = cs.write_cycle(tmp_path, 2, _store(), ROWS, [{"user_id": "u1"}], {"dsie": "v1"})
    assert cs.complete_cycles(tmp_path) == [2]
    (folder / cs.MANIFEST).unlink()  # a crash before the manifest: not a complete cycle
    assert cs.complete_cycles(tmp_path) == [] and cs.latest_cycle(tmp_path) is None

    cs.write_cycle(tmp_path, 2, _store(), ROWS, [{"user_id": "u1"}], {"dsie": "v1"})
    rec = cs.latest_cycle(tmp_path)
    assert rec.cycle == 2 and rec.manifest == {"cycle": 2, "dsie": "v1"}
    assert rec.rows == ROWS and rec.assignments == [{"user_id": "u1"}]
    assert rec.store.users == _store().users and rec.store.window_ids == {3}
    assert not rec.published
    cs.mark_published(rec.folder)
    assert cs.load_cycle(tmp_path, 2).published


def test_rewriting_a_cycle_drops_what_an_interrupted_attempt_left(tmp_path):
    folder = cs.write_cycle(tmp_path, 1, _store(), ROWS, [], {})
    cs.mark_published(folder)
    (folder / "stray.tmp").write_text("half-written")
    cs.write_cycle(tmp_path, 1, _store(), ROWS[:1], [], {})
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["assignments.json", cs.MANIFEST, "store.json", "table.json"]
    )
    assert not cs.load_cycle(tmp_path, 1).published and cs.load_cycle(tmp_path, 1).rows == ROWS[:1]
    cs.write_cycle(tmp_path, 3, _store(), ROWS, [], {})
    assert cs.complete_cycles(tmp_path) == [1, 3] and cs.latest_cycle(tmp_path).cycle == 3
