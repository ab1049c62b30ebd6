"""PCO data contract: steps, SFT examples, reward pairs, negatives, sampling, MovieLens contexts."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from coea.data.movielens import ItemInfo, Rating, RatingLog
from learners.pco.data import (
    NegativeSampler,
    UserContext,
    contexts_from_log,
    discoveries,
    eval_target,
    reward_pairs,
    sample_contexts,
    sft_examples,
    split_users,
    steps,
)
from models.lm.prompts import PromptBuilder


def test_steps_are_first_clicks_on_new_categories_with_context():
    seq = ["a", "b", "a", "c", "b", "d"]
    assert steps(seq) == [(["b", "a"], "c"), (["a", "c", "b"], "d")]
    assert steps(seq, exclude={"c"}) == [(["a", "c", "b"], "d")]
    assert steps(seq, min_context=1) == [(["a"], "b"), (["b", "a"], "c"), (["a", "c", "b"], "d")]


def test_sft_examples_filter_long_term_and_carry_trigger():
    ctx = UserContext("u", 1, "likes x", ["a", "b", "c", "d"], [], long_categories=["c"])
    b = PromptBuilder()
    ex = sft_examples([ctx], b)
    assert [e["completion"] for e in ex] == [" d"]  # c is in the long-term history (eq. 8)
    assert ex[0]["prompt"].endswith("b c <novel>")
    unfiltered = sft_examples([ctx], b, novel_only=False)
    assert [e["completion"] for e in unfiltered] == [" c", " d"]
    assert not unfiltered[0]["prompt"].endswith("<novel>")  # target c is not novel


def test_reward_pairs_never_use_a_clicked_category_as_negative():
    ctx = UserContext("u", 0, "", ["a", "b", "c", "d"], negatives=["a", "x"], long_categories=["y"])
    sampler = NegativeSampler({c: 1.0 for c in "abcdxyz"})
    pairs = reward_pairs([ctx], PromptBuilder(), sampler, random.Random(0))
    assert [p["chosen"] for p in pairs] == [" c", " d"]
    assert all(p["rejected"] == " x" and p["exposed"] for p in pairs)


def test_fallback_negatives_are_unclicked_and_popularity_weighted():
    ctx = UserContext("u", 0, "", ["a", "b", "c"], negatives=[], long_categories=["d"])
    sampler = NegativeSampler({"a": 1, "b": 1, "c": 1, "d": 1, "x": 1000.0, "z": 1.0})
    rng = random.Random(0)
    draws = [sampler.sample(ctx, ctx.history, rng) for _ in range(200)]
    assert all(d is not None and d[0] in {"x", "z"} and not d[1] for d in draws)
    assert sum(d[0] == "x" for d in draws) > 180
    assert NegativeSampler({"a": 1.0}).sample(ctx, ctx.history, rng) is None


def test_eval_target_cuts_before_the_last_novel_step():
    ctx = UserContext("u", 0, "", ["a", "b", "c", "a", "d", "d"], [], long_categories=[])
    cut, target = eval_target(ctx)
    assert target == "d" and cut.short_seq == ["a", "b", "c", "a"]
    assert eval_target(UserContext("v", 0, "", ["a", "a"], [])) is None


def test_split_and_sample():
    ctxs = [UserContext(str(i), 0, "", [], []) for i in range(200)]
    train, held = split_users(ctxs, 0.2, seed=1)
    assert len(train) + len(held) == 200 and 20 < len(held) < 60
    assert {c.user_id for c in train}.isdisjoint(c.user_id for c in held)
    assert split_users(ctxs, 0.2, seed=1) == (train, held)
    rng = random.Random(0)
    assert len(sample_contexts(ctxs, 0.01, 16, rng)) == 16  # minimum count
    assert len(sample_contexts(ctxs, 0.5, 16, rng)) == 100
    assert len(sample_contexts(ctxs[:5], 0.01, 16, rng)) == 5


def _log() -> RatingLog:
    items = {
        str(i): ItemInfo(str(i), f"t{i}", g)
        for i, g in enumerate(
            [("Drama",), ("Comedy",), ("Action", "Comedy"), ("War",), ("Horror",), ("Drama",)]
        )
    }
    rows = [
        ("1", "0", 5),
        ("1", "1", 4),
        ("1", "4", 2),
        ("1", "2", 5),
        ("1", "3", 4),
        ("1", "5", 1),
    ]
    rows += [("2", "3", 5), ("2", "4", 3)]
    ratings = [Rating(u, i, r, 1000 * n) for n, (u, i, r) in enumerate(rows)]
    return RatingLog("tiny", ratings, items, {"1": {"age": 30}, "2": {"age": 40}})


def test_contexts_from_log_without_dsie():
    ctxs = {c.user_id: c for c in contexts_from_log(_log(), mode="genre-combo", short_k=3)}
    u1 = ctxs["1"]
    assert u1.short_seq == ["Comedy", "Action|Comedy", "War"]
    assert u1.long_categories == ["Drama"]
    assert u1.negatives == ["Horror"]  # Drama (item 5) was clicked earlier: not a negative
    assert u1.group == -1 and u1.profile == ""
    early = {
        c.user_id: c for c in contexts_from_log(_log(), short_k=3, mode="genre", until_ts=2500)
    }
    assert early["1"].short_seq == ["Drama", "Comedy"] and "2" not in early


def test_window_negatives_by_hand():
    from learners.pco.data import window_negatives

    cats = {"i1": "a", "i2": "b", "i3": "c"}

    def r(item, rating, ts):
        return Rating("u", item, rating, ts)

    ratings = [
        r("i1", 1, 1),  # window 0: a exposed
        r("i2", 5, 2),  # b clicked
        r("i2", 1, 3),  # b exposed after the click: still clicked in this window
        r("i3", 1, 4),  # c exposed
        r("i1", 1, 11),  # window 1: a exposed again (moves to the end)
        r("i3", 5, 12),  # c clicked: dropped
        r("i2", 1, 21),  # window 2 (after the last end): b exposed, not clicked here
    ]
    assert window_negatives(ratings, cats, 4.0, [10, 20]) == ["a", "b"]
    assert window_negatives(ratings, cats, 4.0, [10, 20], cap=1) == ["b"]
    assert window_negatives(ratings[:4], cats, 4.0, [10]) == ["a", "c"]


def test_batch_contexts_match_the_learner_over_the_same_windows(ml100k):
    """contexts_from_log(windows=...) gives what the learner's D_k holds after the stream's
    own state rules (coea.state) turned the same ratings into training windows."""
    from coea.data.events_io import ml_events
    from coea.data.movielens import load_ml_100k
    from coea.state import StateParams, UserState, to_training_window, update_state
    from learners.dataset import WindowStore

    full = load_ml_100k(ml100k)
    keep = {str(u) for u in range(1, 81)}
    log = RatingLog("s", [x for x in full.ratings if x.user_id in keep], full.items, full.users)
    ends = [log.ratings[len(log.ratings) * k // 3].ts for k in (1, 2)]
    params = StateParams(filter_unit="category", window_cap=10_000)
    states: dict[str, UserState] = {}
    store = WindowStore()
    for wid, (lo, hi) in enumerate(zip([-1, *ends], [*ends, 1 << 62], strict=True)):
        active = []
        for e in ml_events(log, 4.0, "genre"):
            if lo < e.ts <= hi:
                st = states.setdefault(e.user_id, UserState(user_id=e.user_id))
                if update_state(st, e, e.category, params, wid) and e.user_id not in active:
                    active.append(e.user_id)
        for uid in active:
            st = states[uid]
            store.add(to_training_window(st, params, wid, st.window_ts_start, st.window_ts_end))
    contexts = contexts_from_log(log, None, mode="genre", short_k=10, windows=ends)
    assert {c.user_id for c in contexts} == set(store.users)
    for ctx in contexts:
        rec = store.users[ctx.user_id]
        assert ctx.negatives == rec.negatives, ctx.user_id
        assert ctx.short_seq == rec.short_categories, ctx.user_id
        assert ctx.long_categories == rec.long_categories, ctx.user_id
        assert set(ctx.clicked_categories) == set(rec.clicked_categories), ctx.user_id


def test_ml100k_contexts_are_pinned(ml100k):
    """contexts_from_log on ML-100K, offline and over two windows, pinned: the shared rules it
    calls (coea.state) must leave the learner's contexts unchanged."""
    import hashlib
    import json
    from dataclasses import asdict

    from coea.data.movielens import load_ml_100k

    def digest(contexts) -> str:
        rows = json.dumps([asdict(c) for c in contexts], sort_keys=True)
        return hashlib.sha256(rows.encode()).hexdigest()[:16]

    log = load_ml_100k(ml100k)
    ends = [log.ratings[len(log.ratings) * k // 3].ts for k in (1, 2)]
    # Each click counted for its movie's first genre only: the contexts as first pinned.
    assert digest(contexts_from_log(log, mode="genre", members={})) == "6d7c9c3cc575394e"
    first = contexts_from_log(log, mode="genre", windows=ends, members={})
    assert digest(first) == "4d54ad4f40afcb3d"
    # Counted for every genre of the movie (the default): only the clicked categories grow.
    every = contexts_from_log(log, mode="genre", windows=ends)
    assert [replace(c, clicked_categories=()) for c in every] == [
        replace(c, clicked_categories=()) for c in first
    ]
    assert all(
        set(a.clicked_categories) >= set(b.clicked_categories)
        for a, b in zip(every, first, strict=True)
    )
    assert sum(len(c.clicked_categories) for c in every) > sum(
        len(c.clicked_categories) for c in first
    )
    assert digest(contexts_from_log(log, mode="genre")) == "a96b1fc6ac454b53"
    assert digest(contexts_from_log(log, mode="genre-combo", windows=ends)) == "dba6e7b53479a1ab"


def test_discoveries_along_the_whole_history_are_first_clicks_on_a_category():
    ctx = UserContext("u", 1, "", ["B", "D", "A", "E"], [], ["A", "B", "A", "C"])
    got = discoveries(ctx, min_context=2, source="history")
    assert [(p, t) for _, p, t in got] == [
        (["B", "A"], "C"),
        (["A", "C", "B"], "D"),
        (["C", "B", "D", "A"], "E"),
    ]
    assert got[1][0] == ["A", "B", "A", "C", "B"]  # what was clicked before the step
    short = discoveries(ctx, min_context=2, source="recent")  # steps of C_short only
    assert [(p, t) for _, p, t in short] == [(["B", "D"], "A"), (["B", "D", "A"], "E")]
    assert all(long == ["A", "B", "A", "C"] for long, _, _ in short)


def test_history_sft_examples_are_all_novel_and_carry_their_own_past():
    ctx = UserContext("u", 1, "", ["B", "D", "A", "E"], [], ["A", "B", "A", "C"])
    b = PromptBuilder(n_long=2)
    hist = sft_examples([ctx], b, novel_only=True, source="history")
    assert [e["completion"] for e in hist] == [" C", " D", " E"]
    assert hist[1]["prompt"].split()[-7:] == ["<long>", "B", "A", "<short>", "C", "B", "<novel>"]
    short = sft_examples([ctx], b, novel_only=True, source="recent")
    assert [e["completion"] for e in short] == [" E"]  # A was clicked long ago: not novel


def test_history_switches_add_every_change_of_category_and_all_carry_the_trigger():
    ctx = UserContext("u", 1, "", ["B", "D", "A", "E"], [], ["A", "B", "A", "C"])
    got = discoveries(ctx, min_context=2, source="history-switches")
    assert [t for _, _, t in got] == ["A", "C", "B", "D", "A", "E"]
    assert got[0][1] == ["A", "B"] and got[4][1] == ["A", "C", "B", "D"]
    examples = sft_examples([ctx], PromptBuilder(), novel_only=True, source="history-switches")
    assert len(examples) == 6 and all(e["prompt"].endswith("<novel>") for e in examples)
    with pytest.raises(ValueError):
        discoveries(ctx, source="everything")


def test_clicked_categories_count_every_category_of_a_clicked_item():
    items = {
        "a": ItemInfo("a", "ta", ("Action", "Romance")),
        "b": ItemInfo("b", "tb", ("Drama",)),
        "c": ItemInfo("c", "tc", ("Horror", "Sci-Fi")),
    }
    ratings = [Rating("1", "a", 5, 1), Rating("1", "b", 4, 2), Rating("1", "c", 1, 3)]
    log = RatingLog("tiny", ratings, items)
    (ctx,) = contexts_from_log(log, mode="genre", short_k=3)
    assert ctx.short_seq == ["Action", "Drama"]
    # Romance came with a clicked movie; Horror and Sci-Fi only with an exposure.
    assert list(ctx.clicked_categories) == ["Action", "Romance", "Drama"]
    assert "Romance" in ctx.history and "Sci-Fi" not in ctx.history
    (first,) = contexts_from_log(log, mode="genre", short_k=3, members={})
    assert list(first.clicked_categories) == ["Action", "Drama"]
    (combo,) = contexts_from_log(log, mode="genre-combo", short_k=3)
    assert list(combo.clicked_categories) == ["Action|Romance", "Drama"]
