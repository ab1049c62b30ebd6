"""Exploration methods: an exploration path blended into one shared base ranking.

Every exploration method (HUCB, EXPLORE, Google-v1, CoEA and its ablations) produces an
exploration path of categories per user; its final list is `blend(base, path)` with the same
`BlendConfig` and the same fitted base (SASRec by default, fitted once per seed and shared).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence

from evaluation.blend import BlendConfig, blend
from evaluation.methods.base import EXPLORATION, Method
from evaluation.protocol import TrainSplit


class BaseProvider:
    """Fits the shared base ranker once per (train split, seed) and hands it out."""

    def __init__(self, name: str, factory: Callable[[], Method]) -> None:
        self.name, self.factory = name, factory
        self._key: tuple[int, int] | None = None
        self._method: Method | None = None
        self.fit_seconds = 0.0

    def get(self, train: TrainSplit, seed: int) -> Method:
        key = (id(train), seed)
        if self._key != key or self._method is None:  # keep one fitted base: memory stays flat
            import time

            start = time.perf_counter()
            method = self.factory()
            method.fit(train, seed)
            self.fit_seconds = time.perf_counter() - start
            self._key, self._method = key, method
        return self._method


class SharedBase(Method):
    """The base ranker as a row of its own, fitted through the provider (no second fit)."""

    def __init__(self, provider: BaseProvider, kind: str) -> None:
        self.provider, self.name, self.kind = provider, provider.name, kind

    def fit(self, train: TrainSplit, seed: int) -> None:
        self.method = self.provider.get(train, seed)

    def recommend(self, users: Sequence[str], k: int) -> dict[str, list[str]]:
        return self.method.recommend(users, k)

    def recommend_items(self, users: Sequence[str], k: int) -> dict[str, list[str]] | None:
        return self.method.recommend_items(users, k)


def path_stats(
    path: Mapping[str, Sequence[str]], users: Sequence[str], config: BlendConfig, k: int = 5
) -> dict[str, float]:
    """How full the users' paths are: mean length, share of empty paths, and share of paths
    shorter than the exploration slots of the top k (the base then fills those slots)."""
    if not users:
        return {}
    slots = sum(1 for s in config.explore_slots if s <= k)
    lengths = [len(path.get(u, [])) for u in users]
    return {
        "mean_length": sum(lengths) / len(lengths),
        "empty_share": sum(1 for n in lengths if n == 0) / len(lengths),
        f"short_share@{k}": sum(1 for n in lengths if n < slots) / len(lengths),
    }


class ExplorationMethod(Method):
    """recommend = blend(base ranking, exploration path) with one fixed rule."""

    kind = EXPLORATION

    def __init__(self, provider: BaseProvider, blend_config: BlendConfig | None = None) -> None:
        self.provider = provider
        self.blend_config = blend_config or BlendConfig()
        self.path_stats: dict[str, float] = {}  # of the last scored paths (`path_stats`)

    def fit(self, train: TrainSplit, seed: int) -> None:
        self.train = train
        self.base = self.provider.get(train, seed)
        self.fit_path(train, seed)

    @abstractmethod
    def fit_path(self, train: TrainSplit, seed: int) -> None:
        """Learn the exploration path (the base is already fitted as `self.base`)."""

    @abstractmethod
    def explore(self, users: Sequence[str], n: int) -> dict[str, list[str]]:
        """Up to n exploration categories per user, best first."""

    def recommend_with_paths(
        self, users: Sequence[str], k: int
    ) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """(final blended lists, the exploration paths they were blended from)."""
        n_cats = len(self.train.cmap.categories)
        base = self.base.recommend(users, n_cats)
        path = self.explore(users, min(2 * k, n_cats))  # spare ones replace duplicates
        lists = {u: blend(base[u], path.get(u, []), k, self.blend_config) for u in users}
        self.last_lists, self.last_paths = lists, path  # what the runner scored, for hooks
        self.path_stats = path_stats(path, users, self.blend_config)
        return lists, path

    def extras(self) -> dict:
        return {"path": dict(self.path_stats)} if self.path_stats else {}

    def recommend(self, users: Sequence[str], k: int) -> dict[str, list[str]]:
        return self.recommend_with_paths(users, k)[0]
