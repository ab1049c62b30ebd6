"""Data sources shared by replay, model fitting and evaluation (one set of readers).

- `movielens`: MovieLens-100K and -1M files -> `RatingLog`.
- `events_io`: ratings -> wire events (click / exposure rule), JSON-lines event logs.
- `synthetic`: the seeded synthetic generator (built-in default data).
"""

from coea.data.movielens import (
    MOVIELENS,
    ItemInfo,
    Rating,
    RatingLog,
    ReadProblem,
    load_ml_1m,
    load_ml_100k,
    load_movielens,
)

__all__ = [
    "MOVIELENS",
    "ItemInfo",
    "Rating",
    "RatingLog",
    "ReadProblem",
    "load_ml_100k",
    "load_ml_1m",
    "load_movielens",
]
