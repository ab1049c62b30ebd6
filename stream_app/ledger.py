"""Which offsets of each events partition this worker has processed (pure; no Faust).

The agent records every batch after its writes are done; the commit watchdog
(stream_app.timers) compares this ledger with Faust's own acknowledgement bookkeeping.
Offsets are kept as merged closed intervals, pruned below the committed offset.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class OffsetLedger:
    intervals: dict[int, list[list[int]]] = field(default_factory=dict)  # partition -> [[a, b]]

    def add(self, partition: int, offsets: Iterable[int]) -> None:
        spans = self.intervals.setdefault(partition, [])
        for offset in sorted(offsets):
            if spans and spans[-1][0] <= offset <= spans[-1][1] + 1:
                spans[-1][1] = max(spans[-1][1], offset)
            else:
                spans.append([offset, offset])
        self._merge(spans)

    @staticmethod
    def _merge(spans: list[list[int]]) -> None:
        spans.sort()
        merged: list[list[int]] = []
        for a, b in spans:
            if merged and a <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        spans[:] = merged

    def covers(self, partition: int, first: int, last: int) -> bool:
        """True when every offset in [first, last] was processed."""
        return any(a <= first and last <= b for a, b in self.intervals.get(partition, []))

    def run_end(self, partition: int, start: int) -> int | None:
        """The last offset of the processed run that contains ``start``, or None."""
        for a, b in self.intervals.get(partition, []):
            if a <= start <= b:
                return b
        return None

    def beyond(self, partition: int, offset: int) -> bool:
        """True when some offset >= ``offset`` was processed."""
        return any(b >= offset for _, b in self.intervals.get(partition, []))

    def forget(self, partition: int) -> None:
        """Drop everything recorded for ``partition`` (revoked: another worker may own it)."""
        self.intervals.pop(partition, None)

    def prune(self, partition: int, below: int) -> None:
        """Forget offsets < ``below`` (already committed)."""
        spans = self.intervals.get(partition, [])
        spans[:] = [[max(a, below), b] for a, b in spans if b >= below]


@dataclass
class _Cursor:
    next: int | None = None  # the offset the partition must deliver next
    gap_seen: bool = False  # a later offset arrived first: a seek back is due
    attempts: int = 0  # seeks back to ``next`` so far
    last_seek: float = float("-inf")


@dataclass
class OffsetGuard:
    """Admits each partition's records in offset order from the committed offset.

    Faust 0.15.3 can drop the first records after a restart (they never reach the agent) and
    deliver later ones; applying those first would change the state's order. A record past
    the expected offset is refused and the partition is sought back (`due_seeks`); records
    before it (redeliveries) pass, duplicates for the state. A seek can be defeated by records
    Faust had already fetched, so it is retried every ``retry_s``; after ``max_attempts``
    seeks that bring nothing at the expected offset the gap is taken as real (compaction,
    transaction markers) and skipped (listed in ``skipped`` and logged).
    """

    retry_s: float = 5.0
    max_attempts: int = 10
    cursors: dict[int, _Cursor] = field(default_factory=dict)
    skipped: list[tuple[int, int, int]] = field(default_factory=list)  # (partition, from, to)

    def admit(self, partition: int, offset: int, committed: int | None) -> bool:
        c = self.cursors.setdefault(partition, _Cursor())
        if c.next is None or (committed is not None and committed > c.next):
            c.next = committed if committed is not None else offset
        if offset < c.next:
            return True
        if offset > c.next and c.attempts < self.max_attempts:
            c.gap_seen = True
            return False
        if offset > c.next:
            self.skipped.append((partition, c.next, offset - 1))
        c.next, c.gap_seen, c.attempts = offset + 1, False, 0
        return True

    def forget(self, partition: int) -> None:
        """Drop ``partition``'s cursor: when it comes back, admission starts again from the
        committed offset (a revoked partition may have moved on under another worker)."""
        self.cursors.pop(partition, None)

    def due_seeks(self, now: float) -> dict[int, int]:
        """{partition: offset} to seek back to now (each counts as one attempt)."""
        out = {}
        for partition, c in self.cursors.items():
            if c.gap_seen and now - c.last_seek >= self.retry_s:
                out[partition] = c.next
                c.attempts, c.last_seek, c.gap_seen = c.attempts + 1, now, False
        return out
