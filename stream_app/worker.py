"""Everything the worker runs: importing a module registers its agents, tables, views, timers."""

from __future__ import annotations

import sys

from stream_app import serving, timers, views  # noqa: F401  (registration)
from stream_app.agents import catalogue, ingest  # noqa: F401  (registration)
from stream_app.app import app


def run(argv: list[str]) -> None:
    """Run Faust's command line (``worker`` and its options) on this app; does not return."""
    sys.argv = ["coea worker", *argv]
    app.main()
