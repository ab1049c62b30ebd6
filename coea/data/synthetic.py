"""A seeded synthetic event stream: the project's built-in default data.

The world: ``categories`` categories with long-tail (Zipf) popularity, ``items_per_category``
items each. Users belong to latent groups; a group likes a set of categories (its long-term
taste) and has typical sparse features. Each user likes part of the group's taste plus a
personal extra, and every day has sessions; a session focuses on one liked category (the
short-term interest; the focus drifts from session to session, and the user's weights drift
slowly), shows items (exposures), some of which the user clicks (liked categories far more
often), re-clicks favourites (so per-item counts pass tau), and sometimes orders.

Ground truth for serendipity: each user gets ``hidden_per_user`` categories of the group's
taste that the user would accept but is never shown, hence never clicked
(`SyntheticWorld.hidden_categories`). Everything is a function of the config (seed included).

Two worlds (``SyntheticConfig.world``) differ only in how tastes and hidden categories are
drawn; sessions, clicks and orders follow the same rules:

- ``"longtail"`` (default): the head is the top ``head_share`` (10%) of categories by
  popularity. A group's taste is ``head_taste`` (3) head categories, drawn by popularity (so
  the groups look alike on the head, as in real logs), plus ``group_taste - head_taste`` (9)
  categories of its own, drawn uniformly from the rest of the catalogue (the mid and long
  tail) and, while the catalogue allows, never given to another group. A user likes
  ``user_head`` (2) of the group's head categories and ``user_taste - user_head`` (4) of its
  tail ones, plus a personal extra (drawn by popularity); the user's hidden categories are
  ``hidden_per_user`` (3) of the group's tail categories the user does not like. Each of them
  is liked, hence clicked often, by about 4/9 of the group's other users, and by almost nobody
  outside the group: what similar users click reveals them, global popularity does not.
- ``"popular"``: the first generator, kept bit for bit: a group's 12 categories are drawn by
  popularity from the whole catalogue, a user likes 6 of them plus the extra, and the hidden
  ones are 3 more of the group's taste, so they are mostly head categories that a global
  most-popular list already hits.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from coea.schemas import ClickEvent, ExposureEvent, ItemRecord, OrderEvent

Event = ClickEvent | ExposureEvent | OrderEvent
DAY_MS = 86_400_000
AGES = ("18-24", "25-34", "35-44", "45-54", "55+")
REGIONS = tuple(f"r{i}" for i in range(8))
WORLDS = ("longtail", "popular")


@dataclass(frozen=True)
class SyntheticConfig:
    users: int = 1_000
    days: int = 30
    categories: int = 400  # long tail over this many categories
    items_per_category: int = 20
    groups: int = 16  # latent user groups
    group_taste: int = 12  # categories a group likes
    user_taste: int = 6  # of the group's taste, liked by one user (+1 personal extra)
    hidden_per_user: int = 3  # accepted-but-never-shown categories per user
    # "longtail": groups share head categories and differ on their own tail ones, hidden
    # categories come from the group's tail; "popular": the first generator (tastes and
    # hidden categories drawn by popularity, mostly head). See the module docstring.
    world: str = "longtail"
    head_share: float = 0.1  # longtail: the head = this share of categories, most popular first
    head_taste: int = 3  # longtail: of group_taste, head ones (the rest: the group's own tail)
    user_head: int = 2  # longtail: of user_taste, the group's head ones (the rest: its tail)
    sessions_per_day: float = 0.8  # mean sessions per user per day (Poisson)
    session_events: float = 10.0  # mean events per session (Poisson, at least 1)
    click_liked: float = 0.45  # click probability of an item of a liked category
    click_other: float = 0.04  # click probability of any other item
    revisit: float = 0.3  # a click re-clicks a favourite item of the category
    order_rate: float = 0.08  # an order follows a click
    zipf_a: float = 1.1  # popularity exponent
    start_ts: int = 1_700_000_000_000  # event time of day 0, ms
    seed: int = 0


@dataclass
class _User:
    user_id: str
    group: int
    liked: np.ndarray  # category indices
    weights: np.ndarray  # preference over `liked` (drifts)
    hidden: list[int]
    features: dict[str, str | int]
    favourites: dict[int, list[int]] = field(default_factory=dict)  # category -> items
    n_events: int = 0


class SyntheticWorld:
    """The world of one config: catalogue, users, and their event stream."""

    def __init__(self, config: SyntheticConfig | None = None) -> None:
        self.config = cfg = config or SyntheticConfig()
        if cfg.world not in WORLDS:
            raise ValueError(f"unknown synthetic world {cfg.world!r}; expected one of {WORLDS}")
        rng = np.random.default_rng(cfg.seed)
        ranks = np.arange(1, cfg.categories + 1, dtype=float)
        self.popularity = ranks**-cfg.zipf_a / np.sum(ranks**-cfg.zipf_a)
        # longtail: each group's head and own tail categories (empty in the popular world)
        self.group_heads: list[np.ndarray] = []
        self.group_tails: list[np.ndarray] = []
        if cfg.world == "popular":  # the first generator: keep its random draws in order
            self.group_tastes = [
                rng.choice(cfg.categories, size=cfg.group_taste, replace=False, p=self.popularity)
                for _ in range(cfg.groups)
            ]
        else:
            self.group_heads, self.group_tails = self._longtail_tastes(rng)
            pairs = zip(self.group_heads, self.group_tails, strict=True)
            self.group_tastes = [np.concatenate([h, t]) for h, t in pairs]
        self.group_features = [
            {"age": str(rng.choice(AGES)), "region": str(rng.choice(REGIONS))}
            for _ in range(cfg.groups)
        ]
        self.users = [self._make_user(u, rng) for u in range(cfg.users)]
        self._rng = rng

    def head_size(self) -> int:
        """How many categories (the most popular ones, indices 0..n-1) form the head."""
        cfg = self.config
        return min(cfg.categories - 1, max(1, round(cfg.head_share * cfg.categories)))

    def _longtail_tastes(self, rng: np.random.Generator) -> tuple[list, list]:
        """Per group: head categories drawn by popularity from the head, and the group's own
        tail categories drawn uniformly below it, without replacement across groups until the
        tail runs out (then drawing starts over, avoiding the group's own picks)."""
        cfg = self.config
        n_head = self.head_size()
        head_p = self.popularity[:n_head] / max(self.popularity[:n_head].sum(), 1e-300)
        n_gh = min(cfg.head_taste, n_head)
        tail = np.arange(n_head, cfg.categories)
        n_gt = min(max(cfg.group_taste - n_gh, 0), len(tail))
        heads, tails = [], []
        free = [int(c) for c in rng.permutation(tail)]
        for _ in range(cfg.groups):
            head = rng.choice(n_head, size=n_gh, replace=False, p=head_p) if n_gh else []
            heads.append(np.sort(np.asarray(head, dtype=int)))
            take, free = free[:n_gt], free[n_gt:]
            if len(take) < n_gt:  # every tail category has a group: start over
                free = [int(c) for c in rng.permutation(tail) if c not in take]
                more = n_gt - len(take)
                take, free = take + free[:more], free[more:]
            tails.append(np.array(sorted(take), dtype=int))
        return heads, tails

    def _make_user(self, u: int, rng: np.random.Generator) -> _User:
        cfg = self.config
        group = int(rng.integers(cfg.groups))
        if cfg.world == "popular":
            taste = rng.permutation(self.group_tastes[group])
            k = min(cfg.user_taste, len(taste) - cfg.hidden_per_user)
            hidden = [int(c) for c in taste[k : k + cfg.hidden_per_user]]
            extra = int(rng.choice(cfg.categories, p=self.popularity))
            liked = np.array([*taste[:k], *([] if extra in hidden else [extra])], dtype=int)
        else:
            liked, hidden = self._longtail_taste(group, rng)
        feats = dict(self.group_features[group])
        if rng.random() < 0.2:  # features correlate with the group, not equal to it
            feats["age"] = str(rng.choice(AGES))
        feats["segment"] = int(group % 4)
        weights = rng.dirichlet(np.ones(len(liked)))
        return _User(f"s{u}", group, liked, weights, hidden, feats)

    def _longtail_taste(self, group: int, rng: np.random.Generator) -> tuple[np.ndarray, list]:
        """(liked, hidden) of one user of `group` in the longtail world: `user_head` of the
        group's head categories, the rest of `user_taste` from its tail, the personal extra;
        hidden: `hidden_per_user` other tail categories of the group (one tail category at
        least stays liked)."""
        cfg = self.config
        head = rng.permutation(self.group_heads[group])
        tail = rng.permutation(self.group_tails[group])
        n_hidden = min(cfg.hidden_per_user, max(len(tail) - 1, 0))
        hidden = [int(c) for c in tail[:n_hidden]]
        n_head = min(cfg.user_head, cfg.user_taste, len(head))
        n_tail = min(cfg.user_taste - n_head, len(tail) - n_hidden)
        liked = [int(c) for c in (*head[:n_head], *tail[n_hidden : n_hidden + n_tail])]
        extra = int(rng.choice(cfg.categories, p=self.popularity))
        if extra not in hidden and extra not in liked:
            liked.append(extra)
        return np.array(liked, dtype=int), hidden

    @staticmethod
    def category_name(c: int) -> str:
        return f"c{c:03d}"

    def item_id(self, c: int, k: int) -> str:
        return f"i{c:03d}-{k:02d}"

    def items(self) -> list[ItemRecord]:
        """The catalogue: every item with its category."""
        return [
            ItemRecord(item_id=self.item_id(c, k), category=self.category_name(c))
            for c in range(self.config.categories)
            for k in range(self.config.items_per_category)
        ]

    def hidden_categories(self) -> dict[str, list[str]]:
        """user_id -> categories the user would accept but never saw (serendipity truth)."""
        return {u.user_id: [self.category_name(c) for c in u.hidden] for u in self.users}

    def accept_sets(self) -> dict[str, list[str]]:
        """user_id -> every category the user would accept: the liked ones (shown, clicked
        often) and the hidden ones (never shown). A recommended category outside this set is
        one the user would not take up: noise, however new."""
        return {
            u.user_id: sorted({self.category_name(int(c)) for c in (*u.liked, *u.hidden)})
            for u in self.users
        }

    def user_groups(self) -> dict[str, int]:
        """user_id -> latent group."""
        return {u.user_id: u.group for u in self.users}

    def events(self) -> Iterator[Event]:
        """The whole stream in time order (deterministic; a fresh generator each call)."""
        rng = np.random.default_rng(self.config.seed + 1)
        users = [
            _User(u.user_id, u.group, u.liked.copy(), u.weights.copy(), u.hidden, u.features)
            for u in self.users
        ]
        for day in range(self.config.days):
            day_events: list[tuple[int, str, int, Event]] = []
            for user in users:
                for event in self._day(user, day, rng):
                    day_events.append((event.ts, user.user_id, user.n_events, event))
            day_events.sort(key=lambda t: t[:3])
            yield from (e for *_, e in day_events)

    def _day(self, user: _User, day: int, rng: np.random.Generator) -> Iterator[Event]:
        cfg = self.config
        starts = np.sort(rng.integers(DAY_MS - 3_600_000, size=rng.poisson(cfg.sessions_per_day)))
        ts = 0
        for start in starts:  # sessions in time order, one after the other
            user.weights = 0.9 * user.weights + 0.1 * rng.dirichlet(np.ones(len(user.liked)))
            focus = int(rng.choice(user.liked, p=user.weights))
            ts = max(cfg.start_ts + day * DAY_MS + int(start), ts + 60_000)
            for _ in range(max(1, rng.poisson(cfg.session_events))):
                ts += int(rng.integers(5_000, 120_000))
                yield from self._interaction(user, focus, ts, rng)

    def _interaction(
        self, user: _User, focus: int, ts: int, rng: np.random.Generator
    ) -> Iterator[Event]:
        cfg = self.config
        if rng.random() < 0.6:
            c = focus
        else:
            c = int(rng.choice(cfg.categories, p=self.popularity))
        if c in user.hidden:  # never shown: that is what makes them serendipity truth
            return
        liked = c in user.liked
        favs = user.favourites.setdefault(c, [])
        if favs and liked and rng.random() < cfg.revisit:
            k = int(rng.choice(favs))
        else:
            k = int(min(rng.zipf(1.5) - 1, cfg.items_per_category - 1))
        clicked = rng.random() < (cfg.click_liked if liked else cfg.click_other)
        base = {
            "user_id": user.user_id,
            "item_id": self.item_id(c, k),
            "category": self.category_name(c),
            "ts": ts,
        }
        if user.n_events == 0:
            base["features"] = user.features
        user.n_events += 1
        eid = f"syn{cfg.seed}-{user.user_id}-{user.n_events}"
        if not clicked:
            yield ExposureEvent(event_id=eid, **base)
            return
        if k not in favs:
            favs.append(k)
        yield ClickEvent(event_id=eid, **base)
        if rng.random() < cfg.order_rate:
            user.n_events += 1
            value = round(float(rng.lognormal(3.0, 0.5)), 2)
            base.pop("features", None)
            yield OrderEvent(
                event_id=f"syn{cfg.seed}-{user.user_id}-{user.n_events}",
                value=value,
                **{**base, "ts": ts + 1_000},
            )
