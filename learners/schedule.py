"""When the learner runs a cycle: every N complete windows, on drift, every T minutes, or idle.

The window and drift triggers are checked record by record, *before* a record is added to
D_k, so a cycle always covers the same records whatever the poll batches were: the same
stream cuts the same cycles in every run (and after a restart). A window is complete when a
record of a later window arrives. The time trigger (off by default) and the idle trigger (no
record for `idle_seconds` while some are pending: closes the last cycle at the end of a
replay) depend on the wall clock and are checked between polls.

Drift is river's ADWIN on the aligned-acceptance rate: for each category a user clicks in a
window that was new to their C'_short, 1 if it was among the novel categories served to
their key, else 0. A change in that rate triggers a cycle early.
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
    drifts: int = 0
    _windows: set[int] = field(default_factory=set)
    _last_cycle_s: float | None = None
    _last_record_s: float | None = None
    _pending: int = 0
    _drifted: bool = False
    _adwin: ADWIN | None = None

    def __post_init__(self) -> None:
        if self.every_windows < 1:
            raise ValueError("every_windows must be >= 1")
        self._adwin = ADWIN(delta=self.drift_delta) if self.drift else None

    @property
    def pending(self) -> int:
        """Records added since the last cycle."""
        return self._pending

    @property
    def open_window(self) -> int | None:
        return max(self._windows) if self._windows else None

    def _complete(self) -> int:
        return max(len(self._windows) - 1, 0)

    def before_record(self, window_id: int) -> str | None:
        """'windows' or 'drift' when a cycle must close before this record is added."""
        if not self._pending:
            return None
        if window_id not in self._windows and len(self._windows) >= self.every_windows:
            return "windows"  # this record starts a window; the ones before are complete
        if self._drifted and self._complete() >= self.min_windows_on_drift:
            return "drift"
        return None

    def observe(self, window_id: int, now_s: float, accepted: list[bool] | None = None) -> None:
        """Note one added record and, if served categories were known, their uptake."""
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
        """'time' or 'idle' when the wall clock says the pending records form a cycle."""
        if self._last_cycle_s is None:
            self._last_cycle_s = now_s
        if not self._pending:
            return None
        if self.every_minutes > 0 and now_s - self._last_cycle_s >= self.every_minutes * 60:
            return "time"
        quiet = self._last_record_s is not None and now_s - self._last_record_s >= self.idle_seconds
        if self.idle_seconds > 0 and quiet:
            return "idle"
        return None

    def carry(self, window_id: int | None) -> None:
        """After a restart: the window that was open at the last cycle (nothing pending)."""
        if window_id is not None:
            self._windows.add(window_id)

    def reset(self, now_s: float, carry_open: bool = True) -> None:
        """Start counting for the next cycle.

        After a 'windows' cut every counted window is complete (carry_open=False); after a
        drift, time or idle cut the newest window may still be open and carries over.
        """
        last = self.open_window if carry_open else None
        self._windows = {last} if last is not None else set()
        self._last_cycle_s = now_s
        self._pending = 0
        self._drifted = False
