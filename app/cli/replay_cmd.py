"""`coea replay`: publish an event log (MovieLens, JSON lines, synthetic) to the events topic."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import click

from app.cli.options import categories_option
from coea.settings import get_settings

MAX_PROBLEMS_SHOWN = 20


@dataclass
class Source:
    """What a replay publishes: the catalogue, then the events (or raw lines) in order."""

    name: str
    items: list = field(default_factory=list)
    events: Iterator | None = None  # validated events
    lines: Iterator | None = None  # JsonlLine (JSON-lines input)
    total: int | None = None
    problems: list[str] = field(default_factory=list)


def _movielens(kind: str, root: Path, click_threshold: float, mode: str) -> Source:
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


def _synthetic(
    users: int, days: int, seed: int, n_categories: int, world_name: str | None = None
) -> Source:
    from coea.data.synthetic import SyntheticWorld

    cfg = replay_world_config(users, days, seed, n_categories, world_name)
    world_name = cfg.world
    world = SyntheticWorld(cfg)
    expected = int(users * days * cfg.sessions_per_day * cfg.session_events * 0.95)
    return Source(
        f"synthetic(users={users}, days={days}, seed={seed}, world={world_name})",
        world.items(),
        world.events(),
        total=expected,
    )


def _jsonl(path: Path, max_bytes: int) -> Source:
    from coea.data.events_io import read_jsonl

    with open(path, "rb") as f:
        total = sum(1 for line in f if line.strip())
    return Source(str(path), lines=read_jsonl(path, max_bytes), total=total)


def _publish(source: Source, publisher, speed: float, validate: bool, limit: int | None):
    """Send the source's events; returns PublishCounts."""
    from tqdm import tqdm

    from coea.data.events_io import PublishCounts, paced, user_key

    counts = PublishCounts(rejected=len(source.problems), problems=list(source.problems))
    start = time.monotonic()
    total = min(source.total, limit) if source.total and limit else (limit or source.total)
    bar = tqdm(total=total, unit="ev", desc="replay", mininterval=0.5)
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
                counts.rejected += 1
                counts.problems.append(f"{source.name}:{line.line}: {line.error}")
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


@click.command()
@click.option(
    "--ml-100k",
    "ml100k",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Replay MovieLens-100K from this folder (u.data, u.item, u.user).",
)
@click.option(
    "--ml-1m",
    "ml1m",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Replay MovieLens-1M from this folder (ratings.dat, movies.dat, users.dat).",
)
@click.option(
    "--jsonl",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Replay a JSON-lines file of events (one event object per line).",
)
@click.option("--synthetic", is_flag=True, help="Replay the built-in seeded synthetic stream.")
@click.option("--users", default=1000, show_default=True, help="Synthetic: number of users.")
@click.option("--days", default=30, show_default=True, help="Synthetic: days of events.")
@click.option("--seed", default=0, show_default=True, help="Synthetic: random seed.")
@click.option(
    "--n-categories", default=400, show_default=True, help="Synthetic: number of categories."
)
@click.option(
    "--synthetic-world",
    type=click.Choice(["longtail", "popular"]),
    default="longtail",
    show_default=True,
    help="Synthetic: longtail (hidden categories are each group's own tail ones) or popular "
    "(tastes and hidden categories drawn by popularity, the first generator).",
)
@click.option(
    "--click-threshold",
    type=float,
    default=None,
    help="MovieLens: a rating >= this is a click, lower an exposure "
    "(default: setting click_threshold, 4).",
)
@categories_option(
    "category_mode",
    None,
    "MovieLens: c(item) = first genre, or all genres joined by '|' "
    "(default: setting category_mode, genre).",
)
@click.option(
    "--speed",
    type=float,
    default=0.0,
    show_default=True,
    help="Replay at N x real (event) time; 0 = as fast as possible.",
)
@click.option("--limit", type=int, default=None, help="Send at most this many events.")
@click.option("--no-items", is_flag=True, help="Do not publish the item catalogue first.")
@click.option(
    "--no-flush",
    is_flag=True,
    help="Do not send the end-of-stream markers that close the open training windows.",
)
@click.option(
    "--no-validate",
    is_flag=True,
    help="JSON lines: send every line as it is (the worker's DLQ judges them).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the events to this JSON-lines file instead of publishing them.",
)
def replay(
    ml100k,
    ml1m,
    jsonl,
    synthetic,
    users,
    days,
    seed,
    n_categories,
    synthetic_world,
    click_threshold,
    category_mode,
    speed,
    limit,
    no_items,
    no_flush,
    no_validate,
    out,
) -> None:
    """Publish an event log to the events topic, keyed by user_id, in time order: first the
    item catalogue (items topic), then the events, then one end-of-stream marker per
    partition. Ends with counts: sent, rejected (bad lines, with line numbers), rate.

    MovieLens rates each item once: run the worker with COEA_FILTER_UNIT=category.
    """
    settings = get_settings()
    chosen = [
        n
        for n, v in (
            ("--ml-100k", ml100k),
            ("--ml-1m", ml1m),
            ("--jsonl", jsonl),
            ("--synthetic", synthetic),
        )
        if v
    ]
    if len(chosen) != 1:
        raise click.UsageError("choose exactly one of --ml-100k, --ml-1m, --jsonl, --synthetic")
    threshold = settings.click_threshold if click_threshold is None else click_threshold
    mode = category_mode or settings.category_mode
    if ml100k or ml1m:
        source = _movielens("ml-100k" if ml100k else "ml-1m", ml100k or ml1m, threshold, mode)
        if settings.filter_unit != "category":
            click.echo(
                "note: MovieLens rates each item once; the worker should run with "
                "COEA_FILTER_UNIT=category (this environment says "
                f"{settings.filter_unit!r})",
                err=True,
            )
    elif synthetic:
        source = _synthetic(users, days, seed, n_categories, synthetic_world)
    else:
        source = _jsonl(jsonl, settings.max_event_bytes)
    if out is not None:
        _write_out(source, out, limit)
        return
    _replay(settings, source, speed, not no_validate, limit, not no_items, not no_flush)


def _write_out(source: Source, out: Path, limit: int | None) -> None:
    from itertools import islice

    from coea.data.events_io import PublishCounts, write_jsonl

    counts = PublishCounts(rejected=len(source.problems), problems=list(source.problems))
    if source.events is not None:
        events = source.events
    else:

        def valid():
            for line in source.lines:
                if line.event is None:
                    counts.rejected += 1
                    counts.problems.append(f"{source.name}:{line.line}: {line.error}")
                else:
                    yield line.event

        events = valid()
    start = time.monotonic()
    counts.sent = write_jsonl(islice(events, limit), out)
    counts.seconds = time.monotonic() - start
    _summary(source, counts, f"wrote {out}")


def _replay(
    settings,
    source: Source,
    speed: float,
    validate: bool,
    limit: int | None,
    items: bool,
    flush: bool,
) -> None:
    from coea.admin import create_topics
    from coea.broker import answers
    from coea.data.events_io import Publisher

    if not answers(settings):
        raise click.ClickException(
            f"no Kafka broker answers at {settings.bootstrap_servers}: "
            "start one with `coea broker up`"
        )
    create_topics(settings)
    publisher = Publisher(settings)
    try:
        n_items = publisher.send_items(source.items) if items and source.items else 0
        counts = _publish(source, publisher, speed, validate, limit)
        counts.items = n_items
        counts.markers = publisher.send_flush_markers() if flush else 0
    finally:
        publisher.close()
    _summary(source, counts)


def _summary(source: Source, counts, verb: str = "sent") -> None:
    for line in counts.problems[:MAX_PROBLEMS_SHOWN]:
        click.echo(f"rejected {line}", err=True)
    if len(counts.problems) > MAX_PROBLEMS_SHOWN:
        click.echo(f"... and {len(counts.problems) - MAX_PROBLEMS_SHOWN} more problems", err=True)
    click.echo(
        f"replayed {source.name}: {verb} {counts.sent} events, rejected {counts.rejected}, "
        f"{counts.items} items, {counts.markers} end markers in {counts.seconds:.1f}s "
        f"({counts.rate:,.0f} events/s)"
    )
