"""Fit every method on the same split for each seed, score it, aggregate over seeds.

Metric names (K in `RunConfig.ks`):
  C-H@K, C-N@K              quality against C_pref (eq. 18, 19)
  NCP@K, CLTP@K             novelty as the paper writes it: divided by |C| (eq. 20, 21)
  NCP@K/K, CLTP@K/K         the same counts divided by K (share of the top K)
  NCP-short@K, NCP-short@K/K   NCP with C_hist = the last short_k train clicks' categories
  SER@K, SER-short@K        serendipity with the full / short C_hist
  Hit@K, NDCG@K             item level, only for methods that rank items
  ACC@K, ACC-rate@K, HID@K  synthetic data only: novel and in the latent accept-set (share of
                            the top K; ACC-rate = accepted / novel over all users), hidden
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from evaluation import metrics as m
from evaluation.methods import SPEC_BY_NAME, MethodSettings, build_methods
from evaluation.methods.base import Method
from evaluation.protocol import Split


@dataclass(frozen=True)
class RunConfig:
    ks: tuple[int, ...] = (1, 5, 10)  # cut-offs of every @K metric
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)  # the paper averages five runs


@dataclass
class MethodResult:
    name: str
    label: str
    kind: str
    per_seed: list[dict[str, float]] = field(default_factory=list)
    wall_s: list[float] = field(default_factory=list)
    extras: dict[str, object] = field(default_factory=dict)

    def summary(self) -> dict[str, dict[str, float | list[float]]]:
        keys = self.per_seed[0].keys() if self.per_seed else []
        out = {}
        for key in keys:
            vals = [s[key] for s in self.per_seed]
            mean, std = m.mean_std(vals)
            out[key] = {"mean": mean, "std": std, "per_seed": vals}
        return out


def category_metrics(ranked: list[str], split: Split, user: str, k: int) -> dict[str, float]:
    """Every category-level @k metric of one user's ranked list (see the module docstring)."""
    t, n_c = split.targets[user], split.n_categories
    truth = {}
    if split.truth is not None:
        accept = split.truth.accept.get(user, frozenset())
        hidden = split.truth.hidden.get(user, frozenset())
        truth = {
            f"ACC@{k}": m.accepted_novel_share(ranked, t.hist_full, accept, k),
            f"HID@{k}": m.hidden_share(ranked, hidden, k),
        }
    return truth | {
        f"C-H@{k}": m.category_hit(ranked, t.pref, k),
        f"C-N@{k}": m.category_ndcg(ranked, t.pref, k),
        f"NCP@{k}": m.novel_category_proportion(ranked, t.hist_full, k, n_c),
        f"NCP@{k}/K": m.novel_category_share(ranked, t.hist_full, k),
        f"NCP-short@{k}": m.novel_category_proportion(ranked, t.hist_short, k, n_c),
        f"NCP-short@{k}/K": m.novel_category_share(ranked, t.hist_short, k),
        f"CLTP@{k}": m.long_tail_proportion(ranked, split.tail, k, n_c),
        f"CLTP@{k}/K": m.long_tail_share(ranked, split.tail, k),
        f"SER@{k}": m.serendipity(ranked, t.hist_full, t.pref, k),
        f"SER-short@{k}": m.serendipity(ranked, t.hist_short, t.pref, k),
    }


def score_lists(
    categories: dict[str, list[str]],
    items: dict[str, list[str]] | None,
    split: Split,
    ks: Sequence[int],
) -> dict[str, float]:
    """Mean over evaluated users of every metric (see module docstring)."""
    per_user: dict[str, list[float]] = {}
    for user in split.eval_users:
        for k in ks:
            for key, val in category_metrics(categories[user], split, user, k).items():
                per_user.setdefault(key, []).append(val)
            if items is not None:
                future = split.targets[user].future_items
                per_user.setdefault(f"Hit@{k}", []).append(m.item_hit(items[user], future, k))
                per_user.setdefault(f"NDCG@{k}", []).append(m.item_ndcg(items[user], future, k))
    out = {key: m.mean_over_users(vals) for key, vals in per_user.items()}
    for k in ks:  # pooled: accepted novel categories / novel categories, over all users
        if f"ACC@{k}" in out:
            novel = out[f"NCP@{k}/K"]
            out[f"ACC-rate@{k}"] = out[f"ACC@{k}"] / novel if novel else 0.0
    return out


def check_lists(name: str, lists: dict[str, list[str]], split: Split, k: int) -> None:
    """A method must rank at most k distinct known categories for every evaluated user."""
    known = set(split.train.cmap.categories)
    for user in split.eval_users:
        ranked = lists.get(user)
        if ranked is None:
            raise ValueError(f"{name}: no recommendation for user {user}")
        if len(ranked) > k or len(set(ranked)) != len(ranked) or not set(ranked) <= known:
            raise ValueError(f"{name}: bad list for user {user}: {ranked}")


def run_once(method: Method, split: Split, seed: int, ks: Sequence[int]) -> tuple[dict, float]:
    """Fit and score one method for one seed; returns (metrics, wall seconds)."""
    torch.manual_seed(seed)
    start = time.perf_counter()
    method.fit(split.train, seed)
    users, k_max = split.eval_users, max(ks)
    cats = method.recommend(users, k_max)
    items = method.recommend_items(users, k_max)
    wall = time.perf_counter() - start
    check_lists(method.name, cats, split, k_max)
    scores = score_lists(cats, items, split, ks)
    paths = getattr(method, "last_paths", None)  # exploration rows: the path they blended
    if paths is not None:
        for k in PATH_KS:
            scores.update(path_scores(paths, split, k))
    return scores, wall


#: Methods whose quality and novelty are recorded after every PCO round (Figure 4).
CURVE_METHODS = ("coea", "coea-no-kl")
CURVE_KEYS = ("C-H@1", "C-N@5", "NCP@5", "NCP@5/K", "SER@5")


#: Path depths scored for every exploration row: 2 = the path's slots in the blended top 5.
PATH_KS = (2, 5)


def path_scores(paths: dict[str, list[str]], split: Split, k: int = 5) -> dict[str, float]:
    """The exploration path alone, before the blend: `path C-H@k` (share in C_pref),
    `path NCP@k/K` (share new to C_hist) and `path SER@k` (share new and engaged: the
    path's precision at what serendipity counts, free of the base ranking's share)."""
    users = split.eval_users
    t = split.targets
    return {
        f"path C-H@{k}": m.mean_over_users(
            m.category_hit(paths.get(u, []), t[u].pref, k) for u in users
        ),
        f"path NCP@{k}/K": m.mean_over_users(
            m.novel_category_share(paths.get(u, []), t[u].hist_full, k) for u in users
        ),
        f"path SER@{k}": m.mean_over_users(
            m.serendipity(paths.get(u, []), t[u].hist_full, t[u].pref, k) for u in users
        ),
    }


def _round_hook(split: Split, ks: Sequence[int]) -> Callable[[Method], dict[str, float]]:
    def hook(method) -> dict[str, float]:
        cats, paths = method.recommend_with_paths(split.eval_users, max(ks))
        scores = score_lists(cats, None, split, ks)
        return {**{k: scores[k] for k in CURVE_KEYS if k in scores}, **path_scores(paths, split)}

    return hook


def run_methods(
    split: Split,
    names: Sequence[str],
    settings: MethodSettings,
    config: RunConfig,
    on_seed_done: Callable[[Method, int], None] | None = None,
) -> list[MethodResult]:
    """Every method x every seed on one split. Seeds are the outer loop so the shared base
    ranker is fitted once per seed; the wall time of an exploration row excludes that fit
    (it is on the base's own row when the base is run, else on the first explorer's)."""
    results = {n: MethodResult(n, SPEC_BY_NAME[n].label, SPEC_BY_NAME[n].kind) for n in names}
    bar = tqdm(total=len(names) * len(config.seeds), desc="evaluate", unit="fit")
    for seed in config.seeds:
        for method in build_methods(list(names), settings):
            bar.set_postfix_str(f"{method.name} seed={seed}")
            if method.name in CURVE_METHODS and seed == config.seeds[0]:
                method.round_hook = _round_hook(split, config.ks)  # first seed only: cost
            scores, wall = run_once(method, split, seed, config.ks)
            res = results[method.name]
            res.per_seed.append(scores)
            res.wall_s.append(wall)
            if on_seed_done is not None:
                on_seed_done(method, seed)
            extras = getattr(method, "extras", None)
            if callable(extras):
                res.extras.setdefault("per_seed", []).append(extras())
            bar.update()
    bar.close()
    return list(results.values())
