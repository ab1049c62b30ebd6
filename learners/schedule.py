"""When the learner runs a cycle: every N new window ids, every T minutes, or on drift.

Pure and deterministic given its inputs (wall-clock time is passed in), so the same stream
triggers the same cycles in every run; the time trigger is off by default for that reason.
The idle trigger (no record for `idle_seconds` while some are pending) closes the last cycle
at the end of a replay, when no later window arrives to complete the open one.
Drift is river's ADWIN on the aligned-acceptance rate: for each category a user clicks in a
window, 1 if it was among the novel categories served to that user's key, else 0. A change
in that rate (users stop, or start, taking up what the table offers) triggers a cycle early.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from river.drift import ADWIN


@dataclass
class CycleTrigger:
    """Decides, record by record, whether the data seen so far should close a cycle."""

    every_windows: int = 4
    every_minutes: float = 0.0
    drift: bool = True
    drift_delta: float = 0.002
    min_windows_on_drift: int = 1
    idle_seconds: float = 0.0
    _windows: set[int] = field(default_factory=set)
    _last_ts: float | None = None
    _last_record_s: float | None = None
    _pending: int = 0
    _drifted: bool = False
    _adwin: ADWIN | None = None
    drifts: int = 0

    def __post_init__(self) -> None:
        if self.every_windows < 1:
            raise ValueError("every_windows must be >= 1")
        self._adwin = ADWIN(delta=self.drift_delta) if self.drift else None

    def observe(self, window_id: int, now_s: float, accepted: list[bool] | None = None) -> None:
        """Note one training-window record and, if served categories were known, uptake."""
        self._windows.add(window_id)
        self._pending += 1
        self._last_record_s = now_s
        if self._adwin is None or not accepted:
            return
        for a in accepted:
            self._adwin.update(1.0 if a else 0.0)
            if self._adwin.drift_detected:
                self.drifts += 1
                self._drifted = True

    def due(self, now_s: float) -> str | None:
        """The reason a cycle is due now ('windows', 'time', 'drift'), or None."""
        if self._last_ts is None:
            self._last_ts = now_s
        # A window counts once the next one has started (its records are all in).
        complete = max(len(self._windows) - 1, 0)
        if complete >= self.every_windows:
            return "windows"
        if self._drifted and complete >= self.min_windows_on_drift:
            return "drift"
        if self.every_minutes > 0 and now_s - self._last_ts >= self.every_minutes * 60 and complete:
            return "time"
        quiet = self._last_record_s is not None and now_s - self._last_record_s >= self.idle_seconds
        if self.idle_seconds > 0 and self._pending and quiet:
            return "idle"
        return None

    def reset(self, now_s: float) -> None:
        """Start counting for the next cycle; the newest (still open) window carries over."""
        last = max(self._windows) if self._windows else None
        self._windows = {last} if last is not None else set()
        self._last_ts = now_s
        self._pending = 0
        self._drifted = False
