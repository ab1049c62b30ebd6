"""Training-window clocks, one per partition of the events topic (pure; no Faust imports).

Time mode: window ``w`` covers event times ``[w * W, (w + 1) * W)`` ms. A partition's
watermark is the newest event time it has seen; an event older than the watermark (late) is
counted in the open window. The open window closes when the watermark passes its end, or on a
flush marker (end of a replay, idle timer).

Count mode: window ``w`` holds a partition's applied events ``w * N .. (w + 1) * N - 1``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class PartitionWindow:
    """One partition's clock and the users active in its open window (a table value)."""

    partition: int
    window_id: int | None = None  # the open window (None before the first event)
    watermark: int = 0  # newest event time seen, ms (time mode)
    count: int = 0  # applied events (count mode)
    active: list[str] = field(default_factory=list)  # users with events in the open window
    _active_set: set[str] = field(default_factory=set, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._active_set = set(self.active)

    def add_active(self, user_id: str) -> None:
        if user_id not in self._active_set:
            self._active_set.add(user_id)
            self.active.append(user_id)

    def clear_active(self) -> None:
        self.active, self._active_set = [], set()

    def to_json(self) -> bytes:
        data: dict[str, Any] = {
            "partition": self.partition,
            "window_id": self.window_id,
            "watermark": self.watermark,
            "count": self.count,
            "active": self.active,
        }
        return json.dumps(data, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> PartitionWindow:
        return cls(**json.loads(raw))


@dataclass(frozen=True)
class WindowClock:
    """The window rules of one deployment (from settings)."""

    mode: str = "time"  # "time" or "count"
    window_ms: int = 86_400_000  # time mode: window length in event time
    window_events: int = 10_000  # count mode: applied events per partition per window

    def __post_init__(self) -> None:
        if self.mode not in ("time", "count"):
            raise ValueError(f"window mode must be 'time' or 'count', got {self.mode!r}")
        if self.window_ms < 1 or self.window_events < 1:
            raise ValueError("window_ms and window_events must be positive")

    @classmethod
    def from_settings(cls, settings: Any) -> WindowClock:
        return cls(settings.window_mode, settings.window_seconds * 1000, settings.window_events)

    def window_for(self, pw: PartitionWindow, ts: int) -> int:
        """The window an event at ``ts`` belongs to (never before the open one)."""
        if self.mode == "time":
            window = max(ts, pw.watermark) // self.window_ms
        else:
            window = pw.count // self.window_events
        return window if pw.window_id is None else max(window, pw.window_id)

    def observe(self, pw: PartitionWindow, ts: int) -> None:
        """Advance the clock past an applied event."""
        pw.watermark = max(pw.watermark, ts)
        pw.count += 1

    def skip_to_next(self, pw: PartitionWindow) -> None:
        """After a flush: later events start the next window (late ones count there too)."""
        if pw.window_id is None:
            return
        if self.mode == "time":
            pw.watermark = max(pw.watermark, (pw.window_id + 1) * self.window_ms)
        else:
            pw.count = max(pw.count, (pw.window_id + 1) * self.window_events)

    def bounds(self, window_id: int, first_ts: int | None, last_ts: int | None) -> tuple[int, int]:
        """(ts_start, ts_end) of a TrainingWindow: the window's span in time mode, the
        user's first and last event time in count mode."""
        if self.mode == "time":
            return window_id * self.window_ms, (window_id + 1) * self.window_ms
        return first_ts or 0, last_ts or 0
