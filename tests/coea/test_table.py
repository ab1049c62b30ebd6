"""The novel-category table protocol: stable keys, complete versions only, tombstones."""

from __future__ import annotations

import subprocess
import sys

from hypothesis import given
from hypothesis import strategies as st

from coea.table import MARKER_KEY, TableRow, TableView, stable_hash, table_key, version_records


def _rows(n: int, tag: str = "a") -> list[TableRow]:
    return [
        TableRow(group=i % 3, short_set=(f"c{i}", tag), categories=((f"n{i}", 0.9),))
        for i in range(n)
    ]


def test_hash_is_a_fixed_function_of_the_ordered_set():
    # A fixed vector: if this changes, every published key changes.
    assert stable_hash(["Drama", "Sci-Fi"]) == "5d3356752f2e4bed"
    assert stable_hash(["Drama", "Sci-Fi"]) != stable_hash(["Sci-Fi", "Drama"])
    assert table_key(12, ["Drama"]).startswith("g12:")


def test_hash_is_identical_in_another_process():
    code = "from coea.table import stable_hash; print(stable_hash(['Drama', 'Film-Noir', 'é']))"
    env = {"PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout.strip()
    assert out == stable_hash(["Drama", "Film-Noir", "é"])
    assert len(out) == 16 and int(out, 16) >= 0


def _feed(view: TableView, records):
    for key, value in records:
        view.apply(key, value)


def test_version_visible_only_after_its_marker():
    view = TableView()
    recs = version_records(_rows(5), version=1, cycle=1, model_version="m1", ts=1)
    _feed(view, recs[:-1])  # rows only
    assert view.version == 0 and view.rows == {}
    view.apply(*recs[-1])
    assert view.version == 1 and len(view.rows) == 5


def test_interrupted_publish_keeps_previous_version():
    view = TableView()
    v1 = version_records(_rows(4), 1, 1, "m1", 1)
    _feed(view, v1)
    v2 = version_records(_rows(6, "b"), 2, 2, "m2", 2, previous_keys=[r.key for r in _rows(4)])
    _feed(view, v2[:3])  # crash after three rows of version 2
    assert view.version == 1 and {r.version for r in view.rows.values()} == {1}
    _feed(view, v2)  # the restarted learner re-publishes version 2 from the start
    assert view.version == 2 and len(view.rows) == 6
    assert {r.version for r in view.rows.values()} == {2}


def test_tombstones_remove_the_previous_version_rows():
    view = TableView()
    old = _rows(4)
    _feed(view, version_records(old, 1, 1, "m1", 1))
    v2 = version_records(_rows(2, "b"), 2, 2, "m2", 2, previous_keys=[r.key for r in old])
    tombstones = [k for k, v in v2 if v is None]
    assert len(tombstones) == 4 and all(k.startswith("1/") for k in tombstones)
    _feed(view, v2)
    assert view._slots[1] == {}


def test_marker_with_missing_rows_is_not_switched_to():
    view = TableView()
    recs = version_records(_rows(3), 1, 1, "m", 1)
    view.apply(*recs[0])
    view.apply(*recs[-1])
    assert view.version == 0


@given(st.lists(st.integers(min_value=0, max_value=7), min_size=1, max_size=6))
def test_any_prefix_of_a_publish_shows_a_complete_version(cut_points):
    """Wherever a publish stops, a reader sees exactly one complete earlier version."""
    view = TableView()
    prev: list[str] = []
    published: dict[int, set[str]] = {0: set()}
    for v, cut in enumerate(cut_points, start=1):
        rows = _rows(3 + v % 3, tag=str(v))
        recs = version_records(rows, v, v, f"m{v}", v, previous_keys=prev)
        published[v] = {r.key for r in rows}
        _feed(view, recs[:cut])
        assert view.version in (v - 1, v)
        assert set(view.rows) == published[view.version]
        _feed(view, recs)
        prev = list(published[v])
        assert view.version == v and set(view.rows) == published[v]


def test_marker_key_is_reserved():
    assert all(k != MARKER_KEY for k, _ in version_records(_rows(3), 1, 1, "m", 1)[:-1])


def test_serving_rules_and_stored_lookup():
    from coea.table import marker_of, resolve, stored_lookup

    rows = [
        TableRow(1, ("A", "B"), (("C", 0.9), ("A", 0.8))),
        TableRow(1, (), (("B", 1.0), ("D", 0.5))),
        TableRow(2, (), (("E", 1.0),)),
    ]
    store: dict[str, bytes | None] = {}
    for key, value in version_records(rows, 1, 1, "m", 1, default_group=2):
        store[key] = value
    # a half-written version 2 in the other slot must not change what is served
    for key, value in version_records(rows[:1], 2, 2, "m", 2)[:-1]:
        store[key] = value
    lookup = stored_lookup(store.get, marker_of(store["__version__"]))
    view = TableView()
    _feed(view, version_records(rows, 1, 1, "m", 1, default_group=2))
    for serve in (lambda g, s: resolve(lookup, g, 2, s), view.serve):
        cats, rule = serve(1, ["A", "B"])
        assert [c.category for c in cats] == ["C"] and rule == "key"  # "A" is recent: dropped
        cats, rule = serve(1, ["X"])
        assert [c.category for c in cats] == ["B", "D"] and rule == "group"
        cats, rule = serve(1, ["B", "D"])
        assert [c.category for c in cats] == ["E"] and rule == "default"
        cats, rule = serve(None, [])
        assert [c.category for c in cats] == ["E"] and rule == "default"
        assert serve(3, ["E"]) == ([], "none")
    assert stored_lookup(store.get, None)(1, ["A", "B"]) is None


def test_history_exclusion_follows_the_version_marker():
    row = TableRow(1, ("A", "B"), (("C", 0.9), ("D", 0.8), ("E", 0.7)))
    group_row = TableRow(1, (), (("D", 1.0), ("F", 0.5)))
    for flag, expected in ((True, ["E"]), (False, ["C", "D", "E"])):
        view = TableView()
        _feed(view, version_records([row, group_row], 1, 1, "m", 0, exclude_history=flag))
        assert view.exclude_history is flag
        cats, rule = view.serve(1, ["A", "B"], clicked=["C", "D", "A"])
        assert ([c.category for c in cats], rule) == (expected, "key")
    # every key-row category clicked: the group's row, still without clicked categories
    view = TableView()
    _feed(view, version_records([row, group_row], 1, 1, "m", 0, exclude_history=True))
    cats, rule = view.serve(1, ["A", "B"], clicked=["C", "D", "E"])
    assert ([c.category for c in cats], rule) == (["F"], "group")


def test_a_short_key_row_is_completed_from_the_fallback_rows_when_the_marker_says_so():
    row = TableRow(1, ("A",), (("C", 0.9), ("D", 0.8)))
    group_row = TableRow(1, (), (("D", 1.0), ("F", 0.5), ("A", 0.4)))
    default_row = TableRow(2, (), (("G", 1.0), ("F", 0.3)))
    rows = [row, group_row, default_row]
    cases = {  # fill_to -> (served for a user whose recent set is A and who clicked C, rule)
        0: (["D"], "key"),
        2: (["D", "F"], "key"),
        5: (["D", "F", "G"], "key"),  # every row used; D, F and A not twice, A is recent
    }
    for fill_to, expected in cases.items():
        view = TableView()
        _feed(
            view,
            version_records(
                rows, 1, 1, "m", 0, default_group=2, exclude_history=True, fill_to=fill_to
            ),
        )
        assert view.fill_to == fill_to
        cats, rule = view.serve(1, ["A"], clicked=["C", "A"])
        assert ([c.category for c in cats], rule) == expected
    # a cold-start user: the default row once, however large fill_to is
    cats, rule = view.serve(None, [], clicked=[])
    assert ([c.category for c in cats], rule) == (["G", "F"], "default")
    # the key row empty after exclusion: the group's row answers and names the rule
    cats, rule = view.serve(1, ["A"], clicked=["C", "D"])
    assert ([c.category for c in cats], rule) == (["F", "G"], "group")


def test_key_short_set_is_the_stream_states_short_set():
    from coea.state import UserState
    from coea.table import key_short_set

    state = UserState("u", short=[("i1", "A"), ("i2", "B"), ("i3", "A"), ("i4", "New")])
    assert key_short_set(state.short_categories()) == ("B", "A", "New")
    assert list(key_short_set(state.short_categories())) == state.short_set()


def test_serving_answer_from_raw_stored_values():
    from coea.schemas import UserGroup
    from coea.state import UserState
    from coea.table import serving_answer

    rows = [
        TableRow(1, ("B", "A"), (("C", 0.9), ("D", 0.8), ("E", 0.7))),
        TableRow(1, (), (("D", 1.0), ("F", 0.5))),
        TableRow(2, (), (("G", 1.0),)),
    ]
    store = dict(version_records(rows, 3, 2, "m", 0, default_group=2, exclude_history=True))
    state = UserState("u", short=[("i1", "A"), ("i2", "B"), ("i3", "A")])
    state.category_clicks.update({"A": 2, "B": 1, "D": 1})  # D clicked long ago
    raw_state = state.to_json()
    raw_group = UserGroup(user_id="u", csid=[0, 1], group=1, model_version="m", ts=0).to_bytes()

    a = serving_answer("u", raw_state, raw_group, store.get)
    assert (a["rule"], a["version"], a["cycle"], a["group"]) == ("key", 3, 2, 1)
    assert a["short_set"] == ["B", "A"] and not a["cold_start"] and a["known_user"]
    assert [c["category"] for c in a["categories"]] == ["C", "E"]  # D: clicked, excluded
    cold = serving_answer("new", None, None, store.get)  # no state, no group: default group
    assert (cold["rule"], cold["group"], cold["cold_start"]) == ("default", 2, True)
    assert [c["category"] for c in cold["categories"]] == ["G"] and not cold["known_user"]
    empty = serving_answer("u", raw_state, raw_group, {}.get)  # nothing published yet
    assert (empty["version"], empty["rule"], empty["categories"]) == (None, "none", [])
