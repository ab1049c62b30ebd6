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
