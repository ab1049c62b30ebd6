"""A small planted-groups population (tests, benchmarks, `coea groups fit --dataset synthetic`).

Users are drawn from G latent groups. Each group prefers a few "home" categories (most of its
probability mass) and, inside a category, every group shares the same Zipf item popularity.
Home categories are disjoint across groups when ``n_groups * home_categories <= n_categories``.
A user's long-term sequence is drawn from their group's item distribution; their sparse
features (age, gender) are independent of the group, so features alone cannot solve the task.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.dsie import UserSequence


@dataclass
class PlantedPopulation:
    users: list[UserSequence]
    item_categories: dict[str, str]
    labels: np.ndarray  # (N,) planted group of each user
    short_categories: list[list[str]]  # C_short of each user (drawn like the long sequence)


def planted_population(
    n_users: int = 400,
    n_groups: int = 6,
    n_categories: int = 18,
    items_per_category: int = 15,
    home_categories: int = 3,
    home_mass: float = 0.85,
    length: tuple[int, int] = (12, 40),
    short_k: int = 10,
    seed: int = 0,
) -> PlantedPopulation:
    """Draw users from `n_groups` planted groups (see module docstring).

    Args:
        n_users: number of users (groups get about equal shares).
        n_groups: number of latent groups G.
        n_categories: size of the category vocabulary.
        items_per_category: items in each category.
        home_categories: categories each group prefers.
        home_mass: probability mass on the home categories.
        length: inclusive range of long-term sequence lengths.
        short_k: length of the short-term category list.
        seed: random seed.
    """
    rng = np.random.default_rng(seed)
    cats = [f"cat{c:02d}" for c in range(n_categories)]
    items = [f"i{c:02d}_{j:03d}" for c in range(n_categories) for j in range(items_per_category)]
    item_categories = {i: cats[n // items_per_category] for n, i in enumerate(items)}
    zipf = 1.0 / np.arange(1, items_per_category + 1)
    zipf /= zipf.sum()
    homes = _distinct_homes(rng, n_groups, n_categories, home_categories)
    group_item_p = []
    for home in homes:
        cat_p = np.full(n_categories, (1 - home_mass) / max(n_categories - len(home), 1))
        cat_p[list(home)] = home_mass / len(home)
        group_item_p.append(np.kron(cat_p, zipf))
    labels = rng.permutation(np.arange(n_users) % n_groups)
    users, shorts = [], []
    for u, g in enumerate(labels):
        n = int(rng.integers(length[0], length[1] + 1))
        seq = rng.choice(len(items), size=n + short_k, p=group_item_p[g])
        features = {"age": int(rng.integers(18, 70)), "gender": str(rng.choice(["F", "M"]))}
        users.append(UserSequence(f"u{u}", [items[i] for i in seq[:n]], features))
        shorts.append([item_categories[items[i]] for i in seq[n:]])
    return PlantedPopulation(users, item_categories, labels, shorts)


def _distinct_homes(rng, n_groups: int, n_categories: int, k: int) -> list[tuple[int, ...]]:
    """k home categories per group: disjoint sets when the categories suffice, else distinct."""
    if n_groups * k <= n_categories:
        perm = rng.permutation(n_categories)
        return [tuple(sorted(perm[g * k : (g + 1) * k].tolist())) for g in range(n_groups)]
    homes: list[tuple[int, ...]] = []
    while len(homes) < n_groups:
        home = tuple(sorted(rng.choice(n_categories, size=k, replace=False).tolist()))
        if home not in homes:
            homes.append(home)
    return homes
