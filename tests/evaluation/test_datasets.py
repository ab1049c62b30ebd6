"""--dataset jsonl and synthetic reach the protocol through the project's own readers."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluation.datasets import DatasetUnavailable, events_to_log, load_dataset
from evaluation.protocol import ProtocolConfig, build_split, describe


def test_jsonl_round_trip_gives_the_same_split(tmp_path: Path, toy_log) -> None:
    from coea.data.events_io import ml_events, write_jsonl

    log = toy_log
    path = tmp_path / "toy.jsonl"
    write_jsonl(ml_events(log, category_mode="genre-combo"), path)
    with open(path, "ab") as f:
        f.write(b'{"kind": "click", "user_id": ""}\n')  # a bad line: reported, not fatal
    back = load_dataset("jsonl", path)
    assert len(back.problems) == 1 and back.problems[0].line == len(log.ratings) + 1
    for mode in ("genre", "genre-combo"):
        cfg = ProtocolConfig(mode=mode)
        a, b = build_split(log, cfg), build_split(back, cfg)
        assert describe(a) == describe(b)
        assert a.targets == b.targets and a.tail == b.tail


def test_synthetic_events_become_ratings() -> None:
    from coea.data.synthetic import SyntheticConfig, SyntheticWorld

    world = SyntheticWorld(SyntheticConfig(users=30, days=6, categories=40, seed=3))
    events = list(world.events())
    log = events_to_log("syn", events)
    assert len(log.ratings) == len(events)
    clicks = sum(e.kind in ("click", "order") for e in events)
    assert sum(r.rating >= 4 for r in log.ratings) == clicks
    split = build_split(log, ProtocolConfig(mode="genre"))
    assert split.targets  # some users have held-out clicks


def test_missing_path_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="needs --path"):
        load_dataset("jsonl", None)
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("netflix", None)
    assert issubclass(DatasetUnavailable, RuntimeError)
