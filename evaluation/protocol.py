"""The offline protocol: a per-user temporal split and the category sets the metrics need.

Every choice the paper leaves open is a field of `ProtocolConfig` (defaults commented) and is
explained in docs/evaluation.md. In short:

- users with at least `min_ratings` ratings are kept (BERT4Rec's ML-1M preprocessing); every
  rating is an implicit interaction for the models;
- per user, the last `test_fraction` of interactions by time (at least `min_test`) are the
  held-out future; the rest is the train history;
- a rating >= `click_threshold` is a click ("engaged"); C_pref = categories of held-out clicks,
  C_hist = categories of train clicks (whole history, and the last `short_k` train clicks);
- categories follow `ItemInfo.category(mode)`; in `genre` mode a movie counts for all of its
  genres in the category *sets* (C_hist, C_pref, long-tail volume) when `all_genres` is set;
- the long tail is the bottom `tail_fraction` of categories by training click volume.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, field

from coea.data.movielens import CATEGORY_MODES, ItemInfo, Rating, RatingLog


@dataclass(frozen=True)
class ProtocolConfig:
    """How a rating log becomes a train history and a held-out future per user."""

    mode: str = "genre"  # category mode: "genre" (first genre) or "genre-combo"
    all_genres: bool = True  # genre mode: a movie counts for all its genres in category sets
    min_ratings: int = 5  # keep users with >= 5 ratings (BERT4Rec, ML-1M preprocessing)
    test_fraction: float = 0.2  # held-out future = each user's last 20% of ratings by time
    min_test: int = 5  # ... and at least 5 of them
    min_train: int = 3  # users with fewer train ratings are trained on but not evaluated
    click_threshold: float = 4.0  # rating >= 4 is a click (engaged); 0 = every rating
    short_k: int = 10  # K of the short-term window (paper sec. 3, design default)
    tail_fraction: float = 0.2  # long tail = bottom 20% of categories by train clicks
    max_users: int | None = None  # evaluate (and train on) a random subset, for --quick
    subset_seed: int = 0  # which subset max_users draws

    def __post_init__(self) -> None:
        if self.mode not in CATEGORY_MODES:
            raise ValueError(f"unknown category mode {self.mode!r}; expected {CATEGORY_MODES}")
        if not 0.0 < self.test_fraction < 1.0:
            raise ValueError("test_fraction must be in (0, 1)")


@dataclass(frozen=True)
class CategoryMap:
    """Item -> category label c(item) and item -> category set (what the metrics count)."""

    mode: str
    label: dict[str, str]  # c(item): one category per item (models, LM vocabulary)
    members: dict[str, tuple[str, ...]]  # categories an item counts for in C_hist/C_pref
    categories: tuple[str, ...]  # |C|: every category of the catalogue, sorted

    @classmethod
    def from_items(cls, items: dict[str, ItemInfo], mode: str, all_genres: bool) -> CategoryMap:
        label = {i: info.category(mode) for i, info in items.items()}
        if all_genres:
            members = {i: info.members(mode) for i, info in items.items()}
        else:
            members = {i: (c,) for i, c in label.items()}
        cats = sorted({c for cs in members.values() for c in cs} | set(label.values()))
        return cls(mode, label, members, tuple(cats))

    def of(self, items: list[str]) -> set[str]:
        """Union of the category sets of `items`."""
        return {c for i in items for c in self.members.get(i, ())}


@dataclass
class TrainSplit:
    """What every method may learn from: each user's train history, nothing after it."""

    sequences: dict[str, list[Rating]]  # user -> train ratings in time order (implicit)
    cmap: CategoryMap
    config: ProtocolConfig
    users: dict[str, dict[str, str | int]] = field(default_factory=dict)  # sparse features
    items: dict[str, ItemInfo] = field(default_factory=dict)

    def clicks(self, user: str) -> list[str]:
        """The user's clicked train items (rating >= click_threshold), in time order."""
        thr = self.config.click_threshold
        return [r.item_id for r in self.sequences.get(user, []) if r.is_click(thr)]

    def item_sequence(self, user: str) -> list[str]:
        return [r.item_id for r in self.sequences.get(user, [])]

    def category_click_volume(self) -> Counter[str]:
        """Training clicks per category (an item counts for each category in its set)."""
        vol: Counter[str] = Counter({c: 0 for c in self.cmap.categories})
        for user in self.sequences:
            for item in self.clicks(user):
                vol.update(self.cmap.members.get(item, ()))
        return vol


@dataclass(frozen=True)
class UserTarget:
    """Held-out truth and history sets for one evaluated user."""

    pref: frozenset[str]  # C_pref: categories of the held-out clicks
    hist_full: frozenset[str]  # C_hist (full): categories of all train clicks
    hist_short: frozenset[str]  # C_hist (short): categories of the last short_k train clicks
    future_items: frozenset[str]  # held-out clicked items (item-level Hit/NDCG)
    seen_items: frozenset[str]  # every train item (excluded from item rankings)


@dataclass(frozen=True)
class GroundTruth:
    """Latent truth a generator knows and no log shows (synthetic data only)."""

    accept: dict[str, frozenset[str]]  # user -> categories the user would accept
    hidden: dict[str, frozenset[str]]  # user -> accepted categories never shown


@dataclass
class Split:
    """A train split, the evaluated users' targets and the long-tail set."""

    train: TrainSplit
    targets: dict[str, UserTarget]
    tail: frozenset[str]
    truth: GroundTruth | None = None  # set for synthetic data: ACC@K, HID@K

    @property
    def eval_users(self) -> list[str]:
        return sorted(self.targets, key=_user_key)

    @property
    def n_categories(self) -> int:
        return len(self.train.cmap.categories)


def _user_key(u: str) -> tuple[int, str]:
    return (int(u), u) if u.isdigit() else (1 << 62, u)


def split_user(ratings: list[Rating], cfg: ProtocolConfig) -> tuple[list[Rating], list[Rating]]:
    """Cut one user's time-ordered ratings into (train, held-out future)."""
    n = len(ratings)
    n_test = max(cfg.min_test, math.ceil(cfg.test_fraction * n))
    if n - n_test < cfg.min_train:
        return ratings, []  # too short to evaluate: all of it is train history
    return ratings[: n - n_test], ratings[n - n_test :]


def long_tail(volume: Counter[str], fraction: float) -> frozenset[str]:
    """Bottom `fraction` of categories by click volume (ceil, ties broken by name)."""
    n_tail = math.ceil(fraction * len(volume))
    ranked = sorted(volume, key=lambda c: (volume[c], c))
    return frozenset(ranked[:n_tail])


def _target(train: list[Rating], future: list[Rating], cmap: CategoryMap, cfg: ProtocolConfig):
    thr = cfg.click_threshold
    train_clicks = [r.item_id for r in train if r.is_click(thr)]
    future_clicks = [r.item_id for r in future if r.is_click(thr)]
    return UserTarget(
        pref=frozenset(cmap.of(future_clicks)),
        hist_full=frozenset(cmap.of(train_clicks)),
        hist_short=frozenset(cmap.of(train_clicks[-cfg.short_k :])),
        future_items=frozenset(future_clicks),
        seen_items=frozenset(r.item_id for r in train),
    )


def _select_users(by_user: dict[str, list[Rating]], cfg: ProtocolConfig) -> list[str]:
    users = sorted((u for u, rs in by_user.items() if len(rs) >= cfg.min_ratings), key=_user_key)
    if cfg.max_users is not None and cfg.max_users < len(users):
        users = sorted(random.Random(cfg.subset_seed).sample(users, cfg.max_users), key=_user_key)
    return users


def build_split(log: RatingLog, cfg: ProtocolConfig) -> Split:
    """Apply the protocol to a rating log.

    Users whose held-out window has no click are trained on but not evaluated (C_pref would
    be empty, so C-H and C-N are undefined for them).
    """
    cmap = CategoryMap.from_items(log.items, cfg.mode, cfg.all_genres)
    by_user = log.by_user()
    sequences: dict[str, list[Rating]] = {}
    targets: dict[str, UserTarget] = {}
    for user in _select_users(by_user, cfg):
        ratings = [r for r in by_user[user] if r.item_id in cmap.label]
        train, future = split_user(ratings, cfg)
        sequences[user] = train
        if future:
            target = _target(train, future, cmap, cfg)
            if target.pref:
                targets[user] = target
    train_split = TrainSplit(sequences, cmap, cfg, log.users, log.items)
    tail = long_tail(train_split.category_click_volume(), cfg.tail_fraction)
    return Split(train_split, targets, tail)


def describe(split: Split) -> dict[str, float | int | str]:
    """Counts that go into results.json and the report header."""
    n_train = sum(len(s) for s in split.train.sequences.values())
    prefs = [len(t.pref) for t in split.targets.values()]
    hists = [len(t.hist_full) for t in split.targets.values()]
    return {
        "mode": split.train.cmap.mode,
        "users_trained": len(split.train.sequences),
        "users_evaluated": len(split.targets),
        "train_interactions": n_train,
        "items": len(split.train.cmap.label),
        "categories": split.n_categories,
        "tail_categories": len(split.tail),
        "mean_pref_size": sum(prefs) / max(len(prefs), 1),
        "mean_hist_size": sum(hists) / max(len(hists), 1),
    }
