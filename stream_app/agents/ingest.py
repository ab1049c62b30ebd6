"""The events agent: batches of raw records -> `IngestProcessor` -> table writes and sends."""

from __future__ import annotations

import logging
import time
from typing import Any

from faust.types import TP

from coea.schemas import item_table_categories
from coea.state import StateParams
from stream_app.app import app, settings
from stream_app.commits import install as install_ledger_commits
from stream_app.context import event_context
from stream_app.metrics import metrics
from stream_app.processor import CONTROL_HEADER, BatchResult, IngestProcessor, RawRecord
from stream_app.stats import guard, ledger, stats
from stream_app.tables import clocks_table, items_table, users_table
from stream_app.topics import dlq_topic, events_topic, windows_topic
from stream_app.windows import WindowClock

log = logging.getLogger(__name__)
LOG_EVERY_S = 10.0  # progress line in the worker log at most this often
params = StateParams.from_settings(settings)
processor = IngestProcessor(
    params,
    WindowClock.from_settings(settings),
    events_topic.get_topic_name(),
    settings.max_event_bytes,
    max_future_ms=int(settings.max_future_skew_s * 1000) if settings.max_future_skew_s else None,
)


class TableReader:
    """`StateReader` over the Faust tables (reads in the context of the record's event)."""

    def user(self, user_id: str, ctx: Any) -> bytes | None:
        with event_context(ctx):
            return users_table.get(user_id.encode())

    def partition(self, partition: int, ctx: Any) -> bytes | None:
        with event_context(ctx):
            return clocks_table.get(f"p{partition}".encode())

    def categories(self, item_id: str) -> tuple[str, ...]:
        raw = items_table.get(item_id.encode())
        return item_table_categories(raw) if raw else ()


def to_record(event: Any) -> RawRecord:
    msg = event.message
    control = None
    for name, value in msg.headers or ():
        if name == CONTROL_HEADER:
            control = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return RawRecord(msg.partition, msg.offset, msg.key, msg.value, control, event)


async def write(result: BatchResult) -> None:
    """Send, then write, flushing in between, so that after a crash at any point every
    training window and dead letter of a state that survived was delivered (docs/stream.md):

    1. windows and dead letters, flushed; 2. user states, flushed; 3. window clocks.
    Faust flushes again before it commits the batch's offsets.
    """
    for key, letter in result.dead_letters:
        await dlq_topic.send(key=key, value=letter.to_bytes())
    for window in result.windows:
        await windows_topic.send(key=window.user_id.encode(), value=window.to_bytes())
    if result.dead_letters or result.windows:
        await app.producer.flush()
    for user_id, (state, ctx) in result.users.items():
        with event_context(ctx):
            users_table[user_id.encode()] = state.to_json()
    if result.users:
        await app.producer.flush()
    for partition, (pw, ctx) in result.partitions.items():
        with event_context(ctx):
            clocks_table[f"p{partition}".encode()] = pw.to_json()


def committed_offset(partition: int) -> int | None:
    return app.consumer._committed_offset.get(TP(events_topic.get_topic_name(), partition))


async def seek_back(now: float) -> None:
    """Have partitions that skipped offsets deliver again from the first missing one.

    The partitions are paused first: Faust then stops handing out what it already fetched
    for them, which would otherwise move its read position past the sought offset again.
    """
    while guard.skipped:
        log.warning("ingest: partition %s offsets %s..%s never came: skipped", *guard.skipped.pop())
    due = guard.due_seeks(now)
    if not due:
        return
    topic, consumer = events_topic.get_topic_name(), app.consumer
    tps = {TP(topic, p): o for p, o in due.items()}
    log.warning("ingest: offsets missing, seeking back: %s", due)
    stats.seeks += len(due)
    consumer.pause_partitions(tps)
    try:
        await consumer._thread.seek_wait(tps)
    finally:
        consumer.resume_partitions(tps)


@app.agent(events_topic)
async def ingest(stream: Any) -> None:
    install_ledger_commits(app.consumer, events_topic.get_topic_name(), ledger)
    reader = TableReader()
    batches = stream.take_events(settings.worker_batch_size, within=settings.worker_batch_wait_s)
    last_log = time.monotonic()
    async for events in batches:
        started = time.perf_counter()
        records = [to_record(e) for e in events]
        admitted = [
            r for r in records if guard.admit(r.partition, r.offset, committed_offset(r.partition))
        ]
        result = processor.process(admitted, reader)
        await write(result)
        stats.update(admitted, result, refused=len(records) - len(admitted))
        metrics.batch_seconds.observe(time.perf_counter() - started)
        for partition in {rec.partition for rec in admitted}:
            ledger.add(partition, [r.offset for r in admitted if r.partition == partition])
        await seek_back(time.monotonic())
        if time.monotonic() - last_log >= LOG_EVERY_S:
            last_log = time.monotonic()
            log.info("ingest: %s", stats.summary())
