"""Ledger-based commit offsets (stream_app.commits) on a fake Faust consumer."""

from __future__ import annotations

from faust.types import TP

from stream_app.commits import install, ledger_commit_offset
from stream_app.ledger import OffsetLedger

EVENTS, OTHER = TP("t.events", 0), TP("t.items", 0)


class FakeConsumer:
    """The private attributes of faust's Consumer that stream_app.commits uses."""

    def __init__(self, committed, acked):
        self._committed_offset = {EVENTS: committed, OTHER: 0}
        self._acked = {EVENTS: list(acked), OTHER: [0, 1]}
        self._acked_index = {EVENTS: set(acked), OTHER: {0, 1}}

    def _new_offset(self, tp):
        return "faust"


def test_commits_the_processed_run_even_when_faust_lost_acknowledgements():
    consumer, ledger = FakeConsumer(10, [13, 14, 14, 20]), OffsetLedger()
    ledger.add(0, range(8, 16))
    assert ledger_commit_offset(consumer, EVENTS, ledger) == 16
    assert consumer._acked[EVENTS] == [20] and consumer._acked_index[EVENTS] == {20}
    assert ledger.intervals[0] == []


def test_events_never_processed_stop_the_commit():
    consumer, ledger = FakeConsumer(10, [13, 14]), OffsetLedger()
    ledger.add(0, [13, 14])
    assert ledger_commit_offset(consumer, EVENTS, ledger) is None
    ledger.add(0, [10, 11, 12])
    assert ledger_commit_offset(consumer, EVENTS, ledger) == 15


def test_nothing_new_commits_nothing():
    consumer, ledger = FakeConsumer(10, []), OffsetLedger()
    ledger.add(0, [8, 9])
    assert ledger_commit_offset(consumer, EVENTS, ledger) is None


def test_install_routes_only_the_events_topic_once_committed():
    consumer, ledger = FakeConsumer(10, []), OffsetLedger()
    ledger.add(0, [10, 11])
    install(consumer, "t.events", ledger)
    install(consumer, "t.events", ledger)  # idempotent
    assert consumer._new_offset(EVENTS) == 12
    assert consumer._new_offset(OTHER) == "faust"
    consumer._committed_offset[EVENTS] = None
    assert consumer._new_offset(EVENTS) == "faust"
