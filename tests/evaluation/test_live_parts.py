"""The pure parts of `coea evaluate --live` and of the synthetic ground truth (no broker)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from evaluation import metrics as m
from evaluation.agreement import AGREEMENT_KEYS, agreement, agreement_markdown
from evaluation.methods.live import chunks_at


def _ev(ts: int):
    return SimpleNamespace(ts=ts)


def test_chunks_cut_at_the_cutoffs_inclusive() -> None:
    events = [_ev(t) for t in (1, 2, 3, 5, 5, 8, 9)]
    chunks = chunks_at(events, [3, 5, 9])
    assert [[e.ts for e in c] for c in chunks] == [[1, 2, 3], [5, 5], [8, 9]]
    assert sum(len(c) for c in chunks_at(events, [9])) == len(events)


def _scores(values: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    """users u0..un -> {key: value} with every AGREEMENT_KEYS metric = the given list."""
    n = len(next(iter(values.values())))
    return {f"u{i}": {k: values.get(k, [0.0] * n)[i] for k in AGREEMENT_KEYS} for i in range(n)}


def test_agreement_by_hand_one_seed() -> None:
    a = _scores({"C-N@5": [1.0, 0.0, 1.0, 0.0]})
    b = _scores({"C-N@5": [1.0, 1.0, 1.0, 0.0]})
    row = agreement([a], [b])["C-N@5"]
    # d_u = 0, 1, 0, 0: diff 0.25, sd 0.5, se 0.25; one seed: noise = se
    assert row["diff"] == pytest.approx(0.25)
    assert row["se_users"] == pytest.approx(0.25)
    assert row["sd_seeds_in_process"] is None
    assert row["noise"] == pytest.approx(0.25)
    assert row["agree"]
    same = agreement([a], [a])["C-N@5"]
    assert same["diff"] == 0 and same["agree"]


def test_agreement_flags_a_systematic_shift() -> None:
    n = 50
    a = [_scores({"SER@5": [0.2 + 0.01 * (i % 3) for i in range(n)]}) for _ in range(2)]
    b = [_scores({"SER@5": [0.6 + 0.01 * (i % 3) for i in range(n)]}) for _ in range(2)]
    row = agreement(a, b)["SER@5"]
    assert row["diff"] == pytest.approx(0.4)
    assert row["sd_seeds_live"] == pytest.approx(0.0)
    assert not row["agree"]
    assert "**no**" in agreement_markdown({"SER@5": row}, n, 2)


def test_agreement_counts_seed_noise() -> None:
    # per-user differences are all equal (se = 0); seed means differ: 0.1 / 0.3 vs 0.2 / 0.4
    a = [_scores({"NCP@5/K": [0.1] * 4}), _scores({"NCP@5/K": [0.3] * 4})]
    b = [_scores({"NCP@5/K": [0.2] * 4}), _scores({"NCP@5/K": [0.4] * 4})]
    row = agreement(a, b)["NCP@5/K"]
    sd = math.sqrt(0.02)  # sample sd of (0.1, 0.3)
    assert row["se_users"] == pytest.approx(0.0)
    assert row["noise"] == pytest.approx(math.sqrt((sd**2 + sd**2) / 2))
    assert row["agree"]  # 0.1 <= 2 * 0.2


def test_agreement_needs_matching_seeds() -> None:
    with pytest.raises(ValueError, match="same"):
        agreement([_scores({"C-H@1": [1.0]})], [])


def test_acceptance_metrics_by_hand() -> None:
    ranked = ["a", "b", "c", "d", "e"]
    hist, accept, hidden = {"a"}, {"a", "b", "d", "x"}, {"d", "x"}
    # novel: b, c, d, e (4); novel and accepted: b, d (2)
    assert m.accepted_novel_share(ranked, hist, accept, 5) == pytest.approx(2 / 5)
    assert m.accepted_novel_share(ranked, hist, accept, 2) == pytest.approx(1 / 2)
    assert m.hidden_share(ranked, hidden, 5) == pytest.approx(1 / 5)
    assert m.hidden_share(ranked, hidden, 3) == 0.0


def test_acceptance_rate_is_pooled_over_users() -> None:
    from evaluation.protocol import (
        CategoryMap,
        GroundTruth,
        ProtocolConfig,
        Split,
        TrainSplit,
        UserTarget,
    )
    from evaluation.runner import score_lists

    cats = ("a", "b", "c", "d")
    cmap = CategoryMap("genre", {}, {}, cats)
    target = UserTarget(frozenset("a"), frozenset("a"), frozenset("a"), frozenset(), frozenset())
    split = Split(
        TrainSplit({}, cmap, ProtocolConfig()),
        {"1": target, "2": target},
        frozenset(),
        GroundTruth(
            accept={"1": frozenset("ab"), "2": frozenset("abcd")},
            hidden={"1": frozenset("b"), "2": frozenset()},
        ),
    )
    lists = {"1": ["a", "b", "c"], "2": ["b"]}
    out = score_lists(lists, None, split, (5,))
    # user 1: novel b, c; accepted b. user 2: novel b; accepted b. pooled 2 / 3
    assert out["ACC-rate@5"] == pytest.approx(2 / 3)
    assert out["ACC@5"] == pytest.approx((1 / 5 + 1 / 5) / 2)
    assert out["HID@5"] == pytest.approx((1 / 5 + 0) / 2)
