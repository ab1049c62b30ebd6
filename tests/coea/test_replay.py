"""coea.data.replay: replay sources and how they are sent or written (no broker here)."""

from __future__ import annotations

from types import SimpleNamespace

from coea.data.events_io import read_jsonl
from coea.data.replay import (
    jsonl_source,
    movielens_source,
    replay_world_config,
    send_events,
    synthetic_source,
    write_source,
)
from coea.schemas import ClickEvent


class _Publisher:
    """Records what send_events hands a `coea.data.events_io.Publisher`."""

    def __init__(self):
        self.events, self.raw = [], []
        self.producer = SimpleNamespace(flush=lambda: None)

    def send_event(self, event):
        self.events.append(event)

    def send_raw(self, key, value):
        self.raw.append((key, value))


def _jsonl(tmp_path):
    good = ClickEvent(event_id="e1", user_id="u", item_id="i", category="c", ts=1).to_bytes()
    path = tmp_path / "in.jsonl"
    path.write_bytes(good + b"\n{oops\n\n" + good.replace(b"e1", b"e2") + b"\n")
    return path


def test_synthetic_source_is_the_replay_world_and_deterministic():
    a, b = synthetic_source(20, 2, 0, 30), synthetic_source(20, 2, 0, 30)
    world = replay_world_config(20, 2, 0, 30).world
    assert a.name == f"synthetic(users=20, days=2, seed=0, world={world})"
    assert [e.event_id for e in a.events] == [e.event_id for e in b.events]
    assert a.items and a.total > 0
    assert replay_world_config(20, 2, 0, 30, "popular").world == "popular"


def test_movielens_source_has_the_catalogue_and_every_rating(ml100k):
    source = movielens_source("ml-100k", ml100k, 5.0, "genre-combo")
    assert source.name == "ml-100k" and source.total == 100_000 and len(source.items) == 1682
    first = next(source.events)
    assert first.kind == ("click" if first.value >= 5.0 else "exposure")


def test_send_events_rejects_bad_lines_or_sends_them_raw(tmp_path):
    publisher = _Publisher()
    counts = send_events(jsonl_source(_jsonl(tmp_path), 16_384), publisher, 0, True, None, False)
    assert (counts.sent, counts.rejected) == (2, 1) and len(publisher.events) == 2
    assert len(counts.problems) == 1
    assert counts.problems[0].startswith(f"{tmp_path / 'in.jsonl'}:2: bad JSON")
    raw = _Publisher()
    counts = send_events(jsonl_source(_jsonl(tmp_path), 16_384), raw, 0, False, None, False)
    assert (counts.sent, counts.rejected) == (3, 0) and raw.raw == [(None, b"{oops")]


def test_send_events_stops_at_the_limit():
    publisher = _Publisher()
    counts = send_events(synthetic_source(20, 2, 0, 30), publisher, 0, True, 7, False)
    assert counts.sent == 7 and len(publisher.events) == 7


def test_write_source_writes_valid_events_up_to_the_limit(tmp_path):
    out = tmp_path / "out.jsonl"
    counts = write_source(jsonl_source(_jsonl(tmp_path), 16_384), out)
    assert (counts.sent, counts.rejected) == (2, 1)
    assert [line.event.event_id for line in read_jsonl(out)] == ["e1", "e2"]
    counts = write_source(synthetic_source(20, 2, 0, 30), out, limit=5)
    assert counts.sent == 5 and len(list(read_jsonl(out))) == 5
