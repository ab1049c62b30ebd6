"""`coea topics create|list`: the project's topics, made idempotently."""

from __future__ import annotations

import click

from coea.settings import get_settings
from coea.topics import ALL_TOPICS


@click.group()
def topics() -> None:
    """Create or list the coea topics (names, partitions and cleanup policies in coea/topics.py)."""


@topics.command()
def create() -> None:
    """Create every coea topic that does not exist yet (safe to run again)."""
    from coea.admin import create_topics

    for r in create_topics():
        state = "created" if r.created else "exists " if r.authorized else "denied "
        click.echo(f"{state}  {r.name:<32} partitions={r.partitions} cleanup={r.cleanup_policy}")


@topics.command(name="list")
def list_() -> None:
    """Print the topics this project uses and what each carries (no broker needed)."""
    settings = get_settings()
    for spec in ALL_TOPICS:
        click.echo(
            f"{spec.name(settings):<32} key={spec.key:<26} "
            f"cleanup={spec.cleanup_policy:<8} {spec.description}"
        )
