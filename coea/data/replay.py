"""What `coea replay` publishes: a source (MovieLens, a JSON-lines log or the synthetic world)
is the item catalogue and then its events in time order; `publish_source` sends them to the
broker, `write_source` to a JSON-lines file. Each returns the counts the command reports."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

from coea.data.events_io import PublishCounts
from coea.settings import Settings


@dataclass
class Source:
    """What a replay publishes: the catalogue, then the events (or raw lines) in order."""

    name: str
    items: list = field(default_factory=list)
    events: Iterator | None = None  # validated events
    lines: Iterator | None = None  # JsonlLine (JSON-lines input)
    total: int | None = None
    problems: list[str] = field(default_factory=list)


def movielens_source(kind: str, root: Path, click_threshold: float, mode: str) -> Source:
    """MovieLens ``kind`` ("ml-100k" or "ml-1m") under ``root``: its ratings as events
    (`coea.data.events_io.ml_events`), its movies as the catalogue."""
    from coea.data.events_io import ml_catalogue, ml_events
    from coea.data.movielens import load_movielens

    log = load_movielens(kind, root)
    problems = [str(p) for p in log.problems]
    return Source(
        log.name,
        ml_catalogue(log, mode),
        ml_events(log, click_threshold, mode),
        total=len(log.ratings),
        problems=problems,
    )


def replay_world_config(
    users: int, days: int, seed: int, n_categories: int, world_name: str | None = None
):
    """The `SyntheticConfig` of `coea replay --synthetic` with these options (`world_name`
    None: the default world); every other field keeps its default."""
    from coea.data.synthetic import SyntheticConfig

    extra = {} if world_name is None else {"world": world_name}
    return SyntheticConfig(users=users, days=days, seed=seed, categories=n_categories, **extra)


def synthetic_source(
    users: int, days: int, seed: int, n_categories: int, world_name: str | None = None
) -> Source:
    """The seeded synthetic world of `replay_world_config`; ``total`` is an estimate."""
    from coea.data.synthetic import SyntheticWorld

    cfg = replay_world_config(users, days, seed, n_categories, world_name)
    world = SyntheticWorld(cfg)
    expected = int(users * days * cfg.sessions_per_day * cfg.session_events * 0.95)
    return Source(
        f"synthetic(users={users}, days={days}, seed={seed}, world={cfg.world})",
        world.items(),
        world.events(),
        total=expected,
    )


def jsonl_source(path: Path, max_bytes: int) -> Source:
    """A JSON-lines file of events, line by line (bad lines are kept as lines with an error)."""
    from coea.data.events_io import read_jsonl

    with open(path, "rb") as f:
        total = sum(1 for line in f if line.strip())
    return Source(str(path), lines=read_jsonl(path, max_bytes), total=total)


def _reject(source: Source, counts: PublishCounts, line) -> None:
    counts.rejected += 1
    counts.problems.append(f"{source.name}:{line.line}: {line.error}")


def send_events(
    source: Source,
    publisher,
    speed: float,
    validate: bool,
    limit: int | None,
    progress: bool = True,
) -> PublishCounts:
    """Send the source's events with ``publisher`` (a `coea.data.events_io.Publisher`) at
    ``speed`` x event time (0: as fast as possible), at most ``limit``; JSON lines that are
    not valid events are rejected when ``validate``, else sent as they are."""
    from tqdm import tqdm

    from coea.data.events_io import paced, user_key

    counts = PublishCounts(rejected=len(source.problems), problems=list(source.problems))
    start = time.monotonic()
    total = min(source.total, limit) if source.total and limit else (limit or source.total)
    bar = tqdm(total=total, unit="ev", desc="replay", mininterval=0.5, disable=not progress)
    if source.events is not None:
        for event in paced(source.events, speed):
            if limit is not None and counts.sent >= limit:
                break
            publisher.send_event(event)
            counts.sent += 1
            bar.update()
    else:
        for line in source.lines:
            if limit is not None and counts.sent + counts.rejected >= limit:
                break
            if line.event is not None:
                publisher.send_event(line.event)
            elif validate:
                _reject(source, counts, line)
                bar.update()
                continue
            else:
                publisher.send_raw(user_key(line.raw), line.raw)
            counts.sent += 1
            bar.update()
    publisher.producer.flush()
    bar.close()
    counts.seconds = time.monotonic() - start
    return counts


def publish_source(
    settings: Settings,
    source: Source,
    speed: float = 0.0,
    validate: bool = True,
    limit: int | None = None,
    items: bool = True,
    flush: bool = True,
) -> PublishCounts:
    """Create the topics, send the catalogue (``items``), the events (`send_events`) and one
    end-of-stream marker per partition (``flush``)."""
    from coea.admin import create_topics
    from coea.data.events_io import Publisher

    create_topics(settings)
    publisher = Publisher(settings)
    try:
        n_items = publisher.send_items(source.items) if items and source.items else 0
        counts = send_events(source, publisher, speed, validate, limit)
        counts.items = n_items
        counts.markers = publisher.send_flush_markers() if flush else 0
    finally:
        publisher.close()
    return counts


def write_source(source: Source, out: Path, limit: int | None = None) -> PublishCounts:
    """Write the source's valid events (at most ``limit``) to a JSON-lines file; invalid JSON
    lines are rejected."""
    from coea.data.events_io import write_jsonl

    counts = PublishCounts(rejected=len(source.problems), problems=list(source.problems))
    if source.events is not None:
        events = source.events
    else:

        def valid():
            for line in source.lines:
                if line.event is None:
                    _reject(source, counts, line)
                else:
                    yield line.event

        events = valid()
    start = time.monotonic()
    counts.sent = write_jsonl(islice(events, limit), out)
    counts.seconds = time.monotonic() - start
    return counts
