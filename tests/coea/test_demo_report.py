"""The demo report's measures: unseen-popular lists, hit rate, distinct and same-list counts,
and its plot."""

from __future__ import annotations

from coea.demo_report import (
    ClickLog,
    distinct,
    hit_rate,
    plot,
    popularity_order,
    same_list,
    unseen_popular,
    unseen_popular_lists,
)
from coea.schemas import ClickEvent, ExposureEvent, OrderEvent


def _click(user, cat, ts):
    return ClickEvent(
        event_id=f"{user}-{ts}", user_id=user, item_id=f"i-{cat}", category=cat, ts=ts
    )


def _events():
    return [
        _click("u1", "a", 1),
        _click("u1", "a", 2),
        _click("u2", "a", 3),
        _click("u2", "b", 4),
        _click("u3", "c", 5),
        _click("u3", "b", 6),
        # neither exposures nor orders count as clicks
        ExposureEvent(event_id="x1", user_id="u1", item_id="i-d", category="d", ts=7),
        OrderEvent(event_id="x2", user_id="u1", item_id="i-d", category="d", ts=8),
        ExposureEvent(event_id="x3", user_id="u1", item_id="i-d", category="d", ts=9),
    ]


def test_click_log_counts_only_clicks():
    log = ClickLog.of(_events())
    assert log.events == 9
    assert log.counts() == {"a": 3, "b": 2, "c": 1}
    assert log.clicked() == {"u1": {"a"}, "u2": {"a", "b"}, "u3": {"b", "c"}}
    assert log.until(4).counts() == {"a": 3}
    assert log.until(None) is log


def test_popularity_order_ties_by_name_and_never_clicked_last():
    assert popularity_order({"b": 2, "a": 2, "c": 5}, ["d", "a", "e"]) == ["c", "a", "b", "d", "e"]


def test_unseen_popular_skips_what_the_user_clicked():
    order = ["a", "b", "c", "d", "e", "f", "g"]
    assert unseen_popular(order, {"a", "c"}) == ["b", "d", "e", "f", "g"]
    assert unseen_popular(order, {"a", "c"}, n=2) == ["b", "d"]
    assert unseen_popular(order, set(order)) == []


def test_unseen_popular_lists_from_events():
    lists = unseen_popular_lists(ClickLog.of(_events()), ["u1", "u3", "new"], ["d", "e"], n=3)
    # popularity: a 3, b 2, c 1, then d and e (never clicked) by name
    assert lists == {"u1": ["b", "c", "d"], "u3": ["a", "d", "e"], "new": ["a", "b", "c"]}


def test_hit_rate_looks_at_the_first_k_only():
    hidden = {"u1": ["x"], "u2": ["y"], "u3": ["z"]}
    lists = {"u1": ["a", "x"], "u2": ["a", "b", "c", "d", "e", "y"], "u3": []}
    assert hit_rate(lists, hidden) == 1 / 3
    assert hit_rate(lists, hidden, k=6) == 2 / 3
    assert hit_rate(lists, hidden, k=1) == 0
    assert hit_rate({}, hidden) is None


def test_distinct_and_same_list():
    lists = {
        "u1": ["a", "b", "c", "d", "e", "z"],
        "u2": ["e", "d", "c", "b", "a"],  # the same five in another order
        "u3": ["a", "b", "c", "d", "f"],
        "u4": [],
    }
    assert distinct(lists) == 6  # "z" is beyond the first five
    share, top = same_list(lists)
    assert share == 2 / 3 and top == ["a", "b", "c", "d", "e"]
    assert same_list({"u": []}) == (None, [])


def test_plot_writes_a_png(tmp_path):
    per_cycle = [
        {"cycle": 1, "hidden_hit_at_5": 0.1, "unseen_popular_hidden_hit_at_5": 0.05},
        {"cycle": 2, "hidden_hit_at_5": 0.3, "unseen_popular_hidden_hit_at_5": 0.06},
    ]
    png = plot(
        tmp_path / "served.png",
        {"a": 10, "b": 3},
        ["a", "b", "c"],
        {"u1": ["b", "c"]},
        {"u1": ["c"]},
        {"u1": ["c"]},
        per_cycle,
        0.07,
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
