"""Cycle triggers: windows, drift (river ADWIN), time and idle."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from learners.schedule import CycleTrigger


def _cuts(trigger: CycleTrigger, windows: list[int]) -> list[int]:
    """Indices of the records before which a cycle closes."""
    cuts = []
    for i, w in enumerate(windows):
        reason = trigger.before_record(w)
        if reason:
            cuts.append(i)
            trigger.reset(0, carry_open=reason != "windows")
        trigger.observe(w, now_s=0)
    return cuts


def test_every_n_complete_windows():
    t = CycleTrigger(every_windows=2, drift=False)
    # window 0 and 1 complete when the first record of window 2 arrives
    assert _cuts(t, [0, 0, 1, 1, 2, 2, 3, 4, 5]) == [4, 7]


@given(st.lists(st.integers(0, 3), min_size=1, max_size=40).map(sorted))
def test_cuts_depend_on_records_only(windows):
    a = _cuts(CycleTrigger(every_windows=1, drift=False), windows)
    b = _cuts(CycleTrigger(every_windows=1, drift=False), windows)
    assert a == b
    assert a == [i for i in range(1, len(windows)) if windows[i] != windows[i - 1]]


def test_drift_in_acceptance_triggers_early():
    t = CycleTrigger(every_windows=100, drift=True)
    for i in range(400):
        t.observe(i // 50, now_s=0, accepted=[True])
    assert t.before_record(7) is None
    for i in range(400, 800):
        t.observe(i // 50, now_s=0, accepted=[False])
    assert t.drifts >= 1 and t.before_record(15) == "drift"


def test_no_drift_on_a_steady_rate():
    t = CycleTrigger(every_windows=100, drift=True)
    for i in range(1000):
        t.observe(i // 100, now_s=0, accepted=[i % 3 == 0])
    assert t.drifts == 0 and t.before_record(9) is None


def test_time_and_idle_triggers():
    t = CycleTrigger(every_windows=100, every_minutes=1, drift=False)
    t.due(0)
    t.observe(0, now_s=1)
    assert t.due(30) is None and t.due(61) == "time"
    idle = CycleTrigger(every_windows=100, drift=False, idle_seconds=5)
    idle.observe(0, now_s=10)
    assert idle.due(12) is None and idle.due(15) == "idle"
    idle.reset(15)
    assert idle.due(100) is None  # nothing pending


def test_carry_after_restart():
    t = CycleTrigger(every_windows=1, drift=False)
    t.carry(4)
    t.observe(4, now_s=0)
    assert t.before_record(4) is None and t.before_record(5) == "windows"


def test_invalid_setting():
    with pytest.raises(ValueError):
        CycleTrigger(every_windows=0)
