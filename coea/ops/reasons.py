"""Dead-letter reasons as a bounded label set (metrics and `coea status` count by these).

A dead letter's `reason` is free text naming the field and the value (docs/stream.md); a
metric label must come from a fixed set, so each reason maps to one of `REASONS`.
"""

from __future__ import annotations

import re

REASONS: tuple[str, ...] = (
    "empty",
    "oversized",
    "bad_json",
    "invalid_kind",
    "invalid_field",
    "future_event",
    "key_mismatch",
    "unknown_item",
    "unknown_control",
    "processing_error",
    "other",
)

_PREFIXES: tuple[tuple[str, str], ...] = (
    ("empty record", "empty"),
    ("oversized payload", "oversized"),
    ("bad JSON", "bad_json"),
    ("kind: ", "invalid_kind"),
    ("key: record key", "key_mismatch"),
    ("unknown item", "unknown_item"),
    ("coea-control: unknown control", "unknown_control"),
    ("processing error", "processing_error"),
)
_FIELD = re.compile(r"^[A-Za-z_<][\w.<>\[\]-]*: ")


def reason_label(reason: str) -> str:
    """The label of one dead letter's reason text (always a member of `REASONS`)."""
    if reason.startswith("ts: ") and "ahead of the worker's clock" in reason:
        return "future_event"
    for prefix, label in _PREFIXES:
        if reason.startswith(prefix):
            return label
    return "invalid_field" if _FIELD.match(reason) else "other"
