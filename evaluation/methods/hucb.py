"""HUCB-style hierarchical UCB over categories (after Song et al., 2022), on river's UCB.

Hierarchy (two levels under the root): in `genre-combo` mode a leaf (genre combination) sits
under its first genre; in `genre` mode a leaf (genre) sits under its popularity bucket
(quintile of training click volume). Per user, every train interaction is a pull of each
category the item counts for (reward 1 for a click, 0 otherwise), at both levels. Before the
user's own pulls, each arm gets `prior_pulls` pulls at its global click rate, so unseen arms
have a finite, optimistic bound instead of river's infinite one.

The exploration path is read by walking root -> parent -> leaf with UCB at each level; after
each pick both arms get a virtual pull at their current mean (the slate is not yet clicked),
which shrinks their bonus and lets other branches through.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from river import bandit

from evaluation.methods.explorer import ExplorationMethod
from evaluation.protocol import TrainSplit


def category_parents(train: TrainSplit, buckets: int = 5) -> dict[str, str]:
    """leaf category -> parent node of the two-level hierarchy (see module docstring)."""
    cats = train.cmap.categories
    if train.cmap.mode == "genre-combo":
        return {c: c.split("|")[0] for c in cats}
    vol = train.category_click_volume()
    order = sorted(cats, key=lambda c: (vol[c], c))
    return {c: f"pop-q{n * buckets // len(order)}" for n, c in enumerate(order)}


class HUCB(ExplorationMethod):
    name = "hucb"
    delta: float = 1.0  # UCB1 confidence scale (rewards are 0/1)
    prior_pulls: int = 1  # pseudo-pulls per arm at the global click rate

    def fit_path(self, train: TrainSplit, seed: int) -> None:
        self.seed = seed
        self.parent = category_parents(train)
        pulls: Counter[str] = Counter()
        clicks: Counter[str] = Counter()
        thr = train.config.click_threshold
        for seq in train.sequences.values():
            for r in seq:
                for c in train.cmap.members.get(r.item_id, ()):
                    pulls[c] += 1
                    clicks[c] += r.is_click(thr)
        self.rate = {c: clicks[c] / pulls[c] if pulls[c] else 0.0 for c in train.cmap.categories}

    def _policies(self, user: str) -> tuple[bandit.UCB, dict[str, bandit.UCB]]:
        root = bandit.UCB(delta=self.delta, seed=self.seed)
        children: dict[str, bandit.UCB] = defaultdict(
            lambda: bandit.UCB(self.delta, seed=self.seed)
        )
        for c, rate in self.rate.items():
            for _ in range(self.prior_pulls):
                root.update(self.parent[c], rate)
                children[self.parent[c]].update(c, rate)
        thr = self.train.config.click_threshold
        for r in self.train.sequences.get(user, []):
            reward = float(r.is_click(thr))
            for c in self.train.cmap.members.get(r.item_id, ()):
                root.update(self.parent[c], reward)
                children[self.parent[c]].update(c, reward)
        return root, children

    def _path(self, user: str, n: int) -> list[str]:
        root, children = self._policies(user)
        remaining: dict[str, list[str]] = defaultdict(list)
        for c in self.train.cmap.categories:
            remaining[self.parent[c]].append(c)
        out: list[str] = []
        while len(out) < n and remaining:
            p = root.pull(sorted(remaining))
            leaf = children[p].pull(remaining[p])
            out.append(leaf)
            root.update(p, root._rewards[p].get())  # virtual pull at the current mean
            children[p].update(leaf, children[p]._rewards[leaf].get())
            remaining[p].remove(leaf)
            if not remaining[p]:
                del remaining[p]
        return out

    def explore(self, users: Sequence[str], n: int) -> dict[str, list[str]]:
        return {u: self._path(u, n) for u in users}
