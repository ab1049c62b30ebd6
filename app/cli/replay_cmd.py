"""`coea replay`: publish an event log (MovieLens, JSON lines, synthetic) to the events topic."""

from __future__ import annotations

from pathlib import Path

import click

from app.cli.options import categories_option
from coea.data.replay import (
    Source,
    jsonl_source,
    movielens_source,
    publish_source,
    synthetic_source,
    write_source,
)
from coea.settings import get_settings

MAX_PROBLEMS_SHOWN = 20


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
        kind = "ml-100k" if ml100k else "ml-1m"
        source = movielens_source(kind, ml100k or ml1m, threshold, mode)
        if settings.filter_unit != "category":
            click.echo(
                "note: MovieLens rates each item once; the worker should run with "
                "COEA_FILTER_UNIT=category (this environment says "
                f"{settings.filter_unit!r})",
                err=True,
            )
    elif synthetic:
        source = synthetic_source(users, days, seed, n_categories, synthetic_world)
    else:
        source = jsonl_source(jsonl, settings.max_event_bytes)
    if out is not None:
        _summary(source, write_source(source, out, limit), f"wrote {out}")
        return
    from coea.broker import answers

    if not answers(settings):
        raise click.ClickException(
            f"no Kafka broker answers at {settings.bootstrap_servers}: "
            "start one with `coea broker up`"
        )
    counts = publish_source(
        settings, source, speed, not no_validate, limit, not no_items, not no_flush
    )
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
