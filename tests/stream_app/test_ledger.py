"""Processed-offset intervals (stream_app.ledger)."""

from __future__ import annotations

from stream_app.ledger import OffsetLedger


def test_intervals_merge_cover_and_prune():
    ledger = OffsetLedger()
    ledger.add(0, [5, 6, 7])
    ledger.add(0, [10, 11])
    ledger.add(0, [8, 9])  # fills the gap
    ledger.add(0, [3])
    assert ledger.intervals[0] == [[3, 3], [5, 11]]
    assert ledger.covers(0, 5, 11) and not ledger.covers(0, 3, 5) and not ledger.covers(1, 0, 0)
    ledger.prune(0, 6)
    assert ledger.intervals[0] == [[6, 11]]


def test_guard_admits_in_order_and_refuses_a_gap_until_sought_back():
    from stream_app.ledger import OffsetGuard

    guard = OffsetGuard(retry_s=5.0, max_attempts=2)
    assert guard.admit(0, 10, committed=10) and guard.admit(0, 11, committed=10)
    assert not guard.admit(0, 14, committed=10)  # 12 and 13 never came
    assert guard.due_seeks(now=100.0) == {0: 12}
    assert guard.due_seeks(now=101.0) == {}
    assert guard.admit(0, 11, committed=10)  # a redelivery passes (a duplicate downstream)
    assert guard.admit(0, 12, committed=10) and guard.admit(0, 13, committed=10)
    assert guard.admit(0, 14, committed=10)


def test_guard_skips_a_real_gap_after_its_attempts_and_follows_the_committed_offset():
    from stream_app.ledger import OffsetGuard

    guard = OffsetGuard(retry_s=0.0, max_attempts=2)
    guard.admit(1, 5, committed=5)
    for now in (1.0, 2.0):
        assert not guard.admit(1, 9, committed=5)
        assert guard.due_seeks(now) == {1: 6}
    assert guard.admit(1, 9, committed=5)
    assert guard.skipped == [(1, 6, 8)]
    assert guard.admit(1, 30, committed=30)  # another worker committed further: follow it
    assert guard.admit(2, 7, committed=None)  # nothing committed yet: start where it starts
