"""Window clocks (stream_app.windows)."""

from __future__ import annotations

import pytest

from stream_app.windows import PartitionWindow, WindowClock


def test_time_window_follows_watermark_and_never_goes_back():
    clock, pw = WindowClock("time", window_ms=10), PartitionWindow(0)
    assert clock.window_for(pw, 25) == 2
    pw.window_id = 2
    clock.observe(pw, 25)
    assert clock.window_for(pw, 3) == 2  # late: the open window
    clock.skip_to_next(pw)
    assert clock.window_for(pw, 29) == 3 and clock.bounds(3, None, None) == (30, 40)


def test_count_window_and_skip():
    clock, pw = WindowClock("count", window_events=2), PartitionWindow(1)
    ids = []
    for ts in range(5):
        ids.append(clock.window_for(pw, ts))
        pw.window_id = ids[-1]
        clock.observe(pw, ts)
    assert ids == [0, 0, 1, 1, 2]
    clock.skip_to_next(pw)
    assert clock.window_for(pw, 0) == 3 and clock.bounds(3, 7, 9) == (7, 9)


def test_partition_window_json_round_trip_and_validation():
    pw = PartitionWindow(3, window_id=5, watermark=7, count=2, active=["a"])
    pw.add_active("b")
    pw.add_active("a")
    again = PartitionWindow.from_json(pw.to_json())
    assert again == pw and again.active == ["a", "b"]
    with pytest.raises(ValueError):
        WindowClock("session")
