"""Batch (offline) construction of DSIE inputs from a MovieLens `RatingLog`.

The rule (documented in docs/dsie.md):

- a rating >= ``click_threshold`` is a click; a lower rating is an exposure (shown, not clicked)
  (`coea.data.movielens.Rating.is_click`);
- a user's clicks in time order: the last ``short_k`` are I_short, the earlier ones I_long
  (`coea.state.split_short`);
- rating data rates each item once, so the paper's per-item filter ``click_u(i) >= tau`` would
  empty every sequence. Here it counts clicks per CATEGORY instead: item i of I_long is kept in
  I'_long when the user's clicks on c(i), over all their clicks (long and short), are >= tau
  (`coea.state.filter_long` with ``unit="category"``).

The stream folds the same rules event by event (`coea.state.update_state`); it differs from
this reader where a rating log needs nothing of it: its filter unit is a setting (per item on
click logs), and it caps I'_long at ``long_cap`` items and its counters at their bounds.

Pure and small: no torch, no models import.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from coea.data.movielens import RatingLog
from coea.state import filter_long, split_short


@dataclass(frozen=True)
class UserHistory:
    user_id: str
    long_items: list[str]  # I'_long, oldest first
    short_categories: list[str]  # C_short: categories of I_short, oldest first
    features: dict[str, str | int | float | bool] = field(default_factory=dict)
    short_items: list[str] = field(default_factory=list)  # I_short, oldest first


def ml_user_sequences(
    log: RatingLog,
    tau: int = 5,
    click_threshold: float = 4.0,
    short_k: int = 10,
    mode: str = "genre",
) -> list[UserHistory]:
    """One `UserHistory` per user with at least one rating, in user-id order.

    Args:
        log: ratings (time-ordered), items and user features.
        tau: minimum clicks of the user on an item's category to keep the item in I'_long.
        click_threshold: ratings at or above this are clicks.
        short_k: length K of the short-term sequence (the most recent clicks).
        mode: category mode of `ItemInfo.category` ("genre" or "genre-combo").
    """
    categories = log.categories(mode)
    out = []
    for user_id, ratings in sorted(log.by_user().items(), key=lambda kv: _user_key(kv[0])):
        clicks = [r.item_id for r in ratings if r.is_click(click_threshold)]
        long_items, short_items = split_short(clicks, short_k)
        per_category = Counter(categories.get(i, "unknown") for i in clicks)
        pairs = ((i, categories.get(i, "unknown")) for i in long_items)
        kept = [i for i, _ in filter_long(pairs, per_category, tau, "category")]
        short_cats = [categories.get(i, "unknown") for i in short_items]
        features = dict(log.users.get(user_id, {}))
        out.append(UserHistory(user_id, kept, short_cats, features, short_items))
    return out


def _user_key(user_id: str) -> tuple[int, str]:
    return (int(user_id), "") if user_id.isdigit() else (1 << 62, user_id)
