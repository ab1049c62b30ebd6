"""Every topic of coea-stream in one place: name, partitions, cleanup policy, key.

Names are ``{prefix}.{suffix}`` with the prefix from settings (``coea`` by default), so tests
can run side by side on one broker under their own prefix.
"""

from __future__ import annotations

from dataclasses import dataclass

from coea.settings import Settings, get_settings


@dataclass(frozen=True)
class TopicSpec:
    """One topic. ``partitions=None`` means the keyed-topic default from settings."""

    suffix: str
    key: str
    cleanup_policy: str = "delete"
    partitions: int | None = None
    description: str = ""

    def name(self, settings: Settings | None = None) -> str:
        return f"{(settings or get_settings()).topic_prefix}.{self.suffix}"

    def config(self) -> dict[str, str]:
        cfg = {"cleanup.policy": self.cleanup_policy}
        if self.cleanup_policy == "compact":
            cfg.update({"min.cleanable.dirty.ratio": "0.1", "segment.ms": "60000"})
        return cfg


EVENTS = TopicSpec("events", key="user_id", description="Click, exposure and order events.")
EVENTS_DLQ = TopicSpec("events.dlq", key="user_id or null", description="Invalid events + reason.")
ITEMS = TopicSpec("items", key="item_id", cleanup_policy="compact", description="Item catalogue.")
TRAINING_WINDOWS = TopicSpec(
    "training-windows",
    key="user_id",
    partitions=1,
    description="Per-user training records of one window (one partition: the learner reads "
    "them in one order, so every run cuts the same cycles).",
)
USER_GROUPS = TopicSpec(
    "user-groups", key="user_id", cleanup_policy="compact", description="user -> CSID."
)
NOVEL_CATEGORIES = TopicSpec(
    "novel-categories",
    key="CSID (+) hash(C'_short)",
    cleanup_policy="compact",
    partitions=1,
    description="Aligned novel categories per key, plus version markers (one partition: ordered).",
)

ALL_TOPICS: tuple[TopicSpec, ...] = (
    EVENTS,
    EVENTS_DLQ,
    ITEMS,
    TRAINING_WINDOWS,
    USER_GROUPS,
    NOVEL_CATEGORIES,
)
