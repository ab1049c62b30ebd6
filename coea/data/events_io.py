"""Event logs in and out: MovieLens ratings as events, JSON-lines files, and a Kafka publisher.

How a rating becomes an event (docs/stream.md): rating >= ``click_threshold`` is a click,
a lower rating an exposure (shown, not clicked); ``value`` keeps the rating; ``category`` is
``ItemInfo.category(mode)``; the user's MovieLens features ride on their first event;
``event_id`` is ``{dataset}-{user}-{item}-{ts}``, so replaying a file twice changes nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from coea.data.movielens import RatingLog
from coea.schemas import (
    ClickEvent,
    ExposureEvent,
    ItemRecord,
    OrderEvent,
    RecordError,
    decode_event,
)
from coea.security import kafka_python_options
from coea.settings import Settings
from coea.topics import EVENTS, ITEMS

Event = ClickEvent | ExposureEvent | OrderEvent
#: The flush-marker protocol of the events topic: a record with header CONTROL_HEADER = FLUSH
#: closes its partition's open window (sent at the end of a replay and by the worker's idle
#: timer); its value is FLUSH_VALUE, so a reader without headers still sees it is no event.
CONTROL_HEADER = "coea-control"
FLUSH = "flush"
FLUSH_VALUE = b'{"control": "flush"}'


def ml_events(
    log: RatingLog,
    click_threshold: float = 4.0,
    category_mode: str = "genre",
    members: Mapping[str, Sequence[str]] | None = None,
) -> Iterator[Event]:
    """The ratings of a MovieLens log as events, in the log's (time) order; an event of a
    movie with several `members` (default: `RatingLog.members`, all its genres in genre mode)
    lists them in `categories`."""
    tag = log.name.replace("-", "")
    categories = log.categories(category_mode)
    members = log.members(category_mode) if members is None else members
    seen_users: set[str] = set()
    for r in log.ratings:
        features = None
        if r.user_id not in seen_users:
            seen_users.add(r.user_id)
            features = log.users.get(r.user_id) or None
        cls = ClickEvent if r.is_click(click_threshold) else ExposureEvent
        yield cls(
            event_id=f"{tag}-{r.user_id}-{r.item_id}-{r.ts}",
            user_id=r.user_id,
            item_id=r.item_id,
            category=categories.get(r.item_id),
            categories=list(cats) if len(cats := members.get(r.item_id, ())) > 1 else None,
            ts=r.ts,
            value=r.rating,
            features=features,
        )


def ml_catalogue(log: RatingLog, category_mode: str = "genre") -> list[ItemRecord]:
    """One ItemRecord per movie: its category under ``category_mode`` and all its genres."""
    return [
        ItemRecord(
            item_id=i,
            category=info.category(category_mode),
            categories=list(info.genres),
            title=info.title,
        )
        for i, info in log.items.items()
    ]


@dataclass(frozen=True)
class JsonlLine:
    """One non-blank line of a JSON-lines event file: the event, or why it is not one."""

    line: int
    raw: bytes
    event: Event | None = None
    error: str | None = None


def read_jsonl(path: str | Path, max_bytes: int = 16_384) -> Iterator[JsonlLine]:
    """Decode every non-blank line; bad lines come back with ``error`` set (reading goes on)."""
    with open(path, "rb") as f:
        for n, line in enumerate(f, start=1):
            raw = line.rstrip(b"\r\n")
            if not raw.strip():
                continue
            try:
                yield JsonlLine(n, raw, event=decode_event(raw, max_bytes))
            except RecordError as exc:
                yield JsonlLine(n, raw, error=str(exc))


def write_jsonl(events: Iterable[Event], path: str | Path) -> int:
    """Write events one JSON object per line; returns how many."""
    n = 0
    with open(path, "wb") as f:
        for event in events:
            f.write(event.to_bytes() + b"\n")
            n += 1
    return n


def user_key(raw: bytes) -> bytes | None:
    """The user_id of a raw record (its Kafka key), or None when it has none."""
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    user = obj.get("user_id") if isinstance(obj, dict) else None
    return str(user).encode() if user not in (None, "") else None


def paced(events: Iterable[Event], speed: float) -> Iterator[Event]:
    """Yield events no faster than ``speed`` x their own event time (0: as fast as possible)."""
    if speed <= 0:
        yield from events
        return
    start_wall = first_ts = None
    for event in events:
        if first_ts is None:
            start_wall, first_ts = time.monotonic(), event.ts
        wait = (event.ts - first_ts) / 1000 / speed - (time.monotonic() - start_wall)
        if wait > 0:
            time.sleep(wait)
        yield event


@dataclass
class PublishCounts:
    items: int = 0
    sent: int = 0
    rejected: int = 0
    markers: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)  # "line N: reason" of rejected lines

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0


class Publisher:
    """kafka-python producer for the items and events topics (keyed, batched, lingering)."""

    def __init__(self, settings: Settings, linger_ms: int = 20) -> None:
        from kafka import KafkaProducer

        self.settings = settings
        self.events_topic = EVENTS.name(settings)
        self.items_topic = ITEMS.name(settings)
        self.producer = KafkaProducer(
            bootstrap_servers=settings.bootstrap_servers,
            linger_ms=linger_ms,
            batch_size=256 * 1024,
            acks="all",  # with idempotence: no loss and no duplicate when a broker fails
            enable_idempotence=True,
            client_id="coea-replay",
            **kafka_python_options(settings),
        )

    def send_items(self, items: Iterable[ItemRecord]) -> int:
        n = 0
        for item in items:
            self.producer.send(self.items_topic, key=item.item_id.encode(), value=item.to_bytes())
            n += 1
        self.producer.flush()
        return n

    def send_event(self, event: Event) -> None:
        self.producer.send(self.events_topic, key=event.user_id.encode(), value=event.to_bytes())

    def send_raw(self, key: bytes | None, value: bytes) -> None:
        self.producer.send(self.events_topic, key=key, value=value)

    def send_flush_markers(self) -> int:
        """One end-of-stream marker per events partition: the worker closes open windows."""
        partitions = sorted(self.producer.partitions_for(self.events_topic))
        for p in partitions:
            self.producer.send(
                self.events_topic,
                key=b"__control__",
                value=FLUSH_VALUE,
                partition=p,
                headers=[(CONTROL_HEADER, FLUSH.encode())],
            )
        self.producer.flush()
        return len(partitions)

    def close(self) -> None:
        self.producer.flush()
        self.producer.close()
