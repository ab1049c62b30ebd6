"""In-memory counters of one worker (served by the /stats/ view, used by the idle timer)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from coea.ops.reasons import reason_label
from stream_app.ledger import OffsetGuard, OffsetLedger
from stream_app.processor import BatchResult, RawRecord


@dataclass
class IngestStats:
    records: int = 0
    applied: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    windows_emitted: int = 0
    flushes: int = 0
    batches: int = 0
    refused: int = 0  # records past a gap, refused until the partition is sought back
    seeks: int = 0  # seeks back to a missing offset
    started: float = field(default_factory=time.time)
    offsets: dict[int, int] = field(default_factory=dict)  # partition -> last processed offset
    first_offsets: dict[int, int] = field(default_factory=dict)  # partition -> first one seen
    open_since: dict[int, float] = field(default_factory=dict)  # partitions with active users
    dead_letter_reasons: dict[str, int] = field(default_factory=dict)  # reason label -> count

    def update(self, records: list[RawRecord], result: BatchResult, refused: int = 0) -> None:
        self.batches += 1
        self.refused += refused
        self.records += len(records)
        self.applied += result.applied
        self.duplicates += result.duplicates
        self.dead_letters += len(result.dead_letters)
        for _, letter in result.dead_letters:
            label = reason_label(letter.reason)
            self.dead_letter_reasons[label] = self.dead_letter_reasons.get(label, 0) + 1
        self.windows_emitted += len(result.windows)
        self.flushes += result.flushes
        now = time.monotonic()
        for rec in records:
            self.offsets[rec.partition] = max(self.offsets.get(rec.partition, -1), rec.offset)
            self.first_offsets.setdefault(rec.partition, rec.offset)
        for partition, (pw, _) in result.partitions.items():
            if pw.active:
                self.open_since[partition] = now
            else:
                self.open_since.pop(partition, None)

    def idle_open_partitions(self, idle_s: float) -> list[int]:
        """Partitions whose open window has seen no event for ``idle_s`` seconds."""
        now = time.monotonic()
        return [p for p, t in self.open_since.items() if now - t >= idle_s]

    def forget(self, partition: int) -> None:
        """Drop the per-partition entries of ``partition`` (its offsets and open window); the
        process-wide counters stay."""
        for per_partition in (self.offsets, self.first_offsets, self.open_since):
            per_partition.pop(partition, None)

    def summary(self) -> str:
        return (
            f"{self.records} records, {self.applied} applied, {self.duplicates} duplicates, "
            f"{self.dead_letters} dead letters, {self.windows_emitted} windows"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "applied": self.applied,
            "duplicates": self.duplicates,
            "dead_letters": self.dead_letters,
            "dead_letter_reasons": dict(sorted(self.dead_letter_reasons.items())),
            "windows_emitted": self.windows_emitted,
            "flushes": self.flushes,
            "batches": self.batches,
            "refused": self.refused,
            "seeks": self.seeks,
            "uptime_s": round(time.time() - self.started, 3),
            "offsets": {str(p): o for p, o in sorted(self.offsets.items())},
            "first_offsets": {str(p): o for p, o in sorted(self.first_offsets.items())},
            "open_windows": sorted(self.open_since),
        }


stats = IngestStats()
ledger = OffsetLedger()  # offsets processed (written) by this worker, per events partition
guard = OffsetGuard()  # admits each partition's records in offset order


def forget_partitions(partitions: Iterable[int]) -> None:
    """A rebalance took ``partitions`` (of the events topic) from this worker: forget every
    per-partition piece of process state, so that nothing stale acts on them (an idle flush
    marker for a window another worker now holds, a commit from old offsets, an admission
    cursor behind the new owner's progress). Tables and changelogs are Faust's and stay."""
    for partition in partitions:
        stats.forget(partition)
        ledger.forget(partition)
        guard.forget(partition)
