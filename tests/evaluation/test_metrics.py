"""Hand-computed cases for every metric of evaluation/metrics.py (eq. 18-21, SER, items)."""

from __future__ import annotations

import math

import pytest

from evaluation import metrics as m

# One user: ranked categories, held-out preferred set P, history H, long tail T, |C| = 10.
RANKED = ["a", "b", "c", "d", "e"]
PREF = {"a", "c", "x"}
HIST = {"a", "b"}
TAIL = {"d", "e", "z"}
N_C = 10


def test_category_hit_counts_hits_over_k() -> None:
    assert m.category_hit(RANKED, PREF, 1) == 1.0  # a in P
    assert m.category_hit(RANKED, PREF, 2) == 0.5  # a hit, b miss
    assert m.category_hit(RANKED, PREF, 5) == pytest.approx(2 / 5)
    assert m.category_hit(["b"], PREF, 5) == 0.0  # short list: missing slots are misses


def test_category_ndcg_hand_computed() -> None:
    # hits at ranks 1 and 3: DCG = 1/log2(2) + 1/log2(4) = 1.5
    # |P| = 3, K = 5: IDCG = 1 + 1/log2(3) + 1/log2(4) = 2.1309...
    ideal = 1 + 1 / math.log2(3) + 0.5
    assert m.category_ndcg(RANKED, PREF, 5) == pytest.approx(1.5 / ideal)
    # K = 2: DCG = 1, IDCG = 1 + 1/log2(3)
    assert m.category_ndcg(RANKED, PREF, 2) == pytest.approx(1 / (1 + 1 / math.log2(3)))
    assert m.category_ndcg(["a", "c", "x"], PREF, 3) == pytest.approx(1.0)
    assert m.category_ndcg(RANKED, set(), 5) == 0.0


def test_ncp_divides_by_number_of_categories_and_by_k() -> None:
    # new_u at K=5: c, d, e are not in H -> 3
    assert m.new_count(RANKED, HIST, 5) == 3
    assert m.novel_category_proportion(RANKED, HIST, 5, N_C) == pytest.approx(3 / 10)
    assert m.novel_category_share(RANKED, HIST, 5) == pytest.approx(3 / 5)
    assert m.novel_category_proportion(RANKED, HIST, 2, N_C) == 0.0  # a, b both in H


def test_cltp_divides_by_number_of_categories_and_by_k() -> None:
    # tail_u at K=5: d, e -> 2; at K=3: 0
    assert m.long_tail_proportion(RANKED, TAIL, 5, N_C) == pytest.approx(2 / 10)
    assert m.long_tail_share(RANKED, TAIL, 5) == pytest.approx(2 / 5)
    assert m.long_tail_proportion(RANKED, TAIL, 3, N_C) == 0.0


def test_serendipity_needs_new_and_engaged() -> None:
    # new (not in H): c, d, e; engaged (in P): a, c -> only c
    assert m.serendipity(RANKED, HIST, PREF, 5) == pytest.approx(1 / 5)
    assert m.serendipity(RANKED, HIST, PREF, 2) == 0.0
    assert m.serendipity(["x"], set(), PREF, 1) == 1.0


def test_item_hit_and_ndcg() -> None:
    items = ["i1", "i2", "i3", "i4"]
    relevant = {"i3", "i9"}
    assert m.item_hit(items, relevant, 2) == 0.0
    assert m.item_hit(items, relevant, 3) == 1.0
    # one hit at rank 3 -> DCG = 1/log2(4) = 0.5; IDCG (2 relevant) = 1 + 1/log2(3)
    assert m.item_ndcg(items, relevant, 4) == pytest.approx(0.5 / (1 + 1 / math.log2(3)))


def test_means_over_users_and_seeds() -> None:
    assert m.mean_over_users([1.0, 0.0, 0.5]) == pytest.approx(0.5)
    assert m.mean_over_users([]) == 0.0
    mean, std = m.mean_std([1.0, 3.0])
    assert mean == 2.0
    assert std == pytest.approx(math.sqrt(2.0))  # sample std (ddof=1)
    assert m.mean_std([0.7]) == (0.7, 0.0)


def test_serendipity_oracle_by_hand():
    from evaluation.metrics import serendipity_oracle

    targets = [
        ({"a"}, {"a", "b", "c", "d"}),  # three new engaged categories
        ({"a", "b"}, {"a", "b"}),  # nothing new engaged: no list can score
        (set(), {"x"}),
    ]
    out = serendipity_oracle(targets, (1, 5), (2, 4, 6, 8, 10))
    assert out["SER@1"] == pytest.approx(2 / 3)
    assert out["SER@1 path slots"] == 0.0  # slot 1 is the base ranking's
    assert out["SER@5"] == pytest.approx((3 / 5 + 0 + 1 / 5) / 3)
    assert out["SER@5 path slots"] == pytest.approx((2 / 5 + 0 + 1 / 5) / 3)


def test_no_list_passes_the_serendipity_oracle():
    import random

    from evaluation.metrics import serendipity, serendipity_oracle

    rng = random.Random(7)
    cats = [f"c{i}" for i in range(12)]
    targets = [(set(rng.sample(cats, 4)), set(rng.sample(cats, 5))) for _ in range(50)]
    bound = serendipity_oracle(targets, (5,), (2, 4))["SER@5"]
    for _ in range(20):
        lists = [rng.sample(cats, 5) for _ in targets]
        got = sum(
            serendipity(lst, h, p, 5) for lst, (h, p) in zip(lists, targets, strict=True)
        ) / len(targets)
        assert got <= bound + 1e-12
    best = [sorted(p - h)[:5] for h, p in targets]  # the oracle's own lists reach it
    assert sum(
        serendipity(b, h, p, 5) for b, (h, p) in zip(best, targets, strict=True)
    ) / 50 == pytest.approx(bound)
