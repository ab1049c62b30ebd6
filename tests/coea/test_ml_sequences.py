"""coea.data.sequences: clicks, short/long split and the per-category tau filter."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict

from coea.data.movielens import ItemInfo, Rating, RatingLog, load_ml_100k
from coea.data.sequences import ml_user_sequences

ITEMS = {
    "c1": ItemInfo("c1", "C1", ("Comedy",)),
    "c2": ItemInfo("c2", "C2", ("Comedy",)),
    "c3": ItemInfo("c3", "C3", ("Comedy", "Drama")),
    "d1": ItemInfo("d1", "D1", ("Drama",)),
    "h1": ItemInfo("h1", "H1", ("Horror",)),
}


def _log(rows: list[tuple[str, str, float]]) -> RatingLog:
    ratings = [Rating(u, i, r, 1000 * t) for t, (u, i, r) in enumerate(rows)]
    return RatingLog("toy", ratings, ITEMS, {"1": {"age": 30, "gender": "F"}})


def test_clicks_split_filter_and_short_categories():
    rows = [
        ("1", "c1", 5),
        ("1", "d1", 4),
        ("1", "h1", 2),
        ("1", "c2", 4),
        ("1", "c3", 5),
        ("2", "h1", 5),
        ("1", "d1", 3),
        ("1", "h1", 4),
    ]
    (u1, u2) = ml_user_sequences(_log(rows), tau=3, click_threshold=4.0, short_k=2)
    # user 1 clicks in order: c1 d1 c2 c3 h1 -> I_short = [c3, h1], I_long = [c1, d1, c2]
    # clicks per genre: Comedy 3 (c1, c2, c3), Drama 1, Horror 1 -> keep Comedy only
    assert u1.user_id == "1" and u1.long_items == ["c1", "c2"]
    assert u1.short_items == ["c3", "h1"] and u1.short_categories == ["Comedy", "Horror"]
    assert u1.features == {"age": 30, "gender": "F"}
    assert u2.user_id == "2" and u2.long_items == [] and u2.short_items == ["h1"]
    assert u2.features == {}


def test_genre_combo_mode_and_threshold():
    rows = [("1", "c3", 4), ("1", "c3", 4), ("1", "c1", 3.5)]
    (u,) = ml_user_sequences(_log(rows), tau=1, click_threshold=3.5, short_k=1, mode="genre-combo")
    assert u.long_items == ["c3", "c3"] and u.short_categories == ["Comedy"]


def test_ml100k_sequences(ml100k):
    hs = ml_user_sequences(load_ml_100k(ml100k))
    assert len(hs) == 943
    assert all(len(h.short_categories) <= 10 for h in hs)
    assert sum(len(h.long_items) for h in hs) > 20_000
    assert {"age", "gender", "occupation"} <= set(hs[0].features)


def test_ml100k_sequences_are_pinned(ml100k):
    """The reader's whole output on ML-100K (both category modes), pinned: the shared rules it
    calls (coea.state) must leave it unchanged."""
    log = load_ml_100k(ml100k)
    hs = ml_user_sequences(log)
    assert sum(len(h.long_items) for h in hs) == 39_169
    assert sum(len(h.short_items) for h in hs) == 9_296
    assert hs[0].long_items[:5] == ["168", "172", "165", "156", "166"]
    assert _digest([asdict(h) for h in hs]) == "213c11678ee230e4"
    combo = ml_user_sequences(log, mode="genre-combo")
    assert _digest([asdict(h) for h in combo]) == "2eb2f6020a0e93cf"


def test_a_rating_at_the_threshold_is_a_click():
    r = Rating("1", "c1", 4.0, 0)
    assert r.is_click(4.0) and not r.is_click(4.5)


def _digest(rows) -> str:
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode()).hexdigest()[:16]


def test_load_movielens_dispatches_by_name_and_names_an_unknown_set(ml100k):
    import pytest

    from coea.data.movielens import load_movielens

    assert load_movielens("ml-100k", ml100k).name == "ml-100k"
    with pytest.raises(ValueError, match="unknown MovieLens set 'ml-20m'"):
        load_movielens("ml-20m", ml100k)
