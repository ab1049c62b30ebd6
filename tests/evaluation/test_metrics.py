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
