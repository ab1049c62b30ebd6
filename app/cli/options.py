"""Click options shared by several commands: one name and one set of values per concept."""

from __future__ import annotations

from collections.abc import Callable

import click

CATEGORY_MODES = ("genre", "genre-combo")


def categories_option(
    name: str, default: str | None, help: str
) -> Callable[[click.Command], click.Command]:
    """`--categories genre|genre-combo`: what a MovieLens item's category is, stored in the
    command's parameter `name`."""
    return click.option(
        "--categories",
        name,
        type=click.Choice(CATEGORY_MODES),
        default=default,
        show_default=default is not None,
        help=help,
    )
