"""Two plain exploration baselines: categories the user never clicked, ranked without a model.

Every serendipity method should beat both. C_hist (full) is the union of the category sets
(`cmap.members`) of the user's train clicks; a category only rated below the click threshold
is not in it. Both paths hold only categories outside C_hist and are blended into the shared
base ranking by the one blend rule (`evaluation/blend.py`).

- `unseen-popular`: the unseen categories by global training click volume (ties by name), the
  order of `category_popularity`.
- `neighbour-unseen`: user-kNN on category click vectors. A user's vector holds the clicks per
  category (an item counts for every category of its set, as `category_click_volume` counts);
  the k = 50 other users with the highest cosine similarity, among those with a positive one,
  are the neighbours. score(c) = sum over the neighbours n of clicks_n(c) / total_n, total_n
  being the sum of n's vector (so each neighbour's shares sum to 1), **unweighted** by the
  similarity. The unseen categories are ranked by score, ties (including every category no
  neighbour clicked, score 0) by global popularity, then name. A user with no clicks (or no
  neighbour with a positive similarity) gets the plain popularity order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from evaluation.methods.base import category_popularity
from evaluation.methods.explorer import ExplorationMethod
from evaluation.protocol import TrainSplit


def category_click_matrix(train: TrainSplit) -> tuple[list[str], list[str], np.ndarray]:
    """(users, categories, (U, C) click counts): row u counts u's train clicks per category."""
    users = sorted(train.sequences)
    cats = list(train.cmap.categories)
    col = {c: n for n, c in enumerate(cats)}
    rows: list[int] = []
    cols: list[int] = []
    for r, u in enumerate(users):
        for i in train.clicks(u):
            for c in train.cmap.members.get(i, ()):
                rows.append(r)
                cols.append(col[c])
    m = np.zeros((len(users), len(cats)))
    np.add.at(m, (np.asarray(rows, dtype=np.intp), np.asarray(cols, dtype=np.intp)), 1.0)
    return users, cats, m


class UnseenPopular(ExplorationMethod):
    """Path: the categories outside the user's C_hist, most clicked overall first."""

    name = "unseen-popular"

    def fit_path(self, train: TrainSplit, seed: int) -> None:
        self.order = category_popularity(train)

    def explore(self, users: Sequence[str], n: int) -> dict[str, list[str]]:
        out = {}
        for u in users:
            hist = self.train.cmap.of(self.train.clicks(u))
            out[u] = [c for c in self.order if c not in hist][:n]
        return out


class NeighbourUnseen(ExplorationMethod):
    """Path: unseen categories by the unweighted click share of the k most similar users."""

    name = "neighbour-unseen"
    k: int = 50  # neighbours per user

    def fit_path(self, train: TrainSplit, seed: int) -> None:
        users, self.cats, m = category_click_matrix(train)
        self.row = {u: r for r, u in enumerate(users)}
        pop = category_popularity(train)
        rank = {c: n for n, c in enumerate(pop)}
        self.pop_rank = np.array([rank[c] for c in self.cats])
        self.pop_cols = np.array([self.cats.index(c) for c in pop], dtype=np.intp)
        self.clicked = m > 0
        norm = np.linalg.norm(m, axis=1, keepdims=True)
        unit = m / np.where(norm == 0, 1.0, norm)
        sim = unit @ unit.T
        np.fill_diagonal(sim, -np.inf)  # never one's own neighbour
        k = min(self.k, max(len(users) - 1, 0))
        # stable sort: equal similarities keep the sorted user order, so runs are reproducible
        top = np.argsort(-sim, axis=1, kind="stable")[:, :k]
        near = np.zeros_like(sim, dtype=bool)
        np.put_along_axis(near, top, True, axis=1)
        near &= sim > 0  # a user sharing no clicked category is no neighbour
        total = m.sum(axis=1, keepdims=True)
        share = m / np.where(total == 0, 1.0, total)
        self.score = near.astype(np.float64) @ share  # (U, C)

    def explore(self, users: Sequence[str], n: int) -> dict[str, list[str]]:
        out = {}
        for u in users:
            r = self.row.get(u)
            if r is None:  # no train history at all: the popularity order
                out[u] = [self.cats[j] for j in self.pop_cols[:n]]
                continue
            order = np.lexsort((self.pop_rank, -self.score[r]))
            out[u] = [self.cats[j] for j in order if not self.clicked[r, j]][:n]
        return out
