"""The temporal split and the category sets the metrics read."""

from __future__ import annotations

import pytest

from coea.data.movielens import ItemInfo, Rating, RatingLog
from evaluation.protocol import ProtocolConfig, build_split, long_tail, split_user

ITEMS = {
    "1": ItemInfo("1", "m1", ("Action", "Comedy")),
    "2": ItemInfo("2", "m2", ("Drama",)),
    "3": ItemInfo("3", "m3", ("Comedy",)),
    "4": ItemInfo("4", "m4", ("Horror", "Drama")),
    "5": ItemInfo("5", "m5", ("Western",)),
}


def _log(rows: list[tuple[str, str, float, int]]) -> RatingLog:
    ratings = [Rating(u, i, r, t) for u, i, r, t in rows]
    return RatingLog("toy", sorted(ratings, key=lambda r: r.ts), ITEMS)


def _user(u: str, items_ratings: list[tuple[str, float]], t0: int = 0):
    return [(u, i, r, t0 + n) for n, (i, r) in enumerate(items_ratings)]


def test_split_user_takes_last_fraction_with_minimum() -> None:
    ratings = [Rating("u", str(i), 4.0, i) for i in range(30)]
    cfg = ProtocolConfig(test_fraction=0.2, min_test=5, min_train=3)
    train, test = split_user(ratings, cfg)
    assert [r.ts for r in test] == list(range(24, 30))  # ceil(0.2 * 30) = 6
    assert len(train) == 24
    train, test = split_user(ratings[:10], cfg)
    assert len(test) == 5  # the minimum wins over ceil(0.2 * 10) = 2
    train, test = split_user(ratings[:7], cfg)
    assert test == [] and len(train) == 7  # 7 - 5 < min_train: trained on, not evaluated


def test_category_sets_use_all_genres_and_clicks_only() -> None:
    # 3 train (1: Action|Comedy click, 2: Drama click, 5: Western low rating), 5 held out.
    rows = _user(
        "u", [("1", 5), ("2", 4), ("5", 2), ("3", 4), ("4", 5), ("5", 1), ("2", 3), ("3", 2)]
    )
    split = build_split(_log(rows), ProtocolConfig(min_ratings=5, min_train=3))
    t = split.targets["u"]
    assert t.hist_full == {"Action", "Comedy", "Drama"}  # Western was rated 2: not a click
    assert t.pref == {"Comedy", "Horror", "Drama"}  # clicks 3 and 4 (Horror|Drama)
    assert t.future_items == {"3", "4"}
    assert t.seen_items == {"1", "2", "5"}
    first = build_split(_log(rows), ProtocolConfig(min_ratings=5, min_train=3, all_genres=False))
    assert first.targets["u"].hist_full == {"Action", "Drama"}
    assert first.targets["u"].pref == {"Comedy", "Horror"}


def test_genre_combo_mode_and_short_window() -> None:
    rows = _user(
        "u", [("1", 5), ("2", 5), ("3", 5), ("4", 5), ("1", 5), ("2", 5), ("3", 5), ("4", 5)]
    )
    cfg = ProtocolConfig(mode="genre-combo", min_ratings=5, min_train=3, short_k=1)
    t = build_split(_log(rows), cfg).targets["u"]
    assert t.hist_full == {"Action|Comedy", "Drama", "Comedy"}
    assert t.hist_short == {"Comedy"}  # the last train click only


def test_users_filtered_and_without_future_clicks_not_evaluated() -> None:
    few = _user("few", [("1", 5)] * 4)  # < min_ratings: dropped entirely
    cold = _user(
        "cold", [("1", 5), ("2", 5), ("3", 5), ("4", 1), ("5", 1), ("4", 2), ("5", 1), ("2", 1)]
    )
    split = build_split(_log(few + cold), ProtocolConfig(min_ratings=5, min_train=3))
    assert "few" not in split.train.sequences
    assert "cold" in split.train.sequences  # trained on ...
    assert "cold" not in split.targets  # ... but no held-out click: not evaluated


def test_long_tail_is_bottom_fraction_by_volume() -> None:
    from collections import Counter

    vol = Counter({"a": 10, "b": 0, "c": 3, "d": 7, "e": 1})
    assert long_tail(vol, 0.2) == {"b"}
    assert long_tail(vol, 0.4) == {"b", "e"}


def test_bad_config_rejected() -> None:
    with pytest.raises(ValueError):
        ProtocolConfig(mode="tag")


def test_ml100k_split_shape(ml100k) -> None:
    from coea.data import load_ml_100k

    split = build_split(load_ml_100k(ml100k), ProtocolConfig(mode="genre-combo"))
    assert split.n_categories == 216
    assert len(split.train.sequences) == 943
    assert 800 < len(split.targets) <= 943
    assert len(split.tail) == 44  # ceil(0.2 * 216)
    for t in list(split.targets.values())[:50]:
        assert t.pref and not (t.future_items & t.seen_items)
