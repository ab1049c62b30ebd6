"""Timers of the worker.

- idle flush: a partition whose open window saw no event for `window_idle_flush_s` seconds
  gets a flush marker on the events topic (a timer cannot write tables; the events agent
  closes the window when the marker arrives, in order with the partition's events);
- seek watchdog: a partition whose records skipped offsets (stream_app.ledger.OffsetGuard)
  is sought back to the first missing one even when no further record arrives.
"""

from __future__ import annotations

import logging
import time

from coea.data.events_io import CONTROL_HEADER, FLUSH, FLUSH_VALUE
from stream_app.agents.ingest import seek_back
from stream_app.app import app, settings
from stream_app.stats import stats
from stream_app.topics import events_topic

log = logging.getLogger(__name__)
WATCHDOG_EVERY_S = 5.0


async def send_flush(partition: int) -> None:
    await events_topic.send(
        key=b"__control__",
        value=FLUSH_VALUE,
        partition=partition,
        headers={CONTROL_HEADER: FLUSH.encode()},
    )


if settings.window_idle_flush_s > 0:

    @app.timer(interval=max(settings.window_idle_flush_s / 4, 0.5))
    async def flush_idle_windows() -> None:
        for partition in stats.idle_open_partitions(settings.window_idle_flush_s):
            await send_flush(partition)
            stats.open_since.pop(partition, None)  # sent once; new events reopen it


@app.timer(interval=WATCHDOG_EVERY_S)
async def seek_watchdog() -> None:
    """Seek back partitions with missing offsets when no record arrives to trigger it."""
    await seek_back(time.monotonic())
