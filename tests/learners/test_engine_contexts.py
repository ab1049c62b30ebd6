"""The learner's contexts: what the models see, and the table key serving will look up."""

from __future__ import annotations

from types import SimpleNamespace

from coea.state import UserState
from coea.table import key_short_set
from learners.dataset import UserRecord
from learners.engine import CycleEngine, EngineConfig


def test_contexts_key_rows_by_the_stream_short_set_and_carry_the_clicked_categories(tmp_path):
    engine = CycleEngine(tmp_path, EngineConfig())
    engine.dsie = SimpleNamespace(profiles={})
    state = UserState("u1", short=[("i1", "A"), ("i2", "Late"), ("i3", "B"), ("i4", "A")])
    user = UserRecord(
        user_id="u1",
        long_items=["i0"],
        long_categories=["C"],
        short_categories=state.short_categories(),
        short_set=state.short_set(),
        negatives=["Late", "D"],
        positives=[],
        features={},
        last_window=0,
        clicked_categories=["C", "A", "Late", "B"],
    )
    (ctx,) = engine._contexts([user], [SimpleNamespace(group=3)], ["A", "B", "C", "D"])
    assert ctx.short_seq == ["A", "B", "A"] and ctx.negatives == ["D"]  # models: known only
    assert ctx.table_short == ("Late", "B", "A") == key_short_set(state.short_categories())
    assert list(ctx.table_short) == state.short_set()  # = the serving side's key
    assert ctx.history == {"A", "B", "C", "Late"}


def test_row_diagnostics_measure_how_personal_the_rows_are():
    from coea.table import TableRow
    from learners.engine import row_diagnostics
    from learners.pco.data import UserContext

    ctxs = [  # clicked by 3, 2 and 1 users: H, M, T
        UserContext("a", 0, "", ["H", "M"], [], ["T"]),
        UserContext("b", 0, "", ["H"], [], ["M"]),
        UserContext("c", 0, "", ["H"], []),
    ]
    fallback = [TableRow(0, (), (("H", 1.0), ("M", 0.5)))]
    rows = [
        TableRow(0, ("x",), (("M", 0.9), ("H", 0.8))),  # = the group's fallback set
        TableRow(0, ("y",), (("T", 0.9),)),
    ]
    d = row_diagnostics(rows, fallback, ctxs, k=5)
    assert d["distinct_top5"] == 3 and d["fallback_equal_share"] == 0.5
    assert d["popularity_rank_top5"] == (2 + 1 + 3) / 3  # M, H, T ranked by clicks
    assert abs(d["entropy_top5"] - 1.0986) < 1e-3  # three categories, once each


def test_group_rows_rank_by_lift_so_what_every_group_accepts_stops_leading_every_row():
    from learners.engine import group_defaults

    # two groups of two keys each: "H" accepted by every key of both groups, "A" by group 0's
    # keys only, "B" by one key of group 1; "Z" only scored (never accepted) in group 0
    aligned = {0: {"H": 1.8, "A": 1.2}, 1: {"H": 1.8, "B": 0.5}}
    scored = {0: {"H": 2.0, "A": 1.5, "Z": 0.9}, 1: {"H": 2.0, "B": 0.9}}
    n_keys = {0: 2, 1: 2}
    plain = {r.group: [c for c, _ in r.categories] for r in group_defaults(aligned, scored, 5)}
    assert plain == {0: ["H", "A", "Z"], 1: ["H", "B"]}  # summed acceptance: H leads both
    lifted = group_defaults(aligned, scored, 5, n_keys, lift=True)
    rows = {r.group: [c for c, _ in r.categories] for r in lifted}
    assert rows == {0: ["A", "H", "Z"], 1: ["B", "H"]}  # each group's own category first
    for r in lifted:
        scores = [s for _, s in r.categories]
        assert scores[0] == 1.0 and scores == sorted(scores, reverse=True)
    # a pooled default group (no keys of its own) keeps the summed ranking
    pooled = {0: {"H": 3.6, "A": 1.2, "B": 0.5}}
    (row,) = group_defaults(pooled, {0: {"H": 4, "A": 1.5, "B": 0.9}}, 5, {}, lift=True)
    assert [c for c, _ in row.categories] == ["H", "A", "B"]


def test_group_rows_lead_with_what_only_the_group_accepts_over_what_many_groups_accept():
    from learners.engine import group_defaults

    # four groups of two keys: "W" accepted by both keys of groups 0-2, "S" by one key of
    # group 0 only, and less strongly; the difference of means would put W first in group 0
    aligned = {0: {"W": 1.8, "S": 0.55}, 1: {"W": 1.8}, 2: {"W": 1.8}, 3: {"X": 0.9}}
    scored = {g: dict(a) for g, a in aligned.items()}
    n_keys = {0: 2, 1: 2, 2: 2, 3: 2}
    rows = {
        r.group: [c for c, _ in r.categories]
        for r in group_defaults(aligned, scored, 5, n_keys, lift=True)
    }
    assert rows[0] == ["S", "W"] and rows[1] == ["W"] and rows[3] == ["X"]


def test_choose_keys_keeps_shared_keys_first_and_every_group_in_turn():
    from learners.engine import choose_keys

    users = {(0, ("a",)): 1, (0, ("b",)): 1, (0, ("c",)): 1, (1, ("a",)): 1, (2, ("z",)): 1}
    users |= {(2, ("shared",)): 7}
    assert choose_keys(users, 10) == sorted(users)  # under the cap: all of them
    chosen = choose_keys(users, 3)
    assert (2, ("shared",)) in chosen  # the key most users share comes first
    assert {g for g, _ in chosen} == {0, 1, 2}  # then one key per group before any second
    assert chosen == sorted(chosen) and len(chosen) == 3
