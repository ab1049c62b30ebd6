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


def test_revoked_partition_is_forgotten_and_readmitted_from_the_committed_offset():
    from stream_app.ledger import OffsetGuard
    from stream_app.stats import forget_partitions, guard, ledger, stats

    g = OffsetGuard()
    for offset in range(0, 10):
        assert g.admit(1, offset, committed=0)
    assert not g.admit(1, 12, committed=0)  # a gap: refused
    g.forget(1)  # revoked, then assigned again: admission restarts at the committed offset
    assert g.admit(1, 12, committed=12) and g.cursors[1].next == 13

    ledger.add(2, [3, 4, 5])
    ledger.add(3, [7])
    guard.admit(2, 3, committed=3)
    stats.offsets.update({2: 5, 3: 7})
    stats.first_offsets.update({2: 3, 3: 7})
    stats.open_since.update({2: 1.0, 3: 1.0})
    records_before = stats.records
    forget_partitions([2])
    assert 2 not in ledger.intervals and ledger.intervals[3] == [[7, 7]]
    assert 2 not in guard.cursors
    assert 2 not in stats.offsets and 2 not in stats.first_offsets and 2 not in stats.open_since
    assert stats.offsets[3] == 7 and 3 in stats.open_since  # partitions kept stay as they were
    assert stats.records == records_before  # process-wide counters are not per partition
    forget_partitions([3])  # leave the process-wide objects as other tests expect them


def test_only_the_events_topics_revoked_partitions_are_forgotten():
    from faust.types import TP

    from stream_app.rebalance import revoked_events_partitions

    revoked = {TP("p-events", 2), TP("p-events", 0), TP("p-user-state-changelog", 1)}
    assert revoked_events_partitions(revoked, "p-events") == [0, 2]
    assert revoked_events_partitions(set(), "p-events") == []
