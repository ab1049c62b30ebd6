"""Popularity baselines: global most-popular items, and each user's own top categories."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from evaluation.methods.base import EXPLOITATION, ItemRanker, Method, category_popularity
from evaluation.protocol import TrainSplit


class MostPopular(ItemRanker):
    """Items by training click count (same for everyone); categories by aggregation."""

    name, kind = "most-popular", EXPLOITATION

    def fit(self, train: TrainSplit, seed: int) -> None:
        self._prepare(train)
        counts = Counter(i for u in train.sequences for i in train.clicks(u))
        self.pop = np.array([counts[i] for i in self.item_ids], dtype=np.float64)

    def score_items(self, users: Sequence[str]) -> np.ndarray:
        return np.tile(self.pop, (len(users), 1))


class UserPopular(Method):
    """Each user's own most-clicked train categories first, then global popularity.

    Not in the paper: the plainest "more of the same" ranking, kept as a sanity floor for
    quality (C-H, C-N) and a ceiling for how little novelty a ranking can have.
    """

    name, kind = "user-popular", EXPLOITATION

    def fit(self, train: TrainSplit, seed: int) -> None:
        self.train = train
        self.global_order = category_popularity(train)

    def recommend(self, users: Sequence[str], k: int) -> dict[str, list[str]]:
        rank = {c: n for n, c in enumerate(self.global_order)}
        out = {}
        for u in users:
            own = Counter(c for i in self.train.clicks(u) for c in self.train.cmap.members[i])
            out[u] = sorted(self.global_order, key=lambda c: (-own[c], rank[c]))[:k]
        return out
