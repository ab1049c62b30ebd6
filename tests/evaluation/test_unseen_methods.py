"""The unseen-category baselines: paths outside C_hist, their orders, the shared blend."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest

from coea.data.movielens import Rating
from evaluation.blend import BlendConfig, blend
from evaluation.methods import CHEAP_METHODS, SPECS, MethodSettings, build_methods
from evaluation.methods.base import EXPLORATION, Method, category_popularity
from evaluation.methods.explorer import BaseProvider
from evaluation.methods.unseen import NeighbourUnseen, UnseenPopular
from evaluation.protocol import CategoryMap, ProtocolConfig, TrainSplit


def make_split(
    history: dict[str, list[tuple[str, float]]],
    members: dict[str, tuple[str, ...]],
    extra_categories: Sequence[str] = (),
) -> TrainSplit:
    """A train split from user -> [(item, rating)] and item -> category set (genre mode)."""
    label = {i: cs[0] for i, cs in members.items()}
    cats = sorted({c for cs in members.values() for c in cs} | set(extra_categories))
    cmap = CategoryMap("genre", label, members, tuple(cats))
    seqs = {u: [Rating(u, i, r, t) for t, (i, r) in enumerate(rows)] for u, rows in history.items()}
    return TrainSplit(seqs, cmap, ProtocolConfig())


class FixedBase(Method):
    """A base ranker that gives every user the same category ranking."""

    def __init__(self, ranking: list[str]) -> None:
        self.ranking = ranking

    def fit(self, train: TrainSplit, seed: int) -> None:
        pass

    def recommend(self, users: Sequence[str], k: int) -> dict[str, list[str]]:
        return {u: self.ranking[:k] for u in users}


def fitted(cls, split: TrainSplit, base: list[str] | None = None, **attrs):
    ranking = base or list(split.cmap.categories)
    method = cls(BaseProvider("fixed", lambda: FixedBase(ranking)), BlendConfig())
    for key, value in attrs.items():
        setattr(method, key, value)
    method.fit(split, seed=0)
    return method


# One item per category, except "xy" (both X and Y: a genre-mode multi-genre movie).
MEMBERS = {
    "a": ("A",),
    "b": ("B",),
    "c": ("C",),
    "d": ("D",),
    "x": ("X",),
    "xy": ("X", "Y"),
}


def _clicks(item: str, n: int) -> list[tuple[str, float]]:
    return [(item, 5.0)] * n


@pytest.fixture
def neighbour_split() -> TrainSplit:
    """u0 clicks X; n1, n2 click mostly X and a little B; f1..f5 click X once, A and C a lot.

    Global clicks: A = 25, C = 20, X = 1 + 6 + 5 = 12, B = 2, D = 0 -> B is the least
    clicked category anyone clicked, yet u0's nearest users (cosine 0.95 vs 0.15) click it.
    """
    history = {
        "u0": _clicks("x", 1),
        "n1": _clicks("x", 3) + _clicks("b", 1),
        "n2": _clicks("x", 3) + _clicks("b", 1),
    }
    for f in range(1, 6):
        history[f"f{f}"] = _clicks("x", 1) + _clicks("a", 5) + _clicks("c", 4)
    return make_split(history, {i: MEMBERS[i] for i in "abcdx"})


def test_paths_never_hold_a_clicked_category() -> None:
    """C_hist counts every category of a clicked item (Y through "xy"), not low ratings (D)."""
    history = {
        "u": [("xy", 5.0), ("a", 4.0), ("d", 2.0)],  # clicks X, Y, A; D only rated 2
        "v": _clicks("b", 3) + _clicks("xy", 2) + _clicks("d", 1),
        "w": _clicks("c", 2) + _clicks("a", 4) + [("b", 1.0)],
    }
    split = make_split(history, MEMBERS)
    for cls in (UnseenPopular, NeighbourUnseen):
        method = fitted(cls, split)
        paths = method.explore(list(history), 10)
        for u, path in paths.items():
            hist = split.cmap.of(split.clicks(u))
            assert path, (cls.name, u)
            assert not set(path) & hist, (cls.name, u, path)
            assert sorted(path) == sorted(set(split.cmap.categories) - hist), (cls.name, u)
        assert "D" in paths["u"] and not {"X", "Y", "A"} & set(paths["u"]), cls.name


def test_unseen_popular_is_popularity_restricted_to_unseen() -> None:
    history = {
        "u": _clicks("c", 1),
        "v": _clicks("a", 3) + _clicks("b", 2) + _clicks("c", 5) + _clicks("d", 2),
        "w": _clicks("d", 2) + _clicks("a", 1) + [("b", 3.0)],  # a low rating is no click
    }
    split = make_split(history, MEMBERS)
    # clicks: C 6, A 4, D 4, B 2, X 0, Y 0 -> ties by name
    assert category_popularity(split) == ["C", "A", "D", "B", "X", "Y"]
    method = fitted(UnseenPopular, split)
    paths = method.explore(["u", "v", "w"], 10)
    assert paths["u"] == ["A", "D", "B", "X", "Y"]
    assert paths["v"] == ["X", "Y"]
    assert paths["w"] == ["C", "B", "X", "Y"]
    assert method.explore(["u"], 2)["u"] == ["A", "D"]  # the n best
    order = category_popularity(split)
    for u, path in paths.items():
        hist = split.cmap.of(split.clicks(u))
        assert path == [c for c in order if c not in hist]


@pytest.mark.parametrize("k", [1, 2])
def test_neighbour_unseen_follows_the_nearest_users(neighbour_split, k) -> None:
    """B (2 clicks overall) beats A and C (25, 20) because u0's nearest users click it."""
    assert category_popularity(neighbour_split)[:4] == ["A", "C", "X", "B"]
    method = fitted(NeighbourUnseen, neighbour_split, k=k)
    path = method.explore(["u0"], 10)["u0"]
    # then the categories no neighbour clicked, in global popularity order (D: no clicks)
    assert path == ["B", "A", "C", "D"]
    assert fitted(UnseenPopular, neighbour_split).explore(["u0"], 10)["u0"] == ["A", "C", "B", "D"]


def test_neighbour_unseen_share_is_unweighted_over_the_k_nearest(neighbour_split) -> None:
    """With every user a neighbour, the f users' A and C shares (5/10, 4/10 each) win."""
    method = fitted(NeighbourUnseen, neighbour_split)  # k = 50 > 7 other users
    assert method.k == 50
    # A: 5 * 0.5 = 2.5, C: 5 * 0.4 = 2.0, B: 2 * 0.25 = 0.5. Weighting by similarity
    # (0.15 for the f users, 0.95 for n1 and n2) would put B first instead.
    assert method.explore(["u0"], 10)["u0"] == ["A", "C", "B", "D"]
    row = method.score[method.row["u0"]]
    got = dict(zip(method.cats, row, strict=True))
    assert got["A"] == pytest.approx(2.5)
    assert got["C"] == pytest.approx(2.0)
    assert got["B"] == pytest.approx(0.5)
    assert got["X"] == pytest.approx(2 * 0.75 + 5 * 0.1)


def test_neighbour_unseen_ties_break_by_popularity_then_name() -> None:
    """u's only neighbour clicks P and Q equally: the more popular one first, then by name."""
    members = {"p": ("P",), "q": ("Q",), "r": ("R",), "s": ("S",), "t": ("T",)}
    history = {
        "u": _clicks("t", 1),
        "n": _clicks("t", 2) + _clicks("p", 1) + _clicks("q", 1),
        "o": _clicks("q", 3) + _clicks("s", 2) + _clicks("r", 2),  # shares no category with u
    }
    split = make_split(history, members)
    method = fitted(NeighbourUnseen, split)
    # neighbours of u: only n (o has cosine 0); P and Q tie at 1/4, Q is more popular (4 > 1);
    # R and S (no neighbour click) tie on popularity (2): by name
    assert method.explore(["u"], 10)["u"] == ["Q", "P", "R", "S"]
    assert method.explore(["nobody"], 3)["nobody"] == category_popularity(split)[:3]


@pytest.mark.parametrize("cls", [UnseenPopular, NeighbourUnseen])
def test_blended_list_follows_the_blend_rule(neighbour_split, cls) -> None:
    base = ["X", "A", "B", "C", "D"]
    attrs = {"k": 2} if cls is NeighbourUnseen else {}
    method = fitted(cls, neighbour_split, base=base, **attrs)
    users = sorted(neighbour_split.sequences)
    lists, paths = method.recommend_with_paths(users, 5)
    for u in users:
        assert lists[u] == blend(base, paths[u], 5, BlendConfig())
        assert lists[u][0] == "X"  # slot 1 belongs to the base
    expected = {
        UnseenPopular: ["X", "A", "B", "C", "D"],
        NeighbourUnseen: ["X", "B", "A", "C", "D"],
    }
    # u0's path: A, C, B, D (popularity) / B, A, C, D (neighbours); slots 2 and 4 from it
    assert lists["u0"] == expected[cls]
    assert method.recommend(["u0"], 3)["u0"] == expected[cls][:3]


def test_registered_as_cheap_exploration_baselines() -> None:
    from app.cli.evaluate_cmd import _parse_methods

    names = [s.name for s in SPECS]
    for name, label in (("unseen-popular", "UnseenPop"), ("neighbour-unseen", "NeighbourUnseen")):
        spec = next(s for s in SPECS if s.name == name)
        assert (spec.label, spec.kind) == (label, EXPLORATION)
        assert names.index(name) < names.index("hucb")
        assert name in CHEAP_METHODS
        assert name in _parse_methods("all", quick=False)
        assert name in _parse_methods(None, quick=True)
    built = build_methods(["sasrec", "unseen-popular", "neighbour-unseen"], MethodSettings())
    assert isinstance(built[1], UnseenPopular) and built[1].name == "unseen-popular"
    assert isinstance(built[2], NeighbourUnseen) and built[2].name == "neighbour-unseen"
    assert built[1].provider is built[2].provider is built[0].provider  # one shared base


@pytest.mark.slow
def test_neighbour_unseen_is_fast_on_ml100k(ml100k) -> None:
    from coea.data import load_ml_100k
    from evaluation.protocol import build_split

    split = build_split(load_ml_100k(ml100k), ProtocolConfig(mode="genre-combo"))
    method = NeighbourUnseen(BaseProvider("fixed", lambda: FixedBase([])))
    method.train = split.train
    start = time.perf_counter()
    method.fit_path(split.train, 0)
    paths = method.explore(split.eval_users, 10)
    assert time.perf_counter() - start < 3.0
    for u in split.eval_users:
        assert len(paths[u]) == 10
        assert not set(paths[u]) & split.targets[u].hist_full


def test_exploration_rows_score_their_path_before_the_blend(toy_log) -> None:
    from evaluation.metrics import serendipity
    from evaluation.protocol import build_split
    from evaluation.runner import PATH_KS, run_once

    split = build_split(toy_log, ProtocolConfig())
    (base, explorer) = build_methods(
        ["most-popular", "unseen-popular"], MethodSettings(base="most-popular")
    )
    base_scores, _ = run_once(base, split, 0, (1, 5))
    assert not any(key.startswith("path ") for key in base_scores)  # no path to score
    scores, _ = run_once(explorer, split, 0, (1, 5))
    t = split.targets
    for k in PATH_KS:
        by_hand = sum(
            serendipity(explorer.last_paths[u], t[u].hist_full, t[u].pref, k)
            for u in split.eval_users
        ) / len(split.eval_users)
        assert scores[f"path SER@{k}"] == pytest.approx(by_hand)
        filled = [len(explorer.last_paths[u][:k]) / k for u in split.eval_users]
        # every path category is unseen: the novel share is how full the paths are
        assert scores[f"path NCP@{k}/K"] == pytest.approx(sum(filled) / len(filled))
