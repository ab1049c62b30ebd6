"""Everything the worker runs: importing a module registers its agents, tables, views, timers."""

from __future__ import annotations

import sys

from stream_app import probes, rebalance, serving, timers, views  # noqa: F401  (registration)
from stream_app.agents import catalogue, ingest  # noqa: F401  (registration)
from stream_app.app import app
from stream_app.app import settings as app_settings


def run(argv: list[str]) -> None:
    """Run Faust's command line (``worker`` and its options) on this app; does not return."""
    from coea.security import api_token
    from stream_app.access import install

    install(app.web.web_app, api_token(app_settings), app_settings.worker_private_views)
    sys.argv = ["coea worker", *argv]
    app.main()
