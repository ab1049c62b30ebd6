"""The one contract every compared method keeps, and the item -> category aggregation.

A method is fitted on a `TrainSplit` with a seed, then ranks categories for users. Item
rankers (two-tower, GRU4Rec, SASRec, BERT4Rec, most-popular) implement `score_items` and
inherit `recommend_items` and `recommend`: their category list is the aggregation of their
item ranking (see `items_to_categories`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Sequence

import numpy as np

from evaluation.protocol import CategoryMap, TrainSplit

#: Method types, as the rows of the paper's Table 2 are grouped.
EXPLOITATION, EXPLORATION, OURS = "Exploitation", "Exploration", "Ours"


class Method(ABC):
    """fit(train, seed) once, then recommend(users, k) -> user -> ranked distinct categories."""

    name: str = "method"
    kind: str = EXPLOITATION

    @abstractmethod
    def fit(self, train: TrainSplit, seed: int) -> None:
        """Learn from the train split only (no held-out data)."""

    @abstractmethod
    def recommend(self, users: Sequence[str], k: int) -> dict[str, list[str]]:
        """Top-k distinct categories per user, best first."""

    def recommend_items(self, users: Sequence[str], k: int) -> dict[str, list[str]] | None:
        """Top-k unseen items per user, or None when the method does not rank items."""
        return None


def category_popularity(train: TrainSplit) -> list[str]:
    """All categories by training click volume, most clicked first (ties by name)."""
    vol = train.category_click_volume()
    return sorted(train.cmap.categories, key=lambda c: (-vol[c], c))


def items_to_categories(
    ranked_items: Sequence[str], cmap: CategoryMap, fallback: Sequence[str], top_n: int = 50
) -> list[str]:
    """Turn an item ranking into a category ranking.

    score(c) = sum over the top `top_n` items i with c in cats(i) of 1 / rank(i), where
    cats(i) is the item's category set (all genres of a movie in `genre` mode). Categories
    with no item in the top `top_n` follow in `fallback` order (global popularity).
    """
    score: Counter[str] = Counter()
    for rank, item in enumerate(ranked_items[:top_n], start=1):
        for c in cmap.members.get(item, ()):
            score[c] += 1.0 / rank
    head = sorted(score, key=lambda c: (-score[c], c))
    seen = set(head)
    return head + [c for c in fallback if c not in seen]


class ItemRanker(Method):
    """A method that scores every item for a user; categories come from its item ranking."""

    top_n: int = 50  # items aggregated into the category ranking

    def _prepare(self, train: TrainSplit) -> None:
        self.train = train
        self.item_ids: list[str] = sorted(train.cmap.label, key=lambda i: (len(i), i))
        self.item_index = {i: n for n, i in enumerate(self.item_ids)}
        self.fallback = category_popularity(train)

    @abstractmethod
    def score_items(self, users: Sequence[str]) -> np.ndarray:
        """(U, I) scores over `self.item_ids` for `users` (higher is better)."""

    def _ranked_items(self, users: Sequence[str], n: int) -> dict[str, list[str]]:
        scores = np.array(self.score_items(users), dtype=np.float64, copy=True)
        out: dict[str, list[str]] = {}
        for row, user in enumerate(users):
            seen = [self.item_index[r.item_id] for r in self.train.sequences.get(user, [])]
            scores[row, seen] = -np.inf  # never re-recommend an item the user has rated
            top = np.argsort(-scores[row], kind="stable")[:n]
            out[user] = [self.item_ids[j] for j in top if np.isfinite(scores[row, j])]
        return out

    def recommend_items(self, users: Sequence[str], k: int) -> dict[str, list[str]]:
        return self._ranked_items(users, k)

    def recommend(self, users: Sequence[str], k: int) -> dict[str, list[str]]:
        ranked = self._ranked_items(users, max(self.top_n, k))
        cmap = self.train.cmap
        return {
            u: items_to_categories(r, cmap, self.fallback, self.top_n)[:k]
            for u, r in ranked.items()
        }
