"""The synthetic worlds (coea.data.synthetic): "popular" pinned to the first generator, and
"longtail", whose hidden categories a global popularity ranking cannot find."""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import replace
from itertools import islice

import pytest
from click.testing import CliRunner

from coea.data.synthetic import SyntheticConfig, SyntheticWorld
from evaluation import metrics as m

SMALL = SyntheticConfig(
    users=40, days=5, categories=60, items_per_category=5, groups=4, seed=7, world="popular"
)
# users, days, categories like the evaluation's defaults, but shorter (a fraction of a second)
MID = SyntheticConfig(users=300, days=10, items_per_category=5, seed=0)


def _h(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _first_events(world: SyntheticWorld, n: int = 200) -> str:
    return _h(b"\n".join(e.to_bytes() for e in islice(world.events(), n)))


def _hidden(world: SyntheticWorld) -> str:
    return _h(json.dumps(world.hidden_categories(), sort_keys=True).encode())


# computed with the generator as it was before the longtail world existed
POPULAR_PINS = [
    (SMALL, "ac2377b0ce489280", "1d8d6bea28a01585"),
    (SyntheticConfig(world="popular"), "b874c2151f8d4913", "b38a35dec827bdcf"),
    (
        SyntheticConfig(users=300, days=21, categories=400, seed=0, world="popular"),
        "abf7c1c9479caafe",
        "2f7089edfcf5dc6d",
    ),
]


@pytest.mark.parametrize(("cfg", "events", "hidden"), POPULAR_PINS)
def test_popular_world_is_the_first_generator_bit_for_bit(cfg, events, hidden):
    world = SyntheticWorld(cfg)
    assert _first_events(world) == events
    assert _hidden(world) == hidden


def test_popular_world_whole_stream_and_accept_sets_are_pinned():
    world = SyntheticWorld(SMALL)
    digest = hashlib.sha256()
    for e in world.events():
        digest.update(e.to_bytes())
    assert digest.hexdigest()[:16] == "fae66418194ebcfa"
    accept = json.dumps(world.accept_sets(), sort_keys=True).encode()
    assert _h(accept) == "5b400ee83be3e51a"
    assert world.hidden_categories()["s0"] == ["c016", "c001", "c000"]


def test_longtail_is_the_default_and_unknown_worlds_are_refused():
    assert SyntheticConfig().world == "longtail"
    with pytest.raises(ValueError, match="unknown synthetic world"):
        SyntheticWorld(SyntheticConfig(users=2, world="nope"))
    a = SyntheticWorld(replace(SMALL, world="longtail"))
    assert _first_events(a) != _first_events(SyntheticWorld(SMALL))
    assert _first_events(a) == _first_events(SyntheticWorld(replace(SMALL, world="longtail")))


def test_longtail_tastes_share_the_head_and_own_their_tail():
    world = SyntheticWorld(MID)
    head = world.head_size()
    assert head == 40
    tails = [set(map(int, t)) for t in world.group_tails]
    assert all(len(t) == MID.group_taste - MID.head_taste for t in tails)
    assert all(min(t) >= head for t in tails)  # below the top 10% by popularity
    assert len(set().union(*tails)) == sum(map(len, tails))  # no two groups share one
    heads = Counter(int(c) for h in world.group_heads for c in h)
    assert all(c < head for c in heads) and heads.most_common(1)[0][1] >= MID.groups // 4
    groups = world.user_groups()
    by_group: dict[int, set[str]] = defaultdict(set)
    for user, cats in world.hidden_categories().items():
        assert len(cats) == MID.hidden_per_user
        own = {world.category_name(c) for c in world.group_tails[groups[user]]}
        assert set(cats) <= own
        by_group[groups[user]] |= set(cats)
    assert len(set().union(*by_group.values())) == sum(map(len, by_group.values()))


@pytest.fixture(scope="module")
def mid_events():
    world = SyntheticWorld(MID)
    return world, list(world.events())


def test_longtail_hidden_categories_are_never_shown_and_rarely_clicked(mid_events):
    world, events = mid_events
    hidden = world.hidden_categories()
    assert not [e for e in events if e.category in hidden[e.user_id]]
    clicks = Counter(e.category for e in events if e.kind == "click")
    order = [c for c, _ in clicks.most_common()]
    rank = {c: i + 1 for i, c in enumerate(order)}
    ranks = [rank.get(c, MID.categories) for cats in hidden.values() for c in cats]
    head_ranks = [rank[world.category_name(c)] for h in world.group_heads for c in h]
    # the hidden categories sit far below the head in global click popularity
    assert sum(ranks) / len(ranks) > 2 * world.head_size()
    assert sum(ranks) / len(ranks) > 4 * sum(head_ranks) / len(head_ranks)
    top10 = set(order[:10])
    top_share = set(order[: MID.categories // 10])
    assert all(not set(cats) & top10 for cats in hidden.values())
    free = sum(not set(cats) & top_share for cats in hidden.values())
    assert free > 0.5 * len(hidden)  # most users: none of them in the top 10% most clicked


def test_longtail_hidden_categories_are_clicked_by_the_group(mid_events):
    world, events = mid_events
    groups, hidden = world.user_groups(), world.hidden_categories()
    clickers: dict[str, set[str]] = defaultdict(set)
    for e in events:
        if e.kind == "click":
            clickers[e.category].add(e.user_id)
    mates = [
        len({v for v in clickers[c] if groups[v] == groups[u] and v != u})
        for u, cats in hidden.items()
        for c in cats
    ]
    assert sum(n > 0 for n in mates) > 0.95 * len(mates)
    assert sum(mates) / len(mates) >= 3  # several of the group's users click each one


def _split(world: SyntheticWorld, events):
    from evaluation.datasets import events_to_log
    from evaluation.protocol import GroundTruth, ProtocolConfig, build_split

    split = build_split(events_to_log("syn", events), ProtocolConfig(mode="genre"))
    split.truth = GroundTruth(
        accept={u: frozenset(cs) for u, cs in world.accept_sets().items()},
        hidden={u: frozenset(cs) for u, cs in world.hidden_categories().items()},
    )
    return split


def _most_popular_hid5(split) -> float:
    from evaluation.methods.popularity import MostPopular
    from evaluation.runner import score_lists

    method = MostPopular()
    method.fit(split.train, 0)
    lists = method.recommend(split.eval_users, 10)
    return score_lists(lists, None, split, (5,))["HID@5"]


def _group_popular_hid5(split, groups: dict[str, int]) -> float:
    """Unseen categories by the train clicks of the user's own group (the latent groups)."""
    per_group: dict[int, Counter] = defaultdict(Counter)
    train = split.train
    for u in train.sequences:
        for i in train.clicks(u):
            per_group[groups[u]].update(train.cmap.members[i])
    scores = []
    for u in split.eval_users:
        seen = split.targets[u].hist_full
        ranked = [c for c, _ in per_group[groups[u]].most_common() if c not in seen][:5]
        scores.append(m.hidden_share(ranked, split.truth.hidden[u], 5))
    return m.mean_over_users(scores)


def test_most_popular_is_far_below_the_oracle_in_the_longtail_world(mid_events):
    world, events = mid_events
    split = _split(world, events)
    hidden = [split.truth.hidden[u] for u in split.eval_users]
    oracle = m.hidden_oracle(hidden, (5,), (2, 4, 6, 8, 10))
    assert oracle["HID@5"] == pytest.approx(0.6)
    assert oracle["HID@5 path slots"] == pytest.approx(0.4)
    most_pop = _most_popular_hid5(split)
    assert most_pop < 0.05 * oracle["HID@5"]
    # what the group's other users click finds them: the signal is there to learn
    assert _group_popular_hid5(split, world.user_groups()) > 0.4 * oracle["HID@5"]


def test_most_popular_finds_hidden_categories_in_the_popular_world_only():
    cfg = replace(MID, days=6)
    scores = {}
    for name in ("popular", "longtail"):
        world = SyntheticWorld(replace(cfg, world=name))
        scores[name] = _most_popular_hid5(_split(world, list(world.events())))
    assert scores["popular"] > 0.1 > 0.02 > scores["longtail"]


def test_hidden_oracle_by_hand():
    hidden = [{"a", "b", "c"}, {"d"}, set()]
    out = m.hidden_oracle(hidden, (1, 5, 10), (2, 4, 6, 8, 10))
    assert out["HID@1"] == pytest.approx(2 / 3)
    assert out["HID@1 path slots"] == 0.0  # slot 1 is the base ranking's
    assert out["HID@5"] == pytest.approx((3 / 5 + 1 / 5) / 3)
    assert out["HID@5 path slots"] == pytest.approx((2 / 5 + 1 / 5) / 3)
    assert out["HID@10"] == pytest.approx((3 / 10 + 1 / 10) / 3)
    assert out["HID@10 path slots"] == pytest.approx((3 / 10 + 1 / 10) / 3)
    assert m.hidden_oracle([], (5,), (2,)) == {"HID@5": 0.0, "HID@5 path slots": 0.0}


def test_report_shows_the_oracle_beside_the_ground_truth_table():
    from evaluation.report import markdown_report
    from evaluation.runner import MethodResult

    scores = {k: 0.1 for k in ("ACC-rate@5", "ACC@5", "HID@5", "ACC-rate@10", "HID@10")}
    results = [MethodResult("most-popular", "MostPop", "Exploitation", [scores], [1.0])]
    meta = {
        "dataset": {"name": "synthetic", "world": "longtail"},
        "ks": [1, 5, 10],
        "blend": {"explore_slots": [2, 4, 6, 8, 10]},
        "oracle": m.hidden_oracle([{"a", "b", "c"}], (1, 5, 10), (2, 4, 6, 8, 10)),
    }
    text = markdown_report(results, meta)
    section = text.split("## Serendipity ground truth")[1]
    assert "Oracle bound" in section and "HID@5 <= 0.6000" in section
    assert "<= 0.4000 from the exploration path's slots" in section
    assert "Synthetic world: longtail" in section
    without = markdown_report(results, {k: v for k, v in meta.items() if k != "oracle"})
    assert "Oracle bound" not in without


def test_replay_synthetic_world_option(tmp_path):
    from app.cli.replay_cmd import replay
    from coea.data.events_io import read_jsonl

    args = ["--synthetic", "--users", "20", "--days", "2", "--n-categories", "60"]
    outs = {}
    for world in ("longtail", "popular", None):
        path = tmp_path / f"{world}.jsonl"
        extra = ["--synthetic-world", world] if world else []
        result = CliRunner().invoke(replay, [*args, *extra, "--out", str(path)])
        assert result.exit_code == 0, result.output
        outs[world] = [line.event for line in read_jsonl(path)]
    assert outs[None] == outs["longtail"] != outs["popular"]
    cfg = SyntheticConfig(users=20, days=2, categories=60, seed=0, world="popular")
    assert outs["popular"] == list(SyntheticWorld(cfg).events())
