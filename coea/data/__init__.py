"""Data sources shared by replay, model fitting and evaluation (one set of readers).

- `movielens`: MovieLens-100K and -1M files -> `RatingLog`.
- `events_io`: ratings -> wire events (click / exposure rule), JSON-lines event logs.
- `synthetic`: the seeded synthetic generator (built-in default data).
- `sequences`: a `RatingLog` -> per-user histories (I'_long, C_short) for DSIE.
- `replay`: what `coea replay` publishes (sources) and how it is sent or written.
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
