"""EXPLORE-style relevance + diversity re-ranker (after Coppolillo et al., 2024).

EXPLORE couples relevance and diversity through a copula into the probability that a user
keeps browsing and learns something new. Our offline, category-level version greedily picks

    score(c | S) = rel(c) ** lam * div(c | S) ** (1 - lam)

(a weighted product copula), where rel(c) = 1 - (rank_base(c) - 1) / |C| from the shared base
ranking, and div(c | S) = 1 - max over s in S u C_short of cos(c, s): S is what was already
picked and C_short the categories of the user's last `short_k` train clicks; cos is the
cosine similarity of two categories' user-click vectors on the train split.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from evaluation.methods.explorer import ExplorationMethod
from evaluation.protocol import TrainSplit


def category_similarity(train: TrainSplit) -> tuple[list[str], np.ndarray]:
    """Cosine similarity of categories' per-user click counts: (categories, (C, C))."""
    cats = list(train.cmap.categories)
    idx = {c: n for n, c in enumerate(cats)}
    users = sorted(train.sequences)
    m = np.zeros((len(cats), len(users)))
    for j, u in enumerate(users):
        for i in train.clicks(u):
            for c in train.cmap.members.get(i, ()):
                m[idx[c], j] += 1
    norm = np.linalg.norm(m, axis=1, keepdims=True)
    unit = m / np.where(norm == 0, 1.0, norm)
    return cats, unit @ unit.T


class Explore(ExplorationMethod):
    name = "explore"
    lam: float = 0.5  # weight of relevance in the product copula

    def fit_path(self, train: TrainSplit, seed: int) -> None:
        self.cats, self.sim = category_similarity(train)
        self.idx = {c: n for n, c in enumerate(self.cats)}

    def _path(self, base: list[str], recent: set[str], n: int) -> list[str]:
        size = len(self.cats)
        rel = np.zeros(size)
        for rank, c in enumerate(base):
            rel[self.idx[c]] = 1.0 - rank / size
        covered = [self.idx[c] for c in recent]
        picked: list[int] = []
        for _ in range(min(n, size)):
            near = self.sim[:, covered].max(axis=1) if covered else np.zeros(size)
            div = np.clip(1.0 - near, 1e-6, 1.0)  # > 0: relevance breaks ties
            score = rel**self.lam * div ** (1 - self.lam)
            score[picked] = -1.0
            best = int(np.argmax(score))
            picked.append(best)
            covered.append(best)
        return [self.cats[i] for i in picked]

    def explore(self, users: Sequence[str], n: int) -> dict[str, list[str]]:
        base = self.base.recommend(users, len(self.cats))
        k = self.train.config.short_k
        out = {}
        for u in users:
            recent = self.train.cmap.of(self.train.clicks(u)[-k:])
            out[u] = self._path(base[u], recent, n)
        return out
