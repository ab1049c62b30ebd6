"""The events agent's logic (stream_app.processor) without Faust: DLQ, categories, windows."""

from __future__ import annotations

import json

from coea.schemas import ClickEvent, ExposureEvent, TrainingWindow
from coea.state import StateParams, UserState
from stream_app.processor import FLUSH, IngestProcessor, MemoryTables, RawRecord
from stream_app.windows import PartitionWindow, WindowClock

DAY = 86_400_000


def rec(value, key=None, partition=0, offset=0, control=None):
    if not isinstance(value, bytes):
        key = value.user_id.encode() if key is None else key
        value = value.to_bytes()
    return RawRecord(partition, offset, key, value, control)


def click(n, user="u1", item="i1", cat="a", ts=None, kind=ClickEvent):
    return kind(
        event_id=f"e{n}",
        user_id=user,
        item_id=item,
        category=cat,
        ts=n * 1000 if ts is None else ts,
    )


def make(mode="time", **kw):
    clock = WindowClock(mode, window_ms=kw.pop("window_ms", DAY), window_events=kw.pop("n", 3))
    return IngestProcessor(
        StateParams(tau=1, short_k=3), clock, "t.events", max_event_bytes=300, now_ms=lambda: 42
    )


def run(proc, tables, records):
    result = proc.process(records, tables)
    tables.write(result)
    return result


def test_invalid_records_become_dead_letters_with_reasons_and_valid_ones_flow():
    tables = MemoryTables()
    bad = [
        rec(b"{not json", key=b"u1", offset=1),
        rec(b'{"kind": "like", "event_id": "x"}', key=b"u1", offset=2),
        rec(
            json.dumps({"kind": "click", "event_id": "x", "item_id": "i", "ts": 1}).encode(),
            key=b"u1",
            offset=3,
        ),
        rec(
            json.dumps(
                {"kind": "click", "event_id": "x", "user_id": "u1", "item_id": "i", "ts": "soon"}
            ).encode(),
            key=b"u1",
            offset=4,
        ),
        rec(b"x" * 301, key=b"u1", offset=5),
        rec(click(6, item="nowhere", cat=None), offset=6),
        rec(click(7), key=b"someone-else", offset=7),
        rec(b"{}", key=b"u1", offset=8, control="rewind"),
    ]
    result = run(make(), tables, [rec(click(0), offset=0), *bad, rec(click(9, cat="b"), offset=9)])
    reasons = [dl.reason for _, dl in result.dead_letters]
    assert [dl.offset for _, dl in result.dead_letters] == [1, 2, 3, 4, 5, 6, 7, 8]
    for fragment, reason in zip(
        [
            "bad JSON",
            "unknown event kind",
            "user_id",
            "ts",
            "oversized",
            "unknown item",
            "key",
            "unknown control",
        ],
        reasons,
        strict=True,
    ):
        assert fragment in reason
    assert result.dead_letters[0][1].original() == b"{not json"
    assert result.dead_letters[0][1].source_topic == "t.events"
    state = UserState.from_json(tables.users["u1"])
    assert state.short_categories() == ["a", "b"] and state.events == 2


def test_category_from_catalogue_when_event_has_none():
    tables = MemoryTables(items={"i9": "jazz"})
    run(make(), tables, [rec(click(0, item="i9", cat=None))])
    assert UserState.from_json(tables.users["u1"]).short_categories() == ["jazz"]


def test_other_categories_from_the_event_or_the_catalogue_count_as_clicked():
    tables = MemoryTables(items={"i9": ["jazz", "soul", "jazz"], "i8": "rock"})
    own = ClickEvent(
        event_id="e1", user_id="u1", item_id="i8", category="pop", categories=["pop", "funk"], ts=1
    )
    run(make(), tables, [rec(click(0, item="i9", cat=None)), rec(own, offset=1)])
    state = UserState.from_json(tables.users["u1"])
    assert state.short_categories() == ["jazz", "pop"]  # c(item) in the sequences
    # The catalogue's other categories when the event names none, the event's own otherwise.
    assert state.category_clicks == {"jazz": 1, "soul": 0, "funk": 0, "pop": 1}


def test_redelivered_batch_is_counted_once():
    tables, proc = MemoryTables(), make()
    batch = [rec(click(n, cat=f"c{n}"), offset=n) for n in range(5)]
    run(proc, tables, batch)
    first = tables.users["u1"]
    result = run(proc, tables, batch)
    assert result.duplicates == 5 and result.applied == 0
    assert tables.users["u1"] == first


def test_time_windows_close_when_event_time_passes_their_end():
    tables, proc = MemoryTables(), make()
    day0 = [
        rec(click(0, "u1", ts=10)),
        rec(click(1, "u2", ts=20, cat="b")),
        rec(click(2, "u1", ts=30, kind=ExposureEvent, cat="z")),
    ]
    result = run(proc, tables, day0)
    assert result.windows == []
    result = run(proc, tables, [rec(click(3, "u2", ts=DAY + 5, cat="c"))])
    by_user = {w.user_id: w for w in result.windows}
    assert set(by_user) == {"u1", "u2"}
    assert by_user["u1"].positives == ["a"] and by_user["u1"].negatives == ["z"]
    assert (by_user["u2"].window_id, by_user["u2"].ts_start, by_user["u2"].ts_end) == (0, 0, DAY)
    pw = PartitionWindow.from_json(tables.clocks[0])
    assert (pw.window_id, pw.active) == (1, ["u2"])


def test_late_event_counts_in_the_open_window():
    tables, proc = MemoryTables(), make()
    run(proc, tables, [rec(click(0, ts=DAY + 1)), rec(click(1, "u2", ts=5))])
    state = UserState.from_json(tables.users["u2"])
    assert state.window_id == 1


def test_flush_marker_closes_open_window_once_and_later_events_start_next():
    tables, proc = MemoryTables(), make()
    flush = rec(b"{}", key=b"__control__", control=FLUSH)
    result = run(proc, tables, [rec(click(0, ts=100)), flush, flush])
    assert [w.window_id for w in result.windows] == [0] and result.flushes == 1
    run(proc, tables, [rec(click(1, ts=200))])
    assert UserState.from_json(tables.users["u1"]).window_id == 1
    assert isinstance(result.windows[0], TrainingWindow)


def test_count_windows_per_partition():
    tables, proc = MemoryTables(), make(mode="count", n=2)
    result = run(proc, tables, [rec(click(n, ts=n)) for n in range(5)])
    assert [w.window_id for w in result.windows] == [0, 1]
    assert [w.positives for w in result.windows] == [["a", "a"], ["a", "a"]]
    assert (result.windows[0].ts_start, result.windows[0].ts_end) == (0, 1)


def test_redelivered_event_still_marks_user_active_after_lost_clock_write():
    tables, proc = MemoryTables(), make()
    run(proc, tables, [rec(click(0, ts=10))])
    tables.clocks.clear()  # a crash lost the clock write but kept the user's state
    run(proc, tables, [rec(click(0, ts=10))])
    result = run(proc, tables, [rec(click(1, "u2", ts=DAY + 1))])
    assert [w.user_id for w in result.windows] == ["u1"]


def test_an_event_too_far_ahead_of_the_clock_is_a_dead_letter_and_does_not_move_windows():
    tables = MemoryTables()
    proc = IngestProcessor(
        StateParams(tau=1, short_k=3),
        WindowClock("time", window_ms=DAY),
        "t.events",
        now_ms=lambda: 10 * DAY,
        max_future_ms=DAY,
    )
    result = run(
        proc,
        tables,
        [
            rec(click(1, ts=10 * DAY), key=b"u1", offset=1),
            rec(click(2, ts=10**20), key=b"u1", offset=2),  # ms since 1970? 3 billion years on
            rec(click(3, ts=11 * DAY - 1), key=b"u1", offset=3),
        ],
    )
    assert result.applied == 2 and len(result.dead_letters) == 1
    assert result.dead_letters[0][1].reason.startswith(f"ts: {10**20} is more than {DAY} ms ahead")
    assert PartitionWindow.from_json(tables.clocks[0]).window_id == 10  # still the current day
