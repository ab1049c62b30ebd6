"""Offline metrics (paper appendix A.4, eq. 18-21, plus SER@K and item-level Hit/NDCG).

Each function scores ONE user's ranked list; `mean_over_users` is the 1/|U| sum of the
paper's formulas. A ranked list shorter than K counts its missing slots as misses: the
denominators stay K (or |C|). Lists must not repeat a category (the runner checks).

Notation: L = ranked list, L_K = its first K entries, P = C_pref, H = C_hist, T = C_tail,
C = the set of all categories.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence


def category_hit(ranked: Sequence[str], pref: Collection[str], k: int) -> float:
    """C-H@K for one user (eq. 18): hit_u / K, hit_u = |{c in L_K : c in P}|."""
    return sum(1 for c in ranked[:k] if c in pref) / k


def _dcg(gains: Iterable[int]) -> float:
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def category_ndcg(ranked: Sequence[str], pref: Collection[str], k: int) -> float:
    """C-N@K for one user (eq. 19): DCG_u / IDCG_u.

    DCG_u = sum_{i=1..K} rel(c_i) / log2(i + 1) with rel(c) = 1 if c in P else 0;
    IDCG_u = sum_{i=1..min(K, |P|)} 1 / log2(i + 1). Zero when P is empty.
    """
    ideal = _dcg([1] * min(k, len(pref)))
    if ideal == 0:
        return 0.0
    return _dcg(1 if c in pref else 0 for c in ranked[:k]) / ideal


def new_count(ranked: Sequence[str], hist: Collection[str], k: int) -> int:
    """new_u = |{c in L_K : c not in H}|."""
    return sum(1 for c in ranked[:k] if c not in hist)


def novel_category_proportion(
    ranked: Sequence[str], hist: Collection[str], k: int, n_categories: int
) -> float:
    """NCP@K for one user as the paper writes it (eq. 20): new_u / |C|."""
    return new_count(ranked, hist, k) / n_categories


def novel_category_share(ranked: Sequence[str], hist: Collection[str], k: int) -> float:
    """NCP@K normalised per slot ("NCP@K/K" in reports): new_u / K."""
    return new_count(ranked, hist, k) / k


def tail_count(ranked: Sequence[str], tail: Collection[str], k: int) -> int:
    """tail_u = |{c in L_K : c in T}|."""
    return sum(1 for c in ranked[:k] if c in tail)


def long_tail_proportion(
    ranked: Sequence[str], tail: Collection[str], k: int, n_categories: int
) -> float:
    """CLTP@K for one user as the paper writes it (eq. 21): tail_u / |C|."""
    return tail_count(ranked, tail, k) / n_categories


def long_tail_share(ranked: Sequence[str], tail: Collection[str], k: int) -> float:
    """CLTP@K normalised per slot ("CLTP@K/K" in reports): tail_u / K."""
    return tail_count(ranked, tail, k) / k


def serendipity(
    ranked: Sequence[str], hist: Collection[str], pref: Collection[str], k: int
) -> float:
    """SER@K for one user: |{c in L_K : c not in H and c in P}| / K.

    The share of the top K that is new to the user's history AND engaged in the held-out
    future: novel and relevant at once.
    """
    return sum(1 for c in ranked[:k] if c not in hist and c in pref) / k


def accepted_novel_share(
    ranked: Sequence[str], hist: Collection[str], accept: Collection[str], k: int
) -> float:
    """ACC@K for one user (synthetic data): |{c in L_K : c not in H and c in A}| / K, with
    A = the generator's latent accept-set of the user (liked + hidden categories).

    The acceptance rate of the recommended novel categories is the ratio of the means over
    users, ACC@K / (NCP@K/K) = sum_u accepted_u / sum_u new_u ("ACC-rate@K" in reports)."""
    return sum(1 for c in ranked[:k] if c not in hist and c in accept) / k


def hidden_share(ranked: Sequence[str], hidden: Collection[str], k: int) -> float:
    """HID@K for one user (synthetic data): |{c in L_K : c in Hidden}| / K, Hidden = the
    categories the user would accept but was never shown, so no log could reveal them."""
    return sum(1 for c in ranked[:k] if c in hidden) / k


def _slot_bounds(
    sizes: Sequence[int], ks: Iterable[int], explore_slots: Sequence[int], metric: str
) -> dict[str, float]:
    """Per K: 1/|U| sum_u min(n_u, K) / K (any list) and 1/|U| sum_u min(n_u, slots_K) / K
    (the exploration path's slots alone, slots_K = |{s in explore_slots : s <= K}|), n_u
    being how many categories of the user's target set exist."""
    out: dict[str, float] = {}
    for k in ks:
        slots = sum(1 for s in set(explore_slots) if s <= k)
        out[f"{metric}@{k}"] = mean_over_users(min(n, k) / k for n in sizes)
        out[f"{metric}@{k} path slots"] = mean_over_users(min(n, slots) / k for n in sizes)
    return out


def hidden_oracle(
    hidden_sets: Iterable[Collection[str]], ks: Iterable[int], explore_slots: Sequence[int]
) -> dict[str, float]:
    """Upper bounds of HID@K over the given users' hidden sets (synthetic data), per K:

    - ``HID@K``: the most any ranked list can reach, 1/|U| sum_u min(|Hidden_u|, K) / K;
    - ``HID@K path slots``: the most an exploration path can add under the blend rule
      (evaluation.blend), whose hidden categories can only sit in the path's slots:
      1/|U| sum_u min(|Hidden_u|, |{s in explore_slots : s <= K}|) / K.
    """
    return _slot_bounds([len(h) for h in hidden_sets], ks, explore_slots, "HID")


def serendipity_oracle(
    targets: Iterable[tuple[Collection[str], Collection[str]]],
    ks: Iterable[int],
    explore_slots: Sequence[int],
) -> dict[str, float]:
    """Upper bounds of SER@K over the given users' (C_hist, C_pref) pairs, per K:

    - ``SER@K``: the most any ranked list can reach, 1/|U| sum_u min(|P_u - H_u|, K) / K;
    - ``SER@K path slots``: the most an exploration path's slots can hold,
      1/|U| sum_u min(|P_u - H_u|, |{s in explore_slots : s <= K}|) / K. The base ranking
      adds its own serendipitous categories in the other slots, so a blended list can pass it.
    """
    sizes = [len(set(pref) - set(hist)) for hist, pref in targets]
    return _slot_bounds(sizes, ks, explore_slots, "SER")


def item_hit(ranked_items: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Item Hit@K: 1 if any held-out clicked item is in the top K, else 0."""
    return 1.0 if any(i in relevant for i in ranked_items[:k]) else 0.0


def item_ndcg(ranked_items: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Item NDCG@K with binary gains over the held-out clicked items (same form as C-N@K)."""
    return category_ndcg(ranked_items, relevant, k)


def mean_over_users(values: Iterable[float]) -> float:
    """1/|U| sum_u value_u (0.0 for no users)."""
    vals = list(values)
    return sum(vals) / len(vals) if vals else 0.0


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1; 0.0 for a single value), over seeds."""
    if not values:
        return 0.0, 0.0
    mu = sum(values) / len(values)
    if len(values) == 1:
        return mu, 0.0
    return mu, math.sqrt(sum((v - mu) ** 2 for v in values) / (len(values) - 1))
