"""The seeded synthetic world (coea.data.synthetic)."""

from __future__ import annotations

from collections import Counter

from coea.data.synthetic import SyntheticConfig, SyntheticWorld
from coea.state import StateParams, fold_events

CFG = SyntheticConfig(users=60, days=6, categories=50, items_per_category=5, groups=4, seed=3)


def test_deterministic_given_seed_and_different_across_seeds():
    a = list(SyntheticWorld(CFG).events())
    assert a == list(SyntheticWorld(CFG).events())
    b = list(SyntheticWorld(SyntheticConfig(**{**CFG.__dict__, "seed": 4})).events())
    assert [e.event_id for e in a] != [e.event_id for e in b] or a != b


def test_stream_shape_time_order_kinds_catalogue_and_features():
    world = SyntheticWorld(CFG)
    events = list(world.events())
    assert all(x.ts <= y.ts for x, y in zip(events, events[1:], strict=False))
    kinds = Counter(e.kind for e in events)
    assert kinds["click"] > 0 and kinds["exposure"] > 0 and kinds["order"] > 0
    assert all(e.value and e.value > 0 for e in events if e.kind == "order")
    catalogue = {r.item_id: r.category for r in world.items()}
    assert len(catalogue) == 50 * 5
    assert all(catalogue[e.item_id] == e.category for e in events)
    assert len({e.event_id for e in events}) == len(events)
    first = {}
    for e in events:
        first.setdefault(e.user_id, e)
    assert all(e.features for e in first.values())


def test_hidden_categories_are_never_shown_and_belong_to_the_group_taste():
    world = SyntheticWorld(CFG)
    hidden = world.hidden_categories()
    assert all(len(v) == CFG.hidden_per_user for v in hidden.values())
    assert not [e for e in world.events() if e.category in hidden[e.user_id]]
    groups = world.user_groups()
    for user, cats in hidden.items():
        taste = {world.category_name(c) for c in world.group_tastes[groups[user]]}
        assert set(cats) <= taste


def test_popularity_is_long_tailed_and_repeat_clicks_pass_tau():
    world = SyntheticWorld(SyntheticConfig(**{**CFG.__dict__, "days": 20}))
    events = list(world.events())
    per_cat = Counter(e.category for e in events)
    top = sum(n for _, n in per_cat.most_common(5))
    assert top > 0.3 * len(events)
    states = fold_events(events, {}, StateParams())
    assert sum(bool(s.long_items(StateParams())) for s in states.values()) > 0


def test_accept_sets_hold_the_hidden_and_the_clicked_categories():
    world = SyntheticWorld(CFG)
    accept, hidden = world.accept_sets(), world.hidden_categories()
    assert set(accept) == set(hidden)
    assert all(set(hidden[u]) <= set(accept[u]) for u in accept)
    assert all(len(accept[u]) > len(hidden[u]) for u in accept)  # liked ones too
    clicks = Counter()
    inside = Counter()
    for e in world.events():
        if e.kind == "click":
            clicks[e.user_id] += 1
            inside[e.user_id] += e.category in accept[e.user_id]
    # users click liked categories far more often than others (click_liked >> click_other)
    assert sum(inside.values()) / sum(clicks.values()) > 0.7
