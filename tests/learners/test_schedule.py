"""Cycle triggers: windows, drift (river ADWIN), time and idle."""

from __future__ import annotations

import pytest

from learners.schedule import CycleTrigger


def test_every_n_complete_windows():
    t = CycleTrigger(every_windows=2, drift=False)
    for w in (0, 0, 1, 1):
        t.observe(w, now_s=0)
    assert t.due(0) is None  # window 1 may still receive records
    t.observe(2, now_s=0)
    assert t.due(0) == "windows"
    t.reset(0)
    assert t.due(0) is None
    t.observe(3, now_s=0)
    t.observe(4, now_s=0)
    assert t.due(0) == "windows"


def test_drift_in_acceptance_triggers_early():
    t = CycleTrigger(every_windows=100, drift=True)
    for i in range(400):
        t.observe(i // 50, now_s=0, accepted=[True])
    assert t.due(0) is None
    for i in range(400, 800):
        t.observe(i // 50, now_s=0, accepted=[False])
    assert t.drifts >= 1 and t.due(0) == "drift"


def test_no_drift_on_a_steady_rate():
    t = CycleTrigger(every_windows=100, drift=True)
    for i in range(1000):
        t.observe(i // 100, now_s=0, accepted=[i % 3 == 0])
    assert t.drifts == 0 and t.due(0) is None


def test_time_and_idle_triggers():
    t = CycleTrigger(every_windows=100, every_minutes=1, drift=False)
    t.due(0)
    t.observe(0, now_s=1)
    t.observe(1, now_s=2)
    assert t.due(30) is None and t.due(61) == "time"
    idle = CycleTrigger(every_windows=100, drift=False, idle_seconds=5)
    idle.observe(0, now_s=10)
    assert idle.due(12) is None and idle.due(15) == "idle"
    idle.reset(15)
    assert idle.due(100) is None  # nothing pending


def test_invalid_setting():
    with pytest.raises(ValueError):
        CycleTrigger(every_windows=0)
