"""MovieLens ratings as events, JSON-lines files (coea.data.events_io)."""

from __future__ import annotations

from coea.data.events_io import (
    ml_catalogue,
    ml_events,
    paced,
    read_jsonl,
    user_key,
    write_jsonl,
)
from coea.data.movielens import ItemInfo, Rating, RatingLog


def small_log():
    items = {"1": ItemInfo("1", "A", ("Drama", "War")), "2": ItemInfo("2", "B", ("Comedy",))}
    ratings = [
        Rating("7", "1", 5.0, 1000),
        Rating("7", "2", 2.0, 2000),
        Rating("8", "2", 4.0, 3000),
    ]
    return RatingLog("ml-100k", ratings, items, {"7": {"age": 30}})


def test_ratings_become_clicks_or_exposures_with_deterministic_ids():
    events = list(ml_events(small_log(), click_threshold=4, category_mode="genre-combo"))
    assert [e.kind for e in events] == ["click", "exposure", "click"]
    assert events[0].event_id == "ml100k-7-1-1000" and events[0].category == "Drama|War"
    assert events[0].features == {"age": 30} and events[1].features is None
    assert events[0].value == 5.0
    assert [e.event_id for e in ml_events(small_log())] == [e.event_id for e in events]
    assert [e.kind for e in ml_events(small_log(), click_threshold=5)] == [
        "click",
        "exposure",
        "exposure",
    ]


def test_genre_events_carry_every_genre_of_a_movie_with_several():
    genre = list(ml_events(small_log(), category_mode="genre"))
    assert genre[0].category == "Drama" and genre[0].categories == ["Drama", "War"]
    assert genre[1].category == "Comedy" and genre[1].categories is None  # one genre
    combo = list(ml_events(small_log(), category_mode="genre-combo"))
    assert combo[0].categories is None
    first_only = list(ml_events(small_log(), category_mode="genre", members={}))
    assert first_only[0].category == "Drama" and first_only[0].categories is None


def test_catalogue_records():
    items = {r.item_id: r for r in ml_catalogue(small_log(), "genre")}
    assert items["1"].category == "Drama" and items["1"].categories == ["Drama", "War"]


def test_jsonl_round_trip_reports_bad_lines_and_goes_on(tmp_path):
    path = tmp_path / "events.jsonl"
    events = list(ml_events(small_log()))
    write_jsonl(events, path)
    with open(path, "ab") as f:
        f.write(b"\n{broken\n" + b'{"kind": "click"}\n' + events[0].to_bytes() + b"\n")
    lines = list(read_jsonl(path))
    assert [ln.event for ln in lines[:3]] == events
    assert [(ln.line, ln.error is not None) for ln in lines[3:]] == [
        (5, True),
        (6, True),
        (7, False),
    ]
    assert "bad JSON" in lines[3].error and "user_id" in lines[4].error


def test_user_key_and_pacing():
    assert user_key(b'{"user_id": "9"}') == b"9"
    assert user_key(b"{nope") is None and user_key(b"[1]") is None
    events = list(ml_events(small_log()))
    assert list(paced(events, 0)) == events
    assert list(paced(events, 1000.0)) == events  # 2 s of event time at 1000x: ~2 ms
