"""The per-user state rules of coea.state: examples, then hypothesis properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coea.schemas import ClickEvent, ExposureEvent, OrderEvent
from coea.settings import Settings
from coea.state import (
    StateParams,
    UserState,
    apply_event,
    bounded_merge,
    filter_long,
    fold_events,
    merge_window_negatives,
    move_to_end,
    ordered_set_last,
    split_short,
    to_training_window,
    update_state,
)

KINDS = {"click": ClickEvent, "exposure": ExposureEvent, "order": OrderEvent}


def ev(n, kind, item, cat, user="u", ts=None, **kw):
    return KINDS[kind](
        event_id=f"e{n}", user_id=user, item_id=item, category=cat, ts=n if ts is None else ts, **kw
    )


def fold(events, **params):
    return fold_events(events, {}, StateParams(**params))["u"]


def test_short_term_is_last_k_engagements_and_set_keeps_last_occurrence():
    cats = ["a", "b", "a", "c", "b", "d"]
    state = fold([ev(i, "click", f"i{i}", c) for i, c in enumerate(cats)], short_k=4, tau=1)
    assert state.short_categories() == ["a", "c", "b", "d"]
    assert state.short_set() == ["a", "c", "b", "d"]
    assert ordered_set_last(["x", "y", "x", "z", "y"]) == ["x", "z", "y"]


def test_long_term_excludes_short_window_and_filters_by_item_clicks():
    # clicks: A A B A C A B D D D ... with K=2; A clicked 4 times, tau=3
    items = ["A", "A", "B", "A", "C", "A", "B", "D", "E"]
    state = fold([ev(i, "click", it, f"c{it}") for i, it in enumerate(items)], short_k=2, tau=3)
    p = StateParams(short_k=2, tau=3)
    # I_long = A A B A C A B (first 7 clicks): distinct in first-click order A, B, C
    assert [i for i, _ in state.long_seen] == ["A", "B", "C"]
    assert state.long_items(p) == [("A", "cA")]
    assert [i for i, _ in state.short] == ["D", "E"]


def test_category_filter_counts_clicks_on_the_category():
    items = [("m1", "drama"), ("m2", "drama"), ("m3", "comedy"), ("m4", "drama"), ("m5", "x")]
    events = [ev(i, "click", it, c) for i, (it, c) in enumerate(items)]
    p = StateParams(short_k=1, tau=3, filter_unit="category")
    state = fold_events(events, {}, p)["u"]
    assert state.long_items(p) == [("m1", "drama"), ("m2", "drama"), ("m4", "drama")]
    assert state.long_items(StateParams(short_k=1, tau=3)) == []


def test_tau_counts_short_term_clicks_too():
    # A once in I_long, then 2 more clicks of A inside the short window: cumulative 3 >= tau
    items = ["A", "B", "A", "A"]
    p = StateParams(short_k=3, tau=3)
    state = fold_events([ev(i, "click", it, "c") for i, it in enumerate(items)], {}, p)["u"]
    assert state.long_items(p) == [("A", "c")]


def test_negatives_exposed_not_clicked_move_to_end_and_clicks_remove():
    events = [
        ev(0, "exposure", "i1", "a"),
        ev(1, "exposure", "i2", "b"),
        ev(2, "exposure", "i3", "a"),
        ev(3, "click", "i4", "b"),
        ev(4, "exposure", "i5", "c"),
    ]
    assert fold(events).negatives == ["a", "c"]


def test_a_click_counts_for_every_category_of_its_item():
    events = [
        ev(0, "exposure", "i1", "romance"),
        ev(1, "click", "i2", "action", categories=["action", "romance"]),
        ev(2, "exposure", "i3", "horror", categories=["horror", "scifi"]),
    ]
    state = fold(events)
    assert state.short_categories() == ["action"]  # sequences keep the item's category
    assert state.category_clicks == {"romance": 0, "action": 1}  # eq. 3 counts c(item) only
    assert state.negatives == ["romance", "horror"]  # negatives follow c(item) only
    window = to_training_window(state, StateParams(), 0, 0, 2)
    assert set(window.clicked_categories) == {"action", "romance"}


def test_negatives_cap_keeps_most_recent():
    events = [ev(i, "exposure", f"i{i}", f"c{i}") for i in range(10)]
    assert fold(events, negatives_cap=3).negatives == ["c7", "c8", "c9"]


def test_orders_are_engagements_and_keep_value():
    events = [
        ev(0, "click", "i1", "a"),
        ev(1, "order", "i1", "a", value=12.5),
        ev(2, "order", "i2", "b", value=2.0),
    ]
    state = fold(events)
    assert state.item_clicks["i1"] == 2
    assert state.short_categories() == ["a", "a", "b"]
    assert (state.orders, state.order_value) == (2, 14.5)


def test_latest_features_win_and_are_bounded():
    events = [
        ev(0, "click", "i", "a", features={"age": 30, "g": "f"}),
        ev(1, "click", "i", "a", features={"age": 31, "x": 1, "y": 2}),
    ]
    state = fold(events, features_cap=3)
    assert state.features == {"age": 31, "x": 1, "y": 2}


def test_duplicate_event_id_changes_nothing_within_horizon():
    e = ev(0, "click", "i", "a")
    p = StateParams()
    once = apply_event(None, e, "a", p)
    twice = apply_event(once, e, "a", p)
    assert twice == once and twice.events == 1
    assert update_state(twice, e, "a", p) is False


def test_id_beyond_horizon_counts_again():
    p = StateParams(dedup_horizon=2)
    state = None
    for e in [ev(0, "click", "i", "a"), ev(1, "click", "j", "a"), ev(2, "click", "k", "a")]:
        state = apply_event(state, e, "a", p)
    state = apply_event(state, ev(0, "click", "i", "a"), "a", p)  # e0 left the horizon
    assert state.events == 4


def test_apply_event_is_pure():
    p = StateParams()
    before = apply_event(None, ev(0, "click", "i", "a"), "a", p)
    snapshot = before.to_dict()
    apply_event(before, ev(1, "exposure", "j", "b"), "b", p)
    assert before.to_dict() == snapshot


def test_json_round_trip():
    p = StateParams(short_k=2, tau=1)
    state = fold_events(
        [ev(i, "click", f"i{i % 3}", f"c{i % 4}") for i in range(9)]
        + [ev(9, "exposure", "z", "q")],
        {},
        p,
    )["u"]
    again = UserState.from_json(state.to_json())
    assert again == state and again.long_items(p) == state.long_items(p)
    assert update_state(again, ev(3, "click", "i0", "c0"), "c0", p) is False  # ids survive


def test_window_accumulators_reset_per_window_and_training_window():
    p = StateParams(short_k=3, tau=1)
    state = UserState("u")
    update_state(state, ev(0, "click", "i1", "a"), "a", p, window_id=0)
    update_state(state, ev(1, "click", "i2", "b"), "b", p, window_id=1)
    update_state(state, ev(2, "exposure", "i3", "c"), "c", p, window_id=1)
    update_state(state, ev(3, "exposure", "i4", "b"), "b", p, window_id=1)
    tw = to_training_window(state, p, 1, 10, 20)
    assert (tw.window_id, tw.positives, tw.negatives) == (1, ["b"], ["c"])
    assert tw.short_categories == ["a", "b"] and tw.short_set == ["a", "b"]
    assert (tw.ts_start, tw.ts_end) == (10, 20)


def test_fold_uses_catalogue_when_event_has_no_category_and_raises_on_unknown():
    e = ClickEvent(event_id="e", user_id="u", item_id="m", ts=1)
    assert fold_events([e], {"m": "drama"}, StateParams())["u"].short_categories() == ["drama"]
    with pytest.raises(KeyError, match="unknown item"):
        fold_events([e], {}, StateParams())
    assert fold_events([e], {}, StateParams(), on_unknown="skip") == {}


def test_params_from_settings_and_validation():
    p = StateParams.from_settings(Settings(tau=7, filter_unit="category"))
    assert (p.tau, p.filter_unit, p.short_k) == (7, "category", 10)
    with pytest.raises(ValueError):
        StateParams(filter_unit="genre")
    with pytest.raises(ValueError):
        StateParams(long_cap=10, long_candidates_cap=5)


# --- properties ------------------------------------------------------------------------------

event_specs = st.lists(
    st.tuples(
        st.sampled_from(["click", "exposure", "order"]),
        st.integers(0, 12),  # item
        st.integers(0, 5),  # category
        st.integers(0, 40),  # event id (repeats = redeliveries)
    ),
    max_size=80,
)
small_params = st.builds(
    StateParams,
    tau=st.integers(1, 4),
    short_k=st.integers(1, 5),
    long_cap=st.integers(1, 6),
    negatives_cap=st.integers(1, 4),
    dedup_horizon=st.integers(1, 50),
    filter_unit=st.sampled_from(["item", "category"]),
    long_candidates_cap=st.just(8),
    click_counts_cap=st.just(14),
    features_cap=st.integers(1, 3),
    window_cap=st.integers(1, 5),
)


def _events(specs):
    # the category is a function of the item, as in a catalogue
    return [
        ev(eid, kind, f"i{item}", f"c{item % 6}", ts=n, features={f"f{eid % 4}": n})
        for n, (kind, item, _, eid) in enumerate(specs)
    ]


def _fold(events, p):
    state = UserState("u")
    for e in events:
        update_state(state, e, e.category, p, window_id=e.ts // 10)
    return state


@settings(max_examples=150, deadline=None)
@given(event_specs, small_params)
def test_caps_always_hold(specs, p):
    state = _fold(_events(specs), p)
    assert len(state.short) <= p.short_k
    assert len(state.long_items(p)) <= p.long_cap
    assert len(state.long_seen) <= p.long_candidates_cap
    assert len(state.negatives) <= p.negatives_cap
    assert len(state.recent_ids) <= p.dedup_horizon
    assert len(state.item_clicks) <= p.click_counts_cap
    assert len(state.features) <= p.features_cap
    assert len(state.window_positives) <= p.window_cap >= len(state.window_negatives)


@settings(max_examples=150, deadline=None)
@given(event_specs, small_params)
def test_short_term_and_filter_match_a_direct_computation(specs, p):
    p = StateParams(**{**p.__dict__, "dedup_horizon": 10_000})  # ids never leave the horizon
    events, seen = [], set()
    for e in _events(specs):
        if e.event_id not in seen:
            seen.add(e.event_id)
            events.append(e)
    state = _fold(_events(specs), p)
    clicks = [(e.item_id, e.category) for e in events if e.kind != "exposure"]
    short = clicks[-p.short_k :]
    assert state.short == short
    assert state.short_set() == list(dict.fromkeys(reversed([c for _, c in short])))[::-1]
    long_part = clicks[: max(len(clicks) - p.short_k, 0)]
    first = list(dict.fromkeys(long_part))
    unit = 0 if p.filter_unit == "item" else 1
    count = {}
    for click in clicks:
        count[click[unit]] = count.get(click[unit], 0) + 1
    expected = [x for x in first if count[x[unit]] >= p.tau]
    if len(first) <= p.long_candidates_cap:
        assert state.long_items(p) == expected[-p.long_cap :]
    for item, cat in state.long_items(p):
        assert count[(item, cat)[unit]] >= p.tau


@settings(max_examples=100, deadline=None)
@given(event_specs, small_params)
def test_replaying_any_prefix_again_changes_nothing(specs, p):
    p = StateParams(**{**p.__dict__, "dedup_horizon": 10_000})
    events = _events(specs)
    state = _fold(events, p)
    again = state.copy()
    for e in events[: len(events) // 2] + events:
        assert update_state(again, e, e.category, p, window_id=e.ts // 10) is False
    assert again == state


# --- the list rules the batch readers and the learner share ---------------------------------


def test_move_to_end_keeps_a_bounded_most_recent_list_without_repeats():
    values = ["a", "b", "c"]
    move_to_end(values, "a", cap=3)
    assert values == ["b", "c", "a"]
    move_to_end(values, "d", cap=3)
    assert values == ["c", "a", "d"]
    move_to_end(values, "e")
    assert values == ["c", "a", "d", "e"]


def test_bounded_merge_and_ordered_set_last():
    assert bounded_merge(["a", "b"], ["c", "a"], cap=10) == ["b", "c", "a"]
    assert bounded_merge(["a", "b"], ["c", "a"], cap=2) == ["c", "a"]
    assert bounded_merge(["a", "b", "c"], [], cap=2) == ["b", "c"]
    assert ordered_set_last(["a", "b", "a"]) == ["b", "a"]


def test_split_short_takes_the_last_k_clicks():
    assert split_short([1, 2, 3, 4], 3) == ([1], [2, 3, 4])
    assert split_short([1, 2], 3) == ([], [1, 2])


def test_filter_long_counts_by_item_or_by_category():
    pairs = [("m1", "drama"), ("m2", "comedy"), ("m3", "drama")]
    assert filter_long(pairs, {"drama": 3, "comedy": 1}, 2, "category") == [pairs[0], pairs[2]]
    assert filter_long(pairs, {"m2": 2}, 2, "item") == [pairs[1]]
    with pytest.raises(ValueError, match="unit"):
        filter_long(pairs, {}, 1, "genre")


def test_merge_window_negatives_drops_what_the_window_clicked():
    merged = merge_window_negatives(["a", "b", "c"], ["d", "b", "e"], ["c", "e"], cap=3)
    assert merged == ["a", "d", "b"]  # c, e clicked; b moved to the end


def _old_bounded_merge(old, new, cap):
    """The learner's merge as it was written before the rules were shared (a reference)."""
    out = list(old)
    for c in new:
        if c in out:
            out.remove(c)
        out.append(c)
    return out[-cap:]


def _old_ordered_set_last(values):
    seen: dict[str, None] = {}
    for v in values:
        seen.pop(v, None)
        seen[v] = None
    return list(seen)


letters = st.lists(st.sampled_from("abcdefgh"), max_size=30)


@given(letters, letters, st.integers(1, 10))
def test_bounded_merge_matches_its_reference(old, new, cap):
    old = _old_ordered_set_last(old)  # the learner's lists never repeat a value
    assert bounded_merge(old, new, cap) == _old_bounded_merge(old, new, cap)


@given(letters)
def test_ordered_set_last_matches_its_reference(values):
    assert ordered_set_last(values) == _old_ordered_set_last(values)
