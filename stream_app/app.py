"""The Faust app, only the app: topics, tables, agents, views and timers have their own
modules, registered by importing them (`stream_app.worker`). Explicit imports rather than
Faust's autodiscovery, which only logs a warning when a module fails to import and then runs
a worker without that module's agents."""

import faust

from coea.settings import get_settings
from stream_app import clients
from stream_app.config import app_id, faust_options

clients.apply()  # read_committed consumer, idempotent producer

settings = get_settings()

app = faust.App(
    app_id(settings),
    **faust_options(settings),
)
