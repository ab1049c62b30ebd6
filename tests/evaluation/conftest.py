"""Fixtures of the evaluation tests: a toy rating log with a learnable next item."""

from __future__ import annotations

import random

import pytest

from coea.data.movielens import ItemInfo, Rating, RatingLog

GENRES = ("Action", "Comedy", "Drama", "Horror", "Western", "Crime")


def make_toy_log(n_users: int = 40, n_items: int = 30, length: int = 20) -> RatingLog:
    """Users walk the catalogue in order from a random start: the next item is predictable."""
    rng = random.Random(0)
    items = {
        str(i): ItemInfo(
            str(i), f"m{i}", tuple(dict.fromkeys((GENRES[i % 6], GENRES[(i // 6) % 6])))
        )
        for i in range(n_items)
    }
    ratings = []
    for u in range(n_users):
        start = rng.randrange(n_items)
        for t in range(length):
            item = str((start + t) % n_items)
            ratings.append(Rating(str(u), item, float(rng.choice([2, 4, 5])), 1000 * t + u))
    return RatingLog("toy", sorted(ratings, key=lambda r: r.ts), items)


@pytest.fixture(scope="session")
def toy_log() -> RatingLog:
    return make_toy_log()
