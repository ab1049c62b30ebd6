"""Batch (offline) construction of DSIE inputs from a MovieLens `RatingLog`.

The rule (documented in docs/dsie.md):

- a rating >= ``click_threshold`` is a click; a lower rating is an exposure (shown, not clicked);
- a user's clicks in time order: the last ``short_k`` are I_short, the earlier ones I_long;
- rating data rates each item once, so the paper's per-item filter ``click_u(i) >= tau`` would
  empty every sequence. Here it counts clicks per CATEGORY instead: item i of I_long is kept in
  I'_long when the user's clicks on c(i), over all their clicks (long and short), are >= tau.
  (On click logs the stream applies the paper's per-item rule.)

Pure and small: no torch, no models import. The streaming version of the same rules lives
with the stream code.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from coea.data.movielens import RatingLog


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
        clicks = [r.item_id for r in ratings if r.rating >= click_threshold]
        split = max(len(clicks) - short_k, 0)
        long_items, short_items = clicks[:split], clicks[split:]
        per_category = Counter(categories.get(i, "unknown") for i in clicks)
        kept = [i for i in long_items if per_category[categories.get(i, "unknown")] >= tau]
        short_cats = [categories.get(i, "unknown") for i in short_items]
        features = dict(log.users.get(user_id, {}))
        out.append(UserHistory(user_id, kept, short_cats, features, short_items))
    return out


def _user_key(user_id: str) -> tuple[int, str]:
    return (int(user_id), "") if user_id.isdigit() else (1 << 62, user_id)
