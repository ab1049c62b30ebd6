"""Where an evaluation's ratings come from.

The readers are the project's (coea.data.movielens, coea.data.events_io.read_jsonl,
coea.data.synthetic.SyntheticWorld); this module dispatches on the dataset name and maps wire
events to the `RatingLog` the protocol reads (`events_to_log`)."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterable
from pathlib import Path

from coea.data.movielens import (
    MOVIELENS,
    ItemInfo,
    Rating,
    RatingLog,
    ReadProblem,
    load_movielens,
)

DATASETS = ("ml-100k", "ml-1m", "jsonl", "synthetic")


class DatasetUnavailable(RuntimeError):
    """The dataset's reader cannot be imported."""


def _module(name: str, what: str):
    try:
        found = importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        found = False
    if not found:
        raise DatasetUnavailable(
            f"--dataset {what} needs the module {name}, which cannot be imported"
        )
    return importlib.import_module(name)


#: How an event becomes a rating for the protocol: engagement comes from the event kind.
KIND_RATING = {"click": 5.0, "order": 5.0, "exposure": 1.0}


def events_to_log(
    name: str,
    events: Iterable,
    items: dict[str, ItemInfo] | None = None,
    problems: list[ReadProblem] | None = None,
) -> RatingLog:
    """Turn wire events (coea.schemas) into a `RatingLog` the protocol reads.

    A click or an order becomes a rating of 5 (engaged), an exposure a rating of 1 (an
    interaction, not engaged), so `click_threshold` 4 separates them; `value` is ignored.
    An item's genres are its category split on '|' (a genre-combo category from MovieLens
    becomes its genres again) unless `items` gives them.
    """
    ratings: list[Rating] = []
    found: dict[str, ItemInfo] = dict(items or {})
    users: dict[str, dict] = {}
    for ev in events:
        if ev.item_id not in found:
            cat = ev.category or "unknown"
            found[ev.item_id] = ItemInfo(ev.item_id, ev.item_id, tuple(cat.split("|")))
        if ev.features:
            users.setdefault(ev.user_id, {}).update(ev.features)
        ratings.append(Rating(ev.user_id, ev.item_id, KIND_RATING[ev.kind], ev.ts))
    ratings.sort(key=lambda r: (r.ts, r.user_id, r.item_id))
    return RatingLog(name, ratings, found, users, problems or [])


def _jsonl_log(path: Path) -> RatingLog:
    events_io = _module("coea.data.events_io", "jsonl")
    problems: list[ReadProblem] = []
    events = []
    for line in events_io.read_jsonl(path):
        if line.error:
            problems.append(ReadProblem(str(path), line.line, line.error))
        else:
            events.append(line.event)
    return events_to_log(path.stem, events, problems=problems)


def _synthetic_world(seed: int, world: str):
    synthetic = _module("coea.data.synthetic", "synthetic")
    return synthetic.SyntheticWorld(synthetic.SyntheticConfig(seed=seed, world=world))


def _synthetic_log(seed: int, world: str = "longtail") -> RatingLog:
    gen = _synthetic_world(seed, world)
    items = {
        r.item_id: ItemInfo(r.item_id, r.title or r.item_id, tuple(r.categories) or (r.category,))
        for r in gen.items()
    }
    return events_to_log(f"synthetic-{seed}", gen.events(), items)


def ground_truth(name: str, seed: int = 0, world: str = "longtail"):
    """The generator's latent accept-sets for synthetic data (same config and world as
    `load_dataset`), else None: real logs have no such truth."""
    if name != "synthetic":
        return None
    from evaluation.protocol import GroundTruth

    gen = _synthetic_world(seed, world)
    return GroundTruth(
        accept={u: frozenset(cs) for u, cs in gen.accept_sets().items()},
        hidden={u: frozenset(cs) for u, cs in gen.hidden_categories().items()},
    )


def load_dataset(
    name: str, path: str | Path | None, seed: int = 0, world: str = "longtail"
) -> RatingLog:
    """Read a dataset by name.

    Args:
        name: ml-100k | ml-1m (MovieLens folders), jsonl (a JSON-lines event log), synthetic
            (the project's seeded generator, default configuration).
        path: the folder or file (not used by synthetic).
        seed: generator seed for synthetic data.
        world: the synthetic world, longtail | popular (coea.data.synthetic; not used by
            the other datasets); pass the same to `ground_truth`.
    """
    if name in MOVIELENS:
        return load_movielens(name, _need(path, name))
    if name == "jsonl":
        return _jsonl_log(_need(path, name))
    if name == "synthetic":
        return _synthetic_log(seed, world)
    raise ValueError(f"unknown dataset {name!r}; expected one of {DATASETS}")


def _need(path: str | Path | None, name: str) -> Path:
    if path is None:
        raise ValueError(f"--dataset {name} needs --path")
    return Path(path)
