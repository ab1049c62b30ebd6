"""One valid example of every wire record, with the topic it travels on.

Used by `coea smoke`, the integration tests and docs/events.md (a test checks the docs'
examples against the schemas).
"""

from __future__ import annotations

from pydantic import BaseModel

from coea import topics
from coea.schemas import (
    CategoryScore,
    ClickEvent,
    DeadLetter,
    ExposureEvent,
    ItemRecord,
    NovelCategoryRow,
    OrderEvent,
    TrainingWindow,
    UserGroup,
    VersionMarker,
)
from coea.topics import TopicSpec

TS = 1_700_000_000_000

EXAMPLES: list[tuple[TopicSpec, str | None, BaseModel]] = [
    (
        topics.EVENTS,
        "u42",
        ClickEvent(
            event_id="e-1",
            user_id="u42",
            item_id="i7",
            ts=TS,
            category="Sci-Fi",
            features={"age": 31, "gender": "F"},
        ),
    ),
    (topics.EVENTS, "u42", ExposureEvent(event_id="e-2", user_id="u42", item_id="i9", ts=TS + 1)),
    (
        topics.EVENTS,
        "u42",
        OrderEvent(event_id="e-3", user_id="u42", item_id="i7", ts=TS + 2, value=12.5),
    ),
    (
        topics.ITEMS,
        "i7",
        ItemRecord(
            item_id="i7", category="Sci-Fi", categories=["Sci-Fi", "Thriller"], title="Alien (1979)"
        ),
    ),
    (
        topics.EVENTS_DLQ,
        "u42",
        DeadLetter.of(
            b'{"kind": "like"}',
            "kind: unknown event kind 'like'",
            "coea.events",
            TS,
            partition=0,
            offset=17,
        ),
    ),
    (
        topics.TRAINING_WINDOWS,
        "u42",
        TrainingWindow(
            window_id=3,
            user_id="u42",
            long_items=["i1", "i4"],
            long_categories=["Drama", "Sci-Fi"],
            short_categories=["Sci-Fi", "Drama", "Sci-Fi"],
            short_set=["Drama", "Sci-Fi"],
            positives=["Sci-Fi"],
            negatives=["Horror"],
            features={"age": 31},
            ts_start=TS,
            ts_end=TS + 3_600_000,
        ),
    ),
    (
        topics.USER_GROUPS,
        "u42",
        UserGroup(
            user_id="u42", csid=[3, 11, 0, 7], group=12, model_version="dsie-20261125-1", ts=TS
        ),
    ),
    (
        topics.NOVEL_CATEGORIES,
        "g12:5f1c9a2b",
        NovelCategoryRow(
            key="g12:5f1c9a2b",
            group=12,
            short_hash="5f1c9a2b",
            categories=[
                CategoryScore(category="Film-Noir", score=0.81),
                CategoryScore(category="Western", score=0.64),
            ],
            version=4,
            cycle=4,
            model_version="pco-cycle-0004",
            ts=TS,
        ),
    ),
    (topics.NOVEL_CATEGORIES, "__version__", VersionMarker(version=4, cycle=4, rows=1, ts=TS)),
]
