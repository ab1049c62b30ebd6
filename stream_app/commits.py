"""Commit what this worker processed, not what Faust's acknowledgement list says.

Faust 0.15.3 commits, per partition, the run of acknowledged offsets that starts at the
committed offset (``Consumer._new_offset``). Seen here when a worker restarts while events
keep arriving (the faust-streaming #606 / #625 family): a few offsets right after the
committed one go missing from that list, or appear twice, and Faust stops committing the
partition for good; a single missing offset is silently committed past. For the events
topic the commit offset is taken from this worker's `OffsetLedger` instead: the end of the
processed run that starts at the committed offset. Events that never reached the agent
leave a gap; the commit stops there until `OffsetGuard` has them delivered again.

This replaces one private method on the consumer instance and reads its private offsets
(checked on faust-streaming 0.15.3 by tests/stream_app/test_commits.py).
"""

from __future__ import annotations

from typing import Any

from faust.types.tuples import ack_lock

from stream_app.ledger import OffsetLedger


def ledger_commit_offset(consumer: Any, tp: Any, ledger: OffsetLedger) -> int | None:
    """The offset to commit for ``tp`` (one past the processed run from the committed
    offset), or None; trims Faust's acknowledgement list up to it."""
    committed = consumer._committed_offset.get(tp)
    if committed is None:
        return None
    end = ledger.run_end(tp.partition, committed)
    if end is None:
        return None
    with ack_lock:  # keep Faust's own list from growing: it is no longer used for this tp
        acked = consumer._acked.get(tp)
        if acked:
            done = {o for o in acked if o <= end}
            acked[:] = [o for o in acked if o > end]
            consumer._acked_index[tp].difference_update(done)
    ledger.prune(tp.partition, end + 1)
    return end + 1


def install(consumer: Any, topic: str, ledger: OffsetLedger) -> None:
    """Route the consumer's commit-offset choice for ``topic`` through the ledger."""
    if getattr(consumer, "_coea_ledger_commits", False):
        return
    faust_new_offset = consumer._new_offset

    def new_offset(tp: Any) -> int | None:
        if tp.topic != topic or consumer._committed_offset.get(tp) is None:
            return faust_new_offset(tp)
        return ledger_commit_offset(consumer, tp, ledger)

    consumer._new_offset = new_offset
    consumer._coea_ledger_commits = True
