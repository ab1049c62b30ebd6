"""Per-user stream state (paper sec. 4.2.1 and 4.2.4) as pure functions.

The stream worker, the batch code and the tests fold events through the same rules
(docs/stream.md):

- clicks and orders are engagements; an exposure is "shown, not clicked";
- I_short = the last K engagements; C_short = their categories, oldest first; C'_short = C_short
  deduplicated keeping each category's LAST occurrence (so its last element is the newest);
- I_long = the earlier engagements; I'_long (eq. 3) = the distinct items of I_long in order of
  first engagement, kept while the user's cumulative clicks (all engagements, short ones too) on
  the item (``filter_unit="item"``) or on its category (``"category"``) are >= tau; capped at
  ``long_cap``, keeping the most recent;
- negatives = recently exposed-but-unclicked categories: an exposure appends its category (moved
  to the end if present), an engagement removes it; capped at ``negatives_cap``;
- clicked categories = every category the user engaged with: c(item), and an item's other
  categories when the event lists them (`categories`); what the exploration path never offers;
- sparse features: the latest non-null values win (bounded number of keys);
- an event id seen among the user's last ``dedup_horizon`` applied events is a duplicate and
  changes nothing.

The list rules under these (`move_to_end`, `bounded_merge`, `ordered_set_last`, `split_short`,
`filter_long`, `merge_window_negatives`) are the one implementation that the batch readers
(coea.data.sequences), the learner's D_k (learners.dataset) and its contexts
(learners.pco.data) call as well.

No Faust or Kafka imports here: this module is tested alone.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from coea.schemas import ClickEvent, ExposureEvent, OrderEvent, TrainingWindow

Event = ClickEvent | ExposureEvent | OrderEvent
T = TypeVar("T")
FILTER_UNITS = ("item", "category")
_DIGEST_BYTES = 8  # 64-bit ids: a false duplicate within 10^4 ids has odds ~5e-16


@dataclass(frozen=True)
class StateParams:
    """Rules' knobs; `from_settings` reads them from `coea.settings.Settings`."""

    tau: int = 5  # eq. 3: minimum cumulative clicks to keep a long-term item
    short_k: int = 10  # K: engagements in the short-term window
    long_cap: int = 200  # cap on I'_long (most recent kept)
    negatives_cap: int = 50  # cap on recent exposed-but-unclicked categories
    dedup_horizon: int = 10_000  # event ids remembered per user
    filter_unit: str = "item"  # "item" (paper) or "category" (rating data)
    long_candidates_cap: int = 1_000  # distinct I_long items remembered before filtering
    click_counts_cap: int = 2_000  # per-item and per-category counters per user
    features_cap: int = 64  # sparse feature keys per user
    window_cap: int = 200  # positives / negatives kept per user per window

    def __post_init__(self) -> None:
        if self.filter_unit not in FILTER_UNITS:
            raise ValueError(f"filter_unit must be one of {FILTER_UNITS}, got {self.filter_unit!r}")
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, int) and value < (0 if f.name == "tau" else 1):
                raise ValueError(f"{f.name} must be positive, got {value}")
        if self.long_candidates_cap < self.long_cap:
            raise ValueError("long_candidates_cap must be >= long_cap")
        if self.click_counts_cap < self.long_candidates_cap + self.short_k:
            raise ValueError("click_counts_cap must be >= long_candidates_cap + short_k")

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> StateParams:
        """Take every field of the same name from a Settings object."""
        values = {
            f.name: getattr(settings, f.name) for f in fields(cls) if hasattr(settings, f.name)
        }
        values.update(overrides)
        return cls(**values)


@dataclass
class UserState:
    """One user's bounded state. `to_json` / `from_json` round-trip it for the RocksDB table."""

    user_id: str
    events: int = 0  # applied events (duplicates excluded)
    last_ts: int = 0  # newest event time seen (ms)
    short: list[tuple[str, str]] = field(default_factory=list)  # I_short as (item, category)
    long_seen: list[tuple[str, str]] = field(default_factory=list)  # I_long distinct, unfiltered
    item_clicks: dict[str, int] = field(default_factory=dict)  # least recently clicked first
    # clicks per c(item), least recently clicked first; an item's other categories are keys
    # too (0 when never clicked as c(item)): the keys are the categories the user clicked
    category_clicks: dict[str, int] = field(default_factory=dict)
    negatives: list[str] = field(default_factory=list)  # oldest first
    features: dict[str, Any] = field(default_factory=dict)
    orders: int = 0
    order_value: float = 0.0
    window_id: int | None = None  # window the accumulators below belong to
    window_positives: list[str] = field(default_factory=list)
    window_negatives: list[str] = field(default_factory=list)
    window_ts_start: int | None = None
    window_ts_end: int | None = None
    recent_ids: deque[bytes] = field(default_factory=deque)  # 64-bit digests of event ids
    _recent_set: set[bytes] = field(default_factory=set, init=False, repr=False, compare=False)
    _long_index: set[str] = field(default_factory=set, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._recent_set = set(self.recent_ids)
        self._long_index = {item for item, _ in self.long_seen}

    # --- derived views -------------------------------------------------------------------
    def click_counts(self, unit: str) -> dict[str, int]:
        """click_u(.) of eq. 3: the user's clicks per item (``unit="item"``) or per category."""
        return self.item_clicks if unit == "item" else self.category_clicks

    def long_items(self, params: StateParams) -> list[tuple[str, str]]:
        """I'_long as (item, category), oldest first, at most ``long_cap``."""
        unit = params.filter_unit
        kept = filter_long(self.long_seen, self.click_counts(unit), params.tau, unit)
        return kept[-params.long_cap :]

    def short_categories(self) -> list[str]:
        """C_short: categories of the last K engagements, oldest first."""
        return [c for _, c in self.short]

    def short_set(self) -> list[str]:
        """C'_short: C_short deduplicated keeping the last occurrence, oldest first."""
        return ordered_set_last(self.short_categories())

    # --- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
        out["short"] = [list(p) for p in self.short]
        out["long_seen"] = [list(p) for p in self.long_seen]
        out["recent_ids"] = base64.b64encode(b"".join(self.recent_ids)).decode()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UserState:
        data = dict(data)
        data["short"] = [tuple(p) for p in data.get("short", [])]
        data["long_seen"] = [tuple(p) for p in data.get("long_seen", [])]
        raw = base64.b64decode(data.get("recent_ids", ""))
        data["recent_ids"] = deque(
            raw[i : i + _DIGEST_BYTES] for i in range(0, len(raw), _DIGEST_BYTES)
        )
        return cls(**data)

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> UserState:
        return cls.from_dict(json.loads(raw))

    def copy(self) -> UserState:
        return UserState.from_dict(self.to_dict())

    def view(self, params: StateParams) -> dict[str, Any]:
        """Readable summary: the derived sequences plus counters (for CLI and web views)."""
        long_items = self.long_items(params)
        return {
            "user_id": self.user_id,
            "events": self.events,
            "last_ts": self.last_ts,
            "long_items": [i for i, _ in long_items],
            "long_categories": [c for _, c in long_items],
            "short_items": [i for i, _ in self.short],
            "short_categories": self.short_categories(),
            "short_set": self.short_set(),
            "clicked_categories": list(self.category_clicks),
            "negatives": list(self.negatives),
            "features": dict(self.features),
            "orders": self.orders,
            "order_value": self.order_value,
            "window": {
                "id": self.window_id,
                "positives": list(self.window_positives),
                "negatives": list(self.window_negatives),
            },
            "remembered_event_ids": len(self.recent_ids),
        }


# --- the list rules ------------------------------------------------------------------------


def move_to_end(values: list[str], value: str, cap: int | None = None) -> None:
    """The bounded most-recent list without repeats, IN PLACE: ``value`` moves to the end (or
    is appended) and the oldest values beyond ``cap`` are dropped (None: no bound)."""
    if value in values:
        values.remove(value)
    values.append(value)
    if cap is not None:
        del values[: max(len(values) - cap, 0)]


def bounded_merge(old: Iterable[str], new: Iterable[str], cap: int | None = None) -> list[str]:
    """A new list: ``old`` (without repeats) with `move_to_end` of each new value, the last
    ``cap`` kept: [a, b] + [c, a] -> [b, c, a]."""
    out = list(old)
    for value in new:
        move_to_end(out, value, cap)
    return out if cap is None else out[-cap:]


def ordered_set_last(values: Iterable[str]) -> list[str]:
    """C'_short from C_short: each value's last occurrence, in order: [a, b, a] -> [b, a]."""
    return bounded_merge((), values)


def split_short(clicks: Sequence[T], short_k: int) -> tuple[list[T], list[T]]:
    """(I_long, I_short) of a time-ordered click list: the last ``short_k`` clicks are I_short,
    the earlier ones I_long. The batch form of the rolling I_short `update_state` keeps (which
    also remembers only an item's first engagement in I_long: the same on rating data, where
    every item is rated once)."""
    split = max(len(clicks) - short_k, 0)
    return list(clicks[:split]), list(clicks[split:])


def filter_long(
    pairs: Iterable[tuple[str, str]], counts: Mapping[str, int], tau: int, unit: str
) -> list[tuple[str, str]]:
    """I'_long of eq. 3: the (item, category) pairs of I_long, in order, whose user's cumulative
    clicks ``counts`` on the item (``unit="item"``, the paper's rule) or on its category
    (``"category"``: rating data rates each item once) are >= ``tau``."""
    if unit not in FILTER_UNITS:
        raise ValueError(f"unit must be one of {FILTER_UNITS}, got {unit!r}")
    key = 0 if unit == "item" else 1
    return [p for p in pairs if counts.get(p[key], 0) >= tau]


def merge_window_negatives(
    old: Iterable[str], negatives: Iterable[str], clicked: Iterable[str], cap: int
) -> list[str]:
    """A user's negatives after one more training window, as the learner's D_k keeps them:
    the earlier list without the categories clicked in the window, then the window's
    exposed categories not clicked in it moved to the end (`bounded_merge`); the last ``cap``
    kept."""
    clicked = set(clicked)
    return bounded_merge(
        [c for c in old if c not in clicked], [c for c in negatives if c not in clicked], cap
    )


# --- folding events ------------------------------------------------------------------------


def event_digest(event_id: str) -> bytes:
    return hashlib.blake2b(event_id.encode(), digest_size=_DIGEST_BYTES).digest()


def _remove(values: list[str], value: str) -> None:
    if value in values:
        values.remove(value)


def _bump(counts: dict[str, int], key: str, by: int = 1) -> None:
    counts[key] = counts.pop(key, 0) + by  # re-insert: dict order is click recency


def _evict(counts: dict[str, int], cap: int, protected: set[str]) -> None:
    """Drop the least recently clicked unprotected keys until ``len(counts) <= cap``."""
    if len(counts) <= cap:
        return
    for key in [k for k in counts if k not in protected][: len(counts) - cap]:
        del counts[key]


def _remember(state: UserState, event_id: str, horizon: int) -> bool:
    """Record the id; False when it is among the last ``horizon`` ids (a duplicate)."""
    digest = event_digest(event_id)
    if digest in state._recent_set:
        return False
    state.recent_ids.append(digest)
    state._recent_set.add(digest)
    while len(state.recent_ids) > horizon:
        state._recent_set.discard(state.recent_ids.popleft())
    return True


def _engage(
    state: UserState, item: str, category: str, params: StateParams, also: Sequence[str] = ()
) -> None:
    """A click or order: `category` enters the sequences and leaves the negatives; every
    category in `also` (the item's other categories) becomes a key of `category_clicks` with
    no click added, so it counts as clicked while eq. 3's filter counts c(item) only."""
    _bump(state.item_clicks, item)
    for other in also:
        if other != category:
            _bump(state.category_clicks, other, 0)
    _bump(state.category_clicks, category)
    state.short.append((item, category))
    if len(state.short) > params.short_k:
        old = state.short.pop(0)
        if old[0] not in state._long_index:  # first engagement of the item leaving I_short
            state.long_seen.append(old)
            state._long_index.add(old[0])
            if len(state.long_seen) > params.long_candidates_cap:
                state._long_index.discard(state.long_seen.pop(0)[0])
    _remove(state.negatives, category)
    protected = state._long_index | {i for i, _ in state.short}
    _evict(state.item_clicks, params.click_counts_cap, protected)
    if len(state.category_clicks) > params.click_counts_cap:
        cats = {c for _, c in state.long_seen} | {c for _, c in state.short}
        _evict(state.category_clicks, params.click_counts_cap, cats)


def _update_window(state: UserState, event: Event, category: str, window_id: int, cap: int) -> None:
    if state.window_id != window_id:
        state.window_id = window_id
        state.window_positives, state.window_negatives = [], []
        state.window_ts_start = state.window_ts_end = event.ts
    state.window_ts_start = min(state.window_ts_start, event.ts)
    state.window_ts_end = max(state.window_ts_end, event.ts)
    if event.kind == "exposure":
        move_to_end(state.window_negatives, category, cap)
    else:
        state.window_positives.append(category)
        del state.window_positives[: max(len(state.window_positives) - cap, 0)]
        _remove(state.window_negatives, category)


def update_state(
    state: UserState,
    event: Event,
    category: str,
    params: StateParams,
    window_id: int | None = None,
    also: Sequence[str] | None = None,
) -> bool:
    """Apply one event IN PLACE; returns False (and changes nothing) for a duplicate id.

    Args:
        state: the user's state (``state.user_id == event.user_id``).
        event: a validated event.
        category: c(event.item_id), resolved by the caller.
        params: caps and thresholds.
        window_id: the training window the event falls in (None: no window bookkeeping).
        also: the item's other categories, clicked with it (None: the event's `categories`).
    """
    if not _remember(state, event.event_id, params.dedup_horizon):
        return False
    state.events += 1
    state.last_ts = max(state.last_ts, event.ts)
    if event.features:
        for key, value in event.features.items():
            state.features.pop(key, None)
            state.features[key] = value
        for key in list(state.features)[: max(len(state.features) - params.features_cap, 0)]:
            del state.features[key]
    if event.kind == "exposure":
        move_to_end(state.negatives, category, params.negatives_cap)
    else:
        others = event.categories if also is None else also
        _engage(state, event.item_id, category, params, others or ())
    if event.kind == "order":
        state.orders += 1
        state.order_value += event.value or 0.0
    if window_id is not None:
        _update_window(state, event, category, window_id, params.window_cap)
    return True


def apply_event(
    state: UserState | None,
    event: Event,
    category: str,
    params: StateParams,
    window_id: int | None = None,
) -> UserState:
    """Pure version of `update_state`: returns a new state and leaves ``state`` unchanged."""
    new = state.copy() if state is not None else UserState(user_id=event.user_id)
    update_state(new, event, category, params, window_id)
    return new


def resolve_category(event: Event, categories: Mapping[str, str]) -> str | None:
    """The event's own category if it has one, else the catalogue's, else None."""
    return event.category or categories.get(event.item_id)


def fold_events(
    events: Iterable[Event],
    categories: Mapping[str, str],
    params: StateParams,
    on_unknown: str = "raise",
) -> dict[str, UserState]:
    """Fold events (in the given order) into one state per user.

    Args:
        events: validated events, usually in time order.
        categories: item_id -> category, used when an event carries no category.
        params: caps and thresholds.
        on_unknown: "raise" (KeyError) or "skip" for events whose category is unknown.
    """
    states: dict[str, UserState] = {}
    for event in events:
        category = resolve_category(event, categories)
        if category is None:
            if on_unknown == "skip":
                continue
            raise KeyError(f"event {event.event_id}: unknown item {event.item_id!r} (no category)")
        state = states.get(event.user_id)
        if state is None:
            state = states[event.user_id] = UserState(user_id=event.user_id)
        update_state(state, event, category, params)
    return states


def to_training_window(
    state: UserState, params: StateParams, window_id: int, ts_start: int, ts_end: int
) -> TrainingWindow:
    """The learner's record of one user in one window (negatives exclude window positives)."""
    long_items = state.long_items(params)
    positives = set(state.window_positives)
    return TrainingWindow(
        window_id=window_id,
        user_id=state.user_id,
        long_items=[i for i, _ in long_items],
        long_categories=[c for _, c in long_items],
        clicked_categories=list(state.category_clicks),
        short_categories=state.short_categories(),
        short_set=state.short_set(),
        positives=list(state.window_positives),
        negatives=[c for c in state.window_negatives if c not in positives],
        features=dict(state.features),
        ts_start=ts_start,
        ts_end=ts_end,
    )
