"""What the events agent does with a batch of records, without Faust (tested alone).

For each record, in order: a flush marker closes its partition's open window; anything else is
decoded and validated (failures, and event times too far ahead of the worker's clock, become
dead letters with a reason), its category resolved (event field, else the catalogue, else a
dead letter "unknown item"; the item's other categories likewise), its partition's window
clock advanced (closing the previous window emits one TrainingWindow per active user), and
the user's state updated through `coea.state.update_state`. The agent then writes the changed
states and clocks (one table write per user per batch) and sends dead letters and windows.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from coea.data.events_io import CONTROL_HEADER, FLUSH
from coea.schemas import DeadLetter, RecordError, TrainingWindow, decode_event
from coea.state import Event, StateParams, UserState, to_training_window, update_state
from stream_app.windows import PartitionWindow, WindowClock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RawRecord:
    """One record of the events topic as the transport delivered it."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    control: str | None = None  # value of the CONTROL_HEADER header, if any
    ctx: Any = None  # the transport's event; writes for this partition happen in its context


class StateReader(Protocol):
    """Read access to the tables (``ctx`` selects the partition's local store)."""

    def user(self, user_id: str, ctx: Any) -> bytes | None: ...

    def partition(self, partition: int, ctx: Any) -> bytes | None: ...

    def categories(self, item_id: str) -> tuple[str, ...]:
        """The catalogue's categories of the item, c(item) first; () when unknown."""
        ...


class MemoryTables:
    """A `StateReader` over dicts that takes back each batch's writes (`write`): the events
    agent's tables without Faust, for tests and the logic-only benchmark."""

    def __init__(self, items: Mapping[str, str | Sequence[str]] | None = None) -> None:
        """`items`: item -> its category, or its categories with c(item) first."""
        self.users: dict[str, bytes] = {}
        self.clocks: dict[int, bytes] = {}
        self.items = {i: (c,) if isinstance(c, str) else tuple(c) for i, c in (items or {}).items()}

    def user(self, user_id: str, ctx: Any) -> bytes | None:
        return self.users.get(user_id)

    def partition(self, partition: int, ctx: Any) -> bytes | None:
        return self.clocks.get(partition)

    def categories(self, item_id: str) -> tuple[str, ...]:
        return self.items.get(item_id, ())

    def write(self, result: BatchResult) -> None:
        for user_id, (state, _) in result.users.items():
            self.users[user_id] = state.to_json()
        for p, (pw, _) in result.partitions.items():
            self.clocks[p] = pw.to_json()


@dataclass
class BatchResult:
    """Writes and sends the agent performs for one batch."""

    users: dict[str, tuple[UserState, Any]] = field(default_factory=dict)  # changed states
    partitions: dict[int, tuple[PartitionWindow, Any]] = field(default_factory=dict)
    dead_letters: list[tuple[bytes | None, DeadLetter]] = field(default_factory=list)
    windows: list[TrainingWindow] = field(default_factory=list)
    applied: int = 0
    duplicates: int = 0
    flushes: int = 0


class IngestProcessor:
    """The events agent's logic; one instance per worker."""

    def __init__(
        self,
        params: StateParams,
        clock: WindowClock,
        source_topic: str,
        max_event_bytes: int = 16_384,
        now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
        max_future_ms: int | None = None,
    ) -> None:
        """`max_future_ms`: an event whose time is further ahead of `now_ms()` is a dead
        letter (None: no bound), so one bad clock cannot move a partition's windows into the
        far future."""
        self.params, self.clock, self.source_topic = params, clock, source_topic
        self.max_event_bytes, self.now_ms = max_event_bytes, now_ms
        self.max_future_ms = max_future_ms

    def process(self, records: Sequence[RawRecord], reader: StateReader) -> BatchResult:
        batch = _Batch(self, reader)
        for rec in records:
            batch.handle(rec)
        return batch.result


class _Batch:
    def __init__(self, proc: IngestProcessor, reader: StateReader) -> None:
        self.proc, self.reader, self.result = proc, reader, BatchResult()
        self.states: dict[str, UserState] = {}  # loaded this batch (changed or not)
        self.clocks: dict[int, PartitionWindow] = {}

    def handle(self, rec: RawRecord) -> None:
        try:
            self._handle(rec)
        except Exception as exc:  # a bug must not stop the stream: keep the record, say why
            log.exception(
                "record %s:%s failed",
                rec.partition,
                rec.offset,
                extra={"event": "record_failed", "partition": rec.partition, "offset": rec.offset},
            )
            self.dead_letter(rec, f"processing error: {exc!r}")

    def _handle(self, rec: RawRecord) -> None:
        if rec.control == FLUSH:
            self.flush(rec)
            return
        if rec.control is not None:
            self.dead_letter(
                rec, f"{CONTROL_HEADER}: unknown control {rec.control!r} (expected {FLUSH!r})"
            )
            return
        try:
            event = decode_event(rec.value, self.proc.max_event_bytes)
        except RecordError as exc:
            self.dead_letter(rec, str(exc))
            return
        ahead = self.proc.max_future_ms
        if ahead is not None and event.ts > (now := self.proc.now_ms()) + ahead:
            self.dead_letter(
                rec,
                f"ts: {event.ts} is more than {ahead} ms ahead of the worker's clock ({now}); "
                "event time must be milliseconds since the Unix epoch",
            )
            return
        key = rec.key.decode("utf-8", "replace") if rec.key is not None else None
        if key != event.user_id:
            self.dead_letter(
                rec,
                f"key: record key {key!r} != user_id {event.user_id!r} "
                "(events must be keyed by user_id)",
            )
            return
        category, also = event.category, event.categories
        if not category:
            known = self.reader.categories(event.item_id)
            category, also = (known[0] if known else None), also or known
        if not category:
            self.dead_letter(
                rec,
                f"unknown item: {event.item_id!r} has no category (none in the "
                "event, none in the item catalogue)",
            )
            return
        self.apply(rec, event, category, also or ())

    def apply(self, rec: RawRecord, event: Event, category: str, also: Sequence[str]) -> None:
        pw = self.clock_of(rec)
        window_id = self.proc.clock.window_for(pw, event.ts)
        if pw.window_id is not None and window_id != pw.window_id:
            self.close(pw, rec)
        pw.window_id = window_id
        state = self.state_of(event.user_id, rec)
        if update_state(state, event, category, self.proc.params, window_id, also):
            self.proc.clock.observe(pw, event.ts)
            self.result.applied += 1
        else:
            self.result.duplicates += 1
        # Written even when unchanged: a redelivery after a crash re-sends a state whose
        # changelog message may have been lost while the local RocksDB kept it.
        self.result.users[event.user_id] = (state, rec.ctx)
        if state.window_id == window_id:  # a redelivered event still marks its user active
            pw.add_active(event.user_id)
        self.result.partitions[rec.partition] = (pw, rec.ctx)

    def close(self, pw: PartitionWindow, rec: RawRecord) -> None:
        """Emit the open window of ``pw`` for every active user, then empty it."""
        for user_id in pw.active:
            state = self.state_of(user_id, rec)
            if state.window_id != pw.window_id:
                continue
            start, end = self.proc.clock.bounds(
                pw.window_id, state.window_ts_start, state.window_ts_end
            )
            self.result.windows.append(
                to_training_window(state, self.proc.params, pw.window_id, start, end)
            )
        pw.clear_active()
        self.result.partitions[rec.partition] = (pw, rec.ctx)

    def flush(self, rec: RawRecord) -> None:
        pw = self.clock_of(rec)
        if pw.active:
            self.close(pw, rec)
            self.proc.clock.skip_to_next(pw)
            self.result.flushes += 1

    def clock_of(self, rec: RawRecord) -> PartitionWindow:
        pw = self.clocks.get(rec.partition)
        if pw is None:
            raw = self.reader.partition(rec.partition, rec.ctx)
            pw = PartitionWindow.from_json(raw) if raw else PartitionWindow(rec.partition)
            self.clocks[rec.partition] = pw
        return pw

    def state_of(self, user_id: str, rec: RawRecord) -> UserState:
        state = self.states.get(user_id)
        if state is None:
            raw = self.reader.user(user_id, rec.ctx)
            state = UserState.from_json(raw) if raw else UserState(user_id=user_id)
            self.states[user_id] = state
        return state

    def dead_letter(self, rec: RawRecord, reason: str) -> None:
        letter = DeadLetter.of(
            rec.value or b"",
            reason,
            self.proc.source_topic,
            self.proc.now_ms(),
            partition=rec.partition,
            offset=rec.offset,
        )
        self.result.dead_letters.append((rec.key, letter))
